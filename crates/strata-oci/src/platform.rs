//! The `os/arch[/variant]` grammar of `--platform` (docker's and containerd's), the host's
//! platform, and which entry of an index a platform picks.
//!
//! Names are normalised as containerd's `platforms.Normalize` does: `x86_64`/`x86-64` →
//! `amd64`, `aarch64` → `arm64` (its `v8` variant is the default and dropped), `armhf` →
//! `arm/v7`, `armel` → `arm/v6`, `i386` → `386`; a bare `arm` means `arm/v7`.

use std::fmt;
use std::str::FromStr;

use crate::config::host_architecture;
use crate::manifest::Platform;

/// Why a `--platform` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error(
        "invalid platform {input:?}: expected os/arch[/variant], like linux/amd64 or linux/arm/v7"
    )]
    Syntax { input: String },
}

impl FromStr for Platform {
    type Err = PlatformError;

    /// `os/arch[/variant]`, lower-cased and normalised (see the module docs).
    fn from_str(input: &str) -> Result<Platform, PlatformError> {
        let err = || PlatformError::Syntax {
            input: input.to_owned(),
        };
        let lower = input.to_ascii_lowercase();
        let parts: Vec<&str> = lower.split('/').collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| valid(p)) {
            return Err(err());
        }
        Ok(Platform::normalized(
            parts[0],
            parts[1],
            parts.get(2).copied(),
        ))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl Platform {
    /// A platform with containerd's normalised names.
    pub fn normalized(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        let os = match os {
            "macos" => "darwin",
            other => other,
        };
        let (arch, variant) = match (arch, variant) {
            ("i386", v) => ("386", v),
            ("x86_64" | "x86-64" | "amd64", None | Some("v1")) => ("amd64", None),
            ("x86_64" | "x86-64", v) => ("amd64", v),
            ("aarch64" | "arm64", None | Some("v8" | "8")) => ("arm64", None),
            ("aarch64", v) => ("arm64", v),
            ("armhf", _) | ("arm", None) => ("arm", Some("v7")),
            ("armel", _) => ("arm", Some("v6")),
            (a, v) => (a, v),
        };
        let variant = variant.filter(|v| !v.is_empty()).map(|v| match arch {
            // "arm/7" is "arm/v7".
            "arm" if !v.starts_with('v') => format!("v{v}"),
            _ => v.to_owned(),
        });
        Platform {
            architecture: arch.to_owned(),
            os: os.to_owned(),
            variant,
        }
    }

    /// The platform strata runs on (`linux/<GOARCH>`, `arm` as `arm/v7`).
    pub fn host() -> Platform {
        Platform::normalized("linux", host_architecture(), None)
    }

    /// Whether an index entry for `candidate` serves a request for `self`: same OS and
    /// architecture (normalised), and the same variant when `self` names one. An `arm64`
    /// entry without a variant is `v8`; a bare `arm` request is `arm/v7`.
    pub fn matches(&self, candidate: &Platform) -> bool {
        let c = Platform::normalized(
            &candidate.os,
            &candidate.architecture,
            candidate.variant.as_deref(),
        );
        if c.os != self.os || c.architecture != self.architecture {
            return false;
        }
        match &self.variant {
            None => true,
            Some(v) => c.variant.as_deref() == Some(v) || (c.variant.is_none() && v == "v7"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_normalises_like_containerd() {
        assert_eq!(p("linux/amd64").to_string(), "linux/amd64");
        assert_eq!(p("Linux/X86_64").to_string(), "linux/amd64");
        assert_eq!(p("linux/aarch64").to_string(), "linux/arm64");
        assert_eq!(p("linux/arm64/v8").to_string(), "linux/arm64");
        assert_eq!(p("linux/arm").to_string(), "linux/arm/v7");
        assert_eq!(p("linux/armhf").to_string(), "linux/arm/v7");
        assert_eq!(p("linux/arm/v6").to_string(), "linux/arm/v6");
        assert_eq!(p("linux/i386").to_string(), "linux/386");
        assert_eq!(p("linux/ppc64le").to_string(), "linux/ppc64le");
    }

    #[test]
    fn refuses_what_is_not_os_arch() {
        for bad in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "linux/amd64/v1/x",
            "linux/a b",
        ] {
            assert_eq!(
                bad.parse::<Platform>(),
                Err(PlatformError::Syntax {
                    input: bad.to_owned()
                }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn matching() {
        let entry = |arch: &str, variant: Option<&str>| Platform {
            architecture: arch.to_owned(),
            os: "linux".to_owned(),
            variant: variant.map(str::to_owned),
        };
        assert!(p("linux/arm64").matches(&entry("arm64", Some("v8"))));
        assert!(p("linux/arm64").matches(&entry("arm64", None)));
        assert!(p("linux/arm/v7").matches(&entry("arm", Some("v7"))));
        assert!(p("linux/arm/v7").matches(&entry("arm", None)));
        assert!(!p("linux/arm/v6").matches(&entry("arm", Some("v7"))));
        assert!(!p("linux/amd64").matches(&entry("arm64", None)));
        assert!(!p("windows/amd64").matches(&entry("amd64", None)));
        assert!(p("linux/amd64").matches(&entry("amd64", None)));
    }
}
