//! The gate at push: an image manifest is checked against the gate policy (`[govern]
//! gates`) before anything of it is stored. Its base is its `org.opencontainers.image.
//! base.name` annotation, its size the manifest's and its descriptors', its tags the one
//! being pushed; with `no-secrets`, its layers are scanned with `strata-check`'s secret
//! rules. An index is not checked itself: its children were, as they were pushed (clients
//! push children first). A refusal is `403 DENIED`, one `gate <rule>: <message>` per failed
//! rule, and nothing is recorded.
//!
//! Must not: store or record anything (it runs before the push writes).

use std::collections::BTreeMap;

use bytes::Bytes;
use strata_distribution::{ManifestRef, RepositoryName};
use strata_govern::annotations;
use strata_govern::gates::{Stage, Subject};
use strata_oci::Digest;

use crate::meta::ImageFacts;
use crate::services::{Registry, ServiceError};

/// What the push gate looks at of one manifest.
pub(crate) struct Pushed<'a> {
    pub name: &'a RepositoryName,
    pub reference: &'a ManifestRef,
    pub digest: &'a Digest,
    pub facts: &'a ImageFacts,
    pub annotations: &'a BTreeMap<String, String>,
    /// Whether it is an index (checked through its children).
    pub index: bool,
    /// The manifest's bytes.
    pub body: &'a Bytes,
}

impl Registry {
    /// Checks a pushed image against the gate policy; `GateRefused` naming each failed rule.
    pub(crate) async fn gate_push(&self, pushed: Pushed<'_>) -> Result<(), ServiceError> {
        let Some(policy) = &self.govern.gates else {
            return Ok(());
        };
        if pushed.index {
            return Ok(());
        }
        let tags: Vec<String> = pushed
            .reference
            .tag()
            .map(|t| t.as_str().to_owned())
            .into_iter()
            .collect();
        let digest = pushed.digest.to_string();
        if policy.allows(pushed.name.as_str(), &tags, &digest) {
            return Ok(());
        }
        let secrets = match policy.no_secrets {
            true => Some(
                self.count_secrets(pushed.digest, pushed.body.clone())
                    .await?,
            ),
            false => None,
        };
        let subject = Subject {
            repository: pushed.name.as_str().to_owned(),
            digest: Some(digest),
            tags,
            base_name: pushed.annotations.get(annotations::BASE_NAME).cloned(),
            size: pushed.facts.size,
            annotations: pushed.annotations.clone(),
            secrets,
        };
        let violations = policy.check(&Stage::Push, &subject);
        if violations.is_empty() {
            return Ok(());
        }
        tracing::info!(name = %pushed.name, reference = %pushed.reference, ?violations, "push refused by the gate policy");
        Err(ServiceError::GateRefused {
            name: pushed.name.clone(),
            reference: pushed.reference.clone(),
            violations,
        })
    }

    /// How many secrets the image of manifest `body` holds (its layers and config).
    pub(crate) async fn count_secrets(
        &self,
        digest: &Digest,
        body: Bytes,
    ) -> Result<usize, ServiceError> {
        super::secrets::count(self.blobs.clone(), digest.clone(), body)
            .await
            .map_err(|e| ServiceError::GateUnavailable {
                reason: format!("no-secrets: scanning {digest}: {}", error_chain(&e)),
            })
    }
}

/// An error with its causes, `: `-joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
