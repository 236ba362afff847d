//! Test support shared by the workspace's test suites; a `[dev-dependencies]` entry only,
//! never a dependency of a library or of the binary.
//!
//! It owns what the tests of several crates need alike:
//! - **skips that are reported as skips**: [`require_root`] and [`require_tool`] panic with
//!   what is missing, so a test that needs root is marked `#[ignore = "needs root"]`, shows as
//!   `ignored` for a non-root developer, runs in CI (root, `--include-ignored`) and fails
//!   loudly, instead of passing, when `--include-ignored` is used without root;
//! - **the busybox base**: the rootfs tarball made by `scripts/busybox-rootfs.sh`
//!   ([`busybox_rootfs_tarball`]), a hand-written minimal one ([`write_busybox_tar`]) and an
//!   unpacked one for the executor ([`busybox_rootfs_dir`]);
//! - **a real registry**: [`registry::TestRegistry`], `docker-registry` on a free loopback
//!   port (anonymous, htpasswd, TLS, or token auth), stopped on drop, and
//!   [`token::TokenIssuer`], the docker token issuer (ES256 JWTs distribution 2.8 accepts,
//!   basic and OAuth2 refresh-token grants) such a registry sends its clients to;
//! - **certificates**: [`pki::Pki`], CAs and leaves made with `openssl` for TLS tests;
//! - **a misbehaving registry**: [`faulty::FaultyRegistry`], serving one repository from
//!   memory over a tiny std-TCP HTTP server ([`http`]) with faults queued per request
//!   (truncated or corrupted blobs, wrong digests, HTML pages, cut connections, 429, 5xx);
//! - **shared stores for a scaled-out registry**: [`postgres::TestPostgres`] (Debian's
//!   PostgreSQL binaries, a cluster in a temp dir) and [`garage::TestGarage`] (a one-node
//!   Garage with a key and a bucket), both on free loopback ports, stopped on drop; both
//!   offer `start_required`, which fails loudly when the binaries are missing;
//! - **a small disk to fill**: [`tmpfs::Tmpfs`], a size-limited tmpfs (root only),
//!   unmounted on drop;
//! - **real container clients**: [`dockerd::Dockerd`], a throwaway Docker daemon (root,
//!   Debian's `docker.io`: own roots and socket, no networking, stopped and unmounted on drop
//!   or when the test process dies) with its `docker` client, and
//!   [`containers::Containers`], podman and buildah on a private vfs containers-storage;
//! - **a real browser**: [`chromium::Browser`], headless Chromium behind `chromedriver` on a
//!   free loopback port, driven over WebDriver (load, find by CSS, text, attributes,
//!   click, run a script), stopped on drop;
//! - **small process and byte helpers**: [`run_ok`], [`stderr`], [`gzip`], [`gunzip`].
//!
//! It must not depend on any strata crate (a crate's tests would then see two copies of its
//! own types), and it holds no test of its own logic beyond what keeps it honest.

pub mod chromium;
pub mod containers;
pub mod dockerd;
pub mod faulty;
pub mod garage;
pub mod http;
pub mod pki;
pub mod postgres;
pub mod registry;
pub mod skopeo;
pub mod tmpfs;
pub mod token;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Where the host's static busybox is (Debian's busybox-static).
pub const BUSYBOX: &str = "/bin/busybox";

/// True when running as root (effective uid 0).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Panics unless running as root. Call it first in every test marked
/// `#[ignore = "needs root"]`, so that `--include-ignored` without root fails instead of
/// passing.
pub fn require_root() {
    assert!(
        is_root(),
        "needs root: run with sudo / as CI does (scripts/test.sh passes --include-ignored as root)"
    );
}

/// True when `tool` is on `PATH`.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Panics unless `tool` is on `PATH`: a test that needs a real peer tool fails, never passes,
/// where the tool is missing.
pub fn require_tool(tool: &str) {
    assert!(
        have(tool),
        "needs {tool}: install it (CI installs it in .ci/run)"
    );
}

/// Panics unless the host has a static busybox at [`BUSYBOX`].
pub fn require_busybox() {
    assert!(
        Path::new(BUSYBOX).exists(),
        "needs {BUSYBOX}: apt-get install busybox-static (CI installs it in .ci/run)"
    );
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `cmd` with `input` on its stdin; its output, successful or not (a login with
/// `--password-stdin`).
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input)
        .expect("writing the child's stdin");
    child.wait_with_output().expect("waiting for the child")
}

/// Runs a command, panicking with its stdout and stderr when it cannot start or fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    out
}

/// A command's stderr as text (lossy).
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A command's stdout as text (lossy).
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `bytes` gzip-compressed (fast level).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `data` gunzipped; panics on a corrupt stream.
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The clean Debian 12 rootfs with Python and Node packages of
/// `scripts/debian-python-node-rootfs.sh` (debootstrap, pip and npm: needs root), made once
/// and cached under `target/fixtures/`.
pub fn debian_python_node_rootfs() -> PathBuf {
    let root = workspace_root();
    let out = root.join("target/fixtures/debian-python-node.tar.gz");
    run_ok(
        Command::new("bash")
            .arg(root.join("scripts/debian-python-node-rootfs.sh"))
            .arg(&out),
    );
    out
}

/// The busybox rootfs tarball of `scripts/busybox-rootfs.sh` (every applet, `/etc/passwd`
/// with root, app and nobody), made once per test process under `target/`.
pub fn busybox_rootfs_tarball() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let root = workspace_root();
        let out = root.join("target/test-busybox-rootfs.tar.gz");
        let tmp = root.join(format!(
            "target/test-busybox-rootfs.{}.tar.gz",
            std::process::id()
        ));
        let status = Command::new("bash")
            .arg(root.join("scripts/busybox-rootfs.sh"))
            .arg(&tmp)
            .status()
            .unwrap();
        assert!(status.success(), "making the busybox rootfs failed");
        std::fs::rename(&tmp, &out).unwrap();
        out
    })
    .clone()
}

fn tar_header() -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h
}

/// Writes a minimal uncompressed rootfs tar to `path`: dirs `bin etc tmp home home/app`
/// (`tmp` 1777), the host's busybox with the given `applets` as symlinks to it,
/// `/etc/passwd` and `/etc/group` (root and app, uid 1000) and `/etc/base-file` ("base\n").
pub fn write_busybox_tar(path: &Path, applets: &[&str]) {
    require_busybox();
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for d in ["bin", "etc", "tmp", "home", "home/app"] {
        let mut h = tar_header();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(if d == "tmp" { 0o1777 } else { 0o755 });
        h.set_size(0);
        b.append_data(&mut h, d, std::io::empty()).unwrap();
    }
    let mut file = |name: &str, data: &[u8], mode: u32| {
        let mut h = tar_header();
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, data).unwrap();
    };
    file("bin/busybox", &std::fs::read(BUSYBOX).unwrap(), 0o755);
    file(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        0o644,
    );
    file("etc/group", b"root:x:0:\napp:x:1000:\n", 0o644);
    file("etc/base-file", b"base\n", 0o644);
    for applet in applets {
        let mut h = tar_header();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    b.finish().unwrap();
}

/// Makes `dir/rootfs` holding only `/bin/busybox` and a symlink per applet; returns it.
pub fn busybox_rootfs_dir(dir: &Path) -> PathBuf {
    require_busybox();
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap();
    let list = run_ok(Command::new(BUSYBOX).arg("--list"));
    for applet in String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .filter(|a| *a != "busybox")
    {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    root
}

/// Deterministic pseudo-random bytes (xorshift): incompressible test data.
pub fn noise_bytes(len: usize) -> Vec<u8> {
    xorshift(len).map(|(_, x)| x as u8).collect()
}

/// Two thirds text-like, one third xorshift noise: data that compresses like a typical layer.
pub fn mixed_bytes(len: usize) -> Vec<u8> {
    xorshift(len)
        .map(|(i, x)| {
            if i % 3 == 0 {
                (x & 0xff) as u8
            } else {
                b"abcdefgh"[(i / 7) % 8]
            }
        })
        .collect()
}

fn xorshift(len: usize) -> impl Iterator<Item = (usize, u64)> {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    (0..len).map(move |i| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (i, x)
    })
}

/// Installs `docker-credential-test` in `dir`: a real credential helper speaking
/// docker-credential-helpers' protocol (`get`/`store`/`erase` with the server URL or JSON on
/// stdin, "credentials not found in native keychain" when missing). It keeps one file per
/// server under `<dir>/store/` (the URL with `/` and `:` replaced) and logs each call to
/// `<dir>/calls`.
pub fn install_credential_helper(dir: &Path) -> PathBuf {
    let script = r#"#!/bin/sh
dir=$(dirname "$0")
mkdir -p "$dir/store"
input=$(cat)
echo "$1 $input" >> "$dir/calls"
key() { printf '%s' "$1" | tr '/:' '__'; }
case "$1" in
get)
    f="$dir/store/$(key "$input")"
    [ -f "$f" ] || { echo "credentials not found in native keychain"; exit 1; }
    cat "$f" ;;
store)
    url=$(printf '%s' "$input" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/')
    printf '%s' "$input" > "$dir/store/$(key "$url")" ;;
erase)
    f="$dir/store/$(key "$input")"
    [ -f "$f" ] || { echo "credentials not found in native keychain"; exit 1; }
    rm "$f" ;;
*)
    echo "unknown action $1"; exit 1 ;;
esac
"#;
    let path = dir.join("docker-credential-test");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips() {
        let data = b"strata testkit".repeat(100);
        assert_eq!(gunzip(&gzip(&data)), data);
    }

    #[test]
    fn require_root_agrees_with_is_root() {
        let r = std::panic::catch_unwind(require_root);
        assert_eq!(r.is_ok(), is_root());
    }

    #[test]
    fn require_tool_panics_with_the_tool_name() {
        assert!(have("sh"));
        require_tool("sh");
        let err = std::panic::catch_unwind(|| require_tool("strata-no-such-tool"))
            .expect_err("a missing tool must panic");
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("needs strata-no-such-tool"), "{msg}");
    }
}
