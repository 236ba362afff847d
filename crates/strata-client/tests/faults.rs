//! The client against a misbehaving registry (strata-testkit's `FaultyRegistry`): each bad
//! answer is a clear error naming the registry and the reference or digest, and nothing is
//! stored (no blob, no temp file); a cut connection resumes with `Range`; 429 and 5xx are
//! retried, honouring a bounded `Retry-After`.

mod common;

use std::time::{Duration, Instant};

use common::{chain, files_under, repo, tag, OCI_MANIFEST};
use serde_json::json;
use strata_client::{ClientError, Registry, RegistryOptions, RetryPolicy};
use strata_content::Store;
use strata_distribution::{ManifestRef, MediaError, RepositoryName};
use strata_oci::Digest;
use strata_testkit::faulty::{Fault, FaultyRegistry, Target};
use strata_testkit::noise_bytes;

const LAYER_SIZE: usize = 100_000;

/// A faulty registry serving `strata/app:v1` (a manifest, its config and one layer).
struct Fixture {
    server: FaultyRegistry,
    reg: Registry,
    name: RepositoryName,
    layer: Vec<u8>,
    layer_digest: Digest,
    manifest: Vec<u8>,
    _dir: tempfile::TempDir,
    store: Store,
}

fn fixture() -> Fixture {
    let server = FaultyRegistry::start("strata/app");
    let layer = noise_bytes(LAYER_SIZE);
    let layer_digest: Digest = server.put_blob(&layer).parse().unwrap();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = server.put_blob(config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest.to_string(), "size": LAYER_SIZE}],
    }))
    .unwrap();
    server.put_manifest("v1", OCI_MANIFEST, &manifest);
    let options = RegistryOptions {
        retry: RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        },
        ..RegistryOptions::default()
    };
    let reg = Registry::connect(&server.host(), options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("root")).unwrap();
    Fixture {
        server,
        reg,
        name: repo("strata/app"),
        layer,
        layer_digest,
        manifest,
        _dir: dir,
        store,
    }
}

impl Fixture {
    fn fetch_layer(&self, size: Option<u64>) -> Result<strata_client::FetchedBlob, ClientError> {
        self.reg
            .fetch_blob(&self.name, &self.layer_digest, size, &self.store)
    }

    fn layer_ref(&self) -> String {
        format!("strata/app@{}", self.layer_digest)
    }

    /// Nothing in the store: no blob, no temp file.
    fn assert_nothing_stored(&self) {
        let root = self.store.root();
        assert_eq!(files_under(&root.join("blobs")), Vec::<String>::new());
        assert_eq!(files_under(&root.join("tmp")), Vec::<String>::new());
        assert!(!self.store.has_blob(&self.layer_digest));
    }

    fn blob_requests(&self) -> Vec<strata_testkit::http::HttpRequest> {
        let path = format!("/v2/strata/app/blobs/{}", self.layer_digest);
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path() == path)
            .collect()
    }
}

#[test]
fn a_truncated_blob_is_rejected_and_nothing_is_stored() {
    let f = fixture();
    f.server
        .fault(Target::Blob, Fault::Truncate(LAYER_SIZE / 2));
    let err = f.fetch_layer(Some(LAYER_SIZE as u64)).unwrap_err();
    match &err {
        ClientError::SizeMismatch {
            registry,
            reference,
            expected,
            actual,
        } => {
            assert_eq!(registry, &f.server.host());
            assert_eq!(reference, &f.layer_ref());
            assert_eq!(
                (*expected, *actual),
                (LAYER_SIZE as u64, LAYER_SIZE as u64 / 2)
            );
        }
        other => panic!("expected SizeMismatch, got {other:?}"),
    }
    f.assert_nothing_stored();

    // Without a known size, the digest catches it.
    f.server.fault(Target::Blob, Fault::Truncate(10));
    let err = f.fetch_layer(None).unwrap_err();
    assert!(
        matches!(&err, ClientError::DigestMismatch { expected, .. } if expected == &f.layer_digest),
        "{}",
        chain(&err)
    );
    f.assert_nothing_stored();
}

#[test]
fn a_corrupted_blob_is_a_digest_mismatch_naming_the_blob_and_nothing_is_stored() {
    let f = fixture();
    f.server.fault(Target::Blob, Fault::Corrupt);
    let err = f.fetch_layer(Some(LAYER_SIZE as u64)).unwrap_err();
    let text = chain(&err);
    match &err {
        ClientError::DigestMismatch {
            registry,
            reference,
            expected,
            actual,
        } => {
            assert_eq!(registry, &f.server.host());
            assert_eq!(reference, &f.layer_ref());
            assert_eq!(expected, &f.layer_digest);
            assert_ne!(actual, &f.layer_digest);
        }
        _ => panic!("expected DigestMismatch, got {text}"),
    }
    assert!(text.contains(&f.layer_digest.to_string()), "{text}");
    f.assert_nothing_stored();
    // The next, sound answer is stored.
    assert!(!f.fetch_layer(Some(LAYER_SIZE as u64)).unwrap().skipped);
    assert_eq!(f.store.read_blob(&f.layer_digest).unwrap(), f.layer);
}

#[test]
fn a_wrong_docker_content_digest_on_a_manifest_is_refused() {
    let f = fixture();
    f.server.fault(Target::Manifest, Fault::WrongDigest);
    let err = f.reg.get_manifest(&f.name, &tag("v1")).unwrap_err();
    match &err {
        ClientError::DigestMismatch {
            registry,
            reference,
            actual,
            ..
        } => {
            assert_eq!(registry, &f.server.host());
            assert_eq!(reference, "strata/app:v1");
            assert_eq!(actual, &Digest::of(&f.manifest));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    // By digest, a body that is not the digest's is refused even with a matching header.
    let by_digest = ManifestRef::Digest(Digest::of(&f.manifest));
    f.server.fault(
        Target::Manifest,
        Fault::Body(b"{\"schemaVersion\":2}".to_vec()),
    );
    let err = f.reg.get_manifest(&f.name, &by_digest).unwrap_err();
    assert!(
        matches!(&err, ClientError::DigestMismatch { expected, .. } if expected == &Digest::of(&f.manifest)),
        "{}",
        chain(&err)
    );
}

#[test]
fn an_html_page_is_an_error_saying_so_and_nothing_is_stored() {
    let f = fixture();
    f.server.fault(Target::Manifest, Fault::Html);
    let err = f.reg.get_manifest(&f.name, &tag("v1")).unwrap_err();
    let text = chain(&err);
    assert!(
        matches!(&err, ClientError::Html { registry, target, .. }
            if registry == &f.server.host() && target.ends_with("/v2/strata/app/manifests/v1")),
        "{text}"
    );
    assert!(text.contains("HTML page"), "{text}");

    f.server.fault(Target::Blob, Fault::Html);
    let err = f.fetch_layer(Some(LAYER_SIZE as u64)).unwrap_err();
    assert!(matches!(err, ClientError::Html { .. }), "{}", chain(&err));
    f.assert_nothing_stored();

    // A captive portal answering the /v2/ ping.
    f.server.fault(Target::Ping, Fault::Html);
    let err = Registry::connect(&f.server.host(), RegistryOptions::default()).unwrap_err();
    assert!(matches!(err, ClientError::Html { .. }), "{}", chain(&err));
}

#[test]
fn a_cut_connection_resumes_with_range_and_fetches_only_the_rest() {
    let f = fixture();
    f.server.fault(Target::Blob, Fault::CutAfter(30_000));
    f.server.fault(Target::Blob, Fault::CutAfter(20_000));
    let got = f.fetch_layer(Some(LAYER_SIZE as u64)).unwrap();
    assert_eq!((got.size, got.skipped), (LAYER_SIZE as u64, false));
    assert_eq!(f.store.read_blob(&f.layer_digest).unwrap(), f.layer);
    let ranges: Vec<Option<String>> = f
        .blob_requests()
        .iter()
        .map(|r| r.header("range").map(str::to_owned))
        .collect();
    assert_eq!(
        ranges,
        [
            None,
            Some("bytes=30000-".into()),
            Some("bytes=50000-".into())
        ],
        "each retry asks only for what is missing"
    );
    assert_eq!(
        files_under(&f.store.root().join("tmp")),
        Vec::<String>::new()
    );
}

#[test]
fn a_connection_cut_again_and_again_gives_up_naming_the_registry_and_stores_nothing() {
    let f = fixture();
    for _ in 0..4 {
        f.server.fault(Target::Blob, Fault::CutAfter(1000));
    }
    let err = f.fetch_layer(Some(LAYER_SIZE as u64)).unwrap_err();
    let text = chain(&err);
    assert!(
        matches!(&err, ClientError::Read { registry, target, .. }
            if registry == &f.server.host() && target.contains(&f.layer_digest.to_string())),
        "{text}"
    );
    assert_eq!(
        f.blob_requests().len(),
        4,
        "the first try and three resumes"
    );
    f.assert_nothing_stored();
}

#[test]
fn too_many_requests_waits_the_retry_after_it_is_told_but_no_longer_than_the_bound() {
    let f = fixture();
    f.server.fault(
        Target::Manifest,
        Fault::Status {
            status: 429,
            retry_after: Some("1".into()),
        },
    );
    let start = Instant::now();
    f.reg.get_manifest(&f.name, &tag("v1")).unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(1), "{waited:?}");

    // An hour is bounded by the policy's max_delay (1 s here); a past date means now.
    f.server.fault(
        Target::Manifest,
        Fault::Status {
            status: 429,
            retry_after: Some("3600".into()),
        },
    );
    f.server.fault(
        Target::Manifest,
        Fault::Status {
            status: 429,
            retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
        },
    );
    let start = Instant::now();
    f.reg.get_manifest(&f.name, &tag("v1")).unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let manifest_gets = f
        .server
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/manifests/v1"))
        .count();
    assert_eq!(manifest_gets, 5);
}

#[test]
fn server_errors_are_retried_then_reported_and_nothing_is_stored() {
    let f = fixture();
    for status in [503, 500] {
        let fault = Fault::Status {
            status,
            retry_after: None,
        };
        f.server.fault(Target::Blob, fault);
    }
    f.fetch_layer(Some(LAYER_SIZE as u64)).unwrap();
    assert_eq!(f.blob_requests().len(), 3);

    let f = fixture();
    for _ in 0..4 {
        let fault = Fault::Status {
            status: 502,
            retry_after: None,
        };
        f.server.fault(Target::Blob, fault);
    }
    let err = f.fetch_layer(Some(LAYER_SIZE as u64)).unwrap_err();
    let text = chain(&err);
    assert!(
        matches!(&err, ClientError::Status { registry, status: 502, target, .. }
            if registry == &f.server.host() && target.contains(&f.layer_digest.to_string())),
        "{text}"
    );
    assert_eq!(f.blob_requests().len(), 4, "attempts: 4");
    f.assert_nothing_stored();
}

#[test]
fn a_manifest_that_does_not_parse_is_an_error_naming_the_reference() {
    let f = fixture();
    f.server.fault(
        Target::Manifest,
        Fault::Body(b"{\"schemaVersion\": 2, ".to_vec()),
    );
    let err = f.reg.get_manifest(&f.name, &tag("v1")).unwrap_err();
    assert!(
        matches!(&err, ClientError::Media { reference, source: MediaError::NotJson { .. }, .. }
            if reference == "strata/app:v1"),
        "{}",
        chain(&err)
    );

    // JSON of the right media type, but not a manifest: `config` is not a descriptor.
    let bad = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": 5, "layers": []});
    f.server
        .fault(Target::Manifest, Fault::Body(bad.to_string().into_bytes()));
    let err = f.reg.get_manifest(&f.name, &tag("v1")).unwrap_err();
    let text = chain(&err);
    assert!(
        matches!(&err, ClientError::BadManifest { registry, reference, .. }
            if registry == &f.server.host() && reference == "strata/app:v1"),
        "{text}"
    );
    assert!(
        text.contains("is not a valid application/vnd.oci.image.manifest.v1+json"),
        "{text}"
    );
}

#[test]
fn an_unknown_media_type_is_an_error_naming_it() {
    let f = fixture();
    let unknown = "application/vnd.example.unknown.v1+json";
    f.server
        .fault(Target::Manifest, Fault::ContentType(unknown.into()));
    let err = f.reg.get_manifest(&f.name, &tag("v1")).unwrap_err();
    let text = chain(&err);
    assert!(
        matches!(&err, ClientError::Media { source: MediaError::Unsupported { media_type }, .. }
            if media_type == unknown),
        "{text}"
    );
    assert!(
        text.contains("strata/app:v1") && text.contains(unknown),
        "{text}"
    );

    // Docker schema 1 is refused by name.
    let v1 = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    f.server
        .fault(Target::Manifest, Fault::ContentType(v1.into()));
    let err = f.reg.get_manifest(&f.name, &tag("v1")).unwrap_err();
    assert!(
        matches!(
            &err,
            ClientError::Media {
                source: MediaError::Schema1,
                ..
            }
        ),
        "{}",
        chain(&err)
    );
    assert_eq!(f.server.pending_faults(), 0);
}
