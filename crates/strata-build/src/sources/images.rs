//! Images named by `FROM` and `--from` (COPY, RUN mounts): from the store, pulled through an
//! [`ImagePuller`] when missing (or every build, with `--pull`), never with `--pull=never`.
//!
//! The builder does no HTTP: the binary hands it a puller (the registry client). Each name is
//! pulled at most once per build, even when several stages name it at the same time.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use strata_content::{Image, Store};
use strata_oci::{Digest, Reference};

use crate::progress::{Event, Progress};

/// A puller's error, kept as the cause of the build error.
pub type PullError = Box<dyn std::error::Error + Send + Sync>;

/// Fetches an image into the store (verified, tagged by its reference).
pub trait ImagePuller: Send + Sync + fmt::Debug {
    /// Pulls `reference` into `store`; returns the stored image's manifest digest.
    fn pull(&self, store: &Store, reference: &Reference) -> Result<Digest, PullError>;
}

/// `--pull`: when images named by the Dockerfile are pulled (podman's policies, buildx's
/// boolean).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull what the store does not have (the default, as docker and podman).
    #[default]
    Missing,
    /// Pull every named image again, so a moved tag is followed (`--pull`).
    Always,
    /// Never pull: an image the store does not have is an error.
    Never,
}

/// A `--pull` value that is none of the policies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown pull policy {value:?} (expected always, missing, never, true or false)")]
pub struct PullPolicyError {
    pub value: String,
}

impl FromStr for PullPolicy {
    type Err = PullPolicyError;

    /// `always`/`missing`/`never` as podman, `true`/`false` as buildx's `--pull=BOOL`.
    fn from_str(s: &str) -> Result<PullPolicy, PullPolicyError> {
        match s.to_ascii_lowercase().as_str() {
            "always" | "true" => Ok(PullPolicy::Always),
            "missing" | "false" => Ok(PullPolicy::Missing),
            "never" => Ok(PullPolicy::Never),
            _ => Err(PullPolicyError {
                value: s.to_owned(),
            }),
        }
    }
}

/// Why a named image is not available.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("no such image (load it with `strata load`, `strata import` or pull it first)")]
    Missing,
    #[error("no such image in the store, and --pull=never forbids pulling it")]
    PullForbidden,
    #[error("pulling {reference}")]
    Pull {
        reference: String,
        #[source]
        source: PullError,
    },
    #[error(transparent)]
    Store(strata_content::Error),
}

/// The images of one build.
pub(crate) struct Images<'a> {
    store: &'a Store,
    policy: PullPolicy,
    puller: Option<&'a dyn ImagePuller>,
    progress: &'a dyn Progress,
    /// Names pulled in this build, and the digest each gave.
    pulled: Mutex<HashMap<String, Arc<Mutex<Option<Digest>>>>>,
}

impl<'a> Images<'a> {
    pub fn new(
        store: &'a Store,
        policy: PullPolicy,
        puller: Option<&'a dyn ImagePuller>,
        progress: &'a dyn Progress,
    ) -> Images<'a> {
        Images {
            store,
            policy,
            puller,
            progress,
            pulled: Mutex::new(HashMap::new()),
        }
    }

    /// The image `name` names. A name that is no valid reference is looked up in the store
    /// only (an image ID, or a name the caller reports as a bad stage name).
    pub fn get(&self, name: &str) -> Result<Image, ImageError> {
        let reference = Reference::parse(name).ok();
        let refresh = self.policy == PullPolicy::Always
            && reference.as_ref().is_some_and(|r| {
                // A digest names one manifest for ever: stored means current.
                r.digest().is_none() || self.store.resolve(name).is_err()
            });
        if !refresh {
            match self.store.resolve(name) {
                Ok(image) => return Ok(image),
                Err(strata_content::Error::NoSuchImage { .. }) => {}
                Err(e) => return Err(ImageError::Store(e)),
            }
        }
        let reference = reference.ok_or(ImageError::Missing)?;
        let digest = self.pull_once(name, &reference)?;
        self.store.image(&digest).map_err(ImageError::Store)
    }

    /// Pulls `reference` unless this build already did; concurrent callers wait for the
    /// first.
    fn pull_once(&self, name: &str, reference: &Reference) -> Result<Digest, ImageError> {
        let puller = match (self.policy, self.puller) {
            (PullPolicy::Never, _) => return Err(ImageError::PullForbidden),
            (_, None) => return Err(ImageError::Missing),
            (_, Some(p)) => p,
        };
        let slot = {
            let mut map = self.pulled.lock().expect("pull map poisoned");
            map.entry(name.to_owned()).or_default().clone()
        };
        let mut slot = slot.lock().expect("pull slot poisoned");
        if let Some(d) = &*slot {
            return Ok(d.clone());
        }
        let say = |text: String| self.progress.event(Event::Message(text));
        say(format!("pulling {reference}"));
        let digest = puller
            .pull(self.store, reference)
            .map_err(|source| ImageError::Pull {
                reference: reference.to_string(),
                source,
            })?;
        say(format!("pulled {reference}@{digest}"));
        *slot = Some(digest.clone());
        Ok(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn policies_parse_as_podman_and_buildx_write_them() {
        let p = |s: &str| s.parse::<PullPolicy>();
        assert_eq!(p("always"), Ok(PullPolicy::Always));
        assert_eq!(p("TRUE"), Ok(PullPolicy::Always));
        assert_eq!(p("missing"), Ok(PullPolicy::Missing));
        assert_eq!(p("false"), Ok(PullPolicy::Missing));
        assert_eq!(p("never"), Ok(PullPolicy::Never));
        assert_eq!(
            p("newer"),
            Err(PullPolicyError {
                value: "newer".into()
            })
        );
    }

    /// A puller that imports a one-file image under the reference it is asked for.
    #[derive(Debug, Default)]
    struct Importer {
        calls: AtomicUsize,
    }

    impl ImagePuller for Importer {
        fn pull(&self, store: &Store, reference: &Reference) -> Result<Digest, PullError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let n = self.calls.load(Ordering::SeqCst);
            let mut state = crate::state::ImageState::scratch("amd64");
            let labels = &mut state.config.config.labels;
            labels.insert("pull".into(), n.to_string());
            let image = crate::output::export::commit_image(store, &state)?;
            store.tag(reference, &image.manifest_digest)?;
            Ok(image.manifest_digest)
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn missing_pulls_once_and_then_uses_the_store() {
        let (_d, store) = store();
        let puller = Importer::default();
        let images = Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent);
        let a = images.get("reg.test/app:1").unwrap();
        let b = images.get("reg.test/app:1").unwrap();
        assert_eq!(a.manifest_digest, b.manifest_digest);
        assert_eq!(puller.calls.load(Ordering::SeqCst), 1);
        let later = Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent);
        later.get("reg.test/app:1").unwrap();
        assert_eq!(puller.calls.load(Ordering::SeqCst), 1, "stored: not pulled");
    }

    #[test]
    fn always_refreshes_a_stored_tag_once_per_build() {
        let (_d, store) = store();
        let puller = Importer::default();
        let first = Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent)
            .get("reg.test/app:1")
            .unwrap();
        let images = Images::new(&store, PullPolicy::Always, Some(&puller), &Silent);
        let again = images.get("reg.test/app:1").unwrap();
        images.get("reg.test/app:1").unwrap();
        assert_eq!(puller.calls.load(Ordering::SeqCst), 2);
        assert_ne!(
            first.manifest_digest, again.manifest_digest,
            "the moved tag"
        );
    }

    #[test]
    fn never_refuses_what_the_store_lacks_and_uses_what_it_has() {
        let (_d, store) = store();
        let puller = Importer::default();
        Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent)
            .get("reg.test/app:1")
            .unwrap();
        let images = Images::new(&store, PullPolicy::Never, Some(&puller), &Silent);
        images.get("reg.test/app:1").unwrap();
        let err = images.get("reg.test/other:1").unwrap_err();
        assert!(matches!(err, ImageError::PullForbidden), "{err:?}");
        assert_eq!(puller.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn without_a_puller_a_missing_image_says_how_to_get_it() {
        let (_d, store) = store();
        let err = Images::new(&store, PullPolicy::Missing, None, &Silent)
            .get("reg.test/app:1")
            .unwrap_err();
        assert!(matches!(err, ImageError::Missing), "{err:?}");
        assert!(err.to_string().contains("strata load"));
    }

    #[test]
    fn a_failed_pull_keeps_its_cause() {
        #[derive(Debug)]
        struct Down;
        impl ImagePuller for Down {
            fn pull(&self, _: &Store, _: &Reference) -> Result<Digest, PullError> {
                Err("connection refused".into())
            }
        }
        let (_d, store) = store();
        let err = Images::new(&store, PullPolicy::Missing, Some(&Down), &Silent)
            .get("reg.test/app:1")
            .unwrap_err();
        assert_eq!(err.to_string(), "pulling reg.test/app:1");
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(cause, "connection refused");
    }
}
