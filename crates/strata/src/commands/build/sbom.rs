//! `strata build --sbom`: the built image's SBOM, stored as blobs of the store (the
//! document and its referrer manifest), and with `--push` pushed to every target as an
//! OCI 1.1 referrer of the pushed image (the referrers tag schema on registries without
//! the referrers API).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use strata_check::sbom::format::{render, Format};
use strata_client::referrers::{referrer_manifest, Artifact, Listed};
use strata_client::Client;
use strata_content::{Image, Store};
use strata_distribution::RepositoryName;
use strata_oci::media_types::OCI_MANIFEST;
use strata_oci::{Descriptor, Reference};

use crate::cli::SbomKind;

/// Makes and stores the SBOM of `image`, then pushes it next to every pushed target.
pub fn attach(
    store: &Store,
    image: &Image,
    kind: SbomKind,
    name: &str,
    targets: &[Reference],
    source_date_epoch: Option<i64>,
) -> Result<()> {
    let format = match kind {
        SbomKind::Spdx => Format::SpdxJson,
        SbomKind::Cyclonedx => Format::CycloneDxJson,
    };
    let sbom = crate::commands::sbom::make(store, image, name, source_date_epoch)?;
    let doc = render(&sbom, format);
    let subject = subject(store, image)?;
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "org.opencontainers.image.created".to_owned(),
        sbom.subject.created.clone(),
    );
    let artifact = Artifact {
        artifact_type: format.media_type(),
        document: doc.as_bytes(),
        annotations,
    };
    let manifest = referrer_manifest(&subject, &artifact);
    for blob in [b"{}".as_slice(), doc.as_bytes(), &manifest] {
        store.put_blob(blob).context("storing the SBOM")?;
    }
    eprintln!(
        "writing sbom {} ({} packages, {}) done",
        strata_oci::Digest::of(&manifest),
        sbom.packages.len(),
        format.media_type()
    );
    if !targets.is_empty() {
        let client = Client::from_env()?;
        for target in targets {
            push(&client, target, &subject, &artifact)
                .with_context(|| format!("pushing the SBOM of {}", target.familiar()))?;
        }
    }
    Ok(())
}

/// The image manifest as a descriptor.
fn subject(store: &Store, image: &Image) -> Result<Descriptor> {
    let size = store.blob_size(&image.manifest_digest)?;
    let media_type = image.manifest.media_type.as_deref().unwrap_or(OCI_MANIFEST);
    Ok(Descriptor::new(
        media_type,
        image.manifest_digest.clone(),
        size,
    ))
}

fn push(
    client: &Client,
    target: &Reference,
    subject: &Descriptor,
    artifact: &Artifact<'_>,
) -> Result<()> {
    let endpoint = client.push_endpoint(target)?;
    let registry = client.registry(&endpoint)?;
    let repo = endpoint.reference.repository().parse::<RepositoryName>()?;
    let pushed = registry.push_referrer(&repo, subject, artifact)?;
    let how = match &pushed.listed {
        Listed::Api => "referrers API".to_owned(),
        Listed::TagSchema(tag) => format!("no referrers API: listed in tag {tag}"),
    };
    eprintln!(
        "pushing sbom {}@{} for {} done ({how})",
        target.familiar(),
        pushed.digest,
        subject.digest
    );
    Ok(())
}
