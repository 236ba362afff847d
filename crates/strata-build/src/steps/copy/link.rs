//! `COPY --link` / `ADD --link`: the layer is made on its own and linked on top of the stage.
//!
//! BuildKit (frontend/dockerfile/dockerfile2llb/convert.go, `dispatchCopy`, moby/buildkit
//! v0.24.0) copies onto `llb.Scratch()` and merges the result over the stage with `llb.Merge`
//! — only when `--chmod` is not given (`cfg.link && cfg.chmod == ""`); with `--chmod` the copy
//! is an ordinary one. A linked copy therefore:
//! - never reads the stage: the destination is not resolved through its symlinks, a
//!   destination without a trailing `/` is a file path even where the stage has a directory,
//!   and the directories above the destination are new, 0755 root-owned (they replace the
//!   stage's metadata of those directories in the final image, `/tmp` included);
//! - cannot resolve `--chown` names (scratch has no `/etc/passwd`): BuildKit fails with
//!   `invalid user index: -1`; numeric ids work;
//! - has a cache key of its own inputs only, so a new base (or an earlier step that changed)
//!   reuses the same layer. The stage's key after it combines the key before it and the
//!   link's key, so later steps still see every change before them.

use strata_oci::Digest;

use crate::state::cache::KeyBuilder;

/// Whether the step is linked: `--link` without `--chmod`.
pub fn is_linked(link: bool, chmod: Option<&str>) -> bool {
    link && chmod.is_none()
}

/// Why a linked copy's `--chown` cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("--chown={spec} with --link needs numeric ids: a linked copy has no /etc/passwd or /etc/group to look up {name:?} in")]
    ChownName { spec: String, name: String },
}

/// `--chown` of a linked copy: `uid[:gid]` numbers only (a uid alone is also the gid).
pub fn link_chown(spec: &str) -> Result<(u32, u32), LinkError> {
    let (user, group) = spec
        .split_once(':')
        .map_or((spec, None), |(u, g)| (u, Some(g)));
    let id = |name: &str| {
        name.parse::<u32>().map_err(|_| LinkError::ChownName {
            spec: spec.to_owned(),
            name: name.to_owned(),
        })
    };
    let uid = id(user)?;
    let gid = group.map(id).transpose()?.unwrap_or(uid);
    Ok((uid, gid))
}

/// The parent a linked step's key starts from: the same for every stage, so the key holds
/// only the step's own inputs.
pub fn key_base() -> Digest {
    Digest::of(b"strata link: scratch")
}

/// The stage's key after a linked step: the key before it and the step's own key.
pub fn stage_key_after(before: &Digest, link_key: &Digest) -> Digest {
    KeyBuilder::new("link-merge", before)
        .field("link", link_key.hex())
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_link_without_chmod_is_linked() {
        assert!(is_linked(true, None));
        assert!(!is_linked(true, Some("644")));
        assert!(!is_linked(false, None));
    }

    #[test]
    fn chown_of_a_linked_copy_takes_numbers_only() {
        assert_eq!(link_chown("1000"), Ok((1000, 1000)));
        assert_eq!(link_chown("1000:50"), Ok((1000, 50)));
        assert_eq!(
            link_chown("app:50"),
            Err(LinkError::ChownName {
                spec: "app:50".into(),
                name: "app".into()
            })
        );
        assert_eq!(
            link_chown("1000:app"),
            Err(LinkError::ChownName {
                spec: "1000:app".into(),
                name: "app".into()
            })
        );
    }

    #[test]
    fn the_stage_key_after_a_link_depends_on_both_keys() {
        let (a, b, l) = (Digest::of(b"a"), Digest::of(b"b"), Digest::of(b"l"));
        assert_ne!(stage_key_after(&a, &l), stage_key_after(&b, &l));
        assert_ne!(stage_key_after(&a, &l), stage_key_after(&a, &b));
        assert_eq!(stage_key_after(&a, &l), stage_key_after(&a, &l));
    }
}
