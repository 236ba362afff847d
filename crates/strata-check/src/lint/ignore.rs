//! hadolint's inline ignores: `# hadolint ignore=DL3008,DL3015` on the comment lines right
//! before an instruction silences those rules for that instruction.

use std::collections::HashMap;

/// The rule ids ignored per instruction line (1-based).
pub struct Ignores {
    by_line: HashMap<usize, Vec<String>>,
}

impl Ignores {
    /// Finds every ignore comment; it applies to the next line that is not a comment or blank.
    pub fn scan(src: &str) -> Self {
        let mut by_line: HashMap<usize, Vec<String>> = HashMap::new();
        let mut pending: Vec<String> = Vec::new();
        for (idx, line) in src.lines().enumerate() {
            let trimmed = line.trim();
            if let Some(comment) = trimmed.strip_prefix('#') {
                pending.extend(parse_pragma(comment));
            } else if !trimmed.is_empty() && !pending.is_empty() {
                by_line.insert(idx + 1, std::mem::take(&mut pending));
            }
        }
        Ignores { by_line }
    }

    /// Whether `code` is ignored at `line`.
    pub fn ignored(&self, line: usize, code: &str) -> bool {
        self.by_line
            .get(&line)
            .is_some_and(|codes| codes.iter().any(|c| c == code))
    }
}

/// `hadolint ignore=DL3008,DL3015` → the ids; anything else → none.
pub(crate) fn parse_pragma(comment: &str) -> Vec<String> {
    let rest = comment.trim_start();
    let Some(rest) = rest.strip_prefix("hadolint") else {
        return Vec::new();
    };
    let Some(list) = rest.trim_start().strip_prefix("ignore=") else {
        return Vec::new();
    };
    list.split_whitespace()
        .next()
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pragma_applies_to_the_next_instruction_only() {
        let src = "FROM a\n# hadolint ignore=DL3008,DL3015\nRUN x\nRUN y\n";
        let ig = Ignores::scan(src);
        assert!(ig.ignored(3, "DL3008"));
        assert!(ig.ignored(3, "DL3015"));
        assert!(!ig.ignored(3, "DL3009"));
        assert!(!ig.ignored(4, "DL3008"));
    }

    #[test]
    fn other_comments_are_not_pragmas() {
        assert!(parse_pragma(" just a note ignore=DL3008").is_empty());
        assert_eq!(parse_pragma(" hadolint ignore=DL3003"), vec!["DL3003"]);
    }
}
