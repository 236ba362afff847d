//! `strata scan IMAGE`: the secrets of every layer (deleted files too), the config and the
//! history, with strata-check's rules. Text grouped by layer, or JSON, on stdout; exit 1
//! (or `--exit-code`) when there are findings, as gitleaks and `trivy --exit-code` do.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use strata_check::secrets::{scan_image, Finding, Removal, Report, Source};
use strata_client::OpenedImage;
use strata_content::Store;

use super::ExitWith;
use crate::cli::{ScanArgs, ScanFormat};

pub fn run(store: &Store, args: ScanArgs) -> Result<()> {
    let opened = super::image_source::open(store, &args.image, args.platform.clone(), args.verify)?;
    let jobs = args.jobs.unwrap_or_else(default_jobs);
    let report = scan_image(&opened, &opened.image, jobs)
        .with_context(|| format!("scanning {}", args.image))?;
    match args.format {
        ScanFormat::Text => super::out(text(&report).trim_end())?,
        ScanFormat::Json => super::out(json(&report, &args.image, &opened)?)?,
    }
    let found = report.findings.len();
    if found > 0 && args.exit_code != 0 {
        return Err(ExitWith {
            code: args.exit_code,
            message: format!("{}: {found} secret(s) found", args.image),
        }
        .into());
    }
    Ok(())
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Findings grouped by layer, then the config and the history, then a summary.
pub(super) fn text(report: &Report) -> String {
    let mut out = String::new();
    let mut group = String::new();
    for f in &report.findings {
        let heading = heading(&f.source);
        if heading != group {
            let _ = writeln!(out, "{heading}");
            group = heading;
        }
        let _ = writeln!(out, "  {}", line(f));
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

fn heading(source: &Source) -> String {
    match source {
        Source::Layer {
            layer,
            digest,
            created_by,
            ..
        } => format!(
            "layer {layer} {digest}: {}",
            created_by.as_deref().unwrap_or("(no history)")
        ),
        Source::Config { .. } => "image config".to_owned(),
        Source::History { .. } => "image history".to_owned(),
    }
}

fn line(f: &Finding) -> String {
    let place = match &f.source {
        Source::Layer {
            path,
            line,
            removed,
            removed_in,
            ..
        } => {
            let fate = match (removed, removed_in) {
                (Some(Removal::Deleted), Some(n)) => {
                    format!(" (deleted in layer {n}, still shipped)")
                }
                (Some(Removal::Overwritten), Some(n)) => {
                    format!(" (overwritten in layer {n}, still shipped)")
                }
                _ => String::new(),
            };
            format!("/{path}:{line}{fate}")
        }
        Source::Config { field, line } => format!("config: {field} #{line}"),
        Source::History { history } => format!("history: {history}"),
    };
    format!(
        "{:<8} {}  {}  {}  {}",
        f.severity, f.rule, place, f.secret, f.title
    )
}

fn summary(report: &Report) -> String {
    let s = &report.stats;
    let scanned = format!(
        "{} layer(s), {} text file(s), {} bytes scanned; {} binary file(s) skipped",
        report.layers, s.files, s.bytes, s.binary_files
    );
    if report.findings.is_empty() {
        return format!("no secrets found ({scanned})");
    }
    let counts: Vec<String> = report
        .by_severity()
        .iter()
        .map(|(sev, n)| format!("{sev}: {n}"))
        .collect();
    format!(
        "{} secret(s) found ({}) ({scanned})",
        report.findings.len(),
        counts.join(", ")
    )
}

fn json(report: &Report, input: &str, opened: &OpenedImage) -> Result<String> {
    let mut value = serde_json::json!({
        "image": input,
        "manifest": opened.image.manifest_digest.to_string(),
    });
    if let (Some(out), serde_json::Value::Object(fields)) =
        (value.as_object_mut(), serde_json::to_value(report)?)
    {
        out.extend(fields);
    }
    Ok(serde_json::to_string_pretty(&value)?)
}
