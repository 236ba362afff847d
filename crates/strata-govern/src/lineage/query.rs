//! Queries over the index: dependents (breadth first), the tree, and rebuild waves. Each
//! walks only the links below the queried image.

use std::collections::VecDeque;

use strata_oci::Digest;

use super::index::Index;
use super::{Dependent, TreeNode};

pub(super) fn dependents(index: &Index, digest: &Digest) -> Vec<Dependent> {
    let mut out = Vec::new();
    let mut queue = VecDeque::from([(digest, 0usize)]);
    while let Some((parent, depth)) = queue.pop_front() {
        let Some(entry) = index.entries.get(parent) else {
            continue;
        };
        for child in &entry.children {
            let node = &index.entries[child].node;
            out.push(Dependent {
                digest: child.clone(),
                names: node.names.clone(),
                parent: parent.clone(),
                depth: depth + 1,
            });
            queue.push_back((child, depth + 1));
        }
    }
    out
}

pub(super) fn tree(index: &Index, root: Option<&Digest>) -> Vec<TreeNode> {
    match root {
        Some(root) if index.entries.contains_key(root) => vec![subtree(index, root)],
        Some(_) => Vec::new(),
        None => {
            let mut roots: Vec<&Digest> = index
                .entries
                .iter()
                .filter(|(_, e)| e.parent.is_none())
                .map(|(d, _)| d)
                .collect();
            roots.sort();
            roots.into_iter().map(|d| subtree(index, d)).collect()
        }
    }
}

/// The tree under `digest`, built without recursion (a lineage can be deep).
fn subtree(index: &Index, digest: &Digest) -> TreeNode {
    // Depth-first post-order: a node is finished once all its children are.
    let mut stack: Vec<(TreeNode, Vec<&Digest>)> = vec![open(index, digest)];
    loop {
        let next = stack.last_mut().and_then(|(_, pending)| pending.pop());
        match next {
            Some(child) => stack.push(open(index, child)),
            None => {
                let (done, _) = stack.pop().expect("the stack holds the node being built");
                match stack.last_mut() {
                    Some((parent, _)) => parent.children.push(done),
                    None => return done,
                }
            }
        }
    }
}

/// A node with no children yet, and its children left to build (popped in digest order).
fn open<'a>(index: &'a Index, digest: &'a Digest) -> (TreeNode, Vec<&'a Digest>) {
    let entry = &index.entries[digest];
    let node = TreeNode {
        digest: digest.clone(),
        names: entry.node.names.clone(),
        children: Vec::with_capacity(entry.children.len()),
    };
    (node, entry.children.iter().rev().collect())
}

/// Waves by depth: a dependent's parent is the queried image or one of the wave before, so
/// each wave only needs the waves before it.
pub(super) fn rebuild_waves(index: &Index, digest: &Digest) -> Vec<Vec<Dependent>> {
    let mut waves: Vec<Vec<Dependent>> = Vec::new();
    for dep in dependents(index, digest) {
        if waves.len() < dep.depth {
            waves.push(Vec::new());
        }
        waves[dep.depth - 1].push(dep);
    }
    waves
}
