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
