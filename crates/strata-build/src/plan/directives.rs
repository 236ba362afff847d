//! What strata does with the parser directives `# syntax=` and `# check=`.
//!
//! - `# syntax=` names the frontend BuildKit forwards the build to
//!   (`frontend/dockerfile/parser/directives.go` DetectSyntax). strata is its own Dockerfile
//!   frontend: `docker/dockerfile` (and `-upstream`) at any version builds; another frontend is
//!   refused rather than silently replaced.
//! - `# check=` configures BuildKit's build checks (`linter/linter.go` ParseLintOptions:
//!   `skip=…;experimental=…;error=true|false`). Its syntax is checked as BuildKit does. strata
//!   does not run BuildKit's build checks during a build, so `error=true` (unless `skip=all`)
//!   would promise failures that never come: it is refused instead.

use strata_dockerfile::{Dockerfile, ParseError};

/// Checks the directives of `df`; the error names the directive's line.
pub fn check(df: &Dockerfile) -> Result<(), ParseError> {
    if let Some(syntax) = &df.directives.syntax {
        if !is_dockerfile_frontend(syntax) {
            return Err(at(
                df,
                "syntax",
                format!(
                    "# syntax={syntax}: strata builds with its own Dockerfile frontend \
                     (docker/dockerfile); other frontends are not supported"
                ),
            ));
        }
    }
    if let Some(check) = &df.directives.check {
        let opts = parse_check(check).map_err(|m| at(df, "check", m))?;
        if opts.error && !opts.skip_all {
            return Err(at(
                df,
                "check",
                format!(
                    "# check={check}: strata does not run BuildKit's build checks during a \
                     build, so error=true cannot be honoured (use skip=all, or drop error=true)"
                ),
            ));
        }
    }
    Ok(())
}

/// `docker/dockerfile[-upstream][:tag][@digest]`, with or without `docker.io/`.
fn is_dockerfile_frontend(reference: &str) -> bool {
    let r = reference.trim();
    let r = r.strip_prefix("docker.io/").unwrap_or(r);
    let name_end = r.find([':', '@']).unwrap_or(r.len());
    matches!(
        &r[..name_end],
        "docker/dockerfile" | "docker/dockerfile-upstream"
    )
}

#[derive(Debug, Default, PartialEq, Eq)]
struct CheckOptions {
    skip_all: bool,
    error: bool,
}

/// BuildKit's `ParseLintOptions`: `key=value` parts separated by `;`, keys `skip`,
/// `experimental` and `error` (a Go bool).
fn parse_check(text: &str) -> Result<CheckOptions, String> {
    let mut opts = CheckOptions::default();
    let text = text.trim();
    if text.is_empty() {
        return Ok(opts);
    }
    for part in text.splitn(3, ';') {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("invalid check option {part:?}"));
        };
        match k.trim() {
            "skip" => opts.skip_all = v.trim() == "all",
            "experimental" => {}
            "error" => {
                opts.error = go_bool(v.trim())
                    .ok_or_else(|| format!("failed to parse check option {part:?}"))?
            }
            other => return Err(format!("invalid check option {other:?}")),
        }
    }
    Ok(opts)
}

/// Go's `strconv.ParseBool`.
fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// An error at the line of the `# key=` directive.
fn at(df: &Dockerfile, key: &str, message: String) -> ParseError {
    let line = df
        .lines
        .iter()
        .position(|l| {
            let l = l.trim_start_matches('#').trim_start();
            l.len() > key.len() && l[..key.len()].eq_ignore_ascii_case(key)
        })
        .map_or(1, |i| i + 1);
    ParseError::new(line, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(text: &str) -> Result<(), String> {
        check(&strata_dockerfile::parse(text).unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn syntax_of_the_dockerfile_frontend_builds_and_another_is_refused() {
        for ok in [
            "docker/dockerfile:1",
            "docker.io/docker/dockerfile:1.7-labs",
            "docker/dockerfile",
            "docker/dockerfile-upstream:master",
            "docker/dockerfile@sha256:0123",
        ] {
            assert_eq!(
                check_text(&format!("# syntax={ok}\nFROM scratch\n")),
                Ok(()),
                "{ok}"
            );
        }
        let err =
            check_text("# escape=`\n# syntax=example.com/custom:1\nFROM scratch\n").unwrap_err();
        assert!(
            err.contains("2") && err.contains("other frontends are not supported"),
            "{err}"
        );
    }

    #[test]
    fn check_directive_is_parsed_like_buildkit_and_error_true_refused() {
        for ok in [
            "skip=all",
            "skip=StageNameCasing,JSONArgsRecommended",
            "error=false",
            "skip=all;error=true",
            "experimental=all",
        ] {
            assert_eq!(
                check_text(&format!("# check={ok}\nFROM scratch\n")),
                Ok(()),
                "{ok}"
            );
        }
        for (bad, want) in [
            ("error=true", "cannot be honoured"),
            ("skip=A;error=1", "cannot be honoured"),
            ("nonsense", "invalid check option"),
            ("color=red", "invalid check option"),
            ("error=maybe", "failed to parse check option"),
        ] {
            let err = check_text(&format!("# check={bad}\nFROM scratch\n")).unwrap_err();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }
}
