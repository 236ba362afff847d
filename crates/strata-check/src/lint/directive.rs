//! BuildKit's `# check=` parser directive (`linter.ParseLintOptions`):
//! `skip=RULE,…|all`, `error=true|false`, `experimental=RULE,…|all`, separated by `;`.
//! `skip` applies to every rule id strata knows (hadolint's and strata's too); experimental
//! rules run only when named by `experimental` (or `all`), and `skip` does not stop them.

use strata_dockerfile::Dockerfile;

/// `# check=` could not be parsed (BuildKit's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    #[error("invalid check option {0:?}")]
    Option(String),
    #[error("failed to parse check option {0:?}: invalid boolean")]
    Bool(String),
}

/// The lint configuration of a Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckConfig {
    pub skip_all: bool,
    pub skip: Vec<String>,
    pub experimental_all: bool,
    pub experimental: Vec<String>,
    /// `error=true`: a build with a finding fails before it runs anything.
    pub error: bool,
}

impl CheckConfig {
    /// Whether rule `id` runs under this configuration (BuildKit's `Linter.Run`).
    pub fn runs(&self, id: &str, experimental: bool) -> bool {
        if experimental {
            self.experimental_all || self.experimental.iter().any(|r| r == id)
        } else {
            !self.skip_all && !self.skip.iter().any(|r| r == id)
        }
    }
}

/// The configuration in force: `override_` (the `BUILDKIT_DOCKERFILE_CHECK` build argument)
/// when given, else the file's `# check=` directive.
pub fn config(df: &Dockerfile, override_: Option<&str>) -> Result<CheckConfig, DirectiveError> {
    match override_.or(df.directives.check.as_deref()) {
        Some(value) => parse(value),
        None => Ok(CheckConfig::default()),
    }
}

/// Parses a `check` value like BuildKit's `ParseLintOptions` (at most three `;` parts).
pub fn parse(value: &str) -> Result<CheckConfig, DirectiveError> {
    let value = value.trim();
    let mut config = CheckConfig::default();
    if value.is_empty() {
        return Ok(config);
    }
    for part in value.splitn(3, ';') {
        let Some((k, v)) = part.split_once('=') else {
            return Err(DirectiveError::Option(part.to_string()));
        };
        let v = v.trim();
        match k.trim() {
            "skip" if v == "all" => config.skip_all = true,
            "skip" => config.skip = list(v),
            "experimental" if v == "all" => config.experimental_all = true,
            "experimental" => config.experimental = list(v),
            "error" => config.error = parse_bool(v).ok_or(DirectiveError::Bool(part.into()))?,
            other => return Err(DirectiveError::Option(other.to_string())),
        }
    }
    Ok(config)
}

fn list(v: &str) -> Vec<String> {
    v.split(',').map(|r| r.trim().to_string()).collect()
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_buildkit_check_values() {
        let c = parse("skip=JSONArgsRecommended, DL3008;error=true").unwrap();
        assert_eq!(c.skip, ["JSONArgsRecommended", "DL3008"]);
        assert!(c.error);
        assert!(!c.runs("DL3008", false));
        assert!(c.runs("DL3009", false));
        let c = parse("skip=all;experimental=CopyIgnoredFile").unwrap();
        assert!(!c.runs("StageNameCasing", false));
        assert!(
            c.runs("CopyIgnoredFile", true),
            "skip=all leaves experimental rules"
        );
        assert!(!c.runs("InvalidDefinitionDescription", true));
        assert!(parse("experimental=all").unwrap().experimental_all);
    }

    #[test]
    fn bad_values_are_errors() {
        assert_eq!(
            parse("skip").unwrap_err(),
            DirectiveError::Option("skip".into())
        );
        assert_eq!(
            parse("foo=bar").unwrap_err(),
            DirectiveError::Option("foo".into())
        );
        assert!(matches!(parse("error=yes"), Err(DirectiveError::Bool(_))));
    }
}
