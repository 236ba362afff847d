//! The OS boundary for mounting: a [`Mounter`] trait with the real
//! [`LinuxMounter`] and a [`RecordingMounter`] fake for unit tests (youki's
//! `Syscall` pattern).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One mount(2) call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRequest {
    /// Source (for overlay: `"overlay"`).
    pub source: String,
    /// Mount point.
    pub target: PathBuf,
    /// Filesystem type.
    pub fstype: String,
    /// The comma-separated option string passed as mount data.
    pub data: String,
    /// When set, the mount is done with this as the working directory, so relative
    /// paths in `data` resolve against it. The real mounter changes the directory
    /// only in a short-lived thread that first unshares its fs context
    /// (`unshare(CLONE_FS)`), so the process's cwd never moves.
    pub cwd: Option<PathBuf>,
}

/// Mount and unmount, behind a trait so option building is testable without root.
pub trait Mounter: Send + Sync + std::fmt::Debug {
    /// Performs the mount.
    fn mount(&self, req: &MountRequest) -> io::Result<()>;
    /// Unmounts `target`; `detach` requests a lazy (MNT_DETACH) unmount.
    fn umount(&self, target: &Path, detach: bool) -> io::Result<()>;
}

/// The real mounter: mount(2) and umount2(2) through rustix.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinuxMounter;

impl Mounter for LinuxMounter {
    fn mount(&self, req: &MountRequest) -> io::Result<()> {
        match &req.cwd {
            None => raw_mount(req),
            Some(cwd) => mount_in_dir(req, cwd),
        }
    }

    fn umount(&self, target: &Path, detach: bool) -> io::Result<()> {
        use rustix::mount::UnmountFlags;
        let flags = if detach {
            UnmountFlags::DETACH
        } else {
            UnmountFlags::empty()
        };
        rustix::mount::unmount(target, flags).map_err(io::Error::from)
    }
}

fn raw_mount(req: &MountRequest) -> io::Result<()> {
    rustix::mount::mount(
        req.source.as_str(),
        &req.target,
        req.fstype.as_str(),
        rustix::mount::MountFlags::empty(),
        req.data.as_str(),
    )
    .map_err(io::Error::from)
}

/// Mounts from a thread whose fs context (cwd) is private, then chdirs there.
fn mount_in_dir(req: &MountRequest, cwd: &Path) -> io::Result<()> {
    let req = req.clone();
    let cwd = cwd.to_path_buf();
    std::thread::spawn(move || -> io::Result<()> {
        rustix::thread::unshare(rustix::thread::UnshareFlags::FS)?;
        rustix::process::chdir(&cwd)?;
        raw_mount(&req)
    })
    .join()
    .map_err(|_| io::Error::other("mount thread panicked"))?
}

/// One recorded call of the [`RecordingMounter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountCall {
    /// A mount.
    Mount(MountRequest),
    /// An unmount.
    Umount { target: PathBuf, detach: bool },
}

/// A fake that records calls and succeeds (or fails with a chosen errno).
#[derive(Debug, Default)]
pub struct RecordingMounter {
    calls: Mutex<Vec<MountCall>>,
    fail_with: Mutex<Option<i32>>,
}

impl RecordingMounter {
    /// A fake whose calls all succeed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later call fail with `errno`.
    pub fn fail_with(&self, errno: i32) {
        *self.fail_with.lock().unwrap() = Some(errno);
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<MountCall> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, call: MountCall) -> io::Result<()> {
        self.calls.lock().unwrap().push(call);
        match *self.fail_with.lock().unwrap() {
            Some(errno) => Err(io::Error::from_raw_os_error(errno)),
            None => Ok(()),
        }
    }
}

impl Mounter for RecordingMounter {
    fn mount(&self, req: &MountRequest) -> io::Result<()> {
        self.record(MountCall::Mount(req.clone()))
    }

    fn umount(&self, target: &Path, detach: bool) -> io::Result<()> {
        self.record(MountCall::Umount {
            target: target.to_path_buf(),
            detach,
        })
    }
}

/// Whether `path` is a mount point according to `/proc/self/mountinfo`.
pub fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut points = mount_points(&info);
    points.any(|p| p == path)
}

/// Mount points listed in a mountinfo text (field 5, octal escapes decoded).
pub fn mount_points(mountinfo: &str) -> impl Iterator<Item = PathBuf> + '_ {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape_mountinfo(field)))
}

fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_points_decode_octal_escapes() {
        let info = "36 35 98:0 / /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw\n\
                    37 35 98:0 / /proc rw - proc proc rw\n";
        let points: Vec<_> = mount_points(info).collect();
        assert_eq!(
            points,
            vec![PathBuf::from("/mnt/a b"), PathBuf::from("/proc")]
        );
    }

    #[test]
    fn recording_mounter_records_and_fails_on_demand() {
        let m = RecordingMounter::new();
        m.umount(Path::new("/x"), true).unwrap();
        m.fail_with(libc::EBUSY);
        let err = m.umount(Path::new("/y"), false).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBUSY));
        assert_eq!(m.calls().len(), 2);
    }
}
