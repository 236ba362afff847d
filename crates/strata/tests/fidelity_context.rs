//! The build context as BuildKit v0.24 sends it (`vendor/github.com/moby/patternmatcher`,
//! `frontend/dockerui` context filtering): what `.dockerignore` keeps out of COPY.

mod common;

use common::{tree, Env};

/// patternmatcher: `./x` is cleaned to `x`, the last matching pattern wins, so `!sub/keep`
/// re-includes under an excluded `sub`; the Dockerfile and `.dockerignore` listed in it are
/// left out of the context (BuildKit reads the Dockerfile separately), and the build still
/// works.
#[test]
fn dockerignore_edge_cases_match_buildkit() {
    let env = Env::empty();
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", "FROM scratch\nCOPY . /\n"),
            (
                ".dockerignore",
                "Dockerfile\n.dockerignore\n./sub/drop\nsub\n!sub/keep\n# a comment\n",
            ),
            ("sub/keep/k", "k"),
            ("sub/drop/d", "d"),
            ("sub/other", "o"),
            ("top", "t"),
        ],
    );
    let (out, _) = env.build_rootfs(&ctx, "out");
    assert_eq!(tree(&out), ["sub", "sub/keep", "sub/keep/k", "top"]);
}

/// `COPY . /all/`: the destination takes the context directory's own mtime (BuildKit gives it
/// the time its context snapshot was made, which changes from one transfer to the next).
#[test]
fn copy_of_the_context_root_keeps_its_mtime() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::empty();
    let ctx = env.context(
        "ctxroot",
        &[("Dockerfile", "FROM scratch\nCOPY . /all/\n"), ("f", "x")],
    );
    let old = filetime::FileTime::from_unix_time(1_600_000_000, 0);
    filetime::set_file_mtime(&ctx, old).unwrap();
    let (out, _) = env.build_rootfs(&ctx, "out");
    assert_eq!(
        std::fs::metadata(out.join("all")).unwrap().mtime(),
        1_600_000_000
    );
}
