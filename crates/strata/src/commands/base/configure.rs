//! `run-scripts = true`: the maintainer scripts run the way debootstrap's second stage runs
//! them, in strata's RUN executor (runc over an overlay of the unpacked layers): each
//! package's `preinst install` in install order, then `dpkg --configure -a`, then the
//! configured users and groups. The container's changes become the image's last layer.
//!
//! The step is reproducible (docs/BASE.md, "Reproducibility"), as debuerreotype makes
//! debootstrap's: the scripts run with `SOURCE_DATE_EPOCH` (shadow's tools take the
//! password-change day from it), `PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0` (debconf writes its
//! databases in Perl hash order), the builder clamps every mtime of the layer to the epoch,
//! and [`VOLATILE`] (logs, `-old` backups, ldconfig's inode cache) is removed at the end.

use anyhow::{bail, Context, Result};
use strata_base::deb::DebPackage;
use strata_base::dpkg::info_name;
use strata_base::image::users::{append_script, Group, User};
use strata_base::image::Layer;
use strata_build::{BuildOptions, NetworkMode, Silent};
use strata_content::{Image, Store};

/// What the configure step leaves that differs from run to run, removed at its end (each
/// with its reason in docs/BASE.md): logs with times, `-old` backups of databases and
/// ldconfig's cache of inode numbers and ctimes.
pub const VOLATILE: &[&str] = &[
    "/var/log/dpkg.log",
    "/var/log/alternatives.log",
    "/var/log/apt/history.log",
    "/var/log/apt/term.log",
    "/var/log/apt/eipp.log.xz",
    "/var/cache/debconf/*-old",
    "/var/lib/dpkg/*-old",
    "/var/cache/ldconfig/aux-cache",
];

/// The shell script of the configure step.
pub fn script(
    debs: &[&DebPackage],
    arch: &str,
    users: &[User],
    groups: &[Group],
    epoch: i64,
) -> String {
    let mut s = String::from(
        "set -e\n\
         export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LC_ALL=C.UTF-8\n\
         export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         export PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0\n",
    );
    s.push_str(&format!("export SOURCE_DATE_EPOCH={epoch}\n"));
    for deb in debs {
        if !deb.control.members.contains_key("preinst") {
            continue;
        }
        let name = deb.control.field("Package").unwrap_or_default();
        let pkg_arch = deb.control.field("Architecture").unwrap_or(arch);
        s.push_str(&format!(
            "DPKG_MAINTSCRIPT_PACKAGE={name} DPKG_MAINTSCRIPT_ARCH={pkg_arch} \
             DPKG_MAINTSCRIPT_NAME=preinst DPKG_ROOT= /var/lib/dpkg/info/{}.preinst install\n",
            info_name(deb)
        ));
    }
    s.push_str("dpkg --configure --pending --force-configure-any --force-depends\n");
    s.push_str(&append_script(users, groups, epoch));
    s.push_str(&format!("rm -f {}\n", VOLATILE.join(" ")));
    // systemd's first boot writes it; an image carries none or an empty one (debuerreotype).
    s.push_str("if [ -s /etc/machine-id ]; then : > /etc/machine-id; fi\n");
    s
}

/// Runs `script` in a container over `base` and returns the layer of its changes.
pub fn run(store: &Store, base: &Image, script: &str, epoch: i64) -> Result<Layer> {
    if !rustix::process::geteuid().is_root() {
        bail!(
            "run-scripts = true needs root: the maintainer scripts run in a container \
             (runc over an overlay mount); run as root or set run-scripts = false"
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("base-configure-")
        .tempdir_in(store.root())
        .context("making the configure step's context")?;
    let json = serde_json::to_string(&["/bin/sh", "-c", script])?;
    let dockerfile = format!("FROM {}\nRUN {json}\n", base.manifest_digest.hex());
    std::fs::write(dir.path().join("Dockerfile"), dockerfile)?;
    let mut opts = BuildOptions::new(dir.path());
    opts.network = NetworkMode::None;
    opts.source_date_epoch = Some(epoch);
    opts.no_cache = true;
    let outcome =
        strata_build::build(store, &opts, &Silent).context("running the maintainer scripts")?;
    let image = outcome.image;
    let (Some(descriptor), Some(diff_id)) = (
        image.manifest.layers.last(),
        image.config.rootfs.diff_ids.last(),
    ) else {
        bail!("the configure step made no layer");
    };
    Ok(Layer {
        descriptor: descriptor.clone(),
        diff_id: diff_id.clone(),
        created_by: "strata base: run-scripts: preinst install; dpkg --configure -a".into(),
    })
}
