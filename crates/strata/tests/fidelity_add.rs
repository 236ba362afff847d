//! ADD's sources (URLs, archives, git repositories) and `--checksum`/`--unpack`/
//! `--keep-git-dir`, and the COPY/ADD source and destination rules BuildKit enforces: empty
//! wildcards, paths of the other kind at the destination, URL and git sources for COPY. Every
//! expected value or message is what BuildKit v0.24.0 (the oracle daemon of `/work/oracle`)
//! gave for the same Dockerfile and context; each test names the BuildKit source that decides
//! it. Servers the tests need (HTTP, git) bind 127.0.0.1 on a free port and stop with the test.

mod common;

use std::io::Read;
use std::path::Path;

use common::{stderr, Env};

/// One tar entry of a built layer: path, kind (`f`, `d`, `l`, `h`), mode, owner, content.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    path: String,
    kind: char,
    mode: u32,
    owner: (u64, u64),
    data: Vec<u8>,
}

/// The entries of every layer of `image` above the base, one Vec per layer.
fn layers(env: &Env, image: &str) -> Vec<Vec<Row>> {
    let manifest = env.inspect(image)["Manifest"].clone();
    let layers = manifest["layers"].as_array().unwrap().clone();
    layers[1..]
        .iter()
        .map(|l| {
            let digest = l["digest"].as_str().unwrap();
            let hex = digest.strip_prefix("sha256:").unwrap();
            let blob = std::fs::read(env.root().join("blobs/sha256").join(hex)).unwrap();
            read_layer(&strata_testkit::gunzip(&blob))
        })
        .collect()
}

fn read_layer(tar_bytes: &[u8]) -> Vec<Row> {
    let mut ar = tar::Archive::new(tar_bytes);
    let mut rows = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let kind = match h.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            _ => 'f',
        };
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        rows.push(Row {
            path: path.trim_end_matches('/').to_owned(),
            kind,
            mode: h.mode().unwrap() & 0o7777,
            owner: (h.uid().unwrap(), h.gid().unwrap()),
            data,
        });
    }
    rows
}

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
