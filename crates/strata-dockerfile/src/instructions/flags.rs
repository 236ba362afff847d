//! Builder flags (`--from=x`, `--link`) parsed like BuildKit's `bflag.go`.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagType {
    Bool,
    Str,
    Strings,
}

/// A flag error; `flag` names the offending flag so the caret can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlagError {
    pub(crate) message: String,
    pub(crate) flag: Option<String>,
}

impl FlagError {
    fn new(message: String, flag: &str) -> Self {
        FlagError {
            message,
            flag: Some(flag.to_string()),
        }
    }
}

/// The flags given to one instruction, checked against the flags it accepts.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: HashMap<String, Vec<String>>,
}

impl Flags {
    /// Parses `raw` (e.g. `["--from=a", "--link"]`) against `defs`.
    pub(crate) fn parse(raw: &[String], defs: &[(&str, FlagType)]) -> Result<Flags, FlagError> {
        let mut flags = Flags::default();
        for arg in raw {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(FlagError {
                    message: format!("arg should start with -- : {arg}"),
                    flag: None,
                });
            };
            if body.is_empty() {
                break;
            }
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(_, typ)) = defs.iter().find(|(n, _)| *n == name) else {
                return Err(FlagError::new(format!("unknown flag: {name}"), name));
            };
            flags.add(name, typ, value)?;
        }
        Ok(flags)
    }

    fn add(&mut self, name: &str, typ: FlagType, value: Option<&str>) -> Result<(), FlagError> {
        if typ != FlagType::Strings && self.values.contains_key(name) {
            return Err(FlagError::new(
                format!("duplicate flag specified: {name}"),
                name,
            ));
        }
        let missing = || FlagError::new(format!("missing a value on flag: {name}"), name);
        let value = match (typ, value) {
            (FlagType::Bool, None) => "true".to_string(),
            (FlagType::Bool, Some("")) => return Err(missing()),
            (FlagType::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
                "true" => "true".to_string(),
                "false" => "false".to_string(),
                _ => {
                    return Err(FlagError::new(
                        format!("expecting boolean value for flag {name}, not: {v}"),
                        name,
                    ))
                }
            },
            (_, None) => return Err(missing()),
            (_, Some(v)) => v.to_string(),
        };
        self.values.entry(name.to_string()).or_default().push(value);
        Ok(())
    }

    /// A string flag's value, `None` when not given.
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.last().cloned())
    }

    /// A bool flag: `Some` only when given.
    pub(crate) fn bool_opt(&self, name: &str) -> Option<bool> {
        self.string(name).map(|v| v == "true")
    }

    /// A bool flag, false when not given.
    pub(crate) fn bool(&self, name: &str) -> bool {
        self.bool_opt(name).unwrap_or(false)
    }

    /// Every value of a repeatable flag.
    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: &[(&str, FlagType)] = &[
        ("from", FlagType::Str),
        ("link", FlagType::Bool),
        ("exclude", FlagType::Strings),
    ];

    fn raw(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_known_flags() {
        let f = Flags::parse(
            &raw(&["--from=a", "--link", "--exclude=x", "--exclude=y"]),
            DEFS,
        )
        .unwrap();
        assert_eq!(f.string("from").as_deref(), Some("a"));
        assert!(f.bool("link"));
        assert_eq!(f.strings("exclude"), vec!["x", "y"]);
        assert!(!Flags::parse(&raw(&["--link=False"]), DEFS)
            .unwrap()
            .bool("link"));
    }

    #[test]
    fn rejects_bad_flags() {
        let err = |v: &[&str]| Flags::parse(&raw(v), DEFS).unwrap_err().message;
        assert_eq!(err(&["--foo"]), "unknown flag: foo");
        assert_eq!(
            err(&["--from=a", "--from=b"]),
            "duplicate flag specified: from"
        );
        assert_eq!(err(&["--from"]), "missing a value on flag: from");
        assert_eq!(
            err(&["--link=maybe"]),
            "expecting boolean value for flag link, not: maybe"
        );
    }
}
