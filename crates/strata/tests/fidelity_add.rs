//! ADD's sources (URLs, archives, git repositories) and `--checksum`/`--unpack`/
//! `--keep-git-dir`, and the COPY/ADD source and destination rules BuildKit enforces: empty
//! wildcards, paths of the other kind at the destination, URL and git sources for COPY. Every
//! expected value or message is what BuildKit v0.24.0 (the oracle daemon of `/work/oracle`)
//! gave for the same Dockerfile and context; each test names the BuildKit source that decides
//! it. Servers the tests need (HTTP, git) bind 127.0.0.1 on a free port and stop with the test.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{layers, stderr, Env, Row};

/// (path, kind, mode) of every entry of a layer.
fn shape(layer: &[Row]) -> Vec<(&str, char, u32)> {
    layer
        .iter()
        .map(|r| (r.path.as_str(), r.kind, r.mode))
        .collect()
}

/// Builds `ctx` as `tag` and returns its layers above the base.
fn build(env: &Env, ctx: &Path, tag: &str) -> Vec<Vec<Row>> {
    env.build(&["-t", tag, ctx.to_str().unwrap()]);
    layers(env, tag)
}

/// A build that must fail: exit 1, the message names `line` and holds `message`, and the
/// store's images are unchanged.
fn fails_at(env: &Env, ctx: &Path, line: usize, message: &str) {
    let images = env.snapshot_of_store().0;
    let out = env.strata(&["build", "--progress=plain", ctx.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("Dockerfile:{line}")), "{err}");
    assert!(err.contains(message), "wanted {message:?} in:\n{err}");
    assert_eq!(env.snapshot_of_store().0, images, "no image was added");
}

/// convert.go `dispatchCopy` copies context sources with `AllowEmptyWildcard`, and
/// solver/llbsolver/file/backend.go `docopy` returns before copying when a wildcard matches
/// nothing: the step succeeds with an empty layer (no `/x`), the other sources are copied, and
/// a literal source that does not exist still fails (`"/missing": not found`).
#[test]
#[ignore = "needs root"]
fn copy_wildcard_matching_nothing_is_an_empty_layer() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test\nCOPY nomatch* /x/\nCOPY nomatch* f1 /wild/\nADD nomatch* /y/\n";
    let ctx = env.context("ctx", &[("Dockerfile", df), ("f1", "one\n")]);
    let layers = build(&env, &ctx, "nomatch:1");
    assert_eq!(layers.len(), 3, "each step has its layer: {layers:#?}");
    assert!(layers[0].is_empty(), "{:?}", layers[0]);
    assert_eq!(
        shape(&layers[1]),
        [("wild", 'd', 0o755), ("wild/f1", 'f', 0o644)]
    );
    assert!(layers[2].is_empty(), "{:?}", layers[2]);

    let df = "FROM busybox:test\nCOPY nomatch* missing /x/\n";
    let ctx = env.context("literal", &[("Dockerfile", df)]);
    fails_at(&env, &ctx, 2, "\"/missing\" not found");
}

/// vendor/github.com/tonistiigi/fsutil/copy/copy.go: a file copied where the image has a
/// directory fails in `ensureEmptyFileTarget`, a directory where it has a file in
/// `copyDirectoryOnly`, and a file above the destination in `MkdirAll` (BuildKit's messages
/// name its mount's path, strata's the image path). With `--link` the copy goes onto scratch
/// and the merge replaces the directory.
#[test]
#[ignore = "needs root"]
fn copy_never_replaces_a_path_of_the_other_kind() {
    common::require_root();
    let env = Env::with_base();
    let cases = [
        (
            "RUN mkdir -p /t/a/d && echo keep > /t/a/d/keep\nCOPY src /t/\n",
            ("src/a/d", "file\n"),
            "cannot replace to directory /t/a/d with file",
        ),
        (
            "RUN mkdir -p /t && echo file > /t/a\nCOPY src /t/\n",
            ("src/a/inner", "inner\n"),
            "cannot copy to non-directory: /t/a",
        ),
        (
            "RUN mkdir -p /t /real && ln -s /real /t/a\nCOPY src /t/\n",
            ("src/a/inner", "inner\n"),
            "cannot copy to non-directory: /t/a",
        ),
        (
            "COPY src/f /etc/passwd/x\n",
            ("src/f", "f\n"),
            "mkdir /etc/passwd: not a directory",
        ),
    ];
    for (i, (steps, file, message)) in cases.into_iter().enumerate() {
        let df = format!("FROM busybox:test\n{steps}");
        let ctx = env.context(&format!("case{i}"), &[("Dockerfile", &df), file]);
        fails_at(&env, &ctx, df.lines().count(), message);
    }

    let df = "FROM busybox:test\nRUN mkdir -p /t/a/d && echo keep > /t/a/d/keep\nCOPY --link src /t/\nRUN cat /t/a/d > /seen\n";
    let ctx = env.context("link", &[("Dockerfile", df), ("src/a/d", "file\n")]);
    let layers = build(&env, &ctx, "linked:1");
    let seen = layers[2].iter().find(|r| r.path == "seen").unwrap();
    assert_eq!(
        seen.data, b"file\n",
        "the linked file replaced the directory"
    );
}

/// An HTTP server on a free 127.0.0.1 port serving fixed files (anything else is a 404);
/// stopped when dropped.
struct HttpServer {
    url: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    fn start(files: Vec<(&'static str, Vec<u8>)>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    respond(stream, &files);
                }
            }
        });
        HttpServer {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn respond(mut stream: TcpStream, files: &[(&'static str, Vec<u8>)]) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    let _ = reader.read_line(&mut request);
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = match files.iter().find(|(p, _)| *p == path) {
        Some((_, body)) => ("200 OK", body.as_slice()),
        None => ("404 Not Found", &b""[..]),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nLast-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body));
}

/// A gzipped tar: `./` (0755), `top` (0640) and `inner/h` (0644), all owned 1000:50.
fn archive() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    let entries: [(&str, tar::EntryType, u32, &[u8]); 4] = [
        ("./", tar::EntryType::Directory, 0o755, b""),
        ("./top", tar::EntryType::Regular, 0o640, b"top\n"),
        ("./inner/", tar::EntryType::Directory, 0o755, b""),
        ("./inner/h", tar::EntryType::Regular, 0o644, b"hello\n"),
    ];
    for (name, kind, mode, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_uid(1000);
        h.set_gid(50);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, name, data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// Every entry of a layer as `path kind mode uid:gid`.
fn listing(layer: &[Row]) -> Vec<String> {
    layer
        .iter()
        .map(|r| {
            format!(
                "{} {} {:o} {}:{}",
                r.path, r.kind, r.mode, r.owner.0, r.owner.1
            )
        })
        .collect()
}

/// convert.go `dispatchCopy`, HTTP branch: the download is copied with
/// `AttemptUnpack: unpack`, `unpack` being `--unpack` as given (false without it), so
/// `--unpack=true` extracts a downloaded archive as solver/llbsolver/file/unpack.go does (entries
/// keep their owners unless `--chown`, the destination made 0755), a non-archive stays a file
/// (0600, as every download); a context archive is unpacked unless `--unpack=false`.
#[test]
#[ignore = "needs root"]
fn add_unpack_true_unpacks_a_downloaded_archive() {
    common::require_root();
    let tgz = archive();
    let server = HttpServer::start(vec![
        ("/a.tar.gz", tgz.clone()),
        ("/plain.txt", b"plain\n".to_vec()),
    ]);
    let env = Env::with_base();
    let url = &server.url;
    let df = format!(
        "FROM busybox:test\n\
         ADD {url}/a.tar.gz /u1/\n\
         ADD --unpack=true {url}/a.tar.gz /u2/\n\
         ADD --unpack=true --chown=33:33 {url}/a.tar.gz /u3/\n\
         ADD --unpack=true {url}/plain.txt /u4/\n\
         ADD --unpack=false a.tar.gz /u5/\n"
    );
    let ctx = env.context("ctx", &[("Dockerfile", &df)]);
    std::fs::write(ctx.join("a.tar.gz"), &tgz).unwrap();
    let layers = build(&env, &ctx, "unpack:1");
    assert_eq!(
        listing(&layers[0]),
        ["u1 d 755 0:0", "u1/a.tar.gz f 600 0:0"]
    );
    let unpacked = |dir: &str, top: &str, owner: &str| {
        [
            format!("{dir} d 755 {top}"),
            format!("{dir}/inner d 755 {owner}"),
            format!("{dir}/inner/h f 644 {owner}"),
            format!("{dir}/top f 640 {owner}"),
        ]
    };
    assert_eq!(listing(&layers[1]), unpacked("u2", "0:0", "1000:50"));
    assert_eq!(listing(&layers[2]), unpacked("u3", "33:33", "33:33"));
    assert_eq!(
        listing(&layers[3]),
        ["u4 d 755 0:0", "u4/plain.txt f 600 0:0"]
    );
    assert_eq!(
        listing(&layers[4]),
        ["u5 d 755 0:0", "u5/a.tar.gz f 644 0:0"]
    );
    assert_eq!(layers[4][1].data, tgz, "copied as it is");
}

/// convert.go `dispatchCopy`: `--checksum` is checked before anything runs ("checksum can't
/// be specified for multiple sources", "checksum requires HTTP(S) or Git sources"), and COPY
/// refuses remote sources ("source can't be a URL for COPY", "source can't be a git ref for
/// COPY", the git forms being dfgitutil `ParseGitRef`'s); a malformed git query fails with
/// its `loadQuery` message. An empty `--checksum=` is no checksum.
#[test]
#[ignore = "needs root"]
fn remote_sources_and_checksum_are_checked_as_buildkit_checks_them() {
    common::require_root();
    let env = Env::with_base();
    let sum = format!("sha256:{}", "0".repeat(64));
    let cases = [
        (
            format!("ADD --checksum={sum} http://127.0.0.1:9/x f /x/"),
            "checksum can't be specified for multiple sources",
        ),
        (
            format!("ADD --checksum={sum} f /x"),
            "checksum requires HTTP(S) or Git sources",
        ),
        (
            "COPY http://127.0.0.1:9/plain.txt /x".to_owned(),
            "source can't be a URL for COPY",
        ),
        (
            "COPY https://127.0.0.1:9/r.git#main /x".to_owned(),
            "source can't be a git ref for COPY",
        ),
        (
            "COPY git@example.com:r.git /x".to_owned(),
            "source can't be a git ref for COPY",
        ),
        (
            "ADD https://127.0.0.1:9/r.git?foo=1 /x".to_owned(),
            "unexpected query \"foo\"",
        ),
    ];
    for (i, (step, message)) in cases.iter().enumerate() {
        let df = format!("FROM busybox:test\nRUN echo ran > /ran\n{step}\n");
        let ctx = env.context(&format!("case{i}"), &[("Dockerfile", &df), ("f", "f\n")]);
        fails_at(&env, &ctx, 3, message);
    }
    let df = "FROM busybox:test\nADD --checksum= f /x\n";
    let ctx = env.context("empty", &[("Dockerfile", df), ("f", "f\n")]);
    let layers = build(&env, &ctx, "empty:1");
    assert_eq!(shape(&layers[0]), [("x", 'f', 0o644)]);
}

/// `git` with a fixed identity and dates, in `dir`; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A repository `repo.git` under `base`: commit one (`a`, `bin/run` 0755, `link -> a`,
/// `sub/x`, `sub/deep/d`), the annotated tag `v1` on it, then commit two adding `b` on
/// `main`. Returns (commit one, commit two).
fn make_repo(base: &Path) -> (String, String) {
    let work = base.join("work");
    std::fs::create_dir_all(work.join("bin")).unwrap();
    std::fs::create_dir_all(work.join("sub/deep")).unwrap();
    std::fs::write(work.join("a"), "a\n").unwrap();
    std::fs::write(work.join("bin/run"), "#!/bin/sh\necho run\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    let exec = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(work.join("bin/run"), exec).unwrap();
    std::os::unix::fs::symlink("a", work.join("link")).unwrap();
    std::fs::write(work.join("sub/x"), "x\n").unwrap();
    std::fs::write(work.join("sub/deep/d"), "d\n").unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "one"]);
    git(&work, &["tag", "-a", "v1", "-m", "v1"]);
    let one = git(&work, &["rev-parse", "HEAD"]);
    std::fs::write(work.join("b"), "b\n").unwrap();
    git(&work, &["add", "b"]);
    git(&work, &["commit", "-qm", "two"]);
    let two = git(&work, &["rev-parse", "HEAD"]);
    let bare = base.join("repo.git");
    git(
        base,
        &["clone", "-q", "--bare", "work", bare.to_str().unwrap()],
    );
    (one, two)
}

/// `git daemon` serving `base` on a free 127.0.0.1 port; killed when dropped.
struct GitDaemon {
    url: String,
    child: std::process::Child,
}

impl GitDaemon {
    fn start(base: &Path) -> GitDaemon {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // `git daemon` runs `git-daemon` as its child; started directly, killing it stops it.
        let exec_path = git(base, &["--exec-path"]);
        let child = std::process::Command::new(Path::new(&exec_path).join("git-daemon"))
            .arg("--export-all")
            .arg("--reuseaddr")
            .arg(format!("--base-path={}", base.display()))
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .spawn()
            .unwrap();
        let daemon = GitDaemon {
            url: format!("git://127.0.0.1:{port}"),
            child,
        };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return daemon;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("git daemon did not listen on {port}");
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A git source is cloned as BuildKit v0.24's git source clones it (source/git/source.go
/// `CacheKey`, `Snapshot`; convert.go `dispatchCopy` copies its root into the destination):
/// the remote's default branch, `#ref`, `#ref:subdir` and the query form; files 0644/0755 and
/// directories 0755 owned 0:0 (`--chown`/`--chmod` as for other sources); no `.git` unless
/// `--keep-git-dir`; an existing destination keeps its mode. Layers as the oracle's.
#[test]
#[ignore = "needs root"]
fn add_git_checks_out_refs_and_subdirs_as_buildkit() {
    common::require_root();
    strata_testkit::require_tool("git");
    let repos = tempfile::tempdir().unwrap();
    let (one, _) = make_repo(repos.path());
    let daemon = GitDaemon::start(repos.path());
    let repo = format!("{}/repo.git", daemon.url);
    let env = Env::with_base();
    let df = format!(
        "FROM busybox:test\n\
         ADD {repo} /src\n\
         ADD {repo}#v1:sub /s2/\n\
         ADD --chown=33:33 --chmod=700 {repo}?branch=main /s3\n\
         RUN mkdir -p /s4 && echo keep > /s4/keep && chmod 700 /s4\n\
         ADD --checksum={} {repo}#{one} /s4\n\
         ADD --keep-git-dir=true {repo}#v1 /k\n",
        &one[..8]
    );
    let ctx = env.context("ctx", &[("Dockerfile", &df)]);
    let layers = build(&env, &ctx, "git:1");
    let tree = |dir: &str, mode: &str, owner: &str| {
        let (d, f, x) = match mode {
            "700" => ("700", "700", "700"),
            _ => ("755", "644", "755"),
        };
        vec![
            format!("{dir} d {mode} {owner}"),
            format!("{dir}/a f {f} {owner}"),
            format!("{dir}/b f {f} {owner}"),
            format!("{dir}/bin d {d} {owner}"),
            format!("{dir}/bin/run f {x} {owner}"),
            format!("{dir}/link l 777 {owner}"),
            format!("{dir}/sub d {d} {owner}"),
            format!("{dir}/sub/deep d {d} {owner}"),
            format!("{dir}/sub/deep/d f {f} {owner}"),
            format!("{dir}/sub/x f {f} {owner}"),
        ]
    };
    assert_eq!(listing(&layers[0]), tree("src", "755", "0:0"));
    assert_eq!(
        listing(&layers[1]),
        [
            "s2 d 755 0:0",
            "s2/deep d 755 0:0",
            "s2/deep/d f 644 0:0",
            "s2/x f 644 0:0"
        ]
    );
    assert_eq!(listing(&layers[2]), tree("s3", "700", "33:33"));
    let mut at_one = tree("s4", "755", "0:0");
    at_one.retain(|l| !l.starts_with("s4/b "));
    at_one[0] = "s4 d 700 0:0".to_owned();
    assert_eq!(listing(&layers[4]), at_one);
    let link = layers[0].iter().find(|r| r.path == "src/link").unwrap();
    assert_eq!(link.kind, 'l');
    let kept = listing(&layers[5]);
    assert!(
        kept.contains(&"k/.git/HEAD f 644 0:0".to_owned()),
        "{kept:#?}"
    );
    assert!(kept.contains(&"k/a f 644 0:0".to_owned()), "{kept:#?}");
    let head = layers[5].iter().find(|r| r.path == "k/.git/HEAD").unwrap();
    assert_eq!(
        head.data,
        format!("{one}\n").as_bytes(),
        "detached at v1's commit"
    );
    let config = layers[5]
        .iter()
        .find(|r| r.path == "k/.git/config")
        .unwrap();
    let config = String::from_utf8_lossy(&config.data).into_owned();
    assert!(config.contains(&format!("url = {repo}")), "{config}");

    let (_, log) = env.build(&[ctx.to_str().unwrap()]);
    assert_eq!(
        log.matches("CACHED").count(),
        6,
        "keyed on the commit: {log}"
    );
}

/// The checks of the git source and of convert.go `dispatchCopy`: a `--checksum` that is not
/// a prefix of the commit (`expected checksum to match …`), not hex (`invalid checksum … for
/// Git URL`) or unlike the source's own `?checksum=` (`checksum mismatch`); `--keep-git-dir`
/// unlike `?keep-git-dir=` (`inconsistent keep-git-dir configuration`); an unknown ref; and a
/// `--keep-git-dir` without a git source, which BuildKit ignores and strata refuses; an ssh
/// remote, which strata cannot authenticate yet.
#[test]
#[ignore = "needs root"]
fn add_git_checksum_and_keep_git_dir_are_checked() {
    common::require_root();
    strata_testkit::require_tool("git");
    let repos = tempfile::tempdir().unwrap();
    let (one, _) = make_repo(repos.path());
    let daemon = GitDaemon::start(repos.path());
    let repo = format!("{}/repo.git", daemon.url);
    let env = Env::with_base();
    let cases = [
        (
            format!("ADD --checksum=0000 {repo}#main /x"),
            "expected checksum to match 0000, got".to_owned(),
        ),
        (
            format!("ADD --checksum=zz {repo}#main /x"),
            "invalid checksum zz for Git URL, expected hex commit hash".to_owned(),
        ),
        (
            format!("ADD --checksum={one} {repo}?commit=abc /x"),
            format!("checksum mismatch \"{one}\" != \"abc\""),
        ),
        (
            format!("ADD --keep-git-dir=false {repo}?keep-git-dir=true /x"),
            "inconsistent keep-git-dir configuration".to_owned(),
        ),
        (
            format!("ADD {repo}#nope /x"),
            "repository does not contain ref nope".to_owned(),
        ),
        (
            "ADD --keep-git-dir=true f /x".to_owned(),
            "--keep-git-dir requires a git source".to_owned(),
        ),
        (
            "ADD git@127.0.0.1:repo.git /x".to_owned(),
            "git over ssh is not supported yet".to_owned(),
        ),
    ];
    for (i, (step, message)) in cases.iter().enumerate() {
        let df = format!("FROM busybox:test\n{step}\n");
        let ctx = env.context(&format!("case{i}"), &[("Dockerfile", &df), ("f", "f\n")]);
        fails_at(&env, &ctx, 2, message);
    }
}
