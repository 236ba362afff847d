//! One behaviour, two stores: the same calls and expectations on [`FsBlobs`] (a temp dir)
//! and [`S3Blobs`] (a throwaway Garage; the test fails loudly when `garage` is missing).

use std::io;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{stream, TryStreamExt};
use strata_distribution::ByteRange;
use strata_oci::Digest;
use strata_testkit::garage::{TestGarage, BUCKET, REGION};

use super::*;

fn body(parts: Vec<io::Result<Bytes>>) -> ByteStream {
    Box::pin(stream::iter(parts))
}

fn ok(bytes: &[u8]) -> io::Result<Bytes> {
    Ok(Bytes::copy_from_slice(bytes))
}

fn cut() -> io::Result<Bytes> {
    Err(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "client went away",
    ))
}

async fn read_all(blobs: &dyn Blobs, digest: &Digest, range: Option<ByteRange>) -> Vec<u8> {
    let mut chunks = blobs.read(digest, range).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = chunks.try_next().await.unwrap() {
        out.extend_from_slice(&chunk);
    }
    out
}

async fn a_failed_append_changes_nothing(blobs: &dyn Blobs) {
    blobs.start_upload("u1").await.unwrap();
    assert_eq!(blobs.upload_size("u1").await.unwrap(), 0);
    let len = blobs
        .append_upload("u1", 0, body(vec![ok(b"ab"), ok(b"c")]))
        .await
        .unwrap();
    assert_eq!(len, 3);
    // Cut short, small and large (past the size written in one request).
    let big = vec![7u8; 9 << 20];
    for parts in [vec![ok(b"de"), cut()], vec![ok(&big), ok(b"x"), cut()]] {
        let err = blobs.append_upload("u1", 3, body(parts)).await.unwrap_err();
        assert!(matches!(err, StorageError::Body { .. }), "{err:?}");
        assert_eq!(blobs.upload_size("u1").await.unwrap(), 3);
    }
    let len = blobs
        .append_upload("u1", 3, body(vec![ok(b"de")]))
        .await
        .unwrap();
    assert_eq!(len, 5);
    let digest = Digest::of(b"abcde");
    assert_eq!(blobs.finish_upload("u1", &digest).await.unwrap(), 5);
    assert_eq!(blobs.size(&digest).await.unwrap(), Some(5));
    let range = ByteRange::at(1, 3);
    assert_eq!(read_all(blobs, &digest, range).await, b"bcd");
    let err = blobs.upload_size("u1").await.unwrap_err();
    assert!(
        matches!(err, StorageError::UploadNotFound { .. }),
        "{err:?}"
    );
}

async fn a_wrong_digest_makes_nothing_visible(blobs: &dyn Blobs) {
    blobs.start_upload("u2").await.unwrap();
    blobs
        .append_upload("u2", 0, body(vec![ok(b"actual")]))
        .await
        .unwrap();
    let claimed = Digest::of(b"claimed");
    let err = blobs.finish_upload("u2", &claimed).await.unwrap_err();
    assert!(
        matches!(err, StorageError::DigestMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(blobs.size(&claimed).await.unwrap(), None);
    assert!(
        blobs.upload_size("u2").await.is_err(),
        "the upload is removed"
    );
    let err = blobs
        .put(&claimed, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::DigestMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(blobs.size(&claimed).await.unwrap(), None);
    blobs.start_upload("u3").await.unwrap();
    blobs.abort_upload("u3").await.unwrap();
    blobs.abort_upload("u3").await.unwrap();
    assert!(blobs.upload_size("u3").await.is_err());
}

async fn a_large_blob_streams_through(blobs: &dyn Blobs) {
    let data: Vec<u8> = (0..(12u32 << 20)).map(|i| (i % 253) as u8).collect();
    let digest = Digest::of(&data);
    blobs.start_upload("u4").await.unwrap();
    let (first, second) = data.split_at(5 << 20);
    blobs
        .append_upload("u4", 0, body(vec![ok(first)]))
        .await
        .unwrap();
    blobs
        .append_upload("u4", first.len() as u64, body(vec![ok(second)]))
        .await
        .unwrap();
    assert_eq!(
        blobs.finish_upload("u4", &digest).await.unwrap(),
        data.len() as u64
    );
    assert!(read_all(blobs, &digest, None).await == data);
}

async fn listing_and_removal_honour_the_grace(blobs: &dyn Blobs) {
    let digest = Digest::of(b"manifest");
    blobs
        .put(&digest, Bytes::from_static(b"manifest"))
        .await
        .unwrap();
    let listed = blobs.list_blobs().await.unwrap();
    let found = listed.iter().find(|b| b.digest == digest).unwrap();
    assert_eq!(found.size, 8);
    let past = SystemTime::now() - Duration::from_secs(3600);
    assert_eq!(blobs.remove_blob(&digest, past).await.unwrap(), None);
    assert_eq!(blobs.size(&digest).await.unwrap(), Some(8));
    let future = SystemTime::now() + Duration::from_secs(60);
    assert_eq!(blobs.remove_blob(&digest, future).await.unwrap(), Some(8));
    assert_eq!(blobs.remove_blob(&digest, future).await.unwrap(), None);
    let err = blobs.read(&digest, None).await.err().unwrap();
    assert!(matches!(err, StorageError::BlobNotFound { .. }), "{err:?}");
}

async fn exercise(blobs: &dyn Blobs) {
    a_failed_append_changes_nothing(blobs).await;
    a_wrong_digest_makes_nothing_visible(blobs).await;
    a_large_blob_streams_through(blobs).await;
    listing_and_removal_honour_the_grace(blobs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filesystem_store_behaves_as_specified() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&FsBlobs::open(dir.path()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_store_behaves_as_the_filesystem_one() {
    let garage = TestGarage::start_required();
    let settings = S3Settings {
        bucket: BUCKET.into(),
        endpoint: Some(garage.endpoint()),
        region: Some(REGION.into()),
        prefix: Some("/unit/".into()),
        access_key_id: Some(garage.key_id().into()),
        secret_access_key: Some(garage.secret().into()),
        allow_http: true,
    };
    exercise(&S3Blobs::open(&settings).unwrap()).await;
}
