//! The build context as BuildKit v0.24 sends it (`vendor/github.com/moby/patternmatcher`,
//! `frontend/dockerui` context filtering): what `.dockerignore` keeps out of COPY.

mod common;

use common::Env;

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
    let out = env.path("out");
    env.build(&[
        "-o",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    let mut found: Vec<String> = walk(&out);
    found.sort();
    assert_eq!(found, ["sub", "sub/keep", "sub/keep/k", "top"]);
}

fn walk(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}
