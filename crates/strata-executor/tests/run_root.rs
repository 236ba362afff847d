//! Root-only integration tests: real runc runs of a static busybox rootfs.
//! Each is `#[ignore = "needs root"]` (CI runs them as root with `--include-ignored`) and
//! panics when run without root, runc or busybox.

use std::fs;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use strata_archive::{entry_from_fs, write_layer, Compression, Entry, EntryKind, WriteOptions};
use strata_executor::{
    Error, Executor, MountKind, MountSpec, Network, RunOutcome, RunSpec, Runtime, Stream,
};
use strata_snapshot::mounter::mount_points;
use strata_snapshot::{LayerSource, SnapshotStore};

/// Panics unless this test can run: root, the host's busybox and an OCI runtime.
fn require_usable() {
    strata_testkit::require_root();
    strata_testkit::require_busybox();
    if let Err(e) = Runtime::detect(None) {
        panic!("needs an oci runtime (runc or crun): {e}");
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    exec: Executor,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let exec = Executor::new(Runtime::detect(None).unwrap(), &dir.join("state")).unwrap();
    Fixture {
        _tmp: tmp,
        dir,
        exec,
    }
}

fn sh(rootfs: &Path, script: &str) -> RunSpec {
    RunSpec::new(rootfs, vec!["sh".into(), "-c".into(), script.into()])
}

fn run(exec: &Executor, spec: &RunSpec) -> (RunOutcome, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = exec
        .run(spec, &mut |s, b| match s {
            Stream::Stdout => out.extend_from_slice(b),
            Stream::Stderr => err.extend_from_slice(b),
        })
        .unwrap();
    (
        outcome,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn assert_no_state(exec: &Executor) {
    assert_eq!(
        fs::read_dir(exec.runtime_root()).unwrap().count(),
        0,
        "runc state left"
    );
    assert_eq!(
        fs::read_dir(exec.bundles_dir()).unwrap().count(),
        0,
        "bundle left"
    );
}

#[test]
#[ignore = "needs root"]
fn runs_busybox_and_reports_output_and_exit_code() {
    require_usable();
    let f = fixture();
    let rootfs = strata_testkit::busybox_rootfs_dir(&f.dir);
    let mut spec = sh(
        &rootfs,
        "echo hi; id; hostname; cat /etc/hosts; echo oops >&2; exit 3",
    );
    spec.hostname = "buildbox".into();
    spec.hosts_file = "127.0.0.1 localhost buildbox\n10.9.9.9 extra\n".into();
    let (outcome, out, err) = run(&f.exec, &spec);
    assert_eq!(outcome.exit_code, 3);
    assert!(!outcome.success());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "hi");
    assert!(lines[1].starts_with("uid=0 gid=0"), "{out}");
    assert_eq!(lines[2], "buildbox");
    assert!(out.contains("10.9.9.9 extra"), "{out}");
    assert_eq!(err, "oops\n");
    // Mount-point stubs the runtime created are gone again.
    assert!(outcome
        .created_mountpoints
        .contains(&rootfs.join("etc/hosts")));
    assert!(outcome.created_mountpoints.contains(&rootfs.join("proc")));
    let mut left: Vec<String> = fs::read_dir(&rootfs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    left.sort();
    assert_eq!(left, ["bin"]);
    assert_no_state(&f.exec);
}

#[test]
#[ignore = "needs root"]
fn network_none_has_only_loopback() {
    require_usable();
    let f = fixture();
    let rootfs = strata_testkit::busybox_rootfs_dir(&f.dir);
    let mut spec = sh(
        &rootfs,
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
    );
    spec.network = Network::None;
    let (outcome, out, _) = run(&f.exec, &spec);
    assert!(outcome.success());
    assert_eq!(out.trim(), "lo");
    spec.network = Network::Host;
    let (_, host_out, _) = run(&f.exec, &spec);
    let host_ifaces = fs::read_to_string("/proc/net/dev").unwrap().lines().count() - 2;
    assert_eq!(
        host_out.lines().count(),
        host_ifaces,
        "host network shares the host's interfaces"
    );
}

#[test]
#[ignore = "needs root"]
fn env_cwd_and_user_are_honoured() {
    require_usable();
    let f = fixture();
    let rootfs = strata_testkit::busybox_rootfs_dir(&f.dir);
    let mut spec = sh(&rootfs, "echo \"$FOO\"; pwd; id -u; id -g; id -G");
    spec.env.push("FOO=bar baz".into());
    spec.cwd = "/work/dir".into();
    spec.uid = 1000;
    spec.gid = 1001;
    spec.additional_gids = vec![1001, 44];
    let (outcome, out, err) = run(&f.exec, &spec);
    assert!(outcome.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..4], ["bar baz", "/work/dir", "1000", "1001"]);
    assert!(lines[4].split(' ').any(|g| g == "44"), "{out}");
    assert!(
        !rootfs.join("work").exists(),
        "the created cwd is an empty stub and is removed"
    );
}

#[test]
#[ignore = "needs root"]
fn bind_mounts_respect_readonly_and_tmpfs_works() {
    require_usable();
    let f = fixture();
    let rootfs = strata_testkit::busybox_rootfs_dir(&f.dir);
    let (ro, rw) = (f.dir.join("ro"), f.dir.join("rw"));
    fs::create_dir_all(&ro).unwrap();
    fs::create_dir_all(&rw).unwrap();
    fs::write(ro.join("in"), "input\n").unwrap();
    let mut spec = sh(
        &rootfs,
        "cat /ro/in; touch /ro/x 2>/dev/null && echo ro-writable; echo out > /rw/out; \
         echo t > /scratch/t && grep ' /scratch ' /proc/mounts | cut -d' ' -f3",
    );
    spec.mounts = vec![
        MountSpec {
            target: "/ro".into(),
            kind: MountKind::Bind {
                source: ro.clone(),
                readonly: true,
            },
        },
        MountSpec {
            target: "/rw".into(),
            kind: MountKind::Bind {
                source: rw.clone(),
                readonly: false,
            },
        },
        MountSpec {
            target: "/scratch".into(),
            kind: MountKind::Tmpfs {
                size: Some(1 << 20),
                readonly: false,
            },
        },
    ];
    let (outcome, out, err) = run(&f.exec, &spec);
    assert!(outcome.success(), "{err}");
    assert_eq!(out, "input\ntmpfs\n");
    assert!(!ro.join("x").exists());
    assert_eq!(fs::read_to_string(rw.join("out")).unwrap(), "out\n");
    assert!(!rootfs.join("scratch").exists() && !rootfs.join("ro").exists());
}

#[test]
#[ignore = "needs root"]
fn failures_leave_no_state() {
    require_usable();
    let f = fixture();
    let rootfs = strata_testkit::busybox_rootfs_dir(&f.dir);
    // A child of the container's init is killed: exit code 128 + 9.
    let (outcome, _, _) = run(&f.exec, &sh(&rootfs, "sh -c 'kill -9 $$'; exit $?"));
    assert_eq!(outcome.exit_code, 137);
    assert_no_state(&f.exec);
    // The runtime cannot start the process: an error naming the command.
    let spec = RunSpec::new(&rootfs, vec!["/no/such/binary".into()]);
    let err = f.exec.run(&spec, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, Error::RuntimeFailed { .. }), "{err}");
    assert!(err.to_string().contains("/no/such/binary"), "{err}");
    assert_no_state(&f.exec);
}

fn layer_from_dir(root: &Path) -> (strata_oci::Digest, Vec<u8>) {
    let entries: Vec<Entry> = walkdir(root)
        .into_iter()
        .map(|rel| {
            entry_from_fs(root, &rel, &fs::symlink_metadata(root.join(&rel)).unwrap()).unwrap()
        })
        .collect();
    let (info, bytes) = write_layer(
        entries,
        Vec::new(),
        Compression::None,
        WriteOptions::default(),
    )
    .unwrap();
    (info.diff_id, bytes)
}

fn walkdir(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let child = rel.join(e.file_name());
            out.push(child.to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                stack.push(child);
            }
        }
    }
    out
}

fn busybox_snapshot(store: &SnapshotStore, dir: &Path) -> PathBuf {
    let rootfs = strata_testkit::busybox_rootfs_dir(dir);
    fs::write(rootfs.join("a"), "a").unwrap();
    let (diff_id, bytes) = layer_from_dir(&rootfs);
    let open = Box::new(move || Ok(Box::new(Cursor::new(bytes)) as Box<dyn Read>));
    store
        .ensure(LayerSource {
            chain_id: diff_id.clone(),
            diff_id,
            parent: None,
            open,
        })
        .unwrap()
}

#[test]
#[ignore = "needs root"]
fn run_over_an_overlay_and_diff_the_changes() {
    require_usable();
    let f = fixture();
    let store = SnapshotStore::open(&f.dir).unwrap();
    let lower = busybox_snapshot(&store, &f.dir);
    let mount = store.mount_rw(&[lower]).unwrap();
    let spec = sh(&mount.rootfs(), "rm /a; mkdir /d2; echo x > /d2/f");
    let (outcome, _, err) = run(&f.exec, &spec);
    assert!(outcome.success(), "{err}");
    let entries = mount.diff().unwrap();
    let summary: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            let kind = match &e.kind {
                EntryKind::File { size, .. } => format!("file {size}"),
                other => format!("{other:?}"),
            };
            (e.path.clone(), kind)
        })
        .collect();
    let expect = |p: &str, k: &str| (p.to_string(), k.to_string());
    assert_eq!(
        summary,
        [
            expect("a", "Whiteout"),
            expect("d2", "Dir"),
            expect("d2/f", "file 2")
        ]
    );
    drop(mount);
    assert_no_state(&f.exec);
}

/// The body of the signal test, run in a child process (the test binary run again).
fn signal_child(dir: &str) {
    let dir = PathBuf::from(dir);
    strata_executor::install_signal_cleanup().unwrap();
    let store = SnapshotStore::open(&dir).unwrap();
    let lower = busybox_snapshot(&store, &dir);
    let mount = store.mount_rw(&[lower]).unwrap();
    let exec = Executor::new(Runtime::detect(None).unwrap(), &dir.join("state")).unwrap();
    let marker = std::env::var("STRATA_SIGNAL_MARKER").unwrap();
    let spec = sh(
        &mount.rootfs(),
        &format!("touch /started; sleep 300; echo {marker}"),
    );
    let _ = exec.run(&spec, &mut |_, _| {});
    // The signal thread is finishing its cleanup and will exit(143).
    std::thread::sleep(Duration::from_secs(60));
    panic!("the run should have been interrupted");
}

fn processes_with(marker: &str) -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains(marker)
        })
        .collect()
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cgroup_dirs(prefix: &str) -> Vec<PathBuf> {
    let Ok(controllers) = fs::read_dir("/sys/fs/cgroup") else {
        return Vec::new();
    };
    controllers
        .filter_map(|c| fs::read_dir(c.ok()?.path().join("strata")).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect()
}

#[test]
#[ignore = "needs root"]
fn sigterm_during_a_run_leaves_nothing_behind() {
    if let Ok(dir) = std::env::var("STRATA_SIGNAL_CHILD_DIR") {
        return signal_child(&dir);
    }
    require_usable();
    let tmp = tempfile::tempdir().unwrap();
    let marker = format!("strata-signal-marker-{}", std::process::id());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "sigterm_during_a_run_leaves_nothing_behind",
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STRATA_SIGNAL_CHILD_DIR", tmp.path())
        .env("STRATA_SIGNAL_MARKER", &marker)
        .spawn()
        .unwrap();
    let active = tmp.path().join("snapshots/active");
    wait_for("the container to start", || {
        fs::read_dir(&active)
            .map(|d| d.flatten().any(|e| e.path().join("upper/started").exists()))
            .unwrap_or(false)
    });
    assert!(!processes_with(&marker).is_empty());
    let prefix = format!("strata-{}-", child.id());
    assert!(
        !cgroup_dirs(&prefix).is_empty(),
        "runc made a cgroup for the container"
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::Term,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let root = tmp.path().canonicalize().unwrap();
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        mount_points(&info).all(|p| !p.starts_with(&root)),
        "a mount is left under {}",
        root.display()
    );
    assert_eq!(
        fs::read_dir(&active).unwrap().count(),
        0,
        "overlay dirs left"
    );
    assert_eq!(
        fs::read_dir(tmp.path().join("state/runc")).unwrap().count(),
        0,
        "runc state left"
    );
    assert_eq!(
        fs::read_dir(tmp.path().join("state/bundles"))
            .unwrap()
            .count(),
        0,
        "bundle left"
    );
    wait_for("container processes to go", || {
        processes_with(&marker).is_empty()
    });
    assert!(
        cgroup_dirs(&prefix).is_empty(),
        "cgroups left: {:?}",
        cgroup_dirs(&prefix)
    );
}

/// `reap_stale` leaves a live run alone (its lock is held) and removes what a killed run
/// left: the container of a lock nobody holds, and an old temporary lock file.
#[test]
#[ignore = "needs root"]
fn reaping_spares_live_runs_and_removes_dead_ones() {
    require_usable();
    let f = fixture();
    let state = f.dir.join("state");
    let rootfs = strata_testkit::busybox_rootfs_dir(&f.dir);
    std::thread::scope(|s| {
        let live = s.spawn(|| run(&f.exec, &sh(&rootfs, "sleep 1; echo survived")));
        wait_for("the run's lock", || {
            fs::read_dir(f.exec.bundles_dir())
                .unwrap()
                .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".lock"))
        });
        assert_eq!(strata_executor::reap_stale(&state).unwrap(), 0);
        let (outcome, out, _) = live.join().unwrap();
        assert_eq!((outcome.exit_code, out.as_str()), (0, "survived\n"));
    });
    assert_no_state(&f.exec);

    // A dead run: its lock file exists but nobody holds it, with a container still there.
    let id = "strata-dead-run";
    let bundle = f.exec.bundles_dir().join(id);
    fs::create_dir_all(&bundle).unwrap();
    let runtime = Runtime::detect(None).unwrap();
    fs::write(
        f.exec.bundles_dir().join(format!("{id}.lock")),
        runtime.path.to_string_lossy().as_bytes(),
    )
    .unwrap();
    strata_executor::bundle::Bundle::write(&bundle, &sh(&rootfs, "sleep 300"), "/strata/dead")
        .unwrap();
    let started = runtime
        .command(&f.exec.runtime_root())
        .args(["run", "--detach", "--bundle"])
        .arg(&bundle)
        .arg(id)
        .status()
        .unwrap();
    assert!(started.success());
    assert!(f.exec.runtime_root().join(id).exists());
    // An old temporary lock of a run killed before its lock was in place.
    let temp = f.exec.bundles_dir().join(".new-strata-x");
    fs::write(&temp, b"").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(old)
        .unwrap();

    assert_eq!(strata_executor::reap_stale(&state).unwrap(), 1);
    assert_no_state(&f.exec);
}
