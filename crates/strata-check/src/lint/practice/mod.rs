//! strata's own practice rules, which neither hadolint nor BuildKit has: layer order
//! ([`layers`]: dependency manifests, files deleted in a later layer), the final stage
//! ([`stages`]: compilers shipped, unpinned bases) and the build context ([`context`]:
//! `.dockerignore`). Docs: `docs/rules/<id>.md`.

mod context;
mod layers;
mod stages;

#[cfg(test)]
mod tests;

use super::DynRule;
use super::Severity::{Info, Warning};

/// The practice rule with this id.
pub fn rule(id: &str) -> Option<&'static DynRule> {
    RULES.iter().find(|r| r.id == id)
}

macro_rules! practice {
    ($id:literal, $sev:expr, $desc:literal, $check:expr) => {
        DynRule {
            id: $id,
            severity: $sev,
            description: $desc,
            url: "",
            experimental: false,
            check: $check,
        }
    };
}

/// Every practice rule, ordered by id.
pub static RULES: &[DynRule] = &[
    practice!("CompilerInFinalStage", Warning, "Compilers and build tools should stay in a build stage, not in the image that ships", stages::compiler_in_final_stage),
    practice!("DeletedInLaterLayer", Warning, "A file created in one layer and deleted by a later RUN is still shipped in the earlier layer", layers::deleted_in_later_layer),
    practice!("DependencyManifestAfterSources", Warning, "Copy dependency manifests and install dependencies before copying the sources, so source changes keep the dependency layer cached", layers::manifest_after_sources),
    practice!("DockerignoreKeepsGit", Warning, "The build context's .git directory should be excluded by .dockerignore", context::keeps_git),
    practice!("DockerignoreKeepsNodeModules", Warning, "node_modules should be excluded by .dockerignore when the context has a package.json", context::keeps_node_modules),
    practice!("DockerignoreMissing", Info, "The build context should have a .dockerignore", context::missing),
    practice!("UnpinnedBaseImage", Warning, "Base images should be pinned to a version tag or a digest, not latest or untagged", stages::unpinned_base),
];
