//! OCI chain ids: the names of layer snapshots.

use strata_oci::Digest;

/// The chain id of a layer: `diff_id` for the bottom layer, else
/// `sha256(parent_chain_id + " " + diff_id)`.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(parent) => Digest::of(format!("{parent} {diff_id}").as_bytes()),
    }
}

/// The chain ids of a stack of diff ids, bottom layer first.
pub fn chain_ids<'a>(diff_ids: impl IntoIterator<Item = &'a Digest>) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::new();
    for diff_id in diff_ids {
        let next = chain_id(out.last(), diff_id);
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};

    const A: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const B: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn d(s: &str) -> Digest {
        s.parse().unwrap()
    }

    #[test]
    fn chain_of_one_layer_is_its_diff_id() {
        assert_eq!(chain_ids(&[d(A)]), vec![d(A)]);
    }

    #[test]
    fn chain_id_hashes_parent_space_diff() {
        let expected = Digest::from_raw(Sha256::digest(format!("{A} {B}")).into());
        assert_eq!(chain_ids(&[d(A), d(B)])[1], expected);
        assert_eq!(chain_id(Some(&d(A)), &d(B)), expected);
    }
}
