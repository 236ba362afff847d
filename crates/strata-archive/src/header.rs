//! Byte-exact ustar/PAX header encoding, in the shape Go's `archive/tar`
//! (and so BuildKit/containerd) writes: empty uname/gname, zero-padded octal
//! fields ending in NUL, a PAX `x` header (records sorted by key, name
//! `<dir>/PaxHeaders.0/<base>`) only when a value does not fit ustar.

use std::collections::BTreeMap;

pub(crate) const BLOCK: usize = 512;
const MAX_OCTAL_7: u64 = 0o7777777;
const MAX_OCTAL_11: u64 = 0o77777777777;

pub(crate) const TYPE_FILE: u8 = b'0';
pub(crate) const TYPE_LINK: u8 = b'1';
pub(crate) const TYPE_SYMLINK: u8 = b'2';
pub(crate) const TYPE_CHAR: u8 = b'3';
pub(crate) const TYPE_BLOCK: u8 = b'4';
pub(crate) const TYPE_DIR: u8 = b'5';
pub(crate) const TYPE_FIFO: u8 = b'6';
const TYPE_PAX: u8 = b'x';

/// The fields of one tar header, already normalised by the writer.
pub(crate) struct HeaderFields<'a> {
    pub name: &'a str,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub linkname: &'a str,
    pub devmajor: u32,
    pub devminor: u32,
    pub xattrs: &'a BTreeMap<String, Vec<u8>>,
}

fn fits_ustar_str(s: &str, max: usize) -> bool {
    s.len() <= max && s.is_ascii()
}

/// Appends the header blocks for `h` (PAX header + data when needed, then
/// the ustar header) to `out`.
pub(crate) fn encode(h: &HeaderFields<'_>, out: &mut Vec<u8>) {
    let mut pax: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    if !fits_ustar_str(h.name, 100) {
        pax.insert("path".into(), h.name.as_bytes().to_vec());
    }
    if !fits_ustar_str(h.linkname, 100) {
        pax.insert("linkpath".into(), h.linkname.as_bytes().to_vec());
    }
    if h.size > MAX_OCTAL_11 {
        pax.insert("size".into(), h.size.to_string().into_bytes());
    }
    if u64::from(h.uid) > MAX_OCTAL_7 {
        pax.insert("uid".into(), h.uid.to_string().into_bytes());
    }
    if u64::from(h.gid) > MAX_OCTAL_7 {
        pax.insert("gid".into(), h.gid.to_string().into_bytes());
    }
    if h.mtime < 0 || h.mtime as u64 > MAX_OCTAL_11 {
        pax.insert("mtime".into(), h.mtime.to_string().into_bytes());
    }
    for (k, v) in h.xattrs {
        pax.insert(format!("SCHILY.xattr.{k}"), v.clone());
    }
    if !pax.is_empty() {
        write_pax(h.name, &pax, out);
    }
    let mut block = [0u8; BLOCK];
    put_str(&mut block[0..100], h.name);
    octal(&mut block[100..108], u64::from(h.mode & 0o7777));
    octal(&mut block[108..116], clamp(u64::from(h.uid), MAX_OCTAL_7));
    octal(&mut block[116..124], clamp(u64::from(h.gid), MAX_OCTAL_7));
    octal(&mut block[124..136], clamp(h.size, MAX_OCTAL_11));
    let mtime = if h.mtime < 0 { 0 } else { h.mtime as u64 };
    octal(&mut block[136..148], clamp(mtime, MAX_OCTAL_11));
    block[156] = h.typeflag;
    put_str(&mut block[157..257], h.linkname);
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    octal(
        &mut block[329..337],
        clamp(u64::from(h.devmajor), MAX_OCTAL_7),
    );
    octal(
        &mut block[337..345],
        clamp(u64::from(h.devminor), MAX_OCTAL_7),
    );
    checksum(&mut block);
    out.extend_from_slice(&block);
}

/// Values too big for ustar are written as 0; the PAX record carries them.
fn clamp(v: u64, max: u64) -> u64 {
    if v > max {
        0
    } else {
        v
    }
}

fn write_pax(name: &str, records: &BTreeMap<String, Vec<u8>>, out: &mut Vec<u8>) {
    let mut data = Vec::new();
    for (k, v) in records {
        pax_record(k, v, &mut data);
    }
    let trimmed = name.trim_end_matches('/');
    let pax_name = match trimmed.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/PaxHeaders.0/{base}"),
        None => format!("PaxHeaders.0/{trimmed}"),
    };
    let mut block = [0u8; BLOCK];
    put_str(&mut block[0..100], &pax_name);
    octal(&mut block[100..108], 0);
    octal(&mut block[108..116], 0);
    octal(&mut block[116..124], 0);
    octal(&mut block[124..136], data.len() as u64);
    octal(&mut block[136..148], 0);
    block[156] = TYPE_PAX;
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    octal(&mut block[329..337], 0);
    octal(&mut block[337..345], 0);
    checksum(&mut block);
    out.extend_from_slice(&block);
    out.extend_from_slice(&data);
    pad(out, data.len() as u64);
}

/// `"<len> <key>=<value>\n"` where `len` counts the whole record.
fn pax_record(key: &str, value: &[u8], out: &mut Vec<u8>) {
    let base = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = base + base.to_string().len();
    if len.to_string().len() > base.to_string().len() {
        len += 1;
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Zero bytes to pad `len` bytes of data to a whole block.
pub(crate) fn padding(len: u64) -> usize {
    let rem = (len % BLOCK as u64) as usize;
    if rem == 0 {
        0
    } else {
        BLOCK - rem
    }
}

pub(crate) fn pad(out: &mut Vec<u8>, len: u64) {
    out.resize(out.len() + padding(len), 0);
}

/// ASCII bytes of `s` (non-ASCII dropped), truncated to the field.
fn put_str(field: &mut [u8], s: &str) {
    for (slot, b) in field.iter_mut().zip(s.bytes().filter(u8::is_ascii)) {
        *slot = b;
    }
}

/// Zero-padded octal filling all but the last byte, which stays NUL.
fn octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let mut v = v;
    for i in (0..digits).rev() {
        field[i] = b'0' + (v & 7) as u8;
        v >>= 3;
    }
    field[digits] = 0;
}

fn checksum(block: &mut [u8; BLOCK]) {
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|b| u32::from(*b)).sum();
    octal(&mut block[148..155], u64::from(sum));
    block[155] = b' ';
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths() {
        let mut v = Vec::new();
        pax_record("path", b"a", &mut v);
        assert_eq!(v, b"9 path=a\n");
        v.clear();
        // The length prefix growing from 2 to 3 digits counts itself.
        pax_record("path", &[b'x'; 90], &mut v);
        assert_eq!(v.len(), 99);
        assert!(v.starts_with(b"99 path="));
        v.clear();
        pax_record("path", &[b'x'; 91], &mut v);
        assert_eq!(v.len(), 101);
        assert!(v.starts_with(b"101 path="));
    }

    #[test]
    fn ustar_header_fields() {
        let x = BTreeMap::new();
        let mut out = Vec::new();
        encode(
            &HeaderFields {
                name: "etc/passwd",
                typeflag: TYPE_FILE,
                mode: 0o104755,
                uid: 1000,
                gid: 1000,
                size: 5,
                mtime: 1_700_000_000,
                linkname: "",
                devmajor: 0,
                devminor: 0,
                xattrs: &x,
            },
            &mut out,
        );
        assert_eq!(out.len(), 512);
        assert_eq!(&out[100..108], b"0004755\0");
        assert_eq!(&out[108..116], b"0001750\0");
        assert_eq!(&out[124..136], b"00000000005\0");
        assert_eq!(&out[257..265], b"ustar\x0000");
        assert!(out[265..329].iter().all(|b| *b == 0), "uname/gname empty");
        let block: [u8; 512] = out[..].try_into().unwrap();
        assert!(crate::compression::is_tar_header(&block));
    }
}
