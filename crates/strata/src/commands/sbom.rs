//! `strata sbom IMAGE`: the packages of an image (strata-check's catalogers) as SPDX 2.3
//! JSON, CycloneDX 1.6 JSON or a table, on stdout or in a file written whole.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use strata_check::sbom::format::{render, Format};
use strata_check::sbom::{self, Sbom, Subject};
use strata_content::{BlobSource, Image, Store};

use crate::cli::{SbomArgs, SbomFormat};

pub fn run(store: &Store, args: SbomArgs) -> Result<()> {
    let opened = super::image_source::open(store, &args.image, args.platform.clone(), args.verify)?;
    let sbom = make(&opened, &opened.image, &args.image, args.source_date_epoch)?;
    let doc = render(&sbom, format(args.format));
    match &args.output {
        Some(path) => write_whole(path, doc.as_bytes()),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(doc.as_bytes())?;
            Ok(out.flush()?)
        }
    }
}

/// The SBOM of `image` (its blobs read from `blobs`), named `name`.
pub fn make<B: BlobSource + ?Sized>(
    blobs: &B,
    image: &Image,
    name: &str,
    source_date_epoch: Option<i64>,
) -> Result<Sbom> {
    let jobs = std::thread::available_parallelism().map_or(2, usize::from);
    let packages = sbom::catalog(blobs, image, jobs)
        .with_context(|| format!("cataloging the packages of {name}"))?;
    let created = sbom::created_time(source_date_epoch, image.config.created.as_deref())?;
    tracing::info!(image = name, packages = packages.len(), "SBOM made");
    Ok(Sbom {
        subject: Subject {
            name: name.to_owned(),
            digest: image.manifest_digest.clone(),
            created,
        },
        packages,
    })
}

fn format(f: SbomFormat) -> Format {
    match f {
        SbomFormat::SpdxJson => Format::SpdxJson,
        SbomFormat::CyclonedxJson => Format::CycloneDxJson,
        SbomFormat::Table => Format::Table,
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it: a failure leaves
/// no half-written file.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.strata-tmp"));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("writing {}", path.display()))
}
