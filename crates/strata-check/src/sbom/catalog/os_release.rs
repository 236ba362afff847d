//! `/etc/os-release` (else `/usr/lib/os-release`): the distribution, for the purls of
//! system packages (`distro=debian-12`, `pkg:apk/alpine/…`).

/// The distribution an image runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distro {
    /// `ID` (`debian`, `alpine`, `ubuntu`).
    pub id: String,
    /// `VERSION_ID` (`12`, `3.19.1`).
    pub version_id: String,
}

impl Distro {
    /// `debian-12`, or empty when unknown.
    pub fn qualifier(&self) -> String {
        match (self.id.is_empty(), self.version_id.is_empty()) {
            (true, _) => String::new(),
            (false, true) => self.id.clone(),
            (false, false) => format!("{}-{}", self.id, self.version_id),
        }
    }
}

/// Reads `KEY=value` lines (values maybe quoted).
pub fn parse(text: &str) -> Distro {
    let mut d = Distro::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "ID" => d.id = v,
            "VERSION_ID" => d.version_id = v,
            _ => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn debian_12() {
        let d = super::parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n",
        );
        assert_eq!(d.qualifier(), "debian-12");
    }
}
