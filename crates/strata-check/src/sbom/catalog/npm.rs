//! npm: the `package.json` of every package under a `node_modules` directory (nested and
//! scoped ones too), and of the projects that install them (a directory with a
//! `node_modules` or a `package-lock.json`).

use serde::Deserialize;

use crate::sbom::package::{Cataloged, PackageType};
use crate::sbom::purl;

#[derive(Deserialize)]
struct Manifest {
    name: Option<String>,
    version: Option<String>,
}

/// The package a `package.json` names; `None` without a name and version (many files
/// inside packages are `package.json`s without them). Invalid JSON is an error.
pub fn parse(bytes: &[u8]) -> Result<Option<Cataloged>, serde_json::Error> {
    let m: Manifest = serde_json::from_slice(bytes)?;
    let (Some(name), Some(version)) = (m.name, m.version) else {
        return Ok(None);
    };
    if name.is_empty() || version.is_empty() {
        return Ok(None);
    }
    let (ns, base) = match name.split_once('/') {
        Some((scope, base)) if scope.starts_with('@') => (Some(scope), base),
        _ => (None, name.as_str()),
    };
    let purl = purl::make("npm", ns, base, &version, &[]);
    Ok(Some(Cataloged {
        name,
        version,
        kind: PackageType::Npm,
        purl,
    }))
}

/// Whether `path` is the `package.json` of a package in `node_modules`
/// (`…/node_modules/NAME/package.json`, `…/node_modules/@SCOPE/NAME/package.json`).
pub fn is_module_manifest(path: &str) -> bool {
    let parts: Vec<&str> = path.rsplitn(4, '/').collect();
    match parts.as_slice() {
        ["package.json", _, "node_modules", ..] => true,
        ["package.json", _, scope, rest] => {
            scope.starts_with('@') && (*rest == "node_modules" || rest.ends_with("/node_modules"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_manifests() {
        assert!(is_module_manifest("app/node_modules/ms/package.json"));
        assert!(is_module_manifest("node_modules/ms/package.json"));
        assert!(is_module_manifest(
            "app/node_modules/@types/node/package.json"
        ));
        assert!(is_module_manifest(
            "app/node_modules/a/node_modules/b/package.json"
        ));
        assert!(!is_module_manifest("app/node_modules/ms/lib/package.json"));
        assert!(!is_module_manifest("app/package.json"));
        assert!(!is_module_manifest("app/node_modules/@s/x/y/package.json"));
    }

    #[test]
    fn scoped_names_are_a_namespace() {
        let p = parse(br#"{"name":"@babel/core","version":"7.24.0"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(p.purl, "pkg:npm/%40babel/core@7.24.0");
        assert!(parse(br#"{"type":"module"}"#).unwrap().is_none());
        assert!(parse(b"{oops").is_err());
    }
}
