//! Robot accounts for CI, as Harbor's: `robot$NAME`, a random secret shown once (only its
//! SHA-256 is stored: it is 256 random bits, so a slow hash would add nothing), repository
//! globs and actions of their own, and an optional expiry after which logging in with it
//! fails saying so.

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use thiserror::Error;

use super::rules::{parse_actions, repository_glob, RobotGrant, ACTIONS};
use super::ROBOT_PREFIX;
use crate::meta::{Meta, MetaError, RobotRecord};

/// Why a robot account cannot be created, found or removed.
#[derive(Debug, Error)]
pub enum RobotError {
    #[error("invalid robot name {name:?}: use lowercase letters, digits, '.', '_' and '-' (at most 64, starting and ending with a letter or digit)")]
    Name { name: String },
    #[error("robot {name:?}: {reason}")]
    Invalid { name: String, reason: String },
    #[error("robot account {ROBOT_PREFIX}{name} exists already")]
    Exists { name: String },
    #[error("no robot account {ROBOT_PREFIX}{name}")]
    NotFound { name: String },
    #[error("invalid expiry {value:?}: use never or a number with s, m, h or d (30d, 12h)")]
    Expiry { value: String },
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// A robot just created, with the secret to show once.
#[derive(Debug)]
pub struct CreatedRobot {
    pub record: RobotRecord,
    pub secret: String,
}

/// Checks a robot name (what follows `robot$`).
pub fn check_name(name: &str) -> Result<(), RobotError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(ok_char)
        && name.ends_with(ok_char)
        && name.chars().all(|c| ok_char(c) || ".-_".contains(c));
    match valid {
        true => Ok(()),
        false => Err(RobotError::Name {
            name: name.to_owned(),
        }),
    }
}

/// `never` (none), or a count of `s`, `m`, `h` or `d`.
pub fn parse_expiry(value: &str) -> Result<Option<Duration>, RobotError> {
    if value == "never" {
        return Ok(None);
    }
    let err = || RobotError::Expiry {
        value: value.to_owned(),
    };
    let split = value.len().checked_sub(1).ok_or_else(err)?;
    let (count, unit) = value.split_at(split);
    let count: u64 = count.parse().map_err(|_| err())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(err()),
    };
    match count.checked_mul(unit) {
        Some(secs) if secs > 0 => Ok(Some(Duration::from_secs(secs))),
        _ => Err(err()),
    }
}

/// The hex SHA-256 of a secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

/// Creates robot `name` (at unix second `now`) allowed `actions` on `repositories`.
pub async fn create(
    meta: &dyn Meta,
    name: &str,
    repositories: &[String],
    actions: &[String],
    expires_in: Option<Duration>,
    now: i64,
) -> Result<CreatedRobot, RobotError> {
    check_name(name)?;
    let invalid = |reason: String| RobotError::Invalid {
        name: name.to_owned(),
        reason,
    };
    if repositories.is_empty() {
        return Err(invalid("no repository pattern".into()));
    }
    for pattern in repositories {
        repository_glob(pattern)
            .map_err(|e| invalid(format!("bad repository pattern {pattern:?}: {e}")))?;
    }
    let actions = parse_actions(actions).map_err(invalid)?;
    let secret = new_secret();
    let record = RobotRecord {
        name: name.to_owned(),
        secret_sha256: secret_hash(&secret),
        repositories: repositories.to_vec(),
        actions: ACTIONS
            .iter()
            .filter(|a| actions.contains(**a))
            .map(|a| a.to_string())
            .collect(),
        created: now,
        expires: expires_in.map(|d| now + d.as_secs() as i64),
    };
    if !meta.create_robot(record.clone()).await? {
        return Err(RobotError::Exists {
            name: name.to_owned(),
        });
    }
    Ok(CreatedRobot { record, secret })
}

/// Removes robot `name`.
pub async fn delete(meta: &dyn Meta, name: &str) -> Result<(), RobotError> {
    match meta.delete_robot(name).await? {
        true => Ok(()),
        false => Err(RobotError::NotFound {
            name: name.to_owned(),
        }),
    }
}

/// Why a robot's login fails.
#[derive(Debug, PartialEq, Eq)]
pub enum RobotLogin {
    /// Unknown robot or wrong secret (not told apart).
    Refused,
    /// Right secret, but it expired at these unix seconds.
    Expired(i64),
}

/// The robot's grant when `secret` is its own and it has not expired at `now`.
pub fn check_login(record: &RobotRecord, secret: &str, now: i64) -> Result<RobotGrant, RobotLogin> {
    let given = secret_hash(secret);
    let same = given.len() == record.secret_sha256.len()
        && given
            .bytes()
            .zip(record.secret_sha256.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(RobotLogin::Refused);
    }
    if let Some(at) = record.expires.filter(|at| now >= *at) {
        return Err(RobotLogin::Expired(at));
    }
    RobotGrant::new(&record.repositories, &record.actions).map_err(|reason| {
        tracing::error!(robot = %record.name, reason, "stored robot account is unusable");
        RobotLogin::Refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_expiries() {
        for ok in ["ci", "gitlab-ci.main", "a_1", "x"] {
            check_name(ok).unwrap();
        }
        for bad in ["", "CI", "-ci", "ci-", "a$b", "a/b", &"a".repeat(65)] {
            assert!(
                matches!(check_name(bad), Err(RobotError::Name { .. })),
                "{bad}"
            );
        }
        assert_eq!(parse_expiry("never").unwrap(), None);
        assert_eq!(
            parse_expiry("30d").unwrap(),
            Some(Duration::from_secs(30 * 86400))
        );
        assert_eq!(
            parse_expiry("12h").unwrap(),
            Some(Duration::from_secs(12 * 3600))
        );
        assert_eq!(parse_expiry("90s").unwrap(), Some(Duration::from_secs(90)));
        for bad in ["", "d", "0d", "30", "3w", "-1d", "1.5h"] {
            assert!(
                matches!(parse_expiry(bad), Err(RobotError::Expiry { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn login_checks_the_secret_then_the_expiry() {
        let record = RobotRecord {
            name: "ci".into(),
            secret_sha256: secret_hash("s3cret"),
            repositories: vec!["ci/**".into()],
            actions: vec!["pull".into()],
            created: 100,
            expires: Some(200),
        };
        assert!(check_login(&record, "s3cret", 199).is_ok());
        assert_eq!(
            check_login(&record, "s3cret", 200).unwrap_err(),
            RobotLogin::Expired(200)
        );
        assert_eq!(
            check_login(&record, "wrong", 150).unwrap_err(),
            RobotLogin::Refused
        );
        assert_eq!(
            check_login(&record, "wrong", 300).unwrap_err(),
            RobotLogin::Refused,
            "expiry not told to a wrong secret"
        );
    }
}
