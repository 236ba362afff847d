//! ADD from a URL (against a local HTTP server on 127.0.0.1) and a full disk during a build.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use common::{stderr, Env};

/// Serves `body` for every GET on a free 127.0.0.1 port; returns the base URL and a counter
/// of requests served.
fn serve(body: &'static [u8]) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream
                .write_all(head.as_bytes())
                .and_then(|_| stream.write_all(body));
        }
    });
    (url, hits)
}

#[test]
#[ignore = "needs root"]
fn add_url_with_checksum_downloads_verifies_and_caches() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    const BODY: &[u8] = b"remote content\n";
    let (url, hits) = serve(BODY);
    let sum = format!("sha256:{}", sha256_hex(BODY));
    let env = Env::with_base();
    let df = format!("FROM busybox:test\nADD --checksum={sum} {url}/files/tool.txt /opt/\nADD {url}/files/tool.txt /renamed.txt\n");
    let ctx = env.context("ctx", &[("Dockerfile", &df)]);
    let out = env.path("out");
    env.build(&[
        "--output",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(out.join("opt/tool.txt")).unwrap(), BODY);
    assert_eq!(std::fs::read(out.join("renamed.txt")).unwrap(), BODY);
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(out.join("opt/tool.txt")).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.mtime()),
        (0o600, 1_700_000_000),
        "mode 0600, mtime from Last-Modified"
    );
    let before = hits.load(std::sync::atomic::Ordering::SeqCst);
    let (_, log) = env.build(&[ctx.to_str().unwrap()]);
    assert_eq!(log.matches("CACHED").count(), 2, "{log}");
    // With --checksum a cached step needs no download; without, the content is fetched to key it.
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst) - before, 1);

    let bad = format!(
        "FROM busybox:test\nADD --checksum=sha256:{} {url}/x.txt /x\n",
        "0".repeat(64)
    );
    let ctx = env.context("bad", &[("Dockerfile", &bad)]);
    let images = env.snapshot_of_store().0;
    let out = env.strata(&["build", ctx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("digest mismatch"), "{}", stderr(&out));
    assert!(stderr(&out).contains("Dockerfile:2"), "{}", stderr(&out));
    assert_eq!(env.snapshot_of_store().0, images, "no image was added");
}

fn sha256_hex(data: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[test]
#[ignore = "needs root"]
fn a_full_disk_fails_the_build_cleanly() {
    common::require_root(); // to mount a small tmpfs
    let env = Env::empty();
    std::fs::create_dir_all(env.root()).unwrap();
    let root = env.root();
    let status = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=6m",
            "strata-test",
            root.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(root.clone());
    env.ok(&[
        "import",
        common::base_tarball().to_str().unwrap(),
        "busybox:test",
    ]);
    let before = env.snapshot_of_store();
    let ctx = env.context(
        "ctx",
        &[("Dockerfile", "FROM busybox:test\nCOPY big.bin /big.bin\n")],
    );
    let random: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(ctx.join("big.bin"), random).unwrap();
    let out = env.strata(&[
        "build",
        "--compression",
        "uncompressed",
        "-t",
        "big:1",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("No space left on device") || err.contains("os error 28"),
        "{err}"
    );
    assert_eq!(
        env.snapshot_of_store(),
        before,
        "the store is exactly as it was"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.join("tmp")).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
}
