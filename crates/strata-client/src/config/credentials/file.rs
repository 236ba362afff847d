//! One auth file: docker's `config.json`, containers' `auth.json`, or the legacy
//! `~/.dockercfg` (an `auths` map without the wrapper). The whole JSON document is kept,
//! so a write changes only the entry it is about and keeps every other field (`psFormat`,
//! `proxies`, `currentContext`, fields strata does not know yet) in its order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};

use super::keys::{normalize_key, RegistryKey};
use super::{Credential, CredentialsError};
use crate::config::atomic;

#[derive(Debug, Clone)]
pub struct AuthFile {
    path: PathBuf,
    legacy: bool,
    doc: Map<String, Value>,
}

impl AuthFile {
    /// Reads `path`; `None` when it does not exist (a missing file holds no credentials).
    pub fn load(path: &Path, legacy: bool) -> Result<Option<AuthFile>, CredentialsError> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CredentialsError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let doc = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(doc)) => doc,
            Ok(_) => return Err(malformed(path, "the document is not a JSON object")),
            Err(source) => {
                return Err(CredentialsError::Parse {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let file = AuthFile {
            path: path.to_owned(),
            legacy,
            doc,
        };
        file.validate()?;
        Ok(Some(file))
    }

    /// Reads `path`, or starts an empty document where it does not exist yet.
    pub fn load_or_new(path: &Path) -> Result<AuthFile, CredentialsError> {
        Ok(AuthFile::load(path, false)?.unwrap_or_else(|| AuthFile {
            path: path.to_owned(),
            legacy: false,
            doc: Map::new(),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks the shape of everything strata reads, so lookups never meet a surprise.
    fn validate(&self) -> Result<(), CredentialsError> {
        if !self.legacy && self.doc.get("auths").is_some_and(|v| !v.is_object()) {
            return Err(malformed(&self.path, "\"auths\" is not an object"));
        }
        for (key, entry) in self.auths().into_iter().flatten() {
            self.validate_entry(key, entry)?;
        }
        if self.legacy {
            return Ok(());
        }
        if let Some(helpers) = self.doc.get("credHelpers") {
            let ok = helpers
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            if !ok {
                return Err(malformed(
                    &self.path,
                    "\"credHelpers\" is not a map of names",
                ));
            }
        }
        match self.doc.get("credsStore") {
            Some(v) if !v.is_string() => {
                Err(malformed(&self.path, "\"credsStore\" is not a string"))
            }
            _ => Ok(()),
        }
    }

    fn validate_entry(&self, key: &str, entry: &Value) -> Result<(), CredentialsError> {
        let entry = entry.as_object().ok_or_else(|| {
            malformed(
                &self.path,
                &format!("the entry for {key:?} is not an object"),
            )
        })?;
        for field in ["auth", "username", "password", "identitytoken"] {
            if entry.get(field).is_some_and(|v| !v.is_string()) {
                let reason = format!("{field:?} of the entry for {key:?} is not a string");
                return Err(malformed(&self.path, &reason));
            }
        }
        decode_entry(entry)
            .map(drop)
            .map_err(|reason| malformed(&self.path, &format!("the entry for {key:?}: {reason}")))
    }

    /// The `auths` map (the whole document of a legacy `.dockercfg`).
    fn auths(&self) -> Option<&Map<String, Value>> {
        match self.legacy {
            true => Some(&self.doc),
            false => self.doc.get("auths").and_then(Value::as_object),
        }
    }

    /// The `credHelpers` entry for this registry, as (the key it is under, helper name).
    pub fn cred_helper(&self, key: &RegistryKey) -> Option<(String, String)> {
        let helpers = self.doc.get("credHelpers").and_then(Value::as_object)?;
        key.helper_keys().into_iter().find_map(|k| {
            let name = helpers.get(&k)?.as_str()?.to_owned();
            Some((k, name))
        })
    }

    /// docker's default helper for every registry without a `credHelpers` entry.
    pub fn creds_store(&self) -> Option<&str> {
        let name = self.doc.get("credsStore").and_then(Value::as_str)?;
        (!self.legacy && !name.is_empty()).then_some(name)
    }

    /// containers/image's `findCredentialsInFile` for `auths`: exact keys from the
    /// repository up to the registry, then any key whose normalised form is the registry
    /// (URL keys of old `docker login`s). The first matching entry decides, even when it
    /// is empty.
    pub fn find_auth(&self, key: &RegistryKey) -> Option<Credential> {
        let auths = self.auths()?;
        let exact = key.exact_keys();
        let exact = match self.legacy {
            true => &exact[exact.len() - 1..],
            false => &exact[..],
        };
        let entry = exact.iter().find_map(|k| auths.get(k)).or_else(|| {
            auths
                .iter()
                .find(|(k, _)| normalize_key(k, self.legacy) == key.host)
                .map(|(_, v)| v)
        })?;
        decode_entry(entry.as_object()?).ok().flatten()
    }

    /// Writes the entry `key` as docker does: `auth` = base64(`user:password`) or
    /// `identitytoken`, or an empty marker (`None`) when a helper holds the secret. Other
    /// fields of an existing entry (`email`) stay.
    pub fn set_auth(&mut self, key: &str, credential: Option<&Credential>) {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        let auths = auths.as_object_mut().expect("validated on load");
        let entry = auths
            .entry(key)
            .or_insert_with(|| Value::Object(Map::new()));
        let entry = entry.as_object_mut().expect("validated on load");
        for field in [
            "auth",
            "username",
            "password",
            "identitytoken",
            "registrytoken",
        ] {
            entry.remove(field);
        }
        match credential {
            Some(Credential::Basic { username, password }) => {
                let auth = STANDARD.encode(format!("{username}:{password}"));
                entry.insert("auth".into(), Value::String(auth));
            }
            Some(Credential::IdentityToken(token)) => {
                entry.insert("identitytoken".into(), Value::String(token.clone()));
            }
            None => {}
        }
    }

    /// Removes every `auths` entry for the registry (its docker key, containers' key and
    /// old URL keys); a namespaced key removes only itself. `true` if one was there.
    pub fn remove_auth(&mut self, key: &RegistryKey) -> bool {
        let Some(auths) = self.doc.get_mut("auths").and_then(Value::as_object_mut) else {
            return false;
        };
        let before = auths.len();
        match &key.path {
            Some(_) => drop(auths.shift_remove(&key.docker_key())),
            None => auths.retain(|k, _| normalize_key(k, false) != key.host),
        }
        auths.len() != before
    }

    /// Replaces the file atomically (temp file + rename), mode 0600.
    pub fn save(&self) -> Result<(), CredentialsError> {
        let mut bytes = serde_json::to_vec_pretty(&self.doc).expect("a JSON map serialises");
        bytes.push(b'\n');
        atomic::write_file(&self.path, &bytes, 0o600).map_err(|source| CredentialsError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

fn malformed(path: &Path, reason: &str) -> CredentialsError {
    CredentialsError::Malformed {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// An entry's credential: `auth` (base64 of `user:password`, NULs trimmed from the
/// password as docker does), or docker's plain `username`/`password`, and
/// `identitytoken`. An empty entry (`{}`, docker's marker for "stored in a helper")
/// holds nothing. A decoded `auth` without `:` is an error, as in docker.
fn decode_entry(entry: &Map<String, Value>) -> Result<Option<Credential>, String> {
    let text = |field: &str| entry.get(field).and_then(Value::as_str).unwrap_or("");
    if !text("identitytoken").is_empty() {
        return Ok(Some(Credential::IdentityToken(
            text("identitytoken").to_owned(),
        )));
    }
    let auth = text("auth");
    let (username, password) = if auth.is_empty() {
        (text("username").to_owned(), text("password").to_owned())
    } else {
        let decoded = STANDARD
            .decode(auth.trim())
            .map_err(|_| "\"auth\" is not base64".to_owned())?;
        let decoded =
            String::from_utf8(decoded).map_err(|_| "\"auth\" is not UTF-8 text".to_owned())?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| "\"auth\" is not user:password".to_owned())?;
        (user.to_owned(), password.trim_matches('\0').to_owned())
    };
    Ok((!username.is_empty() && !password.is_empty())
        .then_some(Credential::Basic { username, password }))
}
