//! A pull onto a full disk: the store root on an 8 MiB tmpfs, a blob larger than that from a
//! real registry. The error names ENOSPC, nothing partial stays, and the store opens again
//! with its images and tags as before. Needs root (mount).

mod common;

use common::{chain, files_under, new_store, repo, small_image};
use strata_client::{ClientError, Registry, RegistryOptions};
use strata_content::Store;
use strata_oci::{Digest, Reference};
use strata_testkit::registry::TestRegistry;
use strata_testkit::tmpfs::Tmpfs;
use strata_testkit::{noise_bytes, require_root};

/// Every image row as text: what must not change.
fn images(store: &Store) -> Vec<String> {
    let rows = store.list_images().unwrap();
    rows.iter()
        .map(|r| format!("{:?} {}", r.reference, r.image.id()))
        .collect()
}

/// Whether an `io::Error` of `err`'s chain is ENOSPC (errno 28, or its kind when a layer
/// such as tempfile's wrapped it with the path; `StorageFull` is compared by name, the
/// workspace's MSRV predating it).
fn is_enospc(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.raw_os_error() == Some(28) || format!("{:?}", io.kind()) == "StorageFull" {
                return true;
            }
        }
        next = e.source();
    }
    false
}

#[test]
#[ignore = "needs root"]
fn a_pull_onto_a_full_disk_fails_with_enospc_and_leaves_the_store_as_it_was() {
    require_root();
    let server = TestRegistry::start();
    let reg = Registry::connect(&server.host(), RegistryOptions::default()).unwrap();
    let name = repo("strata/big");
    let (_src_dir, src) = new_store();
    let big = noise_bytes(12 << 20);
    let digest = src.put_blob(&big).unwrap();
    reg.push_blob_from_store(&name, &src, &digest, None)
        .unwrap();

    let disk = Tmpfs::mount(8 << 20);
    let root = disk.path().join("root");
    let store = Store::open(&root).unwrap();
    let image = small_image(&store);
    let id: Digest = store.put_manifest_bytes(&image.manifest).unwrap();
    store
        .tag(&Reference::parse("strata/small:v1").unwrap(), &id)
        .unwrap();
    let blobs_before = files_under(&root.join("blobs"));
    let images_before = images(&store);

    let err = reg
        .fetch_blob(&name, &digest, Some(big.len() as u64), &store)
        .unwrap_err();
    let text = chain(&err);
    assert!(
        matches!(&err, ClientError::Store { registry, digest: d, .. }
            if registry == &server.host() && d == &digest),
        "{text}"
    );
    assert!(is_enospc(&err), "ENOSPC in the chain: {text}");
    assert!(text.contains("No space left on device"), "{text}");
    assert!(text.contains(&digest.to_string()), "{text}");

    assert_eq!(files_under(&root.join("blobs")), blobs_before);
    assert_eq!(files_under(&root.join("tmp")), Vec::<String>::new());
    assert!(!store.has_blob(&digest));
    drop(store);
    let store = Store::open(&root).unwrap();
    assert_eq!(images(&store), images_before);
    assert_eq!(
        store
            .lookup_tag(&Reference::parse("strata/small:v1").unwrap())
            .unwrap(),
        Some(id)
    );
    for blob in &image.blobs {
        store.verify_blob(blob).unwrap();
    }
}
