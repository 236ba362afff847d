//! The dpkg database as dpkg leaves it after installing packages (deb(5), dpkg(1)'s
//! `/var/lib/dpkg` layout, checked against a `debootstrap --variant=minbase` tree):
//!
//! - `status`: each package's control stanza with `Status:` and `Conffiles:` (md5 of the
//!   shipped conffile), fields in dpkg's order ([`stanza`]);
//! - `info/<pkg>[:arch].list` (`/.` then every path of the data tar, directories included,
//!   in archive order), and every control member but `control` (`md5sums`, `conffiles`,
//!   maintainer scripts, `triggers`, `shlibs`, `symbols`, `templates`, `config`) as
//!   `info/<pkg>[:arch].<member>`; `:arch` for `Multi-Arch: same` packages;
//! - `available`: the Packages-index stanzas, as debootstrap leaves it;
//! - `triggers/File` and `triggers/<name>`: the trigger interests the packages declare;
//! - `info/format`, `cmethopt`, `diversions`, `statoverride`-less, empty `lock` files and
//!   the `alternatives/`, `parts/`, `updates/` directories.
//!
//! Which `Status:` is written is the caller's choice ([`InstallState`]): `installed` when no
//! maintainer script will run (a distroless image: `dpkg -l` shows `ii`, `dpkg --audit` is
//! clean, scanners see the packages), `unpacked` when `dpkg --configure -a` will run next
//! (`run-scripts = true`), which then records `installed` as dpkg would.

pub mod stanza;
mod triggers;

use std::collections::BTreeMap;
use std::sync::Arc;

use md5::{Digest as _, Md5};
use strata_archive::{Entry, EntryKind, FileSource};

use crate::deb::DebPackage;

/// The `Status:` packages are recorded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallState {
    /// `install ok installed`: no script will run.
    Installed,
    /// `install ok unpacked`: `dpkg --configure -a` will run the `postinst`s.
    Unpacked,
}

impl InstallState {
    pub fn status(self) -> &'static str {
        match self {
            InstallState::Installed => "install ok installed",
            InstallState::Unpacked => "install ok unpacked",
        }
    }
}

/// One package going into the database.
#[derive(Debug, Clone, Copy)]
pub struct DbPackage<'a> {
    pub deb: &'a DebPackage,
    /// Its Packages-index stanza (for `available`); `None` leaves it out.
    pub index_stanza: Option<&'a str>,
}

const DPKG: &str = "var/lib/dpkg";

/// `pkg` or `pkg:arch` (Multi-Arch: same), the name of its files under `info/`.
pub fn info_name(deb: &DebPackage) -> String {
    let name = deb.control.field("Package").unwrap_or_default();
    match (
        deb.control.field("Multi-Arch"),
        deb.control.field("Architecture"),
    ) {
        (Some("same"), Some(arch)) => format!("{name}:{arch}"),
        _ => name.to_owned(),
    }
}

/// A regular-file entry with in-memory content.
pub fn file(path: impl Into<String>, bytes: impl Into<Arc<[u8]>>, mode: u32, mtime: i64) -> Entry {
    let mut e = Entry::file_bytes(path, bytes, mode);
    e.mtime = mtime;
    e
}

fn dir(path: &str, mode: u32, mtime: i64) -> Entry {
    let mut e = Entry::dir(path, mode);
    e.mtime = mtime;
    e
}

/// The `info/` files of one package: `.list` (stamped `mtime`, as dpkg writes it at
/// install time) and the control members (with the control archive's modes and times).
pub fn info_entries(deb: &DebPackage, mtime: i64) -> Vec<Entry> {
    let name = info_name(deb);
    let mut list = String::from("/.\n");
    for f in &deb.files {
        list.push('/');
        list.push_str(&f.path);
        list.push('\n');
    }
    let mut out = vec![file(
        format!("{DPKG}/info/{name}.list"),
        list.into_bytes(),
        0o644,
        mtime,
    )];
    for (member, (bytes, mode)) in &deb.control.members {
        out.push(file(
            format!("{DPKG}/info/{name}.{member}"),
            bytes.clone(),
            *mode,
            mtime,
        ));
    }
    out
}

/// `Conffiles:` pairs (path, md5 of the shipped content) of a package.
pub fn conffile_sums(deb: &DebPackage) -> Vec<(String, String)> {
    let by_path: BTreeMap<&str, &Entry> = deb.files.iter().map(|f| (f.path.as_str(), f)).collect();
    deb.control
        .conffiles()
        .into_iter()
        .filter_map(|path| {
            let entry = by_path.get(path.trim_start_matches('/'))?;
            let EntryKind::File {
                source: FileSource::Bytes(bytes),
                ..
            } = &entry.kind
            else {
                return None;
            };
            Some((path, hex::encode(Md5::digest(bytes))))
        })
        .collect()
}

/// The database files that describe all of `packages` (in install order): `status`,
/// `available`, the trigger interests and dpkg's fixed files and directories.
pub fn database_entries(packages: &[DbPackage<'_>], state: InstallState, mtime: i64) -> Vec<Entry> {
    let mut status = String::new();
    let mut sorted: Vec<_> = packages.iter().collect();
    // dpkg writes `status` sorted by package name (then architecture).
    sorted.sort_by_key(|p| info_name(p.deb));
    for p in &sorted {
        status.push_str(&stanza::status_stanza(
            &p.deb.control.control,
            state.status(),
            &conffile_sums(p.deb),
        ));
    }
    let mut out = vec![
        dir(DPKG, 0o755, mtime),
        dir(&format!("{DPKG}/info"), 0o755, mtime),
        dir(&format!("{DPKG}/alternatives"), 0o755, mtime),
        dir(&format!("{DPKG}/parts"), 0o755, mtime),
        dir(&format!("{DPKG}/updates"), 0o755, mtime),
        dir(&format!("{DPKG}/triggers"), 0o755, mtime),
        file(format!("{DPKG}/status"), status.into_bytes(), 0o644, mtime),
        file(
            format!("{DPKG}/available"),
            available(packages),
            0o644,
            mtime,
        ),
        file(format!("{DPKG}/info/format"), &b"1\n"[..], 0o644, mtime),
        file(format!("{DPKG}/cmethopt"), &b"apt apt\n"[..], 0o644, mtime),
        file(format!("{DPKG}/diversions"), &b""[..], 0o644, mtime),
        file(format!("{DPKG}/lock"), &b""[..], 0o640, mtime),
        file(format!("{DPKG}/lock-frontend"), &b""[..], 0o640, mtime),
        file(format!("{DPKG}/triggers/Lock"), &b""[..], 0o600, mtime),
        file(format!("{DPKG}/triggers/Unincorp"), &b""[..], 0o644, mtime),
    ];
    out.extend(triggers::interest_files(packages, mtime));
    out
}

/// `available` as debootstrap leaves it: the index stanzas in the archive's order (by
/// source package, then package).
fn available(packages: &[DbPackage<'_>]) -> Vec<u8> {
    let mut stanzas: Vec<(String, String, &str)> = packages
        .iter()
        .filter_map(|p| {
            let text = p.index_stanza?;
            let fields = stanza::parse(text);
            let get = |k: &str| {
                fields
                    .iter()
                    .find(|(f, _)| f.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v.clone())
            };
            let name = get("Package").unwrap_or_default();
            let source = get("Source")
                .map(|s| s.split_whitespace().next().unwrap_or_default().to_owned())
                .unwrap_or_else(|| name.clone());
            Some((source, name, text))
        })
        .collect();
    stanzas.sort();
    let mut out = String::new();
    for (_, _, text) in stanzas {
        out.push_str(text.trim_end_matches('\n'));
        out.push_str("\n\n");
    }
    out.into_bytes()
}
