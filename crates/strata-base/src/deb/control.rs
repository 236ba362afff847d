//! The control archive: the `control` stanza and the other members dpkg keeps under
//! `/var/lib/dpkg/info/<pkg>.<member>` (`md5sums`, `conffiles`, maintainer scripts,
//! `triggers`, `shlibs`, `symbols`, `templates`, `config`).

use std::collections::BTreeMap;
use std::io::{self, Read};

/// A control archive's members.
#[derive(Debug, Clone, Default)]
pub struct ControlArchive {
    /// The `control` file's text.
    pub control: String,
    /// Every other member by name, with its bytes and permission bits.
    pub members: BTreeMap<String, (Vec<u8>, u32)>,
}

impl ControlArchive {
    pub(super) fn read(compressed: Vec<u8>) -> io::Result<ControlArchive> {
        let tar = super::decompress(compressed)?;
        let mut archive = tar::Archive::new(&tar[..]);
        let mut out = ControlArchive::default();
        let mut found = false;
        for entry in archive.entries()? {
            let mut entry = entry?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry
                .path()?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_owned();
            let mode = entry.header().mode()? & 0o7777;
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            if name == "control" {
                out.control = String::from_utf8(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                found = true;
            } else if !name.contains('/') {
                out.members.insert(name, (bytes, mode));
            }
        }
        if !found {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the control archive has no control file",
            ));
        }
        Ok(out)
    }

    /// A field of the control stanza (first line only for multi-line fields).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.control.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (!l.starts_with([' ', '\t']) && k.eq_ignore_ascii_case(name)).then(|| v.trim())
        })
    }

    /// The conffiles this package declares (absolute paths), `remove-on-upgrade` ones left out.
    pub fn conffiles(&self) -> Vec<String> {
        let Some((bytes, _)) = self.members.get("conffiles") else {
            return Vec::new();
        };
        String::from_utf8_lossy(bytes)
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('/'))
            .map(str::to_owned)
            .collect()
    }

    /// `md5sums`: relative path (`usr/bin/x`) → hex md5.
    pub fn md5sums(&self) -> BTreeMap<String, String> {
        let Some((bytes, _)) = self.members.get("md5sums") else {
            return BTreeMap::new();
        };
        String::from_utf8_lossy(bytes)
            .lines()
            .filter_map(|l| {
                let (sum, path) = l.split_once(char::is_whitespace)?;
                Some((
                    path.trim_start().trim_start_matches('/').to_owned(),
                    sum.to_owned(),
                ))
            })
            .collect()
    }
}
