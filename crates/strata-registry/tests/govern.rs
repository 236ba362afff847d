//! The governance API (`/strata/v1/`, docs/GOVERN.md) against a real server: images with
//! their facts, labels (accumulating), owners, promotions and their gate, the gate at push,
//! permissions, lineage (base → runtime → two apps, by shared layer prefixes), last-pull
//! times, tag history, and what a manifest delete removes. The metadata calls behind it run
//! on SQLite and PostgreSQL in `meta::tests`.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::{htpasswd, oci_manifest, Resp, TestServer, OCI_MANIFEST};
use serde_json::{json, Value};
use strata_oci::Digest;
use strata_registry::auth::{AccessRuleConfig, AuthConfig};
use strata_registry::Config;

const BASE_NAME: &str = "org.opencontainers.image.base.name";

/// Pushes an image of `layers` (a config unique to `repo:tag`) as `repo:tag`; the response.
fn push(s: &TestServer, repo: &str, tag: &str, layers: &[&[u8]], annotations: Value) -> Resp {
    let config =
        format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"tag\":\"{repo}:{tag}\"}}");
    s.push_blob(repo, config.as_bytes());
    for l in layers {
        s.push_blob(repo, l);
    }
    let extra = match annotations {
        Value::Null => json!({}),
        a => json!({ "annotations": a }),
    };
    let manifest = oci_manifest(config.as_bytes(), layers, extra);
    s.push_manifest(repo, tag, OCI_MANIFEST, &manifest)
}

/// [`push`], asserting success; the manifest's digest.
fn pushed(s: &TestServer, repo: &str, tag: &str, layers: &[&[u8]]) -> Digest {
    let r = push(s, repo, tag, layers, Value::Null);
    r.expect_status(201);
    r.header("docker-content-digest").unwrap().parse().unwrap()
}

fn get(s: &TestServer, path: &str) -> Resp {
    s.send("GET", path).call()
}

fn put_json(s: &TestServer, path: &str, body: Value) -> Resp {
    s.send("PUT", path)
        .header("Content-Type", "application/json")
        .body(body.to_string().as_bytes())
}

fn promote(s: &TestServer, repo: &str, reference: &str, env: &str) -> Resp {
    s.send(
        "POST",
        &format!("/strata/v1/repositories/{repo}/-/images/{reference}/promote"),
    )
    .header("Content-Type", "application/json")
    .body(json!({ "env": env }).to_string().as_bytes())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

/// A server whose config (TOML in a temp dir, as a user writes it) names a gate policy.
fn with_gates(policy: &str) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gates.toml"), policy).unwrap();
    let path = dir.path().join("registry.toml");
    let config = Config::parse(&path, "[govern]\ngates = \"gates.toml\"\n").unwrap();
    (TestServer::start_with(config), dir)
}

#[test]
fn images_labels_owners_and_promotions_through_the_api() {
    let s = TestServer::start();
    let v1 = pushed(&s, "team/app", "v1", &[b"gov-base", b"gov-app-1"]);
    let v2 = pushed(&s, "team/app", "v2", &[b"gov-base", b"gov-app-2"]);

    let r = get(&s, "/strata/v1/repositories/team/app/-/images");
    r.expect_status(200);
    let images = r.json()["images"].clone();
    let digests: Vec<String> = images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["digest"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(digests.len(), 2);
    assert!(digests.contains(&v1.to_string()) && digests.contains(&v2.to_string()));

    let r = get(&s, "/strata/v1/repositories/team/app/-/images/v1");
    r.expect_status(200);
    let image = r.json();
    assert_eq!(image["digest"], v1.to_string());
    assert_eq!(image["mediaType"], OCI_MANIFEST);
    assert_eq!(strings(&image["tags"]), ["v1"]);
    assert_eq!(strings(&image["labels"]), Vec::<String>::new());
    assert!(image["size"].as_u64().unwrap() > "gov-basegov-app-1".len() as u64);
    assert!(image["pushed"].as_str().unwrap().ends_with('Z'));
    assert!(image["lastPulled"].is_null());

    // Labels accumulate and are idempotent; a promotion adds one and is recorded.
    let label = |l: &str| format!("/strata/v1/repositories/team/app/-/images/v1/labels/{l}");
    let r = s.send("PUT", &label("maybe_prod")).body(b"");
    r.expect_status(200);
    assert_eq!(strings(&r.json()["labels"]), ["maybe_prod"]);
    s.send("PUT", &label("maybe_prod"))
        .body(b"")
        .expect_status(200);
    let r = promote(&s, "team/app", &v1.to_string(), "prod");
    r.expect_status(200);
    let promotion = r.json();
    assert_eq!(
        (&promotion["env"], &promotion["by"], &promotion["digest"]),
        (&json!("prod"), &json!("anonymous"), &json!(v1.to_string()))
    );
    assert_eq!(strings(&promotion["tags"]), ["v1"]);
    let r = get(&s, "/strata/v1/repositories/team/app/-/images/v1");
    assert_eq!(strings(&r.json()["labels"]), ["maybe_prod", "prod"]);
    let r = get(&s, "/strata/v1/repositories/team/app/-/promotions");
    r.expect_status(200);
    let promotions = r.json()["promotions"].clone();
    assert_eq!(promotions.as_array().unwrap().len(), 1);
    assert_eq!(promotions[0]["env"], "prod");

    // Removing a label; removing it again is 404; a bad label is 400.
    let r = s.send("DELETE", &label("maybe_prod")).call();
    r.expect_status(200);
    assert_eq!(strings(&r.json()["labels"]), ["prod"]);
    s.send("DELETE", &label("maybe_prod"))
        .call()
        .expect_error(404, "LABEL_UNKNOWN");
    s.send("PUT", &label("Prod!"))
        .body(b"")
        .expect_error(400, "LABEL_INVALID");

    // Owners.
    let owner = "/strata/v1/repositories/team/app/-/owner";
    assert!(get(&s, owner).json()["owner"].is_null());
    let r = put_json(&s, owner, json!({"owner": "team-x"}));
    r.expect_status(200);
    assert_eq!(get(&s, owner).json()["owner"], "team-x");
    put_json(&s, owner, json!({"owner": ""})).expect_status(400);
    put_json(&s, owner, json!({"team": "x"})).expect_status(400);
    let r = get(&s, "/strata/v1/repositories");
    r.expect_status(200);
    assert_eq!(
        r.json()["repositories"],
        json!([{"name": "team/app", "owner": "team-x", "images": 2, "tags": 2}])
    );

    // Unknown things, wrong methods, paths that are no endpoint.
    get(&s, "/strata/v1/repositories/none/-/images").expect_error(404, "NAME_UNKNOWN");
    get(&s, "/strata/v1/repositories/team/app/-/images/v9").expect_error(404, "MANIFEST_UNKNOWN");
    promote(&s, "team/app", "v9", "prod").expect_error(404, "MANIFEST_UNKNOWN");
    s.send("DELETE", "/strata/v1/repositories/team/app/-/images")
        .call()
        .expect_error(405, "UNSUPPORTED");
    assert_eq!(
        get(&s, "/strata/v1/repositories/team/app/-/nothing").status,
        404
    );
}

#[test]
fn a_gate_refuses_a_non_standard_base_at_push_and_records_nothing() {
    let (s, _dir) =
        with_gates("allowed-bases = [\"registry.example.com\"]\nroots = [\"base/**\"]\n");
    let r = push(
        &s,
        "team/app",
        "v1",
        &[b"gate-layer"],
        json!({ BASE_NAME: "docker.io/someone/random:1" }),
    );
    r.expect_error(403, "DENIED");
    let message = r.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.starts_with("gate allowed-bases: "), "{message}");
    assert!(message.contains("docker.io/someone/random:1"), "{message}");
    get(&s, "/v2/team/app/manifests/v1").expect_error(404, "MANIFEST_UNKNOWN");
    let images = get(&s, "/strata/v1/repositories/team/app/-/images").json();
    assert_eq!(images["images"], json!([]));

    // An allowed base passes; a root repository may have none; another may not.
    push(
        &s,
        "team/app",
        "v1",
        &[b"gate-layer"],
        json!({ BASE_NAME: "registry.example.com/base/debian:12" }),
    )
    .expect_status(201);
    push(&s, "base/debian", "12", &[b"gate-root"], Value::Null).expect_status(201);
    let r = push(&s, "team/other", "v1", &[b"gate-other"], Value::Null);
    r.expect_error(403, "DENIED");
    assert!(r.text().contains("gate roots: "), "{}", r.text());
}

#[test]
fn the_promote_gate_refuses_latest_and_forbidden_tags() {
    let (s, _dir) = with_gates("[forbidden-tags]\nprod = [\"*-rc*\"]\n");
    pushed(&s, "team/app", "latest", &[b"promote-latest"]);
    let r = promote(&s, "team/app", "latest", "prod");
    r.expect_error(412, "GATE_FAILED");
    let violations = r.json()["errors"][0]["detail"]["violations"].clone();
    assert_eq!(
        violations[0]["rule"], "allow-latest-promotion",
        "{violations}"
    );

    pushed(&s, "team/app", "1.0-rc1", &[b"promote-rc"]);
    let r = promote(&s, "team/app", "1.0-rc1", "prod");
    r.expect_error(412, "GATE_FAILED");
    let violations = r.json()["errors"][0]["detail"]["violations"].clone();
    assert_eq!(violations[0]["rule"], "forbidden-tags", "{violations}");
    assert!(r.text().contains("1.0-rc1"), "{}", r.text());
    // Refused: no label, no record.
    let image = get(&s, "/strata/v1/repositories/team/app/-/images/1.0-rc1").json();
    assert_eq!(image["labels"], json!([]));
    let promotions = get(&s, "/strata/v1/repositories/team/app/-/promotions").json();
    assert_eq!(promotions["promotions"], json!([]));
    // The same image may go to maybe_prod.
    promote(&s, "team/app", "1.0-rc1", "maybe_prod").expect_status(200);
}

fn rule(account: &str, repository: &str, actions: &[&str], catalog: bool) -> AccessRuleConfig {
    AccessRuleConfig {
        account: account.into(),
        repository: Some(repository.into()),
        actions: actions.iter().map(|a| a.to_string()).collect(),
        catalog,
    }
}

/// The `WWW-Authenticate` of an anonymous `PUT` to `path`.
fn r_challenge(s: &TestServer, path: &str) -> String {
    let r = s.send("PUT", path).body(b"");
    r.expect_status(401);
    r.header("www-authenticate").unwrap().to_owned()
}

fn basic(user: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{user}-pw")))
}

#[test]
fn only_pushers_label_and_promote_and_listings_name_only_pullable_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let auth = AuthConfig {
        htpasswd: Some(htpasswd(
            dir.path(),
            &[("alice", "alice-pw"), ("bob", "bob-pw")],
        )),
        access: vec![
            rule("alice", "**", &["pull", "push"], true),
            rule("bob", "team/**", &["pull"], true),
        ],
        ..AuthConfig::default()
    };
    let s = TestServer::start_with(Config {
        auth: Some(auth),
        ..Config::default()
    });
    let as_user = |method: &str, path: &str, user: &str| {
        s.send(method, path).header("Authorization", &basic(user))
    };
    // alice pushes team/app (base, runtime) and secret/app (built on the runtime).
    let push_as = |repo: &str, tag: &str, layers: &[&[u8]]| {
        let config = format!("{{\"tag\":\"{repo}:{tag}\"}}");
        for b in std::iter::once(config.as_bytes()).chain(layers.iter().copied()) {
            let d = Digest::of(b);
            as_user(
                "POST",
                &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
                "alice",
            )
            .body(b)
            .expect_status(201);
        }
        let manifest = oci_manifest(config.as_bytes(), layers, json!({}));
        as_user("PUT", &format!("/v2/{repo}/manifests/{tag}"), "alice")
            .header("Content-Type", OCI_MANIFEST)
            .body(&manifest)
            .expect_status(201);
    };
    push_as("team/app", "v1", &[b"auth-base"]);
    push_as("secret/app", "v1", &[b"auth-base", b"auth-secret"]);

    let label = "/strata/v1/repositories/team/app/-/images/v1/labels/prod";
    as_user("PUT", label, "bob")
        .body(b"")
        .expect_error(403, "DENIED");
    let r = s.send("PUT", label).body(b"");
    r.expect_error(401, "UNAUTHORIZED");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("repository:team/app:push"));
    let promote_path = "/strata/v1/repositories/team/app/-/images/v1/promote";
    as_user("POST", promote_path, "bob")
        .body(br#"{"env":"prod"}"#)
        .expect_error(403, "DENIED");
    let r = as_user("POST", promote_path, "alice").body(br#"{"env":"prod"}"#);
    r.expect_status(200);
    assert_eq!(r.json()["by"], "alice");
    // Docker's token flow: the challenge's scope, a token for it, the request again.
    let challenge = r_challenge(&s, label);
    assert!(
        challenge.contains(r#"scope="repository:team/app:push""#),
        "{challenge}"
    );
    let token = as_user(
        "GET",
        "/token?service=strata-registry&scope=repository%3Ateam%2Fapp%3Apush",
        "alice",
    )
    .call();
    token.expect_status(200);
    let bearer = format!("Bearer {}", token.json()["token"].as_str().unwrap());
    let r = s
        .send("PUT", label)
        .header("Authorization", &bearer)
        .body(b"");
    r.expect_status(200);
    assert_eq!(strings(&r.json()["labels"]), ["prod"]);
    s.send("GET", "/strata/v1/repositories/team/app/-/images")
        .call()
        .expect_error(401, "UNAUTHORIZED");
    as_user("GET", "/strata/v1/repositories/team/app/-/images", "bob")
        .call()
        .expect_status(200);

    // bob's listing and lineage never name secret/app.
    let r = as_user("GET", "/strata/v1/repositories", "bob").call();
    r.expect_status(200);
    let names: Vec<Value> = r.json()["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].clone())
        .collect();
    assert_eq!(names, [json!("team/app")]);
    let deps = "/strata/v1/lineage/dependents?image=team/app:v1";
    let r = as_user("GET", deps, "bob").call();
    r.expect_status(200);
    assert_eq!(r.json()["dependents"], json!([]));
    let r = as_user("GET", deps, "alice").call();
    assert_eq!(
        strings(&r.json()["dependents"][0]["names"]),
        ["secret/app:v1"]
    );
    let r = as_user("GET", "/strata/v1/lineage/tree", "bob").call();
    r.expect_status(200);
    assert!(!r.text().contains("secret/app"), "{}", r.text());
    as_user(
        "GET",
        "/strata/v1/lineage/dependents?image=secret/app:v1",
        "bob",
    )
    .call()
    .expect_error(403, "DENIED");
}

#[test]
fn lineage_tree_and_dependents_follow_layer_prefixes() {
    let s = TestServer::start();
    let base = pushed(&s, "base/os", "1", &[b"lin-os"]);
    let runtime = pushed(&s, "base/runtime", "1", &[b"lin-os", b"lin-rt"]);
    let app1 = pushed(&s, "apps/one", "v1", &[b"lin-os", b"lin-rt", b"lin-one"]);
    let app2 = pushed(&s, "apps/two", "v1", &[b"lin-os", b"lin-rt", b"lin-two"]);

    let r = get(&s, "/strata/v1/lineage/tree?root=base/os:1");
    r.expect_status(200);
    let tree = r.json()["tree"].clone();
    assert_eq!(tree.as_array().unwrap().len(), 1, "{tree}");
    assert_eq!(tree[0]["digest"], base.to_string());
    assert_eq!(strings(&tree[0]["names"]), ["base/os:1"]);
    let rt = &tree[0]["children"][0];
    assert_eq!(rt["digest"], runtime.to_string());
    let mut apps = strings(&json!(rt["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["names"][0].clone())
        .collect::<Vec<_>>()));
    apps.sort();
    assert_eq!(apps, ["apps/one:v1", "apps/two:v1"]);

    let r = get(&s, "/strata/v1/lineage/dependents?image=base/os:1");
    r.expect_status(200);
    let body = r.json();
    assert_eq!(body["image"]["digest"], base.to_string());
    let deps = body["dependents"].as_array().unwrap().clone();
    let depth_of = |d: &Digest| {
        deps.iter()
            .find(|x| x["digest"] == d.to_string())
            .map(|x| x["depth"].as_u64().unwrap())
    };
    assert_eq!(
        (depth_of(&runtime), depth_of(&app1), depth_of(&app2)),
        (Some(1), Some(2), Some(2))
    );
    let image = get(&s, "/strata/v1/repositories/apps/one/-/images/v1").json();
    assert_eq!(image["parent"], runtime.to_string());

    // Deleting an app takes it out of the index.
    s.send("DELETE", &format!("/v2/apps/two/manifests/{app2}"))
        .call()
        .expect_status(202);
    let body = get(&s, "/strata/v1/lineage/dependents?image=base/runtime:1").json();
    let names: Vec<Value> = body["dependents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["names"][0].clone())
        .collect();
    assert_eq!(names, [json!("apps/one:v1")]);
}

#[test]
fn last_pull_tag_history_and_deletion() {
    let s = TestServer::start();
    let m1 = pushed(&s, "team/app", "v1", &[b"hist-1"]);
    let image = "/strata/v1/repositories/team/app/-/images/v1";
    assert!(get(&s, image).json()["lastPulled"].is_null());
    get(&s, "/v2/team/app/manifests/v1").expect_status(200);
    let pulled = get(&s, image).json()["lastPulled"].clone();
    assert!(
        pulled.as_str().is_some_and(|t| t.ends_with('Z')),
        "{pulled}"
    );

    // The tag moves; its history says so, oldest first.
    let m2 = pushed(&s, "team/app", "v1", &[b"hist-2"]);
    let history = get(&s, "/strata/v1/repositories/team/app/-/tags/v1/history");
    history.expect_status(200);
    let entries = history.json()["history"].clone();
    let digests: Vec<Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["digest"].clone())
        .collect();
    assert_eq!(digests, [json!(m1.to_string()), json!(m2.to_string())]);
    assert_eq!(entries[1]["by"], "anonymous");

    // Deleting m2 removes its facts and labels; the history records the tag's end.
    s.send(
        "PUT",
        &format!("/strata/v1/repositories/team/app/-/images/{m2}/labels/prod"),
    )
    .body(b"")
    .expect_status(200);
    s.send("DELETE", &format!("/v2/team/app/manifests/{m2}"))
        .call()
        .expect_status(202);
    get(
        &s,
        &format!("/strata/v1/repositories/team/app/-/images/{m2}"),
    )
    .expect_error(404, "MANIFEST_UNKNOWN");
    let images = get(&s, "/strata/v1/repositories/team/app/-/images").json();
    let left: Vec<Value> = images["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["digest"].clone())
        .collect();
    assert_eq!(left, [json!(m1.to_string())]);
    let entries = get(&s, "/strata/v1/repositories/team/app/-/tags/v1/history").json();
    assert!(entries["history"][2]["digest"].is_null(), "{entries}");
}

/// An uncompressed layer tar holding one file.
fn layer_tar(path: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, path, content).unwrap();
    builder.into_inner().unwrap()
}

/// Pushes an image of one uncompressed layer; the response.
fn push_tar_image(s: &TestServer, repo: &str, tag: &str, layer: &[u8]) -> Resp {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    s.push_blob(repo, config);
    s.push_blob(repo, layer);
    let desc = |media: &str, b: &[u8]| json!({"mediaType": media, "digest": Digest::of(b).to_string(), "size": b.len()});
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc("application/vnd.oci.image.config.v1+json", config),
        "layers": [desc("application/vnd.oci.image.layer.v1.tar", layer)],
    });
    s.push_manifest(repo, tag, OCI_MANIFEST, manifest.to_string().as_bytes())
}

#[test]
fn the_no_secrets_gate_scans_the_pushed_layers() {
    let (s, _dir) = with_gates("no-secrets = true\n");
    let token = format!(
        "GITHUB_TOKEN=ghp_{}\n",
        "x7Kq9Lm2Np4Rs6Tu8Vw0Yz1Ab3Cd5Ef7Gh9Ij".get(..36).unwrap()
    );
    let r = push_tar_image(
        &s,
        "team/app",
        "leaky",
        &layer_tar("etc/app.env", token.as_bytes()),
    );
    r.expect_error(403, "DENIED");
    assert!(
        r.text()
            .contains("gate no-secrets: the secret scan found 1 secret"),
        "{}",
        r.text()
    );
    get(&s, "/v2/team/app/manifests/leaky").expect_error(404, "MANIFEST_UNKNOWN");
    let clean = layer_tar("etc/app.env", b"GREETING=hello\n");
    push_tar_image(&s, "team/app", "v1", &clean).expect_status(201);
    // Promotion scans again: a clean image passes.
    promote(&s, "team/app", "v1", "prod").expect_status(200);
}
