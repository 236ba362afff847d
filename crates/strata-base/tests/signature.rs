//! OpenPGP checks of real Debian Release files (network: the real mirror).

mod common;

use std::path::Path;

use strata_base::repo::signature::{Keyring, SignatureError};

fn keyring() -> Keyring {
    common::require_keyring();
    Keyring::open(Path::new(common::KEYRING)).unwrap()
}

#[test]
fn the_real_bookworm_inrelease_verifies() {
    let text = common::inrelease("bookworm");
    let release = keyring().verify_inrelease("bookworm", &text).unwrap();
    assert!(
        release.starts_with("Origin: Debian\n"),
        "{}",
        &release[..80]
    );
    assert!(release.contains("\nCodename: bookworm\n"));
    assert!(!release.contains("BEGIN PGP"));
}

#[test]
fn one_modified_byte_fails_and_names_the_suite_and_key() {
    let text = common::inrelease("bookworm");
    // Change one digit of the first SHA256 line (the signed text, not the signature).
    let at = text.find("\nSHA256:\n ").unwrap() + "\nSHA256:\n ".len();
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let text = String::from_utf8(bytes).unwrap();
    let err = keyring()
        .verify_inrelease("bookworm", &text)
        .expect_err("a modified InRelease must not verify");
    assert!(matches!(err, SignatureError::Bad { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("bookworm") && msg.contains("BAD signature"),
        "{msg}"
    );
}

#[test]
fn a_key_not_in_the_keyring_fails_and_names_the_key() {
    // Debian's keyring of retired keys: a real keyring, none of whose keys signs bookworm.
    let removed = Path::new("/usr/share/keyrings/debian-archive-removed-keys.gpg");
    common::require_keyring();
    let ring = Keyring::open(removed).unwrap();
    let err = ring
        .verify_inrelease("bookworm", &common::inrelease("bookworm"))
        .expect_err("unknown keys must not verify");
    let SignatureError::UnknownKey { keys, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(keys.len() >= 16, "the signing key ids are named: {keys}");
    assert!(err.to_string().contains("bookworm"), "{err}");
}

#[test]
fn a_missing_keyring_is_named() {
    let err = Keyring::open(Path::new("/nonexistent/keyring.gpg"))
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("/nonexistent/keyring.gpg"),
        "{err}"
    );
}
