//! Thin `rustix` wrappers for what `std` lacks: xattrs, mknod, lutimes, device
//! numbers. Every call works on the link itself, never following symlinks.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, Timespec, Timestamps, XattrFlags, CWD};
use rustix::io::Errno;

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn cname(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "xattr name contains a NUL byte",
        )
    })
}

/// Names of the extended attributes of `path` (not following symlinks).
pub fn list_xattrs(path: &Path) -> io::Result<Vec<String>> {
    let p = cpath(path)?;
    let mut buf = vec![0u8; 256];
    loop {
        match rustix::fs::llistxattr(p.as_c_str(), &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                break;
            }
            Err(Errno::RANGE) => {
                // An empty buffer asks for the needed size.
                let need = rustix::fs::llistxattr(p.as_c_str(), &mut [])?;
                buf = vec![0u8; need + 64];
            }
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(buf
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

/// The value of xattr `name` on `path` (not following symlinks); a missing
/// attribute is an error with `raw_os_error() == Some(libc::ENODATA)`.
pub fn get_xattr(path: &Path, name: &str) -> io::Result<Vec<u8>> {
    let p = cpath(path)?;
    let n = cname(name)?;
    let mut buf = vec![0u8; 256];
    loop {
        match rustix::fs::lgetxattr(p.as_c_str(), n.as_c_str(), &mut buf) {
            Ok(r) => {
                buf.truncate(r);
                return Ok(buf);
            }
            Err(Errno::RANGE) if buf.len() <= (1 << 20) => {
                let len = buf.len() * 8;
                buf = vec![0u8; len];
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Sets xattr `name` on `path` (not following symlinks).
pub fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let p = cpath(path)?;
    let n = cname(name)?;
    rustix::fs::lsetxattr(p.as_c_str(), n.as_c_str(), value, XattrFlags::empty())?;
    Ok(())
}

/// mknod(2): `kind` is one of `libc::S_IFCHR`, `S_IFBLK`, `S_IFIFO`.
pub fn mknod(path: &Path, kind: libc::mode_t, perm: u32, dev: u64) -> io::Result<()> {
    let p = cpath(path)?;
    let file_type = FileType::from_raw_mode(kind);
    let mode = Mode::from_raw_mode(perm & 0o7777);
    rustix::fs::mknodat(CWD, p.as_c_str(), file_type, mode, dev)?;
    Ok(())
}

/// Sets atime and mtime of `path` itself (symlinks included).
pub fn set_times_nofollow(path: &Path, secs: i64, nsecs: u32) -> io::Result<()> {
    let p = cpath(path)?;
    let t = Timespec {
        tv_sec: secs,
        tv_nsec: nsecs.min(999_999_999).into(),
    };
    let times = Timestamps {
        last_access: t,
        last_modification: t,
    };
    rustix::fs::utimensat(CWD, p.as_c_str(), &times, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// Whether the process runs with effective uid 0.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Linux `major(dev)`.
pub fn dev_major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

/// Linux `minor(dev)`.
pub fn dev_minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

/// Linux `makedev(major, minor)`.
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (u64::from(major), u64::from(minor));
    ((ma & 0xfff) << 8) | ((ma & !0xfff) << 32) | (mi & 0xff) | ((mi & !0xff) << 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_round_trip() {
        for (ma, mi) in [(0, 0), (1, 3), (8, 17), (259, 65536), (4095, 1 << 19)] {
            let d = makedev(ma, mi);
            assert_eq!((dev_major(d), dev_minor(d)), (ma, mi));
        }
        assert_eq!(makedev(1, 3), 0x103);
    }
}
