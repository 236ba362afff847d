//! Short names (`app:1`) through registries.conf as podman and buildah resolve them:
//! `unqualified-search-registries` tried in order, `[aliases]`, `short-name-mode`, for
//! `strata pull`, builds' `FROM`/`COPY --from` and `strata push` without a DEST. The real
//! binary against two real `docker-registry` instances; each run has its own
//! registries.conf (`CONTAINERS_REGISTRIES_CONF`).

mod common;

use std::fs;
use std::path::Path;

use common::registry_env::Env;
use strata_testkit::registry::TestRegistry;

/// Two search registries, the image `app:1` only in the second.
struct Setup {
    first: TestRegistry,
    second: TestRegistry,
    env: Env,
    /// The manifest digest of `SECOND/app:1`.
    digest: String,
}

impl Setup {
    fn new() -> Setup {
        let (first, second) = (TestRegistry::start(), TestRegistry::start());
        let publisher = Env::with_base();
        let name = format!("{}/app:1", second.host());
        let (digest, _) = publisher.ok(&["push", "-q", "busybox:test", &name]);
        let env = Env::new();
        let setup = Setup {
            first,
            second,
            env,
            digest: digest.trim().to_owned(),
        };
        setup.conf("");
        setup
    }

    /// registries.conf: both registries searched, then `extra`.
    fn conf(&self, extra: &str) {
        let text = format!(
            "unqualified-search-registries = [\"{}\", \"{}\"]\n{extra}",
            self.first.host(),
            self.second.host()
        );
        fs::write(self.env.path("registries.conf"), text).unwrap();
    }

    fn in_first(&self, name: &str) -> String {
        format!("{}/{name}", self.first.host())
    }

    fn in_second(&self, name: &str) -> String {
        format!("{}/{name}", self.second.host())
    }

    /// How many manifest requests `registry` answered for repository `repo`.
    fn manifest_requests(registry: &TestRegistry, repo: &str) -> usize {
        let prefix = format!("/v2/{repo}/manifests/");
        let requests = registry.requests();
        requests
            .iter()
            .filter(|r| r.path.starts_with(&prefix))
            .count()
    }
}

/// A build context with `Dockerfile`.
fn context(dir: &Path, dockerfile: &str) -> String {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir.to_str().unwrap().to_owned()
}

/// The (repository, tag, digest) rows of `strata images`.
fn rows(env: &Env) -> Vec<(String, String, String)> {
    let rows: serde_json::Value = serde_json::from_str(&env.images()).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (text(&r["Repository"]), text(&r["Tag"]), text(&r["Digest"])))
        .collect()
}

#[test]
fn pull_tries_the_search_registries_in_order_and_tags_the_qualified_name() {
    let s = Setup::new();
    let conf = s.env.path("registries.conf");
    let (out, log) = s.env.ok(&["pull", "--progress=plain", "app:1"]);
    let found = s.in_second("app:1");
    assert_eq!(out, format!("{found}\n"), "the qualified name on stdout");
    let expected = [
        format!(
            "Resolving \"app\" using unqualified-search registries ({})",
            conf.display()
        ),
        format!("Trying to pull {}...", s.in_first("app:1")),
        format!("Trying to pull {found}..."),
        format!("Digest: {}", s.digest),
        format!("Status: Downloaded newer image for {found}"),
    ];
    for line in expected {
        assert!(log.contains(&line), "{line:?} in:\n{log}");
    }
    assert!(Setup::manifest_requests(&s.first, "app") > 0, "first asked");
    assert_eq!(
        rows(&s.env),
        [(s.in_second("app"), "1".to_owned(), s.digest.clone())],
        "stored under the registry that had it, nowhere else"
    );

    // A qualified name is never searched.
    let before = s.second.requests().len();
    let missing = s.in_first("app:1");
    let err = s.env.fails(&["pull", "-q", &missing], 1);
    let expected = format!("app:1 not found on registry {}", s.first.host());
    assert!(err.contains(&expected), "{err}");
    assert!(
        !err.contains("no candidate"),
        "one candidate, its own error: {err}"
    );
    assert_eq!(s.second.requests().len(), before);
}

#[test]
fn push_without_a_destination_goes_where_the_image_was_found() {
    let s = Setup::new();
    s.env.ok(&["pull", "-q", "app:1"]);
    let first_before = s.first.requests().len();
    let (digest, log) = s.env.ok(&["push", "--progress=plain", "app:1"]);
    assert_eq!(digest.trim(), s.digest);
    assert!(
        log.contains(&format!(
            "The push refers to repository [{}]",
            s.in_second("app")
        )),
        "{log}"
    );
    assert_eq!(
        s.first.requests().len(),
        first_before,
        "nothing sent to first"
    );
    // An explicit short DEST is docker's name, as podman's `docker://` destination: not
    // searched (Docker Hub is not reachable from the tests, so only the name is checked).
    let err = s.env.fails(&["push", "-q", "no-such:1"], 1);
    assert!(err.contains("no such image: no-such:1"), "{err}");
}

#[test]
fn a_build_pulls_a_short_base_once_and_later_builds_find_it_stored() {
    let s = Setup::new();
    let found = s.in_second("app:1");
    let ctx = context(&s.env.path("a"), "FROM app:1\nLABEL built=a\n");
    let (_, log) = s.env.ok(&["build", "--progress=plain", "-t", "a:1", &ctx]);
    assert!(
        log.contains(&format!("pulling {}", s.in_first("app:1"))),
        "{log}"
    );
    assert!(
        log.contains(&format!("pulled {found}@{}", s.digest)),
        "{log}"
    );
    let pulls = Setup::manifest_requests(&s.second, "app");

    let ctx = context(
        &s.env.path("b"),
        "FROM app:1\nCOPY --from=app:1 /bin/busybox /copied\n",
    );
    let (_, log) = s.env.ok(&["build", "--progress=plain", "-t", "b:1", &ctx]);
    assert!(!log.contains("pulling"), "stored: not pulled again\n{log}");
    assert_eq!(Setup::manifest_requests(&s.second, "app"), pulls);
    let (_, log) = s
        .env
        .ok(&["build", "--pull=never", "--progress=plain", &ctx]);
    assert!(!log.contains("pulling"), "{log}");

    // --pull=always refreshes through the candidates again.
    let (_, log) = s
        .env
        .ok(&["build", "--pull=always", "--progress=plain", &ctx]);
    assert!(log.contains(&format!("pulled {found}@")), "{log}");
}

#[test]
fn when_no_candidate_has_the_image_the_error_lists_each() {
    let s = Setup::new();
    let before = s.env.images();
    let err = s.env.fails(&["pull", "-q", "nothing:1"], 1);
    assert!(err.contains("no candidate could be pulled"), "{err}");
    for candidate in [s.in_first("nothing:1"), s.in_second("nothing:1")] {
        assert!(
            err.contains(&format!(" * {candidate}: ")),
            "{candidate} in {err}"
        );
    }
    assert_eq!(err.matches("not found").count(), 2, "{err}");

    let ctx = context(&s.env.path("ctx"), "FROM nothing:1\n");
    let err = s.env.fails(&["build", "-q", &ctx], 1);
    assert!(err.contains("FROM nothing:1"), "{err}");
    assert!(err.contains("no candidate could be pulled"), "{err}");
    assert!(
        err.contains(&format!(" * {}: ", s.in_second("nothing:1"))),
        "{err}"
    );
    assert_eq!(s.env.images(), before, "nothing stored");
}

#[test]
fn enforcing_refuses_an_ambiguous_name_and_an_alias_resolves_it() {
    let s = Setup::new();
    let second_before = s.second.requests().len();
    s.conf("short-name-mode = \"enforcing\"\n");
    let err = s.env.fails(&["pull", "-q", "app:1"], 1);
    assert!(
        err.contains("short-name resolution enforced but strata does not prompt"),
        "{err}"
    );
    assert!(err.contains(&s.in_first("app:1")), "{err}");
    let ctx = context(&s.env.path("ctx"), "FROM app:1\n");
    let err = s.env.fails(&["build", "-q", &ctx], 1);
    assert!(err.contains("short-name resolution enforced"), "{err}");
    assert!(s.first.requests().is_empty(), "nothing asked");
    assert_eq!(s.second.requests().len(), second_before, "nothing asked");

    s.conf(&format!(
        "short-name-mode = \"enforcing\"\n[aliases]\n\"app\" = \"{}\"\n",
        s.in_second("app")
    ));
    let (out, log) = s.env.ok(&["pull", "--progress=plain", "app:1"]);
    assert_eq!(out, format!("{}\n", s.in_second("app:1")));
    assert!(log.contains("Resolved \"app\" as an alias ("), "{log}");
    assert!(
        log.contains(&format!("1: Pulling from {}", s.in_second("app"))),
        "{log}"
    );
    assert!(
        s.first.requests().is_empty(),
        "the alias is the only candidate"
    );
}
