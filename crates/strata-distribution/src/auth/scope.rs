//! Token scopes, docker's token spec:
//!
//! ```text
//! scope         := resourcescope [ ' ' resourcescope ]*
//! resourcescope := resourcetype ":" resourcename ":" action [ ',' action ]*
//! resourcetype  := resourcetypevalue [ '(' resourcetypevalue ')' ]
//! ```
//!
//! The name may itself hold `:` (a registry host with a port), so the type ends at the
//! first `:` and the actions start after the last one. Actions are kept sorted and unique,
//! so equal scopes render equally (a token cache can key on the string).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::names::RepositoryName;

pub const PULL: &str = "pull";
pub const PUSH: &str = "push";
pub const DELETE: &str = "delete";
pub const ALL: &str = "*";

/// Why a scope string does not parse.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("invalid scope {scope:?}: {reason}")]
    Invalid { scope: String, reason: &'static str },
}

/// `repository:team/app:pull,push`, `registry:catalog:*`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub resource_type: String,
    pub name: String,
    pub actions: BTreeSet<String>,
}

impl Scope {
    pub fn new<'a>(
        resource_type: &str,
        name: &str,
        actions: impl IntoIterator<Item = &'a str>,
    ) -> Scope {
        Scope {
            resource_type: resource_type.to_owned(),
            name: name.to_owned(),
            actions: actions.into_iter().map(str::to_owned).collect(),
        }
    }

    /// `repository:<name>:<actions>`.
    pub fn repository<'a>(
        name: &RepositoryName,
        actions: impl IntoIterator<Item = &'a str>,
    ) -> Scope {
        Scope::new("repository", name.as_str(), actions)
    }

    /// `registry:catalog:*`, what `_catalog` needs.
    pub fn catalog() -> Scope {
        Scope::new("registry", "catalog", [ALL])
    }

    /// Whether both name the same resource (type and name).
    pub fn same_resource(&self, other: &Scope) -> bool {
        self.resource_type == other.resource_type && self.name == other.name
    }

    /// Whether a token granted `self` allows everything `wanted` asks (`*` allows all).
    pub fn covers(&self, wanted: &Scope) -> bool {
        self.same_resource(wanted)
            && (self.actions.contains(ALL) || wanted.actions.is_subset(&self.actions))
    }

    /// Parses a space-separated list (the `scope` parameter of a challenge).
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, ScopeError> {
        s.split(' ')
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }

    /// Merges scopes of the same resource into one with the union of their actions, keeping
    /// the first appearance's order.
    pub fn merge(scopes: impl IntoIterator<Item = Scope>) -> Vec<Scope> {
        let mut out: Vec<Scope> = Vec::new();
        for scope in scopes {
            match out.iter_mut().find(|s| s.same_resource(&scope)) {
                Some(existing) => existing.actions.extend(scope.actions),
                None => out.push(scope),
            }
        }
        out
    }
}

fn valid_type(t: &str) -> bool {
    let (base, class) = match t.split_once('(') {
        Some((base, rest)) => match rest.strip_suffix(')') {
            Some(class) => (base, Some(class)),
            None => return false,
        },
        None => (t, None),
    };
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric());
    word(base) && class.is_none_or(word)
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, ScopeError> {
        let err = |reason| ScopeError::Invalid {
            scope: s.to_owned(),
            reason,
        };
        let (resource_type, rest) = s.split_once(':').ok_or(err("expected TYPE:NAME:ACTIONS"))?;
        let (name, actions) = rest
            .rsplit_once(':')
            .ok_or(err("expected TYPE:NAME:ACTIONS"))?;
        if !valid_type(resource_type) {
            return Err(err(
                "resource type must be letters and digits, as type or type(class)",
            ));
        }
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ',') {
            return Err(err(
                "resource name must be non-empty without spaces or commas",
            ));
        }
        let actions: BTreeSet<String> = actions.split(',').map(str::to_owned).collect();
        let valid_action =
            |a: &String| a == ALL || (!a.is_empty() && a.bytes().all(|b| b.is_ascii_lowercase()));
        if !actions.iter().all(valid_action) {
            return Err(err("actions must be [a-z]+ or *, separated by commas"));
        }
        Ok(Scope {
            resource_type: resource_type.to_owned(),
            name: name.to_owned(),
            actions,
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actions: Vec<&str> = self.actions.iter().map(String::as_str).collect();
        write!(
            f,
            "{}:{}:{}",
            self.resource_type,
            self.name,
            actions.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Scope {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_render() {
        let cases = [
            (
                "repository:a/b:pull,push",
                "repository",
                "a/b",
                vec!["pull", "push"],
            ),
            (
                "repository:a/b:push,pull",
                "repository",
                "a/b",
                vec!["pull", "push"],
            ),
            ("repository:a:pull,pull", "repository", "a", vec!["pull"]),
            ("registry:catalog:*", "registry", "catalog", vec!["*"]),
            (
                "repository(plugin):localhost:5000/x:pull",
                "repository(plugin)",
                "localhost:5000/x",
                vec!["pull"],
            ),
            (
                "repository:a:delete,pull,push",
                "repository",
                "a",
                vec!["delete", "pull", "push"],
            ),
        ];
        for (text, ty, name, actions) in cases {
            let s = scope(text);
            assert_eq!(
                (s.resource_type.as_str(), s.name.as_str()),
                (ty, name),
                "{text}"
            );
            assert_eq!(
                s.actions.iter().map(String::as_str).collect::<Vec<_>>(),
                actions
            );
            assert_eq!(scope(&s.to_string()), s, "{text} round trip");
        }
        assert_eq!(
            scope("repository:a/b:push,pull").to_string(),
            "repository:a/b:pull,push"
        );
        let name: RepositoryName = "a/b".parse().unwrap();
        assert_eq!(
            Scope::repository(&name, [PULL, PUSH]).to_string(),
            "repository:a/b:pull,push"
        );
        assert_eq!(Scope::catalog().to_string(), "registry:catalog:*");
    }

    #[test]
    fn malformed_scopes() {
        for bad in [
            "",
            "repository",
            "repository:a",
            "repository::pull",
            "repository:a:",
            "repository:a:pull,",
            "repository:a:PULL",
            "repository:a:pu ll",
            ":a:pull",
            "repo-sitory:a:pull",
            "repository(:a:pull",
            "repository(x:a:pull",
            "repository():a:pull",
            "repository:a b:pull",
        ] {
            assert!(
                matches!(bad.parse::<Scope>(), Err(ScopeError::Invalid { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn lists_merge_and_cover() {
        let list =
            Scope::parse_list("repository:a:pull  repository:b:push repository:a:push").unwrap();
        assert_eq!(list.len(), 3);
        let merged = Scope::merge(list);
        let rendered: Vec<String> = merged.iter().map(Scope::to_string).collect();
        assert_eq!(rendered, ["repository:a:pull,push", "repository:b:push"]);
        assert!(Scope::parse_list("repository:a:pull x").is_err());
        assert_eq!(Scope::parse_list("").unwrap(), vec![]);

        let granted = scope("repository:a:pull,push");
        assert!(granted.covers(&scope("repository:a:pull")));
        assert!(granted.covers(&scope("repository:a:push,pull")));
        assert!(!granted.covers(&scope("repository:a:delete")));
        assert!(!granted.covers(&scope("repository:b:pull")));
        assert!(!granted.covers(&scope("registry:a:pull")));
        assert!(scope("repository:a:*").covers(&scope("repository:a:delete,pull")));
    }
}
