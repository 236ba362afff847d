//! Layer ids: validation and OCI chain ids.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Returns the hex part of a `sha256:<64 hex>` id, or an error.
pub fn hex_of(id: &str) -> Result<&str> {
    let hex = id.strip_prefix("sha256:").filter(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    hex.ok_or_else(|| Error::InvalidId { id: id.to_string() })
}

/// The chain id of a layer: `diff_id` for the bottom layer, else
/// `sha256(parent_chain_id + " " + diff_id)`.
pub fn chain_id(parent: Option<&str>, diff_id: &str) -> String {
    match parent {
        None => diff_id.to_string(),
        Some(parent) => {
            let digest = Sha256::digest(format!("{parent} {diff_id}").as_bytes());
            format!("sha256:{}", hex::encode(digest))
        }
    }
}

/// The chain ids of a stack of diff ids, bottom layer first.
pub fn chain_ids<S: AsRef<str>>(diff_ids: &[S]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = chain_id(out.last().map(String::as_str), diff_id.as_ref());
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const B: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn chain_of_one_layer_is_its_diff_id() {
        assert_eq!(chain_ids(&[A]), vec![A.to_string()]);
    }

    #[test]
    fn chain_id_hashes_parent_space_diff() {
        let expected = format!("sha256:{}", hex::encode(Sha256::digest(format!("{A} {B}"))));
        assert_eq!(chain_ids(&[A, B])[1], expected);
        assert_eq!(chain_id(Some(A), B), expected);
    }

    #[test]
    fn ids_are_validated() {
        assert_eq!(hex_of(A).unwrap(), &A[7..]);
        for bad in ["sha256:../../etc", "md5:00", "sha256:ABCDEF", &A[..70]] {
            assert!(matches!(hex_of(bad), Err(Error::InvalidId { .. })), "{bad}");
        }
    }
}
