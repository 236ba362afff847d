//! Package groups (`[[layers]]`): which layer each package goes to. A group takes its
//! packages and every dependency (Depends/Pre-Depends, through Provides) not already in an
//! earlier group; packages in no group go to a last layer. So a runtime image whose first
//! groups equal the plain base's gets the base's layers, byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use super::Unpacked;

/// The names a package answers to: its own and what it `Provides`.
fn provided(pkgs: &[Unpacked]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in pkgs {
        let name = p.name().to_owned();
        map.entry(name.clone()).or_default().push(name.clone());
        for v in split_relations(p.deb.control.field("Provides").unwrap_or_default()) {
            map.entry(v).or_default().push(name.clone());
        }
    }
    map
}

/// The package names a relation field mentions (versions, arch qualifiers dropped;
/// alternatives flattened).
fn split_relations(field: &str) -> Vec<String> {
    field
        .split([',', '|'])
        .filter_map(|alt| alt.split_whitespace().next())
        .map(|n| n.split(':').next().unwrap_or(n).to_owned())
        .filter(|n| !n.is_empty())
        .collect()
}

/// The installed packages `name` depends on (first alternative that is installed).
fn deps_of(p: &Unpacked, names: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for field in ["Pre-Depends", "Depends"] {
        for clause in p.deb.control.field(field).unwrap_or_default().split(',') {
            let hit = clause
                .split('|')
                .filter_map(|a| a.split_whitespace().next())
                .map(|n| n.split(':').next().unwrap_or(n))
                .find_map(|n| names.get(n).and_then(|v| v.first().cloned()));
            out.extend(hit);
        }
    }
    out
}

/// Assigns each package (by index into `pkgs`) to a group: `groups[i]` lists group `i`'s
/// requested package names; the result has `groups.len() + 1` lists (the last: the rest),
/// each in `pkgs`' (install) order. A requested name that is not installed is reported.
pub fn assign(pkgs: &[Unpacked], groups: &[Vec<String>]) -> Result<Vec<Vec<usize>>, String> {
    let names = provided(pkgs);
    let index: BTreeMap<&str, usize> = pkgs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name(), i))
        .collect();
    let mut taken: BTreeSet<usize> = BTreeSet::new();
    let mut out = Vec::new();
    for group in groups {
        let mut members = BTreeSet::new();
        let mut todo: Vec<String> = Vec::new();
        for n in group {
            let real = names
                .get(n.as_str())
                .and_then(|v| v.first())
                .ok_or_else(|| format!("layer group package {n:?} is not in the resolved set"))?;
            todo.push(real.clone());
        }
        while let Some(n) = todo.pop() {
            let Some(&i) = index.get(n.as_str()) else {
                continue;
            };
            if taken.contains(&i) || !members.insert(i) {
                continue;
            }
            todo.extend(deps_of(&pkgs[i], &names));
        }
        taken.extend(members.iter().copied());
        out.push(members.into_iter().collect());
    }
    out.push((0..pkgs.len()).filter(|i| !taken.contains(i)).collect());
    Ok(out)
}
