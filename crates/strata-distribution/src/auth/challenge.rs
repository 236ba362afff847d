//! `WWW-Authenticate` challenges, RFC 7235 §2.1 and §4.1:
//!
//! ```text
//! WWW-Authenticate = 1#challenge
//! challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param = token BWS "=" BWS ( token / quoted-string )
//! ```
//!
//! One header may hold several challenges (`Basic realm="x", Bearer realm="y"`); a comma
//! separates both parameters and challenges, so an item is a new challenge exactly when it is
//! a token not followed by `=`.

use std::fmt;

use thiserror::Error;

use super::scope::{Scope, ScopeError};

/// Why a `WWW-Authenticate` value does not parse.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChallengeError {
    #[error("unexpected {found:?} at byte {offset} of WWW-Authenticate {header:?}")]
    Unexpected {
        header: String,
        offset: usize,
        found: char,
    },
    #[error("auth parameter {param:?} has no value in WWW-Authenticate {header:?}")]
    MissingValue { header: String, param: String },
    #[error("unterminated quoted string at byte {offset} of WWW-Authenticate {header:?}")]
    Unterminated { header: String, offset: usize },
    #[error("auth parameter before any scheme in WWW-Authenticate {header:?}")]
    NoScheme { header: String },
    #[error("empty WWW-Authenticate header")]
    Empty,
}

/// One challenge: a scheme and its parameters (names lowercased, values unescaped), or a
/// token68.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
    pub token68: Option<String>,
}

impl Challenge {
    pub fn new(scheme: impl Into<String>) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            params: Vec::new(),
            token68: None,
        }
    }

    /// `Bearer realm="…",service="…",scope="… …"` as a registry sends it.
    pub fn bearer(realm: &str, service: Option<&str>, scopes: &[Scope]) -> Challenge {
        let mut c = Challenge::new("Bearer").with_param("realm", realm);
        if let Some(service) = service {
            c = c.with_param("service", service);
        }
        if !scopes.is_empty() {
            let joined: Vec<String> = scopes.iter().map(Scope::to_string).collect();
            c = c.with_param("scope", &joined.join(" "));
        }
        c
    }

    /// `Basic realm="…"`.
    pub fn basic(realm: &str) -> Challenge {
        Challenge::new("Basic").with_param("realm", realm)
    }

    pub fn with_param(mut self, name: &str, value: &str) -> Challenge {
        self.params
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Whether the scheme is `name` (schemes are case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// A parameter's value (names are case-insensitive; the first one wins).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    pub fn service(&self) -> Option<&str> {
        self.param("service")
    }

    /// The space-separated scopes of the `scope` parameter (none when it is absent).
    pub fn scopes(&self) -> Result<Vec<Scope>, ScopeError> {
        self.param("scope")
            .map_or(Ok(Vec::new()), Scope::parse_list)
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/".contains(c)
}

struct Cursor<'a> {
    header: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.header[self.pos..].chars().next()
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek().filter(|c| f(*c)) {
            self.pos += c.len_utf8();
        }
        &self.header[start..self.pos]
    }

    fn skip_ws(&mut self) -> bool {
        !self.take_while(|c| c == ' ' || c == '\t').is_empty()
    }

    fn at_item_end(&self) -> bool {
        matches!(self.peek(), None | Some(','))
    }

    fn unexpected(&self) -> ChallengeError {
        ChallengeError::Unexpected {
            header: self.header.to_owned(),
            offset: self.pos,
            found: self.peek().unwrap_or('\0'),
        }
    }

    fn quoted_string(&mut self) -> Result<String, ChallengeError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.header[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(ChallengeError::Unterminated {
            header: self.header.to_owned(),
            offset: start,
        })
    }

    /// After a scheme and whitespace: a token68 if what follows is one whole item.
    fn try_token68(&mut self) -> Option<String> {
        let save = self.pos;
        let body = self.take_while(is_token68_char);
        let pad = self.take_while(|c| c == '=');
        self.skip_ws();
        if !body.is_empty() && self.at_item_end() {
            return Some(format!("{body}{pad}"));
        }
        self.pos = save;
        None
    }
}

/// Parses every challenge of a `WWW-Authenticate` value.
pub fn parse_challenges(header: &str) -> Result<Vec<Challenge>, ChallengeError> {
    let mut p = Cursor { header, pos: 0 };
    let mut out: Vec<Challenge> = Vec::new();
    // Right after `Scheme SP`: the item that follows must be a parameter.
    let mut expect_param = false;
    loop {
        p.skip_ws();
        if p.peek() == Some(',') {
            p.pos += 1;
            expect_param = false;
            continue;
        }
        if p.peek().is_none() {
            break;
        }
        let item = p.pos;
        let token = p.take_while(is_tchar);
        if token.is_empty() {
            return Err(p.unexpected());
        }
        let spaced = p.skip_ws();
        if p.peek() == Some('=') {
            let param = param_value(&mut p, token)?;
            match out.last_mut() {
                // `Bearer realm=, service=x`: `realm=` read as a token68 was a parameter.
                Some(Challenge {
                    token68: Some(t), ..
                }) => {
                    return Err(ChallengeError::MissingValue {
                        header: header.to_owned(),
                        param: t.trim_end_matches('=').to_owned(),
                    })
                }
                Some(current) => current.params.push(param),
                None => {
                    return Err(ChallengeError::NoScheme {
                        header: header.to_owned(),
                    })
                }
            }
            expect_param = false;
        } else if expect_param {
            p.pos = item;
            return Err(p.unexpected());
        } else {
            let mut challenge = Challenge::new(token);
            if spaced {
                challenge.token68 = p.try_token68();
                expect_param = challenge.token68.is_none() && !p.at_item_end();
            }
            out.push(challenge);
            continue;
        }
        p.skip_ws();
        if !p.at_item_end() {
            return Err(p.unexpected());
        }
    }
    if out.is_empty() {
        return Err(ChallengeError::Empty);
    }
    Ok(out)
}

/// `= BWS (token / quoted-string)` after a parameter's name.
fn param_value(p: &mut Cursor<'_>, name: &str) -> Result<(String, String), ChallengeError> {
    p.pos += 1;
    p.skip_ws();
    let value = match p.peek() {
        Some('"') => p.quoted_string()?,
        _ => {
            let token = p.take_while(is_tchar);
            if token.is_empty() {
                return Err(ChallengeError::MissingValue {
                    header: p.header.to_owned(),
                    param: name.to_owned(),
                });
            }
            token.to_owned()
        }
    };
    Ok((name.to_ascii_lowercase(), value))
}

impl fmt::Display for Challenge {
    /// Renders as distribution does: `Bearer realm="…",service="…"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(t) = &self.token68 {
            return write!(f, " {t}");
        }
        for (i, (name, value)) in self.params.iter().enumerate() {
            let sep = if i == 0 { " " } else { "," };
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            write!(f, "{sep}{name}=\"{escaped}\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
