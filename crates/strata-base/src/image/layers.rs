//! One layer of packages: their files (merged-/usr mapped, dpkg path filters applied),
//! their `info/` files and the dpkg database of every package installed so far, written by
//! strata-archive's deterministic writer straight into the store.

use std::collections::BTreeMap;
use std::io::BufWriter;

use globset::{Glob, GlobSet, GlobSetBuilder};
use strata_archive::{write_layer, Entry, EntryKind, WriteOptions};
use strata_content::Store;
use strata_oci::{media_types, Descriptor};

use super::{Layer, LayerOptions, Unpacked};
use crate::dpkg::{self, DbPackage, InstallState};

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("invalid path pattern {pattern:?}")]
    Pattern {
        pattern: String,
        #[source]
        source: globset::Error,
    },
    #[error("writing layer {name}")]
    Write {
        name: String,
        #[source]
        source: strata_archive::Error,
    },
    #[error("storing layer {name}")]
    Store {
        name: String,
        #[source]
        source: strata_content::Error,
    },
}

/// dpkg's `path-exclude`/`path-include` (dpkg.cfg(5)): a packaged file (not a directory)
/// matching an exclude pattern and no include pattern is not written. Patterns are
/// absolute, `*` crosses `/` (dpkg uses fnmatch without `FNM_PATHNAME`).
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    exclude: Option<GlobSet>,
    include: Option<GlobSet>,
}

impl PathFilter {
    pub fn new(exclude: &[String], include: &[String]) -> Result<PathFilter, LayerError> {
        Ok(PathFilter {
            exclude: set(exclude)?,
            include: set(include)?,
        })
    }

    /// Whether the packaged path (relative, `usr/share/doc/x`) is kept.
    pub fn keeps(&self, rel: &str, kind: &EntryKind) -> bool {
        if matches!(kind, EntryKind::Dir) {
            return true;
        }
        let abs = format!("/{rel}");
        let excluded = self.exclude.as_ref().is_some_and(|s| s.is_match(&abs));
        !excluded || self.include.as_ref().is_some_and(|s| s.is_match(&abs))
    }
}

fn set(patterns: &[String]) -> Result<Option<GlobSet>, LayerError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|source| LayerError::Pattern {
            pattern: p.clone(),
            source,
        })?);
    }
    b.build().map(Some).map_err(|source| LayerError::Pattern {
        pattern: patterns.join(" "),
        source,
    })
}

/// `bin/sh` → `usr/bin/sh` when `bin` is a merged-/usr link; `None` for the link itself.
fn merged_path(path: &str, merged: &[String]) -> Option<String> {
    let (first, rest) = path.split_once('/').unwrap_or((path, ""));
    if !merged.iter().any(|m| m == first) {
        return Some(path.to_owned());
    }
    (!rest.is_empty()).then(|| format!("usr/{first}/{rest}"))
}

/// The layer holding `packages` (with `extra` entries on top), and the dpkg database of
/// `installed` (every package up to and including these, in install order).
pub fn package_layer(
    store: &Store,
    name: &str,
    packages: &[&Unpacked],
    installed: &[&Unpacked],
    state: InstallState,
    extra: Vec<Entry>,
    opts: &LayerOptions,
) -> Result<Layer, LayerError> {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for pkg in packages {
        for f in &pkg.deb.files {
            if !opts.filter.keeps(&f.path, &f.kind) {
                continue;
            }
            let Some(path) = merged_path(&f.path, &opts.merged_usr) else {
                continue;
            };
            let mut e = f.clone();
            e.path = path.clone();
            if let EntryKind::Hardlink { target } = &e.kind {
                let Some(t) = merged_path(target, &opts.merged_usr) else {
                    continue;
                };
                e.kind = EntryKind::Hardlink { target: t };
            }
            insert(&mut entries, e);
        }
        for e in dpkg::info_entries(&pkg.deb, opts.epoch) {
            insert(&mut entries, e);
        }
    }
    let db: Vec<DbPackage<'_>> = installed
        .iter()
        .map(|u| DbPackage {
            deb: &u.deb,
            index_stanza: u.index_stanza.as_deref(),
        })
        .collect();
    for e in dpkg::database_entries(&db, state, opts.epoch) {
        entries.insert(e.path.clone(), e);
    }
    for e in extra {
        entries.insert(e.path.clone(), e);
    }
    drop_dangling_hardlinks(&mut entries);
    let created_by = format!(
        "strata base: {name}: {}",
        packages
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(" ")
    );
    store_entries(
        store,
        name,
        entries.into_values().collect(),
        opts,
        created_by,
    )
}

/// Directories: the first package's metadata stays (dpkg keeps an existing directory);
/// anything else: the later package's file replaces the earlier one.
fn insert(entries: &mut BTreeMap<String, Entry>, e: Entry) {
    if matches!(e.kind, EntryKind::Dir) && entries.contains_key(&e.path) {
        return;
    }
    entries.insert(e.path.clone(), e);
}

/// A hard link whose target was filtered out cannot be written.
fn drop_dangling_hardlinks(entries: &mut BTreeMap<String, Entry>) {
    let dangling: Vec<String> = entries
        .values()
        .filter_map(|e| match &e.kind {
            EntryKind::Hardlink { target } if !entries.contains_key(target) => Some(e.path.clone()),
            _ => None,
        })
        .collect();
    for path in dangling {
        entries.remove(&path);
    }
}

/// Writes `entries` as one layer blob into the store (committed only once complete).
pub fn store_entries(
    store: &Store,
    name: &str,
    entries: Vec<Entry>,
    opts: &LayerOptions,
    created_by: String,
) -> Result<Layer, LayerError> {
    let store_err = |source| LayerError::Store {
        name: name.to_owned(),
        source,
    };
    let writer = BufWriter::with_capacity(1 << 20, store.blob_writer().map_err(store_err)?);
    let wopts = WriteOptions {
        source_date_epoch: Some(opts.epoch),
        skip_output_digest: true,
        ..WriteOptions::default()
    };
    let (info, writer) =
        write_layer(entries, writer, opts.compression, wopts).map_err(|source| {
            LayerError::Write {
                name: name.to_owned(),
                source,
            }
        })?;
    let blob = writer.into_inner().map_err(|e| LayerError::Write {
        name: name.to_owned(),
        source: strata_archive::Error::Finish {
            source: e.into_error(),
        },
    })?;
    let (digest, size) = blob.commit(None).map_err(store_err)?;
    let media_type = match opts.compression {
        strata_archive::Compression::None => media_types::OCI_LAYER,
        strata_archive::Compression::Zstd { .. } => media_types::OCI_LAYER_ZSTD,
        _ => media_types::OCI_LAYER_GZIP,
    };
    Ok(Layer {
        descriptor: Descriptor::new(media_type, digest, size),
        diff_id: info.diff_id,
        created_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_usr_maps_paths_and_drops_the_link_dirs() {
        let m = vec!["bin".to_owned(), "lib64".to_owned()];
        assert_eq!(merged_path("bin/sh", &m).as_deref(), Some("usr/bin/sh"));
        assert_eq!(merged_path("bin", &m), None);
        assert_eq!(
            merged_path("lib64/ld.so", &m).as_deref(),
            Some("usr/lib64/ld.so")
        );
        assert_eq!(merged_path("binx/a", &m).as_deref(), Some("binx/a"));
        assert_eq!(merged_path("usr/bin/a", &m).as_deref(), Some("usr/bin/a"));
    }

    #[test]
    fn path_filter_is_dpkgs() {
        let f = PathFilter::new(
            &["/usr/share/doc/*".into(), "/usr/share/locale/*".into()],
            &["/usr/share/doc/*/copyright".into()],
        )
        .unwrap();
        let file = EntryKind::Fifo;
        assert!(!f.keeps("usr/share/doc/bash/README.gz", &file));
        assert!(f.keeps("usr/share/doc/bash/copyright", &file));
        assert!(f.keeps("usr/share/doc/bash", &EntryKind::Dir));
        assert!(!f.keeps("usr/share/locale/de/LC_MESSAGES/x.mo", &file));
        assert!(f.keeps("usr/bin/bash", &file));
    }
}
