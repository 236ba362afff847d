//! Heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`) as BuildKit's parser recognises them.

use crate::shell::Lexer;
use std::collections::HashMap;

/// One heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Heredoc {
    /// The delimiter word with quotes removed (`EOF`).
    pub name: String,
    /// The body, each line with its terminator. Raw in [`crate::Node`]; chomped (leading
    /// tabs removed when `chomp`) in typed commands.
    pub content: String,
    /// False when the delimiter was quoted: the body must not be expanded.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body and terminator.
    pub chomp: bool,
    /// The file descriptor in front (`3<<EOF`), 0 when absent.
    pub file_descriptor: u32,
}

/// `ParseHeredoc`: recognises one word of the form `[fd]<<[-]NAME`.
pub fn parse_heredoc(src: &str) -> Result<Option<Heredoc>, String> {
    let digits = src.chars().take_while(char::is_ascii_digit).count();
    let Some(rest) = src[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let fd = src[..digits].parse::<u32>().unwrap_or(0);
    let env: HashMap<String, String> = HashMap::new();
    let lex = Lexer::new('\\').skip_unset_env(true);
    let words = lex.process_words(rest, &env).map_err(|e| e.to_string())?;
    if words.len() != 1 {
        return Ok(None);
    }
    let raw = lex
        .raw_quotes(true)
        .process_words(rest, &env)
        .map_err(|e| e.to_string())?;
    if raw.len() != words.len() {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let quotes = |s: &str| s.matches(['\'', '"']).count();
    Ok(Some(Heredoc {
        name: words[0].clone(),
        content: String::new(),
        expand: quotes(&words[0]) == quotes(&raw[0]),
        chomp,
        file_descriptor: fd,
    }))
}

/// `heredocsFromLine`: every heredoc word on an instruction's first line, in order.
pub(super) fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, String> {
    let env: HashMap<String, String> = HashMap::new();
    let lex = Lexer::new('\\').raw_quotes(true).raw_escapes(true);
    let words = lex.process_words(line, &env).unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = parse_heredoc(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// `ChompHeredocContent`: removes leading tabs from every line.
pub fn chomp_heredoc_content(src: &str) -> String {
    src.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_heredoc_words() {
        let h = parse_heredoc("<<EOF").unwrap().unwrap();
        assert_eq!((h.name.as_str(), h.expand, h.chomp), ("EOF", true, false));
        let h = parse_heredoc("<<-'EOT'").unwrap().unwrap();
        assert_eq!((h.name.as_str(), h.expand, h.chomp), ("EOT", false, true));
        let h = parse_heredoc("3<<\"E\"OF").unwrap().unwrap();
        assert_eq!(
            (h.name.as_str(), h.expand, h.file_descriptor),
            ("EOF", false, 3)
        );
        assert!(parse_heredoc("<<").unwrap().is_none());
        assert!(parse_heredoc("a<<EOF").unwrap().is_none());
    }

    #[test]
    fn several_heredocs_on_a_line() {
        let docs = heredocs_from_line("COPY <<A <<'B' /dst/").unwrap();
        let names: Vec<_> = docs.iter().map(|d| (d.name.as_str(), d.expand)).collect();
        assert_eq!(names, vec![("A", true), ("B", false)]);
    }

    #[test]
    fn chomp_strips_leading_tabs_per_line() {
        assert_eq!(chomp_heredoc_content("\t\ta\n\tb\n c\n"), "a\nb\n c\n");
    }
}
