//! COPY/ADD `--parents`, `--exclude` and `--link`, end to end, with the results BuildKit v0.24
//! gives (checked against a v0.24.0 buildkitd with its dockerfile frontend built with the labs
//! tags `dfparents dfexcludepatterns`, which `--parents` and `--exclude` need in v0.24).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{set_mode, stderr, tree, Env};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

/// Whether the step whose title contains `text` was reported CACHED in a plain-progress log.
fn cached(log: &str, text: &str) -> bool {
    let line = log
        .lines()
        .find(|l| l.contains(text) && l.starts_with('#'))
        .unwrap_or_else(|| panic!("no step {text:?} in\n{log}"));
    let id = line.split_whitespace().next().unwrap();
    log.lines().any(|l| l == format!("{id} CACHED"))
}

fn layers(env: &Env, image: &str) -> Vec<String> {
    env.inspect(image)["Manifest"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

/// frontend/dockerfile/dockerfile2llb/convert.go (`dispatchCopy`: a `--parents` source is a
/// copy of `/` or of the part before `/./`, with the rest as include pattern) and
/// vendor/github.com/tonistiigi/fsutil/copy/copy.go (`createParentDirs`: directories above a
/// match keep their source modes; the destination is made 0755).
#[test]
#[ignore = "needs root"]
fn copy_parents_keeps_source_directories() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test\n\
              COPY --parents a/b/c.txt x/*.txt /dst/\n\
              COPY --parents ./src/./app/main.go /piv\n\
              COPY --parents **/*.md /md/\n\
              COPY --parents nothere /none/\n";
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("a/b/c.txt", "c"),
            ("a/b/d.txt", "d"),
            ("x/1.txt", "1"),
            ("x/2.md", "2"),
            ("src/app/main.go", "m"),
            ("d/k.md", "k"),
        ],
    );
    set_mode(&ctx.join("a"), 0o750);
    set_mode(&ctx.join("a/b"), 0o700);
    set_mode(&ctx, 0o711);
    let (out, _) = env.build_rootfs(&ctx, "out");
    assert_eq!(
        tree(&out.join("dst")),
        ["a", "a/b", "a/b/c.txt", "x", "x/1.txt"]
    );
    assert_eq!(
        (
            mode(&out.join("dst")),
            mode(&out.join("dst/a")),
            mode(&out.join("dst/a/b"))
        ),
        (0o755, 0o750, 0o700),
        "parents keep their source modes, the destination is 0755"
    );
    assert_eq!(
        tree(&out.join("piv")),
        ["app", "app/main.go"],
        "the /./ pivot"
    );
    assert_eq!(
        tree(&out.join("md")),
        ["d", "d/k.md", "x", "x/2.md"],
        "** crosses directories"
    );
    assert!(
        tree(&out.join("none")).is_empty(),
        "a pattern that matches nothing copies nothing, without an error"
    );
}

/// frontend/dockerfile/docs/reference.md (`COPY --parents`: the pivot is "especially useful
/// for copies between stages with `--from` where the source paths need to be absolute").
#[test]
#[ignore = "needs root"]
fn copy_parents_with_from_keeps_directories_below_the_pivot() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test AS build\n\
              COPY out/ /out/\n\
              FROM busybox:test\n\
              COPY --from=build --parents /out/bin/app /whole/\n\
              COPY --from=build --parents /out/./bin/app /pivot/\n\
              COPY --from=busybox:test --parents /etc/./passwd /fromimage/\n";
    let ctx = env.context(
        "ctx",
        &[("Dockerfile", df), ("out/bin/app", "app"), ("out/lib", "l")],
    );
    let (out, _) = env.build_rootfs(&ctx, "out");
    assert_eq!(tree(&out.join("whole")), ["out", "out/bin", "out/bin/app"]);
    assert_eq!(tree(&out.join("pivot")), ["bin", "bin/app"]);
    assert_eq!(tree(&out.join("fromimage")), ["passwd"]);
}

/// The case of BuildKit's `testExcludedFilesOnCopy` (frontend/dockerfile/exclude_patterns_test.go)
/// and fsutil/copy/copy.go (`copier.copy`: patterns match paths relative to the copied
/// source, never the source itself, so a file named directly is copied).
#[test]
#[ignore = "needs root"]
fn copy_exclude_skips_matching_paths() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test AS data\n\
              COPY dir2 /data/\n\
              FROM busybox:test\n\
              COPY --exclude=*/*.png --exclude=*/*.jpeg . /1\n\
              ADD --exclude=*.mp3 dir3/ /3/\n\
              COPY --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/\n\
              COPY --exclude=*.md dir4/k.md /named/\n\
              COPY --from=data --exclude=*.pdf /data /5\n\
              COPY --exclude=dir4 --exclude=!dir4/keep . /6\n";
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("dir1/file-101.png", "2"),
            ("dir1/file-102.txt", "3"),
            ("dir1/file-103.jpeg", "4"),
            ("dir2/file-201.pdf", "6"),
            ("dir2/file-202.jpeg", "7"),
            ("dir2/file-203.png", "8"),
            ("dir3/file-301.mp3", "9"),
            ("dir3/file-302.mpeg", "10"),
            ("dir4/k.md", "k"),
            ("dir4/keep", "kept"),
        ],
    );
    let (out, _) = env.build_rootfs(&ctx, "out");
    let one = tree(&out.join("1"));
    for gone in [
        "dir1/file-101.png",
        "dir1/file-103.jpeg",
        "dir2/file-202.jpeg",
    ] {
        assert!(!one.iter().any(|p| p == gone), "{gone} excluded: {one:?}");
    }
    for kept in [
        "dir1/file-102.txt",
        "dir2/file-201.pdf",
        "dir3/file-301.mp3",
    ] {
        assert!(one.iter().any(|p| p == kept), "{kept} kept: {one:?}");
    }
    assert_eq!(tree(&out.join("3")), ["file-302.mpeg"]);
    assert_eq!(tree(&out.join("4")), ["file-302.mpeg", "k.md", "keep"]);
    assert_eq!(tree(&out.join("named")), ["k.md"], "a named file is copied");
    assert_eq!(tree(&out.join("5")), ["file-202.jpeg", "file-203.png"]);
    let six = tree(&out.join("6"));
    assert!(
        six.iter().any(|p| p == "dir4/keep") && !six.iter().any(|p| p == "dir4/k.md"),
        "! re-includes below an excluded directory: {six:?}"
    );
}

/// solver/llbsolver/file/backend.go passes ExcludePatterns to the copy, and the cache key of
/// the copy is the content of what it copies: an excluded file is not part of it.
#[test]
#[ignore = "needs root"]
fn copy_exclude_change_to_an_excluded_file_is_a_cache_hit() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test\nCOPY --exclude=*.log app /app\nRUN cat /app/main > /out\n";
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("app/main", "v1"),
            ("app/debug.log", "a"),
        ],
    );
    env.build(&[ctx.to_str().unwrap()]);
    std::fs::write(ctx.join("app/debug.log"), "changed").unwrap();
    let (_, log) = env.build(&[ctx.to_str().unwrap()]);
    assert!(
        cached(&log, "COPY --exclude") && cached(&log, "RUN cat"),
        "{log}"
    );
    std::fs::write(ctx.join("app/main"), "v2").unwrap();
    let (_, log) = env.build(&[ctx.to_str().unwrap()]);
    assert!(!cached(&log, "COPY --exclude"), "{log}");
}

/// An invalid pattern is a `Dockerfile:LINE` error (BuildKit: "invalid excludepatterns",
/// fsutil/copy/copy.go `newCopier`).
#[test]
#[ignore = "needs root"]
fn copy_exclude_rejects_a_bad_pattern_with_its_line() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test\nCOPY --exclude=a[ f /f\n";
    let ctx = env.context("ctx", &[("Dockerfile", df), ("f", "f")]);
    let out = env.strata(&["build", ctx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("Dockerfile:2") && err.contains("--exclude"),
        "{err}"
    );
}

/// A base image that differs from busybox:test by one more layer, tagged `base2:1`.
fn second_base(env: &Env) {
    let ctx = env.context(
        "base2",
        &[
            ("Dockerfile", "FROM busybox:test\nCOPY extra /extra\n"),
            ("extra", "x"),
        ],
    );
    env.build(&["-t", "base2:1", ctx.to_str().unwrap()]);
}

fn app_context(env: &Env, instruction: &str) -> std::path::PathBuf {
    let copy = format!("{instruction} f /app/f");
    let df = format!("ARG BASE=busybox:test\nFROM $BASE\n{copy}\nRUN cat /app/f > /app/out\n");
    env.context("app", &[("Dockerfile", &df), ("f", "app")])
}

/// frontend/dockerfile/dockerfile2llb/convert.go (`dispatchCopy`: with `--link` the copy is
/// made on `llb.Scratch()` and joined with `llb.Merge`, so it does not depend on the base) and
/// frontend/dockerfile/docs/reference.md (`COPY --link`: "rebase your images when the base
/// images receive updates, without having to execute the whole build again").
#[test]
#[ignore = "needs root"]
fn copy_link_is_reused_when_only_the_base_changes() {
    common::require_root();
    let env = Env::with_base();
    second_base(&env);
    let ctx = app_context(&env, "COPY --link");
    let c = ctx.to_str().unwrap();
    env.build(&["-t", "app:1", c]);
    let (_, log) = env.build(&["-t", "app:2", "--build-arg", "BASE=base2:1", c]);
    assert!(
        cached(&log, "COPY --link"),
        "the linked copy is reused:\n{log}"
    );
    assert!(
        !cached(&log, "RUN cat"),
        "the RUN after it runs again:\n{log}"
    );
    let (one, two) = (layers(&env, "app:1"), layers(&env, "app:2"));
    assert_eq!((one.len(), two.len()), (3, 4));
    assert_eq!(one[1], two[2], "the same app layer on the new base");
    let out = env.path("out");
    let dest = format!("type=local,dest={}", out.display());
    env.build(&["-o", &dest, "--build-arg", "BASE=base2:1", c]);
    assert_eq!(
        ["extra", "app/f", "app/out"].map(|f| std::fs::read_to_string(out.join(f)).unwrap()),
        ["x", "app", "app"],
        "the rebased image has the new base, the linked layer and the RUN after it"
    );
}

/// ADD goes through the same `dispatchCopy` (convert.go: `link: c.Link` for AddCommand).
#[test]
#[ignore = "needs root"]
fn add_link_is_reused_when_only_the_base_changes() {
    common::require_root();
    let env = Env::with_base();
    second_base(&env);
    let ctx = app_context(&env, "ADD --link");
    let c = ctx.to_str().unwrap();
    env.build(&["-t", "app:1", c]);
    let (_, log) = env.build(&["-t", "app:2", "--build-arg", "BASE=base2:1", c]);
    assert!(cached(&log, "ADD --link"), "{log}");
    assert!(!cached(&log, "RUN cat"), "{log}");
    assert_eq!(layers(&env, "app:1")[1], layers(&env, "app:2")[2]);
}

/// BuildKit copies heredocs of a `--parents` COPY as plain files (convert.go handles
/// `SourceContents` apart from `SourcePaths`); strata refuses the mix, with the line.
#[test]
#[ignore = "needs root"]
fn copy_parents_with_a_heredoc_is_rejected() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test\nCOPY --parents <<EOF /dst/\nhi\nEOF\n";
    let ctx = env.context("ctx", &[("Dockerfile", df)]);
    let out = env.strata(&["build", ctx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("Dockerfile:2") && err.contains("--parents cannot be used with a heredoc"),
        "{err}"
    );
}

/// Without `--link` the copy is made on the stage (convert.go `d.state.File(a)`), so its key
/// holds the base: a new base runs it again.
#[test]
#[ignore = "needs root"]
fn copy_without_link_reruns_when_the_base_changes() {
    common::require_root();
    let env = Env::with_base();
    second_base(&env);
    let ctx = app_context(&env, "COPY");
    let c = ctx.to_str().unwrap();
    env.build(&["-t", "app:1", c]);
    let (_, log) = env.build(&["-t", "app:2", "--build-arg", "BASE=base2:1", c]);
    assert!(!cached(&log, "COPY f /app/f"), "{log}");
    // The same Dockerfile with --link --chmod is not linked either (convert.go merges only
    // when `cfg.chmod == ""`).
    let ctx = app_context(&env, "COPY --link --chmod=644");
    let c = ctx.to_str().unwrap();
    env.build(&["-t", "app:3", c]);
    let (_, log) = env.build(&["-t", "app:4", "--build-arg", "BASE=base2:1", c]);
    assert!(!cached(&log, "COPY --link --chmod"), "{log}");
}

/// A linked copy never reads the stage (convert.go: the copy is onto `llb.Scratch()`;
/// reference.md `COPY --link`, "Incompatibilities with --link=false"): an existing directory
/// at a destination without `/` is replaced by the file, a symlink in the destination path
/// is not followed, and the directories above are new, 0755 (a v0.24 layer has `tmp/` 0755).
#[test]
#[ignore = "needs root"]
fn copy_link_does_not_read_the_destination_stage() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test\n\
              COPY --link f /home/app\n\
              COPY --link f /var/run/f\n\
              COPY --link f /tmp/sub/f\n\
              COPY --link --chown=1000:50 f /owned\n";
    let ctx = env.context("ctx", &[("Dockerfile", df), ("f", "f")]);
    let (out, _) = env.build_rootfs(&ctx, "out");
    assert!(std::fs::symlink_metadata(out.join("home/app"))
        .unwrap()
        .is_file());
    assert!(std::fs::symlink_metadata(out.join("var/run"))
        .unwrap()
        .is_dir());
    assert!(out.join("var/run/f").is_file() && !out.join("run/f").exists());
    assert_eq!(mode(&out.join("tmp")), 0o755);
    let owned = std::fs::metadata(out.join("owned")).unwrap();
    assert_eq!((owned.uid(), owned.gid()), (1000, 50));
}

/// BuildKit v0.24 fails a linked copy whose `--chown` names a user or group: the name is
/// looked up in the copy's own (scratch) filesystem (solver/llbsolver/ops/user_linux.go
/// `readUser`; the error is "invalid user index: -1"). strata says why, with the line.
#[test]
#[ignore = "needs root"]
fn copy_link_rejects_chown_names() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test\nCOPY --link --chown=app f /f\n";
    let ctx = env.context("ctx", &[("Dockerfile", df), ("f", "f")]);
    let out = env.strata(&["build", ctx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("Dockerfile:2") && err.contains("--link needs numeric ids"),
        "{err}"
    );
}
