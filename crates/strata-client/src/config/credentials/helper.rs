//! The docker-credential-helpers protocol (docker/docker-credential-helpers
//! `client/client.go`): `docker-credential-<name> get|store|erase`, the request on stdin,
//! the answer (or an error message) on stdout.
//!
//! - `get`: stdin is the server URL; stdout is `{"ServerURL","Username","Secret"}`. A
//!   `Username` of `<token>` means `Secret` is an identity token.
//! - `store`: stdin is `{"ServerURL","Username","Secret"}`.
//! - `erase`: stdin is the server URL.
//!
//! A helper that does not know the server exits non-zero printing
//! `credentials not found in native keychain`: for `get` and `erase` that is "nothing
//! there", not a failure.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::{Credential, CredentialsError};

/// What every helper prints when it has nothing for a server
/// (`credentials.errCredentialsNotFoundMessage`).
pub const NOT_FOUND_MESSAGE: &str = "credentials not found in native keychain";
/// The username a helper stores for an identity token (docker's `tokenUsername`).
pub const TOKEN_USERNAME: &str = "<token>";

#[derive(Serialize, Deserialize)]
struct HelperCredentials {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// A `docker-credential-<name>` program found on the search path.
#[derive(Debug, Clone)]
pub struct Helper {
    program: PathBuf,
}

impl Helper {
    /// Finds `docker-credential-<name>` in `search_path` (a `PATH`-style list), the way
    /// `exec.LookPath` does: the first executable regular file wins.
    pub fn find(
        name: &str,
        search_path: &OsStr,
        configured_in: &Path,
    ) -> Result<Helper, CredentialsError> {
        let file = format!("docker-credential-{name}");
        let found = (!name.is_empty() && !name.contains('/'))
            .then(|| std::env::split_paths(search_path).map(|dir| dir.join(&file)))
            .into_iter()
            .flatten()
            .find(|p| is_executable(p));
        match found {
            Some(program) => Ok(Helper { program }),
            None => Err(CredentialsError::HelperNotFound {
                program: file,
                config: configured_in.to_owned(),
            }),
        }
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    /// `get`: the credential stored for `server_url`, or `None` when the helper has none.
    pub fn get(&self, server_url: &str) -> Result<Option<Credential>, CredentialsError> {
        let out = match self.run("get", server_url.as_bytes())? {
            Answer::Ok(out) => out,
            Answer::NotFound => return Ok(None),
        };
        let creds: HelperCredentials =
            serde_json::from_slice(&out).map_err(|source| CredentialsError::HelperOutput {
                program: self.program.clone(),
                source,
            })?;
        Ok(match (creds.username.as_str(), creds.secret) {
            (_, secret) if secret.is_empty() => None,
            (TOKEN_USERNAME, secret) => Some(Credential::IdentityToken(secret)),
            (username, secret) => Some(Credential::Basic {
                username: username.to_owned(),
                password: secret,
            }),
        })
    }

    /// `store`: saves `credential` for `server_url`.
    pub fn store(&self, server_url: &str, credential: &Credential) -> Result<(), CredentialsError> {
        let (username, secret) = match credential {
            Credential::Basic { username, password } => (username.clone(), password.clone()),
            Credential::IdentityToken(token) => (TOKEN_USERNAME.to_owned(), token.clone()),
        };
        let request = HelperCredentials {
            server_url: server_url.to_owned(),
            username,
            secret,
        };
        let body = serde_json::to_vec(&request).expect("plain strings always serialise");
        match self.run("store", &body)? {
            Answer::Ok(_) => Ok(()),
            Answer::NotFound => Err(self.failed("store", NOT_FOUND_MESSAGE.to_owned())),
        }
    }

    /// `erase`: removes what is stored for `server_url`; `false` when nothing was.
    pub fn erase(&self, server_url: &str) -> Result<bool, CredentialsError> {
        Ok(matches!(
            self.run("erase", server_url.as_bytes())?,
            Answer::Ok(_)
        ))
    }

    fn run(&self, action: &'static str, input: &[u8]) -> Result<Answer, CredentialsError> {
        let spawn_error = |source| CredentialsError::HelperSpawn {
            program: self.program.clone(),
            source,
        };
        let mut child = Command::new(&self.program)
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let mut stdin = child.stdin.take().expect("stdin was piped");
        // A helper may exit without reading its input; its answer says what happened.
        match stdin.write_all(input) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(spawn_error(e)),
            _ => drop(stdin),
        }
        let out = child.wait_with_output().map_err(spawn_error)?;
        if out.status.success() {
            return Ok(Answer::Ok(out.stdout));
        }
        let message = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if message == NOT_FOUND_MESSAGE {
            return Ok(Answer::NotFound);
        }
        let message = match message.is_empty() {
            true => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            false => message,
        };
        Err(self.failed(action, format!("{message} ({})", out.status)))
    }

    fn failed(&self, action: &'static str, message: String) -> CredentialsError {
        CredentialsError::HelperFailed {
            program: self.program.clone(),
            action,
            message,
        }
    }
}

enum Answer {
    Ok(Vec<u8>),
    NotFound,
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The search path for helpers: `$PATH`, as docker and containers/image use.
pub fn default_search_path() -> OsString {
    std::env::var_os("PATH").unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs;

    /// `docker-credential-test` (strata-testkit's real protocol helper), plus two that fail:
    /// `docker-credential-broken` (exit 3) and `docker-credential-garbage` (not JSON).
    pub(crate) fn install_test_helper(dir: &Path) -> OsString {
        strata_testkit::install_credential_helper(dir);
        let broken = dir.join("docker-credential-broken");
        fs::write(&broken, "#!/bin/sh\necho 'keychain is locked'\nexit 3\n").unwrap();
        fs::set_permissions(&broken, fs::Permissions::from_mode(0o755)).unwrap();
        let garbage = dir.join("docker-credential-garbage");
        fs::write(&garbage, "#!/bin/sh\ncat >/dev/null\necho 'not json'\n").unwrap();
        fs::set_permissions(&garbage, fs::Permissions::from_mode(0o755)).unwrap();
        dir.as_os_str().to_owned()
    }

    fn helper(dir: &Path, name: &str) -> Helper {
        Helper::find(name, dir.as_os_str(), Path::new("config.json")).unwrap()
    }

    #[test]
    fn store_get_erase_round_trip_through_a_real_helper() {
        let dir = tempfile::tempdir().unwrap();
        install_test_helper(dir.path());
        let h = helper(dir.path(), "test");
        assert_eq!(h.get("quay.io").unwrap(), None);
        let cred = Credential::Basic {
            username: "alice".into(),
            password: "s3cret".into(),
        };
        h.store("quay.io", &cred).unwrap();
        assert_eq!(h.get("quay.io").unwrap(), Some(cred));
        assert!(h.erase("quay.io").unwrap());
        assert!(!h.erase("quay.io").unwrap());
        assert_eq!(h.get("quay.io").unwrap(), None);
        let calls = fs::read_to_string(dir.path().join("calls")).unwrap();
        assert!(calls.starts_with("get quay.io\nstore {\"ServerURL\":\"quay.io\""));
    }

    #[test]
    fn a_token_username_means_an_identity_token() {
        let dir = tempfile::tempdir().unwrap();
        install_test_helper(dir.path());
        let h = helper(dir.path(), "test");
        let token = Credential::IdentityToken("refresh-me".into());
        h.store(DOCKER_HUB, &token).unwrap();
        let stored = fs::read_to_string(dir.path().join("store/https___index.docker.io_v1_"));
        assert!(stored
            .unwrap()
            .contains(r#""Username":"<token>","Secret":"refresh-me""#));
        assert_eq!(h.get(DOCKER_HUB).unwrap(), Some(token));
    }
    const DOCKER_HUB: &str = super::super::keys::DOCKER_HUB_KEY;

    #[test]
    fn a_missing_helper_names_the_program_and_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let err = Helper::find("nope", dir.path().as_os_str(), Path::new("/x/config.json"));
        match err {
            Err(CredentialsError::HelperNotFound { program, config }) => {
                assert_eq!(program, "docker-credential-nope");
                assert_eq!(config, Path::new("/x/config.json"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failing_helper_reports_its_message() {
        let dir = tempfile::tempdir().unwrap();
        install_test_helper(dir.path());
        match helper(dir.path(), "broken").get("quay.io") {
            Err(CredentialsError::HelperFailed {
                action, message, ..
            }) => {
                assert_eq!(action, "get");
                assert!(message.starts_with("keychain is locked"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            helper(dir.path(), "garbage").get("quay.io"),
            Err(CredentialsError::HelperOutput { .. })
        ));
    }
}
