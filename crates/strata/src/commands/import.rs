//! `strata import ROOTFS.tar [NAME]`.

use anyhow::{Context, Result};
use strata_build::ImportOptions;
use strata_content::Store;
use strata_oci::Reference;

use crate::cli::ImportArgs;

pub fn run(store: &Store, args: ImportArgs) -> Result<()> {
    let reference = match &args.reference {
        Some(r) => Some(Reference::parse(r).with_context(|| format!("invalid image name {r:?}"))?),
        None => None,
    };
    let opts = ImportOptions {
        changes: args.change.clone(),
        message: args.message.clone(),
        architecture: args.architecture.clone(),
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.parse().ok()),
    };
    let image = strata_build::import_rootfs(store, &args.file, reference.as_ref(), &opts)
        .with_context(|| format!("importing {}", args.file.display()))?;
    super::out(image.id())?;
    Ok(())
}
