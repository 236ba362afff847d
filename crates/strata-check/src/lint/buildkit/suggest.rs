//! BuildKit's `util/suggest.Search`: the closest option at a Levenshtein distance below 3.

/// The option closest to `val` (the first of equals), `None` when one matches exactly or
/// none is close; `case_sensitive = false` compares lower-cased and answers in `val`'s case
/// style.
pub fn search(val: &str, options: &[String], case_sensitive: bool) -> Option<String> {
    let fold = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let v = fold(val);
    let mut best: Option<String> = None;
    let mut min = 3;
    for opt in options {
        let o = fold(opt);
        if o == v {
            return None;
        }
        let d = levenshtein(&v, &o);
        if d < min {
            min = d;
            best = Some(if case_sensitive {
                o
            } else {
                match_case(&o, val)
            });
        }
    }
    best
}

/// BuildKit's `matchCase`: the match in the value's case when that is all lower or upper.
fn match_case(opt: &str, val: &str) -> String {
    if val.to_lowercase() == val {
        opt.to_lowercase()
    } else if val.to_uppercase() == val {
        opt.to_uppercase()
    } else {
        opt.to_string()
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_below_three() {
        let opts = vec!["BUILDPLATFORM".to_string(), "TARGETOS".to_string()];
        assert_eq!(
            search("BULIDPLATFORM", &opts, true).as_deref(),
            Some("BUILDPLATFORM")
        );
        assert_eq!(search("nothing", &opts, true), None);
        assert_eq!(search("TARGETOS", &opts, true), None);
    }
}
