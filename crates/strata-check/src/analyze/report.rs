//! The analysis of an image: per layer, totals, the biggest files, the wasted paths and
//! the content duplicated across layers.

use serde::Serialize;
use strata_content::{BlobSource, Image};
use strata_oci::Digest;

use super::files::{HashRec, LayerFiles, LayerSummary};
use super::merge::{merge, Merged};
use super::runs::{merge as merge_runs, Run};
use super::top::Top;
use crate::image::{layers, walk, Pair, WalkError};
use crate::secrets;

/// How [`analyze_image`] runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Layers read at once.
    pub jobs: usize,
    /// Rows in each top list (biggest files, wasted paths, duplicates).
    pub top: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            top: 10,
        }
    }
}

/// What [`analyze_image`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub manifest_digest: Digest,
    /// The image ID.
    pub config_digest: Digest,
    pub layers: Vec<LayerReport>,
    /// Σ of the layers' file bytes (uncompressed), every version of every file.
    pub total_bytes: u64,
    /// Σ of the file bytes of the final filesystem.
    pub kept_bytes: u64,
    /// Σ of the layer blobs as stored (compressed where compressed).
    pub blob_bytes: u64,
    /// `total_bytes − kept_bytes`: bytes shipped that the final filesystem does not have.
    pub wasted_bytes: u64,
    /// `kept_bytes / total_bytes` (1 for an empty image).
    pub efficiency: f64,
    /// `wasted_bytes` over the file bytes of the layers above the first (dive's
    /// "user" layers), 0 when there are none.
    pub user_wasted_percent: f64,
    /// How many paths have wasted bytes.
    pub wasted_paths: usize,
    /// The paths with the most wasted bytes, most first.
    pub wasted_files: Vec<WastedFile>,
    /// The biggest files of the final filesystem.
    pub biggest_files: Vec<FileAt>,
    /// Identical content in more than one layer, most bytes repeated first.
    pub duplicates: Vec<Duplicate>,
}

/// One layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    pub index: usize,
    pub digest: Digest,
    /// The instruction that made it (history `created_by`).
    pub created_by: Option<String>,
    pub blob_size: u64,
    /// Σ of its regular files' sizes.
    pub bytes: u64,
    pub files: usize,
    /// Its bytes that are not in the final filesystem.
    pub wasted: u64,
}

/// A path with wasted bytes.
#[derive(Debug, Clone, Serialize)]
pub struct WastedFile {
    pub path: String,
    /// How many layers wrote it.
    pub versions: usize,
    pub cumulative: u64,
    pub wasted: u64,
    /// Gone from the final filesystem (deleted by a later layer).
    pub deleted: bool,
}

/// A file in a layer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileAt {
    pub path: String,
    pub size: u64,
    pub layer: usize,
}

/// One content present in more than one layer.
#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    pub size: u64,
    /// `size × (count − 1)`.
    pub repeated_bytes: u64,
    /// How many files have this content.
    pub count: usize,
    /// The first 20 of them (layer order).
    pub copies: Vec<FileAt>,
}

/// An image that could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("writing the sorted entries of layer {index} to a temporary file: {source}")]
    Spill {
        index: usize,
        source: std::io::Error,
    },
    #[error("reading back the sorted entries of the layers: {0}")]
    Merge(std::io::Error),
}

/// Reads every layer of `image` from `blobs` once and analyses it.
pub fn analyze_image<B: BlobSource + ?Sized>(
    blobs: &B,
    image: &Image,
    opts: &Options,
) -> Result<Analysis, AnalyzeError> {
    let infos = layers(image);
    let files = walk(blobs, &infos, opts.jobs, LayerFiles::new)?;
    analysis(image, files, opts.top)
}

/// [`analyze_image`] and the secrets scan of [`crate::secrets`] in one read of the layers
/// (`strata analyze --secrets`).
pub fn analyze_and_scan<B: BlobSource + ?Sized>(
    blobs: &B,
    image: &Image,
    opts: &Options,
) -> Result<(Analysis, secrets::Report), AnalyzeError> {
    let scanner = secrets::Scanner::builtin();
    let infos = layers(image);
    let pairs = walk(blobs, &infos, opts.jobs, |layer| {
        Pair::new(
            LayerFiles::new(layer),
            secrets::SecretVisitor::new(scanner, layer),
        )
    })?;
    let (files, scans): (Vec<LayerFiles>, Vec<secrets::LayerScan>) = pairs
        .into_iter()
        .map(|p| (p.first, p.second.finish()))
        .unzip();
    let analysis = analysis(image, files, opts.top)?;
    let mut report = secrets::Report::from_layers(scanner, scans);
    report.add_config(scanner, &image.config);
    Ok((analysis, report))
}

/// The analysis of walked layers.
pub fn analysis(
    image: &Image,
    files: Vec<LayerFiles>,
    top: usize,
) -> Result<Analysis, AnalyzeError> {
    let mut path_runs = Vec::new();
    let mut hash_runs = Vec::new();
    let mut summaries = Vec::new();
    for l in files {
        let index = l.info.index;
        let ((paths, hashes), summary) = l
            .finish()
            .map_err(|source| AnalyzeError::Spill { index, source })?;
        path_runs.extend(paths);
        hash_runs.extend(hashes);
        summaries.push(summary);
    }
    let merged = merge(path_runs, summaries.len(), top).map_err(AnalyzeError::Merge)?;
    let duplicates = duplicates(hash_runs, top).map_err(AnalyzeError::Merge)?;
    let total_bytes: u64 = summaries.iter().map(|l| l.bytes).sum();
    let kept_bytes = merged.kept_bytes;
    let wasted_bytes = merged.wasted();
    debug_assert_eq!(wasted_bytes, total_bytes - kept_bytes);
    let user_bytes: u64 = summaries.iter().skip(1).map(|l| l.bytes).sum();
    Ok(Analysis {
        manifest_digest: image.manifest_digest.clone(),
        config_digest: image.config_digest.clone(),
        layers: layer_reports(&summaries, &merged),
        total_bytes,
        kept_bytes,
        blob_bytes: summaries.iter().map(|l| l.info.blob_size).sum(),
        wasted_bytes,
        efficiency: ratio(kept_bytes, total_bytes, 1.0),
        user_wasted_percent: ratio(wasted_bytes, user_bytes, 0.0),
        wasted_paths: merged.wasted_paths,
        wasted_files: merged.wasted_files,
        biggest_files: merged.biggest_files,
        duplicates,
    })
}

fn ratio(a: u64, b: u64, when_empty: f64) -> f64 {
    if b == 0 {
        when_empty
    } else {
        a as f64 / b as f64
    }
}

fn layer_reports(layers: &[LayerSummary], merged: &Merged) -> Vec<LayerReport> {
    layers
        .iter()
        .zip(&merged.layer_wasted)
        .map(|(l, wasted)| LayerReport {
            index: l.info.index,
            digest: l.info.digest.clone(),
            created_by: l.info.created_by.clone(),
            blob_size: l.info.blob_size,
            bytes: l.bytes,
            files: l.files,
            wasted: *wasted,
        })
        .collect()
}

/// Copies listed per duplicate (all are counted).
const COPIES_SHOWN: usize = 20;

/// Contents (by hash) written in at least two layers, from the hash-ordered runs.
fn duplicates(runs: Vec<Run<HashRec>>, top: usize) -> std::io::Result<Vec<Duplicate>> {
    let mut best = Top::new(top);
    let mut group: Option<(u128, Duplicate, u32, bool)> = None;
    let flush = |g: Option<(u128, Duplicate, u32, bool)>, best: &mut Top<Duplicate>| {
        if let Some((_, d, _, across)) = g {
            if across {
                best.push(d.repeated_bytes, d);
            }
        }
    };
    for rec in merge_runs(runs)? {
        let rec = rec?;
        let at = FileAt {
            path: rec.path,
            size: rec.size,
            layer: rec.layer as usize,
        };
        match group.as_mut() {
            Some((hash, d, first_layer, across)) if *hash == rec.hash => {
                d.count += 1;
                d.repeated_bytes += rec.size;
                *across |= rec.layer != *first_layer;
                if d.copies.len() < COPIES_SHOWN {
                    d.copies.push(at);
                }
            }
            _ => {
                flush(group.take(), &mut best);
                let d = Duplicate {
                    size: rec.size,
                    repeated_bytes: 0,
                    count: 1,
                    copies: vec![at],
                };
                group = Some((rec.hash, d, rec.layer, false));
            }
        }
    }
    flush(group, &mut best);
    Ok(best.into_sorted())
}
