//! Pulling: manifests (digest-verified) and blobs streamed into the content store, verified
//! before they are stored, resumed with `Range` after a dropped connection.

use std::io::{Read, Write};

use strata_content::{BlobWriter, Store};
use strata_distribution::auth::scope::PULL;
use strata_distribution::auth::Scope;
use strata_distribution::headers::{ACCEPT, CONTENT_TYPE, DOCKER_CONTENT_DIGEST, RANGE};
use strata_distribution::media::manifest_accept;
use strata_distribution::{ManifestKind, ManifestRef, RepositoryName, Route};
use strata_oci::{Digest, ImageIndex, ImageManifest};

use crate::error::{ClientError, Result};
use crate::transport::{Registry, Request};

/// Manifests larger than this are refused (distribution's own limit is 4 MiB).
pub const MANIFEST_LIMIT: u64 = 4 << 20;

/// How often a blob download is resumed after its connection dropped.
const RESUMES: u32 = 3;

/// A pulled manifest: its exact bytes, media type and (verified) digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

/// What [`Registry::fetch_blob`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedBlob {
    pub digest: Digest,
    pub size: u64,
    /// The store already had it: nothing was downloaded.
    pub skipped: bool,
}

/// `repo:tag` or `repo@sha256:…`, as errors name it.
pub(crate) fn display_ref(repo: &RepositoryName, reference: &ManifestRef) -> String {
    match reference {
        ManifestRef::Digest(d) => format!("{repo}@{d}"),
        ManifestRef::Tag(t) => format!("{repo}:{}", t.as_str()),
    }
}

impl Registry {
    /// Fetches a manifest. Its digest is computed from the bytes and must equal the
    /// registry's `Docker-Content-Digest` (when sent) and the reference (when a digest).
    pub fn get_manifest(&self, repo: &RepositoryName, reference: &ManifestRef) -> Result<Manifest> {
        let shown = display_ref(repo, reference);
        let route = Route::Manifest {
            name: repo.clone(),
            reference: reference.clone(),
        };
        let req = Request::new(
            "GET",
            self.url(&route),
            vec![Scope::repository(repo, [PULL])],
        )
        .header(ACCEPT, manifest_accept());
        let resp = self.send_checked(&req, &shown)?;
        let header_digest = resp.header(DOCKER_CONTENT_DIGEST).map(str::to_owned);
        let content_type = resp.header(CONTENT_TYPE).map(str::to_owned);
        let bytes = self.read_limited(resp, MANIFEST_LIMIT, &shown)?;
        let digest = Digest::of(&bytes);
        if let Some(expected) = reference.digest() {
            self.expect_digest(&shown, expected, &digest)?;
        }
        if let Some(value) = header_digest {
            let said =
                value
                    .trim()
                    .parse::<Digest>()
                    .map_err(|_| ClientError::BadDigestHeader {
                        registry: self.host().to_owned(),
                        reference: shown.clone(),
                        value,
                    })?;
            self.expect_digest(&shown, &said, &digest)?;
        }
        let kind = ManifestKind::resolve(content_type.as_deref(), &bytes).map_err(|source| {
            ClientError::Media {
                registry: self.host().to_owned(),
                reference: shown.clone(),
                source,
            }
        })?;
        self.check_structure(&shown, kind, &bytes)?;
        Ok(Manifest {
            bytes,
            media_type: kind.media_type().to_owned(),
            digest,
        })
    }

    /// The body must be the manifest or index its kind says (the bytes stay as they are).
    fn check_structure(&self, shown: &str, kind: ManifestKind, bytes: &[u8]) -> Result<()> {
        let parsed = match kind.is_index() {
            true => serde_json::from_slice::<ImageIndex>(bytes).map(drop),
            false => serde_json::from_slice::<ImageManifest>(bytes).map(drop),
        };
        parsed.map_err(|source| ClientError::BadManifest {
            registry: self.host().to_owned(),
            reference: shown.to_owned(),
            media_type: kind.media_type(),
            source,
        })
    }

    pub(crate) fn expect_digest(
        &self,
        shown: &str,
        expected: &Digest,
        actual: &Digest,
    ) -> Result<()> {
        if expected == actual {
            return Ok(());
        }
        Err(ClientError::DigestMismatch {
            registry: self.host().to_owned(),
            reference: shown.to_owned(),
            expected: expected.clone(),
            actual: actual.clone(),
        })
    }

    /// Downloads blob `digest` of `repo` into `store`, unless the store already has it.
    /// The bytes are hashed as they are written to a temp file and only a blob whose digest
    /// (and `size`, when given) match is stored.
    pub fn fetch_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: Option<u64>,
        store: &Store,
    ) -> Result<FetchedBlob> {
        self.fetch_blob_with(repo, digest, size, store, &|_| {})
    }

    /// [`Registry::fetch_blob`], calling `on_bytes` with the bytes received so far as the
    /// download goes (for progress displays).
    pub fn fetch_blob_with(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: Option<u64>,
        store: &Store,
        on_bytes: &dyn Fn(u64),
    ) -> Result<FetchedBlob> {
        if let Ok(have) = store.blob_size(digest) {
            if !matches!(size, Some(s) if s != have) {
                return Ok(FetchedBlob {
                    digest: digest.clone(),
                    size: have,
                    skipped: true,
                });
            }
        }
        let shown = format!("{repo}@{digest}");
        let store_err = |source| ClientError::Store {
            registry: self.host().to_owned(),
            digest: digest.clone(),
            source: Box::new(source),
        };
        let mut writer = store.blob_writer().map_err(store_err)?;
        let written = self.download(repo, digest, size, &mut writer, &shown, on_bytes)?;
        if let Some(expected) = size {
            if written != expected {
                return Err(ClientError::SizeMismatch {
                    registry: self.host().to_owned(),
                    reference: shown,
                    expected,
                    actual: written,
                });
            }
        }
        match writer.commit(Some(digest)) {
            Ok((digest, size)) => Ok(FetchedBlob {
                digest,
                size,
                skipped: false,
            }),
            Err(strata_content::Error::DigestMismatch { expected, actual }) => {
                Err(ClientError::DigestMismatch {
                    registry: self.host().to_owned(),
                    reference: shown,
                    expected,
                    actual,
                })
            }
            Err(e) => Err(store_err(e)),
        }
    }

    /// Streams the blob into `writer`, resuming with `Range: bytes=N-` when the connection
    /// drops mid-body (and restarting when the registry ignores the range). Returns the
    /// number of bytes written.
    fn download(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: Option<u64>,
        writer: &mut BlobWriter,
        shown: &str,
        on_bytes: &dyn Fn(u64),
    ) -> Result<u64> {
        let route = Route::Blob {
            name: repo.clone(),
            digest: digest.clone(),
        };
        let limit = size.map_or(u64::MAX, |s| s.saturating_add(1));
        let mut written: u64 = 0;
        let mut resumes = 0;
        loop {
            let mut req = Request::new(
                "GET",
                self.url(&route),
                vec![Scope::repository(repo, [PULL])],
            );
            if written > 0 {
                req = req.header(RANGE, format!("bytes={written}-"));
            }
            let resp = self.send_checked(&req, shown)?;
            if written > 0 && resp.status() != 206 {
                return Err(ClientError::Status {
                    registry: self.host().to_owned(),
                    method: "GET",
                    target: req.url,
                    status: resp.status(),
                    detail: "registry ignored the Range of a resumed download".to_owned(),
                });
            }
            let mut body = resp.into_reader().take(limit - written);
            match copy_counting(&mut body, writer, &mut written, on_bytes) {
                Ok(()) => return Ok(written),
                Err(CopyError::Write(source)) => {
                    return Err(ClientError::Store {
                        registry: self.host().to_owned(),
                        digest: digest.clone(),
                        source: Box::new(strata_content::Error::Io {
                            path: writer.path().to_owned(),
                            source,
                        }),
                    })
                }
                Err(CopyError::Read(e)) if resumes < RESUMES => {
                    tracing::debug!(%digest, written, error = %e, "resuming blob download");
                    resumes += 1;
                }
                Err(CopyError::Read(source)) => {
                    return Err(ClientError::Read {
                        registry: self.host().to_owned(),
                        target: req.url,
                        source,
                    })
                }
            }
        }
    }
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

fn copy_counting(
    from: &mut impl Read,
    to: &mut impl Write,
    count: &mut u64,
    on_bytes: &dyn Fn(u64),
) -> Result<(), CopyError> {
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        to.write_all(&buf[..n]).map_err(CopyError::Write)?;
        *count += n as u64;
        on_bytes(*count);
    }
}
