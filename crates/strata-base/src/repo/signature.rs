//! OpenPGP checks of a suite's `InRelease` (clear-signed) or `Release` + `Release.gpg`
//! (detached), against a keyring of trusted keys, as apt's `gpgv` does: at least one
//! signature must verify with an unexpired, trusted key; a signature by a trusted key that does
//! not verify is an error (the text was modified); signatures by unknown keys are ignored when a
//! trusted one verifies, and named in the error when none does.

use std::path::Path;
use std::time::{Duration, SystemTime};

use pgp::composed::{CleartextSignedMessage, Deserializable, DetachedSignature, SignedPublicKey};
use pgp::packet::Signature;
use pgp::types::KeyDetails;

/// Why a signature check failed. `suite` is `mirror suite` for the messages.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("reading keyring {path}")]
    Keyring {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("keyring {path} holds no OpenPGP public key")]
    EmptyKeyring { path: String },
    #[error("{suite}: cannot parse the signed Release: {message}")]
    Parse { suite: String, message: String },
    #[error("{suite}: BAD signature by key {key}: the Release text does not match its signature")]
    Bad { suite: String, key: String },
    #[error("{suite}: signed only by key(s) not in the keyring {keyring}: {keys}")]
    UnknownKey {
        suite: String,
        keys: String,
        keyring: String,
    },
    #[error("{suite}: signed by expired key(s) {keys} (keyring {keyring})")]
    Expired {
        suite: String,
        keys: String,
        keyring: String,
    },
}

/// The trusted keys, read once from a binary (`.gpg`) or armored (`.asc`) keyring file.
pub struct Keyring {
    path: String,
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    /// Reads every public key of `path` (Debian's keyrings are concatenated binary keys).
    pub fn open(path: &Path) -> Result<Keyring, SignatureError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| SignatureError::Keyring {
            path: shown.clone(),
            source,
        })?;
        let results: Vec<pgp::errors::Result<SignedPublicKey>> = if bytes.starts_with(b"-----BEGIN")
        {
            SignedPublicKey::from_armor_many(&bytes[..])
                .map(|(iter, _)| iter.collect())
                .unwrap_or_default()
        } else {
            SignedPublicKey::from_bytes_many(&bytes[..])
                .map(|iter| iter.collect())
                .unwrap_or_default()
        };
        let mut parsed = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Ok(key) => parsed.push(key),
                // A key this OpenPGP library cannot read cannot verify anything: its
                // signatures then count as by an unknown key.
                Err(e) => tracing::warn!(keyring = %shown, error = %e, "skipping unreadable key"),
            }
        }
        if parsed.is_empty() {
            return Err(SignatureError::EmptyKeyring { path: shown });
        }
        Ok(Keyring {
            path: shown,
            keys: parsed,
        })
    }

    /// Checks the clear-signed `InRelease` text and returns the signed text (the Release).
    pub fn verify_inrelease(&self, suite: &str, text: &str) -> Result<String, SignatureError> {
        let (msg, _) =
            CleartextSignedMessage::from_string(text).map_err(|e| SignatureError::Parse {
                suite: suite.to_owned(),
                message: e.to_string(),
            })?;
        let signed = msg.signed_text();
        self.check(suite, msg.signatures(), signed.as_bytes())?;
        // The signed text is CRLF-normalised for hashing; the Release itself uses `\n`.
        Ok(signed.replace("\r\n", "\n"))
    }

    /// Checks a detached `Release.gpg` over the `Release` bytes.
    pub fn verify_detached(
        &self,
        suite: &str,
        release: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let parse_err = |e: pgp::errors::Error| SignatureError::Parse {
            suite: suite.to_owned(),
            message: e.to_string(),
        };
        let sigs: Vec<Signature> = if signature.starts_with(b"-----BEGIN") {
            let (iter, _) = DetachedSignature::from_armor_many(signature).map_err(parse_err)?;
            iter.map(|s| s.map(|d| d.signature))
                .collect::<Result<_, _>>()
                .map_err(parse_err)?
        } else {
            DetachedSignature::from_bytes_many(signature)
                .map_err(parse_err)?
                .map(|s| s.map(|d| d.signature))
                .collect::<Result<_, _>>()
                .map_err(parse_err)?
        };
        self.check(suite, &sigs, release)
    }

    fn check(&self, suite: &str, sigs: &[Signature], data: &[u8]) -> Result<(), SignatureError> {
        let mut unknown = Vec::new();
        let mut expired = Vec::new();
        let mut good = false;
        for sig in sigs {
            let issuer = issuer_name(sig);
            let Some((key, expires)) = self.signer(sig) else {
                unknown.push(issuer);
                continue;
            };
            if key.verify(sig, data).is_err() {
                return Err(SignatureError::Bad {
                    suite: suite.to_owned(),
                    key: issuer,
                });
            }
            if expires.is_some_and(|at| at <= SystemTime::now()) {
                expired.push(issuer);
                continue;
            }
            good = true;
        }
        if good {
            return Ok(());
        }
        if !expired.is_empty() {
            return Err(SignatureError::Expired {
                suite: suite.to_owned(),
                keys: expired.join(", "),
                keyring: self.path.clone(),
            });
        }
        Err(SignatureError::UnknownKey {
            suite: suite.to_owned(),
            keys: if unknown.is_empty() {
                "(no signature)".to_owned()
            } else {
                unknown.join(", ")
            },
            keyring: self.path.clone(),
        })
    }

    /// The trusted (sub)key that issued `sig`, and when that key expires.
    fn signer(&self, sig: &Signature) -> Option<(SignerKey<'_>, Option<SystemTime>)> {
        let matches = |id: &[u8], fp: &[u8]| {
            sig.issuer_fingerprint().iter().any(|f| f.as_bytes() == fp)
                || sig.issuer_key_id().iter().any(|k| k.as_ref() == id)
        };
        for key in &self.keys {
            let primary = &key.primary_key;
            if matches(
                primary.legacy_key_id().as_ref(),
                primary.fingerprint().as_bytes(),
            ) {
                let self_sigs = key.details.users.iter().flat_map(|u| u.signatures.iter());
                let exp = expiry(primary.created_at().into(), self_sigs);
                return Some((SignerKey::Primary(key), exp));
            }
            for sub in &key.public_subkeys {
                if matches(
                    sub.key.legacy_key_id().as_ref(),
                    sub.key.fingerprint().as_bytes(),
                ) {
                    let exp = expiry(sub.key.created_at().into(), sub.signatures.iter());
                    return Some((SignerKey::Sub(sub), exp));
                }
            }
        }
        None
    }
}

/// The key that verifies: a primary key or one of its subkeys.
enum SignerKey<'a> {
    Primary(&'a SignedPublicKey),
    Sub(&'a pgp::composed::SignedPublicSubKey),
}

impl SignerKey<'_> {
    fn verify(&self, sig: &Signature, data: &[u8]) -> pgp::errors::Result<()> {
        match self {
            SignerKey::Primary(k) => sig.verify(&k.primary_key, data),
            SignerKey::Sub(k) => sig.verify(&k.key, data),
        }
    }
}

/// The key's expiry from its newest self-signature that sets one (none = never expires).
fn expiry<'a>(
    created: SystemTime,
    sigs: impl Iterator<Item = &'a Signature>,
) -> Option<SystemTime> {
    let newest = sigs
        .filter(|s| s.created().is_some())
        .max_by_key(|s| s.created().map(|t| t.as_secs()))?;
    let secs = newest.key_expiration_time()?.as_secs();
    (secs != 0).then(|| created + Duration::from_secs(u64::from(secs)))
}

/// The issuer as gpg prints it: the fingerprint when the signature carries it, else the key id.
fn issuer_name(sig: &Signature) -> String {
    if let Some(fp) = sig.issuer_fingerprint().first() {
        return hex::encode_upper(fp.as_bytes());
    }
    sig.issuer_key_id()
        .first()
        .map(|k| hex::encode_upper(k.as_ref()))
        .unwrap_or_else(|| "(no issuer)".to_owned())
}
