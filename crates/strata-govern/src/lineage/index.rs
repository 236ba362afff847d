//! The index behind [`super::LineageIndex`]: hash maps from chain IDs and base digests to
//! images, so inserting or removing one image touches only the images related to it.
//!
//! - `by_chain`: an image's full chain ID (the ID of all its layers) → the images with
//!   exactly those layers (several when the same layers are pushed with different configs).
//! - `by_prefix`: every proper-prefix chain ID of an image → that image, so inserting a base
//!   finds the images that already derive from it with one probe.
//! - `by_base`: a `base.digest` annotation → the images that carry it.

use std::collections::{BTreeSet, HashMap};

use strata_oci::Digest;

use super::{chain_ids, Node};

/// One image in the index, with its links.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub node: Node,
    pub chain: Vec<Digest>,
    pub parent: Option<Digest>,
    pub children: BTreeSet<Digest>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Index {
    pub entries: HashMap<Digest, Entry>,
    by_chain: HashMap<Digest, BTreeSet<Digest>>,
    by_prefix: HashMap<Digest, BTreeSet<Digest>>,
    by_base: HashMap<Digest, BTreeSet<Digest>>,
}

impl Index {
    pub fn insert(&mut self, node: Node) {
        if self.entries.contains_key(&node.digest) {
            self.remove(&node.digest.clone());
        }
        let digest = node.digest.clone();
        let chain = chain_ids(&node.layers);
        self.add_keys(&digest, &chain, node.base_digest.as_ref());
        let entry = Entry {
            node,
            chain,
            parent: None,
            children: BTreeSet::new(),
        };
        self.entries.insert(digest.clone(), entry);
        let parent = self.find_parent(&digest);
        self.set_parent(&digest, parent);
        for candidate in self.affected_by(&digest) {
            self.relink(&candidate);
        }
    }

    pub fn remove(&mut self, digest: &Digest) {
        let Some(entry) = self.entries.remove(digest) else {
            return;
        };
        self.drop_keys(digest, &entry.chain, entry.node.base_digest.as_ref());
        if let Some(parent) = &entry.parent {
            if let Some(p) = self.entries.get_mut(parent) {
                p.children.remove(digest);
            }
        }
        for child in &entry.children {
            if let Some(c) = self.entries.get_mut(child) {
                c.parent = None;
            }
        }
        for child in entry.children {
            self.relink(&child);
        }
    }

    /// The images whose parent may change now that `digest` is known: those whose layers
    /// extend its layers (or equal them: a tie may now go to it) and those naming it as base.
    fn affected_by(&self, digest: &Digest) -> Vec<Digest> {
        let entry = &self.entries[digest];
        let mut out = BTreeSet::new();
        if let Some(full) = entry.chain.last() {
            out.extend(self.by_prefix.get(full).into_iter().flatten().cloned());
        }
        if let Some(set) = self.by_base.get(digest) {
            out.extend(set.iter().cloned());
        }
        out.remove(digest);
        out.into_iter().collect()
    }

    fn relink(&mut self, digest: &Digest) {
        let parent = self.find_parent(digest);
        if self.entries[digest].parent != parent {
            self.set_parent(digest, parent);
        }
    }

    fn set_parent(&mut self, digest: &Digest, parent: Option<Digest>) {
        let old = self.entries.get_mut(digest).and_then(|e| e.parent.take());
        if let Some(old) = old {
            if let Some(p) = self.entries.get_mut(&old) {
                p.children.remove(digest);
            }
        }
        if let Some(new) = &parent {
            if let Some(p) = self.entries.get_mut(new) {
                p.children.insert(digest.clone());
            }
        }
        if let Some(e) = self.entries.get_mut(digest) {
            e.parent = parent;
        }
    }

    /// The parent of `digest`: its known `base.digest` (unless that image's layers extend
    /// this one's, or it would close a cycle),
    /// else the known image with the longest proper layer prefix, the smallest digest on a
    /// tie.
    fn find_parent(&self, digest: &Digest) -> Option<Digest> {
        let entry = &self.entries[digest];
        if let Some(base) = &entry.node.base_digest {
            let usable = base != digest
                && self.entries.contains_key(base)
                && !self.extends(base, digest)
                && !self.descends(base, digest);
            if usable {
                return Some(base.clone());
            }
        }
        let proper = entry.chain.len().saturating_sub(1);
        entry.chain[..proper].iter().rev().find_map(|id| {
            self.by_chain
                .get(id)?
                .iter()
                .find(|d| *d != digest && !self.descends(d, digest))
                .cloned()
        })
    }

    /// Whether `digest`'s layers start with all of `base`'s (or equal them): an annotation
    /// naming such an image as base contradicts the layers and is ignored.
    fn extends(&self, digest: &Digest, base: &Digest) -> bool {
        let (long, short) = (&self.entries[digest].chain, &self.entries[base].chain);
        match short.last() {
            Some(id) => long.len() >= short.len() && long[short.len() - 1] == *id,
            None => false,
        }
    }

    /// Whether `digest` is `ancestor` or lies below it.
    fn descends(&self, digest: &Digest, ancestor: &Digest) -> bool {
        let mut cur = Some(digest);
        let mut steps = 0;
        while let Some(d) = cur {
            if d == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.entries.len() {
                return false;
            }
            cur = self.entries.get(d).and_then(|e| e.parent.as_ref());
        }
        false
    }

    fn add_keys(&mut self, digest: &Digest, chain: &[Digest], base: Option<&Digest>) {
        if let Some((full, prefixes)) = chain.split_last() {
            add(&mut self.by_chain, full, digest);
            for id in prefixes {
                add(&mut self.by_prefix, id, digest);
            }
        }
        if let Some(base) = base {
            add(&mut self.by_base, base, digest);
        }
    }

    fn drop_keys(&mut self, digest: &Digest, chain: &[Digest], base: Option<&Digest>) {
        if let Some((full, prefixes)) = chain.split_last() {
            take(&mut self.by_chain, full, digest);
            for id in prefixes {
                take(&mut self.by_prefix, id, digest);
            }
        }
        if let Some(base) = base {
            take(&mut self.by_base, base, digest);
        }
    }
}

fn add(map: &mut HashMap<Digest, BTreeSet<Digest>>, key: &Digest, digest: &Digest) {
    map.entry(key.clone()).or_default().insert(digest.clone());
}

fn take(map: &mut HashMap<Digest, BTreeSet<Digest>>, key: &Digest, digest: &Digest) {
    if let Some(set) = map.get_mut(key) {
        set.remove(digest);
        if set.is_empty() {
            map.remove(key);
        }
    }
}
