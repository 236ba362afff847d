//! The registry's own bearer tokens: JWTs (RFC 7519) signed with HMAC-SHA256 (`HS256`),
//! carrying the token spec's claims ([`TokenClaims`]: issuer, subject, audience = the
//! service, expiry, and the granted `access`). Only this registry (and replicas holding the
//! same key) verifies them, so a shared secret is enough; the key comes from
//! `token_key_file` or is generated once into `<data>/auth/token.key`.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;
use strata_distribution::TokenClaims;
use thiserror::Error;

/// The `iss` of every token this registry signs.
pub const ISSUER: &str = "strata-registry";
/// The fewest bytes a key file may hold.
pub const MIN_KEY_BYTES: usize = 32;
/// How far a token's `nbf` may lie in the future (clock skew between replicas), as
/// distribution's leeway.
pub const NBF_LEEWAY_SECS: u64 = 60;
/// The JOSE header of every token: `{"alg":"HS256","typ":"JWT"}`.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Why the signing key cannot be had.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("cannot read token key file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("token key file {path} holds {len} bytes: at least {MIN_KEY_BYTES} are needed (e.g. `openssl rand -hex 32 > {path}`)")]
    Short { path: PathBuf, len: usize },
    #[error("cannot write the generated token key {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why a bearer token is refused (each message is what the client is told).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenInvalid {
    #[error("bearer token is malformed (expected a JWT of three base64url parts)")]
    Malformed,
    #[error("bearer token is not signed with HS256 by this registry (alg {alg:?})")]
    Algorithm { alg: String },
    #[error("bearer token signature is invalid (not issued by this registry, or its key changed)")]
    Signature,
    #[error("bearer token claims are not valid JSON")]
    Claims,
    #[error("bearer token expired at {at} (unix seconds): get a new one")]
    Expired { at: u64 },
    #[error("bearer token is not valid before {at} (unix seconds)")]
    NotYet { at: u64 },
    #[error("bearer token was issued for service {audience:?}, not {service:?}")]
    Audience { audience: String, service: String },
    #[error("bearer token was issued by {issuer:?}, not {ISSUER:?}")]
    Issuer { issuer: String },
}

/// The HMAC key tokens are signed with.
pub struct TokenKey {
    key: hmac::Key,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

impl TokenKey {
    /// A key of these bytes.
    pub fn new(bytes: &[u8]) -> TokenKey {
        TokenKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        }
    }

    /// The key in `file`, or (no file configured) the one in `<data>/auth/token.key`,
    /// generated there (32 random bytes, mode 0600) the first time.
    pub fn load_or_create(file: Option<&Path>, data: &Path) -> Result<TokenKey, KeyError> {
        match file {
            Some(path) => read_key(path),
            None => {
                let path = data.join("auth/token.key");
                if !path.exists() {
                    generate(&path)?;
                }
                read_key(&path)
            }
        }
    }

    /// The compact JWT of `claims`.
    pub fn sign(&self, claims: &TokenClaims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims always serialise");
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let tag = hmac::sign(&self.key, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The claims of `token` if this key signed it, it is valid at `now` (unix seconds) and
    /// was issued for `service`.
    pub fn verify(
        &self,
        token: &str,
        now: u64,
        service: &str,
    ) -> Result<TokenClaims, TokenInvalid> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts[..] else {
            return Err(TokenInvalid::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| TokenInvalid::Malformed)
        };
        check_header(&decode(header)?)?;
        let signing_input = &token[..header.len() + 1 + payload.len()];
        hmac::verify(&self.key, signing_input.as_bytes(), &decode(signature)?)
            .map_err(|_| TokenInvalid::Signature)?;
        let claims: TokenClaims =
            serde_json::from_slice(&decode(payload)?).map_err(|_| TokenInvalid::Claims)?;
        check_claims(&claims, now, service)?;
        Ok(claims)
    }
}

fn check_header(header: &[u8]) -> Result<(), TokenInvalid> {
    let value: serde_json::Value =
        serde_json::from_slice(header).map_err(|_| TokenInvalid::Malformed)?;
    match value.get("alg").and_then(|a| a.as_str()) {
        Some("HS256") => Ok(()),
        other => Err(TokenInvalid::Algorithm {
            alg: other.unwrap_or("").to_owned(),
        }),
    }
}

fn check_claims(claims: &TokenClaims, now: u64, service: &str) -> Result<(), TokenInvalid> {
    if claims.iss != ISSUER {
        return Err(TokenInvalid::Issuer {
            issuer: claims.iss.clone(),
        });
    }
    if claims.aud != service {
        return Err(TokenInvalid::Audience {
            audience: claims.aud.clone(),
            service: service.to_owned(),
        });
    }
    if now >= claims.exp {
        return Err(TokenInvalid::Expired { at: claims.exp });
    }
    // Replicas' clocks may differ a little: a token from one a few seconds ahead is good.
    if now + NBF_LEEWAY_SECS < claims.nbf {
        return Err(TokenInvalid::NotYet { at: claims.nbf });
    }
    Ok(())
}

fn read_key(path: &Path) -> Result<TokenKey, KeyError> {
    let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    if bytes.len() < MIN_KEY_BYTES {
        return Err(KeyError::Short {
            path: path.to_owned(),
            len: bytes.len(),
        });
    }
    Ok(TokenKey::new(&bytes))
}

/// Writes 32 random bytes to `path` (mode 0600), through a temp file and a rename.
fn generate(path: &Path) -> Result<(), KeyError> {
    let err = |source| KeyError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().expect("the key path has a parent");
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut key = [0u8; MIN_KEY_BYTES];
    getrandom::getrandom(&mut key).map_err(|e| err(std::io::Error::other(e.to_string())))?;
    let temp = dir.join(format!(".token.key.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(&key)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    };
    write().map_err(err)?;
    tracing::info!(path = %path.display(), "generated the token signing key");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_distribution::auth::ResourceActions;

    fn claims(exp: u64) -> TokenClaims {
        TokenClaims {
            iss: ISSUER.into(),
            sub: "alice".into(),
            aud: "reg".into(),
            exp,
            nbf: 100,
            iat: 100,
            jti: "j".into(),
            access: vec![ResourceActions {
                resource_type: "repository".into(),
                name: "a/b".into(),
                actions: vec!["pull".into()],
            }],
        }
    }

    #[test]
    fn signed_tokens_verify_until_they_expire() {
        let key = TokenKey::new(&[7; 32]);
        let token = key.sign(&claims(400));
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(key.verify(&token, 100, "reg").unwrap(), claims(400));
        assert_eq!(key.verify(&token, 399, "reg").unwrap().sub, "alice");
        assert_eq!(
            key.verify(&token, 400, "reg"),
            Err(TokenInvalid::Expired { at: 400 })
        );
        assert!(
            key.verify(&token, 40, "reg").is_ok(),
            "skew within the leeway"
        );
        assert_eq!(
            key.verify(&token, 39, "reg"),
            Err(TokenInvalid::NotYet { at: 100 })
        );
        assert!(matches!(
            key.verify(&token, 200, "other"),
            Err(TokenInvalid::Audience { .. })
        ));
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let key = TokenKey::new(&[7; 32]);
        let token = key.sign(&claims(400));
        let other = TokenKey::new(&[8; 32]);
        assert_eq!(
            other.verify(&token, 200, "reg"),
            Err(TokenInvalid::Signature)
        );
        // The payload swapped for one granting more, the signature kept.
        let mut more = claims(400);
        more.access[0].actions.push("push".into());
        let forged: Vec<String> = key.sign(&more).split('.').map(str::to_owned).collect();
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], forged[1], parts[2]);
        assert_eq!(
            key.verify(&tampered, 200, "reg"),
            Err(TokenInvalid::Signature)
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            parts[1]
        );
        assert!(matches!(
            key.verify(&none, 200, "reg"),
            Err(TokenInvalid::Algorithm { .. })
        ));
        for bad in ["", "a.b", "a.b.c.d", "!!.??.##"] {
            assert_eq!(
                key.verify(bad, 200, "reg"),
                Err(TokenInvalid::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_key_is_generated_once_and_a_short_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = TokenKey::load_or_create(None, dir.path()).unwrap();
        let path = dir.path().join("auth/token.key");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let b = TokenKey::load_or_create(None, dir.path()).unwrap();
        let token = a.sign(&claims(400));
        assert!(b.verify(&token, 200, "reg").is_ok(), "same key on restart");
        let short = dir.path().join("short");
        std::fs::write(&short, "abc").unwrap();
        let err = TokenKey::load_or_create(Some(&short), dir.path()).unwrap_err();
        assert!(err.to_string().contains("holds 3 bytes"), "{err}");
        let missing = TokenKey::load_or_create(Some(&dir.path().join("nope")), dir.path());
        assert!(matches!(missing, Err(KeyError::Read { .. })));
    }
}
