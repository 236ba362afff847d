//! ELF binaries: Go build info and `cargo auditable` data, read from a spooled copy of
//! the binary with `object` (headers and the two small sections only, read lazily).

use std::fs::File;

use object::{Object, ObjectSection, ObjectSegment, ReadCache, ReadRef};

use super::golang::{self, GoError, Memory};
use super::rust::{self, RustError};
use crate::sbom::package::Cataloged;

/// The ELF magic, sniffed on a file's first bytes.
pub const MAGIC: &[u8] = b"\x7fELF";
/// Larger sections than this are not read (both are a few KiB in practice).
const MAX_SECTION: u64 = 16 << 20;

/// Why a binary could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("not a readable ELF file: {0}")]
    Object(#[from] object::Error),
    #[error("section {0} is larger than 16 MiB")]
    Section(&'static str),
    #[error(transparent)]
    Go(#[from] GoError),
    #[error(transparent)]
    Rust(#[from] RustError),
}

/// The Go modules and Rust crates a binary says it was built from (empty for others).
pub fn scan(file: &File) -> Result<Vec<Cataloged>, ElfError> {
    let cache = ReadCache::new(file);
    let obj = object::File::parse(&cache)?;
    let mut out = Vec::new();
    if let Some(data) = section(&obj, ".go.buildinfo")? {
        if data.starts_with(golang::MAGIC) {
            let info = golang::decode(data, &Segments(&obj))?;
            out.extend(golang::packages(&info));
        }
    }
    if let Some(data) = section(&obj, rust::SECTION)? {
        out.extend(rust::packages(data)?);
    }
    Ok(out)
}

fn section<'d, R: ReadRef<'d>>(
    obj: &object::File<'d, R>,
    name: &'static str,
) -> Result<Option<&'d [u8]>, ElfError> {
    let Some(s) = obj.section_by_name(name) else {
        return Ok(None);
    };
    if s.size() > MAX_SECTION {
        return Err(ElfError::Section(name));
    }
    Ok(Some(s.data()?))
}

/// The binary's memory as its loadable segments map it.
struct Segments<'a, 'd, R: ReadRef<'d>>(&'a object::File<'d, R>);

impl<'d, R: ReadRef<'d>> Memory for Segments<'_, 'd, R> {
    fn read(&self, addr: u64, len: u64) -> Option<Vec<u8>> {
        self.0
            .segments()
            .find_map(|s| s.data_range(addr, len).ok().flatten())
            .map(<[u8]>::to_vec)
    }
}
