//! `/ui/repositories/<name>/-/images/<digest>`: one image — where it came from (commit,
//! branch, version, author, source, base with a link when known), how to build it again,
//! its labels, every annotation, its layers, and its parent and children in the lineage.

use maud::{html, Markup};
use strata_govern::annotations as keys;

use super::super::layout::{badge, page, short_digest, size, tags};
use super::super::paths;
use super::super::view::{BaseView, ImageLink, ImagePage};
use strata_govern::lineage::BuildRecord;

pub fn render(view: &ImagePage) -> Markup {
    let image = &view.image;
    page(
        &format!("{}@{}", view.repository, image.digest),
        html! {
            h1 { a href=(paths::repository(&view.repository)) { (view.repository) } "@" (image.digest) }
            p { (tags(&image.tags)) " " span #labels { @for label in &image.labels { (badge(label)) } } }
            h2 { "Source" }
            (source(view))
            h2 { "Build" }
            (build(view.build.as_ref()))
            h2 { "Lineage" }
            (lineage(view))
            h2 { "Image" }
            dl #facts {
                dt { "Media type" } dd { code { (view.media_type) } }
                dt { "Size" } dd #size { (size(image.size)) }
                dt { "Pushed" } dd { (image.pushed) }
                dt { "Last pulled" } dd { @match &image.last_pulled { Some(at) => (at), None => "never" } }
            }
            h2 { "Annotations" }
            (annotations(view))
            h2 { "Layers" }
            (layers(view))
        },
    )
}

/// One `dt`/`dd` pair of an annotation, with `id` for the tests and readers.
fn fact(id: &str, term: &str, value: Option<&String>) -> Markup {
    html! {
        dt { (term) }
        dd id=(id) { @match value { Some(v) => (v), None => span.muted { "unknown" } } }
    }
}

fn source(view: &ImagePage) -> Markup {
    let a = &view.annotations;
    html! {
        dl #source {
            (fact("commit", "Commit", a.get(keys::REVISION)))
            (fact("branch", "Branch", a.get(keys::BRANCH)))
            (fact("version", "Version", a.get(keys::VERSION)))
            (fact("authors", "Author", a.get(keys::AUTHORS)))
            (fact("source-url", "Source", a.get(keys::SOURCE)))
            (fact("created", "Created", a.get(keys::CREATED)))
            (fact("ci-run", "CI run", a.get(keys::CI_RUN)))
            dt { "Base" }
            dd #base { (base(view.base.as_ref())) }
        }
    }
}

fn base(base: Option<&BaseView>) -> Markup {
    let Some(base) = base else {
        return html! { span.muted { "unknown" } };
    };
    html! {
        @if let Some(name) = &base.name { code #base-name { (name) } " " }
        @if let Some(digest) = &base.digest {
            @match &base.link {
                Some(link) => a #base-link href=(paths::image(&link.repository, &link.digest)) { (digest) },
                None => code #base-digest { (digest) },
            }
        }
    }
}

fn build(record: Option<&BuildRecord>) -> Markup {
    let Some(b) = record else {
        return html! { p.muted #build { "No build record: it cannot be rebuilt automatically." } };
    };
    html! {
        dl #build {
            dt { "Source" } dd { code { (b.source) } }
            @if let Some(commit) = &b.commit { dt { "Commit" } dd { code { (commit) } } }
            dt { "Context" } dd { code { (b.context) } }
            dt { "Dockerfile" } dd { code { (b.dockerfile) } }
            @if let Some(target) = &b.target { dt { "Target" } dd { code { (target) } } }
            @for (k, v) in &b.args { dt { "--build-arg" } dd { code { (k) "=" (v) } } }
        }
    }
}

fn link(l: &ImageLink) -> Markup {
    html! { a href=(paths::image(&l.repository, &l.digest)) data-digest=(l.digest) { (l.name) } }
}

fn lineage(view: &ImagePage) -> Markup {
    let root = format!("{}@{}", view.repository, view.image.digest);
    html! {
        dl #lineage {
            dt { "Parent" }
            dd #parent { @match &view.parent { Some(p) => (link(p)), None => span.muted { "none known" } } }
            dt { "Children" }
            dd #children {
                @for (i, child) in view.children.iter().enumerate() {
                    @if i > 0 { ", " }
                    (link(child))
                }
                @if view.children.is_empty() { span.muted { "none" } }
            }
        }
        p { a #subtree href=(paths::lineage(Some(&root))) { "Lineage from this image" } }
    }
}

fn annotations(view: &ImagePage) -> Markup {
    html! {
        @if view.annotations.is_empty() {
            p.muted { "None." }
        } @else {
            table #annotations {
                tbody {
                    @for (k, v) in &view.annotations {
                        tr data-key=(k) { td { code { (k) } } td { (v) } }
                    }
                }
            }
        }
    }
}

fn layers(view: &ImagePage) -> Markup {
    html! {
        table #layers {
            thead { tr { th { "#" } th { "Digest" } th { "Size" } th { "Media type" } } }
            tbody {
                @for (i, layer) in view.layers.iter().enumerate() {
                    tr { td { (i + 1) } td { (short_digest(&layer.digest)) } td { (size(layer.size)) } td { code { (layer.media_type) } } }
                }
            }
        }
    }
}
