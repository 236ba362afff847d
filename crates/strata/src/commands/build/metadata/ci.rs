//! What the CI system says about the build, from its environment variables: GitHub Actions
//! (`GITHUB_ACTIONS=true`), GitLab CI (`GITLAB_CI=true`) and Jenkins (`JENKINS_URL`). Where
//! set, these win over git's own view (a CI checkout is often a detached HEAD with no branch
//! and a remote that carries a token). Reads only the variables it is handed.

use super::git::strip_credentials;

/// The CI's view of the source; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CiInfo {
    /// `github`, `gitlab` or `jenkins`.
    pub system: &'static str,
    /// The repository URL.
    pub source: Option<String>,
    pub revision: Option<String>,
    /// The git tag being built.
    pub version: Option<String>,
    pub branch: Option<String>,
    /// The run's URL.
    pub run: Option<String>,
}

/// The CI system the environment names, if any. `var` reads one variable (empty is unset).
pub fn detect(var: &dyn Fn(&str) -> Option<String>) -> Option<CiInfo> {
    let get = |k: &str| var(k).filter(|v| !v.is_empty());
    if get("GITHUB_ACTIONS").as_deref() == Some("true") {
        return Some(github(&get));
    }
    if get("GITLAB_CI").as_deref() == Some("true") {
        return Some(gitlab(&get));
    }
    if get("JENKINS_URL").is_some() {
        return Some(jenkins(&get));
    }
    None
}

/// From the process environment.
pub fn from_env() -> Option<CiInfo> {
    detect(&|k| std::env::var(k).ok())
}

fn github(get: &dyn Fn(&str) -> Option<String>) -> CiInfo {
    let server = get("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
    let repository = get("GITHUB_REPOSITORY");
    let source = repository.as_ref().map(|r| format!("{server}/{r}"));
    let (ref_type, ref_name) = (get("GITHUB_REF_TYPE"), get("GITHUB_REF_NAME"));
    let tag = ref_type.as_deref() == Some("tag");
    let run = match (&source, get("GITHUB_RUN_ID")) {
        (Some(src), Some(id)) => Some(format!("{src}/actions/runs/{id}")),
        _ => None,
    };
    CiInfo {
        system: "github",
        source,
        revision: get("GITHUB_SHA"),
        version: ref_name.clone().filter(|_| tag),
        // A pull request's branch is its head branch (GITHUB_REF_NAME is `N/merge`).
        branch: get("GITHUB_HEAD_REF")
            .or_else(|| ref_name.filter(|_| ref_type.as_deref() == Some("branch"))),
        run,
    }
}

fn gitlab(get: &dyn Fn(&str) -> Option<String>) -> CiInfo {
    let tag = get("CI_COMMIT_TAG");
    let branch = get("CI_COMMIT_BRANCH").or_else(|| {
        get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
            .or_else(|| get("CI_COMMIT_REF_NAME").filter(|_| tag.is_none()))
    });
    CiInfo {
        system: "gitlab",
        source: get("CI_PROJECT_URL"),
        revision: get("CI_COMMIT_SHA"),
        version: tag,
        branch,
        run: get("CI_PIPELINE_URL").or_else(|| get("CI_JOB_URL")),
    }
}

fn jenkins(get: &dyn Fn(&str) -> Option<String>) -> CiInfo {
    // GIT_BRANCH is the remote-tracking name (`origin/main`).
    let branch = get("BRANCH_NAME").or_else(|| {
        get("GIT_BRANCH").map(|b| match b.split_once('/') {
            Some(("origin", rest)) => rest.to_owned(),
            _ => b,
        })
    });
    let tag = get("TAG_NAME");
    CiInfo {
        system: "jenkins",
        source: get("GIT_URL").map(|u| strip_credentials(&u)),
        revision: get("GIT_COMMIT"),
        // A tag build's BRANCH_NAME is the tag itself.
        branch: branch.filter(|b| Some(b) != tag.as_ref()),
        version: tag,
        run: get("BUILD_URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn ci(vars: &[(&str, &str)]) -> Option<CiInfo> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        detect(&|k| map.get(k).cloned())
    }

    #[test]
    fn none_outside_ci() {
        assert_eq!(ci(&[("GITHUB_SHA", "abc")]), None);
        assert_eq!(ci(&[]), None);
    }

    #[test]
    fn github_tag_build() {
        let got = ci(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "org/app"),
            ("GITHUB_SHA", "0123"),
            ("GITHUB_REF_TYPE", "tag"),
            ("GITHUB_REF_NAME", "v2.0.0"),
            ("GITHUB_RUN_ID", "42"),
        ])
        .unwrap();
        assert_eq!(got.source.as_deref(), Some("https://github.com/org/app"));
        assert_eq!(got.revision.as_deref(), Some("0123"));
        assert_eq!(got.version.as_deref(), Some("v2.0.0"));
        assert_eq!(got.branch, None);
        assert_eq!(
            got.run.as_deref(),
            Some("https://github.com/org/app/actions/runs/42")
        );
    }

    #[test]
    fn github_branch_build() {
        let got = ci(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "org/app"),
            ("GITHUB_REF_TYPE", "branch"),
            ("GITHUB_REF_NAME", "main"),
        ])
        .unwrap();
        assert_eq!(got.branch.as_deref(), Some("main"));
        assert_eq!(got.version, None);
        assert_eq!(got.source.as_deref(), Some("https://github.com/org/app"));
    }

    #[test]
    fn gitlab_and_jenkins() {
        let got = ci(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_URL", "https://gitlab.example/g/app"),
            ("CI_COMMIT_SHA", "abcd"),
            ("CI_COMMIT_REF_NAME", "feature"),
            ("CI_JOB_URL", "https://gitlab.example/g/app/-/jobs/7"),
        ])
        .unwrap();
        assert_eq!(got.branch.as_deref(), Some("feature"));
        assert_eq!(
            got.run.as_deref(),
            Some("https://gitlab.example/g/app/-/jobs/7")
        );
        let got = ci(&[
            ("JENKINS_URL", "https://ci.example/"),
            ("GIT_URL", "https://bot:tok@git.example/app.git"),
            ("GIT_COMMIT", "ef01"),
            ("GIT_BRANCH", "origin/main"),
            ("BUILD_URL", "https://ci.example/job/app/3/"),
        ])
        .unwrap();
        assert_eq!(got.source.as_deref(), Some("https://git.example/app.git"));
        assert_eq!(got.branch.as_deref(), Some("main"));
        assert_eq!(got.run.as_deref(), Some("https://ci.example/job/app/3/"));
    }
}
