//! Overlay mounts: option construction (pure, unit-tested with the fake
//! [`Mounter`]), mounting and unmounting.
//!
//! Features: every mount passes `redirect_dir=off,metacopy=off,index=off` so the upper
//! dir is always a self-contained diff: a renamed lower dir is copied up in full
//! (rename returns EXDEV and tools fall back to copy+delete) and a chmod copies the
//! data too, so [`crate::diff_upper`] never meets redirect or metacopy entries.
//!
//! The lowerdir limit: the whole option string must fit in one page. When the
//! plain absolute form is too long, strata creates an aux dir beside the work dir
//! (`<work>.aux/l/<n>` symlinks to each lower, like Docker's overlay2 `l/` dir) and
//! mounts with `lowerdir=l/0:l/1:...` from a thread chdir'd into the aux dir (see
//! [`MountRequest::cwd`]). The symlinks are removed once the mount is made.
//! An empty lower list (FROM scratch) uses the empty dir `<work>.aux/empty`.

use std::fs;
use std::path::{Path, PathBuf};

use tracing::{debug, warn};

use crate::error::{io_err, Error, Result};
use crate::mounter::{MountRequest, Mounter};

/// Feature options appended to every overlay mount.
pub const OVERLAY_FEATURES: &str = "redirect_dir=off,metacopy=off,index=off";

/// The same inside a user namespace (rootless), where the kernel refuses `redirect_dir=off`
/// with EPERM; `nofollow` also never creates redirects (nor follows them).
pub const OVERLAY_FEATURES_USERNS: &str = "redirect_dir=nofollow,metacopy=off,index=off";

/// The feature options for a mount made by this process.
pub fn overlay_features() -> &'static str {
    let map = fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    if is_initial_uid_map(&map) {
        OVERLAY_FEATURES
    } else {
        OVERLAY_FEATURES_USERNS
    }
}

/// Whether a `uid_map` is the initial user namespace's (the identity over every id).
fn is_initial_uid_map(map: &str) -> bool {
    let fields: Vec<&str> = map.split_whitespace().collect();
    fields.is_empty() || fields == ["0", "0", "4294967295"]
}

/// The dirs of one overlay mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayDirs<'a> {
    /// Lower dirs, top-most first. May be empty.
    pub lowers: &'a [PathBuf],
    /// The writable upper dir.
    pub upper: &'a Path,
    /// overlay's work dir (same filesystem as `upper`, empty).
    pub work: &'a Path,
    /// The mount point.
    pub target: &'a Path,
}

/// The mount(2) data plus the short lower names needed to make it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayPlan {
    /// What to pass to the [`Mounter`].
    pub request: MountRequest,
    /// `(link name, lower)` symlinks to create in the aux dir before mounting.
    pub links: Vec<(String, PathBuf)>,
    /// Whether the empty lower dir is used (no lowers given).
    pub uses_empty_lower: bool,
}

/// The aux dir that holds short lower links and the empty lower: `<work>.aux`.
pub fn aux_dir(work: &Path) -> PathBuf {
    let mut name = work.file_name().unwrap_or_default().to_os_string();
    name.push(".aux");
    work.with_file_name(name)
}

/// Escapes `\`, `,` and `:` the way overlayfs parses its options.
fn escape(path: &Path) -> String {
    let s = path.to_string_lossy();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | ':') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn options(lowerdir: &str, dirs: &OverlayDirs<'_>) -> String {
    format!(
        "lowerdir={lowerdir},upperdir={},workdir={},{}",
        escape(dirs.upper),
        escape(dirs.work),
        overlay_features()
    )
}

/// Plans the mount: absolute lowers when they fit in `limit` bytes, else short
/// symlinks in the aux dir mounted from a chdir'd thread.
pub fn plan_overlay(dirs: &OverlayDirs<'_>, limit: usize) -> Result<OverlayPlan> {
    let aux = aux_dir(dirs.work);
    let empty = [aux.join("empty")];
    let uses_empty_lower = dirs.lowers.is_empty();
    let lowers = if uses_empty_lower {
        &empty[..]
    } else {
        dirs.lowers
    };
    let absolute: Vec<String> = lowers.iter().map(|l| escape(l)).collect();
    let data = options(&absolute.join(":"), dirs);
    let mut request = MountRequest {
        source: "overlay".into(),
        target: dirs.target.to_path_buf(),
        fstype: "overlay".into(),
        data,
        cwd: None,
    };
    if request.data.len() < limit {
        return Ok(OverlayPlan {
            request,
            links: Vec::new(),
            uses_empty_lower,
        });
    }
    let links: Vec<(String, PathBuf)> = lowers
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("l/{i}"), l.clone()))
        .collect();
    let short: Vec<&str> = links.iter().map(|(n, _)| n.as_str()).collect();
    request.data = options(&short.join(":"), dirs);
    if request.data.len() >= limit {
        return Err(Error::OptionsTooLong {
            len: request.data.len(),
            limit,
        });
    }
    request.cwd = Some(aux);
    Ok(OverlayPlan {
        request,
        links,
        uses_empty_lower,
    })
}

/// The kernel's limit on mount data: one page.
pub fn page_size() -> usize {
    rustix::param::page_size()
}

/// Mounts an overlay of `dirs` with `mounter`, creating the aux links when needed.
pub fn mount_overlay(mounter: &dyn Mounter, dirs: &OverlayDirs<'_>) -> Result<()> {
    let plan = plan_overlay(dirs, page_size())?;
    let aux = aux_dir(dirs.work);
    prepare_aux(&aux, &plan)?;
    debug!(target = %dirs.target.display(), options = %plan.request.data, "mounting overlay");
    let result = mounter.mount(&plan.request).map_err(|source| Error::Mount {
        target: dirs.target.to_path_buf(),
        options: plan.request.data.clone(),
        source,
    });
    remove_links(&aux, &plan);
    result
}

fn prepare_aux(aux: &Path, plan: &OverlayPlan) -> Result<()> {
    if plan.uses_empty_lower {
        let empty = aux.join("empty");
        fs::create_dir_all(&empty).map_err(io_err("create", &empty))?;
    }
    for (name, lower) in &plan.links {
        let link = aux.join(name);
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(lower, &link).map_err(io_err("symlink", &link))?;
    }
    Ok(())
}

fn remove_links(aux: &Path, plan: &OverlayPlan) {
    if !plan.links.is_empty() {
        let dir = aux.join("l");
        if let Err(e) = fs::remove_dir_all(&dir) {
            warn!(dir = %dir.display(), error = %e, "failed to remove lower links");
        }
    }
}

/// Unmounts `target` (lazily when busy) and removes the aux dir of `work`.
pub fn unmount_overlay(mounter: &dyn Mounter, target: &Path, work: &Path) -> Result<()> {
    debug!(target = %target.display(), "unmounting overlay");
    let result = match mounter.umount(target, false) {
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => mounter.umount(target, true),
        other => other,
    };
    result.map_err(|source| Error::Unmount {
        target: target.to_path_buf(),
        source,
    })?;
    let aux = aux_dir(work);
    match fs::remove_dir_all(&aux) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("remove", aux)(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_namespace_gets_nofollow_redirects() {
        assert!(is_initial_uid_map("         0          0 4294967295\n"));
        assert!(!is_initial_uid_map("0 1000 1\n1 200000 65535\n"));
        assert!(OVERLAY_FEATURES_USERNS.contains("redirect_dir=nofollow"));
    }
    use crate::mounter::{MountCall, RecordingMounter};

    fn dirs<'a>(
        lowers: &'a [PathBuf],
        base: &'a Path,
    ) -> (PathBuf, PathBuf, PathBuf, &'a [PathBuf]) {
        (
            base.join("upper"),
            base.join("work"),
            base.join("merged"),
            lowers,
        )
    }

    #[test]
    fn short_lowers_use_absolute_paths_and_feature_options() {
        let lowers = vec![PathBuf::from("/s/b"), PathBuf::from("/s/a")];
        let (u, w, t, l) = dirs(&lowers, Path::new("/m"));
        let d = OverlayDirs {
            lowers: l,
            upper: &u,
            work: &w,
            target: &t,
        };
        let plan = plan_overlay(&d, 4096).unwrap();
        assert_eq!(
            plan.request.data,
            "lowerdir=/s/b:/s/a,upperdir=/m/upper,workdir=/m/work,redirect_dir=off,metacopy=off,index=off"
        );
        assert_eq!(plan.request.cwd, None);
        assert!(plan.links.is_empty());
        assert_eq!(plan.request.fstype, "overlay");
    }

    #[test]
    fn long_lowers_switch_to_short_links_from_the_aux_dir() {
        let lowers: Vec<PathBuf> = (0..80)
            .map(|i| PathBuf::from(format!("/var/lib/strata/snapshots/sha256/{i:064}")))
            .collect();
        let (u, w, t, l) = dirs(&lowers, Path::new("/m"));
        let d = OverlayDirs {
            lowers: l,
            upper: &u,
            work: &w,
            target: &t,
        };
        let plan = plan_overlay(&d, 4096).unwrap();
        assert!(plan.request.data.starts_with("lowerdir=l/0:l/1:l/2:"));
        assert!(plan.request.data.contains("l/79,upperdir=/m/upper"));
        assert_eq!(plan.request.cwd.as_deref(), Some(Path::new("/m/work.aux")));
        assert_eq!(plan.links.len(), 80);
        assert_eq!(plan.links[79].1, lowers[79]);
    }

    #[test]
    fn too_many_lowers_even_for_links_is_an_error() {
        let lowers: Vec<PathBuf> = (0..2000).map(|i| PathBuf::from(format!("/{i}"))).collect();
        let (u, w, t, l) = dirs(&lowers, Path::new("/m"));
        let d = OverlayDirs {
            lowers: l,
            upper: &u,
            work: &w,
            target: &t,
        };
        let err = plan_overlay(&d, 4096).unwrap_err();
        assert!(
            matches!(err, Error::OptionsTooLong { limit: 4096, .. }),
            "{err}"
        );
    }

    #[test]
    fn empty_lowers_use_the_empty_aux_dir() {
        let (u, w, t, l) = dirs(&[], Path::new("/m"));
        let d = OverlayDirs {
            lowers: l,
            upper: &u,
            work: &w,
            target: &t,
        };
        let plan = plan_overlay(&d, 4096).unwrap();
        assert!(plan.uses_empty_lower);
        assert!(plan.request.data.starts_with("lowerdir=/m/work.aux/empty,"));
    }

    #[test]
    fn special_characters_are_escaped() {
        let lowers = vec![PathBuf::from("/a:b,c")];
        let (u, w, t, l) = dirs(&lowers, Path::new("/m"));
        let d = OverlayDirs {
            lowers: l,
            upper: &u,
            work: &w,
            target: &t,
        };
        let plan = plan_overlay(&d, 4096).unwrap();
        assert!(plan
            .request
            .data
            .starts_with("lowerdir=/a\\:b\\,c,upperdir"));
    }

    #[test]
    fn mount_with_fake_creates_links_then_removes_them() {
        let tmp = tempfile::tempdir().unwrap();
        let lowers: Vec<PathBuf> = (0..80)
            .map(|i| tmp.path().join(format!("{i:0100}")))
            .collect();
        let (u, w, t, l) = dirs(&lowers, tmp.path());
        let d = OverlayDirs {
            lowers: l,
            upper: &u,
            work: &w,
            target: &t,
        };
        let fake = RecordingMounter::new();
        mount_overlay(&fake, &d).unwrap();
        let calls = fake.calls();
        let MountCall::Mount(req) = &calls[0] else {
            panic!("{calls:?}")
        };
        assert_eq!(req.cwd.as_deref(), Some(aux_dir(&w).as_path()));
        assert!(
            !aux_dir(&w).join("l").exists(),
            "links are removed after mounting"
        );
    }

    #[test]
    fn busy_unmount_retries_lazily() {
        let tmp = tempfile::tempdir().unwrap();
        let fake = RecordingMounter::new();
        fake.fail_with(libc::EBUSY);
        let err = unmount_overlay(&fake, &tmp.path().join("t"), &tmp.path().join("w")).unwrap_err();
        assert!(matches!(err, Error::Unmount { .. }));
        let calls = fake.calls();
        assert_eq!(calls.len(), 2);
        assert!(matches!(calls[1], MountCall::Umount { detach: true, .. }));
    }

    #[test]
    fn failed_mount_reports_target_and_options() {
        let tmp = tempfile::tempdir().unwrap();
        let (u, w, t, l) = dirs(&[], tmp.path());
        let d = OverlayDirs {
            lowers: l,
            upper: &u,
            work: &w,
            target: &t,
        };
        let fake = RecordingMounter::new();
        fake.fail_with(libc::EINVAL);
        let msg = mount_overlay(&fake, &d).unwrap_err().to_string();
        assert!(
            msg.contains("failed to mount overlay on") && msg.contains("lowerdir="),
            "{msg}"
        );
    }
}
