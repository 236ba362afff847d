//! Rust: the dependency list `cargo auditable` embeds in binaries, a zlib-compressed JSON
//! document in the ELF section `.dep-v0` (`{"packages":[{"name","version","source",…}]}`).

use std::io::Read;

use serde::Deserialize;

use crate::sbom::package::{Cataloged, PackageType};

/// The section's name.
pub const SECTION: &str = ".dep-v0";
/// Largest decompressed document read (cargo-auditable caps its own reader at 8 MiB).
const MAX_JSON: u64 = 8 << 20;

#[derive(Deserialize)]
struct VersionInfo {
    packages: Vec<AuditablePackage>,
}

#[derive(Deserialize)]
struct AuditablePackage {
    name: String,
    version: String,
}

/// Why a `.dep-v0` section could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RustError {
    #[error("{SECTION} is not zlib data: {0}")]
    Zlib(#[source] std::io::Error),
    #[error("{SECTION} decompresses to more than {MAX_JSON} bytes")]
    TooLarge,
    #[error("{SECTION} is not cargo-auditable JSON: {0}")]
    Json(#[source] serde_json::Error),
}

/// The packages of a `.dep-v0` section's bytes (the binary's own crate included).
pub fn packages(section: &[u8]) -> Result<Vec<Cataloged>, RustError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(RustError::Zlib)?;
    if json.len() as u64 > MAX_JSON {
        return Err(RustError::TooLarge);
    }
    let info: VersionInfo = serde_json::from_slice(&json).map_err(RustError::Json)?;
    Ok(info
        .packages
        .iter()
        .map(|p| Cataloged::simple(PackageType::Rust, "cargo", &p.name, &p.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn auditable_json() {
        let doc = br#"{"packages":[{"name":"demo","version":"0.1.0","source":"local","root":true,"dependencies":[1]},{"name":"itoa","version":"1.0.11","source":"crates.io"}]}"#;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(doc).unwrap();
        let got: Vec<_> = packages(&z.finish().unwrap())
            .unwrap()
            .into_iter()
            .map(|p| p.purl)
            .collect();
        assert_eq!(got, ["pkg:cargo/demo@0.1.0", "pkg:cargo/itoa@1.0.11"]);
        assert!(matches!(packages(b"not zlib"), Err(RustError::Zlib(_))));
    }
}
