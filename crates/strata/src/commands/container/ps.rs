//! `strata ps`: docker's columns (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS,
//! NAMES), or JSON lines with `--format json`.

use std::path::Path;

use anyhow::Result;
use serde_json::json;
use strata_container::containers::{Container, Containers};
use strata_container::ids::short;
use strata_container::state::Status;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::cli::{Format, PsArgs};

pub fn ps(root: &Path, args: PsArgs) -> Result<()> {
    let containers: Vec<Container> = Containers::new(root)
        .list()?
        .into_iter()
        .filter(|c| args.all || c.is_running())
        .collect();
    if args.quiet {
        for c in &containers {
            super::super::out(if args.no_trunc {
                &c.config.id
            } else {
                short(&c.config.id)
            })?;
        }
        return Ok(());
    }
    let rows: Vec<[String; 7]> = containers.iter().map(|c| row(c, args.no_trunc)).collect();
    if args.format == Format::Json {
        for r in &rows {
            let v = json!({
                "ID": r[0], "Image": r[1], "Command": r[2], "CreatedAt": containers_created(&containers, &r[0]),
                "RunningFor": r[3], "Status": r[4], "Ports": r[5], "Names": r[6],
                "State": containers.iter().find(|c| c.config.id.starts_with(&r[0])).map(|c| status_word(c)).unwrap_or_default(),
            });
            super::super::out(v)?;
        }
        return Ok(());
    }
    let header = [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            }
        }
        s
    };
    super::super::out(line(header.to_vec()))?;
    for r in &rows {
        super::super::out(line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

fn containers_created(containers: &[Container], id: &str) -> String {
    containers
        .iter()
        .find(|c| c.config.id.starts_with(id))
        .map(|c| c.config.created.clone())
        .unwrap_or_default()
}

fn status_word(c: &Container) -> &'static str {
    if c.is_running() {
        "running"
    } else {
        c.state.status.as_str()
    }
}

fn row(c: &Container, no_trunc: bool) -> [String; 7] {
    let command = format!("\"{}\"", c.config.argv.join(" "));
    let command = if no_trunc || command.chars().count() <= 22 {
        command
    } else {
        format!("{}…\"", command.chars().take(20).collect::<String>())
    };
    [
        if no_trunc {
            c.config.id.clone()
        } else {
            short(&c.config.id).to_string()
        },
        c.config.image.clone(),
        command,
        format!("{} ago", ago(&c.config.created)),
        status(c),
        ports(c),
        c.config.name.clone(),
    ]
}

/// docker's STATUS: `Up 5 minutes (healthy)`, `Exited (0) 2 seconds ago`, `Created`.
pub fn status(c: &Container) -> String {
    match c.state.status {
        Status::Running if c.is_running() => {
            let up = format!("Up {}", ago(c.state.started_at.as_deref().unwrap_or("")));
            match &c.state.health {
                Some(h) => format!("{up}{}", strata_container::health::ps_suffix(h)),
                None => up,
            }
        }
        Status::Created => "Created".into(),
        _ => format!(
            "Exited ({}) {} ago",
            c.state.exit_code.unwrap_or(-1),
            ago(c.state.finished_at.as_deref().unwrap_or(""))
        ),
    }
}

/// docker's PORTS: `0.0.0.0:8080->80/tcp, …`.
pub fn ports(c: &Container) -> String {
    c.config
        .ports
        .iter()
        .map(|p| {
            format!(
                "{}:{}->{}/{}",
                p.host_ip,
                p.host_port,
                p.container_port,
                p.proto.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// "5 seconds", "3 minutes", "2 hours", "4 days" since an RFC 3339 time.
fn ago(when: &str) -> String {
    let Ok(t) = OffsetDateTime::parse(when, &Rfc3339) else {
        return "some time".into();
    };
    let secs = (OffsetDateTime::now_utc() - t).whole_seconds().max(0);
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s < 120 => "About a minute".into(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 7200 => "About an hour".into(),
        s if s < 172_800 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}
