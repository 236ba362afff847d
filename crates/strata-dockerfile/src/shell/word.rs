//! The expansion state machine (`shellWord` in BuildKit's `lex.go`).

use super::pattern::Pattern;
use super::{Env, Expansion, Lexer};
use crate::error::ExpandError;
use std::collections::BTreeSet;

enum Fail {
    Syntax(String),
    Required { name: String, message: String },
}

type R<T> = Result<T, Fail>;

fn syntax<T>(msg: impl Into<String>) -> R<T> {
    Err(Fail::Syntax(msg.into()))
}

/// Splits expanded text into words the way BuildKit's `wordsStruct` does.
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() && self.in_word {
            if !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else if !ch.is_whitespace() {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }

    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

pub(super) struct ShellWord<'a> {
    lex: &'a Lexer,
    source: &'a str,
    chars: Vec<char>,
    pos: usize,
    env: &'a dyn Env,
    raw_escapes: bool,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
}

fn is_special_param(c: char) -> bool {
    matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

impl<'a> ShellWord<'a> {
    pub(super) fn new(lex: &'a Lexer, source: &'a str, env: &'a dyn Env) -> Self {
        ShellWord {
            lex,
            source,
            chars: source.chars().collect(),
            pos: 0,
            env,
            raw_escapes: lex.raw_escapes,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
        }
    }

    pub(super) fn run(mut self) -> Result<Expansion, ExpandError> {
        let raw = self.raw_escapes;
        match self.process_stop_on(None, raw) {
            Ok((result, words)) => Ok(Expansion {
                result,
                words,
                matched: self.matched,
                unmatched: self.unmatched,
            }),
            Err(Fail::Syntax(reason)) => Err(ExpandError::Syntax {
                word: self.source.to_string(),
                reason,
            }),
            Err(Fail::Required { name, message }) => Err(ExpandError::Required {
                word: self.source.to_string(),
                name,
                message,
            }),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn get_env(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(v) => {
                self.matched.insert(name.to_string());
                Some(v.to_string())
            }
            None => {
                self.unmatched.insert(name.to_string());
                None
            }
        }
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> R<(String, Vec<String>)> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let out = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        out
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> R<(String, Vec<String>)> {
        let mut result = String::new();
        let mut words = Words::default();
        let quotes = !self.lex.skip_process_quotes;
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            if ch == '$' {
                let tmp = self.process_dollar()?;
                result.push_str(&tmp);
                words.add_string(&tmp);
            } else if quotes && (ch == '\'' || ch == '"') {
                let tmp = if ch == '\'' {
                    self.process_single_quote()?
                } else {
                    self.process_double_quote()?
                };
                result.push_str(&tmp);
                words.add_raw_string(&tmp);
            } else {
                let mut ch = self.next().unwrap_or_default();
                if ch == self.lex.escape {
                    if self.raw_escapes {
                        words.add_raw_char(ch);
                        result.push(ch);
                    }
                    match self.next() {
                        None => break,
                        Some(c) => ch = c,
                    }
                    words.add_raw_char(ch);
                } else {
                    words.add_char(ch);
                }
                result.push(ch);
            }
        }
        if let Some(stop) = stop {
            return syntax(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn process_single_quote(&mut self) -> R<String> {
        let mut result = String::new();
        let open = self.next().unwrap_or('\'');
        if self.lex.raw_quotes {
            result.push(open);
        }
        loop {
            match self.next() {
                None => {
                    return syntax(
                        "unexpected end of statement while looking for matching single-quote",
                    )
                }
                Some('\'') => {
                    if self.lex.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> R<String> {
        let mut result = String::new();
        let open = self.next().unwrap_or('"');
        if self.lex.raw_quotes {
            result.push(open);
        }
        loop {
            match self.peek() {
                None => {
                    return syntax(
                        "unexpected end of statement while looking for matching double-quote",
                    )
                }
                Some('"') => {
                    self.next();
                    if self.lex.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                }
                Some(_) => self.double_quoted_char(&mut result),
            }
        }
    }

    fn double_quoted_char(&mut self, result: &mut String) {
        let mut ch = self.next().unwrap_or_default();
        if ch == self.lex.escape {
            if self.raw_escapes {
                result.push(ch);
            }
            match self.peek() {
                None => return,
                Some(c) if c == '"' || c == '$' || c == self.lex.escape => {
                    ch = c;
                    self.next();
                }
                Some(_) => {}
            }
        }
        result.push(ch);
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_numeric() {
                while let Some(c) = self.peek().filter(|c| c.is_numeric()) {
                    name.push(c);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            name.push(ch);
            self.next();
        }
        name
    }

    fn process_dollar(&mut self) -> R<String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return syntax("syntax error: missing '}'"),
            Some('{' | '}' | ':') => return syntax("syntax error: bad substitution"),
            _ => {}
        }
        let name = self.process_name();
        let ch = self.next();
        match ch {
            Some('}') => Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(':') => {
                let op = self.next();
                self.modifier(&name, op, true)
            }
            Some(c @ ('+' | '-' | '?' | '#' | '%')) => self.modifier(&name, Some(c), false),
            Some('/') => self.substitute(&name),
            other => syntax(format!(
                "unsupported modifier ({}) in substitution",
                other.unwrap_or('\u{fffd}')
            )),
        }
    }

    fn read_until_brace(&mut self, raw_escapes: bool) -> R<String> {
        match self.process_stop_on(Some('}'), raw_escapes) {
            Ok((word, _)) => Ok(word),
            Err(_) if self.peek().is_none() => syntax("syntax error: missing '}'"),
            Err(e) => Err(e),
        }
    }

    /// `${name<op>word}` and `${name:<op>word}`.
    fn modifier(&mut self, name: &str, op: Option<char>, null_is_unset: bool) -> R<String> {
        let raw = matches!(op, Some('#' | '%'));
        let word = self.read_until_brace(raw)?;
        let value = self.get_env(name);
        let chs = format!(
            "{}{}",
            if null_is_unset { ":" } else { "" },
            op.unwrap_or('\u{fffd}')
        );
        if self.lex.skip_unset_env && value.is_none() {
            return Ok(format!("${{{name}{chs}{word}}}"));
        }
        let empty = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match op {
            Some('-') => Ok(if empty {
                word
            } else {
                value.unwrap_or_default()
            }),
            Some('+') => Ok(if empty { String::new() } else { word }),
            Some('?') => self.required(name, value, null_is_unset, word),
            Some(c @ ('#' | '%')) => trim(c, &word, &value.unwrap_or_default()),
            _ => syntax(format!("unsupported modifier ({chs}) in substitution")),
        }
    }

    fn required(
        &self,
        name: &str,
        value: Option<String>,
        null_is_unset: bool,
        word: String,
    ) -> R<String> {
        let fail = |default: &str| {
            let message = if word.is_empty() {
                default.to_string()
            } else {
                word.clone()
            };
            Err(Fail::Required {
                name: name.to_string(),
                message,
            })
        };
        match value {
            None => fail("is not allowed to be unset"),
            Some(v) if null_is_unset && v.is_empty() => fail("is not allowed to be empty"),
            Some(v) => Ok(v),
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`.
    fn substitute(&mut self, name: &str) -> R<String> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let pattern = match self.process_stop_on(Some('/'), true) {
            Ok((w, _)) => w,
            Err(_) if self.peek().is_none() => return syntax("syntax error: missing '/' in ${}"),
            Err(e) => return Err(e),
        };
        let replacement = self.read_until_brace(true)?;
        let value = self.get_env(name);
        let Some(value) = value else {
            if self.lex.skip_unset_env {
                return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
            }
            return Ok(String::new());
        };
        let re = Pattern::compile(&pattern).map_err(|e| {
            Fail::Syntax(format!("invalid pattern ({pattern}) in substitution: {e}"))
        })?;
        Ok(re.replace(&value, &replacement, all))
    }
}

fn trim(op: char, word: &str, value: &str) -> R<String> {
    let (greedy, word) = match word.strip_prefix(op) {
        Some(w) => (true, w),
        None => (false, word),
    };
    let re = Pattern::compile(word)
        .map_err(|e| Fail::Syntax(format!("invalid pattern ({word}) in substitution: {e}")))?;
    Ok(if op == '%' {
        re.trim_suffix(value, greedy)
    } else {
        re.trim_prefix(value, greedy)
    })
}
