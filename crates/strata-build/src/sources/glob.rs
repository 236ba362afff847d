//! Go's `filepath.Match`, the pattern language of COPY/ADD sources.
//!
//! `*` matches any run of non-`/` characters, `?` one non-`/` character, `[...]` a class
//! (`[^...]` / `[!...]` negated, ranges `a-z`), `\` escapes. The whole name must match.

/// Whether `pattern` has any special characters (otherwise it names one path).
pub fn has_meta(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '\\'])
}

/// Matches `name` against `pattern`; `None` when the pattern is malformed.
pub fn path_match(pattern: &str, name: &str) -> Option<bool> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Option<bool> {
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                _ if ni < n.len() => {
                    if let Some(width) = match_one(&p[pi..], n[ni])? {
                        pi += width;
                        ni += 1;
                        continue;
                    }
                }
                _ => {}
            }
        } else if ni == n.len() {
            return Some(true);
        }
        // Backtrack: let the last `*` swallow one more non-separator byte.
        match star {
            Some((sp, sn)) if sn < n.len() && n[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            }
            _ => return validate_rest(&p[pi.min(p.len())..]).map(|_| false),
        }
    }
}

/// Matches one name byte against the pattern item at the start of `p`; returns the item's
/// width on a match.
fn match_one(p: &[char], c: char) -> Option<Option<usize>> {
    match p[0] {
        '?' => Some((c != '/').then_some(1)),
        '\\' => {
            let lit = *p.get(1)?;
            Some((lit == c).then_some(2))
        }
        '[' => match_class(p, c),
        lit => Some((lit == c).then_some(1)),
    }
}

fn match_class(p: &[char], c: char) -> Option<Option<usize>> {
    let mut i = 1;
    let negated = matches!(p.get(i), Some('^') | Some('!'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *p.get(i)?;
        if lo == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let (lo, w) = class_char(&p[i..])?;
        i += w;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1) != Some(&']') {
            let (h, w) = class_char(&p[i + 1..])?;
            hi = h;
            i += 1 + w;
        }
        if lo <= c && c <= hi {
            matched = true;
        }
    }
    Some((matched != negated && c != '/').then_some(i))
}

fn class_char(p: &[char]) -> Option<(char, usize)> {
    match p.first()? {
        '\\' => Some((*p.get(1)?, 2)),
        '-' | ']' => None,
        &c => Some((c, 1)),
    }
}

/// Go reports ErrBadPattern for a malformed rest of pattern even on a mismatch.
fn validate_rest(p: &[char]) -> Option<()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                p.get(i + 1)?;
                i += 2;
            }
            '[' => {
                let w = match_class(&p[i..], '\0')?;
                i += w.unwrap_or_else(|| class_width(&p[i..]));
            }
            _ => i += 1,
        }
    }
    Some(())
}

fn class_width(p: &[char]) -> usize {
    let mut i = 1;
    if matches!(p.get(i), Some('^') | Some('!')) {
        i += 1;
    }
    i += 1;
    while i < p.len() && p[i] != ']' {
        i += if p[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_filepath_match_cases() {
        let cases = [
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a/b", false),
            ("a?b", "a/b", false),
            ("*.txt", "notes.txt", true),
            ("src/*.rs", "src/main.rs", true),
        ];
        for (p, n, want) in cases {
            assert_eq!(path_match(p, n), Some(want), "{p} ~ {n}");
        }
    }

    #[test]
    fn malformed_patterns() {
        assert_eq!(path_match("[", "a"), None);
        assert_eq!(path_match("a\\", "a"), None);
        assert_eq!(path_match("[]a]", "]"), None);
        assert_eq!(path_match("[-]", "-"), None);
    }
}
