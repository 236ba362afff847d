//! The scaled-out registry for real: a throwaway PostgreSQL (metadata) and a throwaway Garage
//! (blobs, S3 API), and two `Server`s on two ports sharing them, as two replicas behind a
//! load balancer would. Content pushed through one is served by the other, an upload moves
//! between them chunk by chunk, deletes and tag rules hold across them, and garbage
//! collection on one never takes a blob from a push on either.
//!
//! Each test fails loudly when PostgreSQL's or Garage's binaries are missing (CI installs
//! both in .ci/run): a test that cannot run must not pass.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{oci_manifest, pull_and_verify, push_image, TestServer};
use strata_oci::Digest;
use strata_registry::server::open;
use strata_registry::{Config, GcPolicy};
use strata_testkit::garage::{TestGarage, BUCKET, REGION};
use strata_testkit::postgres::TestPostgres;

const OCI: &str = "application/vnd.oci.image.manifest.v1+json";

/// PostgreSQL and Garage, shared by the replicas of one test.
struct Shared {
    postgres: TestPostgres,
    garage: TestGarage,
}

impl Shared {
    fn start_required() -> Shared {
        let postgres = TestPostgres::start_required();
        let garage = TestGarage::start_required();
        Shared { postgres, garage }
    }

    /// The replicas' config (TOML, as a user writes it): no periodic GC, `team/*:v*` tags
    /// immutable.
    fn config(&self) -> Config {
        self.config_with("")
    }

    /// [`Shared::config`] with `extra` TOML appended.
    fn config_with(&self, extra: &str) -> Config {
        let text = format!(
            "[storage]\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nendpoint = \"{}\"\n\
             region = \"{REGION}\"\nprefix = \"registry\"\naccess_key_id = \"{}\"\n\
             secret_access_key = \"{}\"\nallow_http = true\n\n\
             [metadata]\nkind = \"postgres\"\nurl = \"{}\"\n\n\
             [gc]\ninterval_secs = 0\n\n\
             [[immutable_tags]]\nrepository = \"team/*\"\ntag = \"v*\"\n{extra}",
            self.garage.endpoint(),
            self.garage.key_id(),
            self.garage.secret(),
            self.postgres.url(),
        );
        Config::parse(Path::new("replica.toml"), &text).unwrap()
    }

    /// The keys in the bucket under `prefix`, read straight from Garage's S3 API.
    fn keys(&self, prefix: &str) -> Vec<String> {
        use futures_util::TryStreamExt;
        use object_store::ObjectStore;
        let s3 = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(self.garage.endpoint())
            .with_region(REGION)
            .with_access_key_id(self.garage.key_id())
            .with_secret_access_key(self.garage.secret())
            .with_allow_http(true)
            .build()
            .unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let prefix = object_store::path::Path::from(prefix);
        let mut keys: Vec<String> = rt
            .block_on(s3.list(Some(&prefix)).try_collect::<Vec<_>>())
            .unwrap()
            .into_iter()
            .map(|m| m.location.to_string())
            .collect();
        keys.sort();
        keys
    }

    /// Two replicas, started at once (both create/migrate the schema).
    fn replicas(&self) -> (TestServer, TestServer) {
        let (a, b) = (self.config(), self.config());
        let a = std::thread::spawn(move || TestServer::start_with(a));
        let b = TestServer::start_with(b);
        (a.join().unwrap(), b)
    }
}

fn location(r: &common::Resp) -> String {
    r.header("location")
        .unwrap_or_else(|| panic!("no Location: {}", r.text()))
        .to_owned()
}

#[test]
fn two_replicas_serve_one_registry() {
    let shared = Shared::start_required();
    let (a, b) = shared.replicas();

    // Pushed on A, pulled on B, byte for byte, whole and ranged.
    let (config, layer) = (b"{\"a\":1}".to_vec(), b"layer bytes on A".to_vec());
    a.push_blob("app", &config);
    let layer_digest = a.push_blob("app", &layer);
    let manifest = oci_manifest(&config, &[&layer], serde_json::json!({}));
    a.push_manifest("app", "latest", OCI, &manifest)
        .expect_status(201);
    let r = b.send("GET", "/v2/app/manifests/latest").call();
    r.expect_status(200);
    assert_eq!(r.body, manifest);
    let r = b
        .send("GET", &format!("/v2/app/blobs/{layer_digest}"))
        .call();
    assert_eq!(r.body, layer);
    let r = b
        .send("GET", &format!("/v2/app/blobs/{layer_digest}"))
        .header("Range", "bytes=6-10")
        .call();
    assert_eq!((r.status, r.body.as_slice()), (206, &layer[6..11]));

    // A chunked upload started on A, continued on B, finished on A, checked on B.
    let blob: Vec<u8> = (0..3000u32).flat_map(|i| i.to_le_bytes()).collect();
    let r = a.send("POST", "/v2/app/blobs/uploads/").body(b"");
    let mut at = location(&r);
    for (i, chunk) in blob.chunks(5000).enumerate() {
        let server = if i.is_multiple_of(2) { &b } else { &a };
        let start = i * 5000;
        let r = server
            .send("PATCH", &at)
            .header(
                "Content-Range",
                &format!("{start}-{}", start + chunk.len() - 1),
            )
            .body(chunk);
        assert_eq!(r.status, 202, "chunk {i}: {}", r.text());
        at = location(&r);
    }
    let id = at.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        shared.keys(&format!("registry/uploads/{id}")).len(),
        1 + 3,
        "the marker and one part per chunk"
    );
    let r = b.send("GET", &at).call();
    let range = format!("0-{}", blob.len() - 1);
    assert_eq!((r.status, r.header("range")), (204, Some(range.as_str())));
    // Out of order on the other replica: 416 with where the upload stands.
    let r = a
        .send("PATCH", &at)
        .header("Content-Range", "0-3")
        .body(b"late");
    assert_eq!((r.status, r.header("range")), (416, Some(range.as_str())));
    let digest = Digest::of(&blob);
    let r = a.send("PUT", &format!("{at}?digest={digest}")).body(b"");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        b.send("GET", &format!("/v2/app/blobs/{digest}"))
            .call()
            .body,
        blob
    );
    b.send("GET", &at)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    assert_eq!(
        shared.keys(&format!("registry/uploads/{id}")),
        Vec::<String>::new()
    );
    assert!(shared
        .keys("registry/blobs/sha256")
        .contains(&format!("registry/blobs/sha256/{}", digest.hex())));

    // A wrong digest makes nothing visible, on either replica.
    let r = b.send("POST", "/v2/app/blobs/uploads/").body(b"");
    let at = location(&r);
    let claimed = Digest::of(b"what the client claims");
    let r = a
        .send("PUT", &format!("{at}?digest={claimed}"))
        .body(b"other bytes");
    r.expect_error(400, "DIGEST_INVALID");
    for s in [&a, &b] {
        s.send("HEAD", &format!("/v2/app/blobs/{claimed}"))
            .call()
            .expect_status(404);
    }
    assert!(!shared
        .keys("registry/blobs")
        .iter()
        .any(|k| k.ends_with(claimed.hex())));
    // Chunks racing for the same offset through both replicas: one wins, the others are
    // told where the upload stands (the upload is held across replicas, not only per process).
    let r = a.send("POST", "/v2/app/blobs/uploads/").body(b"");
    let at = location(&r);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..6)
            .map(|i| {
                let (server, at) = (if i % 2 == 0 { &a } else { &b }, &at);
                scope.spawn(move || {
                    server
                        .send("PATCH", at)
                        .header("Content-Range", "0-9")
                        .body(format!("racer-{i:04}").as_bytes())
                        .status
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [202, 416].contains(s)),
        "{statuses:?}"
    );
    let r = b.send("GET", &at).call();
    assert_eq!((r.status, r.header("range")), (204, Some("0-9")));
    b.send("DELETE", &at).call().expect_status(204);
    // A cancelled upload leaves nothing behind.
    let r = a.send("POST", "/v2/app/blobs/uploads/").body(b"");
    let at = location(&r);
    let r = b.send("PATCH", &at).body(b"abandoned");
    assert_eq!(r.status, 202, "{}", r.text());
    a.send("DELETE", &at).call().expect_status(204);
    assert_eq!(shared.keys("registry/uploads"), Vec::<String>::new());

    // Tags, catalog and referrers pushed on either are listed by both.
    b.push_manifest("app", "stable", OCI, &manifest)
        .expect_status(201);
    let referrer = oci_manifest(
        &config,
        &[&layer],
        serde_json::json!({"subject": {"mediaType": OCI, "digest": Digest::of(&manifest).to_string(), "size": manifest.len()}, "artifactType": "application/x-sig"}),
    );
    b.push_manifest("app", &Digest::of(&referrer).to_string(), OCI, &referrer)
        .expect_status(201);
    for s in [&a, &b] {
        let tags = s.send("GET", "/v2/app/tags/list").call().json();
        assert_eq!(tags["tags"], serde_json::json!(["latest", "stable"]));
        let catalog = s.send("GET", "/v2/_catalog").call().json();
        assert_eq!(catalog["repositories"], serde_json::json!(["app"]));
        let page = s.send("GET", "/v2/app/tags/list?n=1").call();
        assert_eq!(page.json()["tags"], serde_json::json!(["latest"]));
        let index = s
            .send(
                "GET",
                &format!("/v2/app/referrers/{}", Digest::of(&manifest)),
            )
            .call()
            .json();
        assert_eq!(
            index["manifests"][0]["digest"],
            Digest::of(&referrer).to_string()
        );
    }

    // Deletes on one are seen by the other.
    b.send("DELETE", "/v2/app/manifests/stable")
        .call()
        .expect_status(202);
    a.send("GET", "/v2/app/manifests/stable")
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    a.send("DELETE", &format!("/v2/app/blobs/{digest}"))
        .call()
        .expect_status(202);
    b.send("GET", &format!("/v2/app/blobs/{digest}"))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");

    // An immutable tag pushed on A cannot be moved or deleted through B.
    for blob in [&config, &layer] {
        a.push_blob("team/app", blob);
    }
    a.push_manifest("team/app", "v1", OCI, &manifest)
        .expect_status(201);
    let other = oci_manifest(&config, &[], serde_json::json!({}));
    b.push_manifest("team/app", "v1", OCI, &other)
        .expect_error(403, "DENIED");
    b.send("DELETE", "/v2/team/app/manifests/v1")
        .call()
        .expect_error(403, "DENIED");
    let r = a.send("GET", "/v2/team/app/manifests/v1").call();
    assert_eq!(r.body, manifest);
}

#[test]
fn a_large_blob_goes_through_multipart_uploads_across_replicas() {
    let shared = Shared::start_required();
    let (a, b) = shared.replicas();
    // 20 MiB in two chunks of 10 MiB (each above the one-PUT size), on two replicas.
    let blob: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
    let r = a.send("POST", "/v2/big/blobs/uploads/").body(b"");
    let at = location(&r);
    let half = blob.len() / 2;
    let r = a
        .send("PATCH", &at)
        .header("Content-Range", &format!("0-{}", half - 1))
        .body(&blob[..half]);
    assert_eq!(r.status, 202, "{}", r.text());
    let at = location(&r);
    let digest = Digest::of(&blob);
    let r = b
        .send("PUT", &format!("{at}?digest={digest}"))
        .body(&blob[half..]);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = a.send("GET", &format!("/v2/big/blobs/{digest}")).call();
    assert_eq!(r.body.len(), blob.len());
    assert!(r.body == blob, "the large blob came back different");
    let r = b
        .send("GET", &format!("/v2/big/blobs/{digest}"))
        .header("Range", &format!("bytes={}-{}", half - 2, half + 1))
        .call();
    assert_eq!(
        (r.status, r.body.as_slice()),
        (206, &blob[half - 2..half + 2])
    );
}

/// No grace for blobs and manifests; an hour for links no manifest uses yet (pushes race
/// these runs: a blob pushed a moment before its manifest must keep its link).
fn policy_now() -> GcPolicy {
    GcPolicy {
        untagged: false,
        grace: Duration::ZERO,
        link_grace: Some(Duration::from_secs(3600)),
        protected: None,
    }
}

#[test]
fn concurrent_pushes_to_both_replicas_never_lose_a_blob_while_gc_runs() {
    let shared = Shared::start_required();
    let (a, b) = shared.replicas();
    let (a, b) = (Arc::new(a), Arc::new(b));
    let stop = Arc::new(AtomicBool::new(false));
    // Collection runs again and again beside the replicas, on its own connections.
    let gc = {
        let (config, stop) = (shared.config(), stop.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let registry = rt.block_on(open(&config, Path::new("unused"))).unwrap();
            let (mut runs, mut removed) = (0, 0);
            while !stop.load(Ordering::Relaxed) {
                let report = rt
                    .block_on(registry.collect_garbage(&policy_now(), false))
                    .unwrap();
                runs += 1;
                removed += report.blobs.len();
            }
            (runs, removed)
        })
    };
    // Keeps the shared layers garbage until an image uses them, and makes fresh garbage:
    // blobs linked through B and deleted again.
    let churner = {
        let (b, stop) = (b.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let garbage = format!("garbage-{n}");
                for blob in ["shared-0", "shared-1", "shared-2", &garbage] {
                    let d = b.push_blob("churn", blob.as_bytes());
                    b.send("DELETE", &format!("/v2/churn/blobs/{d}"))
                        .call()
                        .expect_status(202);
                }
            }
        })
    };
    let workers: Vec<_> = (0..4usize)
        .map(|w| {
            let server = if w.is_multiple_of(2) {
                a.clone()
            } else {
                b.clone()
            };
            std::thread::spawn(move || {
                (0..8)
                    .map(|j| push_image(&server, w, j))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let pushed: Vec<_> = workers.into_iter().map(|t| t.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    churner.join().unwrap();
    let (runs, mut removed) = gc.join().unwrap();
    assert!(runs >= 2, "collection ran {runs} times");
    // Every image is whole, through either replica.
    for images in &pushed {
        for (j, (repo, parts)) in images.iter().enumerate() {
            pull_and_verify(&a, repo, j, parts);
            pull_and_verify(&b, repo, j, parts);
        }
    }
    // One more run after the pushes removes only what nothing references.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let registry = rt
        .block_on(open(&shared.config(), Path::new("unused")))
        .unwrap();
    let report = rt
        .block_on(registry.collect_garbage(&policy_now(), false))
        .unwrap();
    removed += report.blobs.len();
    assert!(removed > 0, "the churned garbage was never collected");
    for images in &pushed {
        for (j, (repo, parts)) in images.iter().enumerate() {
            pull_and_verify(&b, repo, j, parts);
        }
    }
}

/// Opens `toml` as a config the way `serve` does; the error's message chain.
fn open_error(toml: &str) -> String {
    let config = Config::parse(Path::new("r.toml"), toml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Err(err) = rt.block_on(open(&config, &dir.path().join("data"))) else {
        panic!("{toml} was accepted");
    };
    assert!(
        !dir.path().join("data").exists(),
        "a refused config wrote to the data dir"
    );
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[test]
fn mixed_backends_a_data_dir_and_missing_credentials_are_refused() {
    let s3 = "[storage]\nkind = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9\"\nallow_http = true\n";
    let pg = "[metadata]\nkind = \"postgres\"\nurl = \"postgres://x@127.0.0.1:9/x\"\n";
    let err = open_error(s3);
    assert!(
        err.contains("storage kind \"s3\" with metadata kind \"sqlite\" is refused"),
        "{err}"
    );
    let err = open_error(pg);
    assert!(
        err.contains("storage kind \"filesystem\" with metadata kind \"postgres\""),
        "{err}"
    );
    let err = open_error(&format!("data = \"/srv/r\"\n{s3}{pg}"));
    assert!(err.contains("/srv/r is not used with s3 storage"), "{err}");
    let err = open_error(&format!("{s3}{pg}[auth]\n"));
    assert!(err.contains("[auth] needs token_key_file"), "{err}");
    let half = format!("{s3}access_key_id = \"k\"\n{pg}");
    let err = open_error(&half);
    assert!(
        err.contains("only one of access_key_id and secret_access_key"),
        "{err}"
    );
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        let err = open_error(&format!("{s3}{pg}"));
        assert!(err.contains("no S3 credentials"), "{err}");
    }
}

#[test]
fn gc_frees_deleted_and_untagged_content_from_the_bucket_and_keeps_the_rest() {
    let shared = Shared::start_required();
    let (a, b) = shared.replicas();
    let (kept, unique, config) = (
        b"layer kept".to_vec(),
        b"layer unique".to_vec(),
        b"{}".to_vec(),
    );
    for blob in [&kept, &unique, &config] {
        a.push_blob("app", blob);
    }
    b.push_blob("other", &kept);
    // A deleted image: its manifest and the blobs only it used go.
    let image = oci_manifest(&config, &[&kept, &unique], serde_json::json!({}));
    let image_digest = Digest::of(&image);
    a.push_manifest("app", "v1", OCI, &image).expect_status(201);
    b.send("DELETE", &format!("/v2/app/manifests/{image_digest}"))
        .call()
        .expect_status(202);
    for blob in [&kept, &unique, &config] {
        b.send("DELETE", &format!("/v2/app/blobs/{}", Digest::of(blob)))
            .call()
            .expect_status(202);
    }
    // An untagged manifest goes; a tagged index keeps its untagged child.
    b.push_blob("idx", &config);
    let child = oci_manifest(&config, &[], serde_json::json!({"annotations": {"c": "1"}}));
    let loose = oci_manifest(&config, &[], serde_json::json!({"annotations": {"c": "2"}}));
    for m in [&child, &loose] {
        b.push_manifest("idx", &Digest::of(m).to_string(), OCI, m)
            .expect_status(201);
    }
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": OCI, "digest": Digest::of(&child).to_string(), "size": child.len()}],
    }))
    .unwrap();
    a.push_manifest(
        "idx",
        "latest",
        "application/vnd.oci.image.index.v1+json",
        &index,
    )
    .expect_status(201);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let registry = rt
        .block_on(open(&shared.config(), Path::new("unused")))
        .unwrap();
    let policy = GcPolicy {
        untagged: true,
        ..policy_now()
    };
    let report = rt
        .block_on(registry.collect_garbage(&policy, false))
        .unwrap();
    let names: Vec<_> = report
        .manifests
        .iter()
        .map(|(n, d)| format!("{n}@{d}"))
        .collect();
    assert_eq!(names, vec![format!("idx@{}", Digest::of(&loose))]);
    let mut freed = report.blobs.clone();
    freed.sort();
    let mut expected = vec![image_digest, Digest::of(&unique), Digest::of(&loose)];
    expected.sort();
    assert_eq!(freed, expected);
    let stored = shared.keys("registry/blobs");
    for d in &expected {
        assert!(
            !stored.iter().any(|k| k.ends_with(d.hex())),
            "{d} still in the bucket"
        );
    }
    for s in [&a, &b] {
        let r = s
            .send("GET", &format!("/v2/other/blobs/{}", Digest::of(&kept)))
            .call();
        assert_eq!(r.body, kept);
        let r = s
            .send("GET", &format!("/v2/idx/manifests/{}", Digest::of(&child)))
            .call();
        assert_eq!(r.body, child);
        s.send("GET", &format!("/v2/idx/manifests/{}", Digest::of(&loose)))
            .call()
            .expect_error(404, "MANIFEST_UNKNOWN");
    }
}

#[test]
fn an_abandoned_upload_expires_from_the_bucket_and_the_database() {
    let shared = Shared::start_required();
    let config = shared.config_with("[limits]\nupload_expiry_secs = 2\n");
    let (a, b) = (
        TestServer::start_with(config.clone()),
        TestServer::start_with(config),
    );
    let r = a.send("POST", "/v2/app/blobs/uploads/").body(b"");
    let at = location(&r);
    let r = b.send("PATCH", &at).body(b"left behind");
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(shared.keys("registry/uploads").len(), 2);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !shared.keys("registry/uploads").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the abandoned upload was never removed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for s in [&a, &b] {
        s.send("GET", &at)
            .call()
            .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    }
}

#[test]
fn with_auth_replicas_share_the_token_key_and_robot_accounts() {
    let shared = Shared::start_required();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("token.key");
    std::fs::write(&key, b"a key both replicas read, at least 32 bytes long").unwrap();
    let config = shared.config_with(&format!("[auth]\ntoken_key_file = {key:?}\n"));
    let (a, b) = (
        TestServer::start_with(config.clone()),
        TestServer::start_with(config.clone()),
    );
    // A robot account created in PostgreSQL after both started (as `strata registry robot
    // create --config` does) logs in through either.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let secret = rt.block_on(async {
        let (_, meta) = strata_registry::server::open_stores(Path::new("unused"), &config)
            .await
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let actions = ["pull".to_owned(), "push".to_owned()];
        strata_registry::auth::robots::create(
            meta.as_ref(),
            "ci",
            &["ci/**".to_owned()],
            &actions,
            None,
            now,
        )
        .await
        .unwrap()
        .secret
    });
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("robot$ci:{secret}"))
    );
    b.send("GET", "/v2/ci/app/tags/list")
        .call()
        .expect_error(401, "UNAUTHORIZED");
    // A token issued by A opens B.
    let r = a
        .send(
            "GET",
            "/token?service=strata-registry&scope=repository%3Aci%2Fapp%3Apull%2Cpush",
        )
        .header("Authorization", &basic)
        .call();
    r.expect_status(200);
    let token = r.json()["token"].as_str().unwrap().to_owned();
    let blob = b"pushed through B with A's token";
    let digest = Digest::of(blob);
    let r = b
        .send(
            "POST",
            &format!("/v2/ci/app/blobs/uploads/?digest={digest}"),
        )
        .header("Authorization", &format!("Bearer {token}"))
        .body(blob);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = a
        .send("GET", &format!("/v2/ci/app/blobs/{digest}"))
        .header("Authorization", &basic)
        .call();
    assert_eq!(r.body, blob);
    // Outside its repositories the robot is denied on both.
    for s in [&a, &b] {
        s.send("GET", "/v2/team/app/tags/list")
            .header("Authorization", &basic)
            .call()
            .expect_error(403, "DENIED");
    }
}

/// Pushes an image of `layers` as `repo:tag` on `server`; its digest.
fn push_layers(server: &TestServer, repo: &str, tag: &str, layers: &[&[u8]]) -> String {
    let config =
        format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"tag\":\"{repo}:{tag}\"}}");
    server.push_blob(repo, config.as_bytes());
    for l in layers {
        server.push_blob(repo, l);
    }
    let manifest = oci_manifest(config.as_bytes(), layers, serde_json::json!({}));
    let r = server.push_manifest(repo, tag, OCI, &manifest);
    r.expect_status(201);
    r.header("docker-content-digest").unwrap().to_owned()
}

/// The names of the dependents of `image` as `server` answers them.
fn dependents(server: &TestServer, image: &str) -> Vec<String> {
    let r = server
        .send(
            "GET",
            &format!("/strata/v1/lineage/dependents?image={image}"),
        )
        .call();
    r.expect_status(200);
    let mut names: Vec<String> = r.json()["dependents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["names"][0].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn replicas_share_labels_and_each_lineage_index_follows_the_others_pushes() {
    let shared = Shared::start_required();
    let (a, b) = shared.replicas();
    push_layers(&a, "base/os", "1", &[b"gov-os"]);
    // B builds its index now, before A's next pushes.
    assert!(dependents(&b, "base/os:1").is_empty());
    push_layers(&a, "apps/one", "v1", &[b"gov-os", b"gov-one"]);
    let two = push_layers(&b, "apps/two", "v1", &[b"gov-os", b"gov-two"]);
    for server in [&a, &b] {
        assert_eq!(
            dependents(server, "base/os:1"),
            ["apps/one:v1", "apps/two:v1"]
        );
    }
    // A label set on one replica is read on the other; so is a promotion.
    b.send(
        "PUT",
        "/strata/v1/repositories/apps/one/-/images/v1/labels/maybe_prod",
    )
    .body(b"")
    .expect_status(200);
    let image = a
        .send("GET", "/strata/v1/repositories/apps/one/-/images/v1")
        .call();
    assert_eq!(image.json()["labels"], serde_json::json!(["maybe_prod"]));
    // A tag added on A (no new image) renames the node in B's index.
    let body = a.send("GET", "/v2/apps/one/manifests/v1").call().body;
    a.push_manifest("apps/one", "stable", OCI, &body)
        .expect_status(201);
    let r = b
        .send("GET", "/strata/v1/lineage/tree?root=base/os%3A1")
        .call();
    r.expect_status(200);
    assert!(r.text().contains("apps/one:stable"), "{}", r.text());
    // A delete on A leaves B's index at the next query.
    a.send("DELETE", &format!("/v2/apps/two/manifests/{two}"))
        .call()
        .expect_status(202);
    // (names sorted: `stable` before `v1`)
    assert_eq!(dependents(&b, "base/os:1"), ["apps/one:stable"]);
}
