//! The chrome every page shares: the document, its inline style sheet (no external asset,
//! no JavaScript), the navigation, and small formatters (sizes, times, label badges).

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::paths;

/// The style sheet, inlined into every page.
const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.5rem;align-items:baseline}
header a{color:#fff;text-decoration:none}header .brand{font-weight:700;font-size:1.1rem}
main{padding:1rem 1.5rem;max-width:80rem}
h1{font-size:1.4rem;word-break:break-all}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;background:#fff;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #dde1e6;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#eef0f3}
code,.digest{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}
.badge{display:inline-block;border-radius:.7rem;padding:0 .55rem;margin:0 .15rem .1rem 0;font-size:.78rem;background:#e4e7eb;color:#333}
.badge.prod{background:#1f883d;color:#fff}.badge.maybe_prod{background:#d4a72c;color:#1d2430}
.tag{font-family:ui-monospace,monospace;background:#ddf4ff;border-radius:.3rem;padding:0 .3rem;margin-right:.2rem}
.muted{color:#6b7480}.tag,.badge,td.pushed,td.pulled{white-space:nowrap}
#annotations td{overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content auto;gap:.3rem 1rem;background:#fff;padding:.8rem;margin:0}
dt{font-weight:600}dd{margin:0;word-break:break-all}
svg .node rect{fill:#fff;stroke:#1d2430;stroke-width:1.2}svg .node:hover rect{fill:#ddf4ff}
svg .node text{font-family:ui-monospace,monospace;font-size:12px;fill:#1d2430}
svg .edge{stroke:#6b7480;stroke-width:1.4;fill:none}
"#;

/// A whole page titled `title` around `body`.
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · strata registry" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.brand href=(paths::index()) { "strata registry" }
                    a href=(paths::index()) { "Repositories" }
                    a href=(paths::lineage(None)) { "Lineage" }
                }
                main { (body) }
            }
        }
    }
}

/// A label as a badge (`prod` and `maybe_prod` coloured: the promotion state).
pub fn badge(label: &str) -> Markup {
    let class = match label {
        "prod" | "maybe_prod" => format!("badge {label}"),
        _ => "badge".to_owned(),
    };
    html! { span class=(class) data-label=(label) { (label) } }
}

/// Tags as chips.
pub fn tags(tags: &[String]) -> Markup {
    html! {
        @for tag in tags { span.tag { (tag) } }
        @if tags.is_empty() { span.muted { "untagged" } }
    }
}

/// Bytes, in decimal units as docker prints them (`12.3 MB`).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} B"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

/// A digest shortened for display (`sha256:0123456789ab`), the whole one as its title.
pub fn short_digest(digest: &strata_oci::Digest) -> Markup {
    let text = digest.to_string();
    let short: String = text.chars().take(19).collect();
    html! { code.digest title=(text) { (short) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_docker_prints_them() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(12_345_678), "12.3 MB");
        assert_eq!(size(1_000), "1.0 kB");
    }

    #[test]
    fn text_is_escaped_in_every_page() {
        let markup = page("<x>", html! { p { ("<script>alert(1)</script>") } }).into_string();
        assert!(!markup.contains("<script>"), "{markup}");
        assert!(markup.contains("&lt;script&gt;"));
        assert!(markup.contains("<title>&lt;x&gt; · strata registry</title>"));
    }
}
