//! `strata analyze IMAGE`: the layers of an image, what each adds and wastes, as text or
//! JSON; with `--ci`, dive's CI rules; with `--secrets`, the secrets scan in the same read
//! (exit 1 when a rule fails or a secret is found).

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use strata_check::analyze::ci::{parse_bytes, parse_ratio, Status};
use strata_check::analyze::{
    analyze_and_scan, analyze_image, Analysis, CiOutcome, CiRules, Options,
};
use strata_check::secrets::Report;
use strata_content::{human_size, Store};

use super::image_source;
use crate::cli::{AnalyzeArgs, AnalyzeFormat};

/// The JSON document: the analysis, the CI results with `--ci`, the secrets with
/// `--secrets`.
#[derive(Serialize)]
struct Document<'a> {
    image: &'a str,
    #[serde(flatten)]
    analysis: &'a Analysis,
    #[serde(skip_serializing_if = "Option::is_none")]
    ci: Option<&'a CiOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secrets: Option<&'a Report>,
}

pub fn run(store: &Store, args: AnalyzeArgs) -> Result<()> {
    let rules = args.ci.then(|| ci_rules(&args)).transpose()?;
    let opened = image_source::open(store, &args.image, args.platform.clone(), args.verify)?;
    let opts = Options {
        top: args.top,
        ..Options::default()
    };
    let (analysis, secrets) = match args.secrets {
        true => analyze_and_scan(&opened, &opened.image, &opts).map(|(a, s)| (a, Some(s))),
        false => analyze_image(&opened, &opened.image, &opts).map(|a| (a, None)),
    }
    .with_context(|| format!("analysing {}", args.image))?;
    let outcome = rules.map(|r| r.evaluate(&analysis));
    match args.format {
        AnalyzeFormat::Json => {
            let doc = Document {
                image: &args.image,
                analysis: &analysis,
                ci: outcome.as_ref(),
                secrets: secrets.as_ref(),
            };
            super::out(serde_json::to_string_pretty(&doc)?)?;
        }
        AnalyzeFormat::Text => {
            print_text(&args.image, &analysis)?;
            if let Some(o) = &outcome {
                print_ci(&analysis, o)?;
            }
            if let Some(report) = &secrets {
                super::out(String::new())?;
                super::out(format!(
                    "Secrets:\n{}",
                    super::scan::text(report).trim_end()
                ))?;
            }
        }
    }
    let mut failed = Vec::new();
    if let Some(o) = outcome.filter(|o| !o.passed()) {
        failed.push(o.summary());
    }
    if let Some(n) = secrets.map(|r| r.findings.len()).filter(|n| *n > 0) {
        failed.push(format!("{n} secret(s) found"));
    }
    match failed.is_empty() {
        true => Ok(()),
        false => bail!("{}: {}", args.image, failed.join("; ")),
    }
}

/// dive's defaults, then the `.dive-ci` file, then the flags.
fn ci_rules(args: &AnalyzeArgs) -> Result<CiRules> {
    let mut rules = CiRules::default();
    match &args.ci_config {
        Some(path) => rules.apply_file(path)?,
        None if Path::new(".dive-ci").is_file() => rules.apply_file(Path::new(".dive-ci"))?,
        None => {}
    }
    if let Some(v) = &args.lowest_efficiency {
        rules.lowest_efficiency = parse_ratio("--lowest-efficiency", v)?;
    }
    if let Some(v) = &args.highest_wasted_bytes {
        rules.highest_wasted_bytes = parse_bytes("--highest-wasted-bytes", v)?;
    }
    if let Some(v) = &args.highest_user_wasted_percent {
        rules.highest_user_wasted_percent = parse_ratio("--highest-user-wasted-percent", v)?;
    }
    Ok(rules)
}

fn print_text(image: &str, a: &Analysis) -> Result<()> {
    let out = super::out;
    out(format!("Image: {image} ({})", a.manifest_digest))?;
    out(format!(
        "{:>3}  {:>10}  {:>10}  {:>7}  {:>10}  CREATED BY",
        "#", "BLOB", "SIZE", "FILES", "WASTED"
    ))?;
    for l in &a.layers {
        out(format!(
            "{:>3}  {:>10}  {:>10}  {:>7}  {:>10}  {}",
            l.index,
            human_size(l.blob_size),
            human_size(l.bytes),
            l.files,
            human_size(l.wasted),
            one_line(l.created_by.as_deref().unwrap_or("-"), 100)
        ))?;
    }
    out(String::new())?;
    out(format!(
        "Total: {} in {} layers ({} as stored); final filesystem {}",
        human_size(a.total_bytes),
        a.layers.len(),
        human_size(a.blob_bytes),
        human_size(a.kept_bytes)
    ))?;
    out(format!(
        "Wasted: {} ({} bytes); efficiency {:.4} %; user wasted {:.4} %",
        human_size(a.wasted_bytes),
        a.wasted_bytes,
        a.efficiency * 100.0,
        a.user_wasted_percent * 100.0
    ))?;
    print_lists(a)
}

fn print_lists(a: &Analysis) -> Result<()> {
    let out = super::out;
    if !a.wasted_files.is_empty() {
        out(String::new())?;
        out(format!(
            "Wasted files:\n{:>8}  {:>10}  PATH",
            "VERSIONS", "WASTED"
        ))?;
        for w in &a.wasted_files {
            let gone = if w.deleted { " (deleted)" } else { "" };
            out(format!(
                "{:>8}  {:>10}  /{}{gone}",
                w.versions,
                human_size(w.wasted),
                w.path
            ))?;
        }
    }
    if !a.biggest_files.is_empty() {
        out(String::new())?;
        out(format!(
            "Biggest files:\n{:>10}  {:>5}  PATH",
            "SIZE", "LAYER"
        ))?;
        for f in &a.biggest_files {
            out(format!(
                "{:>10}  {:>5}  /{}",
                human_size(f.size),
                f.layer,
                f.path
            ))?;
        }
    }
    if !a.duplicates.is_empty() {
        out(String::new())?;
        out(format!(
            "Duplicated across layers:\n{:>10}  {:>6}  COPIES (layer:path)",
            "REPEATED", "COPIES"
        ))?;
        for d in &a.duplicates {
            let copies: Vec<String> = d
                .copies
                .iter()
                .map(|c| format!("{}:/{}", c.layer, c.path))
                .collect();
            out(format!(
                "{:>10}  {:>6}  {}",
                human_size(d.repeated_bytes),
                d.count,
                copies.join(" ")
            ))?;
        }
    }
    Ok(())
}

/// dive's CI report.
fn print_ci(a: &Analysis, o: &CiOutcome) -> Result<()> {
    let out = super::out;
    out(String::new())?;
    out(format!("  efficiency: {:.4} %", a.efficiency * 100.0))?;
    out(format!(
        "  wastedBytes: {} bytes ({})",
        a.wasted_bytes,
        human_size(a.wasted_bytes)
    ))?;
    out(format!(
        "  userWastedPercent: {:.4} %",
        a.user_wasted_percent * 100.0
    ))?;
    out("Results:".to_string())?;
    for r in &o.results {
        let status = match r.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        };
        match &r.message {
            Some(m) => out(format!("  {status}: {}: {m}", r.rule))?,
            None => out(format!("  {status}: {}", r.rule))?,
        }
    }
    out(o.summary())
}

/// The first line of `s`, cut at `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}
