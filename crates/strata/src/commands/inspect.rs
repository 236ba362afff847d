//! `strata inspect`: the manifest and config of images, as JSON on stdout.

use anyhow::Result;
use serde_json::json;
use strata_content::Store;

use crate::cli::{InspectArgs, InspectType};

pub fn run(store: &Store, args: InspectArgs) -> Result<()> {
    let mut out = Vec::new();
    let containers = strata_container::containers::Containers::new(store.root());
    for name in &args.images {
        if args.kind != Some(InspectType::Image) {
            match containers.find(name) {
                Ok(c) => {
                    out.push(super::container::inspect(&c));
                    continue;
                }
                Err(e) if args.kind == Some(InspectType::Container) => return Err(e.into()),
                Err(_) => {}
            }
        }
        let image = store.resolve(name)?;
        let tags: Vec<String> = store
            .tags_of(&image.manifest_digest)?
            .iter()
            .map(|r| r.to_string())
            .collect();
        out.push(json!({
            "Id": image.id().to_string(),
            "Digest": image.manifest_digest.to_string(),
            "RepoTags": tags,
            "RepoDigests": store.repo_digests_of(&image.manifest_digest)?,
            "Size": image.size,
            "Manifest": image.manifest,
            "Config": image.config,
        }));
    }
    super::out(serde_json::to_string_pretty(&out)?)?;
    Ok(())
}
