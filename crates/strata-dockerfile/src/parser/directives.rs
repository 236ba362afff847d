//! Parser directives (`# syntax=`, `# escape=`, `# check=`) at the top of a Dockerfile.

/// The parser directives found at the top of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=` frontend image reference, if given.
    pub syntax: Option<String>,
    /// Escape character: `\` (default) or `` ` ``.
    pub escape: char,
    /// `# check=` lint configuration, if given.
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// BuildKit's `DirectiveParser`: directives are only recognised until the first line that
/// is not one (an instruction, a blank line or a plain comment).
#[derive(Debug, Default)]
pub(super) struct DirectiveParser {
    done: bool,
    found: Directives,
    seen: Vec<String>,
}

impl DirectiveParser {
    pub(super) fn escape(&self) -> char {
        self.found.escape
    }

    pub(super) fn finish(self) -> Directives {
        self.found
    }

    /// Feeds one line; returns an error message for a duplicate or invalid directive.
    pub(super) fn possible_directive(&mut self, line: &str) -> Result<(), String> {
        if self.done {
            return Ok(());
        }
        let Some((name, value)) = match_directive(line) else {
            self.done = true;
            return Ok(());
        };
        let key = name.to_ascii_lowercase();
        if !matches!(&key[..], "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        match &key[..] {
            "escape" => self.found.escape = parse_escape(value)?,
            "syntax" => self.found.syntax = Some(value.to_string()),
            _ => self.found.check = Some(value.to_string()),
        }
        Ok(())
    }
}

fn parse_escape(value: &str) -> Result<char, String> {
    match value {
        "`" => Ok('`'),
        "\\" => Ok('\\'),
        _ => Err(format!(
            "invalid escape token '{value}' does not match ` or \\"
        )),
    }
}

/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
fn match_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let (name, rest) = rest.split_at(name_len);
    let value = rest.trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_directive_syntax() {
        assert_eq!(match_directive("# escape = `"), Some(("escape", "`")));
        assert_eq!(
            match_directive("#syntax=docker/dockerfile:1"),
            Some(("syntax", "docker/dockerfile:1"))
        );
        assert_eq!(match_directive("# hello world"), None);
        assert_eq!(match_directive("# 1x=2"), None);
        assert_eq!(match_directive("#escape="), None);
    }

    #[test]
    fn stops_at_first_non_directive() {
        let mut p = DirectiveParser::default();
        p.possible_directive("# comment").unwrap();
        p.possible_directive("# escape=`").unwrap();
        assert_eq!(p.escape(), '\\');
    }

    #[test]
    fn duplicate_and_invalid_directives_fail() {
        let mut p = DirectiveParser::default();
        p.possible_directive("# escape=`").unwrap();
        assert_eq!(
            p.possible_directive("# ESCAPE=\\").unwrap_err(),
            "only one escape parser directive can be used"
        );
        assert_eq!(p.escape(), '`', "the first directive stays");
        let mut p = DirectiveParser::default();
        assert_eq!(
            p.possible_directive("# escape=x").unwrap_err(),
            "invalid escape token 'x' does not match ` or \\"
        );
    }

    #[test]
    fn check_and_syntax_are_recorded() {
        let mut p = DirectiveParser::default();
        p.possible_directive("# syntax=docker/dockerfile:1")
            .unwrap();
        p.possible_directive("# check=skip=all").unwrap();
        let d = p.finish();
        assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(d.check.as_deref(), Some("skip=all"));
    }
}
