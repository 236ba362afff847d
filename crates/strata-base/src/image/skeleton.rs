//! What debootstrap puts into a root filesystem besides the packages' files: the merged-/usr
//! links (`bin` → `usr/bin`, …) and, for the `minbase` variant, `/etc/fstab` and
//! `/etc/apt/sources.list`. `/etc/hostname` and `/etc/resolv.conf` (copied from the host by
//! debootstrap) are left out: a container runtime provides them.

use strata_archive::Entry;

use crate::dpkg::file;

/// The directories a merged-/usr system links into `usr/` on `arch` (as debootstrap 1.0.128
/// makes them for Debian 12).
pub fn merged_usr_dirs(arch: &str) -> Vec<String> {
    let mut dirs = vec!["bin", "lib", "sbin"];
    if arch == "amd64" {
        dirs.push("lib64");
    }
    dirs.into_iter().map(str::to_owned).collect()
}

/// The merged-/usr symlinks and their target directories.
pub fn merged_usr_entries(dirs: &[String], mtime: i64) -> Vec<Entry> {
    let mut out = Vec::new();
    for d in dirs {
        let mut link = Entry::symlink(d.clone(), format!("usr/{d}"));
        link.mtime = mtime;
        out.push(link);
        let mut dir = Entry::dir(format!("usr/{d}"), 0o755);
        dir.mtime = mtime;
        out.push(dir);
    }
    out
}

/// `/etc/fstab` and `/etc/apt/sources.list` as debootstrap writes them.
pub fn debootstrap_files(
    mirror: &str,
    suites: &[String],
    components: &[String],
    mtime: i64,
) -> Vec<Entry> {
    let mut sources = String::new();
    for suite in suites {
        let mirror = if suite.ends_with("-security") {
            security_mirror(mirror)
        } else {
            mirror.to_owned()
        };
        sources.push_str(&format!("deb {mirror} {suite} {}\n", components.join(" ")));
    }
    vec![
        file(
            "etc/fstab",
            &b"# UNCONFIGURED FSTAB FOR BASE SYSTEM\n"[..],
            0o644,
            mtime,
        ),
        file("etc/apt/sources.list", sources.into_bytes(), 0o644, mtime),
    ]
}

/// `http://deb.debian.org/debian` → `http://deb.debian.org/debian-security`.
pub fn security_mirror(mirror: &str) -> String {
    format!("{}-security", mirror.trim_end_matches('/'))
}
