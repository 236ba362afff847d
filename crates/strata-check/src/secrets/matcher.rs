//! The compiled rules: two keyword automata (exact case, any ASCII case) find where a rule
//! may match; the rule's regex runs only on the window around each keyword hit, then the
//! secret goes through the rule's entropy minimum, allow-lists and check.

use std::collections::HashSet;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::{Regex, RegexSet};

use super::rule::Rule;
use super::rules::RULES;

/// A rule's regex and allow-lists, compiled.
struct Compiled {
    rule: &'static Rule,
    regex: Regex,
    secret: usize,
    allow_secrets: Option<RegexSet>,
    allow_paths: Option<RegexSet>,
}

/// The keywords of one automaton and the rule of each.
struct Keywords {
    /// Every keyword occurrence, overlapping ones too (run only where the scanner's fast
    /// pass found a keyword).
    automaton: AhoCorasick,
    rule_of: Vec<usize>,
}

/// A secret found in a buffer: the rule (index into [`Scanner::rules`]) and the secret's
/// byte range in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hit {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
}

/// The rules, compiled once (see the module docs).
pub struct Scanner {
    compiled: Vec<Compiled>,
    exact: Keywords,
    any_case: Keywords,
    /// Every keyword in any ASCII case, leftmost non-overlapping, as a full DFA: the one
    /// pass over all the text (one table lookup per byte), which most text leaves without a
    /// hit; the two exact automata then run only on the regions it found.
    fast: AhoCorasick,
    longest_keyword: usize,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("rules", &self.compiled.len())
            .finish_non_exhaustive()
    }
}

impl Scanner {
    /// The built-in rules ([`RULES`]), compiled on first use.
    pub fn builtin() -> &'static Scanner {
        static SCANNER: OnceLock<Scanner> = OnceLock::new();
        SCANNER.get_or_init(|| Scanner::new(RULES).expect("the built-in secret rules compile"))
    }

    /// Compiles `rules`; an error names the rule whose regex does not compile.
    pub fn new(rules: &'static [Rule]) -> Result<Scanner, RuleError> {
        let compiled = rules.iter().map(compile).collect::<Result<Vec<_>, _>>()?;
        let exact = keywords(rules, false)?;
        let any_case = keywords(rules, true)?;
        let all: Vec<&str> = rules
            .iter()
            .flat_map(|r| r.keywords.iter().copied())
            .collect();
        let fast = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&all)
            .map_err(RuleError::Keywords)?;
        let longest_keyword = rules
            .iter()
            .flat_map(|r| r.keywords.iter().map(|k| k.len()))
            .max()
            .unwrap_or(0);
        Ok(Scanner {
            compiled,
            exact,
            any_case,
            fast,
            longest_keyword,
        })
    }

    /// The rules, in the order [`Hit::rule`] indexes them.
    pub fn rule(&self, index: usize) -> &'static Rule {
        self.compiled[index].rule
    }

    /// Finds the secrets whose keyword starts in `buf[from..to]`; the regexes may look
    /// `back`/`ahead` of it within `buf`. `path` is checked against the rules' path
    /// allow-lists (`None` for text that is not a file). Each hit is reported once per call.
    pub fn scan(&self, buf: &[u8], from: usize, to: usize, path: Option<&str>) -> Vec<Hit> {
        let mut hits = Vec::new();
        let mut seen = HashSet::new();
        let end = (to + self.longest_keyword).min(buf.len());
        if from >= end {
            return hits;
        }
        let text = &buf[from..end];
        for m in self.fast.find_iter(text) {
            if m.start() >= to - from {
                break;
            }
            // Every keyword starting inside this match (overlapping ones too); those after
            // it are the next matches' business.
            let region = &text[m.start()..(m.end() + self.longest_keyword).min(text.len())];
            for keywords in [&self.exact, &self.any_case] {
                for o in keywords.automaton.find_overlapping_iter(region) {
                    let at = m.start() + o.start();
                    if at >= m.end() || at >= to - from {
                        continue;
                    }
                    let rule = keywords.rule_of[o.pattern().as_usize()];
                    self.around(buf, from + at, o.len(), rule, path, &mut |hit| {
                        if seen.insert(hit) {
                            hits.push(hit);
                        }
                    });
                }
            }
        }
        self.drop_fallbacks(&mut hits);
        hits.sort_by_key(|h| (h.start, h.rule));
        hits
    }

    /// Removes the hits of fallback rules that overlap a hit of another rule.
    fn drop_fallbacks(&self, hits: &mut Vec<Hit>) {
        let is_fallback = |h: &Hit| self.compiled[h.rule].rule.fallback;
        if !hits.iter().any(is_fallback) {
            return;
        }
        let specific: Vec<Hit> = hits.iter().filter(|h| !is_fallback(h)).copied().collect();
        hits.retain(|h| {
            !is_fallback(h) || !specific.iter().any(|s| s.start < h.end && h.start < s.end)
        });
    }

    /// Runs rule `rule`'s regex on the window around the keyword at `at`.
    fn around(
        &self,
        buf: &[u8],
        at: usize,
        len: usize,
        rule: usize,
        path: Option<&str>,
        found: &mut dyn FnMut(Hit),
    ) {
        let c = &self.compiled[rule];
        let start = at.saturating_sub(c.rule.back);
        let stop = (at + c.rule.ahead.max(len)).min(buf.len());
        let window = &buf[start..stop];
        for caps in c.regex.captures_iter(window) {
            let (Some(whole), Some(secret)) = (caps.get(0), caps.get(c.secret)) else {
                continue;
            };
            // Only the match this keyword is part of.
            if start + whole.start() > at || start + whole.end() < at + len {
                continue;
            }
            let hit = Hit {
                rule,
                start: start + secret.start(),
                end: start + secret.end(),
            };
            if self.accepts(c, &buf[hit.start..hit.end], path) {
                found(hit);
            }
        }
    }

    /// The secret passes the rule's entropy minimum, allow-lists and check.
    fn accepts(&self, c: &Compiled, secret: &[u8], path: Option<&str>) -> bool {
        let rule = c.rule;
        if rule.min_entropy > 0.0 && entropy(secret) < rule.min_entropy {
            return false;
        }
        if c.allow_secrets.as_ref().is_some_and(|s| s.is_match(secret)) {
            return false;
        }
        if let Some(path) = path {
            if c.allow_paths
                .as_ref()
                .is_some_and(|p| p.is_match(path.as_bytes()))
            {
                return false;
            }
            let known =
                |&(p, head): &(&str, &str)| p == path && secret.starts_with(head.as_bytes());
            if rule.allow_known.iter().any(known) {
                return false;
            }
        }
        match rule.check {
            Some(check) => check(secret),
            None => true,
        }
    }
}

/// A rule that does not compile (a bug in the table, caught by the tests).
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("secret rule {id}: bad regex")]
    Regex {
        id: &'static str,
        #[source]
        source: regex::Error,
    },
    #[error("secret rule {id}: the regex has no `secret` group")]
    NoSecretGroup { id: &'static str },
    #[error("secret rule keywords")]
    Keywords(#[source] aho_corasick::BuildError),
}

fn compile(rule: &'static Rule) -> Result<Compiled, RuleError> {
    let bad = |source| RuleError::Regex {
        id: rule.id,
        source,
    };
    let regex = Regex::new(rule.regex).map_err(bad)?;
    let secret = regex
        .capture_names()
        .position(|n| n == Some("secret"))
        .ok_or(RuleError::NoSecretGroup { id: rule.id })?;
    let set = |patterns: &[&str]| -> Result<Option<RegexSet>, RuleError> {
        (!patterns.is_empty())
            .then(|| RegexSet::new(patterns).map_err(bad))
            .transpose()
    };
    Ok(Compiled {
        rule,
        regex,
        secret,
        allow_secrets: set(rule.allow_secrets)?,
        allow_paths: set(rule.allow_paths)?,
    })
}

fn keywords(rules: &[Rule], any_case: bool) -> Result<Keywords, RuleError> {
    let mut patterns = Vec::new();
    let mut rule_of = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if rule.keywords_any_case != any_case {
            continue;
        }
        for k in rule.keywords {
            patterns.push(*k);
            rule_of.push(i);
        }
    }
    let automaton = AhoCorasickBuilder::new()
        .ascii_case_insensitive(any_case)
        .match_kind(MatchKind::Standard)
        .build(&patterns)
        .map_err(RuleError::Keywords)?;
    Ok(Keywords { automaton, rule_of })
}

/// Shannon entropy of `bytes`, in bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// A secret as it may be shown: its first 4 characters, then `*****`.
pub fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let head: String = text.chars().take(4).collect();
    format!("{head}*****")
}

/// `text` with every secret the scanner finds replaced by its redacted form (for
/// history lines and instructions shown next to findings).
pub fn redact_text(scanner: &Scanner, text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for hit in scanner.scan(bytes, 0, bytes.len(), None) {
        if hit.start < last {
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&bytes[last..hit.start]));
        out.push_str(&redact(&bytes[hit.start..hit.end]));
        last = hit.end;
    }
    out.push_str(&String::from_utf8_lossy(&bytes[last..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_rule_compiles_within_the_scan_window() {
        let scanner = Scanner::builtin();
        for rule in RULES {
            assert!(!rule.keywords.is_empty(), "{} has no keyword", rule.id);
            assert!(rule.back <= super::super::MAX_BACK, "{}", rule.id);
            assert!(rule.ahead <= super::super::MAX_AHEAD, "{}", rule.id);
        }
        assert_eq!(scanner.compiled.len(), RULES.len());
        let ids: HashSet<_> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), RULES.len(), "rule ids are unique");
    }

    #[test]
    fn entropy_of_uniform_and_constant_bytes() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn redaction_keeps_four_characters() {
        assert_eq!(redact(b"ghp_abcdef"), "ghp_*****");
        assert_eq!(redact("pässwörd".as_bytes()), "päss*****");
    }
}
