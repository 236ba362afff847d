//! Shell patterns for `${V#p}`, `${V%p}` and `${V/p/r}`: `*`, `?` and `\` escapes
//! (BuildKit's `convertShellPatternToRegex`, without bracket expressions).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Star,
    Any,
    Lit(char),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    toks: Vec<Tok>,
}

impl Pattern {
    pub(super) fn compile(src: &str) -> Result<Pattern, String> {
        let chars: Vec<char> = src.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::Any),
                '\\' => match chars.get(i + 1) {
                    Some('}') | Some('/') => {}
                    Some(&c @ ('*' | '?' | '\\')) => {
                        toks.push(Tok::Lit(c));
                        i += 1;
                    }
                    Some(c) => return Err(format!("invalid escape '\\{c}'")),
                    None => return Err("invalid escape '\\'".to_string()),
                },
                c => toks.push(Tok::Lit(c)),
            }
            i += 1;
        }
        Ok(Pattern { toks })
    }

    /// Whether the pattern matches all of `s`.
    fn matches(&self, s: &[char]) -> bool {
        match_toks(&self.toks, s)
    }

    /// Removes the shortest (or longest when `greedy`) matching prefix.
    pub(super) fn trim_prefix(&self, value: &str, greedy: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut lens: Vec<usize> = (0..=chars.len()).collect();
        if greedy {
            lens.reverse();
        }
        match lens.into_iter().find(|&n| self.matches(&chars[..n])) {
            Some(n) => chars[n..].iter().collect(),
            None => value.to_string(),
        }
    }

    /// Removes the shortest (or longest when `greedy`) matching suffix.
    pub(super) fn trim_suffix(&self, value: &str, greedy: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut starts: Vec<usize> = (0..=chars.len()).collect();
        if !greedy {
            starts.reverse();
        }
        match starts.into_iter().find(|&n| self.matches(&chars[n..])) {
            Some(n) => chars[..n].iter().collect(),
            None => value.to_string(),
        }
    }

    /// The leftmost, longest match starting at or after `from`: `(start, end)`.
    fn find(&self, chars: &[char], from: usize) -> Option<(usize, usize)> {
        (from..=chars.len()).find_map(|start| {
            (start..=chars.len())
                .rev()
                .find(|&end| self.matches(&chars[start..end]))
                .map(|end| (start, end))
        })
    }

    /// Replaces the first (or every, when `all`) match with `replacement`.
    pub(super) fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let mut pos = 0;
        while let Some((start, end)) = self.find(&chars, pos) {
            out.extend(&chars[pos..start]);
            out.push_str(replacement);
            if end == start {
                if let Some(&c) = chars.get(start) {
                    out.push(c);
                }
                pos = start + 1;
            } else {
                pos = end;
            }
            if !all || pos > chars.len() {
                break;
            }
        }
        if pos <= chars.len() {
            out.extend(&chars[pos..]);
        }
        out
    }
}

fn match_toks(toks: &[Tok], s: &[char]) -> bool {
    match toks.split_first() {
        None => s.is_empty(),
        Some((Tok::Star, rest)) => (0..=s.len()).any(|i| match_toks(rest, &s[i..])),
        Some((Tok::Any, rest)) => !s.is_empty() && match_toks(rest, &s[1..]),
        Some((Tok::Lit(c), rest)) => s.first() == Some(c) && match_toks(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_errors() {
        assert!(Pattern::compile("a\\*").unwrap().matches(&['a', '*']));
        assert_eq!(
            Pattern::compile("a\\x").unwrap_err(),
            "invalid escape '\\x'"
        );
        let p = Pattern::compile("*.?").unwrap();
        assert_eq!(p.trim_suffix("a.b.c", false), "a.b");
        assert_eq!(p.trim_suffix("a.b.c", true), "");
    }
}
