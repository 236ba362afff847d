//! The analysis of an image: per layer, totals, the biggest files, the wasted paths and
//! the content duplicated across layers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use serde::Serialize;
use strata_content::{Image, Store};
use strata_oci::Digest;

use super::files::{Kind, LayerFiles};
use super::merge::{merge, Merged};
use crate::image::{layers, walk, WalkError};

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
    /// Paths whose versions left the view, most wasted bytes first.
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
    /// `size × (copies − 1)`.
    pub repeated_bytes: u64,
    pub copies: Vec<FileAt>,
}

/// Reads every layer of `image` from `store` once and analyses it.
pub fn analyze_image(store: &Store, image: &Image, opts: &Options) -> Result<Analysis, WalkError> {
    let infos = layers(image);
    let files = walk(store, &infos, opts.jobs, LayerFiles::new)?;
    Ok(analysis(image, &files, opts.top))
}

/// The analysis of walked layers.
pub fn analysis(image: &Image, files: &[LayerFiles], top: usize) -> Analysis {
    let merged = merge(files);
    let total_bytes: u64 = files.iter().map(|l| l.bytes).sum();
    let kept_bytes: u64 = merged
        .view
        .values()
        .filter(|n| n.kind == Kind::File)
        .map(|n| n.size)
        .sum();
    let wasted_bytes = merged.wasted();
    debug_assert_eq!(wasted_bytes, total_bytes - kept_bytes);
    let user_bytes: u64 = files.iter().skip(1).map(|l| l.bytes).sum();
    Analysis {
        manifest_digest: image.manifest_digest.clone(),
        config_digest: image.config_digest.clone(),
        layers: layer_reports(files, &merged),
        total_bytes,
        kept_bytes,
        blob_bytes: files.iter().map(|l| l.info.blob_size).sum(),
        wasted_bytes,
        efficiency: ratio(kept_bytes, total_bytes, 1.0),
        user_wasted_percent: ratio(wasted_bytes, user_bytes, 0.0),
        wasted_files: wasted_files(&merged, top),
        biggest_files: biggest_files(&merged, top),
        duplicates: duplicates(files, top),
    }
}

fn ratio(a: u64, b: u64, when_empty: f64) -> f64 {
    if b == 0 {
        when_empty
    } else {
        a as f64 / b as f64
    }
}

fn layer_reports(files: &[LayerFiles], merged: &Merged) -> Vec<LayerReport> {
    files
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

fn wasted_files(merged: &Merged, top: usize) -> Vec<WastedFile> {
    let mut rows: Vec<WastedFile> = merged
        .waste
        .iter()
        .map(|(path, w)| WastedFile {
            path: path.to_string(),
            versions: w.versions,
            cumulative: w.cumulative,
            wasted: w.wasted,
            deleted: w.deleted,
        })
        .collect();
    rows.sort_by(|a, b| b.wasted.cmp(&a.wasted).then_with(|| a.path.cmp(&b.path)));
    rows.truncate(top);
    rows
}

fn biggest_files(merged: &Merged, top: usize) -> Vec<FileAt> {
    let mut heap = BinaryHeap::with_capacity(top + 1);
    for (path, node) in merged.view.iter().filter(|(_, n)| n.kind == Kind::File) {
        heap.push(Reverse((node.size, Reverse(path), node.layer)));
        if heap.len() > top {
            heap.pop();
        }
    }
    let mut rows: Vec<FileAt> = heap
        .into_iter()
        .map(|Reverse((size, Reverse(path), layer))| FileAt {
            path: path.to_string(),
            size,
            layer,
        })
        .collect();
    rows.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    rows
}

/// Contents (by hash) written in at least two layers.
fn duplicates(files: &[LayerFiles], top: usize) -> Vec<Duplicate> {
    let mut by_hash: HashMap<u128, Vec<FileAt>> = HashMap::new();
    for (layer, l) in files.iter().enumerate() {
        for r in l.records.iter().filter(|r| r.kind == Kind::File) {
            if let Some(h) = r.hash {
                by_hash.entry(h).or_default().push(FileAt {
                    path: r.path.to_string(),
                    size: r.size,
                    layer,
                });
            }
        }
    }
    let mut rows: Vec<Duplicate> = by_hash
        .into_values()
        .filter(|copies| copies.iter().any(|c| c.layer != copies[0].layer))
        .map(|copies| Duplicate {
            size: copies[0].size,
            repeated_bytes: copies[0].size * (copies.len() as u64 - 1),
            copies,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.repeated_bytes
            .cmp(&a.repeated_bytes)
            .then_with(|| a.copies[0].path.cmp(&b.copies[0].path))
    });
    rows.truncate(top);
    rows
}
