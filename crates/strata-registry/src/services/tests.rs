//! The services on the embedded default (filesystem blobs, SQLite metadata) in a temp dir.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream;
use strata_distribution::{ManifestRef, Page, RepositoryName};
use strata_oci::Digest;

use super::*;
use crate::meta::SqliteMeta;
use crate::storage::{ByteStream, FsBlobs};

pub(super) fn registry(dir: &std::path::Path) -> Registry {
    let blobs = FsBlobs::open(dir).unwrap();
    let meta = SqliteMeta::open(&dir.join("registry.db")).unwrap();
    Registry::new(Arc::new(blobs), Arc::new(meta), Limits::default())
}

pub(super) fn body(parts: &[&'static [u8]]) -> ByteStream {
    Box::pin(stream::iter(
        parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p)))
            .collect::<Vec<_>>(),
    ))
}

pub(super) fn name(s: &str) -> RepositoryName {
    s.parse().unwrap()
}

pub(super) fn manifest_over(config: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::of(config).to_string(), "size": config.len()},
        "layers": [],
    }))
    .unwrap()
}

#[tokio::test]
async fn a_blob_pushed_in_chunks_is_verified_and_linked() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let repo = name("a");
    let id = reg.start_upload(&repo).await.unwrap();
    let first = ChunkRange {
        range: Some("0-2".parse().unwrap()),
        length: Some(3),
    };
    let state = reg
        .append_chunk(&repo, &id, first, body(&[b"ab", b"c"]))
        .await
        .unwrap();
    assert_eq!(state.size, 3);
    let late = ChunkRange {
        range: Some("5-6".parse().unwrap()),
        length: Some(2),
    };
    let err = reg
        .append_chunk(&repo, &id, late, body(&[b"xy"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::ChunkOutOfOrder {
                size: 3,
                start: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let digest = Digest::of(b"abcdef");
    let size = reg
        .finish_upload(&repo, &id, &digest, None, body(&[b"def"]))
        .await
        .unwrap();
    assert_eq!(size, 6);
    assert_eq!(reg.blob_size(&repo, &digest).await.unwrap(), 6);
    assert!(dir.path().join("blobs/sha256").join(digest.hex()).is_file());
}

#[tokio::test]
async fn a_mismatched_digest_stores_nothing_and_ends_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let repo = name("a");
    let wanted = Digest::of(b"whole");
    let err = reg
        .push_blob(&repo, &wanted, None, body(&[b"whol"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Storage(crate::storage::StorageError::DigestMismatch { .. })
        ),
        "{err:?}"
    );
    assert!(matches!(
        reg.blob_size(&repo, &wanted).await,
        Err(ServiceError::BlobUnknown { .. })
    ));
    assert_eq!(
        std::fs::read_dir(dir.path().join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("uploads"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn manifests_need_their_blobs_in_the_same_repository() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let (a, b) = (name("a"), name("b"));
    let config = b"{}";
    reg.push_blob(&b, &Digest::of(config), None, body(&[b"{}"]))
        .await
        .unwrap();
    let manifest = manifest_over(config);
    let tag: ManifestRef = "v1".parse().unwrap();
    let err = reg
        .put_manifest(&a, &tag, None, Bytes::from(manifest.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::ManifestBlobUnknown { kind: "blob", .. }),
        "{err:?}"
    );
    assert!(matches!(
        reg.get_manifest(&a, &tag, true).await,
        Err(ServiceError::ManifestUnknown { .. })
    ));
    let pushed = reg
        .put_manifest(&b, &tag, None, Bytes::from(manifest.clone()))
        .await
        .unwrap();
    assert_eq!(pushed.digest, Digest::of(&manifest));
    let (read, size) = reg.get_manifest(&b, &tag, true).await.unwrap();
    assert_eq!(
        (read.body.as_ref(), size),
        (manifest.as_slice(), manifest.len() as u64)
    );
    assert_eq!(
        read.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
}

#[tokio::test]
async fn tags_page_in_order_and_deletes_follow_digests() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let repo = name("t");
    reg.push_blob(&repo, &Digest::of(b"{}"), None, body(&[b"{}"]))
        .await
        .unwrap();
    let manifest = Bytes::from(manifest_over(b"{}"));
    for tag in ["b", "a", "c"] {
        let tag: ManifestRef = tag.parse().unwrap();
        reg.put_manifest(&repo, &tag, None, manifest.clone())
            .await
            .unwrap();
    }
    let page = Page {
        n: Some(2),
        last: None,
    };
    let listing = reg.tags(&repo, &page).await.unwrap();
    assert_eq!(
        (listing.entries, listing.more),
        (vec!["a".to_owned(), "b".to_owned()], true)
    );
    let page = Page {
        n: Some(2),
        last: Some("b".into()),
    };
    let listing = reg.tags(&repo, &page).await.unwrap();
    assert_eq!(
        (listing.entries, listing.more),
        (vec!["c".to_owned()], false)
    );
    let digest = ManifestRef::Digest(Digest::of(&manifest));
    reg.delete_manifest(&repo, &digest).await.unwrap();
    assert!(reg
        .tags(&repo, &Page::default())
        .await
        .unwrap()
        .entries
        .is_empty());
    assert!(matches!(
        reg.tags(&name("none"), &Page::default()).await,
        Err(ServiceError::NameUnknown { .. })
    ));
}

/// Sets a file's modification time `secs` into the past.
fn age(path: &std::path::Path, secs: u64) {
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(then)
        .unwrap();
}

#[tokio::test]
async fn expiry_removes_the_temps_of_a_killed_writer_and_keeps_live_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let repo = name("a");
    let live = reg.start_upload(&repo).await.unwrap();
    let chunk = ChunkRange {
        range: None,
        length: None,
    };
    reg.append_chunk(&repo, &live, chunk, body(&[b"half"]))
        .await
        .unwrap();
    // A live session whose file was last written two hours ago (a slow client).
    age(&dir.path().join("uploads").join(&live), 7200);
    // Left by a process killed mid-write: a temp file and an upload without a session.
    for orphan in ["tmp/0123", "uploads/4567"] {
        std::fs::write(dir.path().join(orphan), b"partial").unwrap();
        age(&dir.path().join(orphan), 7200);
    }
    // A temp file being written right now.
    std::fs::write(dir.path().join("tmp/89ab"), b"writing").unwrap();
    assert_eq!(reg.expire_uploads().await.unwrap(), 0);
    assert!(!dir.path().join("tmp/0123").exists());
    assert!(!dir.path().join("uploads/4567").exists());
    assert!(dir.path().join("tmp/89ab").exists());
    assert_eq!(reg.upload_state(&repo, &live).await.unwrap().size, 4);
}
