//! `strata registry retention`: one retention run on a registry's stores (online-safe, as
//! `registry gc`): every decision on stdout (a table, or JSON with `--format json`), a
//! summary line on stderr; `--dry-run` deletes nothing.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use strata_registry::server::{load_retention_policy, open};
use strata_registry::services::{RetentionAction, RetentionItem, RetentionReport};

use crate::cli::{Format, RetentionArgs};

pub fn run(args: RetentionArgs) -> Result<()> {
    let (config, data) = super::registry::load(args.config.as_deref(), args.data.as_ref())?;
    let path = args
        .policy
        .clone()
        .or_else(|| config.govern.retention.clone())
        .context("no retention policy: give --policy FILE or [govern] retention in --config")?;
    let policy = load_retention_policy(&path)?;
    if !config.is_shared() && !data.join("registry.db").is_file() {
        anyhow::bail!("{} holds no registry (no registry.db)", data.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let place = super::registry::describe(&config, &data);
        let registry = open(&config, &data)
            .await
            .with_context(|| format!("opening the registry in {place}"))?;
        registry
            .apply_retention(&policy, &config.gc_policy(), args.dry_run)
            .await
            .with_context(|| format!("applying {} in {place}", path.display()))
    })?;
    match args.format {
        Format::Table => print_table(&report.items)?,
        Format::Json => print_json(&report)?,
    }
    eprintln!("{}", summary(&report, &path));
    Ok(())
}

/// `REPOSITORY DIGEST TAGS BUCKET ACTION REASON`, one row per decision.
fn print_table(items: &[RetentionItem]) -> Result<()> {
    let rows: Vec<[String; 6]> = items
        .iter()
        .map(|i| {
            [
                i.repository.clone(),
                short(&i.digest.to_string()),
                tags(&i.tags),
                i.bucket.clone().unwrap_or_else(|| "none".to_owned()),
                i.action.as_upper().to_owned(),
                i.reason.clone(),
            ]
        })
        .collect();
    let head = ["REPOSITORY", "DIGEST", "TAGS", "BUCKET", "ACTION", "REASON"];
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            }
        }
        out
    };
    super::out(line(&head))?;
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        super::out(line(&cells))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Json<'a> {
    #[serde(rename = "dryRun")]
    dry_run: bool,
    decisions: &'a [RetentionItem],
    #[serde(rename = "deletedChildren")]
    deleted_children: Vec<String>,
    #[serde(rename = "freedBytes")]
    freed_bytes: u64,
}

fn print_json(report: &RetentionReport) -> Result<()> {
    let json = Json {
        dry_run: report.dry_run,
        decisions: &report.items,
        deleted_children: report
            .children
            .iter()
            .map(|(repo, d)| format!("{repo}@{d}"))
            .collect(),
        freed_bytes: report.gc.as_ref().map_or(0, |g| g.bytes),
    };
    super::out(serde_json::to_string_pretty(&json)?)
}

/// `sha256:0123456789ab` (12 hex digits).
fn short(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", &hex[..hex.len().min(12)]),
        None => digest.to_owned(),
    }
}

fn tags(tags: &[String]) -> String {
    match tags {
        [] => "<none>".to_owned(),
        _ => tags.join(","),
    }
}

/// `retention (dry run) of POLICY: 22 kept, 8 to delete, 0 skipped` and, after a real run,
/// what the garbage collection freed.
fn summary(report: &RetentionReport, policy: &Path) -> String {
    let (kept, deleted, skipped) = (
        report.count(RetentionAction::Keep),
        report.count(RetentionAction::Delete),
        report.count(RetentionAction::Skip),
    );
    if report.dry_run {
        return format!(
            "retention (dry run) of {}: {kept} kept, {deleted} to delete, {skipped} skipped",
            policy.display()
        );
    }
    let (blobs, bytes) = report
        .gc
        .as_ref()
        .map_or((0, 0), |g| (g.blobs.len(), g.bytes));
    format!(
        "retention of {}: {kept} kept, {deleted} deleted ({} index children), {skipped} \
         skipped; garbage collection removed {blobs} blobs, {bytes} bytes",
        policy.display(),
        report.children.len()
    )
}
