//! Cache keys and records.
//!
//! A layer step's key is a sha256 over its parent layer step's key, the kind of step, every
//! input that can change its result (the expanded instruction, the environment and ARGs it
//! sees, mount definitions, content digests of what it reads) — never secret values. Each
//! field is length-prefixed, so no two different inputs hash alike. A record maps a key to
//! the layer the step made (or none) and when it was made.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use strata_content::{CacheRecord, Store};
use strata_oci::Digest;

use crate::error::Result;
use crate::state::LayerRef;

/// Builds a cache key from named fields.
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    pub fn new(kind: &str, parent: &Digest) -> KeyBuilder {
        let mut k = KeyBuilder(Sha256::new());
        k.field("v", "strata-cache-1");
        k.field("kind", kind);
        k.field("parent", parent.hex());
        k
    }

    pub fn field(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut KeyBuilder {
        let value = value.as_ref();
        self.0.update((name.len() as u64).to_le_bytes());
        self.0.update(name.as_bytes());
        self.0.update((value.len() as u64).to_le_bytes());
        self.0.update(value);
        self
    }

    pub fn finish(&self) -> Digest {
        Digest::from_raw(self.0.clone().finalize().into())
    }
}

/// What a cached layer step produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerRecord {
    pub layer: Option<LayerRef>,
    /// RFC 3339 time the layer was made (history `created`).
    pub created: String,
}

/// The record of `key`, if any and if its blobs are still present.
pub fn lookup(store: &Store, key: &Digest) -> Result<Option<LayerRecord>> {
    let Some(rec) = store.cache_get(&key.to_string())? else {
        return Ok(None);
    };
    match serde_json::from_slice(&rec.value) {
        Ok(r) => Ok(Some(r)),
        Err(e) => {
            tracing::warn!(%key, error = %e, "ignoring unreadable cache record");
            Ok(None)
        }
    }
}

/// Records what a step produced under `key`.
pub fn record(store: &Store, key: &Digest, rec: &LayerRecord) -> Result<()> {
    let blobs = rec
        .layer
        .iter()
        .map(|l| l.descriptor.digest.clone())
        .collect();
    let value = serde_json::to_vec(rec).expect("cache records serialise");
    store.cache_put(&CacheRecord::new(key.to_string(), value, blobs))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_unambiguous() {
        let p = Digest::of(b"p");
        let a = KeyBuilder::new("copy", &p)
            .field("x", "ab")
            .field("y", "c")
            .finish();
        let b = KeyBuilder::new("copy", &p)
            .field("x", "a")
            .field("y", "bc")
            .finish();
        assert_ne!(a, b);
        let c = KeyBuilder::new("copy", &p)
            .field("x", "ab")
            .field("y", "c")
            .finish();
        assert_eq!(a, c);
    }
}
