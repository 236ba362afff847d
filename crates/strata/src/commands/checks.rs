//! What `strata lint` and `strata build` read for strata-check (which does no I/O): the
//! build context's `.dockerignore` and root entries.

use std::path::Path;

use anyhow::{Context, Result};
use strata_check::lint::{BuildContext, DockerIgnore};

/// The context's ignore file as BuildKit picks it: `<Dockerfile>.dockerignore` next to the
/// Dockerfile when present, else `CONTEXT/.dockerignore`; and the names at the context root.
pub fn read_context(context: &Path, dockerfile: &Path) -> Result<BuildContext> {
    let beside = dockerfile.with_file_name(format!(
        "{}.dockerignore",
        dockerfile.file_name().unwrap_or_default().to_string_lossy()
    ));
    let path = [beside, context.join(".dockerignore")]
        .into_iter()
        .find(|p| p.is_file());
    let dockerignore = match path {
        Some(p) => {
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("read {}", p.display()))?;
            Some(DockerIgnore::parse(&text).with_context(|| format!("{}", p.display()))?)
        }
        None => None,
    };
    let root_entries = std::fs::read_dir(context)
        .with_context(|| format!("read build context {}", context.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    Ok(BuildContext {
        dockerignore,
        root_entries,
    })
}
