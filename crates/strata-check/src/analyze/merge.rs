//! The layers applied bottom-up, streamed: every layer's entries come in one sorted stream
//! (path, then layer), so a path's versions arrive together and its subtree right after
//! it. A stack of the deletions that apply to the current subtree (a whiteout, an opaque
//! marker, a file written over a directory: "versions of layers below L are gone") is all
//! the state a path needs besides its own versions, so memory is the depth of the tree plus
//! the top lists, whatever the image's size.
//!
//! A version of a path is wasted when a later layer overwrites it, deletes it, or deletes
//! or replaces a directory above it; each wasted byte is counted once, on the layer that
//! added it. What is left is the final filesystem.

use std::io;

use super::files::{Kind, PathRec};
use super::report::{FileAt, WastedFile};
use super::runs::{merge as merge_runs, Run};
use super::top::Top;

/// What the merge found.
#[derive(Debug, Default)]
pub struct Merged {
    /// Per layer, the bytes it added that are not in the final filesystem.
    pub layer_wasted: Vec<u64>,
    /// Σ of the final filesystem's file bytes.
    pub kept_bytes: u64,
    /// How many paths have wasted bytes.
    pub wasted_paths: usize,
    /// The paths with the most wasted bytes.
    pub wasted_files: Vec<WastedFile>,
    /// The biggest files of the final filesystem.
    pub biggest_files: Vec<FileAt>,
}

impl Merged {
    /// Σ of the wasted bytes.
    pub fn wasted(&self) -> u64 {
        self.layer_wasted.iter().sum()
    }
}

/// Merges the path runs of `layers` layers; `top` rows in each list.
pub fn merge(runs: Vec<Run<PathRec>>, layers: usize, top: usize) -> io::Result<Merged> {
    let mut state = State {
        merged: Merged {
            layer_wasted: vec![0; layers],
            ..Merged::default()
        },
        deletions: Vec::new(),
        wasted: Top::new(top),
        biggest: Top::new(top),
    };
    let mut stream = merge_runs(runs)?.peekable();
    let mut group: Vec<PathRec> = Vec::new();
    while let Some(first) = stream.next() {
        group.clear();
        group.push(first?);
        while let Some(Ok(next)) = stream.peek() {
            if next.path != group[0].path {
                break;
            }
            group.push(stream.next().expect("peeked")?);
        }
        if let Some(Err(_)) = stream.peek() {
            return Err(stream.next().expect("peeked").expect_err("peeked an error"));
        }
        state.path(&group);
    }
    let State {
        mut merged,
        wasted,
        biggest,
        ..
    } = state;
    merged.wasted_files = wasted.into_sorted();
    merged.biggest_files = biggest.into_sorted();
    Ok(merged)
}

struct State {
    merged: Merged,
    /// (directory, L): versions below layer L of the directory's descendants are gone.
    deletions: Vec<(String, u32)>,
    wasted: Top<WastedFile>,
    biggest: Top<FileAt>,
}

/// Whether `p` is below directory `dir` (everything is below the root, `""`).
fn below(dir: &str, p: &str) -> bool {
    if dir.is_empty() {
        return !p.is_empty();
    }
    p.len() > dir.len() && p.starts_with(dir) && p.as_bytes()[dir.len()] == b'/'
}

impl State {
    /// One path: `group` holds its records, bottom layer first.
    fn path(&mut self, group: &[PathRec]) {
        let path = group[0].path.as_str();
        while let Some((dir, _)) = self.deletions.last() {
            if below(dir, path) {
                break;
            }
            self.deletions.pop();
        }
        let cut = self.deletions.iter().map(|d| d.1).max().unwrap_or(0);
        let mut whiteout = 0;
        let mut subtree = 0;
        for r in group {
            match r.kind {
                Kind::Whiteout => {
                    whiteout = whiteout.max(r.layer);
                    subtree = subtree.max(r.layer);
                }
                Kind::Opaque | Kind::File | Kind::Other => subtree = subtree.max(r.layer),
                Kind::Dir => {}
            }
        }
        if subtree > 0 {
            self.deletions.push((path.to_string(), subtree));
        }
        self.versions(path, group, cut.max(whiteout));
    }

    /// The versions of `path` (records that are not whiteouts or opaque markers): each is
    /// gone when a later one exists or its layer is below `gone_below`.
    fn versions(&mut self, path: &str, group: &[PathRec], gone_below: u32) {
        let versions: Vec<&PathRec> = group
            .iter()
            .filter(|r| !matches!(r.kind, Kind::Whiteout | Kind::Opaque))
            .collect();
        let mut row = WastedFile {
            path: path.to_string(),
            versions: 0,
            cumulative: 0,
            wasted: 0,
            deleted: true,
        };
        for (i, v) in versions.iter().enumerate() {
            let gone = i + 1 < versions.len() || v.layer < gone_below;
            if v.kind == Kind::File {
                row.versions += 1;
                row.cumulative += v.size;
                if gone {
                    row.wasted += v.size;
                    self.merged.layer_wasted[v.layer as usize] += v.size;
                } else {
                    row.deleted = false;
                    self.merged.kept_bytes += v.size;
                    let at = FileAt {
                        path: path.to_string(),
                        size: v.size,
                        layer: v.layer as usize,
                    };
                    self.biggest.push(v.size, at);
                }
            }
        }
        if row.wasted > 0 {
            self.merged.wasted_paths += 1;
            let key = row.wasted;
            self.wasted.push(key, row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::files::LayerFiles;
    use super::super::runs::Runs;
    use super::*;
    use crate::image::LayerInfo;

    /// Layers of (path, kind, size) records; `spill` items per run (small, to cover
    /// the on-disk runs).
    fn merged(layers: &[&[(&str, Kind, u64)]], spill: usize) -> Merged {
        let mut runs = Vec::new();
        for (index, records) in layers.iter().enumerate() {
            let info = LayerInfo {
                index,
                digest: strata_oci::Digest::of(format!("{index}").as_bytes()),
                media_type: String::new(),
                blob_size: 0,
                diff_id: None,
                created_by: None,
            };
            let mut l =
                LayerFiles::with_runs(&info, Runs::with_limit(spill), Runs::with_limit(spill));
            for (path, kind, size) in records.iter() {
                l.record(path, *kind, *size);
            }
            runs.extend(l.finish().unwrap().0 .0);
        }
        merge(runs, layers.len(), 10).unwrap()
    }

    fn both(layers: &[&[(&str, Kind, u64)]]) -> Merged {
        let big = merged(layers, 1000);
        let small = merged(layers, 1);
        assert_eq!(
            big.layer_wasted, small.layer_wasted,
            "spilling changes nothing"
        );
        assert_eq!(big.kept_bytes, small.kept_bytes);
        big
    }

    use Kind::*;

    #[test]
    fn overwrite_wastes_the_lower_version_once() {
        let m = both(&[
            &[("a", Dir, 0), ("a/f", File, 100)],
            &[("a", Dir, 0), ("a/f", File, 30)],
            &[("a/f", File, 10)],
        ]);
        assert_eq!(m.wasted(), 130);
        assert_eq!(m.layer_wasted, vec![100, 30, 0]);
        let w = &m.wasted_files[0];
        assert_eq!(
            (w.versions, w.cumulative, w.wasted, w.deleted),
            (3, 140, 130, false)
        );
    }

    #[test]
    fn a_deleted_file_is_counted_once() {
        let m = both(&[&[("big", File, 1000)], &[("big", Whiteout, 0)]]);
        assert_eq!(m.wasted(), 1000);
        assert!(m.wasted_files[0].deleted);
        assert_eq!(m.kept_bytes, 0);
    }

    #[test]
    fn whiteout_of_a_directory_removes_its_tree_but_not_its_siblings() {
        let m = both(&[
            &[
                ("d", Dir, 0),
                ("d/x", File, 5),
                ("d/sub/y", File, 7),
                ("d0", File, 11),
                ("d-x", File, 13),
            ],
            &[("d", Whiteout, 0)],
        ]);
        assert_eq!(m.wasted(), 12);
        assert_eq!(m.kept_bytes, 24);
    }

    #[test]
    fn opaque_hides_lower_layers_only_whatever_the_tar_order() {
        let m = both(&[
            &[("c", Dir, 0), ("c/old", File, 40)],
            &[("c/new", File, 2), ("c", Opaque, 0)],
        ]);
        assert_eq!(m.wasted(), 40);
        assert_eq!(m.kept_bytes, 2);
    }

    #[test]
    fn a_directory_replaced_by_a_file_loses_its_tree_and_a_new_tree_lives() {
        let m = both(&[
            &[("p", Dir, 0), ("p/q", File, 9)],
            &[("p", File, 1)],
            &[("p", Dir, 0), ("p/r", File, 4)],
        ]);
        assert_eq!(m.wasted(), 10, "p/q and the file p");
        assert_eq!(m.kept_bytes, 4);
    }

    #[test]
    fn an_opaque_root_hides_everything_below() {
        let m = both(&[
            &[("a", File, 3), ("b/c", File, 4)],
            &[("", Opaque, 0), ("z", File, 1)],
        ]);
        assert_eq!(m.wasted(), 7);
        assert_eq!(m.kept_bytes, 1);
    }

    #[test]
    fn wasted_equals_cumulative_minus_kept() {
        let layers: &[&[(&str, Kind, u64)]] = &[
            &[("a", File, 10), ("b", File, 20), ("c", File, 5)],
            &[("a", File, 3), ("b", Whiteout, 0)],
            &[("b", File, 8), ("a", Whiteout, 0)],
        ];
        let m = both(layers);
        let cumulative: u64 = 10 + 20 + 5 + 3 + 8;
        assert_eq!(m.wasted(), cumulative - m.kept_bytes);
        assert_eq!(m.wasted(), 10 + 3 + 20);
        assert_eq!(m.wasted_paths, 2);
    }
}
