//! Garbage collection against a live server: concurrent pushes (shared and fresh blobs,
//! mounts of blobs that are garbage at that moment) while collection runs again and again
//! on its own connection to the data directory; then every pushed image is pulled back and
//! every blob verified. Also: deleted content is freed from disk, and the periodic task.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{file_exists, oci_manifest, pull_and_verify, push_image, TestServer};
use strata_oci::Digest;
use strata_registry::config::GcConfig;
use strata_registry::server::open_embedded;
use strata_registry::{Config, GcPolicy, Registry};

const OCI: &str = "application/vnd.oci.image.manifest.v1+json";

/// Everything collectable now, links of blobs no manifest uses included.
fn policy_now() -> GcPolicy {
    GcPolicy {
        untagged: false,
        grace: Duration::ZERO,
        link_grace: None,
        protected: None,
    }
}

/// Blobs collectable now, but links kept for the length of a push: with a zero link grace
/// a blob's link could go between its push and its manifest's, which then names an unknown
/// blob (as with distribution's GC; the grace period is there for that).
fn policy_racing_pushes() -> GcPolicy {
    GcPolicy {
        link_grace: Some(Duration::from_secs(3600)),
        ..policy_now()
    }
}

fn no_periodic_gc() -> Config {
    let mut config = Config::default();
    config.gc.interval_secs = Some(0);
    config
}

/// Runs collection on its own connection until `stop`; returns how many runs and blobs.
fn gc_loop(data: std::path::PathBuf, stop: Arc<AtomicBool>) -> (usize, usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reg: Registry = open_embedded(&data, &Config::default()).unwrap();
    let (mut runs, mut removed) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        let report = rt
            .block_on(reg.collect_garbage(&policy_racing_pushes(), false))
            .unwrap();
        runs += 1;
        removed += report.blobs.len();
    }
    (runs, removed)
}

/// Keeps blobs `shared-<k>` garbage: links them into `churn` and deletes them again.
fn churn(server: &TestServer, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        for k in 0..3 {
            let d = server.push_blob("churn", format!("shared-{k}").as_bytes());
            let r = server
                .send("DELETE", &format!("/v2/churn/blobs/{d}"))
                .call();
            assert_eq!(r.status, 202, "{}", r.text());
        }
    }
}

#[test]
fn concurrent_pushes_never_lose_a_blob_while_gc_runs() {
    let server = Arc::new(TestServer::start_with(no_periodic_gc()));
    let stop = Arc::new(AtomicBool::new(false));
    let gc = {
        let (data, stop) = (server.data(), stop.clone());
        std::thread::spawn(move || gc_loop(data, stop))
    };
    let churner = {
        let (server, stop) = (server.clone(), stop.clone());
        std::thread::spawn(move || churn(&server, &stop))
    };
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let server = server.clone();
            std::thread::spawn(move || {
                (0..12)
                    .map(|j| push_image(&server, w, j))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let pushed: Vec<_> = workers.into_iter().map(|t| t.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    churner.join().unwrap();
    let (runs, removed) = gc.join().unwrap();
    assert!(runs >= 2, "collection ran {runs} times");
    assert!(removed > 0, "the churned blobs were never collected");
    for images in &pushed {
        for (j, (repo, parts)) in images.iter().enumerate() {
            pull_and_verify(&server, repo, j, parts);
        }
    }
    // After the pushes, one more run (links too) removes only what nothing references.
    let data = server.data();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reg = open_embedded(&data, &Config::default()).unwrap();
    rt.block_on(reg.collect_garbage(&policy_now(), false))
        .unwrap();
    for images in &pushed {
        for (j, (repo, parts)) in images.iter().enumerate() {
            pull_and_verify(&server, repo, j, parts);
        }
    }
}

#[test]
fn a_deleted_image_is_freed_from_disk_and_shared_blobs_stay() {
    let server = TestServer::start_with(no_periodic_gc());
    let (shared, unique, config) = (
        b"layer shared".to_vec(),
        b"layer unique".to_vec(),
        b"{}".to_vec(),
    );
    for blob in [&shared, &unique, &config] {
        server.push_blob("app", blob);
    }
    // `other` uses the shared layer in a manifest of its own (a link alone would be
    // collected too: nothing there uses it).
    let other_config = b"{\"other\":1}".to_vec();
    server.push_blob("other", &shared);
    server.push_blob("other", &other_config);
    let other = oci_manifest(&other_config, &[&shared], serde_json::json!({}));
    assert_eq!(server.push_manifest("other", "v1", OCI, &other).status, 201);
    let manifest = oci_manifest(&config, &[&shared, &unique], serde_json::json!({}));
    let m = Digest::of(&manifest);
    assert_eq!(
        server.push_manifest("app", "v1", OCI, &manifest).status,
        201
    );
    assert_eq!(
        server
            .send("DELETE", &format!("/v2/app/manifests/{m}"))
            .call()
            .status,
        202
    );
    for blob in [&shared, &unique, &config] {
        let r = server
            .send("DELETE", &format!("/v2/app/blobs/{}", Digest::of(blob)))
            .call();
        assert_eq!(r.status, 202, "{}", r.text());
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reg = open_embedded(&server.data(), &Config::default()).unwrap();
    let dry = rt
        .block_on(reg.collect_garbage(&policy_now(), true))
        .unwrap();
    assert_eq!(dry.blobs.len(), 3, "{dry:?}");
    assert!(
        file_exists(&server.data(), &m),
        "a dry run removed something"
    );
    let report = rt
        .block_on(reg.collect_garbage(&policy_now(), false))
        .unwrap();
    let mut freed = report.blobs.clone();
    freed.sort();
    let mut expected = vec![m.clone(), Digest::of(&unique), Digest::of(&config)];
    expected.sort();
    assert_eq!(freed, expected);
    assert_eq!(
        report.bytes,
        (manifest.len() + unique.len() + config.len()) as u64
    );
    for d in &expected {
        assert!(!file_exists(&server.data(), d), "{d} still on disk");
    }
    assert!(file_exists(&server.data(), &Digest::of(&shared)));
    let r = server
        .send("GET", &format!("/v2/other/blobs/{}", Digest::of(&shared)))
        .call();
    assert_eq!(r.body, shared);
}

#[test]
fn serve_collects_garbage_periodically() {
    let config = Config {
        gc: GcConfig {
            untagged: Some(false),
            grace_secs: Some(0),
            link_grace_secs: None,
            interval_secs: Some(1),
        },
        ..Config::default()
    };
    let server = TestServer::start_with(config);
    let kept = server.push_blob("a", b"kept");
    let config = server.push_blob("a", b"{}");
    let manifest = oci_manifest(b"{}", &[b"kept"], serde_json::json!({}));
    assert_eq!(server.push_manifest("a", "v1", OCI, &manifest).status, 201);
    let gone = server.push_blob("a", b"gone");
    let unused = server.push_blob("a", b"unused");
    assert_eq!(
        server
            .send("DELETE", &format!("/v2/a/blobs/{gone}"))
            .call()
            .status,
        202
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while file_exists(&server.data(), &gone) || file_exists(&server.data(), &unused) {
        assert!(
            Instant::now() < deadline,
            "the periodic task did not collect {gone}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(file_exists(&server.data(), &kept) && file_exists(&server.data(), &config));
    let r = server.send("GET", &format!("/v2/a/blobs/{unused}")).call();
    assert_eq!(r.status, 404, "the unused link stayed");
}
