//! The lineage tree as a picture: an inline SVG drawn on the server with a simple layered
//! layout — one row per depth (roots on top), leaves left to right in tree order, a parent
//! centred over its children. Each node is a box with its `repo:tag` and short digest,
//! linking to its image page; each edge a curve from parent to child. Nodes and edges carry
//! `data-digest` / `data-from` / `data-to`, so what the picture says can be read from the
//! DOM.

use maud::{html, Markup};

use super::paths;
use super::view::LineageNode;

const BOX_HEIGHT: f64 = 42.0;
const GAP_X: f64 = 24.0;
const GAP_Y: f64 = 48.0;
const MARGIN: f64 = 12.0;
const CHAR_WIDTH: f64 = 7.3;
/// Labels longer than this are cut (the whole name is the node's tooltip).
const MAX_LABEL: usize = 44;

/// A node with its place: `slot` (horizontal, in box widths) and `depth` (row).
struct Placed<'a> {
    node: &'a LineageNode,
    slot: f64,
    depth: usize,
}

/// The layout: nodes in tree order, edges as (parent, child) indexes into them.
#[derive(Default)]
struct Layout<'a> {
    nodes: Vec<Placed<'a>>,
    edges: Vec<(usize, usize)>,
    next_leaf: f64,
}

impl<'a> Layout<'a> {
    fn of(trees: &'a [LineageNode]) -> Layout<'a> {
        let mut layout = Layout::default();
        for tree in trees {
            layout.place(tree, 0);
        }
        layout
    }

    /// Places `node` and its subtree; returns its index.
    fn place(&mut self, node: &'a LineageNode, depth: usize) -> usize {
        let index = self.nodes.len();
        self.nodes.push(Placed {
            node,
            slot: 0.0,
            depth,
        });
        let children: Vec<usize> = node
            .children
            .iter()
            .map(|c| self.place(c, depth + 1))
            .collect();
        self.nodes[index].slot = match (children.first(), children.last()) {
            (Some(&first), Some(&last)) => (self.nodes[first].slot + self.nodes[last].slot) / 2.0,
            _ => {
                self.next_leaf += 1.0;
                self.next_leaf - 1.0
            }
        };
        self.edges.extend(children.into_iter().map(|c| (index, c)));
        index
    }
}

fn label(text: &str) -> String {
    match text.chars().count() > MAX_LABEL {
        true => text.chars().take(MAX_LABEL - 1).chain(['…']).collect(),
        false => text.to_owned(),
    }
}

/// The picture of `trees` (empty: no SVG at all).
pub fn lineage(trees: &[LineageNode]) -> Markup {
    let layout = Layout::of(trees);
    if layout.nodes.is_empty() {
        return html! {};
    }
    let longest = layout
        .nodes
        .iter()
        .map(|p| label(&p.node.link.name).chars().count())
        .max()
        .unwrap_or(0)
        .max(19);
    let width = longest as f64 * CHAR_WIDTH + 20.0;
    let x = |slot: f64| MARGIN + slot * (width + GAP_X);
    let y = |depth: usize| MARGIN + depth as f64 * (BOX_HEIGHT + GAP_Y);
    let depth = layout.nodes.iter().map(|p| p.depth).max().unwrap_or(0);
    let total_w = x(layout.next_leaf) - GAP_X + MARGIN;
    let total_h = y(depth + 1) - GAP_Y + MARGIN;
    html! {
        svg #lineage xmlns="http://www.w3.org/2000/svg" width=(total_w) height=(total_h)
            viewBox=(format!("0 0 {total_w} {total_h}")) role="img" aria-label="image lineage" {
            @for &(from, to) in &layout.edges {
                @let (a, b) = (&layout.nodes[from], &layout.nodes[to]);
                @let (x1, y1) = (x(a.slot) + width / 2.0, y(a.depth) + BOX_HEIGHT);
                @let (x2, y2) = (x(b.slot) + width / 2.0, y(b.depth));
                @let mid = (y1 + y2) / 2.0;
                path.edge data-from=(a.node.link.digest) data-to=(b.node.link.digest)
                    d=(format!("M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}")) {}
            }
            @for placed in &layout.nodes {
                (node(placed, x(placed.slot), y(placed.depth), width))
            }
        }
    }
}

fn node(placed: &Placed, x: f64, y: f64, width: f64) -> Markup {
    let link = &placed.node.link;
    let digest = link.digest.to_string();
    let short: String = digest.chars().take(19).collect();
    html! {
        a href=(paths::image(&link.repository, &link.digest)) {
            g.node data-digest=(digest) data-name=(link.name) {
                title { (placed.node.names.join("\n")) }
                rect x=(x) y=(y) width=(width) height=(BOX_HEIGHT) rx="5" {}
                text x=(x + 10.0) y=(y + 17.0) { (label(&link.name)) }
                text x=(x + 10.0) y=(y + 33.0) fill-opacity="0.6" { (short) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::ui::view::ImageLink;
    use strata_oci::Digest;

    fn n(name: &str, children: Vec<LineageNode>) -> LineageNode {
        let (repository, _) = name.split_once(':').unwrap();
        LineageNode {
            link: ImageLink {
                repository: repository.into(),
                digest: Digest::of(name.as_bytes()),
                name: name.into(),
            },
            names: vec![name.into()],
            children,
        }
    }

    #[test]
    fn a_parent_sits_over_its_children_one_row_per_depth() {
        let trees = [n(
            "base:1",
            vec![n("rt:1", vec![n("app-a:1", vec![]), n("app-b:1", vec![])])],
        )];
        let layout = Layout::of(&trees);
        let at: Vec<(&str, f64, usize)> = layout
            .nodes
            .iter()
            .map(|p| (p.node.link.name.as_str(), p.slot, p.depth))
            .collect();
        assert_eq!(
            at,
            [
                ("base:1", 0.5, 0),
                ("rt:1", 0.5, 1),
                ("app-a:1", 0.0, 2),
                ("app-b:1", 1.0, 2)
            ]
        );
        assert_eq!(layout.edges, [(1, 2), (1, 3), (0, 1)]);
    }

    #[test]
    fn the_svg_links_every_node_and_draws_every_edge() {
        let trees = [
            n("base:1", vec![n("app:<x>", vec![])]),
            n("other:1", vec![]),
        ];
        let svg = lineage(&trees).into_string();
        assert_eq!(svg.matches("<g class=\"node\"").count(), 3);
        assert_eq!(svg.matches("<path class=\"edge\"").count(), 1);
        let app = Digest::of(b"app:<x>");
        assert!(svg.contains(&format!("href=\"/ui/repositories/app/-/images/{app}\"")));
        assert!(svg.contains("app:&lt;x&gt;") && !svg.contains("app:<x>"));
        assert!(lineage(&[]).into_string().is_empty());
    }
}
