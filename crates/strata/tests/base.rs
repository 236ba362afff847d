//! `strata base build` / `strata base lock` end to end, on Debian's real mirror: the slim
//! example against `debootstrap --variant=minbase`, distroless running a static binary and a
//! Python script, byte-identical manifests from a lock on two empty stores, clear errors
//! with nothing stored, and the image used by `build FROM`, `save` and `export`.
//!
//! The `.deb` cache is shared under `target/fixtures/base-cache` (except where a test needs
//! an empty one); the slim image is built once per test process.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{require_root, stderr, Env};
use sha2::{Digest as _, Sha256};

fn fixtures() -> PathBuf {
    strata_testkit::workspace_root().join("target/fixtures")
}

fn shared_cache() -> String {
    fixtures().join("base-cache").to_string_lossy().into_owned()
}

fn example(name: &str) -> String {
    strata_testkit::workspace_root()
        .join("examples/base")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// `strata base build` with the shared cache; returns the image ID.
fn base_build(env: &Env, file: &str, extra: &[&str]) -> String {
    let cache = shared_cache();
    let mut args = vec!["base", "build", file, "--cache", &cache];
    args.extend_from_slice(extra);
    env.ok(&args).trim().to_owned()
}

/// The slim example built once (root: its scripts run), with the store it lives in.
fn slim() -> &'static (Env, String) {
    static SLIM: OnceLock<(Env, String)> = OnceLock::new();
    SLIM.get_or_init(|| {
        let env = Env::empty();
        let id = base_build(&env, &example("slim.toml"), &[]);
        (env, id)
    })
}

/// Runs `script` with strata's RUN in a build `FROM image` and returns the file it wrote
/// to `/out`.
fn run_in(env: &Env, image: &str, script: &str, name: &str) -> String {
    let ctx = env.context(
        name,
        &[(
            "Dockerfile",
            &format!(
                "FROM {image}\nRUN {}\n",
                serde_json::to_string(&["/bin/sh", "-c", script]).unwrap()
            ),
        )],
    );
    let (rootfs, _) = env.build_rootfs(&ctx, &format!("{name}-out"));
    std::fs::read_to_string(rootfs.join("out")).unwrap()
}

/// debootstrap's minbase tree, made once and cached by `scripts/debootstrap-minbase.sh`.
fn debootstrap_tar() -> PathBuf {
    let out = fixtures().join("debootstrap-minbase-bookworm.tar");
    strata_testkit::run_ok(
        std::process::Command::new("bash")
            .arg(strata_testkit::workspace_root().join("scripts/debootstrap-minbase.sh"))
            .arg(&out),
    );
    out
}

#[test]
#[ignore = "needs root"]
fn slim_has_debootstraps_packages_and_tools_work() {
    require_root();
    strata_testkit::require_tool("debootstrap");
    let (env, id) = slim();
    env.ok(&[
        "import",
        debootstrap_tar().to_str().unwrap(),
        "ref/minbase:bookworm",
    ]);
    let query = "dpkg-query -W > /out";
    let ours = run_in(env, id, query, "query-slim");
    let theirs = run_in(env, "ref/minbase:bookworm", query, "query-ref");
    assert_eq!(ours, theirs, "dpkg-query -W differs from debootstrap's");
    assert!(ours.lines().count() > 80, "{ours}");
    let tools = run_in(
        env,
        id,
        "{ bash -c 'echo bash-ok'; apt-get --version | head -1; dpkg --audit && echo audit-clean; \
         dpkg -l | grep -c '^ii'; } > /out 2>&1",
        "tools",
    );
    assert!(tools.contains("bash-ok"), "{tools}");
    assert!(tools.contains("apt 2."), "{tools}");
    assert!(tools.contains("audit-clean"), "{tools}");
    assert_eq!(
        tools.lines().last().unwrap().trim(),
        ours.lines().count().to_string(),
        "{tools}"
    );
}

/// Paths the comparison leaves out, with the reason in docs/BASE.md.
const NOT_COMPARED: &[&str] = &[
    "dev/",
    "etc/hostname",
    "etc/resolv.conf",
    "var/cache/apt/",
    "var/log/",
    "var/lib/dpkg/available",
    "var/lib/dpkg/status-old",
    "var/lib/dpkg/diversions-old",
    "var/lib/dpkg/available-old",
    "var/lib/dpkg/triggers/",
    "var/cache/debconf/",
    "etc/shadow",
    "etc/shadow-",
    "etc/gshadow-",
    "etc/passwd-",
    "etc/group-",
    "etc/ld.so.cache",
    "etc/machine-id",
    "var/lib/systemd/",
    "var/lib/apt/lists/",
    "var/cache/ldconfig/",
    "run/mount",
];

fn compared(rel: &str) -> bool {
    !NOT_COMPARED
        .iter()
        .any(|p| rel == *p || (p.ends_with('/') && (rel.starts_with(p) || format!("{rel}/") == *p)))
}

/// path → "type mode uid:gid content" for every compared path under `dir`.
fn describe(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).min_depth(1) {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if !compared(&rel) {
            continue;
        }
        let m = e.path().symlink_metadata().unwrap();
        let ft = m.file_type();
        let content = if ft.is_symlink() {
            format!("-> {}", std::fs::read_link(e.path()).unwrap().display())
        } else if ft.is_file() {
            hex::encode(Sha256::digest(std::fs::read(e.path()).unwrap()))
        } else {
            String::new()
        };
        let kind = if ft.is_dir() {
            'd'
        } else if ft.is_symlink() {
            'l'
        } else if ft.is_file() {
            'f'
        } else {
            'o'
        };
        let mode = if ft.is_symlink() {
            0
        } else {
            m.mode() & 0o7777
        };
        out.insert(
            rel,
            format!("{kind} {mode:o} {}:{} {content}", m.uid(), m.gid()),
        );
    }
    out
}

#[test]
#[ignore = "needs root"]
fn slim_file_tree_equals_debootstrap_minbase() {
    require_root();
    strata_testkit::require_tool("debootstrap");
    let (env, id) = slim();
    let ctx = env.context("tree", &[("Dockerfile", &format!("FROM {id}\n"))]);
    let (ours, _) = env.build_rootfs(&ctx, "tree-out");
    let theirs = env.path("debootstrap-tree");
    std::fs::create_dir_all(&theirs).unwrap();
    strata_testkit::run_ok(
        std::process::Command::new("tar")
            .args(["--numeric-owner", "-xpf"])
            .arg(debootstrap_tar())
            .arg("-C")
            .arg(&theirs),
    );
    let a = describe(&ours);
    let b = describe(&theirs);
    let mut diffs = Vec::new();
    for path in a
        .keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if a.get(path) != b.get(path) {
            diffs.push(format!(
                "{path}: strata {:?} debootstrap {:?}",
                a.get(path),
                b.get(path)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} paths differ:\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A distroless config in `dir` with `packages` (no scripts, no shell).
fn distroless_with(env: &Env, name: &str, packages: &[&str]) -> String {
    let text = std::fs::read_to_string(example("distroless.toml"))
        .unwrap()
        .replace(
            "packages = [\"libc6\", \"ca-certificates\", \"tzdata\", \"netbase\"]",
            &format!("packages = {}", serde_json::to_string(packages).unwrap()),
        );
    let path = env.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
#[ignore = "needs root"]
fn distroless_runs_a_static_binary_and_python_without_a_shell() {
    require_root();
    strata_testkit::require_busybox();
    let env = Env::empty();
    let file = distroless_with(
        &env,
        "py.toml",
        &[
            "libc6",
            "ca-certificates",
            "tzdata",
            "netbase",
            "python3-minimal",
            "python3-six",
        ],
    );
    let id = base_build(&env, &file, &["-t", "dl:test"]);
    let busybox = which("busybox");
    let ctx = env.context(
        "dl",
        &[
            (
                "Dockerfile",
                "FROM dl:test\nUSER root\nCOPY busybox /busybox\n\
                 RUN [\"/busybox\", \"sh\", \"-c\", \"test ! -e /bin/sh && test ! -e /usr/bin/apt-get && echo no-shell > /out1\"]\n\
                 RUN [\"/usr/bin/python3\", \"-c\", \"import six, ssl; open('/out2', 'w').write(six.__version__ + ' ' + str(ssl.create_default_context().cert_store_stats()['x509_ca'] > 100))\"]\n\
                 ENTRYPOINT [\"/busybox\"]\n",
            ),
        ],
    );
    std::fs::copy(busybox, ctx.join("busybox")).unwrap();
    let (rootfs, _) = env.build_rootfs(&ctx, "dl-out");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("out1")).unwrap().trim(),
        "no-shell"
    );
    let py = std::fs::read_to_string(rootfs.join("out2")).unwrap();
    assert!(py.starts_with("1.") && py.ends_with("True"), "{py}");
    // The dpkg database lists every package as installed, and the user is nonroot.
    let status = std::fs::read_to_string(rootfs.join("var/lib/dpkg/status")).unwrap();
    assert!(status.contains("Package: python3-six\nStatus: install ok installed\n"));
    let inspect = env.inspect(&id);
    assert_eq!(
        inspect["Config"]["config"]["User"], "65532:65532",
        "{inspect}"
    );
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(passwd.contains("nonroot:x:65532:65532:"), "{passwd}");
}

fn which(tool: &str) -> PathBuf {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// `strata base lock FILE` into `env`; returns the lock's path.
fn lock_of(env: &Env, file: &str, extra: &[&str]) -> PathBuf {
    let lock = env.path("base.lock");
    let cache = shared_cache();
    let mut args = vec!["base", "lock", file, "--cache", &cache, "-o"];
    args.push(lock.to_str().unwrap());
    args.extend_from_slice(extra);
    env.ok(&args);
    lock
}

/// `strata base build FILE --lock LOCK` on an empty store with the `.deb` cache `cache`;
/// returns the manifest digest and bytes.
fn build_from_lock(file: &str, lock: &Path, cache: &Path, extra: &[&str]) -> (String, Vec<u8>) {
    let env = Env::empty();
    let mut args = vec!["base", "build", file, "--lock", lock.to_str().unwrap()];
    args.extend_from_slice(&["--cache", cache.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let id = env.ok(&args).trim().to_owned();
    let digest = env.inspect(&id)["Digest"].as_str().unwrap().to_owned();
    let hex = digest.strip_prefix("sha256:").unwrap().to_owned();
    let bytes = std::fs::read(env.root().join("blobs/sha256").join(&hex)).unwrap();
    (digest, bytes)
}

/// Two builds of `file` from one lock, each on an empty store with an empty `.deb` cache,
/// then an offline build from the first's cache: the three manifests are byte-identical.
fn identical_from_lock(file: &str) {
    let work = Env::empty();
    let lock = lock_of(&work, file, &[]);
    let caches = [work.path("cache0"), work.path("cache1")];
    let first = build_from_lock(file, &lock, &caches[0], &["--jobs", "1"]);
    let second = build_from_lock(file, &lock, &caches[1], &["--jobs", "8"]);
    assert_eq!(first.0, second.0, "{file}: two builds from one lock differ");
    assert_eq!(first.1, second.1);
    // Offline, the lock alone gives the packages' records (no index): the same image.
    let offline = build_from_lock(file, &lock, &caches[0], &["--offline"]);
    assert_eq!(first.0, offline.0, "{file}: the offline build differs");
}

#[test]
fn same_lock_gives_byte_identical_manifests_on_two_empty_stores() {
    identical_from_lock(&example("distroless.toml"));
}

#[test]
#[ignore = "needs root"]
fn same_lock_gives_byte_identical_manifests_with_run_scripts() {
    require_root();
    identical_from_lock(&example("slim.toml"));
}

/// A loopback mirror forwarding every request to `http://deb.debian.org` (`/debian`,
/// `/debian-security`), as a local apt cache would.
fn forwarding_mirror() -> strata_testkit::http::HttpServer {
    use std::io::{Read as _, Write as _};
    use strata_testkit::http::{HttpRequest, HttpServer};
    HttpServer::start(std::sync::Arc::new(
        |req: &HttpRequest, stream: &mut std::net::TcpStream| {
            let mut up = std::net::TcpStream::connect(("deb.debian.org", 80)).unwrap();
            write!(
                up,
                "GET {} HTTP/1.1\r\nHost: deb.debian.org\r\nConnection: close\r\n\r\n",
                req.path()
            )
            .unwrap();
            let mut answer = Vec::new();
            up.read_to_end(&mut answer).unwrap();
            let _ = stream.write_all(&answer);
        },
    ))
}

#[test]
fn a_lock_made_through_a_mirror_override_records_the_files_mirror() {
    let env = Env::empty();
    let mirror = forwarding_mirror();
    let url = format!("http://{}/debian/", mirror.host());
    let lock = lock_of(&env, &example("distroless.toml"), &["--mirror", &url]);
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(!text.contains(&mirror.host()), "{text}");
    assert!(
        text.contains("mirror = \"http://deb.debian.org/debian\""),
        "{text}"
    );
    // And the lock is the one made without the override.
    let direct = Env::empty();
    let plain = lock_of(&direct, &example("distroless.toml"), &[]);
    assert_eq!(text, std::fs::read_to_string(plain).unwrap());
}

/// Writes a variant of the distroless example with `edit` applied; returns its path.
fn edited(env: &Env, name: &str, edit: impl Fn(String) -> String) -> String {
    let text = edit(std::fs::read_to_string(example("distroless.toml")).unwrap());
    let path = env.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// `strata base build FILE` fails; returns stderr, after checking the store is unchanged
/// and no temporary file is left under the root.
fn fails_storing_nothing(env: &Env, file: &str) -> String {
    let before = env.snapshot_of_store();
    let cache = shared_cache();
    let out = env.strata(&["base", "build", file, "--cache", &cache]);
    let err = stderr(&out);
    assert!(!out.status.success(), "should fail:\n{err}");
    assert_eq!(env.snapshot_of_store(), before, "the store changed: {err}");
    let leftovers: Vec<_> = walkdir::WalkDir::new(env.root())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy();
            let in_tmp = e.path().parent().is_some_and(|p| p.ends_with("tmp"));
            in_tmp || n.starts_with(".tmp") || n.starts_with("base-configure")
        })
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    err
}

#[test]
fn errors_are_clear_and_store_nothing() {
    let env = Env::empty();
    env.ok(&["images"]);
    // A keyring without the keys that sign bookworm (Debian's removed keys).
    let removed = "/usr/share/keyrings/debian-archive-removed-keys.gpg";
    assert!(
        Path::new(removed).exists(),
        "debian-archive-keyring is not installed"
    );
    let bad_key = edited(&env, "badkey.toml", |t| {
        t.replace(
            "components = [\"main\"]",
            &format!("components = [\"main\"]\nkeyring = \"{removed}\""),
        )
    });
    let err = fails_storing_nothing(&env, &bad_key);
    assert!(
        err.contains("bookworm") && err.contains("signed") && err.contains(removed),
        "{err}"
    );

    let missing = edited(&env, "missing.toml", |t| {
        t.replace("\"netbase\"]", "\"netbase\", \"no-such-package-strata\"]")
    });
    let err = fails_storing_nothing(&env, &missing);
    assert!(err.contains("no-such-package-strata"), "{err}");

    let unsat = edited(&env, "unsat.toml", |t| {
        t.replace("\"netbase\"]", "\"netbase=99.0\"]")
    });
    let err = fails_storing_nothing(&env, &unsat);
    assert!(err.contains("netbase") && err.contains("99.0"), "{err}");
}

#[test]
fn a_truncated_cached_deb_is_caught_and_fetched_again() {
    let env = Env::empty();
    let cache = env.path("cache");
    let file = example("distroless.toml");
    let args = ["base", "build", &file, "--cache", cache.to_str().unwrap()];
    let first = env.ok(&args).trim().to_owned();
    let debs = cache.join("debs");
    let victim = std::fs::read_dir(&debs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap();
    let good = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &good[..good.len() / 2]).unwrap();
    // Nothing changed: the stored image is reused (the warm path) without reading a .deb.
    let out = env.strata(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), first);
    assert!(
        stderr(&out).contains("unchanged: image"),
        "{}",
        stderr(&out)
    );
    // A store without the image unpacks the cache's .debs: the truncated one is caught by
    // its SHA256, fetched again, and the image is the same.
    let other = Env::empty();
    let out = other.strata(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), first);
    assert_eq!(std::fs::read(&victim).unwrap(), good);
}

#[test]
fn the_image_is_a_normal_image_from_save_and_export() {
    let env = Env::empty();
    let id = base_build(&env, &example("distroless.toml"), &["-t", "dl:x"]);
    assert!(env.ok(&["images"]).contains("dl"));
    let saved = env.path("dl.tar");
    env.ok(&["save", "-o", saved.to_str().unwrap(), "dl:x"]);
    assert!(std::fs::metadata(&saved).unwrap().len() > 1_000_000);
    let layout = env.path("layout");
    env.ok(&["export", "-o", layout.to_str().unwrap(), "dl:x"]);
    assert!(layout.join("index.json").exists());
    let inspect = env.inspect(&id);
    let annotations = &inspect["Manifest"]["annotations"];
    assert!(
        annotations["org.strata.base.packages"]
            .as_str()
            .unwrap()
            .contains("libc6="),
        "{inspect}"
    );
}

#[test]
#[ignore = "needs root"]
fn strata_build_from_the_base_image() {
    require_root();
    let (env, id) = slim();
    let out = run_in(env, id, "cat /etc/debian_version > /out", "from");
    assert!(out.starts_with("12."), "{out}");
}

#[test]
#[ignore = "needs root"]
fn python_runtime_example_builds_on_slim_with_a_venv() {
    require_root();
    let (env, _) = slim();
    let out = env.strata(&[
        "build",
        "--progress=plain",
        "-t",
        "runtime/python:test",
        &example("python"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = run_in(
        env,
        "runtime/python:test",
        "python /app/app.py > /out; echo $VIRTUAL_ENV >> /out",
        "py",
    );
    assert!(
        got.starts_with("hello from /opt/venv (python 3.11)"),
        "{got}"
    );
}
