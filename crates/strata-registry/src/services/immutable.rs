//! Tag immutability, as Harbor's rules: a tag whose repository and name match a rule can be
//! pushed once and never moved to another manifest nor deleted (a re-push of the same
//! manifest is accepted). Patterns are globs: in repositories `*` stays within one path
//! component and `**` crosses them (`team/**`); tags have no `/`.

use globset::{Glob, GlobBuilder, GlobMatcher};
use serde::Deserialize;
use thiserror::Error;

/// One rule as written in the configuration (`[[immutable_tags]]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImmutableRuleConfig {
    /// Repositories the rule covers (`team/**`, `base`, `**` for every one).
    pub repository: String,
    /// Tags it covers (`v*`, `release-*`).
    pub tag: String,
}

/// A pattern that is no glob.
#[derive(Debug, Error)]
#[error("immutable tag rule {repository}:{tag}: bad pattern")]
pub struct RuleError {
    pub repository: String,
    pub tag: String,
    #[source]
    pub source: globset::Error,
}

/// The compiled rules.
#[derive(Clone, Debug, Default)]
pub struct ImmutableTags {
    rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
struct Rule {
    shown: String,
    repository: GlobMatcher,
    tag: GlobMatcher,
}

impl ImmutableTags {
    /// Compiles the configured rules; a bad pattern is an error naming the rule.
    pub fn new(rules: &[ImmutableRuleConfig]) -> Result<ImmutableTags, RuleError> {
        let rules = rules.iter().map(compile).collect::<Result<_, _>>()?;
        Ok(ImmutableTags { rules })
    }

    /// The rule (`repository:tag` as written) that makes `tag` of `repository` immutable.
    pub fn rule_for(&self, repository: &str, tag: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.repository.is_match(repository) && r.tag.is_match(tag))
            .map(|r| r.shown.as_str())
    }

    /// Whether no rule is configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn compile(rule: &ImmutableRuleConfig) -> Result<Rule, RuleError> {
    let err = |source| RuleError {
        repository: rule.repository.clone(),
        tag: rule.tag.clone(),
        source,
    };
    let repository = GlobBuilder::new(&rule.repository)
        .literal_separator(true)
        .build()
        .map_err(err)?
        .compile_matcher();
    let tag = Glob::new(&rule.tag).map_err(err)?.compile_matcher();
    Ok(Rule {
        shown: format!("{}:{}", rule.repository, rule.tag),
        repository,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[(&str, &str)]) -> ImmutableTags {
        let list: Vec<_> = list
            .iter()
            .map(|(r, t)| ImmutableRuleConfig {
                repository: (*r).into(),
                tag: (*t).into(),
            })
            .collect();
        ImmutableTags::new(&list).unwrap()
    }

    #[test]
    fn repositories_match_by_component_and_double_star_crosses_them() {
        let r = rules(&[("team/*", "v*"), ("base/**", "stable")]);
        assert_eq!(r.rule_for("team/app", "v1.2.0"), Some("team/*:v*"));
        assert_eq!(
            r.rule_for("team/app/sub", "v1"),
            None,
            "* stays in a component"
        );
        assert_eq!(r.rule_for("team/app", "latest"), None);
        assert_eq!(
            r.rule_for("base/debian/slim", "stable"),
            Some("base/**:stable")
        );
        assert_eq!(r.rule_for("other", "v1"), None);
    }

    #[test]
    fn a_bad_pattern_names_its_rule() {
        let err = ImmutableTags::new(&[ImmutableRuleConfig {
            repository: "team/[".into(),
            tag: "v*".into(),
        }])
        .unwrap_err();
        assert_eq!(err.to_string(), "immutable tag rule team/[:v*: bad pattern");
    }
}
