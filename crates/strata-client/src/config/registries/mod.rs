//! containers' `registries.conf` (v2 TOML, v1 converted), as podman and skopeo read it
//! (containers/image `pkg/sysregistriesv2`): which mirrors to try for an image, which
//! registries are `insecure` or `blocked`, and the unqualified-search registries.
//!
//! Files, as containers/image picks them:
//! - `$CONTAINERS_REGISTRIES_CONF` when set (then it must exist), else
//!   `~/.config/containers/registries.conf` when it exists, else
//!   `/etc/containers/registries.conf` (missing: an empty configuration);
//! - then the drop-ins `*.conf` of `/etc/containers/registries.conf.d/` and
//!   `~/.config/containers/registries.conf.d/`, each directory in name order (only the
//!   user's directory when the user's file is the main one). A drop-in replaces the
//!   `[[registry]]` of the same prefix and, if it sets one, the search list.
//!
//! - last, the machine-written `short-name-aliases.conf` (`/var/cache/containers/` for
//!   root, else `$XDG_CACHE_HOME/containers/`), whose `[aliases]` win over the files'.
//!
//! Short names (`app:1`) resolve through `[aliases]`, `unqualified-search-registries` and
//! `short-name-mode` ([`shortnames`]: [`RegistriesConf::resolve_pull`] and
//! [`RegistriesConf::resolve_local`]).
//!
//! [`RegistriesConf::endpoints`] is `PullSourcesFromReference`: the registry with the
//! longest matching prefix, its mirrors first, then its location, each with the
//! reference rewritten under it. Plain HTTP is allowed only for an `insecure` endpoint
//! or a loopback host ([`Endpoint::allows_http`]).

mod file;
pub mod shortnames;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use strata_oci::{Reference, ReferenceError};

pub use shortnames::{Alias, ImageName, Resolution, Resolved, ShortNameError, ShortNameMode};

/// Why the registries configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RegistriesError {
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not valid TOML")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("registry {prefix} is blocked in registries.conf, so {reference} cannot be used")]
    Blocked { reference: String, prefix: String },
    #[error("{reference} rewritten under {location} is not a valid reference")]
    Rewrite {
        reference: String,
        location: String,
        source: ReferenceError,
    },
}

/// When a mirror is used (`pull-from-mirror`, or the registry's `mirror-by-digest-only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullFromMirror {
    All,
    DigestOnly,
    TagOnly,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub location: String,
    pub insecure: bool,
    pub pull_from: PullFromMirror,
}

/// One `[[registry]]`, normalised: `prefix` set (the location when omitted), no trailing
/// `/`. An empty `location` is allowed only under a `*.example.com` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub prefix: String,
    pub location: String,
    pub insecure: bool,
    pub blocked: bool,
    pub mirrors: Vec<Mirror>,
}

/// A place to pull an image from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]` to connect to.
    pub host: String,
    /// The image's reference at this endpoint (a mirror's location may add a path).
    pub reference: Reference,
    /// `insecure = true`: TLS unverified and plain HTTP allowed.
    pub insecure: bool,
    pub is_mirror: bool,
}

impl Endpoint {
    /// Plain HTTP only for `insecure` endpoints and loopback hosts (as docker's default
    /// insecure range `127.0.0.0/8`, plus `localhost` and `::1`).
    pub fn allows_http(&self) -> bool {
        self.insecure || is_loopback(&self.host)
    }
}

/// Is `host[:port]` a loopback host?
pub fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || name.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// The files to read (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistriesPaths {
    pub file: PathBuf,
    /// `true` for `$CONTAINERS_REGISTRIES_CONF`: a missing file is an error.
    pub file_required: bool,
    pub drop_in_dirs: Vec<PathBuf>,
    /// The machine-written `short-name-aliases.conf`, read last (missing: no aliases).
    pub aliases_file: Option<PathBuf>,
}

impl RegistriesPaths {
    pub fn from_env() -> RegistriesPaths {
        let mut paths =
            RegistriesPaths::resolve(|n| std::env::var_os(n), Path::new("/etc/containers"));
        if rustix::process::geteuid().is_root() {
            paths.aliases_file = Some(PathBuf::from(ROOT_ALIASES_FILE));
        }
        paths
    }

    /// The paths for environment `var`, with `etc` standing for `/etc/containers`.
    pub fn resolve(var: impl Fn(&str) -> Option<std::ffi::OsString>, etc: &Path) -> Self {
        let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let user = set("HOME").map(|h| h.join(".config/containers"));
        let user_file = user.as_ref().map(|u| u.join("registries.conf"));
        let user_dir = user.as_ref().map(|u| u.join("registries.conf.d"));
        let system_dir = etc.join("registries.conf.d");
        let cache = set("XDG_CACHE_HOME").or_else(|| set("HOME").map(|h| h.join(".cache")));
        let aliases_file = cache.map(|c| c.join("containers/short-name-aliases.conf"));
        if let Some(file) = set("CONTAINERS_REGISTRIES_CONF") {
            let drop_in_dirs = [Some(system_dir), user_dir].into_iter().flatten().collect();
            return RegistriesPaths {
                file,
                file_required: true,
                drop_in_dirs,
                aliases_file,
            };
        }
        match user_file.filter(|f| f.exists()) {
            Some(file) => RegistriesPaths {
                file,
                file_required: false,
                drop_in_dirs: user_dir.into_iter().collect(),
                aliases_file,
            },
            None => RegistriesPaths {
                file: etc.join("registries.conf"),
                file_required: false,
                drop_in_dirs: [Some(system_dir), user_dir].into_iter().flatten().collect(),
                aliases_file,
            },
        }
    }
}

/// Where root's machine-written short-name aliases are (containers/image).
const ROOT_ALIASES_FILE: &str = "/var/cache/containers/short-name-aliases.conf";

/// The merged configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistriesConf {
    /// Sorted by prefix, one entry per prefix.
    pub registries: Vec<Registry>,
    pub unqualified_search_registries: Vec<String>,
    /// The file that set `unqualified-search-registries` last.
    pub search_origin: Option<PathBuf>,
    /// `short-name-mode` (unset: permissive, as containers/image).
    pub short_name_mode: ShortNameMode,
    /// The file that set `short-name-mode` last.
    pub short_name_mode_origin: Option<PathBuf>,
    /// `[aliases]` by short name, a later file's entry replacing an earlier one's.
    pub aliases: BTreeMap<String, Alias>,
}

impl RegistriesConf {
    pub fn load(paths: &RegistriesPaths) -> Result<RegistriesConf, RegistriesError> {
        let mut conf = RegistriesConf::default();
        match read(&paths.file)? {
            Some(text) => conf.merge(&paths.file, file::parse(&paths.file, &text, false)?),
            None if paths.file_required => {
                return Err(RegistriesError::Read {
                    path: paths.file.clone(),
                    source: io::ErrorKind::NotFound.into(),
                })
            }
            None => {}
        }
        for dir in &paths.drop_in_dirs {
            for path in drop_ins(dir)? {
                if let Some(text) = read(&path)? {
                    conf.merge(&path, file::parse(&path, &text, true)?);
                }
            }
        }
        if let Some(path) = &paths.aliases_file {
            if let Some(text) = read(path)? {
                conf.merge_aliases(path, file::parse_aliases_file(path, &text)?);
            }
        }
        Ok(conf)
    }

    fn merge(&mut self, path: &Path, update: file::ParsedFile) {
        for r in update.registries {
            self.registries.retain(|old| old.prefix != r.prefix);
            self.registries.push(r);
        }
        self.registries.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        if let Some(search) = update.search {
            self.unqualified_search_registries = search;
            self.search_origin = Some(path.to_owned());
        }
        if let Some(mode) = update.short_name_mode {
            self.short_name_mode = mode;
            self.short_name_mode_origin = Some(path.to_owned());
        }
        self.merge_aliases(path, update.aliases);
    }

    fn merge_aliases(&mut self, path: &Path, aliases: Vec<(String, Option<Reference>)>) {
        for (name, target) in aliases {
            let origin = path.to_owned();
            self.aliases.insert(name, Alias { target, origin });
        }
    }

    /// The `[[registry]]` whose prefix matches `reference` longest, if any.
    pub fn find(&self, reference: &Reference) -> Option<&Registry> {
        let name = reference.to_string();
        self.registries
            .iter()
            .filter(|r| prefix_match(&name, &r.prefix).is_some())
            .max_by_key(|r| r.prefix.len())
    }

    /// Where to pull `reference` from, in order: mirrors (those whose `pull-from-mirror`
    /// admits a tag or a digest reference), then the registry.
    pub fn endpoints(&self, reference: &Reference) -> Result<Vec<Endpoint>, RegistriesError> {
        let Some(registry) = self.find(reference) else {
            return Ok(vec![Endpoint {
                host: reference.registry().to_owned(),
                reference: reference.clone(),
                insecure: false,
                is_mirror: false,
            }]);
        };
        if registry.blocked {
            return Err(RegistriesError::Blocked {
                reference: reference.to_string(),
                prefix: registry.prefix.clone(),
            });
        }
        let by_digest = reference.digest().is_some();
        let mirrors = registry.mirrors.iter().filter(|m| match m.pull_from {
            PullFromMirror::All => true,
            PullFromMirror::DigestOnly => by_digest,
            PullFromMirror::TagOnly => !by_digest,
        });
        let mut endpoints = Vec::new();
        for m in mirrors {
            endpoints.push(endpoint(
                reference,
                &registry.prefix,
                &m.location,
                m.insecure,
                true,
            )?);
        }
        let own = endpoint(
            reference,
            &registry.prefix,
            &registry.location,
            registry.insecure,
            false,
        )?;
        endpoints.push(own);
        Ok(endpoints)
    }
}

fn endpoint(
    reference: &Reference,
    prefix: &str,
    location: &str,
    insecure: bool,
    is_mirror: bool,
) -> Result<Endpoint, RegistriesError> {
    let rewritten = match location {
        // A `*.example.com` registry without a location: the reference's own host.
        "" => reference.clone(),
        location => {
            let name = reference.to_string();
            let matched = prefix_match(&name, prefix).unwrap_or(name.len());
            let new = format!("{location}{}", &name[matched..]);
            Reference::parse_name_only(&new).map_err(|source| RegistriesError::Rewrite {
                reference: name,
                location: location.to_owned(),
                source,
            })?
        }
    };
    Ok(Endpoint {
        host: rewritten.registry().to_owned(),
        reference: rewritten,
        insecure,
        is_mirror,
    })
}

/// containers/image's `refMatchingPrefix`: the length of `name` that `prefix` covers,
/// when the prefix ends at a component boundary (`:`, `/`, `@` or the end).
/// `*.example.com` matches any subdomain of example.com.
fn prefix_match(name: &str, prefix: &str) -> Option<usize> {
    if let Some(domain) = prefix.strip_prefix('*') {
        let index = name.find(domain)?;
        if name[..index].contains('/') {
            return None;
        }
        let end = index + domain.len();
        return at_boundary(name, end);
    }
    name.strip_prefix(prefix)?;
    at_boundary(name, prefix.len())
}

fn at_boundary(name: &str, end: usize) -> Option<usize> {
    match name.as_bytes().get(end) {
        None | Some(b':' | b'/' | b'@') => Some(end),
        Some(_) => None,
    }
}

fn read(path: &Path) -> Result<Option<String>, RegistriesError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegistriesError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The `*.conf` files directly in `dir`, by name; a missing directory has none.
fn drop_ins(dir: &Path) -> Result<Vec<PathBuf>, RegistriesError> {
    let read_error = |source| RegistriesError::Read {
        path: dir.to_owned(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_error(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_error)?;
        let is_dir = entry.file_type().map_err(read_error)?.is_dir();
        if !is_dir && entry.file_name().to_string_lossy().ends_with(".conf") {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests;
