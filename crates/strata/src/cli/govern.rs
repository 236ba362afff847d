//! The governance verbs' arguments (docs/GOVERN.md "CLI"): owners, labels, promotion,
//! promotions, lineage and `rebuild --dependents-of`. Each talks to the registry named in
//! its IMAGE or REPO, with the credentials and TLS settings `strata pull` uses.

use clap::{Args, Subcommand};
use strata_oci::Reference;

use super::Format;

#[derive(Subcommand, Debug)]
pub enum OwnerCommand {
    /// Set the team owning a repository (REPO = registry/repository)
    Set {
        repo: RepoName,
        team: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show a repository's owner
    Show {
        repo: RepoName,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
pub enum LabelCommand {
    /// Add promotion labels to an image (registry/repo:tag or registry/repo@digest)
    Add {
        image: Reference,
        #[arg(required = true)]
        labels: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Remove labels from an image (an absent label is an error)
    Rm {
        image: Reference,
        #[arg(required = true)]
        labels: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List an image's labels
    Ls {
        image: Reference,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Args, Debug)]
pub struct PromoteArgs {
    /// registry/repo:tag or registry/repo@digest
    pub image: Reference,
    /// The environment: the label added once the registry's gates pass
    pub env: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct PromotionsArgs {
    /// registry/repository
    pub repo: RepoName,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Subcommand, Debug)]
pub enum LineageCommand {
    /// The tree of images derived from ROOT, or (with --registry) every tree of a registry
    Tree {
        /// The root image: registry/repo:tag or registry/repo@digest (named `tree_root`
        /// inside: `root` is the global --root)
        #[arg(
            value_name = "ROOT",
            required_unless_present = "registry",
            conflicts_with = "registry"
        )]
        tree_root: Option<Reference>,
        /// The registry (host[:port]) whose whole forest to show
        #[arg(long, value_name = "HOST")]
        registry: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Every image downstream of IMAGE
    Dependents {
        image: Reference,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Args, Debug)]
pub struct RebuildArgs {
    /// Rebuild every image downstream of what this tag named before (or of this digest)
    #[arg(long = "dependents-of", value_name = "IMAGE")]
    pub dependents_of: Reference,
    /// Print the plan (waves, images, sources, new tags) and do nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How many images of a wave build at once
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Re-base images whose own layers are all COPY --link layers instead of rebuilding
    #[arg(long)]
    pub rebase: bool,
    /// Progress output of the builds
    #[arg(long, value_enum, default_value_t = super::ProgressKind::Plain)]
    pub progress: super::ProgressKind,
}

/// `registry/repository`: a reference without tag or digest.
#[derive(Clone, Debug)]
pub struct RepoName(pub Reference);

impl std::str::FromStr for RepoName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let r = Reference::parse_name_only(s).map_err(|e| e.to_string())?;
        if r.tag().is_some() || r.digest().is_some() {
            return Err(format!(
                "{s}: a repository (registry/repository), without tag or digest"
            ));
        }
        Ok(RepoName(r))
    }
}
