//! Re-basing without a rebuild (`rebuild --rebase`): an image whose own layers all came from
//! linked copies (`linkedLayers` in its build record) is put on the new parent by editing
//! its manifest and config, as BuildKit's `COPY --link` allows: manifest layers = the new
//! parent's + the image's last N; config `rootfs.diff_ids` and `history` likewise;
//! annotations `base.digest` = the new parent and `org.strata.rebuild.of` = the old image.
//! Only when the new parent's config equals the old one's apart from `rootfs`, `history` and
//! `created` (else the image's own config, built on the old one's ENV, USER, WORKDIR…, could
//! be wrong: [`compose`] says why not and the caller rebuilds).
//! Pushing ([`push`]) mounts the new parent's layers within the registry, uploads the config
//! and writes the manifest once under the new `-rebuild.N` tag.
//! Must not: build, pull layers, or overwrite a tag.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use strata_client::Registry;
use strata_content::Store;
use strata_distribution::names::{ManifestRef, RepositoryName};
use strata_govern::annotations::{BASE_DIGEST, REBUILD_OF};
use strata_oci::{Digest, Reference};

/// A manifest and its config, as the registry holds them.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub digest: Digest,
    pub media_type: String,
    pub manifest: Value,
    pub config: Value,
}

/// The re-based image, ready to push.
#[derive(Debug, Clone)]
pub struct Composed {
    pub manifest: Vec<u8>,
    pub media_type: String,
    pub config: Vec<u8>,
    pub config_digest: Digest,
}

/// The image manifest `digest` of `repo` and its config (the config through the store).
pub fn fetch(
    registry: &Registry,
    store: &Store,
    repo: &RepositoryName,
    digest: &Digest,
) -> Result<Fetched> {
    let shown = format!("{repo}@{digest}");
    let m = registry
        .get_manifest(repo, &ManifestRef::Digest(digest.clone()))
        .with_context(|| format!("fetching {shown}"))?;
    let manifest: Value = serde_json::from_slice(&m.bytes)
        .with_context(|| format!("{shown}: the manifest is not JSON"))?;
    let Some(config) = manifest.get("config") else {
        bail!("{shown}: not a single-platform image manifest (no config)");
    };
    let config_digest: Digest = config
        .get("digest")
        .and_then(Value::as_str)
        .and_then(|d| d.parse().ok())
        .with_context(|| format!("{shown}: the config descriptor has no valid digest"))?;
    let size = config.get("size").and_then(Value::as_u64);
    registry
        .fetch_blob(repo, &config_digest, size, store)
        .with_context(|| format!("fetching the config {config_digest} of {shown}"))?;
    let bytes = store
        .read_blob(&config_digest)
        .with_context(|| format!("reading the config {config_digest} of {shown}"))?;
    let config = serde_json::from_slice(&bytes)
        .with_context(|| format!("{shown}: the config {config_digest} is not JSON"))?;
    Ok(Fetched {
        digest: digest.clone(),
        media_type: m.media_type,
        manifest,
        config,
    })
}

/// Why two parents differ beyond what a re-base may change (`None`: they do not).
pub fn config_change(old: &Value, new: &Value) -> Option<String> {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            for k in ["rootfs", "history", "created"] {
                o.remove(k);
            }
        }
        v
    };
    let (old, new) = (strip(old), strip(new));
    if old == new {
        return None;
    }
    let keys = |v: &Value| -> Vec<(String, Value)> {
        let flat = |o: &serde_json::Map<String, Value>, prefix: &str| {
            o.iter()
                .map(|(k, v)| (format!("{prefix}{k}"), v.clone()))
                .collect::<Vec<_>>()
        };
        let mut out = Vec::new();
        if let Some(o) = v.as_object() {
            for (k, v) in o {
                match (k.as_str(), v.as_object()) {
                    ("config", Some(c)) => out.extend(flat(c, "config.")),
                    _ => out.push((k.clone(), v.clone())),
                }
            }
        }
        out
    };
    let (a, b) = (keys(&old), keys(&new));
    let mut changed: Vec<String> = a
        .iter()
        .filter(|kv| !b.contains(kv))
        .map(|(k, _)| k.clone())
        .chain(
            b.iter()
                .filter(|kv| !a.contains(kv))
                .map(|(k, _)| k.clone()),
        )
        .collect();
    changed.sort();
    changed.dedup();
    Some(format!(
        "the new parent's config differs from the old one's in {}",
        changed.join(", ")
    ))
}

/// The re-based image of `child`, whose last `n` layers are its own, from `old_parent` onto
/// `new_parent`; `Err` says why it cannot be (the caller rebuilds instead).
pub fn compose(
    old_parent: &Fetched,
    new_parent: &Fetched,
    child: &Fetched,
    n: usize,
) -> Result<Composed, String> {
    if let Some(why) = config_change(&old_parent.config, &new_parent.config) {
        return Err(why);
    }
    let layers = |f: &Fetched| array(&f.manifest, &["layers"]);
    let diff_ids = |f: &Fetched| array(&f.config, &["rootfs", "diff_ids"]);
    let history = |f: &Fetched| array(&f.config, &["history"]);
    let (child_layers, child_ids) = (layers(child), diff_ids(child));
    let old_ids = diff_ids(old_parent);
    if child_layers.len() != child_ids.len() || child_ids.len() != old_ids.len() + n {
        return Err(format!(
            "its layers are not the old parent's {} and its own {n} ({} layers, {} diff_ids)",
            old_ids.len(),
            child_layers.len(),
            child_ids.len()
        ));
    }
    if child_ids[..old_ids.len()] != old_ids[..] {
        return Err("its lower layers are not the old parent's".to_owned());
    }
    let (child_history, old_history) = (history(child), history(old_parent));
    if child_history.len() < old_history.len()
        || child_history[..old_history.len()] != old_history[..]
    {
        return Err("its history does not start with the old parent's".to_owned());
    }
    let own = |v: &[Value], from: usize| v[from..].to_vec();
    let mut config = child.config.clone();
    config["rootfs"]["diff_ids"] =
        Value::Array([diff_ids(new_parent), own(&child_ids, old_ids.len())].concat());
    config["history"] =
        Value::Array([history(new_parent), own(&child_history, old_history.len())].concat());
    let config_bytes = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
    let config_digest = Digest::of(&config_bytes);
    let mut manifest = child.manifest.clone();
    manifest["layers"] = Value::Array(
        [
            layers(new_parent),
            own(&child_layers, child_layers.len() - n),
        ]
        .concat(),
    );
    manifest["config"]["digest"] = Value::String(config_digest.to_string());
    manifest["config"]["size"] = Value::from(config_bytes.len() as u64);
    let annotations = manifest
        .as_object_mut()
        .expect("a manifest with a config is an object")
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    annotations[BASE_DIGEST] = Value::String(new_parent.digest.to_string());
    annotations[REBUILD_OF] = Value::String(child.digest.to_string());
    Ok(Composed {
        manifest: serde_json::to_vec(&manifest).map_err(|e| e.to_string())?,
        media_type: child.media_type.clone(),
        config: config_bytes,
        config_digest,
    })
}

/// The array at `path` (empty when absent).
fn array(v: &Value, path: &[&str]) -> Vec<Value> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Pushes `image` as `tag`: the new parent's layers mounted from `parent_repo` where the
/// repository lacks them, the config uploaded, the manifest written once. Returns its digest.
pub fn push(
    registry: &Registry,
    store: &Store,
    image: &Composed,
    tag: &Reference,
    parent_repo: &RepositoryName,
    parent_layers: &[Value],
) -> Result<Digest> {
    let repo: RepositoryName = tag
        .repository()
        .parse()
        .with_context(|| format!("{tag}: not a repository name"))?;
    for layer in parent_layers {
        mount(registry, store, &repo, parent_repo, layer)?;
    }
    if !registry.blob_exists(&repo, &image.config_digest)? {
        registry
            .push_blob(
                &repo,
                &image.config_digest,
                image.config.len() as u64,
                image.config.as_slice(),
                None,
            )
            .with_context(|| format!("uploading the config of {tag}"))?;
    }
    let Some(name) = tag.tag() else {
        bail!("{tag}: a re-based image is pushed under a tag");
    };
    let reference = ManifestRef::Tag(name.parse().with_context(|| format!("{name}: not a tag"))?);
    registry
        .put_manifest(&repo, &reference, &image.manifest, &image.media_type)
        .with_context(|| format!("pushing the manifest of {tag}"))
}

/// Makes layer `desc` of `from` present in `repo`: mounted; when the registry does not
/// mount, fetched into the store and uploaded.
fn mount(
    registry: &Registry,
    store: &Store,
    repo: &RepositoryName,
    from: &RepositoryName,
    desc: &Value,
) -> Result<()> {
    let digest: Digest = desc
        .get("digest")
        .and_then(Value::as_str)
        .and_then(|d| d.parse().ok())
        .with_context(|| format!("a layer of {from} has no valid digest"))?;
    if registry.blob_exists(repo, &digest)? {
        return Ok(());
    }
    let size = desc.get("size").and_then(Value::as_u64).unwrap_or(0);
    if registry
        .push_blob(repo, &digest, size, std::io::empty(), Some(from))
        .is_ok()
    {
        return Ok(());
    }
    tracing::info!(%digest, "the registry did not mount the layer: uploading it");
    registry
        .fetch_blob(from, &digest, Some(size), store)
        .with_context(|| format!("fetching {from}@{digest}"))?;
    registry
        .push_blob_from_store(repo, store, &digest, None)
        .with_context(|| format!("uploading {digest} to {repo}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(name: &str, layers: &[&str], env: &str) -> Fetched {
        let desc = |l: &&str| json!({"mediaType": "l", "digest": Digest::of(l.as_bytes()).to_string(), "size": 1});
        Fetched {
            digest: Digest::of(name.as_bytes()),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            manifest: json!({
                "schemaVersion": 2,
                "config": {"mediaType": "c", "digest": Digest::of(b"x").to_string(), "size": 1},
                "layers": layers.iter().map(desc).collect::<Vec<_>>(),
                "annotations": {"keep": "1"},
            }),
            config: json!({
                "architecture": "amd64",
                "created": name,
                "config": {"Env": [env]},
                "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| format!("id-{l}")).collect::<Vec<_>>()},
                "history": layers.iter().map(|l| json!({"created_by": l})).collect::<Vec<_>>(),
            }),
        }
    }

    #[test]
    fn the_child_layers_move_onto_the_new_parent() {
        let old = image("old", &["os"], "A=1");
        let new = image("new", &["os2", "patch"], "A=1");
        let child = image("child", &["os", "app"], "A=1");
        let c = compose(&old, &new, &child, 1).unwrap();
        let m: Value = serde_json::from_slice(&c.manifest).unwrap();
        let config: Value = serde_json::from_slice(&c.config).unwrap();
        let digests: Vec<_> = m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_owned())
            .collect();
        let of = |s: &str| Digest::of(s.as_bytes()).to_string();
        assert_eq!(digests, [of("os2"), of("patch"), of("app")]);
        assert_eq!(
            config["rootfs"]["diff_ids"],
            json!(["id-os2", "id-patch", "id-app"])
        );
        assert_eq!(config["history"].as_array().unwrap().len(), 3);
        assert_eq!(config["created"], "child");
        assert_eq!(m["config"]["digest"], c.config_digest.to_string());
        assert_eq!(m["annotations"]["keep"], "1");
        assert_eq!(m["annotations"][BASE_DIGEST], new.digest.to_string());
        assert_eq!(m["annotations"][REBUILD_OF], child.digest.to_string());
    }

    #[test]
    fn a_changed_parent_config_or_foreign_layers_refuse() {
        let old = image("old", &["os"], "A=1");
        let child = image("child", &["os", "app"], "A=1");
        let why = compose(&old, &image("new", &["os2"], "A=2"), &child, 1).unwrap_err();
        assert_eq!(
            why,
            "the new parent's config differs from the old one's in config.Env"
        );
        let other = image("child", &["other", "app"], "A=1");
        let why = compose(&old, &image("new", &["os2"], "A=1"), &other, 1).unwrap_err();
        assert_eq!(why, "its lower layers are not the old parent's");
        let why = compose(&old, &image("new", &["os2"], "A=1"), &child, 2).unwrap_err();
        assert!(why.starts_with("its layers are not"), "{why}");
    }
}
