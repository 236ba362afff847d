//! Container ids (64 hex, like docker's) and docker-style random names.

use crate::error::{Error, Result};

const ADJECTIVES: [&str; 24] = [
    "admiring",
    "brave",
    "clever",
    "dazzling",
    "eager",
    "focused",
    "gallant",
    "happy",
    "jolly",
    "keen",
    "loving",
    "modest",
    "nifty",
    "optimistic",
    "peaceful",
    "quirky",
    "relaxed",
    "sharp",
    "tender",
    "upbeat",
    "vibrant",
    "wizardly",
    "youthful",
    "zealous",
];

const NAMES: [&str; 24] = [
    "agnesi", "babbage", "curie", "darwin", "euler", "feynman", "gauss", "hopper", "hypatia",
    "johnson", "knuth", "lovelace", "meitner", "noether", "pascal", "ritchie", "shannon",
    "thompson", "turing", "volta", "wozniak", "yalow", "zuse", "lamarr",
];

/// A fresh random 64-hex id.
pub fn new_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::Other {
        what: "reading random bytes for a container id".into(),
        source: Some(Box::new(std::io::Error::other(e.to_string()))),
    })?;
    Ok(hex::encode(bytes))
}

/// A docker-style `adjective_name` from the id's bytes (callers retry on a clash
/// with a new id; after a few tries they append digits like docker).
pub fn random_name(id: &str, attempt: usize) -> String {
    let byte = |i: usize| usize::from_str_radix(&id[i * 2..i * 2 + 2], 16).unwrap_or(0);
    let name = format!(
        "{}_{}",
        ADJECTIVES[byte(0) % ADJECTIVES.len()],
        NAMES[byte(1) % NAMES.len()]
    );
    if attempt == 0 {
        name
    } else {
        format!("{name}{}", byte(2) % 10 + attempt)
    }
}

/// Docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(crate::error::invalid(
            "--name",
            format!("{name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"),
        ))
    }
}

/// The 12-character short id `ps` shows.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let (a, b) = (new_id().unwrap(), new_id().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(short(&a).len(), 12);
    }

    #[test]
    fn names_are_docker_like() {
        let id = "00ff".repeat(16);
        let n = random_name(&id, 0);
        assert!(n.contains('_'), "{n}");
        validate_name(&n).unwrap();
        assert_ne!(random_name(&id, 1), n);
        assert!(validate_name("-bad").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name("x").is_err());
    }
}
