//! Who may do what: `[[auth.access]]` rules of the configuration, and robot accounts' own
//! grants. A rule names an `account` (a user, `*` for any htpasswd user, `anonymous` for
//! everyone, logged in or not), a `repository` glob (`*` within one path component, `**`
//! across them, as the tag immutability rules) with `actions` (`pull`, `push`, `delete`,
//! `*` for all three), and/or `catalog = true` (may list `/v2/_catalog`, the token scope
//! `registry:catalog:*`). What is not granted is denied. A token request gets the
//! intersection of what it asks and what the account has (the token spec's semantics).

use std::collections::BTreeSet;

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use strata_distribution::auth::scope::{ALL, DELETE, PULL, PUSH};
use strata_distribution::Scope;
use thiserror::Error;

use super::ROBOT_PREFIX;

/// The repository actions, in the order they are shown.
pub const ACTIONS: [&str; 3] = [PULL, PUSH, DELETE];
/// The account of rules for everyone, logged in or not.
pub const ANONYMOUS: &str = "anonymous";
/// The account of rules for any htpasswd user.
pub const ANY_USER: &str = "*";

/// One rule as written in the configuration (`[[auth.access]]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccessRuleConfig {
    /// `alice`, `*` (any user) or `anonymous` (everyone).
    pub account: String,
    /// Repositories the rule covers (`team/**`, `base`, `**`).
    #[serde(default)]
    pub repository: Option<String>,
    /// What it allows on them: `pull`, `push`, `delete`, `*`.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Whether the account may list the catalog (`/v2/_catalog`).
    #[serde(default)]
    pub catalog: bool,
}

/// A rule that cannot be used.
#[derive(Debug, Error)]
pub enum RuleError {
    #[error("auth access rule {index} (account {account:?}): {reason}")]
    Invalid {
        index: usize,
        account: String,
        reason: String,
    },
    #[error("auth access rule {index} (account {account:?}): bad repository pattern {pattern:?}")]
    Pattern {
        index: usize,
        account: String,
        pattern: String,
        #[source]
        source: globset::Error,
    },
}

/// Who a rule is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum AccountPattern {
    Anonymous,
    AnyUser,
    User(String),
}

#[derive(Clone, Debug)]
struct Rule {
    account: AccountPattern,
    repository: Option<GlobMatcher>,
    actions: BTreeSet<String>,
    catalog: bool,
}

/// The compiled `[[auth.access]]` rules.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

/// What a robot account may do: its repository globs and actions.
#[derive(Clone, Debug)]
pub struct RobotGrant {
    repositories: Vec<GlobMatcher>,
    actions: BTreeSet<String>,
}

/// Who is asking, as authentication established it.
#[derive(Clone, Debug)]
pub enum Identity {
    Anonymous,
    /// An htpasswd user.
    User(String),
    /// A robot account (`robot$NAME`) and its grant.
    Robot {
        name: String,
        grant: RobotGrant,
    },
}

impl Identity {
    /// The account name (`alice`, `robot$ci`), none for anonymous.
    pub fn name(&self) -> Option<String> {
        match self {
            Identity::Anonymous => None,
            Identity::User(name) => Some(name.clone()),
            Identity::Robot { name, .. } => Some(format!("{ROBOT_PREFIX}{name}")),
        }
    }
}

/// Checks a list of actions (`pull`, `push`, `delete`, `*`): the set, `*` expanded.
pub fn parse_actions<S: AsRef<str>>(actions: &[S]) -> Result<BTreeSet<String>, String> {
    if actions.is_empty() {
        return Err("no actions (pull, push, delete or *)".into());
    }
    let mut set = BTreeSet::new();
    for action in actions {
        match action.as_ref() {
            ALL => set.extend(ACTIONS.map(str::to_owned)),
            a if ACTIONS.contains(&a) => {
                set.insert(a.to_owned());
            }
            other => {
                return Err(format!(
                    "unknown action {other:?} (pull, push, delete or *)"
                ))
            }
        }
    }
    Ok(set)
}

/// Compiles a repository glob (`*` stays within a component, `**` crosses them).
pub fn repository_glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()?
        .compile_matcher())
}

impl RobotGrant {
    /// A robot's grant from its stored repository globs and actions.
    pub fn new<S: AsRef<str>>(repositories: &[S], actions: &[S]) -> Result<RobotGrant, String> {
        let repositories = repositories
            .iter()
            .map(|r| {
                repository_glob(r.as_ref())
                    .map_err(|e| format!("bad repository pattern {:?}: {e}", r.as_ref()))
            })
            .collect::<Result<_, _>>()?;
        Ok(RobotGrant {
            repositories,
            actions: parse_actions(actions)?,
        })
    }

    fn allows(&self, repository: &str) -> Option<&BTreeSet<String>> {
        self.repositories
            .iter()
            .any(|g| g.is_match(repository))
            .then_some(&self.actions)
    }
}

fn compile(index: usize, rule: &AccessRuleConfig) -> Result<Rule, RuleError> {
    let invalid = |reason: &str| RuleError::Invalid {
        index,
        account: rule.account.clone(),
        reason: reason.to_owned(),
    };
    let account = match rule.account.as_str() {
        "" => return Err(invalid("empty account")),
        ANONYMOUS => AccountPattern::Anonymous,
        ANY_USER => AccountPattern::AnyUser,
        a if a.starts_with(ROBOT_PREFIX) => {
            return Err(invalid(
                "robot accounts have their own permissions (strata registry robot create)",
            ))
        }
        a => AccountPattern::User(a.to_owned()),
    };
    let (repository, actions) = match &rule.repository {
        Some(pattern) => {
            let glob = repository_glob(pattern).map_err(|source| RuleError::Pattern {
                index,
                account: rule.account.clone(),
                pattern: pattern.clone(),
                source,
            })?;
            (
                Some(glob),
                parse_actions(&rule.actions).map_err(|r| invalid(&r))?,
            )
        }
        None if !rule.actions.is_empty() => return Err(invalid("actions without a repository")),
        None if !rule.catalog => {
            return Err(invalid(
                "a rule needs a repository (with actions) or catalog = true",
            ))
        }
        None => (None, BTreeSet::new()),
    };
    Ok(Rule {
        account,
        repository,
        actions,
        catalog: rule.catalog,
    })
}

impl Rules {
    /// Compiles the configured rules (numbered from 1 in errors).
    pub fn new(rules: &[AccessRuleConfig]) -> Result<Rules, RuleError> {
        let rules = rules
            .iter()
            .enumerate()
            .map(|(i, r)| compile(i + 1, r))
            .collect::<Result<_, _>>()?;
        Ok(Rules { rules })
    }

    /// The rules that apply to `who`: anonymous ones for everyone, `*` and named ones for
    /// htpasswd users (robots get only anonymous ones besides their own grant).
    fn for_identity<'a>(&'a self, who: &'a Identity) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| match (&r.account, who) {
            (AccountPattern::Anonymous, _) => true,
            (AccountPattern::AnyUser, Identity::User(_)) => true,
            (AccountPattern::User(name), Identity::User(user)) => name == user,
            _ => false,
        })
    }

    /// The actions of `repository` that `who` may do.
    pub fn repository_actions(&self, who: &Identity, repository: &str) -> BTreeSet<String> {
        let mut allowed: BTreeSet<String> = self
            .for_identity(who)
            .filter(|r| {
                r.repository
                    .as_ref()
                    .is_some_and(|g| g.is_match(repository))
            })
            .flat_map(|r| r.actions.iter().cloned())
            .collect();
        if let Identity::Robot { grant, .. } = who {
            allowed.extend(grant.allows(repository).into_iter().flatten().cloned());
        }
        allowed
    }

    /// Whether `who` may list the catalog.
    pub fn catalog(&self, who: &Identity) -> bool {
        self.for_identity(who).any(|r| r.catalog)
    }

    /// What of `wanted` `who` is granted: the same resource with the intersection of the
    /// actions (`*` asks for all); possibly none.
    pub fn grant(&self, who: &Identity, wanted: &Scope) -> Scope {
        let allowed: BTreeSet<String> = match (wanted.resource_type.as_str(), wanted.name.as_str())
        {
            ("repository", name) => {
                let mut asked = wanted.actions.clone();
                if asked.remove(ALL) {
                    asked.extend(ACTIONS.map(str::to_owned));
                }
                let allowed = self.repository_actions(who, name);
                asked.intersection(&allowed).cloned().collect()
            }
            ("registry", "catalog") if self.catalog(who) => wanted
                .actions
                .iter()
                .filter(|a| *a == ALL)
                .cloned()
                .collect(),
            _ => BTreeSet::new(),
        };
        Scope {
            resource_type: wanted.resource_type.clone(),
            name: wanted.name.clone(),
            actions: allowed,
        }
    }

    /// Whether `who` may do everything `wanted` asks.
    pub fn allows(&self, who: &Identity, wanted: &Scope) -> bool {
        self.grant(who, wanted).covers(wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        account: &str,
        repository: Option<&str>,
        actions: &[&str],
        catalog: bool,
    ) -> AccessRuleConfig {
        AccessRuleConfig {
            account: account.into(),
            repository: repository.map(str::to_owned),
            actions: actions.iter().map(|a| a.to_string()).collect(),
            catalog,
        }
    }

    fn scope(s: &str) -> Scope {
        s.parse().unwrap()
    }

    fn rules() -> Rules {
        Rules::new(&[
            rule("anonymous", Some("public/**"), &["pull"], false),
            rule("*", Some("shared/*"), &["pull"], false),
            rule("alice", Some("team/**"), &["pull", "push"], false),
            rule("admin", Some("**"), &["*"], true),
        ])
        .unwrap()
    }

    #[test]
    fn tokens_get_the_intersection_of_asked_and_allowed() {
        let r = rules();
        let alice = Identity::User("alice".into());
        let grant = |who: &Identity, s: &str| r.grant(who, &scope(s)).to_string();
        assert_eq!(
            grant(&alice, "repository:team/app:pull,push,delete"),
            "repository:team/app:pull,push"
        );
        assert_eq!(
            grant(&alice, "repository:team/a/b:*"),
            "repository:team/a/b:pull,push"
        );
        assert_eq!(
            grant(&alice, "repository:shared/x:pull,push"),
            "repository:shared/x:pull"
        );
        assert_eq!(
            grant(&alice, "repository:shared/x/y:pull"),
            "repository:shared/x/y:",
            "* stays in one component"
        );
        assert_eq!(
            grant(&alice, "repository:public/p:pull"),
            "repository:public/p:pull",
            "anonymous rules apply to users"
        );
        assert_eq!(grant(&alice, "registry:catalog:*"), "registry:catalog:");
        let admin = Identity::User("admin".into());
        assert_eq!(grant(&admin, "repository:x:delete"), "repository:x:delete");
        assert_eq!(grant(&admin, "registry:catalog:*"), "registry:catalog:*");
        assert_eq!(
            grant(&Identity::Anonymous, "repository:team/app:pull"),
            "repository:team/app:"
        );
        assert_eq!(
            grant(&Identity::Anonymous, "repository:public/p:pull,push"),
            "repository:public/p:pull"
        );
        assert_eq!(grant(&alice, "other:thing:pull"), "other:thing:");
        assert!(r.allows(&alice, &scope("repository:team/app:pull,push")));
        assert!(!r.allows(&alice, &scope("repository:team/app:delete")));
        assert!(
            !Rules::default().allows(&alice, &scope("repository:a:pull")),
            "deny by default"
        );
    }

    #[test]
    fn robots_have_their_own_grant_and_no_user_rules() {
        let r = rules();
        let grant = RobotGrant::new(&["ci/**"], &["pull", "push"]).unwrap();
        let robot = Identity::Robot {
            name: "ci".into(),
            grant,
        };
        assert_eq!(robot.name().as_deref(), Some("robot$ci"));
        assert!(r.allows(&robot, &scope("repository:ci/app:pull,push")));
        assert!(!r.allows(&robot, &scope("repository:ci/app:delete")));
        assert!(
            !r.allows(&robot, &scope("repository:shared/x:pull")),
            "* is users only"
        );
        assert!(r.allows(&robot, &scope("repository:public/x:pull")));
        assert!(RobotGrant::new(&["ci/**"], &["fly"]).is_err());
        assert!(RobotGrant::new(&["ci/["], &["pull"]).is_err());
    }

    #[test]
    fn bad_rules_are_named() {
        let cases = [
            (rule("", Some("a"), &["pull"], false), "empty account"),
            (
                rule("bob", Some("a"), &["fly"], false),
                "unknown action \"fly\"",
            ),
            (rule("bob", Some("a"), &[], false), "no actions"),
            (
                rule("bob", None, &["pull"], false),
                "actions without a repository",
            ),
            (rule("bob", None, &[], false), "needs a repository"),
            (
                rule("robot$ci", Some("a"), &["pull"], false),
                "robot accounts",
            ),
            (
                rule("bob", Some("a/["), &["pull"], false),
                "bad repository pattern",
            ),
        ];
        for (bad, want) in cases {
            let ok = rule("x", None, &[], true);
            let err = Rules::new(&[ok, bad]).unwrap_err().to_string();
            assert!(err.starts_with("auth access rule 2 (account"), "{err}");
            assert!(err.contains(want), "{err} lacks {want}");
        }
    }
}
