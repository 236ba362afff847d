//! Resolving `USER` and `--chown` names against the image's `/etc/passwd` and `/etc/group`.

use crate::sources::rootfs::RootfsView;

/// Why a user or group could not be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("unable to find user {name}: no matching entries in passwd file")]
    NoUser { name: String },
    #[error("unable to find group {name}: no matching entries in group file")]
    NoGroup { name: String },
    #[error("--chown name {name:?} cannot be resolved with --link (no image /etc/passwd or /etc/group is read): use numeric ids")]
    NameWithLink { name: String },
    #[error("invalid --chown id {value:?}: ids cannot be negative")]
    NegativeId { value: String },
}

/// A resolved user: uid, primary gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

/// Resolves `--chown` (and WORKDIR's owner) as BuildKit's `llb.WithUser` + `readUser` do
/// (client/llb/fileop.go `WithUser`/`parseUID`/`UserOpt.marshal`,
/// solver/llbsolver/ops/user_linux.go `readUser`):
/// - the user part: a number (or `root`) is the uid *and* the gid; a name is looked up by name
///   in `/etc/passwd` (uid and primary gid); an empty user (`:group`) is uid 0;
/// - the group part, when there is a `:`: a number (or `root`) is the gid; a name is looked up
///   in `/etc/group`; an empty group (`user:`) is gid 0.
///
/// A name the image does not know is an error, as with buildah and docker's classic builder.
/// BuildKit writes 0:0 silently there (`readUser` treats "not found" as id 0), which turns a
/// typo into root-owned files; strata refuses instead (docs/FIDELITY.md).
///
/// `image` is `None` with `--link`, where BuildKit has no filesystem to read names from and
/// fails; so does this, with a clearer message.
pub fn resolve_chown(spec: &str, image: Option<&RootfsView>) -> Result<(u32, u32), UserError> {
    let (user, group) = split(spec);
    let (uid, mut gid) = match chown_id(user)? {
        ChownId::Id(id) => (id, id),
        ChownId::Name(name) => {
            passwd_entry(name, need_image(name, image)?).ok_or_else(|| UserError::NoUser {
                name: name.to_owned(),
            })?
        }
    };
    if let Some(group) = group {
        match chown_id(group)? {
            ChownId::Id(id) => gid = id,
            ChownId::Name(name) => {
                gid = group_entry(name, need_image(name, image)?).ok_or_else(|| {
                    UserError::NoGroup {
                        name: name.to_owned(),
                    }
                })?;
            }
        }
    }
    Ok((uid, gid))
}

/// One side of `--chown`: a numeric id (empty and `root` count as 0), or a name.
#[derive(Debug, PartialEq, Eq)]
enum ChownId<'a> {
    Id(u32),
    Name(&'a str),
}

/// BuildKit's `parseUID`: `root` is 0, a decimal int32 (Go's `ParseInt(s, 10, 32)`: an
/// optional sign) is an id, anything else a name; `UserOpt.marshal` turns an empty name
/// into id 0. Negative ids are refused (BuildKit would wrap them to 2^32-1, "unchanged").
fn chown_id(part: &str) -> Result<ChownId<'_>, UserError> {
    if part.is_empty() || part == "root" {
        return Ok(ChownId::Id(0));
    }
    match part.parse::<i32>() {
        Ok(n) => u32::try_from(n)
            .map(ChownId::Id)
            .map_err(|_| UserError::NegativeId {
                value: part.to_owned(),
            }),
        Err(_) => Ok(ChownId::Name(part)),
    }
}

fn need_image<'v>(name: &str, image: Option<&'v RootfsView>) -> Result<&'v RootfsView, UserError> {
    image.ok_or_else(|| UserError::NameWithLink {
        name: name.to_owned(),
    })
}

/// uid and primary gid of the passwd entry named `name` (by name only, as BuildKit's filter).
fn passwd_entry(name: &str, image: &RootfsView) -> Option<(u32, u32)> {
    read(Some(image), "/etc/passwd").lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 4 || f[0] != name {
            return None;
        }
        Some((f[2].parse().ok()?, f[3].parse().ok()?))
    })
}

/// gid of the group entry named `name`.
fn group_entry(name: &str, image: &RootfsView) -> Option<u32> {
    read(Some(image), "/etc/group").lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[0] == name).then(|| f[2].parse().ok())?
    })
}

/// Resolves `USER user[:group]` for a RUN step: numeric ids need not exist; a uid not in
/// passwd gets gid 0, as runc does.
pub fn resolve_user(spec: &str, image: Option<&RootfsView>) -> Result<User, UserError> {
    let spec = if spec.is_empty() { "0" } else { spec };
    let (user, group) = split(spec);
    let (uid, primary) = lookup_user(user, image)?;
    let gid = match group {
        Some(g) => lookup_group(g, image)?,
        None => primary.unwrap_or(0),
    };
    let additional_gids = match (group, passwd_name(uid, image)) {
        (None, Some(name)) => supplementary(&name, image),
        _ => Vec::new(),
    };
    Ok(User {
        uid,
        gid,
        additional_gids,
    })
}

fn split(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    }
}

fn lookup_user(user: &str, image: Option<&RootfsView>) -> Result<(u32, Option<u32>), UserError> {
    let passwd = read(image, "/etc/passwd");
    let rows = passwd.lines().map(|l| l.split(':').collect::<Vec<_>>());
    for f in rows {
        if f.len() >= 4 && (f[0] == user || f[2] == user) {
            if let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse()) {
                return Ok((uid, Some(gid)));
            }
        }
    }
    user.parse()
        .map(|uid| (uid, None))
        .map_err(|_| UserError::NoUser {
            name: user.to_owned(),
        })
}

fn lookup_group(group: &str, image: Option<&RootfsView>) -> Result<u32, UserError> {
    let groups = read(image, "/etc/group");
    for line in groups.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 3 && (f[0] == group || f[2] == group) {
            if let Ok(gid) = f[2].parse() {
                return Ok(gid);
            }
        }
    }
    group.parse().map_err(|_| UserError::NoGroup {
        name: group.to_owned(),
    })
}

fn passwd_name(uid: u32, image: Option<&RootfsView>) -> Option<String> {
    read(image, "/etc/passwd").lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[2] == uid.to_string()).then(|| f[0].to_owned())
    })
}

fn supplementary(name: &str, image: Option<&RootfsView>) -> Vec<u32> {
    read(image, "/etc/group")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let member = f.len() >= 4 && f[3].split(',').any(|m| m == name);
            member.then(|| f[2].parse().ok()).flatten()
        })
        .collect()
}

fn read(image: Option<&RootfsView>, path: &str) -> String {
    image
        .and_then(|v| v.read_file(path))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> (tempfile::TempDir, RootfsView) {
        let t = tempfile::tempdir().unwrap();
        let etc = t.path().join("l0/etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("passwd"),
            "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            etc.join("group"),
            "root:x:0:\nstaff:x:50:app\napp:x:1001:\n",
        )
        .unwrap();
        let v = RootfsView::new(vec![t.path().join("l0")]);
        (t, v)
    }

    /// Every `--chown` form, with the values BuildKit v0.24 gave on the same passwd/group
    /// (client/llb/fileop.go `WithUser`, solver/llbsolver/ops/user_linux.go `readUser`):
    /// a uid alone is also the gid, even when passwd says otherwise.
    #[test]
    fn chown_forms_resolve_as_buildkit() {
        let (_t, v) = image();
        let cases = [
            ("app", (1000, 1001)),
            ("1000", (1000, 1000)),
            ("app:staff", (1000, 50)),
            ("7:8", (7, 8)),
            ("+5", (5, 5)),
            ("root:app", (0, 1001)),
            ("app:root", (1000, 0)),
            ("app:", (1000, 0)),
        ];
        for (spec, want) in cases {
            assert_eq!(resolve_chown(spec, Some(&v)), Ok(want), "{spec}");
        }
        assert_eq!(resolve_chown("42:7", None), Ok((42, 7)));
    }

    #[test]
    fn chown_group_only_means_uid_zero() {
        let (_t, v) = image();
        assert_eq!(resolve_chown(":staff", Some(&v)), Ok((0, 50)));
        assert_eq!(resolve_chown(":9", Some(&v)), Ok((0, 9)));
        assert_eq!(resolve_chown(":9", None), Ok((0, 9)));
    }

    #[test]
    fn chown_names_without_an_image_are_refused() {
        // BuildKit fails `COPY --link --chown=name` with "invalid user index: -1".
        for spec in ["app", "1:staff", ":staff"] {
            assert!(
                matches!(
                    resolve_chown(spec, None),
                    Err(UserError::NameWithLink { .. })
                ),
                "{spec}"
            );
        }
        assert_eq!(
            resolve_chown("-1", None),
            Err(UserError::NegativeId { value: "-1".into() })
        );
    }

    #[test]
    fn chown_unknown_names_are_refused() {
        // BuildKit's readUser would write 0:0 silently; strata names what it cannot find.
        let (_t, v) = image();
        let no_user = |n: &str| Err(UserError::NoUser { name: n.into() });
        assert_eq!(resolve_chown("ghost", Some(&v)), no_user("ghost"));
        assert_eq!(
            resolve_chown("app:ghostgroup", Some(&v)),
            Err(UserError::NoGroup {
                name: "ghostgroup".into()
            })
        );
        let t = tempfile::tempdir().unwrap();
        let empty = RootfsView::new(vec![t.path().to_path_buf()]);
        assert_eq!(resolve_chown("app:staff", Some(&empty)), no_user("app"));
        assert_eq!(
            resolve_chown("1:2", Some(&empty)),
            Ok((1, 2)),
            "ids need no files"
        );
    }

    #[test]
    fn run_user_gets_supplementary_groups() {
        let (_t, v) = image();
        let u = resolve_user("app", Some(&v)).unwrap();
        assert_eq!((u.uid, u.gid, u.additional_gids), (1000, 1001, vec![50]));
        assert_eq!(resolve_user("4242", Some(&v)).unwrap().gid, 0);
    }
}
