//! `strata base build FILE` and `strata base lock FILE`: base images from Debian packages
//! (docs/BASE.md). strata-base does the work; this module wires it to the store, the cache
//! under `<root>/base-cache` and, for `run-scripts = true`, the builder's RUN executor.

mod configure;
mod fetch;

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use strata_base::config::{oci_arch, BaseConfig, Variant};
use strata_base::deb::DebPackage;
use strata_base::dpkg::stanza::with_overrides;
use strata_base::dpkg::InstallState;
use strata_base::image::{
    commit_image, groups, no_script_files, order, skeleton, users, write_package_layers, ImageSpec,
    LayerOptions, PackageLayers, PathFilter, Unpacked,
};
use strata_base::lock::Lock;
use strata_base::repo::{Cache, PackageRecord};
use strata_base::resolve;
use strata_content::Store;
use strata_oci::Reference;

use crate::cli::{BaseBuildArgs, BaseCommand, BaseLockArgs};

/// The annotation that records the resolved set of a build without a lock file.
pub const PACKAGES_ANNOTATION: &str = "org.strata.base.packages";

pub fn run(store: &Store, command: BaseCommand) -> Result<()> {
    match command {
        BaseCommand::Build(args) => build(store, args),
        BaseCommand::Lock(args) => lock(store, args),
    }
}

fn lock(store: &Store, args: BaseLockArgs) -> Result<()> {
    let config = BaseConfig::load(&args.source.file)?;
    let cache = Cache::new(fetch::cache_dir(store.root(), &args.source))?;
    let repo = fetch::load_repo(&config, &args.source, &cache)?;
    let resolution = resolve::resolve(&repo, &fetch::request(&config))
        .with_context(|| format!("resolving the packages of {}", args.source.file.display()))?;
    let lock = Lock::from_resolution(&resolution, &repo).with_mirrors(&fetch::to_file_mirrors(
        &config,
        args.source.mirror.as_deref(),
    ));
    match &args.output {
        Some(path) => {
            lock.save(path)?;
            eprintln!(
                "{} packages locked in {}",
                lock.packages.len(),
                path.display()
            );
        }
        None => print!("{}", lock.to_toml()),
    }
    Ok(())
}

fn build(store: &Store, args: BaseBuildArgs) -> Result<()> {
    let started = Instant::now();
    let config = BaseConfig::load(&args.source.file)?;
    let tags = tags(&config, &args)?;
    let cache = Cache::new(fetch::cache_dir(store.root(), &args.source))?;
    let fetched = fetch::select(
        &config,
        &args.source,
        &cache,
        args.lock.as_deref(),
        args.offline,
    )?;
    let epoch = epoch(&fetched.release_dates)?;
    let key = build_key(&args, &fetched.records, epoch)?;
    let record = cache.dir().join("builds").join(&key);
    if let Some(image) = built_before(store, &record) {
        for tag in &tags {
            store.tag(tag, &image.manifest_digest)?;
        }
        eprintln!(
            "{} packages, unchanged: image {} reused, {:.2}s",
            fetched.records.len(),
            image.manifest_digest,
            started.elapsed().as_secs_f64()
        );
        return super::out(image.id());
    }
    // Only now are the .debs needed: a reused image never reads them.
    let debs = fetch::debs(&fetched, &args.source, &cache)?;
    let pkgs = unpack(&fetched.records, &debs)?;
    for p in &pkgs {
        eprintln!(
            "{}={}",
            p.name(),
            p.deb.control.field("Version").unwrap_or_default()
        );
    }
    let arch = config.arch();
    let state = if config.run_scripts {
        InstallState::Unpacked
    } else {
        InstallState::Installed
    };
    let merged_usr = if config.merged_usr {
        skeleton::merged_usr_dirs(&arch)
    } else {
        Vec::new()
    };
    let mut first = skeleton::merged_usr_entries(&merged_usr, epoch);
    if config.variant == Variant::Minbase {
        let components = config.source.components.clone();
        first.extend(skeleton::debootstrap_files(
            &config.mirrors(None).0,
            &config.source.suites,
            &components,
            epoch,
        ));
    }
    let last = if config.run_scripts {
        users::home_dirs(&config.users, epoch)
    } else {
        let master = base_passwd(&pkgs);
        let master = master.as_ref().map(|(p, g)| (p.as_str(), g.as_str()));
        let mut files = users::account_files(&config.users, &config.groups, master, epoch);
        files.extend(no_script_files(&pkgs, epoch));
        files
    };
    let opts = LayerOptions {
        epoch,
        merged_usr,
        compression: strata_archive::Compression::default(),
        filter: PathFilter::new(&config.exclude, &config.include)?,
    };
    let plan = PackageLayers {
        packages: &pkgs,
        groups: layer_groups(&config, &pkgs)?,
        state,
        first,
        last,
    };
    let mut layers = write_package_layers(store, plan, &opts)?;
    let spec = image_spec(&config, &arch, &fetched.records, args.lock.is_some(), epoch);
    if config.run_scripts {
        let unpacked = commit_image(
            store,
            &ImageSpec {
                annotations: BTreeMap::new(),
                ..spec.clone()
            },
            &layers,
        )?;
        let debs: Vec<&DebPackage> = pkgs.iter().map(|p| &p.deb).collect();
        let script = configure::script(&debs, &arch, &config.users, &config.groups, epoch);
        layers.push(configure::run(store, &unpacked, &script, epoch)?);
    }
    let image = commit_image(store, &spec, &layers)?;
    for tag in &tags {
        store.tag(tag, &image.manifest_digest)?;
    }
    remember(&record, &image.manifest_digest);
    eprintln!(
        "{} packages, {} layers, {:.2}s",
        pkgs.len(),
        layers.len(),
        started.elapsed().as_secs_f64()
    );
    super::out(image.id())
}

/// What an image is a function of: strata's version, the build file's bytes, the exact
/// packages (name, version, SHA256) and the image time. The same key means the same image,
/// so a warm rebuild with nothing changed reuses the stored one.
fn build_key(args: &BaseBuildArgs, records: &[PackageRecord], epoch: i64) -> Result<String> {
    use sha2::{Digest as _, Sha256};
    let file = std::fs::read(&args.source.file)
        .with_context(|| format!("reading {}", args.source.file.display()))?;
    let mut h = Sha256::new();
    h.update(concat!("strata ", env!("CARGO_PKG_VERSION"), "\n"));
    h.update(&file);
    let mut pkgs: Vec<String> = records
        .iter()
        .map(|r| format!("{} {} {}\n", r.name, r.version, r.sha256))
        .collect();
    pkgs.sort();
    h.update(pkgs.concat());
    h.update(format!("{epoch}\n"));
    Ok(hex::encode(h.finalize()))
}

/// The image an earlier build with the same key stored, if the store still has it.
fn built_before(store: &Store, record: &std::path::Path) -> Option<strata_content::Image> {
    let text = std::fs::read_to_string(record).ok()?;
    let digest: strata_oci::Digest = text.trim().parse().ok()?;
    store.image(&digest).ok()
}

/// Records the key → manifest digest (temp + rename; a failure only costs the next build
/// its shortcut).
fn remember(record: &std::path::Path, digest: &strata_oci::Digest) {
    let write = || -> std::io::Result<()> {
        let dir = record.parent().unwrap_or(record);
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, format!("{digest}\n").as_bytes())?;
        tmp.persist(record).map_err(|e| e.error)?;
        Ok(())
    };
    if let Err(e) = write() {
        tracing::warn!(error = %e, "could not record the build for reuse");
    }
}

fn tags(config: &BaseConfig, args: &BaseBuildArgs) -> Result<Vec<Reference>> {
    config
        .tags
        .iter()
        .chain(&args.tags)
        .map(|t| Reference::parse(t).with_context(|| format!("invalid image name {t:?}")))
        .collect()
}

/// `SOURCE_DATE_EPOCH` when set, else the newest Release `Date`.
fn epoch(release_dates: &[String]) -> Result<i64> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return v
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"));
    }
    let mut newest = None;
    for d in release_dates {
        let t = parse_release_date(d).with_context(|| format!("Release Date {d:?}"))?;
        newest = newest.max(Some(t));
    }
    newest.context("no Release date to take the image time from (set SOURCE_DATE_EPOCH)")
}

/// A Release `Date:` (RFC 2822 with `UTC` as the zone, as Debian writes it).
fn parse_release_date(d: &str) -> Result<i64> {
    let normal = d.trim().replace(" UTC", " +0000").replace(" GMT", " +0000");
    let t = time::OffsetDateTime::parse(&normal, &time::format_description::well_known::Rfc2822)?;
    Ok(t.unix_timestamp())
}

/// Every `.deb` read (in parallel) and checked against the record it was fetched for, in
/// install order.
fn unpack(records: &[PackageRecord], debs: &[std::path::PathBuf]) -> Result<Vec<Unpacked>> {
    let pkgs: Vec<Unpacked> = records
        .par_iter()
        .zip(debs.par_iter())
        .map(|(rec, path)| -> Result<Unpacked> {
            let mut deb = DebPackage::open(path)
                .with_context(|| format!("unpacking {} ({})", rec.label(), rec.url()))?;
            let overrides: Vec<(&str, String)> = ["Priority", "Section"]
                .into_iter()
                .filter_map(|f| Some((f, rec.field(f)?)))
                .collect();
            if !overrides.is_empty() {
                let pairs: Vec<(&str, &str)> =
                    overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
                deb.control.control = with_overrides(&deb.control.control, &pairs);
            }
            let (name, version) = (
                deb.control.field("Package").unwrap_or_default(),
                deb.control.field("Version").unwrap_or_default(),
            );
            if name != rec.name || version != rec.version {
                bail!(
                    "{}: the package is {name}={version}, not {}",
                    path.display(),
                    rec.label()
                );
            }
            let index_stanza = format!(
                "{}Filename: {}\nSize: {}\nSHA256: {}\n",
                deb.control.control.trim_end_matches('\n').to_owned() + "\n",
                rec.filename,
                rec.size,
                rec.sha256
            );
            Ok(Unpacked {
                deb,
                index_stanza: Some(index_stanza),
            })
        })
        .collect::<Result<_>>()?;
    let order = order::install_order(&pkgs);
    let mut slots: Vec<Option<Unpacked>> = pkgs.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// The `[[layers]]` groups (with `@minbase`: every `Priority: required` package and apt,
/// debootstrap's minbase) and the last group of the rest.
fn layer_groups(config: &BaseConfig, pkgs: &[Unpacked]) -> Result<Vec<(String, Vec<usize>)>> {
    let requested: Vec<Vec<String>> = config
        .layers
        .iter()
        .map(|g| {
            g.packages
                .iter()
                .flat_map(|p| {
                    if p == "@minbase" {
                        minbase_names(pkgs)
                    } else {
                        vec![p.clone()]
                    }
                })
                .collect()
        })
        .collect();
    let assigned = groups::assign(pkgs, &requested)
        .map_err(|e| anyhow::anyhow!("{}: {e}", config_name(config)))?;
    let mut names: Vec<String> = config.layers.iter().map(|g| g.name.clone()).collect();
    names.push("packages".into());
    Ok(names.into_iter().zip(assigned).collect())
}

fn config_name(_config: &BaseConfig) -> &'static str {
    "layers"
}

fn minbase_names(pkgs: &[Unpacked]) -> Vec<String> {
    pkgs.iter()
        .filter(|p| p.deb.control.field("Priority") == Some("required") || p.name() == "apt")
        .map(|p| p.name().to_owned())
        .collect()
}

/// base-passwd's master files, what its preinst would copy to `/etc/passwd` and
/// `/etc/group`, when it is installed.
fn base_passwd(pkgs: &[Unpacked]) -> Option<(String, String)> {
    let pkg = pkgs.iter().find(|p| p.name() == "base-passwd")?;
    let read = |path: &str| {
        pkg.deb
            .files
            .iter()
            .find(|f| f.path == path)
            .and_then(|f| match &f.kind {
                strata_archive::EntryKind::File {
                    source: strata_archive::FileSource::Bytes(b),
                    ..
                } => Some(String::from_utf8_lossy(b).into_owned()),
                _ => None,
            })
    };
    Some((
        read("usr/share/base-passwd/passwd.master")?,
        read("usr/share/base-passwd/group.master")?,
    ))
}

fn image_spec(
    config: &BaseConfig,
    arch: &str,
    records: &[PackageRecord],
    locked: bool,
    epoch: i64,
) -> ImageSpec {
    let mut annotations = config.annotations.clone();
    if !locked {
        let mut set: Vec<String> = records.iter().map(PackageRecord::label).collect();
        set.sort();
        annotations.insert(PACKAGES_ANNOTATION.to_owned(), set.join(" "));
    }
    ImageSpec {
        arch: oci_arch(arch).to_owned(),
        env: config.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        workdir: config.workdir.clone(),
        user: config.user.clone(),
        entrypoint: config.entrypoint.clone(),
        cmd: config.cmd.clone(),
        labels: config.labels.clone(),
        annotations,
        epoch,
    }
}
