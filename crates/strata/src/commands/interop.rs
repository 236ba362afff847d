//! `strata save`, `load` and `export`: moving images in and out as files other tools read.

use std::path::Path;

use anyhow::{Context, Result};
use strata_content::{docker_archive, load as loader, oci_layout, Store};
use strata_oci::Reference;

use crate::cli::{ExportArgs, ExportFormat};

pub fn save(store: &Store, output: &Path, names: &[String]) -> Result<()> {
    let mut images = Vec::new();
    for name in names {
        let image = store.resolve(name)?;
        let tags = match Reference::parse(name) {
            Ok(r) if r.digest().is_none() && store.lookup_tag(&r)?.is_some() => vec![r],
            _ => Vec::new(),
        };
        images.push((image, tags));
    }
    docker_archive::save_to_file(store, &images, output)
        .with_context(|| format!("saving to {}", output.display()))?;
    Ok(())
}

pub fn load(store: &Store, input: &Path) -> Result<()> {
    let loaded =
        loader::load(store, input).with_context(|| format!("loading {}", input.display()))?;
    for image in loaded {
        if image.references.is_empty() {
            super::out(format_args!("Loaded image ID: {}", image.manifest_digest))?;
        }
        for r in image.references {
            super::out(format_args!("Loaded image: {}", r.familiar()))?;
        }
    }
    Ok(())
}

pub fn export(store: &Store, args: ExportArgs) -> Result<()> {
    // OCI is the only format (clap refused others); docker-archive is `strata save`.
    let ExportFormat::Oci = args.format;
    let mut images = Vec::new();
    for name in &args.images {
        let image = store.resolve(name)?;
        let reference = Reference::parse(name).ok().filter(|r| r.digest().is_none());
        images.push((image, reference));
    }
    oci_layout::export(store, &images, &args.output)
        .with_context(|| format!("exporting to {}", args.output.display()))?;
    Ok(())
}
