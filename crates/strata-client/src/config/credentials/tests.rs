use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};

use super::helper::tests::install_test_helper;
use super::keys::DOCKER_HUB_KEY;
use super::*;

struct Home {
    dir: tempfile::TempDir,
    store: CredentialStore,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let bin = root.join("bin");
        fs::create_dir(&bin).unwrap();
        let vars = move |name: &str| match name {
            "HOME" => Some(root.join("home").into()),
            "XDG_RUNTIME_DIR" => Some(root.join("run").into()),
            "PATH" => Some(bin.clone().into()),
            _ => None,
        };
        let store = CredentialStore::from_vars(vars, Some(1000));
        install_test_helper(&dir.path().join("bin"));
        Home { dir, store }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn docker_config(&self) -> PathBuf {
        self.path("home/.docker/config.json")
    }

    fn runtime_auth(&self) -> PathBuf {
        self.path("run/containers/auth.json")
    }

    fn write(&self, path: &Path, doc: Value) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    }

    fn read(&self, path: &Path) -> Value {
        serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
    }
}

fn basic(user: &str, password: &str) -> Credential {
    Credential::Basic {
        username: user.into(),
        password: password.into(),
    }
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn paths_follow_podmans_order_and_registry_auth_file_replaces_them() {
    let vars = |name: &str| match name {
        "HOME" => Some("/h".into()),
        "DOCKER_CONFIG" => Some("/dc".into()),
        _ => None,
    };
    let store = CredentialStore::from_vars(vars, Some(1000));
    let files: Vec<_> = store.read_files();
    assert_eq!(
        files,
        vec![
            (Path::new("/run/containers/1000/auth.json"), false),
            (Path::new("/h/.config/containers/auth.json"), false),
            (Path::new("/dc/config.json"), false),
            (Path::new("/h/.dockercfg"), true),
        ]
    );
    assert_eq!(store.write_file().unwrap(), Path::new("/dc/config.json"));

    let vars = |name: &str| match name {
        "HOME" => Some("/h".into()),
        "REGISTRY_AUTH_FILE" => Some("/a/auth.json".into()),
        "XDG_RUNTIME_DIR" => Some("/r".into()),
        _ => None,
    };
    let store = CredentialStore::from_vars(vars, None);
    assert_eq!(store.read_files(), vec![(Path::new("/a/auth.json"), false)]);
    assert_eq!(store.write_file().unwrap(), Path::new("/a/auth.json"));
    assert!(matches!(
        CredentialStore::from_vars(|_| None, None).write_file(),
        Err(CredentialsError::NoAuthFile)
    ));
}

#[test]
fn docker_hub_is_found_under_dockers_url_key_and_podmans_key() {
    let home = Home::new();
    let auth = json!({"auths": {DOCKER_HUB_KEY: {"auth": b64("dock:er")}}});
    home.write(&home.docker_config(), auth);
    assert_eq!(
        home.store.lookup("docker.io").unwrap(),
        Some(basic("dock", "er"))
    );
    assert_eq!(
        home.store.lookup("index.docker.io").unwrap(),
        Some(basic("dock", "er"))
    );
    // podman's file comes first and names Docker Hub `docker.io`.
    let auth = json!({"auths": {"docker.io": {"auth": b64("pod:man")}}});
    home.write(&home.runtime_auth(), auth);
    assert_eq!(
        home.store.lookup("docker.io").unwrap(),
        Some(basic("pod", "man"))
    );
}

#[test]
fn namespaced_keys_match_from_the_repository_up() {
    let home = Home::new();
    let auth = json!({"auths": {
        "quay.io": {"auth": b64("any:one")},
        "quay.io/team": {"auth": b64("team:member")},
    }});
    home.write(&home.runtime_auth(), auth);
    let found = |r: &str| home.store.lookup(r).unwrap();
    assert_eq!(found("quay.io/team/app"), Some(basic("team", "member")));
    assert_eq!(found("quay.io/other/app"), Some(basic("any", "one")));
    assert_eq!(found("quay.io"), Some(basic("any", "one")));
    assert_eq!(found("ghcr.io"), None);
}

#[test]
fn old_url_keys_plain_fields_and_identity_tokens_are_read() {
    let home = Home::new();
    let auth = json!({"auths": {
        "https://reg.example:5000/v1/": {"auth": b64("url:key\0\0")},
        "plain.example": {"username": "u", "password": "p"},
        "token.example": {"auth": "", "identitytoken": "refresh"},
    }});
    home.write(&home.docker_config(), auth);
    let found = |r: &str| home.store.lookup(r).unwrap();
    assert_eq!(found("reg.example:5000"), Some(basic("url", "key")));
    assert_eq!(found("plain.example"), Some(basic("u", "p")));
    assert_eq!(
        found("token.example"),
        Some(Credential::IdentityToken("refresh".into()))
    );
}

#[test]
fn the_legacy_dockercfg_is_read_last() {
    let home = Home::new();
    let cfg = json!({"https://legacy.example/v1/": {"auth": b64("old:one"), "email": "x@y"}});
    home.write(&home.path("home/.dockercfg"), cfg);
    assert_eq!(
        home.store.lookup("legacy.example").unwrap(),
        Some(basic("old", "one"))
    );
}

#[test]
fn an_empty_marker_entry_holds_nothing_and_later_files_are_read() {
    let home = Home::new();
    home.write(&home.runtime_auth(), json!({"auths": {"quay.io": {}}}));
    let auth = json!({"auths": {"quay.io": {"auth": b64("later:file")}}});
    home.write(&home.docker_config(), auth);
    assert_eq!(
        home.store.lookup("quay.io").unwrap(),
        Some(basic("later", "file"))
    );
}

#[test]
fn cred_helpers_decide_before_auths() {
    let home = Home::new();
    let cfg = json!({
        "auths": {"quay.io": {"auth": b64("file:secret")}},
        "credHelpers": {"quay.io": "test"},
    });
    home.write(&home.docker_config(), cfg);
    assert_eq!(home.store.lookup("quay.io").unwrap(), None);
    let stored = home.store.store("quay.io", &basic("helper", "pw")).unwrap();
    assert!(matches!(stored, StoredIn::Helper { .. }));
    assert_eq!(
        home.store.lookup("quay.io/ns/app").unwrap(),
        Some(basic("helper", "pw"))
    );
    // The helper got the secret; the file keeps docker's empty marker.
    let doc = home.read(&home.docker_config());
    assert_eq!(doc["auths"]["quay.io"], json!({}));
    assert!(fs::read_to_string(home.path("bin/store/quay.io"))
        .unwrap()
        .contains("\"pw\""));
    assert!(home.store.erase("quay.io").unwrap());
    assert_eq!(home.store.lookup("quay.io").unwrap(), None);
    assert!(!home.path("bin/store/quay.io").exists());
}

#[test]
fn creds_store_holds_every_registry_without_a_helper_entry() {
    let home = Home::new();
    home.write(&home.docker_config(), json!({"credsStore": "test"}));
    let token = Credential::IdentityToken("hub-refresh".into());
    home.store.store("docker.io", &token).unwrap();
    // Asked with docker's Hub key, as `docker login` stores it.
    let calls = fs::read_to_string(home.path("bin/calls")).unwrap();
    assert!(
        calls.contains(&format!("\"ServerURL\":\"{DOCKER_HUB_KEY}\"")),
        "{calls}"
    );
    assert_eq!(home.store.lookup("docker.io").unwrap(), Some(token));
    let doc = home.read(&home.docker_config());
    assert_eq!(
        doc,
        json!({"credsStore": "test", "auths": {DOCKER_HUB_KEY: {}}})
    );
}

#[test]
fn a_missing_or_failing_helper_is_an_error_naming_it() {
    let home = Home::new();
    home.write(
        &home.docker_config(),
        json!({"credHelpers": {"gcr.io": "absent"}}),
    );
    match home.store.lookup("gcr.io") {
        Err(CredentialsError::HelperNotFound { program, config }) => {
            assert_eq!(program, "docker-credential-absent");
            assert_eq!(config, home.docker_config());
        }
        other => panic!("{other:?}"),
    }
    home.write(&home.docker_config(), json!({"credsStore": "broken"}));
    assert!(matches!(
        home.store.lookup("gcr.io"),
        Err(CredentialsError::HelperFailed { action: "get", .. })
    ));
}

#[test]
fn store_writes_dockers_format_atomically_keeping_unknown_fields() {
    let home = Home::new();
    let cfg = json!({
        "psFormat": "table {{.ID}}",
        "auths": {"quay.io": {"auth": b64("a:b"), "email": "me@example.com"}},
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
    });
    home.write(&home.docker_config(), cfg);
    let stored = home
        .store
        .store("https://quay.io", &basic("new", "pw:with:colons"));
    assert_eq!(stored.unwrap(), StoredIn::File(home.docker_config()));
    home.store.store("docker.io", &basic("hub", "pw")).unwrap();
    let doc = home.read(&home.docker_config());
    let expected = json!({
        "psFormat": "table {{.ID}}",
        "auths": {
            "quay.io": {"email": "me@example.com", "auth": b64("new:pw:with:colons")},
            DOCKER_HUB_KEY: {"auth": b64("hub:pw")},
        },
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
    });
    assert_eq!(doc, expected);
    let keys: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["psFormat", "auths", "proxies"]);
    let mode = fs::metadata(home.docker_config())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        home.store.lookup("quay.io").unwrap(),
        Some(basic("new", "pw:with:colons"))
    );
}

#[test]
fn store_creates_the_file_and_erase_removes_every_key_of_the_registry() {
    let home = Home::new();
    home.store
        .store("localhost:5000", &basic("u", "p"))
        .unwrap();
    assert_eq!(
        home.read(&home.docker_config()),
        json!({"auths": {"localhost:5000": {"auth": b64("u:p")}}})
    );
    let cfg = json!({"auths": {
        "localhost:5000": {"auth": b64("u:p")},
        "http://localhost:5000/v2/": {"auth": b64("old:url")},
        "localhost:5000/ns": {"auth": b64("name:space")},
        "other.example": {"auth": b64("o:k")},
    }});
    home.write(&home.docker_config(), cfg);
    assert!(home.store.erase("localhost:5000").unwrap());
    assert_eq!(
        home.read(&home.docker_config()),
        json!({"auths": {
            "localhost:5000/ns": {"auth": b64("name:space")},
            "other.example": {"auth": b64("o:k")},
        }})
    );
    assert!(!home.store.erase("localhost:5000").unwrap());
    assert!(home.store.erase("localhost:5000/ns").unwrap());
}

#[test]
fn registry_auth_file_is_the_only_file_read_and_written() {
    let home = Home::new();
    let auth_file = home.path("ci/auth.json");
    let mut store = home.store.clone();
    store.auth_file = Some(auth_file.clone());
    let cfg = json!({"auths": {"quay.io": {"auth": b64("docker:user")}}});
    home.write(&home.docker_config(), cfg);
    assert_eq!(store.lookup("quay.io").unwrap(), None);
    store.store("quay.io", &basic("ci", "bot")).unwrap();
    assert_eq!(store.lookup("quay.io").unwrap(), Some(basic("ci", "bot")));
    assert!(home.read(&auth_file)["auths"]["quay.io"].is_object());
}

#[test]
fn malformed_files_are_errors_naming_the_file() {
    let home = Home::new();
    let path = home.docker_config();
    let cases = [
        ("{not json", "parse"),
        ("[1, 2]", "the document is not a JSON object"),
        (r#"{"auths": []}"#, "\"auths\" is not an object"),
        (
            r#"{"auths": {"q.io": {"auth": "%%%"}}}"#,
            "\"auth\" is not base64",
        ),
        (
            r#"{"auths": {"q.io": {"auth": "bm9jb2xvbg=="}}}"#,
            "not user:password",
        ),
        (r#"{"auths": {"q.io": {"auth": 7}}}"#, "is not a string"),
        (r#"{"credHelpers": {"q.io": 1}}"#, "\"credHelpers\""),
        (r#"{"credsStore": true}"#, "\"credsStore\" is not a string"),
    ];
    for (text, expected) in cases {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        let err = home.store.lookup("q.io").unwrap_err();
        let message = err.to_string();
        assert!(message.contains(path.to_str().unwrap()), "{message}");
        match (&err, expected) {
            (CredentialsError::Parse { .. }, "parse") => {}
            (CredentialsError::Malformed { reason, .. }, _) => {
                assert!(reason.contains(expected), "{reason} / {expected}")
            }
            other => panic!("{text}: {other:?}"),
        }
        // A write never replaces a file it cannot read.
        assert!(home.store.store("q.io", &basic("a", "b")).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let text = format!("{:?}", basic("alice", "hunter2"));
    assert!(text.contains("alice") && !text.contains("hunter2"));
    let text = format!("{:?}", Credential::IdentityToken("tok123".into()));
    assert!(!text.contains("tok123"));
}
