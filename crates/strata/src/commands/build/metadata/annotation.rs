//! `--annotation`: buildx's `[TYPE[PLATFORM]:]KEY=VALUE`. strata builds one image manifest
//! per build, so the manifest is the only place an annotation can go: `manifest:` (or no
//! prefix) is taken, the other buildx types (`index`, `manifest-descriptor`,
//! `index-descriptor`) and platform selectors are refused by name.

use std::str::FromStr;

/// One `--annotation` flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub key: String,
    pub value: String,
}

/// buildx's annotation types strata has no place for.
const OTHER_TYPES: [&str; 3] = ["index", "manifest-descriptor", "index-descriptor"];

impl FromStr for Annotation {
    type Err = String;

    fn from_str(s: &str) -> Result<Annotation, String> {
        let Some((key, value)) = s.split_once('=') else {
            return Err(format!("{s:?} is not KEY=VALUE"));
        };
        let key = strip_type(key)?;
        if key.is_empty() {
            return Err(format!("{s:?}: the key is empty"));
        }
        Ok(Annotation {
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }
}

/// The key without buildx's `TYPE[PLATFORM]:` prefix; only `manifest` is supported.
fn strip_type(key: &str) -> Result<&str, String> {
    let Some((prefix, rest)) = key.split_once(':') else {
        return Ok(key);
    };
    let (kind, platform) = match prefix.split_once('[') {
        Some((kind, platform)) => (kind, Some(platform.trim_end_matches(']'))),
        None => (prefix, None),
    };
    if kind == "manifest" {
        if let Some(p) = platform {
            return Err(format!(
                "{key:?}: platform-specific annotations ([{p}]) are not supported: strata \
                 builds one platform, give manifest:KEY=VALUE"
            ));
        }
        return Ok(rest);
    }
    if OTHER_TYPES.contains(&kind) {
        return Err(format!(
            "{key:?}: {kind} annotations are not supported: strata builds a single image \
             manifest (no index), give KEY=VALUE or manifest:KEY=VALUE"
        ));
    }
    // Not a buildx type: a key that contains ':' itself.
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Result<Annotation, String> {
        s.parse()
    }

    fn ok(key: &str, value: &str) -> Result<Annotation, String> {
        Ok(Annotation {
            key: key.into(),
            value: value.into(),
        })
    }

    #[test]
    fn buildx_forms() {
        assert_eq!(a("org.x=1"), ok("org.x", "1"));
        assert_eq!(a("manifest:org.x=a=b"), ok("org.x", "a=b"));
        assert_eq!(a("org.x="), ok("org.x", ""));
        assert_eq!(a("urn:x=1"), ok("urn:x", "1"));
    }

    #[test]
    fn refused_forms_say_why() {
        for bad in [
            "index:org.x=1",
            "manifest-descriptor:org.x=1",
            "index-descriptor:org.x=1",
        ] {
            let e = a(bad).unwrap_err();
            assert!(e.contains("annotations are not supported"), "{e}");
        }
        assert!(a("manifest[linux/amd64]:org.x=1")
            .unwrap_err()
            .contains("platform-specific"));
        assert!(a("org.x").unwrap_err().contains("not KEY=VALUE"));
        assert!(a("=1").unwrap_err().contains("key is empty"));
        assert!(a("manifest:=1").unwrap_err().contains("key is empty"));
    }
}
