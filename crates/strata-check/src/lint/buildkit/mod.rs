//! BuildKit's build checks (v0.24 `frontend/dockerfile/linter/ruleset.go`): same ids,
//! descriptions, messages (BuildKit's detail text), URLs and lines, fired where
//! `dockerfile2llb/convert.go` and `instructions/parse.go` fire them:
//! - [`parse`]: what BuildKit checks while parsing (casing, stage names, MAINTAINER, empty
//!   continuation lines, description comments);
//! - [`from`]: FROM's arguments expanded with the global ARGs (undefined args, constant or
//!   redundant `--platform`, defaults that make an invalid base name);
//! - [`dispatch`]: each stage walked as the builder dispatches it (its environment, SHELL,
//!   WORKDIR and CMD/ENTRYPOINT/HEALTHCHECK carried along), for the checks of single
//!   instructions and of undefined variables;
//! - [`suggest`]: BuildKit's "did you mean" (Levenshtein distance below 3).
//!
//! Not here: `InvalidBaseImagePlatform` needs the pulled base image's platform (see
//! docs/LINT.md).

mod dispatch;
mod from;
mod parse;
mod suggest;

#[cfg(test)]
mod tests;

use super::{DynRule, Severity::Warning};

/// The BuildKit rule with this id.
pub fn rule(id: &str) -> Option<&'static DynRule> {
    RULES.iter().find(|r| r.id == id)
}

macro_rules! bk {
    ($id:literal, $slug:literal, $desc:expr, $check:expr) => {
        bk!($id, $slug, $desc, $check, false)
    };
    ($id:literal, $slug:literal, $desc:expr, $check:expr, $exp:expr) => {
        DynRule {
            id: $id,
            severity: Warning,
            description: $desc,
            url: concat!("https://docs.docker.com/go/dockerfile/rule/", $slug, "/"),
            experimental: $exp,
            check: $check,
        }
    };
}

/// Every BuildKit check strata implements, in ruleset.go's order.
pub static RULES: &[DynRule] = &[
    bk!("StageNameCasing", "stage-name-casing", "Stage names should be lowercase", parse::stage_name_casing),
    bk!("FromAsCasing", "from-as-casing", "The 'as' keyword should match the case of the 'from' keyword", parse::from_as_casing),
    bk!("NoEmptyContinuation", "no-empty-continuation", "Empty continuation lines will become errors in a future release", parse::no_empty_continuation),
    bk!("ConsistentInstructionCasing", "consistent-instruction-casing", "All commands within the Dockerfile should use the same casing (either upper or lower)", parse::consistent_casing),
    bk!("DuplicateStageName", "duplicate-stage-name", "Stage names should be unique", parse::duplicate_stage_name),
    bk!("ReservedStageName", "reserved-stage-name", "Reserved words should not be used as stage names", parse::reserved_stage_name),
    bk!("JSONArgsRecommended", "json-args-recommended", "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals", dispatch::json_args_recommended),
    bk!("MaintainerDeprecated", "maintainer-deprecated", "The MAINTAINER instruction is deprecated, use a label instead to define an image author", parse::maintainer_deprecated),
    bk!("UndefinedArgInFrom", "undefined-arg-in-from", "FROM command must use declared ARGs", from::undefined_arg_in_from),
    bk!("WorkdirRelativePath", "workdir-relative-path", "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes", dispatch::workdir_relative_path),
    bk!("UndefinedVar", "undefined-var", "Variables should be defined before their use", dispatch::undefined_var),
    bk!("MultipleInstructionsDisallowed", "multiple-instructions-disallowed", "Multiple instructions of the same type should not be used in the same stage", dispatch::multiple_instructions),
    bk!("LegacyKeyValueFormat", "legacy-key-value-format", "Legacy key/value format with whitespace separator should not be used", dispatch::legacy_key_value),
    bk!("RedundantTargetPlatform", "redundant-target-platform", "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior", from::redundant_target_platform),
    bk!("SecretsUsedInArgOrEnv", "secrets-used-in-arg-or-env", "Sensitive data should not be used in the ARG or ENV commands", dispatch::secrets_in_arg_or_env),
    bk!("InvalidDefaultArgInFrom", "invalid-default-arg-in-from", "Default value for global ARG results in an empty or invalid base image name", from::invalid_default_arg),
    bk!("FromPlatformFlagConstDisallowed", "from-platform-flag-const-disallowed", "FROM --platform flag should not use a constant value", from::const_platform),
    bk!("CopyIgnoredFile", "copy-ignored-file", "Attempting to Copy file that is excluded by .dockerignore", dispatch::copy_ignored_file, true),
    bk!("InvalidDefinitionDescription", "invalid-definition-description", "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.", parse::definition_description, true),
    bk!("ExposeProtoCasing", "expose-proto-casing", "Protocol in EXPOSE instruction should be lowercase", dispatch::expose_proto_casing),
    bk!("ExposeInvalidFormat", "expose-invalid-format", "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release", dispatch::expose_invalid_format),
];
