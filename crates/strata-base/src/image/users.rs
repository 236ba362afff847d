//! Users and groups of the image: `/etc/passwd`, `/etc/group`, `/etc/shadow`,
//! `/etc/gshadow` and home directories.
//!
//! Without maintainer scripts (a distroless image) nothing creates these files, so they
//! are written whole: base-passwd's master files when that package is installed (what its
//! `preinst` would copy), else Google distroless' `root` and `nobody`, then the configured
//! users and groups. With `run-scripts = true` the same entries are appended by the
//! configure step after the packages' scripts ran ([`append_script`]).

use std::collections::BTreeSet;

use serde::Deserialize;
use strata_archive::Entry;

use crate::dpkg::file;

/// A user of the image (`[[users]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct User {
    pub name: String,
    pub uid: u32,
    /// Primary group id; default: the uid (a group of the user's name is made when no
    /// group has that id).
    pub gid: Option<u32>,
    /// Default: `/home/NAME` (created, owned by the user, mode 0700).
    pub home: Option<String>,
    /// Default: `/sbin/nologin` (distroless has no shell).
    pub shell: Option<String>,
    #[serde(default)]
    pub gecos: String,
}

/// A Unix group of the image (`[[groups]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Group {
    pub name: String,
    pub gid: u32,
    #[serde(default)]
    pub members: Vec<String>,
}

impl User {
    fn gid(&self) -> u32 {
        self.gid.unwrap_or(self.uid)
    }
    fn home(&self) -> String {
        self.home
            .clone()
            .unwrap_or_else(|| format!("/home/{}", self.name))
    }
    fn passwd_line(&self) -> String {
        let shell = self.shell.as_deref().unwrap_or("/sbin/nologin");
        format!(
            "{}:x:{}:{}:{}:{}:{shell}\n",
            self.name,
            self.uid,
            self.gid(),
            self.gecos,
            self.home()
        )
    }
}

/// The groups to add: the configured ones plus a personal group for each user whose gid
/// names none.
fn all_groups(users: &[User], groups: &[Group]) -> Vec<Group> {
    let mut out = groups.to_vec();
    let gids: BTreeSet<u32> = groups.iter().map(|g| g.gid).collect();
    for u in users {
        if !gids.contains(&u.gid()) && !out.iter().any(|g| g.gid == u.gid()) {
            out.push(Group {
                name: u.name.clone(),
                gid: u.gid(),
                members: Vec::new(),
            });
        }
    }
    out
}

const DISTROLESS_PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\n\
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n";
const DISTROLESS_GROUP: &str = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\n";

/// The account files written whole (no scripts). `master` is base-passwd's
/// (`passwd.master`, `group.master`) when installed.
pub fn account_files(
    users: &[User],
    groups: &[Group],
    master: Option<(&str, &str)>,
    epoch: i64,
) -> Vec<Entry> {
    let (mut passwd, mut group) = match master {
        Some((p, g)) => (p.to_owned(), g.to_owned()),
        None => (DISTROLESS_PASSWD.to_owned(), DISTROLESS_GROUP.to_owned()),
    };
    let days = epoch / 86_400;
    let shadow_of = |text: &str| -> String {
        text.lines()
            .filter_map(|l| l.split(':').next())
            .map(|n| format!("{n}:*:{days}:0:99999:7:::\n"))
            .collect()
    };
    let gshadow_of = |text: &str| -> String {
        text.lines()
            .filter_map(|l| l.split(':').next())
            .map(|n| format!("{n}:*::\n"))
            .collect()
    };
    for u in users {
        passwd.push_str(&u.passwd_line());
    }
    for g in all_groups(users, groups) {
        group.push_str(&format!("{}:x:{}:{}\n", g.name, g.gid, g.members.join(",")));
    }
    let mut out = vec![
        file("etc/passwd", shadow_free(&passwd), 0o644, epoch),
        file("etc/group", shadow_free(&group), 0o644, epoch),
        file("etc/shadow", shadow_of(&passwd).into_bytes(), 0o640, epoch),
        file("etc/gshadow", gshadow_of(&group).into_bytes(), 0o640, epoch),
    ];
    // shadow is root:shadow (gid 42) on Debian.
    for e in out.iter_mut().skip(2) {
        e.gid = 42;
    }
    out.extend(home_dirs(users, epoch));
    out
}

fn shadow_free(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// Each user's home directory (under `/home` or elsewhere, never `/`), owned by the user.
pub fn home_dirs(users: &[User], epoch: i64) -> Vec<Entry> {
    users
        .iter()
        .filter(|u| u.home() != "/" && u.home() != "/nonexistent")
        .map(|u| {
            let mut d = Entry::dir(u.home().trim_start_matches('/').to_owned(), 0o700);
            d.uid = u.uid;
            d.gid = u.gid();
            d.mtime = epoch;
            d
        })
        .collect()
}

/// Shell lines that add the users and groups to the account files the scripts made
/// (idempotent: an existing name is left alone).
pub fn append_script(users: &[User], groups: &[Group], epoch: i64) -> String {
    let days = epoch / 86_400;
    let mut s = String::new();
    for g in all_groups(users, groups) {
        s.push_str(&format!(
            "grep -q '^{n}:' /etc/group || {{ echo '{n}:x:{gid}:{m}' >> /etc/group; echo '{n}:*::' >> /etc/gshadow; }}\n",
            n = g.name,
            gid = g.gid,
            m = g.members.join(","),
        ));
    }
    for u in users {
        s.push_str(&format!(
            "grep -q '^{n}:' /etc/passwd || {{ printf '%s' '{line}' >> /etc/passwd; echo '{n}:*:{days}:0:99999:7:::' >> /etc/shadow; }}\n",
            n = u.name,
            line = u.passwd_line(),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distroless_nonroot() {
        let nonroot = User {
            name: "nonroot".into(),
            uid: 65532,
            gid: None,
            home: None,
            shell: None,
            gecos: "nonroot".into(),
        };
        let files = account_files(&[nonroot], &[], None, 86_400 * 20_000);
        let text = |p: &str| {
            let e = files.iter().find(|e| e.path == p).unwrap();
            match &e.kind {
                strata_archive::EntryKind::File {
                    source: strata_archive::FileSource::Bytes(b),
                    ..
                } => String::from_utf8(b.to_vec()).unwrap(),
                _ => panic!(),
            }
        };
        assert!(text("etc/passwd")
            .ends_with("nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"));
        assert!(text("etc/group").ends_with("nonroot:x:65532:\n"));
        assert!(text("etc/shadow").contains("nonroot:*:20000:0:99999:7:::\n"));
        let home = files.iter().find(|e| e.path == "home/nonroot").unwrap();
        assert_eq!((home.uid, home.gid, home.mode), (65532, 65532, 0o700));
    }
}
