//! Annotation keys a build records on the image manifest: OCI's pre-defined keys
//! (image-spec `annotations.md`) and strata's own under `org.strata.`.

pub const SOURCE: &str = "org.opencontainers.image.source";
pub const REVISION: &str = "org.opencontainers.image.revision";
pub const VERSION: &str = "org.opencontainers.image.version";
pub const CREATED: &str = "org.opencontainers.image.created";
pub const AUTHORS: &str = "org.opencontainers.image.authors";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// The git branch the build came from (OCI has no key for it).
pub const BRANCH: &str = "org.strata.git.branch";
/// The CI run that built it (a URL when the CI gives one, else `system:id`).
pub const CI_RUN: &str = "org.strata.ci.run";
/// How to build it again, JSON ([`crate::lineage::BuildRecord`]).
pub const BUILD: &str = "org.strata.build";
/// The digest a rebuild replaces.
pub const REBUILD_OF: &str = "org.strata.rebuild.of";
