//! Go: the build information the Go linker writes into every binary (`go version -m`):
//! a 32-byte header starting `\xff Go buildinf:` (in the `.go.buildinfo` section), then
//! the Go version and the module information, either inline (Go 1.18+: varint-prefixed
//! strings after the header) or, before, as two pointers to Go string headers elsewhere
//! in the binary's memory.

use crate::sbom::package::{Cataloged, PackageType};
use crate::sbom::purl;

/// The header's magic.
pub const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER: usize = 32;
const FLAG_BIG_ENDIAN: u8 = 1;
const FLAG_INLINE: u8 = 2;

/// Reads `len` bytes of the binary's memory at virtual address `addr`.
pub trait Memory {
    fn read(&self, addr: u64, len: u64) -> Option<Vec<u8>>;
}

/// A binary's build information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// `go1.19.8`.
    pub go_version: String,
    /// The `mod`, `dep` and `=>` lines, as `go version -m` prints them.
    pub modinfo: String,
}

/// Why build information could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GoError {
    #[error("Go build info header is truncated or has no magic")]
    Header,
    #[error("Go build info string at {0:#x} is outside the binary's memory")]
    Pointer(u64),
    #[error("Go build info has a truncated inline string")]
    Inline,
}

/// Decodes the build info blob `blob` (starting at the magic; the rest of the section).
/// `memory` resolves the pointers of the pre-1.18 format.
pub fn decode(blob: &[u8], memory: &dyn Memory) -> Result<BuildInfo, GoError> {
    if blob.len() < HEADER || !blob.starts_with(MAGIC) {
        return Err(GoError::Header);
    }
    let ptr_size = blob[14] as usize;
    let flags = blob[15];
    let (go_version, modinfo) = if flags & FLAG_INLINE != 0 {
        let (v, rest) = varint_string(&blob[HEADER..]).ok_or(GoError::Inline)?;
        let (m, _) = varint_string(rest).ok_or(GoError::Inline)?;
        (v, m)
    } else {
        if (ptr_size != 4 && ptr_size != 8) || blob.len() < 16 + 2 * ptr_size {
            return Err(GoError::Header);
        }
        let big = flags & FLAG_BIG_ENDIAN != 0;
        let word = |b: &[u8]| uint(b, ptr_size, big);
        let v_ptr = word(&blob[16..]);
        let m_ptr = word(&blob[16 + ptr_size..]);
        (
            go_string(memory, v_ptr, ptr_size, big)?,
            go_string(memory, m_ptr, ptr_size, big)?,
        )
    };
    Ok(BuildInfo {
        go_version: String::from_utf8_lossy(&go_version).into_owned(),
        modinfo: String::from_utf8_lossy(strip_sentinels(&modinfo)).into_owned(),
    })
}

fn uint(b: &[u8], size: usize, big: bool) -> u64 {
    let mut v = 0u64;
    for i in 0..size {
        let byte = if big { b[i] } else { b[size - 1 - i] };
        v = (v << 8) | u64::from(byte);
    }
    v
}

/// A Go string header (`ptr`, `len`) at `addr`, then the bytes it points to.
fn go_string(mem: &dyn Memory, addr: u64, ptr: usize, big: bool) -> Result<Vec<u8>, GoError> {
    let header = mem
        .read(addr, 2 * ptr as u64)
        .ok_or(GoError::Pointer(addr))?;
    let data = uint(&header, ptr, big);
    let len = uint(&header[ptr..], ptr, big);
    if len == 0 {
        return Ok(Vec::new());
    }
    if len > 16 << 20 {
        return Err(GoError::Pointer(data));
    }
    mem.read(data, len).ok_or(GoError::Pointer(data))
}

/// A uvarint-length-prefixed string and what follows it.
fn varint_string(b: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let byte = *b.get(i)?;
        i += 1;
        len |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let end = i.checked_add(usize::try_from(len).ok()?)?;
    Some((b.get(i..end)?.to_vec(), &b[end..]))
}

/// The module info is framed by two 16-byte sentinels (`cmd/go/internal/modload`).
fn strip_sentinels(m: &[u8]) -> &[u8] {
    if m.len() >= 33 && m[m.len() - 17] == b'\n' {
        &m[16..m.len() - 16]
    } else {
        m
    }
}

/// The packages of a binary: its main module, its dependencies (replacements applied)
/// and the standard library of its Go version (`stdlib`, as syft lists it).
/// A binary built outside module mode (GOPATH, as Debian builds) has no `mod` line: its
/// main package's `path` is listed instead, at version `(devel)`. A dependency replaced by
/// a local directory keeps its own path and version.
pub fn packages(info: &BuildInfo) -> Vec<Cataloged> {
    let mut out: Vec<Cataloged> = Vec::new();
    let mut main_path = None;
    let mut has_mod = false;
    for line in info.modinfo.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["path", path, ..] => main_path = Some(*path),
            ["mod", path, version, ..] => {
                has_mod = true;
                out.push(module(path, version));
            }
            ["dep", path, version, ..] => out.push(module(path, version)),
            ["=>", path, version, ..] if !is_local(path) => {
                if let Some(last) = out.last_mut() {
                    *last = module(path, version);
                }
            }
            _ => {}
        }
    }
    if let (false, Some(path)) = (has_mod, main_path) {
        out.insert(0, module(path, "(devel)"));
    }
    if let Some(v) = info.go_version.strip_prefix("go") {
        let v = v.split_whitespace().next().unwrap_or(v);
        out.push(Cataloged {
            name: "stdlib".into(),
            version: info
                .go_version
                .split_whitespace()
                .next()
                .unwrap_or("")
                .into(),
            kind: PackageType::Go,
            purl: purl::make("golang", None, "stdlib", v, &[]),
        });
    }
    out
}

/// A replacement by a directory (`=> ../lib`), not a module of a proxy.
fn is_local(path: &str) -> bool {
    path.starts_with('.') || path.starts_with('/')
}

fn module(path: &str, version: &str) -> Cataloged {
    Cataloged::simple(PackageType::Go, "golang", path, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoMemory;
    impl Memory for NoMemory {
        fn read(&self, _: u64, _: u64) -> Option<Vec<u8>> {
            None
        }
    }

    /// Memory made of one region at `base`.
    struct Region(u64, Vec<u8>);
    impl Memory for Region {
        fn read(&self, addr: u64, len: u64) -> Option<Vec<u8>> {
            let start = usize::try_from(addr.checked_sub(self.0)?).ok()?;
            self.1.get(start..start + len as usize).map(<[u8]>::to_vec)
        }
    }

    const MODINFO: &str = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgithub.com/a/b\tv1.2.3\th1:x=\ndep\tgolang.org/x/sys\tv0.1.0\th1:y=\n=>\tgolang.org/x/sys\tv0.2.0\th1:z=\nbuild\t-compiler=gc\n";

    fn framed() -> Vec<u8> {
        let mut m = vec![b'0'; 16];
        m.extend_from_slice(MODINFO.as_bytes());
        m.extend_from_slice(&[b'1'; 16]);
        m
    }

    fn header(ptr: u8, flags: u8) -> Vec<u8> {
        let mut h = MAGIC.to_vec();
        h.push(ptr);
        h.push(flags);
        h
    }

    fn check(info: BuildInfo) {
        assert_eq!(info.go_version, "go1.19.8");
        let got: Vec<_> = packages(&info).into_iter().map(|p| p.purl).collect();
        assert_eq!(
            got,
            [
                "pkg:golang/example.com/app@%28devel%29",
                "pkg:golang/github.com/a/b@v1.2.3",
                "pkg:golang/golang.org/x/sys@v0.2.0",
                "pkg:golang/stdlib@1.19.8",
            ]
        );
    }

    #[test]
    fn inline_format() {
        let mut blob = header(8, FLAG_INLINE);
        blob.resize(HEADER, 0);
        for s in [b"go1.19.8".to_vec(), framed()] {
            let mut n = s.len();
            while n >= 0x80 {
                blob.push((n as u8) | 0x80);
                n >>= 7;
            }
            blob.push(n as u8);
            blob.extend_from_slice(&s);
        }
        check(decode(&blob, &NoMemory).unwrap());
    }

    #[test]
    fn pointer_format_before_go_1_18() {
        // Memory at 0x1000: version header, modinfo header, then the two strings.
        let base = 0x1000u64;
        let version = b"go1.19.8".to_vec();
        let modinfo = framed();
        let v_data = base + 32;
        let m_data = v_data + version.len() as u64;
        let mut mem = Vec::new();
        for w in [v_data, version.len() as u64, m_data, modinfo.len() as u64] {
            mem.extend_from_slice(&w.to_le_bytes());
        }
        mem.extend_from_slice(&version);
        mem.extend_from_slice(&modinfo);
        let mut blob = header(8, 0);
        blob.extend_from_slice(&base.to_le_bytes());
        blob.extend_from_slice(&(base + 16).to_le_bytes());
        check(decode(&blob, &Region(base, mem)).unwrap());
        assert!(matches!(
            decode(&blob, &NoMemory),
            Err(GoError::Pointer(0x1000))
        ));
    }

    #[test]
    fn gopath_builds_list_their_main_package_and_local_replacements_keep_the_module() {
        let info = BuildInfo {
            go_version: "go1.19.8".into(),
            modinfo: "path\tgithub.com/docker/distribution/cmd/registry\nbuild\t-compiler=gc\n"
                .into(),
        };
        let got: Vec<_> = packages(&info).into_iter().map(|p| p.purl).collect();
        assert_eq!(
            got,
            [
                "pkg:golang/github.com/docker/distribution/cmd/registry@%28devel%29",
                "pkg:golang/stdlib@1.19.8"
            ]
        );
        let info = BuildInfo {
            go_version: "go1.19.8".into(),
            modinfo: "path\tex.com/a\nmod\tex.com/a\t(devel)\t\ndep\tex.com/lib\tv1.2.3\t\n=>\t../lib\t\t\n".into(),
        };
        let got: Vec<_> = packages(&info).into_iter().map(|p| p.purl).collect();
        assert_eq!(got[1], "pkg:golang/ex.com/lib@v1.2.3");
    }
}
