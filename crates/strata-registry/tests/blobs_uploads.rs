//! The blob endpoints over HTTP against a real server: pull with ranges, every way to push
//! (monolithic POST, POST+PUT, streamed and chunked PATCH), out-of-order chunks, status,
//! cancel, mounts, deletes, a digest that does not match, names that are not names, and
//! abandoned uploads expiring.

mod common;

use common::{file_exists, TestServer};
use strata_oci::Digest;
use strata_registry::config::LimitsConfig;
use strata_registry::Config;

#[test]
fn base_endpoint_answers_with_the_api_version() {
    let s = TestServer::start();
    let r = s.send("GET", "/v2/").call();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
}

#[test]
fn monolithic_post_then_get_head_and_ranges() {
    let s = TestServer::start();
    let digest = s.push_blob("a/b", b"hello world");
    let path = format!("/v2/a/b/blobs/{digest}");
    let r = s.send("GET", &path).call();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world"[..]));
    assert_eq!(
        r.header("docker-content-digest"),
        Some(digest.to_string().as_str())
    );
    assert_eq!(r.header("content-length"), Some("11"));
    let r = s.send("HEAD", &path).call();
    assert_eq!((r.status, r.header("content-length")), (200, Some("11")));
    assert!(r.body.is_empty());
    let r = s.send("GET", &path).header("Range", "bytes=6-").call();
    assert_eq!((r.status, r.body.as_slice()), (206, &b"world"[..]));
    assert_eq!(r.header("content-range"), Some("bytes 6-10/11"));
    let r = s.send("GET", &path).header("Range", "bytes=20-30").call();
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */11"));
    // Another repository cannot read it.
    s.send("GET", &format!("/v2/other/blobs/{digest}"))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
    s.send("HEAD", &format!("/v2/other/blobs/{digest}")).call();
}

#[test]
fn session_then_put_with_the_whole_body() {
    let s = TestServer::start();
    let r = s.send("POST", "/v2/r/blobs/uploads/").call();
    assert_eq!(r.status, 202);
    let location = r.header("location").unwrap().to_owned();
    assert!(location.starts_with("/v2/r/blobs/uploads/"), "{location}");
    assert_eq!(r.header("range"), Some("0-0"));
    let digest = Digest::of(b"body");
    let r = s
        .send("PUT", &format!("{location}?digest={digest}"))
        .body(b"body");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/r/blobs/{digest}").as_str())
    );
    assert_eq!(
        s.send("GET", &format!("/v2/r/blobs/{digest}")).call().body,
        b"body"
    );
    // The session is gone once finished.
    s.send("GET", &location)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    assert!(s.uploads_dir_is_empty());
}

#[test]
fn chunked_upload_in_order_out_of_order_and_status() {
    let s = TestServer::start();
    let blob = b"0123456789abcdefghij";
    let location = s.send("POST", "/v2/c/blobs/uploads/").call().headers["location"].clone();
    // The second chunk first: 416 and where the upload stands.
    let r = s
        .send("PATCH", &location)
        .header("Content-Range", "10-19")
        .header("Content-Type", "application/octet-stream")
        .body(&blob[10..]);
    assert_eq!(r.status, 416, "{}", r.text());
    assert_eq!(r.header("range"), Some("0-0"));
    assert_eq!(r.code(), "BLOB_UPLOAD_INVALID");
    let r = s
        .send("PATCH", &location)
        .header("Content-Range", "0-9")
        .body(&blob[..10]);
    assert_eq!((r.status, r.header("range")), (202, Some("0-9")));
    let location = r.headers["location"].clone();
    // The first chunk again: 416, the upload unchanged.
    let r = s
        .send("PATCH", &location)
        .header("Content-Range", "0-9")
        .body(&blob[..10]);
    assert_eq!((r.status, r.header("range")), (416, Some("0-9")));
    let r = s.send("GET", &location).call();
    assert_eq!((r.status, r.header("range")), (204, Some("0-9")));
    assert!(r.header("location").is_some());
    let r = s
        .send("PATCH", &location)
        .header("Content-Range", "10-19")
        .body(&blob[10..]);
    assert_eq!((r.status, r.header("range")), (202, Some("0-19")));
    let digest = Digest::of(blob);
    let r = s
        .send("PUT", &format!("{location}?digest={digest}"))
        .header("Content-Length", "0")
        .body(b"");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        s.send("GET", &format!("/v2/c/blobs/{digest}")).call().body,
        blob
    );
}

#[test]
fn streamed_patch_then_put_with_a_last_chunk() {
    let s = TestServer::start();
    let location = s.send("POST", "/v2/s/blobs/uploads/").call().headers["location"].clone();
    let r = s.send("PATCH", &location).body(b"streamed ");
    assert_eq!((r.status, r.header("range")), (202, Some("0-8")));
    let digest = Digest::of(b"streamed tail");
    let r = s
        .send("PUT", &format!("{location}?digest={digest}"))
        .body(b"tail");
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s.send("GET", &format!("/v2/s/blobs/{digest}")).call();
    assert_eq!(r.body, b"streamed tail");
}

#[test]
fn a_wrong_digest_leaves_nothing_visible() {
    let s = TestServer::start();
    let claimed = Digest::of(b"the real content");
    let r = s
        .send("POST", &format!("/v2/w/blobs/uploads/?digest={claimed}"))
        .body(b"the real conten");
    r.expect_error(400, "DIGEST_INVALID");
    s.send("GET", &format!("/v2/w/blobs/{claimed}"))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
    let location = s.send("POST", "/v2/w/blobs/uploads/").call().headers["location"].clone();
    s.send("PATCH", &location).body(b"cut sho");
    let r = s
        .send("PUT", &format!("{location}?digest={claimed}"))
        .body(b"");
    r.expect_error(400, "DIGEST_INVALID");
    s.send("GET", &location)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    assert!(s.stored_blobs().is_empty(), "{:?}", s.stored_blobs());
    assert!(s.uploads_dir_is_empty());
    assert!(!file_exists(&s.data(), &claimed));
}

#[test]
fn a_chunk_shorter_than_its_content_range_is_416_and_changes_nothing() {
    let s = TestServer::start();
    let location = s.send("POST", "/v2/l/blobs/uploads/").call().headers["location"].clone();
    s.send("PATCH", &location).body(b"abc");
    let r = s
        .send("PATCH", &location)
        .header("Content-Range", "3-12")
        .body(b"defgh");
    assert_eq!(
        (r.status, r.header("range")),
        (416, Some("0-2")),
        "{}",
        r.text()
    );
    assert_eq!(r.code(), "BLOB_UPLOAD_INVALID");
    let r = s.send("GET", &location).call();
    assert_eq!((r.status, r.header("range")), (204, Some("0-2")));
}

#[test]
fn put_without_digest_and_bad_digests_are_refused() {
    let s = TestServer::start();
    let location = s.send("POST", "/v2/d/blobs/uploads/").call().headers["location"].clone();
    s.send("PUT", &location)
        .body(b"x")
        .expect_error(400, "DIGEST_INVALID");
    s.send("GET", "/v2/d/blobs/sha256:nothex")
        .call()
        .expect_error(400, "DIGEST_INVALID");
    s.send("POST", "/v2/d/blobs/uploads/?digest=md5:abc")
        .body(b"x")
        .expect_error(400, "DIGEST_INVALID");
}

#[test]
fn cancel_removes_the_upload() {
    let s = TestServer::start();
    let location = s.send("POST", "/v2/x/blobs/uploads/").call().headers["location"].clone();
    s.send("PATCH", &location).body(b"partial");
    assert_eq!(s.send("DELETE", &location).call().status, 204);
    s.send("GET", &location)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    s.send("DELETE", &location)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    assert!(s.uploads_dir_is_empty());
    // An upload id of another repository is unknown here.
    let other = s.send("POST", "/v2/y/blobs/uploads/").call().headers["location"].clone();
    let id = other.rsplit('/').next().unwrap();
    s.send("GET", &format!("/v2/x/blobs/uploads/{id}"))
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
}

#[test]
fn mounts_from_a_repository_automatically_and_otherwise_a_session() {
    let s = TestServer::start();
    let digest = s.push_blob("src", b"shared layer");
    let r = s
        .send(
            "POST",
            &format!("/v2/dst/blobs/uploads/?mount={digest}&from=src"),
        )
        .body(b"");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/dst/blobs/{digest}").as_str())
    );
    assert_eq!(
        s.send("GET", &format!("/v2/dst/blobs/{digest}"))
            .call()
            .body,
        b"shared layer"
    );
    // Without from: found wherever the registry holds it.
    let r = s
        .send("POST", &format!("/v2/auto/blobs/uploads/?mount={digest}"))
        .body(b"");
    assert_eq!(r.status, 201, "{}", r.text());
    // A digest nobody has, or a source without it: a session instead.
    let unknown = Digest::of(b"nobody");
    let r = s
        .send("POST", &format!("/v2/dst/blobs/uploads/?mount={unknown}"))
        .body(b"");
    assert_eq!(r.status, 202);
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("/v2/dst/blobs/uploads/"));
    let r = s
        .send(
            "POST",
            &format!("/v2/dst2/blobs/uploads/?mount={digest}&from=empty"),
        )
        .body(b"");
    assert_eq!(r.status, 202);
}

#[test]
fn deleting_a_blob_hides_it_from_that_repository_only() {
    let s = TestServer::start();
    let digest = s.push_blob("one", b"blob to delete");
    s.push_blob("two", b"blob to delete");
    assert_eq!(
        s.send("DELETE", &format!("/v2/one/blobs/{digest}"))
            .call()
            .status,
        202
    );
    s.send("GET", &format!("/v2/one/blobs/{digest}"))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
    s.send("DELETE", &format!("/v2/one/blobs/{digest}"))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
    assert_eq!(
        s.send("GET", &format!("/v2/two/blobs/{digest}"))
            .call()
            .status,
        200
    );
}

#[test]
fn names_outside_the_grammar_are_name_invalid_and_touch_nothing() {
    let s = TestServer::start();
    let digest = Digest::of(b"x");
    for path in [
        format!("/v2/a/../b/blobs/{digest}"),
        format!("/v2/../blobs/{digest}"),
        format!("/v2/UPPER/blobs/{digest}"),
        "/v2/a/%2e%2e/b/blobs/uploads/".to_owned(),
    ] {
        let (status, body) = s.raw("GET", &path);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("NAME_INVALID"), "{path}: {body}");
    }
    let (status, body) = s.raw("POST", "/v2/a/../../etc/blobs/uploads/");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("NAME_INVALID"), "{body}");
    assert!(s.uploads_dir_is_empty());
}

#[test]
fn unsupported_methods_are_405_unsupported() {
    let s = TestServer::start();
    s.send("POST", "/v2/m/tags/list")
        .body(b"")
        .expect_error(405, "UNSUPPORTED");
    s.send("PATCH", "/v2/m/manifests/latest")
        .body(b"")
        .expect_error(405, "UNSUPPORTED");
}

#[test]
fn abandoned_uploads_expire() {
    let config = Config {
        limits: LimitsConfig {
            upload_expiry_secs: Some(1),
            ..LimitsConfig::default()
        },
        ..Config::default()
    };
    let s = TestServer::start_with(config);
    let location = s.send("POST", "/v2/e/blobs/uploads/").call().headers["location"].clone();
    s.send("PATCH", &location).body(b"left behind");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.send("GET", &location).call().status == 204 {
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never expired"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    s.send("GET", &location)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    assert!(s.uploads_dir_is_empty());
}
