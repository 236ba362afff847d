//! Dependency fields (`Depends`, `Pre-Depends`, `Provides`, `Conflicts`, `Breaks`) as
//! `deb-control(5)` writes them: `a (>= 1) | b:any, c`. Binary package indices carry no
//! architecture lists (`[amd64]`) nor build profiles (`<!nocheck>`): those are source-package
//! syntax and are refused here.

use std::fmt;

use crate::repo::Version;

/// A version operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "<<" => Op::Lt,
            // `<` and `>` are the obsolete spellings of `<=` and `>=` (deb-control(5)).
            "<=" | "<" => Op::Le,
            "=" => Op::Eq,
            ">=" | ">" => Op::Ge,
            ">>" => Op::Gt,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }

    /// Whether `have OP want` holds.
    pub fn holds(self, have: &Version, want: &Version) -> bool {
        let ord = have.cmp(want);
        match self {
            Op::Lt => ord.is_lt(),
            Op::Le => ord.is_le(),
            Op::Eq => ord.is_eq(),
            Op::Ge => ord.is_ge(),
            Op::Gt => ord.is_gt(),
        }
    }
}

/// One package reference: `name[:arch] [(op version)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub name: String,
    /// `any`, `native` or an architecture name, when qualified.
    pub arch: Option<String>,
    pub constraint: Option<(Op, Version)>,
}

impl Dep {
    /// Whether `version` satisfies the constraint (no constraint: any version).
    pub fn accepts(&self, version: &Version) -> bool {
        self.constraint
            .as_ref()
            .is_none_or(|(op, want)| op.holds(version, want))
    }
}

impl fmt::Display for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(arch) = &self.arch {
            write!(f, ":{arch}")?;
        }
        if let Some((op, v)) = &self.constraint {
            write!(f, " ({} {v})", op.as_str())?;
        }
        Ok(())
    }
}

/// `a | b`: satisfied by any one of them, the first preferred.
pub type Alternatives = Vec<Dep>;

/// A field that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("cannot parse {text:?}: {reason}")]
pub struct RelationError {
    pub text: String,
    pub reason: String,
}

/// Parses a whole field: comma-separated groups of `|`-separated alternatives.
pub fn parse(field: &str) -> Result<Vec<Alternatives>, RelationError> {
    let mut out = Vec::new();
    for group in field.split(',') {
        let group = group.trim();
        if group.is_empty() {
            continue;
        }
        let alts = group
            .split('|')
            .map(parse_one)
            .collect::<Result<Vec<_>, _>>()?;
        out.push(alts);
    }
    Ok(out)
}

fn parse_one(text: &str) -> Result<Dep, RelationError> {
    let err = |reason: &str| RelationError {
        text: text.trim().to_owned(),
        reason: reason.to_owned(),
    };
    let text = text.trim();
    let source_syntax = "architecture lists and build profiles are source-package syntax";
    let (head, constraint) = match text.split_once('(') {
        Some((head, rest)) => {
            let (inner, tail) = rest.split_once(')').ok_or_else(|| err("unclosed `(`"))?;
            if !tail.trim().is_empty() {
                return Err(err(source_syntax));
            }
            let inner = inner.trim();
            let split = inner
                .find(|c: char| !matches!(c, '<' | '>' | '='))
                .ok_or_else(|| err("no version after the operator"))?;
            let op = Op::parse(inner[..split].trim()).ok_or_else(|| err("unknown operator"))?;
            let version = Version::parse(inner[split..].trim()).map_err(|e| err(&e.to_string()))?;
            (head.trim(), Some((op, version)))
        }
        None => (text, None),
    };
    if head.contains(['[', '<']) {
        return Err(err(source_syntax));
    }
    let (name, arch) = match head.split_once(':') {
        Some((n, a)) => (n.trim(), Some(a.trim().to_owned())),
        None => (head, None),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(err("bad package name"));
    }
    Ok(Dep {
        name: name.to_owned(),
        arch,
        constraint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_alternatives_constraints_and_qualifiers() {
        let rels = parse("libc6 (>= 2.34), awk | mawk:any (<< 2:0), python3:native,").unwrap();
        assert_eq!(rels.len(), 3);
        assert_eq!(rels[0][0].to_string(), "libc6 (>= 2.34)");
        assert_eq!(rels[1].len(), 2);
        assert_eq!(rels[1][1].arch.as_deref(), Some("any"));
        assert_eq!(rels[1][1].constraint.as_ref().unwrap().0, Op::Lt);
        assert_eq!(rels[2][0].arch.as_deref(), Some("native"));
    }

    #[test]
    fn operators_hold_as_dpkg_says() {
        let v = |s| Version::parse(s).unwrap();
        let dep = |s: &str| parse(s).unwrap().remove(0).remove(0);
        assert!(dep("a (>= 1.0)").accepts(&v("1.0")));
        assert!(!dep("a (>> 1.0)").accepts(&v("1.0")));
        assert!(dep("a (<< 1.0)").accepts(&v("1.0~rc1")));
        assert!(dep("a (<= 1.0)").accepts(&v("0:1.0")));
        assert!(dep("a (= 1:2)").accepts(&v("1:2")));
        assert!(!dep("a (= 1:2)").accepts(&v("2")));
        assert!(dep("a (> 1)").accepts(&v("1")), "obsolete `>` means `>=`");
        assert!(dep("a").accepts(&v("0")));
    }

    #[test]
    fn refuses_what_binary_indices_never_hold() {
        for bad in ["a [amd64]", "a <!nocheck>", "a (>= 1", "a (~ 1)", "(>= 1)"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
