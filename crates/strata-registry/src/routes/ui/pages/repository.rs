//! `/ui/repositories/<name>`: the repository's images with their tags, labels (promotion
//! state as badges), size, push and pull times, and its promotion history.

use maud::{html, Markup};

use super::super::layout::{badge, page, short_digest, size, tags};
use super::super::paths;
use super::super::view::{ImageSummary, PromotionView, RepositoryPage};

pub fn render(repo: &RepositoryPage) -> Markup {
    page(
        &repo.name,
        html! {
            h1 { (repo.name) }
            p #owner {
                "Owner: "
                @match &repo.owner {
                    Some(owner) => strong { (owner) },
                    None => span.muted { "none" },
                }
            }
            h2 { "Images" }
            (images(&repo.name, &repo.images))
            h2 { "Promotions" }
            (promotions(&repo.name, &repo.promotions))
        },
    )
}

fn images(name: &str, images: &[ImageSummary]) -> Markup {
    html! {
        @if images.is_empty() {
            p.muted { "No images." }
        } @else {
            table #images {
                thead { tr {
                    th { "Tags" } th { "Labels" } th { "Digest" } th { "Size" }
                    th { "Pushed" } th { "Last pulled" }
                } }
                tbody {
                    @for image in images {
                        tr.image data-digest=(image.digest) {
                            td.tags { (tags(&image.tags)) }
                            td.labels { @for label in &image.labels { (badge(label)) } }
                            td { a.image href=(paths::image(name, &image.digest)) { (short_digest(&image.digest)) } }
                            td.size { (size(image.size)) }
                            td.pushed { (image.pushed) }
                            td.pulled {
                                @match &image.last_pulled {
                                    Some(at) => (at),
                                    None => span.muted { "never" },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn promotions(name: &str, promotions: &[PromotionView]) -> Markup {
    html! {
        @if promotions.is_empty() {
            p.muted #no-promotions { "Never promoted." }
        } @else {
            table #promotions {
                thead { tr { th { "When" } th { "Environment" } th { "Image" } th { "Tags" } th { "By" } } }
                tbody {
                    @for p in promotions {
                        tr.promotion data-digest=(p.digest) data-env=(p.env) {
                            td { (p.at) }
                            td { (badge(&p.env)) }
                            td { a href=(paths::image(name, &p.digest)) { (short_digest(&p.digest)) } }
                            td { (tags(&p.tags)) }
                            td.by { (p.by) }
                        }
                    }
                }
            }
        }
    }
}
