//! What `strata build` does with registries: pull the images `FROM` and `--from` name (the
//! builder's [`ImagePuller`], by `--pull` policy) and push the result (`--push`,
//! `--output type=registry`).

use std::fmt;
use std::sync::{Arc, OnceLock};

use anyhow::{bail, Context, Result};
use strata_build::{BuildOptions, ImagePuller, Output, PullError};
use strata_client::config::registries::ImageName;
use strata_client::{Client, PullOptions, PushOptions};
use strata_content::{Image, Store};
use strata_oci::{Digest, Reference};

use crate::progress::Mode;
use crate::transfer_progress::{TransferDisplay, Verb};

/// Pulls through the registry client, made when the build first names an image (a build
/// from scratch or from its own stages never reads the registry configuration). Short
/// names resolve through registries.conf as podman's: its aliases, `localhost/` and the
/// unqualified-search registries for the store, the aliases or search registries (by
/// `short-name-mode`) for pulls.
#[derive(Default)]
pub struct Puller {
    client: OnceLock<Client>,
}

impl fmt::Debug for Puller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("registry puller")
    }
}

impl Puller {
    fn client(&self) -> Result<&Client, PullError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let client = Client::from_env()?;
        Ok(self.client.get_or_init(|| client))
    }
}

impl ImagePuller for Puller {
    fn pull(&self, store: &Store, reference: &Reference) -> Result<Digest, PullError> {
        let pulled = self
            .client()?
            .pull_image(store, reference, &PullOptions::default())?;
        Ok(pulled.manifest_digest)
    }

    fn local_candidates(&self, name: &str) -> Result<Vec<Reference>, PullError> {
        let name: ImageName = name.parse()?;
        // A qualified name is itself: no need to read the registry configuration (a warm
        // build of `FROM reg.example/app:1` stays offline-proof and cheap).
        if !name.is_short() {
            return Ok(vec![name.reference().clone()]);
        }
        Ok(self.client()?.registries_conf().resolve_local(&name)?)
    }

    fn pull_candidates(&self, name: &str) -> Result<Vec<Reference>, PullError> {
        let name: ImageName = name.parse()?;
        Ok(self.client()?.resolve_pull(&name)?.candidates)
    }
}

/// Where the built image is pushed: each `type=registry` output's `name=`, else every
/// `-t` tag (buildx: a push needs a name). Checked before the build starts.
pub fn push_targets(opts: &BuildOptions) -> Result<Vec<Reference>> {
    let mut targets = Vec::new();
    for output in &opts.outputs {
        if let Output::Registry { name } = output {
            match name {
                Some(n) => targets.push(n.clone()),
                None if opts.tags.is_empty() => {
                    bail!("a push needs a name: tag the image with -t REGISTRY/NAME:TAG or give --output type=registry,name=REF")
                }
                None => targets.extend(opts.tags.iter().cloned()),
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    targets.retain(|t| seen.insert(t.clone()));
    Ok(targets)
}

/// Pushes `image` to every target, in order, with `docker push`'s lines (bars on a
/// terminal); the first failure stops (the error names it).
pub fn push_all(store: &Store, image: &Image, targets: &[Reference], mode: Mode) -> Result<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let client = Client::from_env()?;
    for target in targets {
        let display = Arc::new(TransferDisplay::new(mode, Verb::Push));
        display.line(format!("pushing {}", target.familiar()));
        let opts = PushOptions {
            progress: display.clone(),
            ..PushOptions::default()
        };
        let pushed = client.push_image(store, image, target, &opts);
        display.finish();
        let digest = pushed.with_context(|| format!("pushing {}", target.familiar()))?;
        display.line(format!(
            "pushing manifest for {}@{digest} done",
            target.familiar()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn every_tag_is_pushed_once_and_a_nameless_push_is_refused() {
        let mut opts = BuildOptions::new(".");
        opts.tags = vec![r("reg.test/app:v1"), r("reg.test/app:sha-1")];
        opts.outputs = vec![
            Output::Registry { name: None },
            Output::Registry {
                name: Some(r("reg.test/app:v1")),
            },
        ];
        assert_eq!(
            push_targets(&opts).unwrap(),
            [r("reg.test/app:v1"), r("reg.test/app:sha-1")]
        );
        opts.tags.clear();
        opts.outputs = vec![Output::Registry { name: None }];
        let err = push_targets(&opts).unwrap_err().to_string();
        assert!(err.starts_with("a push needs a name"), "{err}");
    }
}
