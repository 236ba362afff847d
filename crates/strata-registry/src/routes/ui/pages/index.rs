//! `/ui/`: the repositories the viewer may pull, with their owners and counts.

use maud::{html, Markup};

use super::super::layout::page;
use super::super::paths;
use super::super::view::RepoSummary;

pub fn render(repositories: &[RepoSummary]) -> Markup {
    page(
        "Repositories",
        html! {
            h1 { "Repositories" }
            @if repositories.is_empty() {
                p.muted #empty { "No repositories you may pull." }
            } @else {
                table #repositories {
                    thead { tr { th { "Repository" } th { "Owner" } th { "Images" } th { "Tags" } } }
                    tbody {
                        @for repo in repositories {
                            tr data-repository=(repo.name) {
                                td { a.repository href=(paths::repository(&repo.name)) { (repo.name) } }
                                td.owner {
                                    @match &repo.owner {
                                        Some(owner) => (owner),
                                        None => span.muted { "—" },
                                    }
                                }
                                td.images { (repo.images) }
                                td.tags { (repo.tags) }
                            }
                        }
                    }
                }
            }
        },
    )
}
