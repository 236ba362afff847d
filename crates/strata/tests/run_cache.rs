//! RUN reproducibility under SOURCE_DATE_EPOCH and "a change reruns only what reads it".

mod common;

use common::{stderr, Env};

#[test]
#[ignore = "needs root"]
fn run_layers_are_reproducible_with_source_date_epoch() {
    common::require_root();
    let df = "FROM busybox:test\nRUN mkdir -p /out/deep && echo made > /out/deep/f && touch /out/t && ln -s f /out/deep/l && rm -f /etc/group\n";
    let digest = || {
        let env = Env::empty();
        env.ok_at_epoch(&[
            "import",
            common::base_tarball().to_str().unwrap(),
            "busybox:test",
        ]);
        let ctx = env.context("ctx", &[("Dockerfile", df)]);
        env.ok_at_epoch(&["build", "-q", "-t", "r:1", ctx.to_str().unwrap()]);
        env.inspect("r:1")["Digest"].as_str().unwrap().to_owned()
    };
    let first = digest();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        first,
        digest(),
        "rebuilding from an empty store must give the same image"
    );
}

#[test]
#[ignore = "needs root"]
fn a_changed_file_reruns_only_the_steps_that_read_it_and_after() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test\nCOPY deps.txt /deps.txt\nRUN cat /deps.txt > /deps.out\nCOPY app/ /app/\nRUN ls /app > /app.list && cat /app/main.sh > /main.out\n";
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("deps.txt", "lib==1\n"),
            ("app/main.sh", "v1"),
            ("app/util.sh", "u"),
        ],
    );
    env.build(&[ctx.to_str().unwrap()]);
    let (_, log) = env.build(&[ctx.to_str().unwrap()]);
    assert_eq!(
        log.matches("CACHED").count(),
        4,
        "warm: nothing runs\n{log}"
    );
    std::fs::write(ctx.join("app/main.sh"), "v2").unwrap();
    let (_, log) = env.build(&[ctx.to_str().unwrap()]);
    let cached: Vec<&str> = log.lines().filter(|l| l.ends_with("CACHED")).collect();
    assert_eq!(cached.len(), 2, "COPY deps + its RUN stay cached:\n{log}");
    assert!(
        log.contains("RUN ls /app") && log.matches(" DONE ").count() >= 2,
        "{log}"
    );
    // The edited COPY's snapshot hard-links the unchanged file from the one before the edit
    // (the two are siblings over the same parent) and holds the new bytes of the edited one.
    let copies = copy_snapshots(&env.root());
    assert_eq!(copies.len(), 2, "{copies:?}");
    let ino =
        |p: &std::path::Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    assert_eq!(
        ino(&copies[0].join("app/util.sh")),
        ino(&copies[1].join("app/util.sh"))
    );
    let mains: std::collections::BTreeSet<String> = copies
        .iter()
        .map(|c| std::fs::read_to_string(c.join("app/main.sh")).unwrap())
        .collect();
    assert_eq!(mains, ["v1".to_string(), "v2".to_string()].into());
    // And the image built after the edit holds exactly the edited tree.
    let out = env.path("out");
    let dest = format!("type=local,dest={}", out.display());
    env.build(&["-o", &dest, ctx.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(out.join("main.out")).unwrap(), "v2");
    assert_eq!(
        std::fs::read_to_string(out.join("app/main.sh")).unwrap(),
        "v2"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("app/util.sh")).unwrap(),
        "u"
    );
}

/// The snapshots that hold a COPY of `app/` (and nothing of the base).
fn copy_snapshots(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(root.join("snapshots/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("app/util.sh").is_file() && !p.join("bin").exists())
        .collect();
    found.sort();
    found
}

#[test]
#[ignore = "needs root"]
fn a_relative_root_works_for_run() {
    common::require_root();
    let env = Env::with_base();
    let ctx = env.context(
        "ctx",
        &[("Dockerfile", "FROM busybox:test\nRUN echo ok > /ok\n")],
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(env.dir.path())
        .args(["--root", "root", "build", "-q", ctx.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
#[ignore = "needs root"]
fn later_steps_see_deletions_and_replaced_dirs_of_earlier_runs() {
    common::require_root();
    let env = Env::with_base();
    let df = "FROM busybox:test\n\
RUN mkdir -p /d/sub && echo a > /d/a && echo b > /d/sub/b && echo g > /gone\n\
RUN rm /gone && rm -rf /d && mkdir /d && echo n > /d/n\n\
RUN (find /d /gone 2>/dev/null | sort; cat /d/n) > /result\n";
    let ctx = env.context("ctx", &[("Dockerfile", df)]);
    let out = env.path("out");
    env.build(&[
        "--output",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("result")).unwrap(),
        "/d\n/d/n\nn\n"
    );
    assert!(!out.join("gone").exists() && !out.join("d/sub").exists());
}
