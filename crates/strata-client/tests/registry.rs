//! The HTTP layer against a real registry: Debian's `docker-registry` (distribution 2.8),
//! checked with skopeo.

mod common;

use std::process::Command;

use common::{new_store, push_image, repo, small_image, tag, OCI_MANIFEST};
use strata_client::config::credentials::{Credential, CredentialStore};
use strata_client::{BlobPush, ClientError, Registry, RegistryOptions};
use strata_distribution::ManifestRef;
use strata_oci::Digest;
use strata_testkit::registry::TestRegistry;
use strata_testkit::{noise_bytes, require_tool, run_ok};

#[test]
fn push_is_seen_by_skopeo_and_pulls_back_by_tag_and_digest() {
    require_tool("skopeo");
    let server = TestRegistry::start();
    let (_src_dir, src) = new_store();
    let image = small_image(&src);
    let reg = Registry::connect(&server.host(), RegistryOptions::default()).unwrap();
    assert!(reg.base_url().starts_with("http://"), "{}", reg.base_url());
    let name = repo("strata/small");

    let first = push_image(&reg, &name, &src, &image);
    assert_eq!(first, [BlobPush::Uploaded, BlobPush::Uploaded]);
    let second = push_image(&reg, &name, &src, &image);
    assert_eq!(second, [BlobPush::Exists, BlobPush::Exists], "HEAD skips");

    let url = format!("docker://{}/strata/small:v1", server.host());
    let out = run_ok(Command::new("skopeo").args(["inspect", "--tls-verify=false", &url]));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest_digest = Digest::of(&image.manifest);
    assert_eq!(seen["Digest"], manifest_digest.to_string());
    assert_eq!(seen["Layers"][0], image.blobs[0].to_string());

    let (_dst_dir, dst) = new_store();
    let by_tag = reg.get_manifest(&name, &tag("v1")).unwrap();
    let by_digest = reg
        .get_manifest(&name, &ManifestRef::Digest(manifest_digest.clone()))
        .unwrap();
    assert_eq!(by_tag.digest, manifest_digest);
    assert_eq!(by_digest, by_tag);
    assert_eq!(by_tag.bytes, image.manifest);
    assert_eq!(by_tag.media_type, OCI_MANIFEST);
    let wanted: Vec<(Digest, u64)> = image
        .blobs
        .iter()
        .map(|d| (d.clone(), src.blob_size(d).unwrap()))
        .collect();
    let got = reg.fetch_blobs(&name, &wanted, &dst, 2).unwrap();
    for ((d, size), got) in wanted.iter().zip(&got) {
        assert_eq!((&got.digest, got.size, got.skipped), (d, *size, false));
        assert_eq!(dst.read_blob(d).unwrap(), src.read_blob(d).unwrap());
        assert!(reg.fetch_blob(&name, d, Some(*size), &dst).unwrap().skipped);
    }
}

#[test]
fn large_blobs_go_in_chunks_and_mount_across_repositories() {
    let server = TestRegistry::start();
    let (_src_dir, src) = new_store();
    let blob = noise_bytes(10_000);
    let digest = src.put_blob(&blob).unwrap();
    let options = RegistryOptions {
        chunk_size: 4096,
        ..RegistryOptions::default()
    };
    let reg = Registry::connect(&server.host(), options).unwrap();
    let (a, b) = (repo("strata/a"), repo("strata/b"));

    let pushed = reg.push_blob_from_store(&a, &src, &digest, None).unwrap();
    assert_eq!(pushed, BlobPush::Uploaded);
    assert!(!reg.blob_exists(&b, &digest).unwrap());
    let mounted = reg
        .push_blob_from_store(&b, &src, &digest, Some(&a))
        .unwrap();
    assert_eq!(mounted, BlobPush::Mounted);

    let (_dst_dir, dst) = new_store();
    let got = reg.fetch_blob(&b, &digest, Some(10_000), &dst).unwrap();
    assert!(!got.skipped);
    assert_eq!(dst.read_blob(&digest).unwrap(), blob);
}

#[test]
fn missing_manifest_and_blob_are_not_found_errors_naming_the_reference() {
    let server = TestRegistry::start();
    let reg = Registry::connect(&server.host(), RegistryOptions::default()).unwrap();
    let name = repo("strata/none");
    let err = reg.get_manifest(&name, &tag("nope")).unwrap_err();
    match &err {
        ClientError::NotFound {
            registry,
            reference,
            ..
        } => {
            assert_eq!(registry, &server.host());
            assert_eq!(reference, "strata/none:nope");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let (_dir, store) = new_store();
    let digest = Digest::of(b"absent");
    let err = reg.fetch_blob(&name, &digest, None, &store).unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err:?}");
    assert!(!store.has_blob(&digest), "nothing stored on failure");
}

#[test]
fn htpasswd_registry_takes_the_stored_credential_and_refuses_a_wrong_one() {
    let server = TestRegistry::start_htpasswd("strata", "s3cret");
    let host = server.host();
    let home = tempfile::tempdir().unwrap();
    let creds = CredentialStore {
        auth_file: Some(home.path().join("auth.json")),
        ..CredentialStore::default()
    };
    let good = Credential::Basic {
        username: "strata".into(),
        password: "s3cret".into(),
    };
    creds.store(&host, &good).unwrap();

    let reg =
        Registry::connect(&host, RegistryOptions::from_store(&host, &creds).unwrap()).unwrap();
    let (_src_dir, src) = new_store();
    let image = small_image(&src);
    let name = repo("strata/private");
    assert_eq!(
        push_image(&reg, &name, &src, &image),
        [BlobPush::Uploaded, BlobPush::Uploaded]
    );
    assert_eq!(
        reg.get_manifest(&name, &tag("v1")).unwrap().digest,
        Digest::of(&image.manifest)
    );

    let wrong = RegistryOptions {
        credential: Some(Credential::Basic {
            username: "strata".into(),
            password: "wrong".into(),
        }),
        ..RegistryOptions::default()
    };
    for options in [wrong, RegistryOptions::default()] {
        let err = Registry::connect(&host, options).unwrap_err();
        match &err {
            ClientError::Unauthorized { registry, .. } => assert_eq!(registry, &host),
            other => panic!("expected Unauthorized, got {other:?}"),
        }
        assert!(err.to_string().contains(&host), "{err}");
    }
}
