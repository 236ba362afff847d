//! `.dockerignore` with Docker's semantics (moby/patternmatcher + `ignorefile.ReadAll`).
//!
//! Not gitignore: patterns are anchored at the context root, `*` and `?` never cross `/`,
//! `**` matches any number of directories, a pattern excludes everything below a matching
//! directory, `!` re-includes, and the last matching pattern wins.

use strata_oci::path::clean;

use crate::error::IgnoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `*`: any run of non-`/` characters.
    Star,
    /// `?`: one non-`/` character.
    Any,
    /// `[...]` / `[^...]`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**/` (or `**` inside a pattern): `(.*/)?`.
    AnyDirs,
    /// `**` at the end: `.*`.
    AnyRest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    exclusion: bool,
    cleaned: String,
    toks: Vec<Tok>,
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        match_toks(&self.toks, &chars)
    }

    /// Matches `path` or one of its parent directories.
    fn matches_self_or_parent(&self, path: &str) -> bool {
        if self.matches(path) {
            return true;
        }
        let Some((parent, _)) = path.rsplit_once('/') else {
            return false;
        };
        let mut end = 0;
        for comp in parent.split('/') {
            end += comp.len();
            if self.matches(&parent[..end]) {
                return true;
            }
            end += 1;
        }
        false
    }
}

/// Per-pattern results for a directory, to pass to its children
/// ([`DockerIgnore::matches_using_parent`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

/// A parsed `.dockerignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

impl DockerIgnore {
    /// Parses `.dockerignore` text: one pattern per line, `#` comments, `!` re-includes.
    pub fn parse(text: &str) -> Result<DockerIgnore, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(p) = read_line(line) {
                patterns.push(compile(&p, i + 1)?);
            }
        }
        Ok(DockerIgnore { patterns })
    }

    /// A matcher over patterns given as a list (`patternmatcher.New`): each is trimmed and
    /// cleaned, empty ones are skipped, a leading `!` re-includes. This is the matcher of
    /// `COPY --exclude` and of `COPY --parents`' include patterns; an error's `line` is the
    /// pattern's position in the list, from 1.
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<DockerIgnore, IgnoreError> {
        let mut compiled = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            if !p.as_ref().trim().is_empty() {
                compiled.push(compile(p.as_ref(), i + 1)?);
            }
        }
        Ok(DockerIgnore { patterns: compiled })
    }

    /// The patterns after normalisation (`!` kept), in file order.
    pub fn patterns(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|p| format!("{}{}", if p.exclusion { "!" } else { "" }, p.cleaned))
            .collect()
    }

    /// True when there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// True when any pattern starts with `!`.
    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// Whether `rel_path` (relative to the context, `/`-separated) is excluded: it or one of
    /// its parents matches, and no later `!` pattern re-includes it
    /// (`MatchesOrParentMatches`).
    pub fn matches(&self, rel_path: &str) -> bool {
        let path = normalize(rel_path);
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            if p.matches_self_or_parent(&path) {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// Like [`matches`](Self::matches) but reusing the results of the parent directory
    /// (`MatchesUsingParentResults`); pass `MatchInfo::default()` for top-level entries.
    pub fn matches_using_parent(&self, rel_path: &str, parent: &MatchInfo) -> (bool, MatchInfo) {
        let path = normalize(rel_path);
        let known = parent.parent_matched.len() == self.patterns.len();
        let mut info = MatchInfo {
            parent_matched: vec![false; self.patterns.len()],
        };
        let mut matched = false;
        for (i, p) in self.patterns.iter().enumerate() {
            let mut hit = known && parent.parent_matched[i];
            if !hit {
                if p.exclusion != matched {
                    continue;
                }
                hit = if known {
                    p.matches(&path)
                } else {
                    p.matches_self_or_parent(&path)
                };
            }
            info.parent_matched[i] = hit;
            if hit {
                matched = !p.exclusion;
            }
        }
        (matched, info)
    }

    /// Whether some `!` pattern could re-include `dir` or something below it. A walker may
    /// skip an excluded directory entirely only when this is false.
    pub fn may_reinclude_under(&self, dir: &str) -> bool {
        let dir = normalize(dir);
        let dir_parts: Vec<&str> = dir.split('/').collect();
        self.patterns
            .iter()
            .filter(|p| p.exclusion)
            .any(|p| could_match_under(&p.cleaned, &dir_parts))
    }
}

/// A pattern could match `dir` or a descendant unless some leading component, before any
/// `**`, fails to match the corresponding directory component.
fn could_match_under(pattern: &str, dir_parts: &[&str]) -> bool {
    for (pat, part) in pattern.split('/').zip(dir_parts) {
        if pat.contains("**") {
            return true;
        }
        let Ok(toks) = tokenize(pat) else {
            return true;
        };
        let chars: Vec<char> = part.chars().collect();
        if !match_toks(&toks, &chars) {
            return false;
        }
    }
    true
}

/// `ignorefile.ReadAll` for one line: `None` for comments and blank lines.
fn read_line(line: &str) -> Option<String> {
    if line.starts_with('#') {
        return None;
    }
    let mut pattern = line.trim();
    if pattern.is_empty() {
        return None;
    }
    let invert = pattern.starts_with('!');
    if invert {
        pattern = pattern[1..].trim();
    }
    let mut out = String::new();
    if !pattern.is_empty() {
        let cleaned = clean(pattern);
        out = match cleaned.strip_prefix('/') {
            Some(rest) if !rest.is_empty() => rest.to_string(),
            _ => cleaned,
        };
    }
    Some(if invert { format!("!{out}") } else { out })
}

fn compile(p: &str, line: usize) -> Result<Pattern, IgnoreError> {
    let p = clean(p.trim());
    let (exclusion, body) = match p.strip_prefix('!') {
        Some("") => return Err(IgnoreError::LoneExclusion { line }),
        Some(rest) => (true, rest.to_string()),
        None => (false, p),
    };
    let toks = tokenize(&body).map_err(|_| IgnoreError::BadPattern {
        line,
        pattern: body.clone(),
    })?;
    Ok(Pattern {
        exclusion,
        cleaned: body,
        toks,
    })
}

fn tokenize(pattern: &str) -> Result<Vec<Tok>, ()> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                toks.push(if i == chars.len() {
                    Tok::AnyRest
                } else {
                    Tok::AnyDirs
                });
            }
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::Any),
            '\\' => match chars.get(i) {
                Some(&n) => {
                    toks.push(Tok::Lit(n));
                    i += 1;
                }
                None => return Err(()),
            },
            '[' => {
                let (tok, next) = parse_class(&chars, i)?;
                toks.push(tok);
                i = next;
            }
            c => toks.push(Tok::Lit(c)),
        }
    }
    Ok(toks)
}

/// Parses a class body starting after `[`; returns the token and the index after `]`.
fn parse_class(chars: &[char], mut i: usize) -> Result<(Tok, usize), ()> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        let lo = match chars.get(i) {
            None => return Err(()),
            Some(']') if !ranges.is_empty() => return Ok((Tok::Class { negated, ranges }, i + 1)),
            Some('\\') => {
                i += 1;
                *chars.get(i).ok_or(())?
            }
            Some(&c) => c,
        };
        i += 1;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            i += 1;
            hi = match chars[i] {
                '\\' => {
                    i += 1;
                    *chars.get(i).ok_or(())?
                }
                c => c,
            };
            i += 1;
            if hi < lo {
                return Err(());
            }
        }
        ranges.push((lo, hi));
    }
}

fn match_toks(toks: &[Tok], s: &[char]) -> bool {
    let Some((tok, rest)) = toks.split_first() else {
        return s.is_empty();
    };
    match tok {
        Tok::Lit(c) => s.first() == Some(c) && match_toks(rest, &s[1..]),
        Tok::Any => s.first().is_some_and(|&c| c != '/') && match_toks(rest, &s[1..]),
        Tok::Class { negated, ranges } => {
            s.first().is_some_and(|&c| {
                let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                c != '/' && inside != *negated
            }) && match_toks(rest, &s[1..])
        }
        Tok::Star => {
            let run = s.iter().take_while(|&&c| c != '/').count();
            (0..=run).any(|n| match_toks(rest, &s[n..]))
        }
        Tok::AnyRest => true,
        Tok::AnyDirs => {
            match_toks(rest, s)
                || (0..s.len()).any(|i| s[i] == '/' && match_toks(rest, &s[i + 1..]))
        }
    }
}

fn normalize(path: &str) -> String {
    let cleaned = clean(path);
    cleaned.trim_start_matches('/').to_string()
}

#[cfg(test)]
mod tests;
