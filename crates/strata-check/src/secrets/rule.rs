//! What a secret rule is: data, compiled once by [`super::Scanner`].

use serde::Serialize;

/// How bad a leak of the rule's secret is (Trivy's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// `CRITICAL`, `HIGH`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One secret rule.
///
/// A rule runs only where one of its `keywords` occurs (the pre-filter), and its regex
/// only on the window of `back` bytes before the keyword to `ahead` bytes after it. The
/// regex names the secret with the group `secret`.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable id, as in Trivy where Trivy has the rule (`aws-access-key-id`).
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Literal strings, one of which every match contains.
    pub keywords: &'static [&'static str],
    /// Whether `keywords` match regardless of ASCII case (the regex decides the rest).
    pub keywords_any_case: bool,
    /// The regex (Rust `regex` syntax, on bytes), with a `secret` group.
    pub regex: &'static str,
    /// How far before a keyword's start the match may begin.
    pub back: usize,
    /// How far after a keyword's start the match may end.
    pub ahead: usize,
    /// Minimum Shannon entropy of the secret, in bits per byte (0: no minimum).
    pub min_entropy: f64,
    /// Regexes on the secret: a secret matching one is not reported (documentation
    /// examples, placeholders).
    pub allow_secrets: &'static [&'static str],
    /// Regexes on the file path (relative, `usr/lib/…`): a match there is not reported.
    /// Only ever a specific file, never a whole directory of packages.
    pub allow_paths: &'static [&'static str],
    /// Known public secrets shipped by packages (documentation examples): the exact path
    /// and how the secret starts. Both must match, so another secret in that file, or that
    /// one anywhere else, is still reported.
    pub allow_known: &'static [(&'static str, &'static str)],
    /// A last check of the secret's bytes (a decoded JWT header, a `user:password` pair).
    pub check: Option<fn(&[u8]) -> bool>,
    /// A catch-all rule: its secret is dropped where another rule's secret overlaps it
    /// (`GITHUB_TOKEN=ghp_…` is a GitHub token, not also a generic one).
    pub fallback: bool,
}

/// The defaults the rule table starts from.
pub(crate) const BASE: Rule = Rule {
    id: "",
    title: "",
    severity: Severity::High,
    keywords: &[],
    keywords_any_case: false,
    regex: "",
    back: 1,
    ahead: 256,
    min_entropy: 0.0,
    allow_secrets: &[],
    allow_paths: &[],
    allow_known: &[],
    check: None,
    fallback: false,
};
