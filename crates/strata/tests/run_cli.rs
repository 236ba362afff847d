//! End-to-end tests of RUN with the real `strata` binary: layers with whiteouts read back by
//! umoci and podman, stage parallelism, unused stages, cache-mount locking, cleanup on
//! SIGINT/SIGTERM, failure reports and secrets. They need root (mounts, runc): each is
//! `#[ignore = "needs root"]`, run by CI as root with `--include-ignored`.

mod common;

use rustix::process::{Pid, Signal};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, Env};

use strata_testkit::run_ok as run;

fn local_output(dir: &Path) -> String {
    format!("type=local,dest={}", dir.display())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            out.extend(files_under(&e.path()));
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The entry names of a (possibly gzip-compressed) layer tar, read with `tar`.
fn layer_entries(blob: &Path) -> Vec<String> {
    let out = run(Command::new("tar").arg("-tzf").arg(blob));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim_start_matches("./").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------

const WHITEOUTS: &str = "FROM busybox:test
RUN mkdir -p /d/sub && echo a > /d/a && echo b > /d/sub/b && echo keep > /keep && echo gone > /gone
RUN rm /gone && rm -rf /d && mkdir /d && echo new > /d/new
";

fn check_whiteout_tree(rootfs: &Path, tool: &str) {
    assert!(!rootfs.join("gone").exists(), "{tool}: /gone came back");
    assert_eq!(read(&rootfs.join("d/new")), "new\n", "{tool}: /d/new");
    assert!(!rootfs.join("d/a").exists(), "{tool}: /d/a came back");
    assert!(!rootfs.join("d/sub").exists(), "{tool}: /d/sub came back");
    assert_eq!(read(&rootfs.join("keep")), "keep\n", "{tool}: /keep");
}

#[test]
#[ignore = "needs root"]
fn whiteouts_and_opaque_dirs_read_back_by_umoci_and_podman() {
    common::require_root();
    let env = Env::with_base();
    let ctx = env.context("ctx", &[("Dockerfile", WHITEOUTS)]);
    env.build(&["-t", "app:1", ctx.to_str().unwrap()]);

    // The last layer holds the whiteout of /gone and hides the old /d (opaque dir or a
    // whiteout of /d followed by the new dir: both are valid OCI).
    let v = env.inspect("app:1");
    let layers = v["Manifest"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3, "base + two RUN layers");
    let digest = layers[2]["digest"].as_str().unwrap();
    let blob = env
        .root()
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap());
    let entries = layer_entries(&blob);
    assert!(
        entries.iter().any(|e| e == ".wh.gone"),
        "no whiteout of /gone in {entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e == "d/.wh..wh..opq" || e == ".wh.d"),
        "old /d not hidden in {entries:?}"
    );
    assert!(entries.iter().any(|e| e == "d/new"), "{entries:?}");
    assert!(
        !entries.iter().any(|e| e.starts_with("d/sub") || e == "d/a"),
        "{entries:?}"
    );

    strata_testkit::require_tool("umoci");
    let layout = env.path("layout");
    env.ok(&[
        "export",
        "--format",
        "oci",
        "-o",
        layout.to_str().unwrap(),
        "app:1",
    ]);
    let bundle = env.path("bundle");
    run(Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:1", layout.display()))
        .arg(&bundle));
    check_whiteout_tree(&bundle.join("rootfs"), "umoci");

    strata_testkit::require_tool("podman");
    let archive = env.path("app.tar");
    env.ok(&["save", "-o", archive.to_str().unwrap(), "app:1"]);
    let proot = env.path("podman-root");
    let prunroot = env.path("podman-runroot");
    let podman = || {
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(&proot)
            .arg("--runroot")
            .arg(&prunroot)
            .arg("--storage-driver")
            .arg("vfs");
        c
    };
    run(podman().arg("load").arg("-i").arg(&archive));
    let out = podman()
        .args(["run", "--rm", "--net", "none", "app:1", "ls", "/", "/d"])
        .output()
        .unwrap();
    if out.status.success() {
        let text = String::from_utf8(out.stdout).unwrap();
        let mut sections = text.split("\n\n");
        let top: Vec<&str> = sections.next().unwrap().lines().skip(1).collect();
        let d: Vec<&str> = sections.next().unwrap().lines().skip(1).collect();
        assert!(top.contains(&"keep") && !top.contains(&"gone"), "{text}");
        assert_eq!(d, ["new"], "{text}");
    } else {
        // `podman run` can fail here for reasons that are not strata's (no cgroup
        // manager, no conmon, nested containers). Podman's own unpacking of the layers
        // is what is under test, so fall back to `create` + `export`, which do not run
        // anything, and check the exported file list.
        eprintln!(
            "note: podman run failed ({}), checking with podman create + export",
            stderr(&out).trim()
        );
        let out = run(podman().args(["create", "--net", "none", "app:1", "true"]));
        let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let exported = env.path("podman-export.tar");
        run(podman().args(["export", "-o"]).arg(&exported).arg(&id));
        let rootfs = env.path("podman-rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        run(Command::new("tar")
            .arg("-xf")
            .arg(&exported)
            .arg("-C")
            .arg(&rootfs));
        check_whiteout_tree(&rootfs, "podman export");
        let _ = podman().args(["rm", "-f", &id]).output();
    }
}

// ---------------------------------------------------------------------------------------------

/// Two independent stages recording their start and end (`/proc/uptime`, 10 ms ticks: busybox
/// `date` has no `%N`), copied into the final stage.
const PARALLEL: &str = "FROM busybox:test AS a
RUN cut -d' ' -f1 /proc/uptime > /start; sleep 2; cut -d' ' -f1 /proc/uptime > /end; echo a
FROM busybox:test AS b
RUN cut -d' ' -f1 /proc/uptime > /start; sleep 2; cut -d' ' -f1 /proc/uptime > /end; echo b
FROM busybox:test
COPY --from=a /start /a.start
COPY --from=a /end /a.end
COPY --from=b /start /b.start
COPY --from=b /end /b.end
";

fn interval(dir: &Path, stage: &str) -> (f64, f64) {
    let get = |what: &str| -> f64 {
        let p = dir.join(format!("{stage}.{what}"));
        read(&p).trim().parse().unwrap()
    };
    let (start, end) = (get("start"), get("end"));
    assert!(start < end, "stage {stage}: {start} .. {end}");
    (start, end)
}

#[test]
#[ignore = "needs root"]
fn independent_stages_run_in_parallel() {
    common::require_root();
    let env = Env::with_base();
    let ctx = env.context("ctx", &[("Dockerfile", PARALLEL)]);

    let out = env.path("parallel");
    env.build(&[
        "--no-cache",
        "--jobs",
        "2",
        "--output",
        &local_output(&out),
        ctx.to_str().unwrap(),
    ]);
    let (sa, ea) = interval(&out, "a");
    let (sb, eb) = interval(&out, "b");
    assert!(
        sa < eb && sb < ea,
        "with --jobs 2 the stages did not overlap: a {sa}..{ea}, b {sb}..{eb}"
    );

    let out = env.path("serial");
    env.build(&[
        "--no-cache",
        "--jobs",
        "1",
        "--output",
        &local_output(&out),
        ctx.to_str().unwrap(),
    ]);
    let (sa, ea) = interval(&out, "a");
    let (sb, eb) = interval(&out, "b");
    assert!(
        ea <= sb || eb <= sa,
        "with --jobs 1 the stages overlapped: a {sa}..{ea}, b {sb}..{eb}"
    );
}

// ---------------------------------------------------------------------------------------------

const UNUSED: &str = "FROM busybox:test AS unused
RUN --mount=type=cache,id=probe,target=/probe touch /marker-$(cat /proc/sys/kernel/random/uuid); echo x > /probe/f; sleep 5
FROM busybox:test AS final
RUN echo final > /final
";

fn sha256_hex(text: &str) -> String {
    let out = run(Command::new("sh")
        .arg("-c")
        .arg("printf %s \"$1\" | sha256sum")
        .arg("sh")
        .arg(text));
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
#[ignore = "needs root"]
fn unused_stage_never_runs() {
    common::require_root();
    let env = Env::with_base();
    let ctx = env.context("ctx", &[("Dockerfile", UNUSED)]);
    let out = env.path("out");
    let (_, log) = env.build(&["--output", &local_output(&out), ctx.to_str().unwrap()]);
    assert_eq!(read(&out.join("final")), "final\n");
    assert!(
        !log.contains("[unused") && !log.contains("sleep 5") && !log.contains("marker"),
        "the unused stage appears in the log:\n{log}"
    );
    let probe = env.root().join("cache-mounts").join(sha256_hex("probe"));
    assert!(
        !probe.exists(),
        "the unused stage's cache mount was made: {}",
        probe.display()
    );
    let leftovers: Vec<_> = std::fs::read_dir(env.root().join("cache-mounts"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "cache-mounts: {leftovers:?}");
}

// ---------------------------------------------------------------------------------------------

const LOCKED: &str = "FROM busybox:test AS a
RUN --mount=type=cache,id=shared,target=/c,sharing=locked echo start a $(cut -d' ' -f1 /proc/uptime) >> /c/log; sleep 1; echo end a $(cut -d' ' -f1 /proc/uptime) >> /c/log; echo a > /a
FROM busybox:test AS b
RUN --mount=type=cache,id=shared,target=/c,sharing=locked echo start b $(cut -d' ' -f1 /proc/uptime) >> /c/log; sleep 1; echo end b $(cut -d' ' -f1 /proc/uptime) >> /c/log; echo b > /b
FROM busybox:test
COPY --from=a /a /a
COPY --from=b /b /b
";

const READ_CACHE: &str = "FROM busybox:test
RUN --mount=type=cache,id=shared,target=/c cp /c/log /log
";

#[test]
#[ignore = "needs root"]
fn cache_mount_sharing_locked_serialises() {
    common::require_root();
    let env = Env::with_base();
    let ctx = env.context("ctx", &[("Dockerfile", LOCKED)]);
    let out = env.path("out");
    env.build(&[
        "--no-cache",
        "--jobs",
        "2",
        "--output",
        &local_output(&out),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(read(&out.join("a")), "a\n");
    assert_eq!(read(&out.join("b")), "b\n");

    let reader = env.context("reader", &[("Dockerfile", READ_CACHE)]);
    let out = env.path("log");
    env.build(&[
        "--no-cache",
        "--output",
        &local_output(&out),
        reader.to_str().unwrap(),
    ]);
    let log = read(&out.join("log"));
    let events: Vec<(String, String, f64)> = log
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "bad log line {l:?} in\n{log}");
            (f[0].to_owned(), f[1].to_owned(), f[2].parse().unwrap())
        })
        .collect();
    assert_eq!(events.len(), 4, "{log}");
    let kinds: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        kinds,
        ["start", "end", "start", "end"],
        "locked steps interleaved:\n{log}"
    );
    assert_eq!(events[0].1, events[1].1, "{log}");
    assert_eq!(events[2].1, events[3].1, "{log}");
    assert_ne!(events[0].1, events[2].1, "{log}");
    assert!(events[1].2 <= events[2].2, "{log}");
}

// ---------------------------------------------------------------------------------------------

/// `sleep <secs>` processes, found by their command line (busybox: `sleep\0<secs>\0`).
/// Sends `signal` to process `pid`.
fn kill(pid: i32, signal: Signal) {
    let pid = Pid::from_raw(pid).expect("a positive pid");
    rustix::process::kill_process(pid, signal).expect("kill");
}

fn sleep_pids(secs: &str) -> Vec<i32> {
    let want = format!("sleep\0{secs}\0");
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let name = String::from_utf8_lossy(&cmdline);
        if name == want || name.ends_with(&format!("/{want}")) {
            pids.push(pid);
        }
    }
    pids
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn descends_from(mut pid: i32, ancestor: i32) -> bool {
    for _ in 0..64 {
        match parent_of(pid) {
            Some(p) if p == ancestor => return true,
            Some(p) if p > 1 => pid = p,
            _ => return false,
        }
    }
    false
}

fn dir_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn mounts_under(root: &Path) -> Vec<String> {
    let root = root.to_string_lossy().into_owned();
    read(Path::new("/proc/self/mountinfo"))
        .lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&root)))
        .map(str::to_owned)
        .collect()
}

/// Interrupts a build while its RUN is in the container and checks nothing is left behind:
/// at once for SIGINT/SIGTERM (exit `code`); for SIGKILL (`code` None), which no process can
/// clean up after, once the next strata command on the store has run.
/// Each signal uses its own sleep duration so that tests running at once can tell their
/// processes apart even after a leftover one is reparented.
fn interrupt_during_run(signal: Signal, secs: &str, code: Option<i32>) {
    common::require_root();
    let env = Env::with_base();
    let ctx = env.context(
        "ctx",
        &[(
            "Dockerfile",
            &format!("FROM busybox:test\nRUN sleep {secs}\n"),
        )],
    );
    let log = env.path("build.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(env.root())
        .args(["build", "--progress=plain", "--no-cache"])
        .arg(&ctx)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let strata = child.id() as i32;

    let deadline = Instant::now() + Duration::from_secs(10);
    let running = loop {
        if let Some(pid) = sleep_pids(secs)
            .into_iter()
            .find(|p| descends_from(*p, strata))
        {
            break Some(pid);
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if running.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the RUN never started within 10 s; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    // A moment so that the runtime has finished starting the container.
    std::thread::sleep(Duration::from_millis(300));
    kill(strata, signal);

    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "strata did not exit within 30 s of the signal; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(status.code(), code, "exit status {status:?}; log:\n{text}");
    if code.is_none() {
        // Killed: its container still runs, on its overlay mount...
        assert!(
            !sleep_pids(secs).is_empty(),
            "the container died with strata"
        );
        assert!(!mounts_under(&env.root()).is_empty());
        // ...until the next command on the store reaps them.
        env.ok(&["prune"]);
    }

    // The container's process may take a moment to be reaped after runc kills it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sleep_pids(secs).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let left = sleep_pids(secs);
    for pid in &left {
        // A leftover we caused; it may exit meanwhile, so a failure is fine.
        let _ = rustix::process::kill_process(Pid::from_raw(*pid).unwrap(), Signal::Kill);
    }
    assert!(left.is_empty(), "sleep {secs} still running: {left:?}");
    let root = env.root();
    let mounts = mounts_under(&root);
    assert!(mounts.is_empty(), "mounts left: {mounts:#?}");
    let active = dir_names(&root.join("snapshots/active"));
    assert!(active.is_empty(), "snapshots/active: {active:?}");
    let tmp: Vec<String> = std::fs::read_dir(root.join("tmp"))
        .map(|d| {
            d.map(|e| e.unwrap())
                .filter(|e| e.file_type().unwrap().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(tmp.is_empty(), "tmp: {tmp:?}");
    let runc = dir_names(&root.join("executor/runc"));
    assert!(runc.is_empty(), "runc state left: {runc:?}");
    let bundles = dir_names(&root.join("executor/bundles"));
    assert!(bundles.is_empty(), "bundles left: {bundles:?}");

    let again = env.context(
        "again",
        &[("Dockerfile", "FROM busybox:test\nRUN sleep 0\n")],
    );
    env.build(&[again.to_str().unwrap()]);
}

#[test]
#[ignore = "needs root"]
fn sigint_during_run_leaves_nothing_behind() {
    interrupt_during_run(Signal::Int, "37", Some(130));
}

#[test]
#[ignore = "needs root"]
fn sigterm_during_run_leaves_nothing_behind() {
    interrupt_during_run(Signal::Term, "38", Some(143));
}

#[test]
#[ignore = "needs root"]
fn sigkill_during_run_is_cleaned_up_by_the_next_command() {
    interrupt_during_run(Signal::Kill, "39", None);
}

// ---------------------------------------------------------------------------------------------

#[test]
#[ignore = "needs root"]
fn failed_run_prints_line_command_exit_code_and_tail() {
    common::require_root();
    let env = Env::with_base();
    let ctx = env.context(
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox:test\nRUN echo first-line && echo last-line-xyz && exit 7\n",
        )],
    );
    let before = env.snapshot_of_store();
    let out = env.strata(&[
        "build",
        "--progress=plain",
        "-t",
        "fail:1",
        ctx.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for want in [
        "Dockerfile:2",
        "echo first-line && echo last-line-xyz && exit 7",
        "exit code: 7",
        "last-line-xyz",
    ] {
        assert!(err.contains(want), "{want:?} missing from:\n{err}");
    }
    let after = env.snapshot_of_store();
    assert_eq!(before.0, after.0, "strata images changed");
    assert_eq!(before.1, after.1, "blobs changed");
}

// ---------------------------------------------------------------------------------------------

const SECRET: &str = "s3cr3t-value";

/// The comparison splits the value (`"s3cr3t"-value`) so that the Dockerfile, and so the
/// history and the log, never hold it whole: only the secret can bring it into the store.
const SECRET_DOCKERFILE: &str = "FROM busybox:test
RUN --mount=type=secret,id=tok,env=TOK sh -c 'test \"$TOK\" = \"s3cr3t\"-value && echo ok > /ok'
";

#[test]
#[ignore = "needs root"]
fn secret_from_env_never_in_any_blob() {
    common::require_root();
    let env = Env::with_base();
    let ctx = env.context("ctx", &[("Dockerfile", SECRET_DOCKERFILE)]);
    let out = env.path("out");
    let build = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(env.root())
        .args(["build", "--progress=plain", "--secret", "id=tok,env=MYTOK"])
        .args(["-t", "sec:1", "--output", "type=image", "--output"])
        .arg(local_output(&out))
        .arg(&ctx)
        .env("MYTOK", SECRET)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(build.status.success(), "build failed:\n{}", stderr(&build));
    assert_eq!(
        read(&out.join("ok")),
        "ok\n",
        "the RUN did not see the secret"
    );

    let needle = SECRET.as_bytes();
    let log = [build.stdout.as_slice(), build.stderr.as_slice()].concat();
    assert!(!contains(&log, needle), "secret in the build log");

    // Every file of the store as it is (db, WAL, blobs), and gzip blobs decompressed.
    let mut layers = 0;
    for path in files_under(&env.root()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(!contains(&bytes, needle), "secret in {}", path.display());
        if path.starts_with(env.root().join("blobs")) && bytes.starts_with(&[0x1f, 0x8b]) {
            let mut plain = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes.as_slice())
                .read_to_end(&mut plain)
                .unwrap();
            assert!(
                !contains(&plain, needle),
                "secret in layer {}",
                path.display()
            );
            layers += 1;
        }
    }
    assert!(
        layers >= 2,
        "expected the base and RUN layers, found {layers}"
    );

    let inspect = env.ok(&["inspect", "sec:1"]);
    assert!(!inspect.contains(SECRET), "secret in inspect:\n{inspect}");
}
