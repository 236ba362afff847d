//! Registry credentials: where they are read from, and how `login`/`logout` write them.
//!
//! # Where credentials come from
//!
//! podman, skopeo and buildah (containers/image `pkg/docker/config`) read, first match
//! wins:
//!
//! 1. `$REGISTRY_AUTH_FILE` (podman's `--authfile` default) — when set, the *only* file;
//! 2. `${XDG_RUNTIME_DIR}/containers/auth.json` (else `/run/containers/<uid>/auth.json`);
//! 3. `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`;
//! 4. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`;
//! 5. `~/.dockercfg` (the legacy format: the `auths` map without its wrapper).
//!
//! docker reads only 4 (and 5 when 4 is missing). strata reads podman's list: it is a
//! superset of docker's, so a `docker login` and a `podman login` both work, and
//! `REGISTRY_AUTH_FILE` keeps the meaning CI scripts already give it.
//!
//! Inside one file: a `credHelpers` entry for the registry decides (it asks
//! `docker-credential-<name>`), then docker's `credsStore` (the default helper; podman
//! ignores it, docker does not, and a docker user with `credsStore: desktop` has their
//! secrets only there), then the `auths` map ([`keys`] says how keys match).
//!
//! # Where `login` writes
//!
//! `$REGISTRY_AUTH_FILE` when set, else docker's `config.json` (item 4), as
//! `docker login` does — not podman's `${XDG_RUNTIME_DIR}` file, which is gone at the
//! next boot and missing on CI runners without a login session. docker's file is read by
//! docker, podman, skopeo, buildah and crane alike, and its `credsStore`/`credHelpers`
//! keep the secret in the user's keychain: then the file gets docker's empty marker entry
//! (`"auths": {"host": {}}`) and the helper the secret. Docker Hub is written under
//! docker's key `https://index.docker.io/v1/`.

mod file;
pub mod helper;
pub mod keys;

use std::ffi::OsString;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use file::AuthFile;
use helper::Helper;
use keys::RegistryKey;

/// A credential for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// HTTP basic auth, also what a token server's basic challenge takes.
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (docker's `identitytoken`; a helper's `<token>` user).
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// Why credentials could not be read or written. Secrets never appear in messages.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("invalid registry name {registry:?}")]
    InvalidRegistry { registry: String },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no file to store credentials in: neither REGISTRY_AUTH_FILE, DOCKER_CONFIG nor HOME is set")]
    NoAuthFile,
    #[error("credential helper {program} (named in {config}) is not in PATH")]
    HelperNotFound { program: String, config: PathBuf },
    #[error("cannot run credential helper {program}")]
    HelperSpawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("credential helper {program} {action} failed: {message}")]
    HelperFailed {
        program: PathBuf,
        action: &'static str,
        message: String,
    },
    #[error("credential helper {program} printed invalid JSON")]
    HelperOutput {
        program: PathBuf,
        source: serde_json::Error,
    },
    #[error("{registry}: credential helpers hold whole registries, not namespaces")]
    NamespacedHelper { registry: String },
}

/// Where a credential was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredIn {
    File(PathBuf),
    Helper { program: PathBuf, config: PathBuf },
}

/// The credential files and helper search path of one user (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    /// `$REGISTRY_AUTH_FILE`: when set, the only file read and written.
    pub auth_file: Option<PathBuf>,
    /// `${XDG_RUNTIME_DIR}/containers/auth.json` or `/run/containers/<uid>/auth.json`.
    pub runtime_auth: Option<PathBuf>,
    /// `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`.
    pub config_auth: Option<PathBuf>,
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// `~/.dockercfg`.
    pub docker_legacy: Option<PathBuf>,
    /// Where `docker-credential-*` programs are looked up (`$PATH`).
    pub helper_path: OsString,
}

impl CredentialStore {
    /// The files of the current process's user, from its environment.
    pub fn from_env() -> CredentialStore {
        let uid = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
        CredentialStore::from_vars(|name| std::env::var_os(name), uid)
    }

    /// The files named by environment variables `var` (testable without touching the
    /// process environment); `uid` names `/run/containers/<uid>/` when
    /// `XDG_RUNTIME_DIR` is unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>, uid: Option<u32>) -> Self {
        let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = set("HOME");
        let runtime = match set("XDG_RUNTIME_DIR") {
            Some(dir) => Some(dir.join("containers/auth.json")),
            None => uid.map(|uid| PathBuf::from(format!("/run/containers/{uid}/auth.json"))),
        };
        let xdg_config =
            set("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
        let docker_dir = set("DOCKER_CONFIG").or_else(|| home.as_ref().map(|h| h.join(".docker")));
        CredentialStore {
            auth_file: set("REGISTRY_AUTH_FILE"),
            runtime_auth: runtime,
            config_auth: xdg_config.map(|d| d.join("containers/auth.json")),
            docker_config: docker_dir.map(|d| d.join("config.json")),
            docker_legacy: home.map(|h| h.join(".dockercfg")),
            helper_path: var("PATH").unwrap_or_default(),
        }
    }

    /// The files a lookup reads, in order, each with whether it is in the legacy format.
    pub fn read_files(&self) -> Vec<(&Path, bool)> {
        if let Some(file) = &self.auth_file {
            return vec![(file, false)];
        }
        let modern = [&self.runtime_auth, &self.config_auth, &self.docker_config];
        let modern = modern.into_iter().flatten().map(|p| (p.as_path(), false));
        let legacy = self.docker_legacy.iter().map(|p| (p.as_path(), true));
        modern.chain(legacy).collect()
    }

    /// The file `login` and `logout` change.
    pub fn write_file(&self) -> Result<&Path, CredentialsError> {
        self.auth_file
            .as_deref()
            .or(self.docker_config.as_deref())
            .ok_or(CredentialsError::NoAuthFile)
    }

    /// The credential for `registry` (`host[:port]`, a URL, or `host/namespace/repo`),
    /// or `None` when no source has one (the pull goes anonymous).
    pub fn lookup(&self, registry: &str) -> Result<Option<Credential>, CredentialsError> {
        let key = RegistryKey::parse(registry)?;
        for (path, legacy) in self.read_files() {
            let Some(file) = AuthFile::load(path, legacy)? else {
                continue;
            };
            if let Some(found) = self.lookup_in(&file, &key)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn lookup_in(
        &self,
        file: &AuthFile,
        key: &RegistryKey,
    ) -> Result<Option<Credential>, CredentialsError> {
        match self.helper_for(file, key)? {
            Some((helper, server_url)) => helper.get(&server_url),
            None => Ok(file.find_auth(key)),
        }
    }

    /// The helper that holds this registry's secrets in `file`, and the server URL to
    /// ask it for: a `credHelpers` entry (asked with the key it is under), else
    /// `credsStore` (asked with docker's key).
    fn helper_for(
        &self,
        file: &AuthFile,
        key: &RegistryKey,
    ) -> Result<Option<(Helper, String)>, CredentialsError> {
        let host = RegistryKey {
            path: None,
            ..key.clone()
        };
        let (name, server_url) = match (file.cred_helper(&host), file.creds_store()) {
            (Some((found_under, name)), _) => (name, found_under),
            (None, Some(name)) => (name.to_owned(), host.docker_key()),
            (None, None) => return Ok(None),
        };
        let helper = Helper::find(&name, &self.helper_path, file.path())?;
        Ok(Some((helper, server_url)))
    }

    /// Saves `credential` for `registry` as `docker login` does (see the module docs).
    pub fn store(
        &self,
        registry: &str,
        credential: &Credential,
    ) -> Result<StoredIn, CredentialsError> {
        let key = RegistryKey::parse(registry)?;
        let mut file = AuthFile::load_or_new(self.write_file()?)?;
        let stored = match self.helper_for(&file, &key)? {
            Some(_) if key.path.is_some() => {
                return Err(CredentialsError::NamespacedHelper {
                    registry: registry.to_owned(),
                })
            }
            Some((helper, server_url)) => {
                helper.store(&server_url, credential)?;
                file.set_auth(&key.docker_key(), None);
                StoredIn::Helper {
                    program: helper.program().to_owned(),
                    config: file.path().to_owned(),
                }
            }
            None => {
                file.set_auth(&key.docker_key(), Some(credential));
                StoredIn::File(file.path().to_owned())
            }
        };
        file.save()?;
        Ok(stored)
    }

    /// Removes what `store` saved for `registry`: the helper's secret and every `auths`
    /// entry of the registry in the write file. `false` when there was nothing to remove.
    /// Credentials in the other, read-only files stay (podman's `logout` behaves alike).
    pub fn erase(&self, registry: &str) -> Result<bool, CredentialsError> {
        let key = RegistryKey::parse(registry)?;
        let Some(mut file) = AuthFile::load(self.write_file()?, false)? else {
            return Ok(false);
        };
        let mut erased = false;
        if key.path.is_none() {
            if let Some((helper, server_url)) = self.helper_for(&file, &key)? {
                erased = helper.erase(&server_url)?;
            }
        }
        if file.remove_auth(&key) {
            file.save()?;
            erased = true;
        }
        Ok(erased)
    }
}

#[cfg(test)]
mod tests;
