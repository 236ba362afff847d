//! Authentication and authorization over HTTP against a real server: the 401 challenge,
//! docker's token flow (GET and OAuth2 POST), scope intersection, 401 vs 403, bad and
//! expired tokens, Basic credentials on `/v2/`, robot accounts and their expiry, shared
//! token keys across replicas. Users come from `htpasswd -B` files.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::{htpasswd, rule, Resp, TestServer};
use serde_json::{json, Value};
use strata_oci::Digest;
use strata_registry::auth::{robots, AuthConfig};
use strata_registry::meta::{Meta, SqliteMeta};
use strata_registry::Config;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A server with users alice (pull, push on team/**), bob (pull on team/**), admin
/// (everything, catalog), anonymous pull on public/**.
struct Fixture {
    server: TestServer,
    _dir: tempfile::TempDir,
}

fn auth_config(dir: &Path) -> AuthConfig {
    let htpasswd = htpasswd(
        dir,
        &[
            ("alice", "alice-pw"),
            ("bob", "bob-pw"),
            ("admin", "admin-pw"),
        ],
    );
    let mut admin = rule("admin", "**", &["*"]);
    admin.catalog = true;
    AuthConfig {
        htpasswd: Some(htpasswd),
        access: vec![
            rule("alice", "team/**", &["pull", "push"]),
            rule("bob", "team/**", &["pull"]),
            admin,
            rule("anonymous", "public/**", &["pull"]),
        ],
        ..AuthConfig::default()
    }
}

fn start(auth: AuthConfig) -> TestServer {
    TestServer::start_with(Config {
        auth: Some(auth),
        ..Config::default()
    })
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let server = start(auth_config(dir.path()));
        Fixture { server, _dir: dir }
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `GET /token?service=strata-registry&scope=…` with `authorization` (if any).
fn token(s: &TestServer, authorization: Option<&str>, scopes: &[&str]) -> Resp {
    let mut query = "service=strata-registry".to_owned();
    for scope in scopes {
        query.push_str(&format!(
            "&scope={}",
            scope.replace(':', "%3A").replace(',', "%2C")
        ));
    }
    let mut call = s.send("GET", &format!("/token?{query}"));
    if let Some(a) = authorization {
        call = call.header("Authorization", a);
    }
    call.call()
}

/// The token of a successful token response.
fn token_of(r: &Resp) -> String {
    r.expect_status(200);
    r.json()["token"].as_str().unwrap().to_owned()
}

/// The `access` claim of a JWT, as `type:name:actions` strings.
fn granted(token: &str) -> Vec<String> {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let actions: Vec<&str> = a["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            format!(
                "{}:{}:{}",
                a["type"].as_str().unwrap(),
                a["name"].as_str().unwrap(),
                actions.join(",")
            )
        })
        .collect()
}

/// Pushes a blob monolithically with `authorization`.
fn push_blob(s: &TestServer, authorization: &str, repo: &str, bytes: &[u8]) -> Resp {
    let digest = Digest::of(bytes);
    s.send(
        "POST",
        &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
    )
    .header("Authorization", authorization)
    .body(bytes)
}

/// Pushes a one-layer image tagged `tag` with `authorization`; returns the manifest.
fn push_image(s: &TestServer, authorization: &str, repo: &str, tag: &str) -> Vec<u8> {
    let config = format!("{{\"repo\":\"{repo}\"}}");
    let layer = format!("layer of {repo}");
    push_blob(s, authorization, repo, config.as_bytes()).expect_status(201);
    push_blob(s, authorization, repo, layer.as_bytes()).expect_status(201);
    let manifest = common::oci_manifest(config.as_bytes(), &[layer.as_bytes()], json!({}));
    s.send("PUT", &format!("/v2/{repo}/manifests/{tag}"))
        .header("Authorization", authorization)
        .header("Content-Type", OCI_MANIFEST)
        .body(&manifest)
        .expect_status(201);
    manifest
}

fn get(s: &TestServer, path: &str, authorization: Option<&str>) -> Resp {
    let mut call = s.send("GET", path);
    if let Some(a) = authorization {
        call = call.header("Authorization", a);
    }
    call.call()
}

#[test]
fn anonymous_requests_get_the_bearer_challenge_for_the_scope_they_need() {
    let f = Fixture::new();
    let s = &f.server;
    let realm = format!("http://{}/token", s.addr);
    let r = get(s, "/v2/", None);
    r.expect_error(401, "UNAUTHORIZED");
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!("Bearer realm=\"{realm}\",service=\"strata-registry\"")
    );
    let r = get(s, "/v2/team/app/manifests/1", None);
    r.expect_error(401, "UNAUTHORIZED");
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!("Bearer realm=\"{realm}\",service=\"strata-registry\",scope=\"repository:team/app:pull\"")
    );
    assert_eq!(
        r.json()["errors"][0]["detail"],
        json!([{"Type": "repository", "Name": "team/app", "Action": "pull"}])
    );
    let r = s.send("POST", "/v2/team/app/blobs/uploads/").body(b"");
    r.expect_error(401, "UNAUTHORIZED");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .ends_with("scope=\"repository:team/app:pull,push\""));
    let r = get(s, "/v2/_catalog", None);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .ends_with("scope=\"registry:catalog:*\""));
    // What anonymous may do needs no token at all; the rest stays closed.
    get(s, "/v2/public/x/tags/list", None).expect_error(404, "NAME_UNKNOWN");
    s.send(
        "DELETE",
        &format!("/v2/public/x/manifests/{}", Digest::of(b"x")),
    )
    .call()
    .expect_error(401, "UNAUTHORIZED");
}

#[test]
fn token_flow_grants_the_intersection_and_the_token_opens_the_api() {
    let f = Fixture::new();
    let s = &f.server;
    let alice = basic("alice", "alice-pw");
    let r = token(
        s,
        Some(&alice),
        &[
            "repository:team/app:pull,push,delete",
            "repository:other:pull",
        ],
    );
    let body = r.json();
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["token"], body["access_token"]);
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = token_of(&r);
    assert_eq!(
        granted(&t),
        ["repository:team/app:pull,push"],
        "delete and other/ not granted"
    );
    let manifest = push_image(s, &bearer(&t), "team/app", "v1");
    let r = get(s, "/v2/team/app/manifests/v1", Some(&bearer(&t)));
    assert_eq!((r.status, &r.body), (200, &manifest));
    // The token for /v2/ itself: any valid token, even one granting nothing.
    let empty = token_of(&token(s, Some(&alice), &[]));
    assert!(granted(&empty).is_empty());
    get(s, "/v2/", Some(&bearer(&empty))).expect_status(200);
    // Anonymous tokens grant only what anonymous may do.
    let anon = token_of(&token(
        s,
        None,
        &["repository:public/x:pull,push", "repository:team/app:pull"],
    ));
    assert_eq!(granted(&anon), ["repository:public/x:pull"]);
    get(s, "/v2/", Some(&bearer(&anon))).expect_status(200);
    let r = get(s, "/v2/team/app/manifests/v1", Some(&bearer(&anon)));
    r.expect_error(401, "UNAUTHORIZED");
    // Wrong password, unknown user, a service that is not ours.
    let r = token(
        s,
        Some(&basic("alice", "nope")),
        &["repository:team/app:pull"],
    );
    r.expect_error(401, "UNAUTHORIZED");
    assert!(
        r.text()
            .contains("invalid username or password for \\\"alice\\\""),
        "{}",
        r.text()
    );
    token(s, Some(&basic("mallory", "x")), &[]).expect_error(401, "UNAUTHORIZED");
    let r = get(s, "/token?service=elsewhere", Some(&alice));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text()
            .contains("this registry is \\\"strata-registry\\\""),
        "{}",
        r.text()
    );
    let r = get(
        s,
        "/token?service=strata-registry&account=bob",
        Some(&alice),
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn authenticated_but_not_allowed_is_403_and_a_narrow_token_is_401_insufficient_scope() {
    let f = Fixture::new();
    let s = &f.server;
    // bob may pull only: his token for pull,push grants pull, and a push is denied.
    let t = token_of(&token(
        s,
        Some(&basic("bob", "bob-pw")),
        &["repository:team/app:pull,push"],
    ));
    assert_eq!(granted(&t), ["repository:team/app:pull"]);
    let r = push_blob(s, &bearer(&t), "team/app", b"bytes");
    r.expect_error(403, "DENIED");
    assert!(
        r.text()
            .contains("bob may not repository:team/app:pull,push"),
        "{}",
        r.text()
    );
    // alice may push, but this token was asked for pull only: get another one.
    let t = token_of(&token(
        s,
        Some(&basic("alice", "alice-pw")),
        &["repository:team/app:pull"],
    ));
    let r = push_blob(s, &bearer(&t), "team/app", b"bytes");
    r.expect_error(401, "UNAUTHORIZED");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .ends_with(",scope=\"repository:team/app:pull,push\",error=\"insufficient_scope\""),
        "{:?}",
        r.header("www-authenticate")
    );
    // Basic credentials directly on /v2/: the same rules, without a token.
    push_blob(s, &basic("alice", "alice-pw"), "team/app", b"bytes").expect_status(201);
    push_blob(s, &basic("bob", "bob-pw"), "team/app", b"bytes").expect_error(403, "DENIED");
    push_blob(s, &basic("alice", "wrong"), "team/app", b"bytes").expect_error(401, "UNAUTHORIZED");
    get(s, "/v2/", Some(&basic("bob", "bob-pw"))).expect_status(200);
    get(s, "/v2/", Some(&basic("bob", "wrong"))).expect_error(401, "UNAUTHORIZED");
    // Deleting needs delete; the catalog needs catalog = true.
    let d = Digest::of(b"bytes");
    s.send("DELETE", &format!("/v2/team/app/blobs/{d}"))
        .header("Authorization", &basic("alice", "alice-pw"))
        .call()
        .expect_error(403, "DENIED");
    get(s, "/v2/_catalog", Some(&basic("alice", "alice-pw"))).expect_error(403, "DENIED");
    let r = get(s, "/v2/_catalog", Some(&basic("admin", "admin-pw")));
    assert_eq!(r.json(), json!({"repositories": ["team/app"]}));
    let t = token_of(&token(
        s,
        Some(&basic("admin", "admin-pw")),
        &["registry:catalog:*"],
    ));
    assert_eq!(granted(&t), ["registry:catalog:*"]);
    get(s, "/v2/_catalog", Some(&bearer(&t))).expect_status(200);
    s.send("DELETE", &format!("/v2/team/app/blobs/{d}"))
        .header("Authorization", &basic("admin", "admin-pw"))
        .call()
        .expect_status(202);
}

#[test]
fn a_mount_from_a_repository_the_caller_cannot_read_becomes_a_plain_upload() {
    let f = Fixture::new();
    let s = &f.server;
    let admin = basic("admin", "admin-pw");
    let alice = basic("alice", "alice-pw");
    push_blob(s, &admin, "secret/x", b"private layer").expect_status(201);
    push_blob(s, &admin, "team/base", b"shared layer").expect_status(201);
    let mount = |from: &str, bytes: &[u8]| {
        let path = format!(
            "/v2/team/app/blobs/uploads/?mount={}&from={from}",
            Digest::of(bytes)
        );
        s.send("POST", &path)
            .header("Authorization", &alice)
            .body(b"")
    };
    let r = mount("secret/x", b"private layer");
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("/v2/team/app/blobs/uploads/"));
    let pull = format!("/v2/team/app/blobs/{}", Digest::of(b"private layer"));
    get(s, &pull, Some(&alice)).expect_error(404, "BLOB_UNKNOWN");
    let r = mount("team/base", b"shared layer");
    assert_eq!(r.status, 201, "{}", r.text());
    // Without `from`, no discovery across repositories either.
    let r = s
        .send(
            "POST",
            &format!(
                "/v2/team/app/blobs/uploads/?mount={}",
                Digest::of(b"private layer")
            ),
        )
        .header("Authorization", &alice)
        .body(b"");
    assert_eq!(r.status, 202, "{}", r.text());
}

#[test]
fn bad_expired_and_foreign_tokens_are_401_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("token.key");
    std::fs::write(&key, "a shared key of at least thirty-two bytes").unwrap();
    let mut config = auth_config(dir.path());
    config.token_key_file = Some(key.clone());
    config.token_expiry_secs = Some(1);
    let a = start(config.clone());
    let replica = start(config.clone());
    let mut other_service = config.clone();
    other_service.service = Some("elsewhere".into());
    let other = start(other_service);
    let own_key = start(AuthConfig {
        token_key_file: None,
        ..config
    });
    let t = token_of(&token(
        &a,
        Some(&basic("alice", "alice-pw")),
        &["repository:team/app:pull"],
    ));
    let path = "/v2/team/app/tags/list";
    get(&a, path, Some(&bearer(&t))).expect_error(404, "NAME_UNKNOWN");
    get(&replica, path, Some(&bearer(&t))).expect_error(404, "NAME_UNKNOWN");
    let expect = |s: &TestServer, token: &str, message: &str| {
        let r = get(s, path, Some(&bearer(token)));
        r.expect_error(401, "UNAUTHORIZED");
        assert!(r.text().contains(message), "{message}: {}", r.text());
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""));
    };
    expect(
        &other,
        &t,
        "issued for service \\\"strata-registry\\\", not \\\"elsewhere\\\"",
    );
    expect(&own_key, &t, "signature is invalid");
    expect(&a, "not-a-jwt", "malformed");
    expect(&a, &format!("{t}x"), "signature is invalid");
    std::thread::sleep(Duration::from_millis(2100));
    expect(&a, &t, "bearer token expired at");
}

#[test]
fn post_token_takes_the_oauth2_password_grant_only() {
    let f = Fixture::new();
    let s = &f.server;
    let post = |form: &str| {
        s.send("POST", "/token")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.as_bytes())
    };
    let r = post("grant_type=password&username=alice&password=alice-pw&client_id=test&service=strata-registry&scope=repository%3Ateam%2Fapp%3Apull+repository%3Ateam%2Fb%3Apush");
    let body = r.json();
    assert!(body.get("refresh_token").is_none(), "{body}");
    let t = token_of(&r);
    assert_eq!(
        granted(&t),
        ["repository:team/app:pull", "repository:team/b:push"]
    );
    let r = post("grant_type=password&username=alice&password=bad&client_id=test");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("invalid_grant")),
        "{}",
        r.text()
    );
    let r = post("grant_type=refresh_token&refresh_token=x&client_id=test");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    assert!(r.text().contains("issues no refresh tokens"));
    let r = post("grant_type=password&username=alice&password=alice-pw");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(r.text().contains("client_id"));
}

/// Creates a robot in the server's metadata store (as `strata registry robot create`);
/// returns its secret.
fn create_robot(
    s: &TestServer,
    name: &str,
    repo: &str,
    actions: &[&str],
    expires: Option<Duration>,
    now: i64,
) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let meta: Arc<dyn Meta> =
            Arc::new(SqliteMeta::open(&s.data().join("registry.db")).unwrap());
        let actions: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
        robots::create(
            meta.as_ref(),
            name,
            &[repo.to_owned()],
            &actions,
            expires,
            now,
        )
        .await
        .unwrap()
        .secret
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn robot_accounts_log_in_with_their_own_permissions_until_they_expire() {
    let f = Fixture::new();
    let s = &f.server;
    let secret = create_robot(s, "ci", "ci/**", &["pull", "push"], None, unix_now());
    let ci = basic("robot$ci", &secret);
    push_image(s, &ci, "ci/app", "1");
    push_blob(s, &ci, "team/app", b"x").expect_error(403, "DENIED");
    push_blob(s, &basic("robot$ci", "wrong"), "ci/app", b"x").expect_error(401, "UNAUTHORIZED");
    let t = token_of(&token(
        s,
        Some(&ci),
        &[
            "repository:ci/app:pull,push,delete",
            "repository:team/app:pull",
        ],
    ));
    assert_eq!(granted(&t), ["repository:ci/app:pull,push"]);
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(t.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["sub"], "robot$ci");
    get(s, "/v2/ci/app/manifests/1", Some(&bearer(&t))).expect_status(200);
    // Expired a minute ago: logging in says so, directly and at the token endpoint.
    let old = create_robot(
        s,
        "old",
        "ci/**",
        &["pull"],
        Some(Duration::from_secs(60)),
        unix_now() - 120,
    );
    let r = get(s, "/v2/ci/app/manifests/1", Some(&basic("robot$old", &old)));
    r.expect_error(401, "UNAUTHORIZED");
    assert!(
        r.text().contains("robot account robot$old expired at"),
        "{}",
        r.text()
    );
    let r = token(
        s,
        Some(&basic("robot$old", &old)),
        &["repository:ci/app:pull"],
    );
    r.expect_error(401, "UNAUTHORIZED");
    assert!(r.text().contains("expired at"), "{}", r.text());
}

#[test]
fn an_htpasswd_file_with_another_scheme_stops_the_start_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = htpasswd(dir.path(), &[("alice", "pw")]);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("bob:$apr1$Lx5cq2Wf$JXTHnUTAh.vCZ6m9U8Lhl/\n");
    std::fs::write(&file, text).unwrap();
    let config = Config {
        addr: Some("127.0.0.1:0".parse().unwrap()),
        auth: Some(AuthConfig {
            htpasswd: Some(file.clone()),
            ..AuthConfig::default()
        }),
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = runtime
        .block_on(strata_registry::Server::bind(
            &config,
            &dir.path().join("data"),
        ))
        .err()
        .expect("refused");
    let message = anyhow_chain(&err);
    assert!(
        message.contains(&format!("htpasswd file {}:2: user \"bob\"", file.display()))
            && message.contains("MD5 ($apr1$)"),
        "{message}"
    );
}

fn anyhow_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[test]
fn users_added_to_the_htpasswd_file_can_log_in_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = auth_config(dir.path());
    let file = config.htpasswd.clone().unwrap();
    let s = start(config);
    let carol = basic("carol", "carol-pw");
    get(&s, "/v2/", Some(&carol)).expect_error(401, "UNAUTHORIZED");
    strata_testkit::run_ok(
        Command::new("htpasswd")
            .args(["-Bb"])
            .arg(&file)
            .args(["carol", "carol-pw"]),
    );
    get(&s, "/v2/", Some(&carol)).expect_status(200);
    token_of(&token(&s, Some(&carol), &[]));
    // A broken edit keeps the users read before.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("dave:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n");
    std::fs::write(&file, text).unwrap();
    get(&s, "/v2/", Some(&carol)).expect_status(200);
}

#[test]
fn basic_off_leaves_only_tokens_on_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = auth_config(dir.path());
    config.basic = Some(false);
    let s = start(config);
    let alice = basic("alice", "alice-pw");
    let r = get(&s, "/v2/team/app/tags/list", Some(&alice));
    r.expect_error(401, "UNAUTHORIZED");
    assert!(
        r.text().contains("get a bearer token from the realm"),
        "{}",
        r.text()
    );
    let t = token_of(&token(&s, Some(&alice), &["repository:team/app:pull"]));
    get(&s, "/v2/team/app/tags/list", Some(&bearer(&t))).expect_error(404, "NAME_UNKNOWN");
}
