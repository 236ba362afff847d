//! Resolving `USER` and `--chown` names against the image's `/etc/passwd` and `/etc/group`.

use crate::sources::rootfs::RootfsView;

/// Why a user or group could not be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("unable to find user {name}: no matching entries in passwd file")]
    NoUser { name: String },
    #[error("unable to find group {name}: no matching entries in group file")]
    NoGroup { name: String },
}

/// A resolved user: uid, primary gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

/// Resolves `user[:group]` (names or numbers). A numeric uid alone uses the same number as
/// gid for `--chown` (docker's rule) — for `USER` use [`resolve_user`].
pub fn resolve_chown(spec: &str, image: Option<&RootfsView>) -> Result<(u32, u32), UserError> {
    let (user, group) = split(spec);
    let (uid, primary) = lookup_user(user, image)?;
    let gid = match group {
        Some(g) => lookup_group(g, image)?,
        None => primary.unwrap_or(uid),
    };
    Ok((uid, gid))
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

    #[test]
    fn chown_by_name_and_number() {
        let (_t, v) = image();
        assert_eq!(resolve_chown("app", Some(&v)), Ok((1000, 1001)));
        assert_eq!(resolve_chown("app:staff", Some(&v)), Ok((1000, 50)));
        assert_eq!(resolve_chown("42", Some(&v)), Ok((42, 42)));
        assert_eq!(resolve_chown("42:7", None), Ok((42, 7)));
        assert!(matches!(
            resolve_chown("nobody", Some(&v)),
            Err(UserError::NoUser { .. })
        ));
        assert!(matches!(
            resolve_chown("app:nogroup", Some(&v)),
            Err(UserError::NoGroup { .. })
        ));
    }

    #[test]
    fn run_user_gets_supplementary_groups() {
        let (_t, v) = image();
        let u = resolve_user("app", Some(&v)).unwrap();
        assert_eq!((u.uid, u.gid, u.additional_gids), (1000, 1001, vec![50]));
        assert_eq!(resolve_user("4242", Some(&v)).unwrap().gid, 0);
    }
}
