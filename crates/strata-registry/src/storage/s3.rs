//! Blobs in S3-compatible object storage (AWS S3, Garage, MinIO…) through `object_store`,
//! so several stateless replicas share one store. Keys, under an optional prefix:
//!
//! - `blobs/sha256/<hex>`: a blob, written only after its bytes hashed to its digest (a
//!   small blob by one `PUT`, a large one by a multipart upload completed only on a match:
//!   S3 makes either visible whole or not at all);
//! - `uploads/<id>/marker`: an upload session exists;
//! - `uploads/<id>/part-<offset>`: the bytes one request appended at `<offset>` (20 digits).
//!
//! An upload's state is only what its objects say: its size is the length of the chain of
//! parts from offset 0, so consecutive chunks of one upload may reach different replicas. A
//! part is written whole or not at all, so a failed append leaves the upload as it was.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};
use sha2::{Digest as _, Sha256};
use strata_distribution::ByteRange;
use strata_oci::Digest;

use super::{BlobReader, Blobs, ByteStream, StorageError, StoredBlob};

/// Content up to this size is buffered and written by one `PUT`; larger content streams
/// through a multipart upload.
const SMALL: usize = 8 << 20;

/// The environment variables read for credentials when the config names none.
pub const ACCESS_KEY_ENV: &str = "AWS_ACCESS_KEY_ID";
/// See [`ACCESS_KEY_ENV`].
pub const SECRET_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";
/// An optional session token, read with the environment's keys.
pub const SESSION_TOKEN_ENV: &str = "AWS_SESSION_TOKEN";

/// Where the bucket is and how to reach it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// The endpoint URL (default: AWS for the region).
    pub endpoint: Option<String>,
    /// The region (default `us-east-1`).
    pub region: Option<String>,
    /// A key prefix, so several registries can share a bucket.
    pub prefix: Option<String>,
    /// The access key id; with the secret, or both from the environment.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Whether a plain `http://` endpoint is allowed (a loopback Garage or MinIO).
    pub allow_http: bool,
}

/// Blobs in an S3 bucket.
pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
}

/// The access key and secret (and session token) from the settings or the environment.
fn credentials(s: &S3Settings) -> Result<(String, String, Option<String>), StorageError> {
    match (&s.access_key_id, &s.secret_access_key) {
        (Some(key), Some(secret)) => Ok((key.clone(), secret.clone(), None)),
        (None, None) => {
            let key = std::env::var(ACCESS_KEY_ENV).ok();
            let secret = std::env::var(SECRET_KEY_ENV).ok();
            match (key, secret) {
                (Some(key), Some(secret)) => {
                    Ok((key, secret, std::env::var(SESSION_TOKEN_ENV).ok()))
                }
                _ => Err(StorageError::S3Credentials {
                    reason: "set access_key_id and secret_access_key in [storage], or the \
                             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables",
                }),
            }
        }
        _ => Err(StorageError::S3Credentials {
            reason: "[storage] sets only one of access_key_id and secret_access_key",
        }),
    }
}

fn object_err(action: &'static str, key: &Key) -> impl FnOnce(object_store::Error) -> StorageError {
    let key = key.to_string();
    move |source| StorageError::Object {
        action,
        key,
        source,
    }
}

fn blob_key(digest: &Digest) -> Key {
    Key::from(format!("blobs/{}/{}", digest.algorithm(), digest.hex()))
}

fn upload_dir(id: &str) -> Key {
    Key::from(format!("uploads/{id}"))
}

fn marker_key(id: &str) -> Key {
    Key::from(format!("uploads/{id}/marker"))
}

fn part_key(id: &str, offset: u64) -> Key {
    Key::from(format!("uploads/{id}/part-{offset:020}"))
}

/// One part of an upload: its key and size.
struct Part {
    key: Key,
    size: u64,
}

impl S3Blobs {
    /// Connects to the bucket `settings` name (no request is made yet).
    pub fn open(settings: &S3Settings) -> Result<S3Blobs, StorageError> {
        let (key, secret, token) = credentials(settings)?;
        let region = settings.region.as_deref().unwrap_or("us-east-1");
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(region)
            .with_access_key_id(key)
            .with_secret_access_key(secret)
            .with_allow_http(settings.allow_http);
        if let Some(token) = token {
            builder = builder.with_token(token);
        }
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let s3 = builder.build().map_err(StorageError::S3Config)?;
        let prefix = settings.prefix.as_deref().map(|p| p.trim_matches('/'));
        let store: Arc<dyn ObjectStore> = match prefix.filter(|p| !p.is_empty()) {
            Some(prefix) => Arc::new(PrefixStore::new(s3, prefix)),
            None => Arc::new(s3),
        };
        Ok(S3Blobs { store })
    }

    /// The upload's parts from offset 0, in order, as far as they chain.
    async fn parts(&self, id: &str) -> Result<Vec<Part>, StorageError> {
        let dir = upload_dir(id);
        let listed: Vec<_> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(object_err("list", &dir))?;
        let mut exists = false;
        let mut by_offset: BTreeMap<u64, (Key, u64)> = BTreeMap::new();
        for object in listed {
            match object.location.filename() {
                Some("marker") => exists = true,
                Some(name) => {
                    if let Some(offset) = name.strip_prefix("part-").and_then(|o| o.parse().ok()) {
                        by_offset.insert(offset, (object.location.clone(), object.size));
                    }
                }
                None => {}
            }
        }
        if !exists {
            return Err(StorageError::UploadNotFound { id: id.to_owned() });
        }
        let mut parts = Vec::new();
        let mut len = 0u64;
        while let Some((key, size)) = by_offset.remove(&len) {
            if size == 0 {
                break;
            }
            len += size;
            parts.push(Part { key, size });
        }
        Ok(parts)
    }

    async fn read_range(
        &self,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> Result<BlobReader, StorageError> {
        let key = blob_key(digest);
        let options = GetOptions {
            range: range.map(|r| GetRange::Bounded(r.start..r.end + 1)),
            ..GetOptions::default()
        };
        let got = match self.store.get_opts(&key, options).await {
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StorageError::BlobNotFound {
                    digest: digest.clone(),
                })
            }
            other => other.map_err(object_err("read", &key))?,
        };
        Ok(Box::pin(got.into_stream().map_err(io::Error::other)))
    }

    async fn put_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<(), StorageError> {
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(StorageError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        let key = blob_key(digest);
        self.store
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(object_err("write", &key))?;
        Ok(())
    }

    /// Writes `body` as the part at `offset`: one `PUT` when small, else a multipart upload
    /// completed only once the body has ended without error.
    async fn append(
        &self,
        id: &str,
        offset: u64,
        mut body: ByteStream,
    ) -> Result<u64, StorageError> {
        let key = part_key(id, offset);
        let body_err = |source| StorageError::Body {
            id: id.to_owned(),
            source,
        };
        let mut buffer = BytesMut::new();
        while buffer.len() <= SMALL {
            match body.next().await {
                Some(chunk) => buffer.extend_from_slice(&chunk.map_err(body_err)?),
                None => {
                    let len = buffer.len() as u64;
                    if len > 0 {
                        self.store
                            .put(&key, PutPayload::from(buffer.freeze()))
                            .await
                            .map_err(object_err("write", &key))?;
                    }
                    return Ok(offset + len);
                }
            }
        }
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(object_err("start a multipart upload of", &key))?;
        let mut writer = WriteMultipart::new(upload);
        let mut len = buffer.len() as u64;
        writer.write(&buffer);
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(source) => {
                    let _ = writer.abort().await;
                    return Err(body_err(source));
                }
            };
            if let Err(e) = writer.wait_for_capacity(4).await {
                let _ = writer.abort().await;
                return Err(object_err("write", &key)(e));
            }
            writer.write(&chunk);
            len += chunk.len() as u64;
        }
        writer.finish().await.map_err(object_err("write", &key))?;
        Ok(offset + len)
    }

    /// Streams the upload's parts in order through the hash into the blob's key; only a
    /// digest match makes the blob visible. The upload is removed either way.
    async fn finish(&self, id: &str, expected: &Digest) -> Result<u64, StorageError> {
        let parts = self.parts(id).await?;
        let total: u64 = parts.iter().map(|p| p.size).sum();
        let written = if total as usize <= SMALL {
            self.finish_small(&parts, expected).await
        } else {
            self.finish_large(&parts, expected).await
        };
        self.abort(id).await?;
        written.map(|()| total)
    }

    /// Reads all parts into memory, hashes them and puts the blob.
    async fn finish_small(&self, parts: &[Part], expected: &Digest) -> Result<(), StorageError> {
        let mut whole = BytesMut::new();
        for part in parts {
            let got = self.store.get(&part.key).await;
            let bytes = match got {
                Ok(g) => g.bytes().await,
                Err(e) => Err(e),
            };
            whole.extend_from_slice(&bytes.map_err(object_err("read", &part.key))?);
        }
        self.put_bytes(expected, whole.freeze()).await
    }

    /// Streams the parts into a multipart upload of the blob, completed only on a match.
    async fn finish_large(&self, parts: &[Part], expected: &Digest) -> Result<(), StorageError> {
        let key = blob_key(expected);
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(object_err("start a multipart upload of", &key))?;
        let mut writer = WriteMultipart::new(upload);
        let mut hasher = Sha256::new();
        if let Err(e) = self.copy_parts(parts, &mut writer, &mut hasher).await {
            let _ = writer.abort().await;
            return Err(e);
        }
        let actual = Digest::from_raw(hasher.finalize().into());
        if &actual != expected {
            let _ = writer.abort().await;
            return Err(StorageError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        writer.finish().await.map_err(object_err("write", &key))?;
        Ok(())
    }

    async fn copy_parts(
        &self,
        parts: &[Part],
        writer: &mut WriteMultipart,
        hasher: &mut Sha256,
    ) -> Result<(), StorageError> {
        for part in parts {
            let got = self.store.get(&part.key).await;
            let mut stream = got.map_err(object_err("read", &part.key))?.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(object_err("read", &part.key))?;
                writer
                    .wait_for_capacity(4)
                    .await
                    .map_err(object_err("write", &part.key))?;
                hasher.update(&chunk);
                writer.write(&chunk);
            }
        }
        Ok(())
    }

    async fn abort(&self, id: &str) -> Result<(), StorageError> {
        let dir = upload_dir(id);
        let listed: Vec<_> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(object_err("list", &dir))?;
        for object in listed {
            match self.store.delete(&object.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(object_err("remove", &object.location)(e)),
            }
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<StoredBlob>, StorageError> {
        let top = Key::from("blobs");
        let listed: Vec<_> = self
            .store
            .list(Some(&top))
            .try_collect()
            .await
            .map_err(object_err("list", &top))?;
        Ok(listed
            .into_iter()
            .filter_map(|object| {
                let parts: Vec<_> = object.location.parts().collect();
                let [_, algorithm, hex] = parts.as_slice() else {
                    return None;
                };
                let digest = format!("{}:{}", algorithm.as_ref(), hex.as_ref())
                    .parse()
                    .ok()?;
                Some(StoredBlob {
                    digest,
                    size: object.size,
                    modified: SystemTime::from(object.last_modified),
                })
            })
            .collect())
    }
}

/// Removes `key` unless it was written at or after `keep_since`.
async fn remove_older(
    store: Arc<dyn ObjectStore>,
    key: Key,
    keep_since: SystemTime,
) -> io::Result<Option<u64>> {
    let head = match store.head(&key).await {
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        other => other.map_err(io::Error::other)?,
    };
    if SystemTime::from(head.last_modified) >= keep_since {
        return Ok(None);
    }
    match store.delete(&key).await {
        Ok(()) => Ok(Some(head.size)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(io::Error::other(e)),
    }
}

impl Blobs for S3Blobs {
    fn size<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<Option<u64>, StorageError>> {
        Box::pin(async move {
            let key = blob_key(digest);
            match self.store.head(&key).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(object_err("stat", &key)(e)),
            }
        })
    }

    fn read<'a>(
        &'a self,
        digest: &'a Digest,
        range: Option<ByteRange>,
    ) -> BoxFuture<'a, Result<BlobReader, StorageError>> {
        Box::pin(self.read_range(digest, range))
    }

    fn put<'a>(
        &'a self,
        digest: &'a Digest,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(self.put_bytes(digest, bytes))
    }

    fn start_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let key = marker_key(id);
            self.store
                .put(&key, PutPayload::default())
                .await
                .map_err(object_err("create", &key))?;
            Ok(())
        })
    }

    fn upload_size<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move { Ok(self.parts(id).await?.iter().map(|p| p.size).sum()) })
    }

    fn append_upload<'a>(
        &'a self,
        id: &'a str,
        offset: u64,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(self.append(id, offset, body))
    }

    fn finish_upload<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Digest,
    ) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(self.finish(id, expected))
    }

    fn abort_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(self.abort(id))
    }

    fn list_blobs(&self) -> BoxFuture<'_, Result<Vec<StoredBlob>, StorageError>> {
        Box::pin(self.list())
    }

    fn remove_blob(
        &self,
        digest: &Digest,
        keep_since: SystemTime,
    ) -> BoxFuture<'static, io::Result<Option<u64>>> {
        Box::pin(remove_older(
            self.store.clone(),
            blob_key(digest),
            keep_since,
        ))
    }
}
