//! Source selection: the build context or an image's root filesystem seen as one read-only
//! tree, with COPY's source patterns (literal paths and Go globs, cleaned like BuildKit) resolved
//! to nodes and directories walked in path order. Used by COPY/ADD and by `RUN --mount`.

use std::fs::Metadata;
use std::path::PathBuf;

use crate::sources::context::Context;
use crate::sources::glob::{has_meta, path_match};
use crate::sources::rootfs::RootfsView;

/// Where COPY reads from.
pub enum SourceFs<'a> {
    Context(&'a Context),
    /// Another stage or an image (`--from`).
    Rootfs(&'a RootfsView),
}

/// One resolved source path.
#[derive(Debug, Clone)]
pub struct Node {
    /// The path inside the source (context-relative, or absolute in an image).
    pub path: String,
    pub real: PathBuf,
    pub meta: Metadata,
}

/// Why a source pattern names nothing usable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    #[error("{path:?}: not found")]
    NotFound { path: String },
    #[error("{pattern:?}: no source files were specified")]
    NoMatch { pattern: String },
    #[error("invalid source pattern {pattern:?}")]
    BadPattern { pattern: String },
    #[error("source {path:?} is outside of the build context")]
    OutsideContext { path: String },
}

impl SourceFs<'_> {
    /// Every path a source argument names: a literal path or a glob over paths.
    pub fn resolve(&self, pattern: &str) -> Result<Vec<Node>, SourceError> {
        let clean = clean_source(pattern);
        if has_meta(&clean) {
            let found = self.glob(&clean)?;
            if found.is_empty() {
                return Err(SourceError::NoMatch {
                    pattern: pattern.to_owned(),
                });
            }
            return found.into_iter().map(|n| self.follow(n)).collect();
        }
        let node = self.lookup(&clean).ok_or_else(|| SourceError::NotFound {
            path: pattern.to_owned(),
        })?;
        Ok(vec![self.follow(node)?])
    }

    fn lookup(&self, path: &str) -> Option<Node> {
        match self {
            SourceFs::Context(ctx) => ctx.get(path).map(|e| Node {
                path: e.rel.clone(),
                real: ctx.abs(&e.rel),
                meta: e.meta.clone(),
            }),
            SourceFs::Rootfs(view) => view.lstat(path).map(|f| Node {
                path: f.path,
                real: f.real,
                meta: f.meta,
            }),
        }
    }

    /// A source named directly that is a symlink is replaced by what it points to.
    fn follow(&self, node: Node) -> Result<Node, SourceError> {
        if !node.meta.file_type().is_symlink() {
            return Ok(node);
        }
        match self {
            SourceFs::Context(ctx) => {
                let real = node
                    .real
                    .canonicalize()
                    .map_err(|_| SourceError::NotFound {
                        path: node.path.clone(),
                    })?;
                let rel =
                    real.strip_prefix(ctx.root())
                        .map_err(|_| SourceError::OutsideContext {
                            path: node.path.clone(),
                        })?;
                let rel = rel.to_string_lossy().into_owned();
                let mut target = self.lookup(&rel).ok_or(SourceError::NotFound {
                    path: node.path.clone(),
                })?;
                target.path = node.path;
                Ok(target)
            }
            SourceFs::Rootfs(view) => {
                let f = view.stat(&node.path).ok_or(SourceError::NotFound {
                    path: node.path.clone(),
                })?;
                Ok(Node {
                    path: node.path,
                    real: f.real,
                    meta: f.meta,
                })
            }
        }
    }

    fn glob(&self, pattern: &str) -> Result<Vec<Node>, SourceError> {
        match self {
            SourceFs::Context(ctx) => {
                let mut out = Vec::new();
                for e in ctx.entries() {
                    if e.rel.is_empty() {
                        continue;
                    }
                    match path_match(pattern, &e.rel) {
                        Some(true) => out.push(Node {
                            path: e.rel.clone(),
                            real: ctx.abs(&e.rel),
                            meta: e.meta.clone(),
                        }),
                        Some(false) => {}
                        None => {
                            return Err(SourceError::BadPattern {
                                pattern: pattern.to_owned(),
                            })
                        }
                    }
                }
                Ok(out)
            }
            SourceFs::Rootfs(view) => glob_view(view, pattern),
        }
    }

    /// Every entry below a directory node, in path order, with paths relative to it.
    pub fn walk(&self, dir: &Node) -> Vec<(String, Node)> {
        match self {
            SourceFs::Context(ctx) => {
                let base = ctx_rel_of(ctx, dir);
                let strip = if base.is_empty() { 0 } else { base.len() + 1 };
                ctx.below(&base)
                    .map(|e| {
                        (
                            e.rel[strip..].to_owned(),
                            Node {
                                path: e.rel.clone(),
                                real: ctx.abs(&e.rel),
                                meta: e.meta.clone(),
                            },
                        )
                    })
                    .collect()
            }
            SourceFs::Rootfs(view) => {
                let mut out = Vec::new();
                walk_view(view, &dir.path, "", &mut out);
                out
            }
        }
    }
}

/// The context-relative path of a directory node (a followed symlink names its target).
fn ctx_rel_of(ctx: &Context, dir: &Node) -> String {
    dir.real
        .strip_prefix(ctx.root())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| dir.path.clone())
}

fn walk_view(view: &RootfsView, dir: &str, rel: &str, out: &mut Vec<(String, Node)>) {
    for (name, f) in view.read_dir(dir) {
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let is_dir = f.meta.is_dir();
        let path = f.path.clone();
        out.push((
            child_rel.clone(),
            Node {
                path: f.path,
                real: f.real,
                meta: f.meta,
            },
        ));
        if is_dir {
            walk_view(view, &path, &child_rel, out);
        }
    }
}

fn glob_view(view: &RootfsView, pattern: &str) -> Result<Vec<Node>, SourceError> {
    let mut current = vec![String::from("/")];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for dir in &current {
            if !has_meta(comp) {
                next.push(join(dir, comp));
                continue;
            }
            for name in view.read_dir(dir).into_keys() {
                match path_match(comp, &name) {
                    Some(true) => next.push(join(dir, &name)),
                    Some(false) => {}
                    None => {
                        return Err(SourceError::BadPattern {
                            pattern: pattern.to_owned(),
                        })
                    }
                }
            }
        }
        current = next;
    }
    Ok(current
        .iter()
        .filter_map(|p| {
            view.lstat(p).map(|f| Node {
                path: f.path,
                real: f.real,
                meta: f.meta,
            })
        })
        .collect())
}

pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// A source path cleaned like BuildKit: relative to the source root, no `.`/`..` escapes.
pub fn clean_source(p: &str) -> String {
    strata_oci::path::clean_in_root(p)
}
