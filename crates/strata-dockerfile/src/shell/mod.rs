//! Port of BuildKit's `frontend/dockerfile/shell` word expansion (`lex.go`).
//!
//! Expands `$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`, `${V:?m}`, `${V?m}`,
//! `${V#p}`, `${V##p}`, `${V%p}`, `${V%%p}`, `${V/p/r}`, `${V//p/r}`, processes quotes and
//! the escape character, and optionally splits the result into words.

mod pattern;
mod word;

use crate::error::ExpandError;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Variables visible to an expansion. Set-but-empty (`Some("")`) differs from unset (`None`).
pub trait Env {
    fn get(&self, name: &str) -> Option<&str>;
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

/// An ordered list of `(key, value)`; the last entry for a key wins.
impl Env for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<T: Env + ?Sized> Env for &T {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}

/// The full result of one expansion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expansion {
    /// The word expanded as a single word (`ProcessWord`).
    pub result: String,
    /// The word split into words after expansion (`ProcessWords`).
    pub words: Vec<String>,
    /// Variable names that were looked up and found.
    pub matched: BTreeSet<String>,
    /// Variable names that were looked up and not set.
    pub unmatched: BTreeSet<String>,
}

impl Expansion {
    /// Every variable name the word referenced, set or not (for cache keys).
    pub fn used(&self) -> BTreeSet<String> {
        self.matched.union(&self.unmatched).cloned().collect()
    }
}

/// Shell-like word processor with BuildKit's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    raw_quotes: bool,
    raw_escapes: bool,
    skip_process_quotes: bool,
    skip_unset_env: bool,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer::new('\\')
    }
}

impl Lexer {
    /// A lexer whose escape character is `escape` (`\` or `` ` ``).
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// The escape character.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Keep quote characters in the output (`RawQuotes`).
    pub fn raw_quotes(mut self, on: bool) -> Self {
        self.raw_quotes = on;
        self
    }

    /// Keep escape characters in the output (`RawEscapes`).
    pub fn raw_escapes(mut self, on: bool) -> Self {
        self.raw_escapes = on;
        self
    }

    /// Treat quotes as ordinary characters (`SkipProcessQuotes`, used for heredoc bodies).
    pub fn skip_process_quotes(mut self, on: bool) -> Self {
        self.skip_process_quotes = on;
        self
    }

    /// Leave references to unset variables as written (`SkipUnsetEnv`).
    pub fn skip_unset_env(mut self, on: bool) -> Self {
        self.skip_unset_env = on;
        self
    }

    /// Expands `word` as one word (`ProcessWord`).
    pub fn process_word(&self, word: &str, env: &dyn Env) -> Result<String, ExpandError> {
        Ok(self.process(word, env)?.result)
    }

    /// Expands `word` and splits it into words (`ProcessWords`).
    pub fn process_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, ExpandError> {
        Ok(self.process(word, env)?.words)
    }

    /// Expands `word`, returning the single-word result, the words and the variables used.
    pub fn process(&self, word: &str, env: &dyn Env) -> Result<Expansion, ExpandError> {
        word::ShellWord::new(self, word, env).run()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        [("A", "x y"), ("E", "")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reports_used_variables() {
        let r = Lexer::new('\\').process("$A ${B:-$E}", &env()).unwrap();
        assert_eq!(r.result, "x y ");
        assert_eq!(r.matched.iter().collect::<Vec<_>>(), vec!["A", "E"]);
        assert_eq!(r.unmatched.iter().collect::<Vec<_>>(), vec!["B"]);
        assert_eq!(r.used().len(), 3);
    }

    #[test]
    fn backtick_escape() {
        let lex = Lexer::new('`');
        assert_eq!(lex.process_word("a`$A\\b", &env()).unwrap(), "a$A\\b");
    }

    #[test]
    fn skip_unset_env_keeps_references() {
        let lex = Lexer::new('\\').skip_unset_env(true);
        assert_eq!(
            lex.process_word("$X ${Y} ${Z:-d} $A", &env()).unwrap(),
            "$X ${Y} ${Z:-d} x y"
        );
    }

    #[test]
    fn skip_process_quotes_keeps_quotes() {
        let lex = Lexer::new('\\').skip_process_quotes(true);
        assert_eq!(
            lex.process_word("echo \"$A\" '$E'", &env()).unwrap(),
            "echo \"x y\" ''"
        );
    }

    #[test]
    fn pattern_modifiers() {
        let mut e = env();
        e.insert("P".into(), "a/b/c.tar.gz".into());
        let lex = Lexer::new('\\');
        let w = |s: &str| lex.process_word(s, &e).unwrap();
        assert_eq!(w("${P#*/}"), "b/c.tar.gz");
        assert_eq!(w("${P##*/}"), "c.tar.gz");
        assert_eq!(w("${P%.*}"), "a/b/c.tar");
        assert_eq!(w("${P%%.*}"), "a/b/c");
        assert_eq!(w("${P/\\//_}"), "a_b/c.tar.gz");
        assert_eq!(w("${P//\\//_}"), "a_b_c.tar.gz");
        assert_eq!(w("${P/?/X}"), "X/b/c.tar.gz");
        assert_eq!(w("${P//b*/X}"), "a/X");
        assert_eq!(w("${Q#a}"), "");
    }

    #[test]
    fn required_variable_messages() {
        let lex = Lexer::new('\\');
        let err = lex.process_word("${X:?need X}", &env()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to process \"${X:?need X}\": X: need X"
        );
        let err = lex.process_word("${E:?}", &env()).unwrap_err();
        assert!(err.to_string().ends_with("E: is not allowed to be empty"));
    }
}
