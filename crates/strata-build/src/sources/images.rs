//! Images named by `FROM` and `--from` (COPY, RUN mounts): from the store, pulled through an
//! [`ImagePuller`] when missing (or every build, with `--pull`), never with `--pull=never`.
//!
//! The builder does no HTTP: the binary hands it a puller (the registry client). The puller
//! also says what a name stands for, as podman's libimage does for a short name: the
//! names it may be stored under (the first stored one is used) and the references to pull
//! it from (tried in order until one succeeds; each failure is kept for the error). Each
//! name is pulled at most once per build, even when several stages name it at the same time.

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

    /// The fully qualified names `name` may be stored under, in lookup order (default:
    /// docker's normalisation, `app:1` is `docker.io/library/app:1`).
    fn local_candidates(&self, name: &str) -> Result<Vec<Reference>, PullError> {
        Ok(vec![Reference::parse(name)?])
    }

    /// The references to pull `name` from, tried in order until one succeeds (default:
    /// docker's normalisation).
    fn pull_candidates(&self, name: &str) -> Result<Vec<Reference>, PullError> {
        Ok(vec![Reference::parse(name)?])
    }
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
    /// Every candidate of a short name failed.
    #[error(
        "pulling {name}: no candidate could be pulled:{}",
        list_failures(failures)
    )]
    PullCandidates {
        name: String,
        failures: Vec<FailedPull>,
    },
    #[error("resolving the image name {name}")]
    Resolve {
        name: String,
        #[source]
        source: PullError,
    },
    #[error(transparent)]
    Store(strata_content::Error),
}

/// One candidate that could not be pulled.
#[derive(Debug)]
pub struct FailedPull {
    pub reference: String,
    pub error: PullError,
}

/// One line per candidate with its error and causes (several errors cannot be one
/// `source`).
fn list_failures(failures: &[FailedPull]) -> String {
    let mut text = String::new();
    for failure in failures {
        let mut line = failure.error.to_string();
        let mut cause = std::error::Error::source(&*failure.error);
        while let Some(c) = cause {
            let c_text = c.to_string();
            if !line.contains(&c_text) {
                line = format!("{line}: {c_text}");
            }
            cause = c.source();
        }
        text.push_str(&format!("\n * {}: {line}", failure.reference));
    }
    text
}

/// The images of one build.
pub(crate) struct Images<'a> {
    store: &'a Store,
    policy: PullPolicy,
    puller: Option<&'a dyn ImagePuller>,
    progress: &'a dyn Progress,
    /// Names pulled in this build, and what each gave.
    pulled: Mutex<HashMap<String, Arc<Mutex<Option<Pulled>>>>>,
}

/// The manifest digest a pull stored and the reference it was pulled from.
type Pulled = (Digest, Reference);

/// An image a name resolved to, with the full reference it was found or pulled under
/// (`None` for a name that is no reference: an image ID).
pub(crate) struct Resolved {
    pub image: Image,
    pub reference: Option<Reference>,
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
        self.resolve(name).map(|r| r.image)
    }

    /// [`Images::get`], with the reference the image was found or pulled under. The image's
    /// use (as a base or a --from source) is recorded for `prune --keep-last`.
    pub fn resolve(&self, name: &str) -> Result<Resolved, ImageError> {
        let resolved = self.lookup(name)?;
        let digest = &resolved.image.manifest_digest;
        if let Err(e) = self.store.touch_image(digest) {
            tracing::warn!(image = %digest, error = %e, "cannot record the image's use");
        }
        Ok(resolved)
    }

    fn lookup(&self, name: &str) -> Result<Resolved, ImageError> {
        let Ok(reference) = Reference::parse(name) else {
            let image = self.stored(name)?.ok_or(ImageError::Missing)?;
            return Ok(Resolved {
                image,
                reference: None,
            });
        };
        // A digest names one manifest for ever: stored means current, even with Always.
        if self.policy != PullPolicy::Always || reference.digest().is_some() {
            if let Some(found) = self.find(name, &reference)? {
                return Ok(found);
            }
        }
        let (digest, reference) = self.pull_once(name)?;
        let image = self.store.image(&digest).map_err(ImageError::Store)?;
        Ok(Resolved {
            image,
            reference: Some(reference),
        })
    }

    /// The stored image under the first of `name`'s candidates that the store has, else
    /// `name` itself (an image ID or its prefix).
    fn find(&self, name: &str, reference: &Reference) -> Result<Option<Resolved>, ImageError> {
        if let Some(puller) = self.puller {
            let candidates =
                puller
                    .local_candidates(name)
                    .map_err(|source| ImageError::Resolve {
                        name: name.to_owned(),
                        source,
                    })?;
            for candidate in candidates {
                if let Some(image) = self.stored(&candidate.to_string())? {
                    return Ok(Some(Resolved {
                        image,
                        reference: Some(candidate),
                    }));
                }
            }
        }
        Ok(self.stored(name)?.map(|image| Resolved {
            image,
            reference: Some(reference.clone()),
        }))
    }

    fn stored(&self, name: &str) -> Result<Option<Image>, ImageError> {
        match self.store.resolve(name) {
            Ok(image) => Ok(Some(image)),
            Err(strata_content::Error::NoSuchImage { .. }) => Ok(None),
            Err(e) => Err(ImageError::Store(e)),
        }
    }

    /// Pulls `name` unless this build already did; concurrent callers wait for the first.
    fn pull_once(&self, name: &str) -> Result<(Digest, Reference), ImageError> {
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
        if let Some(pulled) = &*slot {
            return Ok(pulled.clone());
        }
        let candidates = puller
            .pull_candidates(name)
            .map_err(|source| ImageError::Resolve {
                name: name.to_owned(),
                source,
            })?;
        let pulled = self.pull_first(puller, name, &candidates)?;
        *slot = Some(pulled.clone());
        Ok(pulled)
    }

    /// The first candidate that pulls, each announced (`pulling REF`).
    fn pull_first(
        &self,
        puller: &dyn ImagePuller,
        name: &str,
        candidates: &[Reference],
    ) -> Result<(Digest, Reference), ImageError> {
        let say = |text: String| self.progress.event(Event::Message(text));
        let mut failures = Vec::new();
        for reference in candidates {
            say(format!("pulling {reference}"));
            match puller.pull(self.store, reference) {
                Ok(digest) => {
                    say(format!("pulled {reference}@{digest}"));
                    return Ok((digest, reference.clone()));
                }
                Err(error) => failures.push(FailedPull {
                    reference: reference.to_string(),
                    error,
                }),
            }
        }
        match failures.len() {
            1 => {
                let failure = failures.remove(0);
                Err(ImageError::Pull {
                    reference: failure.reference,
                    source: failure.error,
                })
            }
            _ => Err(ImageError::PullCandidates {
                name: name.to_owned(),
                failures,
            }),
        }
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
            let image = crate::output::export::commit_image(store, &state, Default::default())?;
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

    /// A puller whose short names search `a.test` then `b.test`, and where only the
    /// registries in `has` hold the image (it imports one for them).
    #[derive(Debug)]
    struct Searching {
        has: Vec<&'static str>,
        importer: Importer,
        enforcing: bool,
    }

    impl Searching {
        fn new(has: &[&'static str]) -> Searching {
            Searching {
                has: has.to_vec(),
                importer: Importer::default(),
                enforcing: false,
            }
        }

        fn qualify(name: &str) -> Vec<Reference> {
            let short = !name.split('/').next().unwrap().contains('.');
            match short {
                true => ["a.test", "b.test"]
                    .iter()
                    .map(|r| Reference::parse(&format!("{r}/{name}")).unwrap())
                    .collect(),
                false => vec![Reference::parse(name).unwrap()],
            }
        }
    }

    impl ImagePuller for Searching {
        fn pull(&self, store: &Store, reference: &Reference) -> Result<Digest, PullError> {
            match self.has.contains(&reference.registry()) {
                true => self.importer.pull(store, reference),
                false => Err(format!("{reference}: manifest unknown").into()),
            }
        }

        fn local_candidates(&self, name: &str) -> Result<Vec<Reference>, PullError> {
            Ok(Searching::qualify(name))
        }

        fn pull_candidates(&self, name: &str) -> Result<Vec<Reference>, PullError> {
            match self.enforcing {
                true => Err("short-name resolution enforced".into()),
                false => Ok(Searching::qualify(name)),
            }
        }
    }

    /// Keeps the progress messages.
    #[derive(Default)]
    struct Messages(Mutex<Vec<String>>);

    impl Progress for Messages {
        fn event(&self, event: Event) {
            if let Event::Message(m) = event {
                self.0.lock().unwrap().push(m);
            }
        }
    }

    #[test]
    fn a_short_name_is_pulled_from_the_first_candidate_that_has_it_then_found_stored() {
        let (_d, store) = store();
        let puller = Searching::new(&["b.test"]);
        let messages = Messages::default();
        let images = Images::new(&store, PullPolicy::Missing, Some(&puller), &messages);
        let pulled = images.get("app:1").unwrap();
        let said = messages.0.lock().unwrap().clone();
        assert_eq!(said[..2], ["pulling a.test/app:1", "pulling b.test/app:1"]);
        assert!(
            said[2].starts_with("pulled b.test/app:1@sha256:"),
            "{said:?}"
        );
        let tagged = Reference::parse("b.test/app:1").unwrap();
        assert_eq!(
            store.lookup_tag(&tagged).unwrap(),
            Some(pulled.manifest_digest.clone())
        );

        let messages = Messages::default();
        let later = Images::new(&store, PullPolicy::Never, Some(&puller), &messages);
        let found = later.get("app:1").unwrap();
        assert_eq!(found.manifest_digest, pulled.manifest_digest);
        assert!(messages.0.lock().unwrap().is_empty(), "found, not pulled");
        assert_eq!(puller.importer.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_first_stored_candidate_wins() {
        let (_d, store) = store();
        let puller = Searching::new(&["a.test", "b.test"]);
        let b = Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent)
            .get("b.test/app:1")
            .unwrap();
        let found = Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent)
            .get("app:1")
            .unwrap();
        assert_eq!(found.manifest_digest, b.manifest_digest, "only b has it");
        let a = Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent)
            .get("a.test/app:1")
            .unwrap();
        let found = Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent)
            .get("app:1")
            .unwrap();
        assert_eq!(found.manifest_digest, a.manifest_digest, "a comes first");
    }

    #[test]
    fn when_no_candidate_has_it_the_error_lists_each_with_its_cause() {
        let (_d, store) = store();
        let puller = Searching::new(&[]);
        let err = Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent)
            .get("app:1")
            .unwrap_err();
        match &err {
            ImageError::PullCandidates { name, failures } => {
                assert_eq!(name, "app:1");
                let refs: Vec<_> = failures.iter().map(|f| f.reference.as_str()).collect();
                assert_eq!(refs, ["a.test/app:1", "b.test/app:1"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "pulling app:1: no candidate could be pulled:\n \
             * a.test/app:1: a.test/app:1: manifest unknown\n \
             * b.test/app:1: b.test/app:1: manifest unknown"
        );
        assert!(store.list_images().unwrap().is_empty(), "nothing stored");
    }

    #[test]
    fn a_name_that_cannot_be_resolved_for_a_pull_is_still_found_stored() {
        let (_d, store) = store();
        let mut puller = Searching::new(&["b.test"]);
        Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent)
            .get("app:1")
            .unwrap();
        puller.enforcing = true;
        let images = Images::new(&store, PullPolicy::Missing, Some(&puller), &Silent);
        images.get("app:1").unwrap();
        let err = images.get("other:1").unwrap_err();
        assert!(
            matches!(&err, ImageError::Resolve { name, .. } if name == "other:1"),
            "{err:?}"
        );
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(cause, "short-name resolution enforced");
    }
}
