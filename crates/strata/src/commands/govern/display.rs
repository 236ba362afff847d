//! How the governance verbs print for humans: aligned tables (docker's three-space gutter)
//! and indented trees (`└─` children under their parent).

use anyhow::Result;
use strata_distribution::govern::{Dependent, Dependents, ImageJson, Promotion, TreeNode};
use strata_oci::Reference;

use crate::commands::out;

/// Rows (the first is the header), columns padded to their widest cell.
pub fn table(rows: &[Vec<String>]) -> Result<()> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out(cells.join("   ").trim_end())?;
    }
    Ok(())
}

fn or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
    }
}

pub fn image_labels(image: &Reference, current: &ImageJson) -> Result<()> {
    table(&[
        vec!["IMAGE".into(), "DIGEST".into(), "LABELS".into()],
        vec![
            image.to_string(),
            current.digest.to_string(),
            or_dash(&current.labels),
        ],
    ])
}

pub fn promotions(list: &[Promotion]) -> Result<()> {
    let mut rows = vec![vec![
        "REPOSITORY".into(),
        "DIGEST".into(),
        "TAGS".into(),
        "ENV".into(),
        "BY".into(),
        "AT".into(),
    ]];
    for p in list {
        rows.push(vec![
            p.repository.clone(),
            p.digest.to_string(),
            or_dash(&p.tags),
            p.env.clone(),
            p.by.clone(),
            p.at.clone(),
        ]);
    }
    table(&rows)
}

fn node_line(digest: &strata_oci::Digest, names: &[String]) -> String {
    let short = &digest.hex()[..12.min(digest.hex().len())];
    match names {
        [] => format!("sha256:{short}"),
        _ => format!("{} (sha256:{short})", names.join(", ")),
    }
}

/// Each tree, children indented under their parent.
pub fn forest(trees: &[TreeNode]) -> Result<()> {
    let mut trees: Vec<&TreeNode> = trees.iter().collect();
    trees.sort_by(|a, b| a.names.cmp(&b.names));
    for t in trees {
        out(node_line(&t.digest, &t.names))?;
        children(&t.children, "")?;
    }
    Ok(())
}

/// Children by name, so the same forest always prints the same.
fn children(nodes: &[TreeNode], indent: &str) -> Result<()> {
    let mut nodes: Vec<&TreeNode> = nodes.iter().collect();
    nodes.sort_by(|a, b| a.names.cmp(&b.names));
    for (i, n) in nodes.iter().enumerate() {
        let last = i + 1 == nodes.len();
        let (branch, more) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        out(format!(
            "{indent}{branch}{}",
            node_line(&n.digest, &n.names)
        ))?;
        children(&n.children, &format!("{indent}{more}"))?;
    }
    Ok(())
}

/// The queried image, then its dependents as a tree (each under its parent).
pub fn dependents(answer: &Dependents) -> Result<()> {
    let image = &answer.image;
    let names: Vec<String> = image
        .tags
        .iter()
        .map(|t| format!("{}:{t}", image.repository))
        .collect();
    out(node_line(&image.digest, &names))?;
    dependents_under(&answer.dependents, &image.digest, "")
}

fn dependents_under(all: &[Dependent], parent: &strata_oci::Digest, indent: &str) -> Result<()> {
    let mut kids: Vec<&Dependent> = all.iter().filter(|d| &d.parent == parent).collect();
    kids.sort_by(|a, b| a.names.cmp(&b.names));
    for (i, d) in kids.iter().enumerate() {
        let last = i + 1 == kids.len();
        let (branch, more) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        let build = if d.build.is_some() {
            ""
        } else {
            "  [no build record]"
        };
        out(format!(
            "{indent}{branch}{}{build}",
            node_line(&d.digest, &d.names)
        ))?;
        dependents_under(all, &d.digest, &format!("{indent}{more}"))?;
    }
    Ok(())
}
