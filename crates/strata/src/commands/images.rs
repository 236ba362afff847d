//! `strata images`, `tag` and `rmi`.

use std::time::SystemTime;

use anyhow::{Context, Result};
use serde::Serialize;
use strata_content::{human_size, ImageRow, Store};
use strata_oci::Reference;

use crate::cli::{Format, ImagesArgs};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Row {
    repository: String,
    tag: String,
    digest: String,
    #[serde(rename = "ID")]
    id: String,
    created: String,
    size: u64,
}

pub fn run(store: &Store, args: ImagesArgs) -> Result<()> {
    let filter = match &args.reference {
        Some(r) => {
            Some(Reference::parse_name_only(r).with_context(|| format!("invalid filter {r:?}"))?)
        }
        None => None,
    };
    let rows: Vec<ImageRow> = store
        .list_images()?
        .into_iter()
        .filter(|row| matches_filter(row, filter.as_ref()))
        .collect();
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for row in &rows {
            if seen.insert(row.image.id().clone()) {
                super::out(short_id(&row.image.id().to_string(), args.no_trunc))?;
            }
        }
        return Ok(());
    }
    let rows: Vec<Row> = rows.iter().map(to_row).collect();
    match args.format {
        Format::Json => super::out(serde_json::to_string_pretty(&rows)?)?,
        Format::Table => print_table(&rows, args.no_trunc)?,
    }
    Ok(())
}

fn matches_filter(row: &ImageRow, filter: Option<&Reference>) -> bool {
    let Some(f) = filter else { return true };
    let Some(r) = &row.reference else {
        return false;
    };
    r.name() == f.name() && f.tag().is_none_or(|t| r.tag() == Some(t))
}

fn to_row(row: &ImageRow) -> Row {
    let (repository, tag) = match &row.reference {
        Some(r) => (r.familiar_name(), r.tag().unwrap_or("<none>").to_owned()),
        None => ("<none>".to_owned(), "<none>".to_owned()),
    };
    Row {
        repository,
        tag,
        digest: row.image.manifest_digest.to_string(),
        id: row.image.id().to_string(),
        created: row.image.created.clone().unwrap_or_default(),
        size: row.image.size,
    }
}

fn short_id(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_owned()
    } else {
        id.trim_start_matches("sha256:").chars().take(12).collect()
    }
}

fn print_table(rows: &[Row], no_trunc: bool) -> Result<()> {
    let mut lines = vec![
        ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
            .map(String::from)
            .to_vec(),
    ];
    for r in rows {
        let digest = if no_trunc {
            r.digest.clone()
        } else {
            format!("{}…", &r.digest[..19])
        };
        lines.push(vec![
            r.repository.clone(),
            r.tag.clone(),
            digest,
            short_id(&r.id, no_trunc),
            ago(&r.created),
            human_size(r.size),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        super::out(cells.join("   ").trim_end())?;
    }
    Ok(())
}

/// `2 hours ago`, as docker shows the creation time.
fn ago(rfc3339: &str) -> String {
    let Ok(t) =
        time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
    else {
        return "N/A".to_owned();
    };
    let now = time::OffsetDateTime::from(SystemTime::now());
    let secs = (now - t).whole_seconds().max(0);
    let (n, unit) = match secs {
        s if s < 60 => return "Less than a minute ago".to_owned(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s if s < 86_400 * 14 => (s / 86_400, "day"),
        s if s < 86_400 * 60 => (s / (86_400 * 7), "week"),
        s if s < 86_400 * 730 => (s / (86_400 * 30), "month"),
        s => (s / (86_400 * 365), "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

pub fn tag(store: &Store, source: &str, target: &str) -> Result<()> {
    let image = store.resolve(source)?;
    let target =
        Reference::parse(target).with_context(|| format!("invalid target name {target:?}"))?;
    if target.digest().is_some() {
        anyhow::bail!("refusing to create a tag with a digest reference: {target}");
    }
    store.tag(&target, &image.manifest_digest)?;
    Ok(())
}

pub fn rmi(store: &Store, images: &[String], force: bool) -> Result<()> {
    let mut failed = None;
    let mut failed_use: Option<anyhow::Error> = None;
    for name in images {
        if let Err(e) = in_use(store, name, force) {
            eprintln!("error: {e}");
            failed_use = Some(e);
            continue;
        }
        match store.remove_image(name, force) {
            Ok(report) => {
                for line in report.lines() {
                    super::out(line)?;
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed = Some(e);
            }
        }
    }
    match (failed, failed_use) {
        (Some(e), _) => Err(anyhow::Error::new(e).context("some images could not be removed")),
        (None, Some(e)) => Err(e.context("some images could not be removed")),
        (None, None) => Ok(()),
    }
}

/// docker's conflict: the last name of an image a container uses cannot be removed (a
/// running container's, not even with `--force`).
fn in_use(store: &Store, name: &str, force: bool) -> Result<()> {
    let Ok(image) = store.resolve(name) else {
        return Ok(());
    };
    let digests = [
        image.manifest_digest.to_string(),
        image.config_digest.to_string(),
    ];
    let users = super::container::users_of(store.root(), &digests)?;
    let Some(user) = users.first() else {
        return Ok(());
    };
    let tags = store.tags_of(&image.manifest_digest)?;
    let is_tag = tags
        .iter()
        .any(|t| t.to_string() == name || name.contains(':') && t.to_string().ends_with(name));
    if is_tag && tags.len() > 1 {
        return Ok(());
    }
    let id = strata_container::ids::short(&user.config.id);
    let image_id = image
        .config_digest
        .hex()
        .chars()
        .take(12)
        .collect::<String>();
    if user.is_running() {
        anyhow::bail!("conflict: unable to delete {image_id} (cannot be forced) - image is being used by running container {id}");
    }
    if !force {
        anyhow::bail!("conflict: unable to remove repository reference \"{name}\" (must force) - image is being used by container {id}");
    }
    Ok(())
}
