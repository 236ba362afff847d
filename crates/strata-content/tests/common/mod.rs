//! Test helpers: tiny hand-made images (one directory, one file per layer).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use strata_content::Store;
use strata_oci::config::host_architecture;
use strata_oci::media_types::{OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP};
use strata_oci::{to_canonical_json, Descriptor, Digest, History, ImageConfig, ImageManifest};

/// An uncompressed layer tar with `app/` and `app/<name>` containing `content`.
pub fn layer_tar(name: &str, content: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    h.set_mtime(1_700_000_000);
    b.append_data(&mut h, "app/", std::io::empty()).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(content.len() as u64);
    h.set_mtime(1_700_000_000);
    b.append_data(&mut h, format!("app/{name}"), content)
        .unwrap();
    b.into_inner().unwrap()
}

#[allow(unused_imports)] // each test binary uses a different part
pub use strata_testkit::gzip;

/// Stores an image with one layer per `(name, content)`; gzip layers when `gz`.
pub fn make_image(store: &Store, layers: &[(&str, &[u8])], gz: bool) -> Digest {
    let mut config = ImageConfig::scratch(host_architecture());
    config.created = Some("2024-01-01T00:00:00Z".into());
    config.config.cmd = Some(vec!["/bin/sh".into()]);
    config.config.env = vec!["PATH=/usr/bin:/bin".into()];
    let mut descs = Vec::new();
    for (name, content) in layers {
        let tar = layer_tar(name, content);
        config.rootfs.diff_ids.push(Digest::of(&tar));
        config.history.push(History {
            created_by: Some(format!("COPY {name} /app/")),
            ..Default::default()
        });
        let (blob, media) = if gz {
            (gzip(&tar), OCI_LAYER_GZIP)
        } else {
            (tar, OCI_LAYER)
        };
        let d = store.put_blob(&blob).unwrap();
        descs.push(Descriptor::new(media, d, blob.len() as u64));
    }
    let config_bytes = to_canonical_json(&config);
    let cd = store.put_blob(&config_bytes).unwrap();
    let manifest = ImageManifest::oci(
        Descriptor::new(OCI_CONFIG, cd, config_bytes.len() as u64),
        descs,
    );
    store.put_image(&manifest).unwrap()
}

/// Runs a command, panicking with its output on failure; returns stdout.
pub fn run(cmd: &mut Command) -> String {
    String::from_utf8(strata_testkit::run_ok(cmd).stdout).unwrap()
}

pub fn open(dir: &Path) -> Store {
    Store::open(dir).unwrap()
}
