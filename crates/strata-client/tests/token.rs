//! Token auth against a real registry: Debian's `docker-registry` (distribution 2.8) with
//! `auth: token`, trusting the ES256 JWTs of strata-testkit's token issuer. Covers the token
//! cache per scope, refresh on expiry, a token the registry stops accepting mid-push, the
//! errors for a refused credential (401) and a too-small grant (403-style), and OAuth2
//! identity tokens from docker's config.json and from a credential helper.

mod common;

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use common::{chain, new_store, push_image, repo, small_image, tag};
use serde_json::json;
use strata_client::config::credentials::{Credential, CredentialStore};
use strata_client::{BlobPush, ClientError, Registry, RegistryOptions};
use strata_oci::Digest;
use strata_testkit::registry::TestRegistry;
use strata_testkit::token::TokenIssuer;
use strata_testkit::{install_credential_helper, noise_bytes, require_tool, run_ok};

fn basic(user: &str, password: &str) -> RegistryOptions {
    RegistryOptions {
        credential: Some(Credential::Basic {
            username: user.into(),
            password: password.into(),
        }),
        ..RegistryOptions::default()
    }
}

/// An issuer with user `ci` (password `pw`, pull and push) and its registry.
fn token_registry() -> (TokenIssuer, TestRegistry) {
    let issuer = TokenIssuer::start();
    issuer.add_user("ci", "pw", &["pull", "push"]);
    let server = TestRegistry::start_token(&issuer);
    (issuer, server)
}

/// The scopes of the calls answered with a token, in order.
fn issued_scopes(issuer: &TokenIssuer) -> Vec<String> {
    issuer
        .calls()
        .iter()
        .filter(|c| c.status == 200)
        .map(|c| c.scopes.join(" "))
        .collect()
}

#[test]
fn push_and_pull_through_token_auth_with_one_token_per_scope() {
    require_tool("skopeo");
    let (issuer, server) = token_registry();
    let reg = Registry::connect(&server.host(), basic("ci", "pw")).unwrap();
    let (_src_dir, src) = new_store();
    let image = small_image(&src);
    let name = repo("strata/app");
    push_image(&reg, &name, &src, &image);
    let (_dst_dir, dst) = new_store();
    let pulled = reg.get_manifest(&name, &tag("v1")).unwrap();
    assert_eq!(pulled.bytes, image.manifest);
    for blob in &image.blobs {
        assert!(!reg.fetch_blob(&name, blob, None, &dst).unwrap().skipped);
        assert_eq!(dst.read_blob(blob).unwrap(), src.read_blob(blob).unwrap());
    }
    // Again: every token comes from the cache.
    push_image(&reg, &name, &src, &image);
    reg.get_manifest(&name, &tag("v1")).unwrap();

    let scopes = issued_scopes(&issuer);
    assert_eq!(
        scopes,
        [
            "",
            "repository:strata/app:pull",
            "repository:strata/app:pull,push"
        ],
        "one token per scope, for the /v2/ ping, HEADs and pulls, and uploads"
    );
    assert!(issuer
        .calls()
        .iter()
        .all(|c| c.grant == "basic" && c.user.as_deref() == Some("ci")));

    // skopeo reads what strata pushed through the same issuer.
    let url = format!("docker://{}/strata/app:v1", server.host());
    let out = run_ok(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        "--creds",
        "ci:pw",
        &url,
    ]));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["Digest"], Digest::of(&image.manifest).to_string());
}

#[test]
fn a_token_is_fetched_again_when_its_lifetime_ends() {
    let (issuer, server) = token_registry();
    let (_src_dir, src) = new_store();
    let image = small_image(&src);
    let name = repo("strata/app");
    push_image(
        &Registry::connect(&server.host(), basic("ci", "pw")).unwrap(),
        &name,
        &src,
        &image,
    );

    issuer.set_expires_in(2);
    let reg = Registry::connect(&server.host(), basic("ci", "pw")).unwrap();
    let before = issuer.tokens_issued();
    reg.get_manifest(&name, &tag("v1")).unwrap();
    reg.get_manifest(&name, &tag("v1")).unwrap();
    assert_eq!(issuer.tokens_issued(), before + 1, "cached while it lives");
    std::thread::sleep(Duration::from_millis(2100));
    reg.get_manifest(&name, &tag("v1")).unwrap();
    // The registry (60 s leeway) still accepted the old token: the new one was fetched
    // because its lifetime ran out, not because of a 401.
    assert_eq!(issuer.tokens_issued(), before + 2, "refreshed after 2 s");
}

/// Reads `bytes`, sleeping `pause` once when the reader reaches `at`.
struct SlowReader {
    bytes: std::io::Cursor<Vec<u8>>,
    at: u64,
    pause: Duration,
    paused: bool,
}

impl Read for SlowReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.paused && self.bytes.position() >= self.at {
            self.paused = true;
            std::thread::sleep(self.pause);
        }
        self.bytes.read(buf)
    }
}

#[test]
fn a_token_the_registry_stops_accepting_mid_push_is_renewed_and_the_push_completes() {
    let (issuer, server) = token_registry();
    // Clients are told 3600 s; the registry refuses the tokens after 2 s.
    issuer.set_expires_in(3600);
    issuer.set_registry_lifetime(Some(2));
    let options = RegistryOptions {
        chunk_size: 4096,
        ..basic("ci", "pw")
    };
    let reg = Registry::connect(&server.host(), options).unwrap();
    let name = repo("strata/chunks");
    let blob = noise_bytes(3 * 4096 + 100);
    let digest = Digest::of(&blob);
    let source = SlowReader {
        bytes: std::io::Cursor::new(blob.clone()),
        at: 4096,
        pause: Duration::from_secs(3),
        paused: false,
    };
    let pushed = reg
        .push_blob(&name, &digest, blob.len() as u64, source, None)
        .unwrap();
    assert_eq!(pushed, BlobPush::Uploaded);
    let push_tokens = issued_scopes(&issuer)
        .iter()
        .filter(|s| s.ends_with("pull,push"))
        .count();
    assert_eq!(push_tokens, 2, "the push scope's token was renewed once");

    let (_dir, store) = new_store();
    reg.fetch_blob(&name, &digest, Some(blob.len() as u64), &store)
        .unwrap();
    assert_eq!(store.read_blob(&digest).unwrap(), blob);
}

#[test]
fn a_refused_credential_is_unauthorized_naming_the_registry_and_scope() {
    let (issuer, server) = token_registry();
    let host = server.host();
    let err = Registry::connect(&host, basic("ci", "wrong")).unwrap_err();
    let text = chain(&err);
    match &err {
        ClientError::Unauthorized {
            registry, detail, ..
        } => {
            assert_eq!(registry, &host);
            assert!(detail.contains(&issuer.realm()), "{text}");
            assert!(detail.contains("401"), "{text}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }

    // The password changes while a client is connected: its next new scope is refused.
    let reg = Registry::connect(&host, basic("ci", "pw")).unwrap();
    issuer.add_user("ci", "rotated", &["pull", "push"]);
    let err = reg
        .get_manifest(&repo("strata/app"), &tag("v1"))
        .unwrap_err();
    let text = chain(&err);
    match &err {
        ClientError::Unauthorized {
            registry, scope, ..
        } => {
            assert_eq!(registry, &host);
            assert_eq!(scope, "repository:strata/app:pull");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(
        text.contains(&host) && text.contains("repository:strata/app:pull"),
        "{text}"
    );
}

#[test]
fn a_grant_smaller_than_asked_is_forbidden_naming_the_scope() {
    let (issuer, server) = token_registry();
    issuer.add_user("reader", "pw", &["pull"]);
    let host = server.host();
    let (_src_dir, src) = new_store();
    let image = small_image(&src);
    let name = repo("strata/app");
    push_image(
        &Registry::connect(&host, basic("ci", "pw")).unwrap(),
        &name,
        &src,
        &image,
    );

    let reader = Registry::connect(&host, basic("reader", "pw")).unwrap();
    assert_eq!(
        reader.get_manifest(&name, &tag("v1")).unwrap().digest,
        Digest::of(&image.manifest),
        "a reader may pull"
    );
    let err = reader
        .push_blob(&repo("strata/other"), &Digest::of(b"x"), 1, &b"x"[..], None)
        .unwrap_err();
    let text = chain(&err);
    match &err {
        ClientError::Forbidden {
            registry,
            scope,
            detail,
        } => {
            assert_eq!(registry, &host);
            assert_eq!(scope, "repository:strata/other:pull,push");
            assert!(detail.contains("insufficient_scope"), "{text}");
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }

    // Anonymous: the realm grants nothing; the error says no credential is stored.
    let anonymous = Registry::connect(&host, RegistryOptions::default()).unwrap();
    let err = anonymous.get_manifest(&name, &tag("v1")).unwrap_err();
    let text = chain(&err);
    assert!(matches!(err, ClientError::Forbidden { .. }), "{text}");
    assert!(text.contains("no credential is stored"), "{text}");
}

/// A credential store reading only `dir/config.json`, with helpers looked up in `dir/bin`.
fn docker_config(dir: &std::path::Path, config: serde_json::Value) -> CredentialStore {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    install_credential_helper(&bin);
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    CredentialStore {
        docker_config: Some(dir.join("config.json")),
        helper_path: bin.into_os_string(),
        ..CredentialStore::default()
    }
}

#[test]
fn identity_tokens_from_config_json_and_helpers_are_traded_with_an_oauth2_post() {
    let (issuer, server) = token_registry();
    issuer.add_refresh_token("id-from-config", "ci");
    issuer.add_refresh_token("id-from-helper", "ci");
    let host = server.host();
    let home = tempfile::tempdir().unwrap();

    let store = docker_config(
        home.path(),
        json!({"auths": {&host: {"identitytoken": "id-from-config"}}}),
    );
    let options = RegistryOptions::from_store(&host, &store).unwrap();
    let reg = Registry::connect(&host, options).unwrap();
    let (_src_dir, src) = new_store();
    let image = small_image(&src);
    let name = repo("strata/oauth");
    push_image(&reg, &name, &src, &image);
    let calls = issuer.calls();
    assert!(!calls.is_empty());
    assert!(
        calls.iter().all(|c| c.method == "POST"
            && c.grant == "refresh_token"
            && c.user.as_deref() == Some("ci")
            && c.status == 200),
        "{calls:?}"
    );

    // A helper's `<token>` user holds an identity token too.
    let helper_home = tempfile::tempdir().unwrap();
    let store = docker_config(helper_home.path(), json!({"credHelpers": {&host: "test"}}));
    store
        .store(&host, &Credential::IdentityToken("id-from-helper".into()))
        .unwrap();
    let options = RegistryOptions::from_store(&host, &store).unwrap();
    let reg = Registry::connect(&host, options).unwrap();
    assert_eq!(
        reg.get_manifest(&name, &tag("v1")).unwrap().bytes,
        image.manifest
    );

    // An identity token the realm does not know is refused, as a wrong password.
    let bad = RegistryOptions {
        credential: Some(Credential::IdentityToken("revoked".into())),
        ..RegistryOptions::default()
    };
    let err = Registry::connect(&host, bad).unwrap_err();
    assert!(
        matches!(&err, ClientError::Unauthorized { registry, .. } if registry == &host),
        "{}",
        chain(&err)
    );
    let last = issuer.calls().pop().unwrap();
    assert_eq!((last.method.as_str(), last.status), ("POST", 401));
}
