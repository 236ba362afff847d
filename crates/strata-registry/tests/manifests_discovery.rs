//! Manifests, tags, catalog, referrers and deletes over HTTP against a real server.

mod common;

use common::{oci_manifest, TestServer};
use serde_json::json;
use strata_oci::Digest;
use strata_registry::config::LimitsConfig;
use strata_registry::services::ImmutableRuleConfig;
use strata_registry::Config;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Pushes a config and a layer into `repo` and returns the manifest over them.
fn image(s: &TestServer, repo: &str, seed: &str) -> Vec<u8> {
    let config = format!("{{\"seed\":\"{seed}\"}}");
    let layer = format!("layer {seed}");
    s.push_blob(repo, config.as_bytes());
    s.push_blob(repo, layer.as_bytes());
    oci_manifest(config.as_bytes(), &[layer.as_bytes()], json!({}))
}

#[test]
fn manifest_by_tag_and_digest_keeps_bytes_type_and_digest() {
    let s = TestServer::start();
    let body = image(&s, "app", "1");
    let digest = Digest::of(&body);
    let r = s.push_manifest("app", "v1", OCI_MANIFEST, &body);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("docker-content-digest"),
        Some(digest.to_string().as_str())
    );
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/app/manifests/{digest}").as_str())
    );
    assert_eq!(r.header("oci-subject"), None);
    for reference in ["v1".to_owned(), digest.to_string()] {
        let r = s
            .send("GET", &format!("/v2/app/manifests/{reference}"))
            .call();
        assert_eq!((r.status, &r.body), (200, &body));
        assert_eq!(r.header("content-type"), Some(OCI_MANIFEST));
        assert_eq!(
            r.header("docker-content-digest"),
            Some(digest.to_string().as_str())
        );
        let r = s
            .send("HEAD", &format!("/v2/app/manifests/{reference}"))
            .call();
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-length"),
            Some(body.len().to_string().as_str())
        );
    }
    s.send("GET", "/v2/app/manifests/v2")
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    assert_eq!(s.send("HEAD", "/v2/app/manifests/v2").call().status, 404);
}

#[test]
fn docker_manifests_and_lists_are_served_with_their_own_media_types() {
    let s = TestServer::start();
    s.push_blob("d", b"{}");
    s.push_blob("d", b"docker layer");
    let desc = |mt: &str, b: &[u8]| json!({"mediaType": mt, "digest": Digest::of(b).to_string(), "size": b.len()});
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": desc("application/vnd.docker.container.image.v1+json", b"{}"),
        "layers": [desc("application/vnd.docker.image.rootfs.diff.tar.gzip", b"docker layer")],
    }))
    .unwrap();
    assert_eq!(
        s.push_manifest("d", "img", DOCKER_MANIFEST, &manifest)
            .status,
        201
    );
    let mut child = desc(DOCKER_MANIFEST, &manifest);
    child["platform"] = json!({"architecture": "amd64", "os": "linux"});
    let list = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [child]}),
    )
    .unwrap();
    assert_eq!(s.push_manifest("d", "list", DOCKER_LIST, &list).status, 201);
    let r = s.send("GET", "/v2/d/manifests/img").call();
    assert_eq!(r.header("content-type"), Some(DOCKER_MANIFEST));
    let r = s.send("GET", "/v2/d/manifests/list").call();
    assert_eq!(
        (r.header("content-type"), &r.body),
        (Some(DOCKER_LIST), &list)
    );
}

#[test]
fn a_manifest_with_a_missing_blob_or_child_is_refused_and_not_visible() {
    let s = TestServer::start();
    s.push_blob("m", b"{}");
    let body = oci_manifest(b"{}", &[b"never pushed"], json!({}));
    let r = s.push_manifest("m", "broken", OCI_MANIFEST, &body);
    r.expect_error(400, "MANIFEST_BLOB_UNKNOWN");
    assert!(
        r.text().contains(&Digest::of(b"never pushed").to_string()),
        "{}",
        r.text()
    );
    s.send("GET", "/v2/m/manifests/broken")
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    let digest = Digest::of(&body);
    s.send("GET", &format!("/v2/m/manifests/{digest}"))
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    let missing_child =
        json!({"mediaType": OCI_MANIFEST, "digest": digest.to_string(), "size": body.len()});
    let index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [missing_child]}),
    )
    .unwrap();
    s.push_manifest("m", "idx", OCI_INDEX, &index)
        .expect_error(400, "MANIFEST_BLOB_UNKNOWN");
    // A blob of another repository does not count.
    s.push_blob("elsewhere", b"never pushed");
    s.push_manifest("m", "broken", OCI_MANIFEST, &body)
        .expect_error(400, "MANIFEST_BLOB_UNKNOWN");
}

#[test]
fn invalid_manifests_are_refused_with_the_spec_codes() {
    let s = TestServer::start();
    let body = image(&s, "i", "1");
    let other = Digest::of(b"other");
    s.push_manifest("i", &other.to_string(), OCI_MANIFEST, &body)
        .expect_error(400, "DIGEST_INVALID");
    s.push_manifest("i", "sha256:totallywrong", OCI_MANIFEST, &body)
        .expect_error(400, "DIGEST_INVALID");
    s.push_manifest("i", "t", OCI_MANIFEST, b"{not json")
        .expect_error(400, "MANIFEST_INVALID");
    s.push_manifest("i", "t", OCI_INDEX, &body)
        .expect_error(400, "MANIFEST_INVALID");
    s.push_manifest("i", "t", "text/plain", &body)
        .expect_error(400, "MANIFEST_INVALID");
    let no_config =
        serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}))
            .unwrap();
    s.push_manifest("i", "t", OCI_MANIFEST, &no_config)
        .expect_error(400, "MANIFEST_INVALID");
    s.push_manifest("i", "-bad", OCI_MANIFEST, &body)
        .expect_error(400, "MANIFEST_INVALID");
    s.send("GET", "/v2/i/manifests/t")
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    // A reference that is no valid tag names no manifest: reading or deleting it is 404
    // (the conformance suite's `.INVALID_MANIFEST_NAME`), not 400.
    for method in ["GET", "DELETE"] {
        s.send(method, "/v2/i/manifests/.INVALID_MANIFEST_NAME")
            .call()
            .expect_error(404, "MANIFEST_UNKNOWN");
    }
    let (status, _) = s.raw("HEAD", "/v2/i/manifests/.INVALID_MANIFEST_NAME");
    assert_eq!(status, 404);
}

#[test]
fn an_oversized_manifest_is_413_size_invalid() {
    let config = Config {
        limits: LimitsConfig {
            manifest_max_bytes: Some(1024),
            ..LimitsConfig::default()
        },
        ..Config::default()
    };
    let s = TestServer::start_with(config);
    let pad = "x".repeat(2000);
    let body = image(&s, "big", "1");
    let mut big: serde_json::Value = serde_json::from_slice(&body).unwrap();
    big["annotations"] = json!({"pad": pad});
    let big = serde_json::to_vec(&big).unwrap();
    s.push_manifest("big", "t", OCI_MANIFEST, &big)
        .expect_error(413, "SIZE_INVALID");
    s.send("GET", "/v2/big/manifests/t")
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    assert_eq!(s.push_manifest("big", "t", OCI_MANIFEST, &body).status, 201);
}

#[test]
fn tags_list_paginates_with_link() {
    let s = TestServer::start();
    let body = image(&s, "t/repo", "1");
    for tag in ["c", "a", "e", "b", "d"] {
        assert_eq!(
            s.push_manifest("t/repo", tag, OCI_MANIFEST, &body).status,
            201
        );
    }
    let r = s.send("GET", "/v2/t/repo/tags/list").call();
    assert_eq!(
        r.json(),
        json!({"name": "t/repo", "tags": ["a", "b", "c", "d", "e"]})
    );
    assert_eq!(r.header("link"), None);
    let r = s.send("GET", "/v2/t/repo/tags/list?n=2").call();
    assert_eq!(r.json()["tags"], json!(["a", "b"]));
    assert_eq!(
        r.header("link"),
        Some("</v2/t/repo/tags/list?n=2&last=b>; rel=\"next\"")
    );
    let r = s.send("GET", "/v2/t/repo/tags/list?n=2&last=d").call();
    assert_eq!(r.json()["tags"], json!(["e"]));
    assert_eq!(r.header("link"), None);
    let r = s.send("GET", "/v2/t/repo/tags/list?n=0").call();
    assert_eq!(r.json()["tags"], json!([]));
    s.send("GET", "/v2/nothing/tags/list")
        .call()
        .expect_error(404, "NAME_UNKNOWN");
}

#[test]
fn catalog_lists_repositories_with_pagination() {
    let s = TestServer::start();
    for repo in ["zeta", "alpha", "mid/dle"] {
        s.push_blob(repo, repo.as_bytes());
    }
    let r = s.send("GET", "/v2/_catalog").call();
    assert_eq!(
        r.json(),
        json!({"repositories": ["alpha", "mid/dle", "zeta"]})
    );
    let r = s.send("GET", "/v2/_catalog?n=1&last=alpha").call();
    assert_eq!(r.json(), json!({"repositories": ["mid/dle"]}));
    assert_eq!(
        r.header("link"),
        Some("</v2/_catalog?n=1&last=mid%2Fdle>; rel=\"next\"")
    );
}

#[test]
fn referrers_list_subjects_with_the_artifact_type_filter() {
    let s = TestServer::start();
    let subject = image(&s, "r", "subject");
    let subject_digest = Digest::of(&subject);
    let subject_desc = json!({"mediaType": OCI_MANIFEST, "digest": subject_digest.to_string(), "size": subject.len()});
    let empty = b"{}";
    s.push_blob("r", empty);
    let empty_desc = json!({"mediaType": "application/vnd.oci.empty.v1+json", "digest": Digest::of(empty).to_string(), "size": 2});
    let artifact = |kind: &str, note: &str| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": kind,
            "config": empty_desc, "layers": [empty_desc], "subject": subject_desc,
            "annotations": {"note": note},
        }))
        .unwrap()
    };
    let sbom = artifact("application/vnd.example.sbom", "sbom");
    let sig = artifact("application/vnd.example.sig", "sig");
    // Referrers may be pushed before their subject.
    for a in [&sbom, &sig] {
        let r = s.push_manifest("r", &Digest::of(a).to_string(), OCI_MANIFEST, a);
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(
            r.header("oci-subject"),
            Some(subject_digest.to_string().as_str())
        );
    }
    assert_eq!(
        s.push_manifest("r", "latest", OCI_MANIFEST, &subject)
            .status,
        201
    );
    let r = s
        .send("GET", &format!("/v2/r/referrers/{subject_digest}"))
        .call();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(OCI_INDEX));
    assert_eq!(r.header("oci-filters-applied"), None);
    let index = r.json();
    assert_eq!(index["mediaType"], OCI_INDEX);
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    let r = s
        .send(
            "GET",
            &format!("/v2/r/referrers/{subject_digest}?artifactType=application/vnd.example.sig"),
        )
        .call();
    assert_eq!(r.header("oci-filters-applied"), Some("artifactType"));
    let manifests = r.json()["manifests"].clone();
    assert_eq!(manifests.as_array().unwrap().len(), 1);
    assert_eq!(manifests[0]["digest"], Digest::of(&sig).to_string());
    assert_eq!(manifests[0]["artifactType"], "application/vnd.example.sig");
    assert_eq!(manifests[0]["annotations"], json!({"note": "sig"}));
    assert_eq!(manifests[0]["size"], sig.len());
    let r = s
        .send("GET", &format!("/v2/r/referrers/{}", Digest::of(b"none")))
        .call();
    assert_eq!((r.status, r.json()["manifests"].clone()), (200, json!([])));
    // Deleting a referrer removes it from the list.
    let sig_path = format!("/v2/r/manifests/{}", Digest::of(&sig));
    assert_eq!(s.send("DELETE", &sig_path).call().status, 202);
    let r = s
        .send("GET", &format!("/v2/r/referrers/{subject_digest}"))
        .call();
    assert_eq!(r.json()["manifests"].as_array().unwrap().len(), 1);
}

#[test]
fn deleting_tags_and_manifests() {
    let s = TestServer::start();
    let body = image(&s, "del", "1");
    let digest = Digest::of(&body);
    for tag in ["keep", "drop"] {
        s.push_manifest("del", tag, OCI_MANIFEST, &body);
    }
    assert_eq!(
        s.send("DELETE", "/v2/del/manifests/drop").call().status,
        202
    );
    s.send("GET", "/v2/del/manifests/drop")
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    s.send("DELETE", "/v2/del/manifests/drop")
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    assert_eq!(
        s.send("GET", &format!("/v2/del/manifests/{digest}"))
            .call()
            .status,
        200
    );
    assert_eq!(
        s.send("GET", "/v2/del/tags/list").call().json()["tags"],
        json!(["keep"])
    );
    // By digest: the manifest and every tag pointing at it.
    assert_eq!(
        s.send("DELETE", &format!("/v2/del/manifests/{digest}"))
            .call()
            .status,
        202
    );
    s.send("GET", "/v2/del/manifests/keep")
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    s.send("GET", &format!("/v2/del/manifests/{digest}"))
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    assert_eq!(
        s.send("GET", "/v2/del/tags/list").call().json()["tags"],
        json!([])
    );
    s.send("DELETE", &format!("/v2/del/manifests/{digest}"))
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
}

#[test]
fn pushing_a_tag_again_moves_it() {
    let s = TestServer::start();
    let one = image(&s, "mv", "1");
    let two = image(&s, "mv", "2");
    s.push_manifest("mv", "latest", OCI_MANIFEST, &one);
    s.push_manifest("mv", "latest", OCI_MANIFEST, &two);
    let r = s.send("GET", "/v2/mv/manifests/latest").call();
    assert_eq!(r.body, two);
    assert_eq!(
        s.send("GET", &format!("/v2/mv/manifests/{}", Digest::of(&one)))
            .call()
            .status,
        200
    );
}

#[test]
fn immutable_tags_are_pushed_once_and_never_moved_or_deleted() {
    let config = Config {
        immutable_tags: vec![ImmutableRuleConfig {
            repository: "team/*".into(),
            tag: "v*".into(),
        }],
        ..Config::default()
    };
    let s = TestServer::start_with(config);
    let first = image(&s, "team/app", "1");
    let second = image(&s, "team/app", "2");
    let first_digest = Digest::of(&first);
    s.push_manifest("team/app", "v1.2.0", OCI_MANIFEST, &first)
        .expect_status(201);
    // The same manifest again is no move.
    s.push_manifest("team/app", "v1.2.0", OCI_MANIFEST, &first)
        .expect_status(201);
    let refused = s.push_manifest("team/app", "v1.2.0", OCI_MANIFEST, &second);
    refused.expect_error(403, "DENIED");
    assert!(
        refused.text().contains("rule team/*:v*"),
        "{}",
        refused.text()
    );
    let served = s.send("GET", "/v2/team/app/manifests/v1.2.0").call();
    assert_eq!(
        served.header("docker-content-digest"),
        Some(first_digest.to_string().as_str())
    );
    s.send("DELETE", "/v2/team/app/manifests/v1.2.0")
        .call()
        .expect_error(403, "DENIED");
    s.send("DELETE", &format!("/v2/team/app/manifests/{first_digest}"))
        .call()
        .expect_error(403, "DENIED");
    s.send("GET", "/v2/team/app/manifests/v1.2.0")
        .call()
        .expect_status(200);

    // Tags and repositories outside the rule move and go as before.
    s.push_manifest("team/app", "latest", OCI_MANIFEST, &first)
        .expect_status(201);
    s.push_manifest("team/app", "latest", OCI_MANIFEST, &second)
        .expect_status(201);
    s.send("DELETE", "/v2/team/app/manifests/latest")
        .call()
        .expect_status(202);
    let other = image(&s, "team/app/sub", "3");
    let other2 = image(&s, "team/app/sub", "4");
    s.push_manifest("team/app/sub", "v1", OCI_MANIFEST, &other)
        .expect_status(201);
    s.push_manifest("team/app/sub", "v1", OCI_MANIFEST, &other2)
        .expect_status(201);
}

#[test]
fn a_bad_immutability_pattern_is_refused_at_start() {
    let config = Config {
        immutable_tags: vec![ImmutableRuleConfig {
            repository: "team/[".into(),
            tag: "v*".into(),
        }],
        ..Config::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let err = match strata_registry::server::open_embedded(dir.path(), &config) {
        Err(e) => e,
        Ok(_) => panic!("a bad pattern was accepted"),
    };
    assert_eq!(err.to_string(), "immutable tag rule team/[:v*: bad pattern");
}
