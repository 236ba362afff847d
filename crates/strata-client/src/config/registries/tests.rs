use std::fs;

use super::*;

struct Etc {
    dir: tempfile::TempDir,
}

impl Etc {
    fn new() -> Etc {
        Etc {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn put(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn paths(&self) -> RegistriesPaths {
        let home = self.dir.path().join("home");
        RegistriesPaths::resolve(
            |n| (n == "HOME").then(|| home.clone().into()),
            &self.dir.path().join("etc"),
        )
    }

    fn load(&self) -> Result<RegistriesConf, RegistriesError> {
        RegistriesConf::load(&self.paths())
    }
}

fn reference(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

fn hosts(conf: &RegistriesConf, image: &str) -> Vec<(String, String, bool, bool)> {
    conf.endpoints(&reference(image))
        .unwrap()
        .into_iter()
        .map(|e| (e.host, e.reference.to_string(), e.insecure, e.is_mirror))
        .collect()
}

const MIRRORS: &str = r#"
unqualified-search-registries = ["registry.fedoraproject.org", "docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "mirror.internal:5000/dockerhub"
insecure = true

[[registry.mirror]]
location = "mirror2.internal/"

[[registry]]
prefix = "docker.io/library/debian"
location = "debian-mirror.internal/debian"
"#;

#[test]
fn mirrors_come_first_then_the_registry_with_the_reference_rewritten() {
    let etc = Etc::new();
    etc.put("etc/registries.conf", MIRRORS);
    let conf = etc.load().unwrap();
    assert_eq!(
        conf.unqualified_search_registries,
        ["registry.fedoraproject.org", "docker.io"]
    );
    let s = |h: &str, r: &str, insecure, mirror| (h.to_owned(), r.to_owned(), insecure, mirror);
    assert_eq!(
        hosts(&conf, "alpine:3"),
        vec![
            s(
                "mirror.internal:5000",
                "mirror.internal:5000/dockerhub/library/alpine:3",
                true,
                true
            ),
            s(
                "mirror2.internal",
                "mirror2.internal/library/alpine:3",
                false,
                true
            ),
            s("docker.io", "docker.io/library/alpine:3", false, false),
        ]
    );
    // The longest prefix wins.
    assert_eq!(
        hosts(&conf, "debian:12"),
        vec![s(
            "debian-mirror.internal",
            "debian-mirror.internal/debian:12",
            false,
            false
        )]
    );
    // A prefix ends at a component boundary: `debianfoo` is not under `debian`.
    assert_eq!(hosts(&conf, "debianfoo").len(), 3);
    // No matching registry: the image's own host.
    assert_eq!(
        hosts(&conf, "quay.io/a/b:1"),
        vec![s("quay.io", "quay.io/a/b:1", false, false)]
    );
}

#[test]
fn pull_from_mirror_and_mirror_by_digest_only_select_mirrors() {
    let etc = Etc::new();
    etc.put(
        "etc/registries.conf",
        r#"
[[registry]]
location = "quay.io"
[[registry.mirror]]
location = "digests.internal"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tags.internal"
pull-from-mirror = "tag-only"

[[registry]]
location = "ghcr.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "ghcr-mirror.internal"
"#,
    );
    let conf = etc.load().unwrap();
    let digest = "sha256:".to_owned() + &"a".repeat(64);
    let by =
        |image: &str| -> Vec<String> { hosts(&conf, image).into_iter().map(|h| h.0).collect() };
    assert_eq!(by("quay.io/x/y:1"), ["tags.internal", "quay.io"]);
    assert_eq!(
        by(&format!("quay.io/x/y@{digest}")),
        ["digests.internal", "quay.io"]
    );
    assert_eq!(by("ghcr.io/x/y:1"), ["ghcr.io"]);
    assert_eq!(
        by(&format!("ghcr.io/x/y@{digest}")),
        ["ghcr-mirror.internal", "ghcr.io"]
    );
}

#[test]
fn blocked_registries_and_wildcard_prefixes() {
    let etc = Etc::new();
    etc.put(
        "etc/registries.conf",
        r#"
[[registry]]
location = "evil.example"
blocked = true

[[registry]]
prefix = "*.corp.example"
insecure = true
"#,
    );
    let conf = etc.load().unwrap();
    match conf.endpoints(&reference("evil.example/app:1")) {
        Err(RegistriesError::Blocked { reference, prefix }) => {
            assert_eq!(reference, "evil.example/app:1");
            assert_eq!(prefix, "evil.example");
        }
        other => panic!("{other:?}"),
    }
    let found = conf
        .endpoints(&reference("reg.eu.corp.example:5000/app:1"))
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].host, "reg.eu.corp.example:5000");
    assert!(found[0].insecure && found[0].allows_http());
    assert_eq!(hosts(&conf, "corp.example/app").len(), 1);
    assert!(!conf.endpoints(&reference("corp.example/app")).unwrap()[0].insecure);
}

#[test]
fn plain_http_only_for_insecure_or_loopback_hosts() {
    for host in [
        "localhost:5000",
        "127.0.0.1",
        "127.3.2.1:80",
        "[::1]:5000",
        "LOCALHOST",
    ] {
        assert!(is_loopback(host), "{host}");
    }
    for host in [
        "example.com",
        "10.0.0.1:5000",
        "[2001:db8::1]:443",
        "localhost.example",
    ] {
        assert!(!is_loopback(host), "{host}");
    }
    let conf = RegistriesConf::default();
    let local = &conf.endpoints(&reference("localhost:5000/app")).unwrap()[0];
    assert!(local.allows_http() && !local.insecure);
    let remote = &conf.endpoints(&reference("quay.io/app")).unwrap()[0];
    assert!(!remote.allows_http());
}

#[test]
fn drop_ins_replace_registries_by_prefix_and_the_search_list() {
    let etc = Etc::new();
    etc.put("etc/registries.conf", MIRRORS);
    etc.put(
        "etc/registries.conf.d/50-hub.conf",
        "[[registry]]\nlocation = \"docker.io\"\ninsecure = true\n",
    );
    etc.put(
        "etc/registries.conf.d/10-search.conf",
        "unqualified-search-registries = [\"quay.io\"]\n",
    );
    etc.put("etc/registries.conf.d/ignored.toml", "not = [valid");
    etc.put(
        "home/.config/containers/registries.conf.d/99-user.conf",
        "unqualified-search-registries = [\"user.example\"]\n",
    );
    let conf = etc.load().unwrap();
    assert_eq!(conf.unqualified_search_registries, ["user.example"]);
    assert_eq!(
        hosts(&conf, "alpine").len(),
        1,
        "the drop-in's docker.io has no mirrors"
    );
    assert!(hosts(&conf, "alpine")[0].2);
    let prefixes: Vec<_> = conf.registries.iter().map(|r| r.prefix.as_str()).collect();
    assert_eq!(prefixes, ["docker.io", "docker.io/library/debian"]);
}

#[test]
fn the_users_file_replaces_the_systems_and_the_environment_replaces_both() {
    let etc = Etc::new();
    etc.put("etc/registries.conf", MIRRORS);
    etc.put(
        "etc/registries.conf.d/a.conf",
        "unqualified-search-registries = [\"sys.d\"]",
    );
    etc.put(
        "home/.config/containers/registries.conf",
        "unqualified-search-registries = [\"user.example\"]",
    );
    let conf = etc.load().unwrap();
    assert_eq!(conf.unqualified_search_registries, ["user.example"]);
    assert!(conf.registries.is_empty());

    let custom = etc.put(
        "custom.conf",
        "unqualified-search-registries = [\"custom.example\"]",
    );
    let paths = RegistriesPaths::resolve(
        |n| (n == "CONTAINERS_REGISTRIES_CONF").then(|| custom.clone().into()),
        &etc.dir.path().join("etc"),
    );
    assert_eq!(paths.file, custom);
    let conf = RegistriesConf::load(&paths).unwrap();
    assert_eq!(conf.unqualified_search_registries, ["sys.d"]);
    let missing = RegistriesPaths {
        file: etc.dir.path().join("nope.conf"),
        file_required: true,
        drop_in_dirs: vec![],
        aliases_file: None,
    };
    assert!(matches!(
        RegistriesConf::load(&missing),
        Err(RegistriesError::Read { .. })
    ));
    // Without any file the configuration is empty.
    assert_eq!(Etc::new().load().unwrap(), RegistriesConf::default());
}

#[test]
fn the_v1_format_is_converted() {
    let etc = Etc::new();
    etc.put(
        "etc/registries.conf",
        r#"
[registries.search]
registries = ["quay.io"]
[registries.insecure]
registries = ["old.example:5000"]
[registries.block]
registries = ["bad.example"]
"#,
    );
    let conf = etc.load().unwrap();
    assert_eq!(conf.unqualified_search_registries, ["quay.io"]);
    assert!(conf.endpoints(&reference("old.example:5000/a")).unwrap()[0].insecure);
    assert!(matches!(
        conf.endpoints(&reference("bad.example/a")),
        Err(RegistriesError::Blocked { .. })
    ));
}

#[test]
fn malformed_files_are_errors_naming_the_file() {
    let cases = [
        ("[[registry]\n", "not valid TOML"),
        ("unqualified-search-registries = \"quay.io\"", "not valid TOML"),
        ("[[registry]]\ninsecure = true\n", "both location and prefix are unset"),
        ("[[registry]]\nlocation = \"https://quay.io\"\n", "URI schemes are not supported"),
        ("[[registry]]\nprefix = \"quay.io\"\n", "location is unset"),
        ("[[registry]]\nlocation = \"q.io\"\n[[registry.mirror]]\ninsecure = true\n", "no location"),
        (
            "[[registry]]\nlocation = \"q.io\"\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"sometimes\"\n",
            "unsupported pull-from-mirror",
        ),
        (
            "[[registry]]\nprefix = \"a.io\"\nlocation = \"q.io\"\n[[registry]]\nprefix = \"b.io\"\nlocation = \"q.io\"\ninsecure = true\n",
            "conflicting \"insecure\"",
        ),
        ("unqualified-search-registries = [\"quay.io/ns\"]", "invalid unqualified-search"),
        (
            "unqualified-search-registries = []\n[registries.search]\nregistries = []\n",
            "mixing the v1 and v2",
        ),
    ];
    for (text, expected) in cases {
        let etc = Etc::new();
        let path = etc.put("etc/registries.conf", text);
        let message = match etc.load() {
            Err(e @ (RegistriesError::Parse { .. } | RegistriesError::Invalid { .. })) => {
                e.to_string()
            }
            other => panic!("{text}: {other:?}"),
        };
        assert!(message.contains(path.to_str().unwrap()), "{message}");
        assert!(message.contains(expected), "{message} / {expected}");
    }
    let etc = Etc::new();
    let path = etc.put(
        "etc/registries.conf.d/x.conf",
        "[registries.search]\nregistries = []\n",
    );
    let message = etc.load().unwrap_err().to_string();
    assert!(message.contains(path.to_str().unwrap()) && message.contains("v2 format"));
}
