//! `/ui/lineage[?root=…]`: the lineage tree as a picture (an inline SVG drawn here, see
//! [`svg`](super::super::svg)), with the same tree as a nested list below it for text
//! browsers and screen readers.

use maud::{html, Markup};

use super::super::layout::page;
use super::super::paths;
use super::super::svg;
use super::super::view::{LineageNode, LineagePage};

pub fn render(lineage: &LineagePage) -> Markup {
    page(
        "Lineage",
        html! {
            h1 { "Lineage" }
            @if let Some(root) = &lineage.root {
                p { "Under " code #root { (root) } " · " a href=(paths::lineage(None)) { "whole registry" } }
            }
            @if lineage.trees.is_empty() {
                p.muted #empty { "No images." }
            } @else {
                div style="overflow-x:auto;background:#fff;padding:.5rem" { (svg::lineage(&lineage.trees)) }
                h2 { "As a list" }
                ul #lineage-list { @for tree in &lineage.trees { (item(tree)) } }
            }
        },
    )
}

fn item(node: &LineageNode) -> Markup {
    html! {
        li {
            a href=(paths::image(&node.link.repository, &node.link.digest)) { (node.link.name) }
            " "
            a.muted href=(paths::lineage(Some(&format!("{}@{}", node.link.repository, node.link.digest)))) { "(subtree)" }
            @if !node.children.is_empty() {
                ul { @for child in &node.children { (item(child)) } }
            }
        }
    }
}
