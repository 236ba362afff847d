use std::fs;

use super::super::{RegistriesError, RegistriesPaths};
use super::*;

/// A registries.conf, its drop-ins and the aliases file, in a temporary directory.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(main: &str) -> Files {
        let files = Files {
            dir: tempfile::tempdir().unwrap(),
        };
        files.put("registries.conf", main);
        files
    }

    fn put(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn load(&self) -> Result<RegistriesConf, RegistriesError> {
        RegistriesConf::load(&RegistriesPaths {
            file: self.path("registries.conf"),
            file_required: true,
            drop_in_dirs: vec![self.path("registries.conf.d")],
            aliases_file: Some(self.path("cache/short-name-aliases.conf")),
        })
    }

    fn conf(&self) -> RegistriesConf {
        self.load().unwrap()
    }
}

fn name(s: &str) -> ImageName {
    s.parse().unwrap()
}

fn pull(conf: &RegistriesConf, s: &str) -> Vec<String> {
    let resolved = conf.resolve_pull(&name(s)).unwrap();
    resolved.candidates.iter().map(|r| r.to_string()).collect()
}

fn local(conf: &RegistriesConf, s: &str) -> Vec<String> {
    let found = conf.resolve_local(&name(s)).unwrap();
    found.iter().map(|r| r.to_string()).collect()
}

const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[test]
fn a_name_is_short_when_its_first_component_names_no_registry() {
    let short = [
        "app",
        "app:1",
        "library/app",
        "ns/sub/app:2",
        &format!("app@{DIGEST}"),
    ];
    for s in short {
        assert!(name(s).is_short(), "{s}");
    }
    let qualified = [
        "quay.io/app",
        "localhost/app:1",
        "localhost:5000/app",
        "host:5000/app",
        "127.0.0.1:5000/ns/app:1",
        "docker.io/app",
        "docker.io/library/app:1",
        "index.docker.io/app",
    ];
    for s in qualified {
        assert!(!name(s).is_short(), "{s}");
    }
    assert_eq!(name("ns/app:1").repository(), "ns/app");
    assert_eq!(name(&format!("app:1@{DIGEST}")).repository(), "app");
    assert!(
        "App:1".parse::<ImageName>().is_err(),
        "docker's grammar first"
    );
}

#[test]
fn search_registries_are_tried_in_order_with_library_only_on_docker_hub() {
    let files = Files::new(
        "unqualified-search-registries = [\"quay.io\", \"docker.io\", \"127.0.0.1:5000\"]",
    );
    let conf = files.conf();
    assert_eq!(
        pull(&conf, "app:1"),
        [
            "quay.io/app:1",
            "docker.io/library/app:1",
            "127.0.0.1:5000/app:1"
        ]
    );
    assert_eq!(
        pull(&conf, "ns/app"),
        [
            "quay.io/ns/app:latest",
            "docker.io/ns/app:latest",
            "127.0.0.1:5000/ns/app:latest"
        ]
    );
    assert_eq!(
        pull(&conf, &format!("app@{DIGEST}"))[0],
        format!("quay.io/app@{DIGEST}")
    );
    let resolved = conf.resolve_pull(&name("app:1")).unwrap();
    assert_eq!(
        resolved.how,
        Resolution::SearchRegistries {
            origin: files.path("registries.conf")
        }
    );
    assert_eq!(
        resolved.description().unwrap(),
        format!(
            "Resolving \"app\" using unqualified-search registries ({})",
            files.path("registries.conf").display()
        )
    );
}

#[test]
fn a_qualified_name_is_never_searched() {
    let conf = Files::new("unqualified-search-registries = [\"quay.io\"]").conf();
    for (input, expected) in [
        ("ghcr.io/x/app:1", "ghcr.io/x/app:1"),
        ("localhost/app", "localhost/app:latest"),
        ("docker.io/app:1", "docker.io/library/app:1"),
    ] {
        let resolved = conf.resolve_pull(&name(input)).unwrap();
        assert_eq!(resolved.how, Resolution::Qualified);
        assert_eq!(pull(&conf, input), [expected]);
        assert_eq!(local(&conf, input), [expected]);
        assert_eq!(resolved.description(), None);
    }
}

#[test]
fn without_search_registries_a_short_name_is_on_docker_hub() {
    let conf = Files::new("").conf();
    let resolved = conf.resolve_pull(&name("app:1")).unwrap();
    assert_eq!(resolved.how, Resolution::DockerHub);
    assert_eq!(pull(&conf, "app:1"), ["docker.io/library/app:1"]);
    assert_eq!(pull(&conf, "ns/app"), ["docker.io/ns/app:latest"]);
    assert_eq!(
        RegistriesConf::default().short_name_mode,
        ShortNameMode::Permissive
    );
}

#[test]
fn enforcing_refuses_several_candidates_and_accepts_one() {
    let files = Files::new(
        "short-name-mode = \"enforcing\"\nunqualified-search-registries = [\"a.test\", \"b.test\"]\n",
    );
    let conf = files.conf();
    assert_eq!(conf.short_name_mode, ShortNameMode::Enforcing);
    let err = conf.resolve_pull(&name("app:1")).unwrap_err();
    match &err {
        ShortNameError::Ambiguous {
            name,
            candidates,
            origin,
        } => {
            assert_eq!(name, "app:1");
            assert_eq!(candidates.len(), 2);
            assert_eq!(origin, &files.path("registries.conf"));
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("short-name resolution enforced"),
        "{message}"
    );
    assert!(message.contains("a.test/app:1, b.test/app:1"), "{message}");
    // Qualified names, and the store's names, are not affected.
    assert_eq!(pull(&conf, "a.test/app:1"), ["a.test/app:1"]);
    assert_eq!(local(&conf, "app:1").len(), 4);

    files.put(
        "registries.conf.d/one.conf",
        "unqualified-search-registries = [\"b.test\"]",
    );
    assert_eq!(pull(&files.conf(), "app:1"), ["b.test/app:1"]);
}

#[test]
fn permissive_and_disabled_try_every_candidate_and_drop_ins_set_the_mode() {
    let files = Files::new(
        "short-name-mode = \"enforcing\"\nunqualified-search-registries = [\"a.test\", \"b.test\"]\n",
    );
    for mode in ["permissive", "disabled"] {
        let drop_in = files.put(
            "registries.conf.d/mode.conf",
            &format!("short-name-mode = \"{mode}\""),
        );
        let conf = files.conf();
        assert_eq!(conf.short_name_mode_origin.as_ref(), Some(&drop_in));
        assert_eq!(pull(&conf, "app:1"), ["a.test/app:1", "b.test/app:1"]);
    }
    files.put(
        "registries.conf.d/mode.conf",
        "short-name-mode = \"sometimes\"",
    );
    let message = files.load().unwrap_err().to_string();
    assert!(
        message.contains("mode.conf") && message.contains("invalid short-name-mode \"sometimes\""),
        "{message}"
    );
}

#[test]
fn an_alias_wins_carries_the_tag_and_is_the_only_candidate() {
    let files = Files::new(
        r#"
short-name-mode = "enforcing"
unqualified-search-registries = ["a.test", "b.test"]
[aliases]
"app" = "quay.io/team/app"
"ns/tool" = "docker.io/tool"
"#,
    );
    let conf = files.conf();
    assert_eq!(pull(&conf, "app:1"), ["quay.io/team/app:1"]);
    assert_eq!(pull(&conf, "app"), ["quay.io/team/app:latest"]);
    assert_eq!(
        pull(&conf, &format!("app:1@{DIGEST}")),
        [format!("quay.io/team/app:1@{DIGEST}")]
    );
    assert_eq!(pull(&conf, "ns/tool:2"), ["docker.io/library/tool:2"]);
    let resolved = conf.resolve_pull(&name("app:1")).unwrap();
    assert_eq!(
        resolved.description().unwrap(),
        format!(
            "Resolved \"app\" as an alias ({})",
            files.path("registries.conf").display()
        )
    );
    // `library/app` is another short name: no alias.
    assert!(conf.resolve_pull(&name("library/app")).is_err());
}

#[test]
fn drop_ins_replace_and_reset_aliases_and_the_aliases_file_wins() {
    let files = Files::new(
        r#"
unqualified-search-registries = ["a.test"]
[aliases]
"app" = "quay.io/team/app"
"tool" = "quay.io/team/tool"
"db" = "quay.io/team/db"
"#,
    );
    let drop_in = files.put(
        "registries.conf.d/50-aliases.conf",
        "[aliases]\n\"app\" = \"ghcr.io/org/app\"\n\"tool\" = \"\"\n",
    );
    let cache = files.put(
        "cache/short-name-aliases.conf",
        "[aliases]\n\"db\" = \"registry.test:5000/db\"\n",
    );
    let conf = files.conf();
    assert_eq!(pull(&conf, "app:1"), ["ghcr.io/org/app:1"]);
    assert_eq!(conf.aliases["app"].origin, drop_in);
    assert_eq!(pull(&conf, "tool:1"), ["a.test/tool:1"], "reset: searched");
    assert_eq!(pull(&conf, "db:1"), ["registry.test:5000/db:1"]);
    assert_eq!(conf.aliases["db"].origin, cache);
}

#[test]
fn malformed_aliases_are_errors_naming_the_file() {
    let cases = [
        ("\"app:1\" = \"quay.io/app\"", "must not contain a tag"),
        (
            "\"quay.io/app\" = \"quay.io/app\"",
            "must not contain a registry",
        ),
        (
            "\"app\" = \"team/app\"",
            "must contain registry and repository",
        ),
        ("\"app\" = \"quay.io/app:1\"", "must not contain a tag"),
        (
            &format!("\"app\" = \"quay.io/app@{DIGEST}\""),
            "must not contain a digest",
        ),
        ("\"App\" = \"quay.io/app\"", "invalid short name"),
    ];
    for (entry, expected) in cases {
        let files = Files::new(&format!("[aliases]\n{entry}\n"));
        let message = files.load().unwrap_err().to_string();
        assert!(
            message.contains(files.path("registries.conf").to_str().unwrap()),
            "{message}"
        );
        assert!(message.contains(expected), "{entry}: {message}");
    }
    let files = Files::new("");
    let cache = files.put(
        "cache/short-name-aliases.conf",
        "[aliases]\n\"a\" = \"b\"\n",
    );
    let message = files.load().unwrap_err().to_string();
    assert!(message.contains(cache.to_str().unwrap()), "{message}");
}

#[test]
fn the_store_is_searched_alias_docker_localhost_then_search_registries() {
    let conf = Files::new(
        r#"
unqualified-search-registries = ["a.test", "docker.io", "b.test:5000"]
[aliases]
"tool" = "quay.io/team/tool"
"#,
    )
    .conf();
    assert_eq!(
        local(&conf, "app:1"),
        [
            "docker.io/library/app:1",
            "localhost/app:1",
            "a.test/app:1",
            "b.test:5000/app:1"
        ]
    );
    assert_eq!(
        local(&conf, "tool"),
        [
            "quay.io/team/tool:latest",
            "docker.io/library/tool:latest",
            "localhost/tool:latest",
            "a.test/tool:latest",
            "b.test:5000/tool:latest"
        ]
    );
    assert_eq!(
        local(&RegistriesConf::default(), "ns/app:1"),
        ["docker.io/ns/app:1", "localhost/ns/app:1"]
    );
}

#[test]
fn the_aliases_file_is_in_the_users_cache_directory() {
    let etc = Path::new("/etc/containers");
    let paths = |vars: &'static [(&'static str, &'static str)]| {
        RegistriesPaths::resolve(
            |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.into()),
            etc,
        )
        .aliases_file
    };
    let file = |p: &str| Some(PathBuf::from(p));
    assert_eq!(
        paths(&[("HOME", "/h")]),
        file("/h/.cache/containers/short-name-aliases.conf")
    );
    assert_eq!(
        paths(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/c")]),
        file("/c/containers/short-name-aliases.conf")
    );
    assert_eq!(paths(&[]), None);
}
