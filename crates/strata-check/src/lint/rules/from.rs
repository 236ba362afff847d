//! FROM rules: DL3006 (untagged base), DL3007 (`latest`).

use crate::lint::Context;
use strata_dockerfile::Stage;

/// The image references of FROM lines that name an image (not `scratch`, not an earlier
/// stage, not a variable), with their line.
fn image_refs<'a>(ctx: &'a Context) -> impl Iterator<Item = (&'a str, usize)> + 'a {
    ctx.stages.iter().enumerate().filter_map(|(i, stage)| {
        let base = stage.base_name.as_str();
        let earlier = earlier_stage(&ctx.stages[..i], base);
        let skip = base == "scratch" || base.contains('$') || earlier;
        (!skip).then_some((base, stage.location.start_line))
    })
}

fn earlier_stage(earlier: &[Stage], base: &str) -> bool {
    let lower = base.to_ascii_lowercase();
    earlier.iter().any(|s| s.name.as_deref() == Some(&lower))
}

/// The tag of a reference (`debian:12` → `12`), ignoring a registry port; `None` if untagged.
fn tag(reference: &str) -> Option<&str> {
    let name = reference.split('@').next().unwrap_or(reference);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, t)| t)
}

/// DL3006: no tag and no digest.
pub fn untagged(ctx: &Context) -> Vec<usize> {
    image_refs(ctx)
        .filter(|(r, _)| !r.contains('@') && tag(r).is_none())
        .map(|(_, l)| l)
        .collect()
}

/// DL3007: the `latest` tag (a digest makes it pinned anyway).
pub fn latest(ctx: &Context) -> Vec<usize> {
    image_refs(ctx)
        .filter(|(r, _)| !r.contains('@') && tag(r) == Some("latest"))
        .map(|(_, l)| l)
        .collect()
}
