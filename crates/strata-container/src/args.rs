//! `-v` and `--mount` in docker's syntax (`-p` is `net::ports`).

use std::path::PathBuf;

use crate::error::{invalid, Result};
use crate::limits::parse_size;
use crate::spec::{Mount, MountType};

/// `-v SRC:DST[:ro|rw]` with an absolute host SRC (named volumes are not supported).
pub fn parse_volume(s: &str) -> Result<Mount> {
    let bad = |why: String| invalid("-v", format!("{s:?}: {why}"));
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [src, dst] => (*src, *dst, ""),
        [src, dst, mode] => (*src, *dst, *mode),
        _ => return Err(bad("expected SRC:DST[:ro|rw]".into())),
    };
    if !src.starts_with('/') {
        return Err(bad(format!(
            "{src:?} is not an absolute host path; named volumes are not supported"
        )));
    }
    let read_only = match mode {
        "" | "rw" => false,
        "ro" => true,
        other => return Err(bad(format!("unsupported mode {other:?} (ro or rw)"))),
    };
    bind(PathBuf::from(src), dst, read_only, "-v")
}

fn bind(source: PathBuf, dst: &str, read_only: bool, flag: &str) -> Result<Mount> {
    if !source.exists() {
        return Err(invalid(
            flag,
            format!("bind source path does not exist: {}", source.display()),
        ));
    }
    check_destination(dst, flag)?;
    Ok(Mount {
        kind: MountType::Bind,
        source,
        destination: dst.to_string(),
        read_only,
        tmpfs_size: None,
    })
}

fn check_destination(dst: &str, flag: &str) -> Result<()> {
    if !dst.starts_with('/') || dst.split('/').any(|c| c == "..") || dst == "/" {
        return Err(invalid(
            flag,
            format!(
                "invalid mount destination {dst:?}: an absolute path other than / without '..'"
            ),
        ));
    }
    Ok(())
}

/// `--mount type=bind|tmpfs,...` (docker's keys: `source|src`, `target|destination|dst`,
/// `readonly|ro[=true|false]`, `tmpfs-size`); `type=volume` is not supported.
pub fn parse_mount(s: &str) -> Result<Mount> {
    let bad = |why: String| invalid("--mount", format!("{s:?}: {why}"));
    let (mut kind, mut source, mut target, mut ro, mut size) = ("volume", None, None, false, None);
    for field in s.split(',') {
        let (k, v) = field
            .split_once('=')
            .map_or((field, None), |(k, v)| (k, Some(v)));
        match (k, v) {
            ("type", Some(t)) => kind = t,
            ("source" | "src", Some(v)) => source = Some(v),
            ("target" | "destination" | "dst", Some(v)) => target = Some(v),
            ("readonly" | "ro", None | Some("true" | "1")) => ro = true,
            ("readonly" | "ro", Some("false" | "0")) => ro = false,
            ("tmpfs-size", Some(v)) => size = Some(parse_size("--mount tmpfs-size", v)? as u64),
            _ => return Err(bad(format!("unsupported field {field:?}"))),
        }
    }
    let target = target.ok_or_else(|| bad("target is required".into()))?;
    match kind {
        "bind" => {
            let src = source.ok_or_else(|| bad("source is required for a bind mount".into()))?;
            if !src.starts_with('/') {
                return Err(bad(format!("source {src:?} must be an absolute path")));
            }
            bind(PathBuf::from(src), target, ro, "--mount")
        }
        "tmpfs" => {
            if source.is_some() {
                return Err(bad("a tmpfs mount takes no source".into()));
            }
            check_destination(target, "--mount")?;
            Ok(Mount {
                kind: MountType::Tmpfs,
                source: PathBuf::new(),
                destination: target.to_string(),
                read_only: ro,
                tmpfs_size: size,
            })
        }
        "volume" => Err(bad("named volumes (type=volume, the default type) are not supported: use type=bind or type=tmpfs".into())),
        other => Err(bad(format!("unknown mount type {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_and_mounts() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().display().to_string();
        let m = parse_volume(&format!("{src}:/data:ro")).unwrap();
        assert_eq!(
            (m.kind, m.destination.as_str(), m.read_only),
            (MountType::Bind, "/data", true)
        );
        assert!(parse_volume("named:/data")
            .unwrap_err()
            .to_string()
            .contains("named volumes"));
        assert!(parse_volume("/no/such/dir:/d")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(parse_volume(&format!("{src}:rel")).is_err());
        let m = parse_mount(&format!("type=bind,source={src},target=/d,readonly")).unwrap();
        assert!(m.read_only);
        let t = parse_mount("type=tmpfs,target=/t,tmpfs-size=64m").unwrap();
        assert_eq!((t.kind, t.tmpfs_size), (MountType::Tmpfs, Some(64 << 20)));
        let e = parse_mount("type=volume,source=v,target=/v")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not supported"), "{e}");
        assert!(parse_mount("target=/v").is_err());
        assert!(parse_mount("type=bind,source=/tmp").is_err());
    }
}
