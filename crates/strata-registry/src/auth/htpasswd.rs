//! Users from an htpasswd file (`user:hash` lines, as `htpasswd -B` writes them): bcrypt
//! hashes only (`$2y$`, `$2a$`, `$2b$`); any other scheme (MD5 `$apr1$`, SHA1 `{SHA}`, crypt,
//! plain text) is refused with the file and line named. The file is re-read when its
//! modification time or size changes (checked at each login), so users can be added or
//! removed without a restart; a change that no longer parses is logged and the users read
//! before are kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use thiserror::Error;

/// Why an htpasswd file cannot be used.
#[derive(Debug, Error)]
pub enum HtpasswdError {
    #[error("cannot read htpasswd file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("htpasswd file {path}:{line}: {reason}")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// The users of one parse: name → bcrypt hash.
type Users = HashMap<String, String>;

/// Parses htpasswd `text` (of `path`, for messages).
pub fn parse(path: &Path, text: &str) -> Result<Users, HtpasswdError> {
    let mut users = Users::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: String| HtpasswdError::Line {
            path: path.to_owned(),
            line: index + 1,
            reason,
        };
        let (user, hash) = line
            .split_once(':')
            .ok_or_else(|| bad("expected user:hash".into()))?;
        if user.is_empty() {
            return Err(bad("empty user name".into()));
        }
        if user.starts_with(super::ROBOT_PREFIX) {
            return Err(bad(format!(
                "user {user:?}: names starting with {:?} are robot accounts",
                super::ROBOT_PREFIX
            )));
        }
        if !is_bcrypt(hash) {
            return Err(bad(format!(
                "user {user:?}: only bcrypt hashes ($2y$, $2a$, $2b$: htpasswd -B) are supported, found {}",
                scheme(hash)
            )));
        }
        if users.insert(user.to_owned(), hash.to_owned()).is_some() {
            return Err(bad(format!("user {user:?} appears twice")));
        }
    }
    Ok(users)
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2y$", "$2a$", "$2b$"].iter().any(|p| hash.starts_with(p)) && hash.len() == 60
}

/// The scheme a non-bcrypt hash looks like, for the error.
fn scheme(hash: &str) -> &'static str {
    match hash {
        h if h.starts_with("$apr1$") => "MD5 ($apr1$)",
        h if h.starts_with("{SHA}") => "SHA1 ({SHA})",
        h if h.starts_with("$1$") => "MD5-crypt ($1$)",
        h if h.starts_with("$5$") || h.starts_with("$6$") => "SHA-crypt ($5$/$6$)",
        h if h.starts_with("$2") => "a malformed bcrypt hash",
        _ => "crypt or plain text",
    }
}

/// An htpasswd file, re-read when it changes.
#[derive(Debug)]
pub struct Htpasswd {
    path: PathBuf,
    state: RwLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    stamp: Option<(SystemTime, u64)>,
    users: Users,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn load(path: &Path) -> Result<Loaded, HtpasswdError> {
    let stamp = stamp(path);
    let text = std::fs::read_to_string(path).map_err(|source| HtpasswdError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(Loaded {
        stamp,
        users: parse(path, &text)?,
    })
}

impl Htpasswd {
    /// Reads the file; an unreadable file or a bad line is an error.
    pub fn open(path: &Path) -> Result<Htpasswd, HtpasswdError> {
        Ok(Htpasswd {
            path: path.to_owned(),
            state: RwLock::new(load(path)?),
        })
    }

    /// Re-reads the file if it changed since the last read.
    fn refresh(&self) {
        let now = stamp(&self.path);
        let known = self.state.read().unwrap_or_else(|p| p.into_inner()).stamp;
        if now == known {
            return;
        }
        match load(&self.path) {
            Ok(loaded) => {
                tracing::info!(path = %self.path.display(), users = loaded.users.len(), "htpasswd file re-read");
                *self.state.write().unwrap_or_else(|p| p.into_inner()) = loaded;
            }
            Err(error) => {
                tracing::error!(error = %crate::auth::chain(&error), "htpasswd file changed but cannot be used: keeping the users read before");
                self.state.write().unwrap_or_else(|p| p.into_inner()).stamp = now;
            }
        }
    }

    /// The bcrypt hash of `user`, after re-reading a changed file.
    pub fn hash_of(&self, user: &str) -> Option<String> {
        self.refresh();
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state.users.get(user).cloned()
    }
}

/// A bcrypt hash (cost 5, `htpasswd -B`'s default) checked for unknown users.
pub const DUMMY_HASH: &str = "$2y$05$kwLkst4beb.gEV5YScxA7uKoZ57xuPtFN5rpc1db0XH06lmJCzZai";

/// Whether `password` matches bcrypt `hash` (slow by design: run it off the async threads).
pub fn verify(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `htpasswd -Bbn alice secret` (cost 5).
    const ALICE: &str = "alice:$2y$05$kwLkst4beb.gEV5YScxA7uKoZ57xuPtFN5rpc1db0XH06lmJCzZai";

    #[test]
    fn bcrypt_lines_parse_and_verify() {
        let text = format!(
            "# users\n\n{ALICE}\nbob:{}\n",
            bcrypt::hash("pw", 4).unwrap()
        );
        let users = parse(Path::new("h"), &text).unwrap();
        assert_eq!(users.len(), 2);
        assert!(verify("secret", &users["alice"]), "htpasswd's $2y$");
        assert!(verify("pw", &users["bob"]));
        assert!(!verify("wrong", &users["bob"]));
    }

    #[test]
    fn other_schemes_are_refused_naming_file_and_line() {
        let cases = [
            ("carol:$apr1$abc$def", "MD5 ($apr1$)"),
            ("carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "SHA1 ({SHA})"),
            ("carol:plaintext", "crypt or plain text"),
            ("carol:$2y$05$short", "a malformed bcrypt hash"),
        ];
        for (line, found) in cases {
            let text = format!("{ALICE}\n{line}\n");
            let err = parse(Path::new("/etc/htpasswd"), &text).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with("htpasswd file /etc/htpasswd:2: user \"carol\""),
                "{message}"
            );
            assert!(message.ends_with(found), "{message}");
        }
        for (text, reason) in [
            ("nocolon\n", "expected user:hash"),
            (":$2y$\n", "empty user name"),
        ] {
            let err = parse(Path::new("h"), text).unwrap_err().to_string();
            assert_eq!(err, format!("htpasswd file h:1: {reason}"));
        }
        let twice = format!("{ALICE}\n{ALICE}\n");
        assert!(parse(Path::new("h"), &twice)
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let robot = ALICE.replace("alice", "robot$ci");
        assert!(parse(Path::new("h"), &robot)
            .unwrap_err()
            .to_string()
            .contains("robot accounts"));
    }

    #[test]
    fn a_changed_file_is_re_read_and_a_broken_change_keeps_the_old_users() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        std::fs::write(&path, format!("{ALICE}\n")).unwrap();
        let file = Htpasswd::open(&path).unwrap();
        assert!(file.hash_of("alice").is_some());
        assert!(file.hash_of("bob").is_none());
        let bob = format!("{ALICE}\nbob:{}\n", bcrypt::hash("pw", 4).unwrap());
        std::fs::write(&path, bob).unwrap();
        assert!(file.hash_of("bob").is_some(), "re-read (size changed)");
        std::fs::write(&path, "bob:$apr1$x$y\n").unwrap();
        assert!(file.hash_of("bob").is_some(), "broken file: old users kept");
        assert!(file.hash_of("alice").is_some());
    }
}
