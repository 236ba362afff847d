//! The page of a request that has none: not found (or not the viewer's to see), a bad
//! address, or a failure of the registry.

use maud::{html, Markup};

use super::super::layout::page;

pub fn render(status: u16, message: &str) -> Markup {
    let title = match status {
        404 => "Not found",
        400 => "Bad request",
        _ => "Error",
    };
    page(
        title,
        html! {
            h1 { (title) }
            p #error data-status=(status) { (message) }
        },
    )
}
