//! The catalogers: each reads one kind of file of the final filesystem and says which
//! packages it records. [`Kind::of`] picks the cataloger of a path.

pub mod apk;
mod control;
pub mod dpkg;
pub mod elf;
pub mod golang;
pub mod npm;
pub mod os_release;
pub mod python;
pub mod rust;

/// A file a cataloger reads, known by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `etc/os-release`, `usr/lib/os-release`.
    OsRelease,
    /// `var/lib/dpkg/status`.
    DpkgStatus,
    /// `var/lib/dpkg/status.d/NAME` (distroless).
    DpkgStatusD,
    /// `lib/apk/db/installed`.
    Apk,
    /// Python core metadata in site-packages/dist-packages.
    Python,
    /// `…/node_modules/[@SCOPE/]NAME/package.json`.
    NpmModule,
    /// A `package.json` elsewhere: a project, kept when it has a `node_modules` or a
    /// `package-lock.json` beside it.
    NpmProject,
    /// `package-lock.json`: marks its directory as a project.
    NpmLock,
}

impl Kind {
    /// The cataloger of `path` (relative, cleaned), if any.
    pub fn of(path: &str) -> Option<Kind> {
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
        match path {
            "etc/os-release" | "usr/lib/os-release" => return Some(Kind::OsRelease),
            "var/lib/dpkg/status" => return Some(Kind::DpkgStatus),
            "lib/apk/db/installed" => return Some(Kind::Apk),
            _ => {}
        }
        if dir == "var/lib/dpkg/status.d" && !base.ends_with(".md5sums") {
            return Some(Kind::DpkgStatusD);
        }
        if is_python_metadata(dir, base) {
            return Some(Kind::Python);
        }
        match base {
            "package.json" if npm::is_module_manifest(path) => Some(Kind::NpmModule),
            "package.json" if !path.contains("node_modules/") => Some(Kind::NpmProject),
            "package-lock.json" if !path.contains("node_modules/") => Some(Kind::NpmLock),
            _ => None,
        }
    }

    /// Largest file read for this kind; larger ones are skipped with a warning.
    pub fn max_size(self) -> u64 {
        match self {
            Kind::DpkgStatus | Kind::Apk => 64 << 20,
            Kind::NpmLock => 0, // only its presence matters
            _ => 4 << 20,
        }
    }
}

/// `…/site-packages/X.dist-info/METADATA`, `…/X.egg-info/PKG-INFO`, `…/X.egg-info`.
fn is_python_metadata(dir: &str, base: &str) -> bool {
    let in_packages = |d: &str| {
        let parent = d.rsplit('/').next().unwrap_or(d);
        parent == "site-packages" || parent == "dist-packages"
    };
    let (pdir, pname) = dir.rsplit_once('/').unwrap_or(("", dir));
    match base {
        "METADATA" => pname.ends_with(".dist-info") && in_packages(pdir),
        "PKG-INFO" => pname.ends_with(".egg-info") && in_packages(pdir),
        _ => base.ends_with(".egg-info") && in_packages(dir),
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn paths_pick_their_cataloger() {
        let k = Kind::of;
        assert_eq!(k("var/lib/dpkg/status"), Some(Kind::DpkgStatus));
        assert_eq!(k("var/lib/dpkg/status.d/base"), Some(Kind::DpkgStatusD));
        assert_eq!(k("var/lib/dpkg/status.d/base.md5sums"), None);
        assert_eq!(k("lib/apk/db/installed"), Some(Kind::Apk));
        assert_eq!(
            k("usr/local/lib/python3.11/dist-packages/requests-2.32.3.dist-info/METADATA"),
            Some(Kind::Python)
        );
        assert_eq!(
            k("usr/lib/python3/dist-packages/PyYAML-6.0.egg-info/PKG-INFO"),
            Some(Kind::Python)
        );
        assert_eq!(
            k("usr/lib/python3/dist-packages/six-1.16.0.egg-info"),
            Some(Kind::Python)
        );
        assert_eq!(
            k("opt/venv/lib/python3.12/site-packages/x-1.dist-info/METADATA"),
            Some(Kind::Python)
        );
        assert_eq!(k("usr/share/doc/x.dist-info/METADATA"), None);
        assert_eq!(k("app/node_modules/ms/package.json"), Some(Kind::NpmModule));
        assert_eq!(k("app/package.json"), Some(Kind::NpmProject));
        assert_eq!(k("app/node_modules/ms/lib/package.json"), None);
        assert_eq!(k("usr/bin/bash"), None);
    }
}
