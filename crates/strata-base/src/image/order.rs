//! The order packages are installed in, computed from the `.deb`s' own control files (so a
//! build from a lock file, with no index at hand, orders them as a resolved build does):
//! every package after what it pre-depends on, then after what it depends on; cycles (which
//! Debian has among `Depends`) broken at the edge that closes them; roots in name order.

use std::collections::BTreeMap;

use super::Unpacked;

/// Indices into `pkgs` in install order.
pub fn install_order(pkgs: &[Unpacked]) -> Vec<usize> {
    let mut provides: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in pkgs.iter().enumerate() {
        provides.insert(p.name(), i);
    }
    for (i, p) in pkgs.iter().enumerate() {
        for name in names(p.deb.control.field("Provides").unwrap_or_default()) {
            provides.entry(name).or_insert(i);
        }
    }
    let edges: Vec<[Vec<usize>; 2]> = pkgs
        .iter()
        .map(|p| {
            ["Pre-Depends", "Depends"].map(|f| {
                p.deb
                    .control
                    .field(f)
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|clause| {
                        clause
                            .split('|')
                            .filter_map(|a| a.split_whitespace().next())
                            .map(|n| n.split(':').next().unwrap_or(n))
                            .find_map(|n| provides.get(n).copied())
                    })
                    .collect()
            })
        })
        .collect();
    let mut roots: Vec<usize> = (0..pkgs.len()).collect();
    roots.sort_by_key(|&i| pkgs[i].name());
    let mut state = vec![0u8; pkgs.len()]; // 0 new, 1 in progress, 2 done
    let mut out = Vec::with_capacity(pkgs.len());
    for r in roots {
        visit(r, &edges, &mut state, &mut out);
    }
    out
}

fn names(field: &str) -> impl Iterator<Item = &str> {
    field
        .split(',')
        .filter_map(|a| a.split_whitespace().next())
        .map(|n| n.split(':').next().unwrap_or(n))
}

fn visit(i: usize, edges: &[[Vec<usize>; 2]], state: &mut [u8], out: &mut Vec<usize>) {
    if state[i] != 0 {
        return;
    }
    state[i] = 1;
    for kind in &edges[i] {
        for &d in kind {
            visit(d, edges, state, out);
        }
    }
    state[i] = 2;
    out.push(i);
}
