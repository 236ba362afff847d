//! The image side: unpacked packages → layers (one per package group, the dpkg database
//! of everything so far in each), the root filesystem's skeleton (merged /usr, the files
//! debootstrap writes), users and groups, the image config, and the commit into the store.

mod fixups;
mod layers;
pub mod order;
pub mod skeleton;
pub mod users;

use std::collections::BTreeMap;

use strata_archive::Compression;
use strata_content::{Image, Store};
use strata_oci::{
    media_types, to_canonical_json, Descriptor, Digest, History, ImageConfig, ImageManifest,
};

pub use fixups::no_script_files;
pub use layers::{package_layer, store_entries, LayerError, PathFilter};

use crate::deb::DebPackage;

/// A package ready to be written: its unpacked `.deb` and its Packages-index stanza.
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub deb: DebPackage,
    pub index_stanza: Option<String>,
}

impl Unpacked {
    pub fn name(&self) -> &str {
        self.deb.control.field("Package").unwrap_or_default()
    }
}

/// A stored layer: its blob and the digest of its uncompressed tar.
#[derive(Debug, Clone)]
pub struct Layer {
    pub descriptor: Descriptor,
    pub diff_id: Digest,
    /// What the history entry says made it.
    pub created_by: String,
}

/// How layers are written.
#[derive(Debug, Clone)]
pub struct LayerOptions {
    /// Every generated file's mtime, and the clamp of every packaged file's
    /// (`SOURCE_DATE_EPOCH`, else the newest Release `Date`).
    pub epoch: i64,
    /// `bin`, `sbin`, `lib*` are symlinks into `usr/` (Debian 12's default): packaged paths
    /// under them are written under `usr/`.
    pub merged_usr: Vec<String>,
    pub compression: Compression,
    /// dpkg's `path-exclude`/`path-include`.
    pub filter: PathFilter,
}

/// The runtime part of the image config, and what is recorded with it.
#[derive(Debug, Clone, Default)]
pub struct ImageSpec {
    pub arch: String,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub epoch: i64,
}

/// Writes the config and manifest of an image made of `layers`; returns the stored image.
pub fn commit_image(
    store: &Store,
    spec: &ImageSpec,
    layers: &[Layer],
) -> Result<Image, strata_content::Error> {
    let created = rfc3339(spec.epoch);
    let mut config = ImageConfig::scratch(&spec.arch);
    config.created = Some(created.clone());
    config.config.env = spec.env.clone();
    if !spec.env.iter().any(|e| e.starts_with("PATH=")) {
        config.config.env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        );
    }
    config.config.working_dir = spec.workdir.clone().unwrap_or_default();
    config.config.user = spec.user.clone().unwrap_or_default();
    config.config.entrypoint = spec.entrypoint.clone();
    config.config.cmd = spec.cmd.clone();
    config.config.labels = spec.labels.clone();
    for layer in layers {
        config.rootfs.diff_ids.push(layer.diff_id.clone());
        config.history.push(History {
            created: Some(created.clone()),
            created_by: Some(layer.created_by.clone()),
            ..History::default()
        });
    }
    let config_bytes = to_canonical_json(&config);
    let config_digest = store.put_blob(&config_bytes)?;
    let descriptor = Descriptor::new(
        media_types::OCI_CONFIG,
        config_digest,
        config_bytes.len() as u64,
    );
    let mut manifest = ImageManifest::oci(
        descriptor,
        layers.iter().map(|l| l.descriptor.clone()).collect(),
    );
    manifest.annotations = spec.annotations.clone();
    let digest = store.put_image(&manifest)?;
    store.image(&digest)
}

/// `epoch` as RFC 3339 UTC (`2024-06-01T00:00:00Z`).
pub fn rfc3339(epoch: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

pub mod groups;

/// The package layers of an image: `groups` (name, indices into `packages`, each in install
/// order; from [`groups::assign`]), `first` entries (the skeleton) in the first layer and
/// `last` entries (accounts, …) in the last one.
pub struct PackageLayers<'a> {
    pub packages: &'a [Unpacked],
    pub groups: Vec<(String, Vec<usize>)>,
    pub state: crate::dpkg::InstallState,
    pub first: Vec<strata_archive::Entry>,
    pub last: Vec<strata_archive::Entry>,
}

/// Writes one layer per non-empty group (the last one also when it only carries `last`
/// entries); each holds the dpkg database of every package up to it.
pub fn write_package_layers(
    store: &Store,
    plan: PackageLayers<'_>,
    opts: &LayerOptions,
) -> Result<Vec<Layer>, LayerError> {
    let PackageLayers {
        packages,
        groups,
        state,
        mut first,
        mut last,
    } = plan;
    let count = groups.len();
    let mut installed: Vec<usize> = Vec::new();
    let mut layers = Vec::new();
    for (n, (name, members)) in groups.into_iter().enumerate() {
        let is_last = n + 1 == count;
        if members.is_empty() && !(is_last && (!last.is_empty() || layers.is_empty())) {
            continue;
        }
        installed.extend(&members);
        installed.sort_unstable();
        let pkgs: Vec<&Unpacked> = members.iter().map(|&i| &packages[i]).collect();
        let all: Vec<&Unpacked> = installed.iter().map(|&i| &packages[i]).collect();
        let mut extra = std::mem::take(&mut first);
        if is_last {
            extra.append(&mut last);
        }
        tracing::debug!(layer = %name, packages = pkgs.len(), "writing layer");
        layers.push(package_layer(
            store, &name, &pkgs, &all, state, extra, opts,
        )?);
    }
    Ok(layers)
}
