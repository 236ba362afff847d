//! Pushing: blob existence checks, uploads (monolithic, or chunked `PATCH`es for large
//! blobs, never smaller than the registry's `OCI-Chunk-Min-Length`), cross-repository
//! mounts, and manifests whose digest the registry must confirm.

use std::io::Read;

use strata_content::Store;
use strata_distribution::auth::scope::{PULL, PUSH};
use strata_distribution::auth::Scope;
use strata_distribution::headers::{
    CONTENT_RANGE, CONTENT_TYPE, DOCKER_CONTENT_DIGEST, LOCATION, OCI_CHUNK_MIN_LENGTH, OCI_SUBJECT,
};
use strata_distribution::routes::location_with_digest;
use strata_distribution::{ByteRange, ManifestRef, RepositoryName, Route, UploadStart};
use strata_oci::Digest;

use crate::error::{ClientError, Result};
use crate::pull::display_ref;
use crate::transport::{Registry, Request};

/// What [`Registry::push_blob`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobPush {
    /// The registry already had it (a `HEAD` said so).
    Exists,
    /// Mounted from another repository of the same registry.
    Mounted,
    /// Uploaded.
    Uploaded,
}

fn push_scopes(repo: &RepositoryName, from: Option<&RepositoryName>) -> Vec<Scope> {
    let mut scopes = vec![Scope::repository(repo, [PULL, PUSH])];
    if let Some(from) = from {
        scopes.push(Scope::repository(from, [PULL]));
    }
    scopes
}

/// The chunk size of an upload session: ours, raised to the registry's
/// `OCI-Chunk-Min-Length` when it asks for larger chunks (spec v1.1.1).
fn chunk_size_for(ours: u64, session: &ureq::Response) -> u64 {
    let min = session
        .header(OCI_CHUNK_MIN_LENGTH)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    ours.max(min)
}

impl Registry {
    /// Whether `repo` has blob `digest` (`HEAD`).
    pub fn blob_exists(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool> {
        let route = Route::Blob {
            name: repo.clone(),
            digest: digest.clone(),
        };
        let req = Request::new(
            "HEAD",
            self.url(&route),
            vec![Scope::repository(repo, [PULL])],
        );
        let resp = self.send(&req)?;
        if resp.status() == 404 {
            return Ok(false);
        }
        self.check(resp, &req, &format!("{repo}@{digest}"))?;
        Ok(true)
    }

    /// Pushes blob `digest` from the store unless the registry has it; with `mount_from`,
    /// asks the registry to mount it from that repository first.
    pub fn push_blob_from_store(
        &self,
        repo: &RepositoryName,
        store: &Store,
        digest: &Digest,
        mount_from: Option<&RepositoryName>,
    ) -> Result<BlobPush> {
        if self.blob_exists(repo, digest)? {
            return Ok(BlobPush::Exists);
        }
        let store_err = |source| ClientError::Store {
            registry: self.host().to_owned(),
            digest: digest.clone(),
            source: Box::new(source),
        };
        let size = store.blob_size(digest).map_err(store_err)?;
        let file = store.open_blob(digest).map_err(store_err)?;
        self.push_blob(repo, digest, size, file, mount_from)
    }

    /// Uploads `size` bytes read from `source` as blob `digest`: `POST` then one `PUT
    /// ?digest=` when it fits in a chunk, else `PATCH`es with `Content-Range` then the
    /// `PUT`. With `mount_from`, a `POST ?mount=&from=` first; a registry that cannot mount
    /// answers with an upload session, which the upload then uses.
    pub fn push_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
        mut source: impl Read,
        mount_from: Option<&RepositoryName>,
    ) -> Result<BlobPush> {
        let scopes = push_scopes(repo, mount_from);
        let start = match mount_from {
            Some(from) => UploadStart::Mount {
                digest: digest.clone(),
                from: Some(from.clone()),
            },
            None => UploadStart::Session,
        };
        let route = Route::UploadStart {
            name: repo.clone(),
            start,
        };
        let shown = format!("{repo}@{digest}");
        let req = Request::new("POST", self.url(&route), scopes.clone());
        let resp = self.send_checked(&req, &shown)?;
        if mount_from.is_some() && resp.status() == 201 {
            return Ok(BlobPush::Mounted);
        }
        let mut location = self.location(&resp, repo)?;
        let chunk_size = chunk_size_for(self.chunk_size, &resp);
        let mut sent = 0u64;
        let mut chunk = Vec::new();
        let monolithic = size <= chunk_size;
        loop {
            let want = (size - sent).min(chunk_size);
            self.read_chunk(&mut source, digest, want, &mut chunk)?;
            if monolithic || chunk.is_empty() {
                break;
            }
            let range = ByteRange::at(sent, chunk.len() as u64).map(|r| r.to_string());
            let req = Request::new("PATCH", location.clone(), scopes.clone())
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_RANGE, range.unwrap_or_default())
                .body(&chunk);
            let resp = self.send_checked(&req, &shown)?;
            location = self.location(&resp, repo)?;
            sent += chunk.len() as u64;
            chunk.clear();
        }
        let url = location_with_digest(&location, digest);
        let mut req =
            Request::new("PUT", url, scopes).header(CONTENT_TYPE, "application/octet-stream");
        if monolithic {
            req = req.body(&chunk);
        }
        let resp = self.send_checked(&req, &shown)?;
        if let Some(said) = resp.header(DOCKER_CONTENT_DIGEST) {
            self.check_said_digest(&shown, said, digest)?;
        }
        Ok(BlobPush::Uploaded)
    }

    /// Reads exactly `want` bytes of blob `digest` into `buf` (cleared first).
    fn read_chunk(
        &self,
        source: &mut impl Read,
        digest: &Digest,
        want: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        buf.clear();
        let read = source.take(want).read_to_end(buf);
        let err = |source| ClientError::Source {
            registry: self.host().to_owned(),
            digest: digest.clone(),
            source,
        };
        let n = read.map_err(err)? as u64;
        if n != want {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("the source ended after {n} of {want} bytes"),
            )));
        }
        Ok(())
    }

    fn location(&self, resp: &ureq::Response, repo: &RepositoryName) -> Result<String> {
        match resp.header(LOCATION) {
            Some(l) if !l.is_empty() => Ok(self.resolve_location(l)),
            _ => Err(ClientError::NoLocation {
                registry: self.host().to_owned(),
                repository: repo.to_string(),
            }),
        }
    }

    fn check_said_digest(&self, shown: &str, said: &str, ours: &Digest) -> Result<()> {
        let said = said
            .trim()
            .parse::<Digest>()
            .map_err(|_| ClientError::BadDigestHeader {
                registry: self.host().to_owned(),
                reference: shown.to_owned(),
                value: said.to_owned(),
            })?;
        self.expect_digest(shown, ours, &said)
    }

    /// Pushes a manifest under `reference` (a tag, or its digest) with `media_type`, and
    /// returns its digest once the registry's `Docker-Content-Digest` confirmed it.
    pub fn put_manifest(
        &self,
        repo: &RepositoryName,
        reference: &ManifestRef,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest> {
        self.put_manifest_answered(repo, reference, bytes, media_type)
            .map(|(digest, _)| digest)
    }

    /// [`Registry::put_manifest`], also returning the registry's `OCI-Subject` header: a
    /// registry with the referrers API sends it for a manifest with a `subject`.
    pub fn put_manifest_answered(
        &self,
        repo: &RepositoryName,
        reference: &ManifestRef,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(Digest, Option<String>)> {
        let ours = Digest::of(bytes);
        let shown = display_ref(repo, reference);
        if let Some(d) = reference.digest() {
            self.expect_digest(&shown, d, &ours)?;
        }
        let route = Route::Manifest {
            name: repo.clone(),
            reference: reference.clone(),
        };
        let req = Request::new("PUT", self.url(&route), push_scopes(repo, None))
            .header(CONTENT_TYPE, media_type)
            .body(bytes);
        let resp = self.send_checked(&req, &shown)?;
        if let Some(said) = resp.header(DOCKER_CONTENT_DIGEST) {
            self.check_said_digest(&shown, said, &ours)?;
        }
        let subject = resp.header(OCI_SUBJECT).map(str::to_owned);
        Ok((ours, subject))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(headers: &str) -> ureq::Response {
        format!("HTTP/1.1 202 Accepted\r\nLocation: /up/1\r\n{headers}\r\n")
            .parse()
            .unwrap()
    }

    #[test]
    fn chunks_are_never_smaller_than_the_registrys_minimum() {
        assert_eq!(chunk_size_for(4096, &session("")), 4096);
        assert_eq!(
            chunk_size_for(4096, &session("OCI-Chunk-Min-Length: 65536\r\n")),
            65536
        );
        assert_eq!(
            chunk_size_for(1 << 20, &session("OCI-Chunk-Min-Length: 65536\r\n")),
            1 << 20
        );
        assert_eq!(
            chunk_size_for(4096, &session("OCI-Chunk-Min-Length: lots\r\n")),
            4096
        );
    }
}
