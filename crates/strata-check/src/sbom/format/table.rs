//! A table for people, as `syft -o table`: NAME, VERSION, TYPE, aligned.

use crate::sbom::Sbom;

/// The table, one package a line after the header.
pub fn render(sbom: &Sbom) -> String {
    let rows: Vec<[&str; 3]> = sbom
        .packages
        .iter()
        .map(|p| [p.name.as_str(), p.version.as_str(), p.kind.as_str()])
        .collect();
    let header = ["NAME", "VERSION", "TYPE"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].len())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1) = (width(0), width(1));
    let mut out = String::new();
    for r in std::iter::once(header).chain(rows) {
        out.push_str(&format!("{:w0$}  {:w1$}  {}\n", r[0], r[1], r[2]));
    }
    out
}
