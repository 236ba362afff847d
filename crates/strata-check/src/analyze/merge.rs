//! The layers applied bottom-up to one view of the filesystem. A layer's whiteouts and
//! opaque markers delete from the layers below it (so they apply before its own entries,
//! whatever their tar order); a path written again replaces what was there. Every byte
//! that leaves the view this way is wasted, counted once, on the path and on the layer
//! that added it.

use std::collections::{BTreeMap, HashMap};

use super::files::{Kind, LayerFiles};

/// A path of the current view.
#[derive(Debug, Clone, Copy)]
pub struct Node {
    pub kind: Kind,
    pub size: u64,
    /// The layer that wrote it.
    pub layer: usize,
    pub hash: Option<u128>,
}

/// The waste of one path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathWaste {
    /// How many layers wrote the path.
    pub versions: usize,
    /// Σ of the sizes of every version.
    pub cumulative: u64,
    /// Bytes of the versions that left the view.
    pub wasted: u64,
    /// Whether the path is gone from the final view.
    pub deleted: bool,
}

/// The layers merged.
#[derive(Debug, Default)]
pub struct Merged {
    /// The final view, by path.
    pub view: BTreeMap<Box<str>, Node>,
    /// Paths written more than once or deleted.
    pub waste: HashMap<Box<str>, PathWaste>,
    /// Per layer, the bytes it added that left the view.
    pub layer_wasted: Vec<u64>,
}

impl Merged {
    /// Σ of the wasted bytes.
    pub fn wasted(&self) -> u64 {
        self.layer_wasted.iter().sum()
    }
}

/// Applies `layers` (bottom first).
pub fn merge(layers: &[LayerFiles]) -> Merged {
    let mut m = Merged {
        layer_wasted: vec![0; layers.len()],
        ..Merged::default()
    };
    let mut versions: HashMap<Box<str>, (usize, u64)> = HashMap::new();
    for (index, layer) in layers.iter().enumerate() {
        for r in layer.records.iter() {
            match r.kind {
                Kind::Whiteout => m.remove_tree(&r.path, true),
                Kind::Opaque => m.remove_tree(&r.path, false),
                _ => {}
            }
        }
        for r in layer.records.iter() {
            if matches!(r.kind, Kind::Whiteout | Kind::Opaque) {
                continue;
            }
            if r.kind == Kind::File {
                let v = versions.entry(r.path.clone()).or_default();
                v.0 += 1;
                v.1 += r.size;
            }
            m.put(
                &r.path,
                Node {
                    kind: r.kind,
                    size: r.size,
                    layer: index,
                    hash: r.hash,
                },
            );
        }
    }
    m.finish(versions);
    m
}

impl Merged {
    /// Writes `node` at `path`: what was there leaves the view (a directory stays a
    /// directory when written again; a directory replaced by a file loses its tree).
    fn put(&mut self, path: &str, node: Node) {
        match self.view.get(path).copied() {
            Some(old) if old.kind == Kind::Dir && node.kind == Kind::Dir => return,
            Some(old) if old.kind == Kind::Dir => self.remove_tree(path, false),
            Some(old) => self.discard(path, old),
            None => {}
        }
        self.view.insert(path.into(), node);
    }

    /// Removes everything under `path`, and `path` itself when `itself`.
    fn remove_tree(&mut self, path: &str, itself: bool) {
        let below: Vec<Box<str>> = if path.is_empty() {
            self.view.keys().cloned().collect()
        } else {
            let start = format!("{path}/");
            let end = format!("{path}0"); // '0' follows '/'
            self.view
                .range::<str, _>((
                    std::ops::Bound::Included(start.as_str()),
                    std::ops::Bound::Excluded(end.as_str()),
                ))
                .map(|(k, _)| k.clone())
                .collect()
        };
        for key in below {
            if let Some(old) = self.view.remove(&key) {
                self.discard(&key, old);
            }
        }
        if itself {
            if let Some(old) = self.view.remove(path) {
                self.discard(path, old);
            }
        }
    }

    /// Counts `old` (a version leaving the view) as wasted.
    fn discard(&mut self, path: &str, old: Node) {
        if old.kind != Kind::File {
            return;
        }
        self.layer_wasted[old.layer] += old.size;
        let w = self.waste.entry(path.into()).or_default();
        w.wasted += old.size;
    }

    /// Fills in versions, cumulative sizes and deletions of the wasted paths.
    fn finish(&mut self, versions: HashMap<Box<str>, (usize, u64)>) {
        for (path, w) in self.waste.iter_mut() {
            if let Some((n, cumulative)) = versions.get(path) {
                w.versions = *n;
                w.cumulative = *cumulative;
            }
            w.deleted = !matches!(self.view.get(path), Some(n) if n.kind == Kind::File);
        }
        self.waste.retain(|_, w| w.wasted > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::files::Record;
    use super::*;
    use crate::image::LayerInfo;

    fn layer(index: usize, records: &[(&str, Kind, u64)]) -> LayerFiles {
        let info = LayerInfo {
            index,
            digest: strata_oci::Digest::of(format!("{index}").as_bytes()),
            media_type: String::new(),
            blob_size: 0,
            diff_id: None,
            created_by: None,
        };
        let mut l = LayerFiles::new(&info);
        for (path, kind, size) in records {
            l.records.push(Record {
                path: (*path).into(),
                kind: *kind,
                size: *size,
                hash: None,
            });
            if *kind == Kind::File {
                l.bytes += size;
            }
        }
        l
    }

    #[test]
    fn overwrite_wastes_the_lower_version_once() {
        let m = merge(&[
            layer(0, &[("a", Kind::Dir, 0), ("a/f", Kind::File, 100)]),
            layer(1, &[("a", Kind::Dir, 0), ("a/f", Kind::File, 30)]),
            layer(2, &[("a/f", Kind::File, 10)]),
        ]);
        assert_eq!(m.wasted(), 130);
        assert_eq!(m.layer_wasted, vec![100, 30, 0]);
        let w = &m.waste["a/f"];
        assert_eq!(
            (w.versions, w.cumulative, w.wasted, w.deleted),
            (3, 140, 130, false)
        );
    }

    #[test]
    fn a_deleted_file_is_counted_once() {
        let m = merge(&[
            layer(0, &[("big", Kind::File, 1000)]),
            layer(1, &[("big", Kind::Whiteout, 0)]),
        ]);
        assert_eq!(m.wasted(), 1000);
        assert!(m.waste["big"].deleted);
        assert!(m.view.is_empty());
    }

    #[test]
    fn whiteout_of_a_directory_removes_its_tree_but_not_its_siblings() {
        let m = merge(&[
            layer(
                0,
                &[
                    ("d", Kind::Dir, 0),
                    ("d/x", Kind::File, 5),
                    ("d/sub/y", Kind::File, 7),
                    ("d0", Kind::File, 11),
                    ("d-x", Kind::File, 13),
                ],
            ),
            layer(1, &[("d", Kind::Whiteout, 0)]),
        ]);
        assert_eq!(m.wasted(), 12);
        assert!(m.view.contains_key("d0") && m.view.contains_key("d-x"));
    }

    #[test]
    fn opaque_hides_lower_layers_only_whatever_the_tar_order() {
        let m = merge(&[
            layer(0, &[("c", Kind::Dir, 0), ("c/old", Kind::File, 40)]),
            layer(1, &[("c/new", Kind::File, 2), ("c", Kind::Opaque, 0)]),
        ]);
        assert_eq!(m.wasted(), 40);
        assert!(m.view.contains_key("c/new"));
    }

    #[test]
    fn a_directory_replaced_by_a_file_loses_its_tree() {
        let m = merge(&[
            layer(0, &[("p", Kind::Dir, 0), ("p/q", Kind::File, 9)]),
            layer(1, &[("p", Kind::File, 1)]),
        ]);
        assert_eq!(m.wasted(), 9);
    }

    #[test]
    fn wasted_equals_cumulative_minus_kept() {
        let layers = [
            layer(
                0,
                &[
                    ("a", Kind::File, 10),
                    ("b", Kind::File, 20),
                    ("c", Kind::File, 5),
                ],
            ),
            layer(1, &[("a", Kind::File, 3), ("b", Kind::Whiteout, 0)]),
            layer(2, &[("b", Kind::File, 8), ("a", Kind::Whiteout, 0)]),
        ];
        let m = merge(&layers);
        let cumulative: u64 = layers.iter().map(|l| l.bytes).sum();
        let kept: u64 = m.view.values().map(|n| n.size).sum();
        assert_eq!(m.wasted(), cumulative - kept);
        assert_eq!(m.wasted(), 10 + 3 + 20);
    }
}
