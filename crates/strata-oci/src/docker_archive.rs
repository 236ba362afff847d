//! The `manifest.json` of a docker-archive tarball (`docker save` format).

use serde::{Deserialize, Serialize};

/// One image of a docker-archive: paths inside the tarball of its config and layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArchiveEntry {
    pub config: String,
    #[serde(default, deserialize_with = "null_vec")]
    pub repo_tags: Vec<String>,
    #[serde(default, deserialize_with = "null_vec")]
    pub layers: Vec<String>,
}

fn null_vec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}
