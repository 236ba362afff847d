//! Port of BuildKit's `frontend/dockerfile/parser`: lines → instruction nodes.
//!
//! Handles parser directives, comments, line continuations (with the escape character),
//! heredocs and the per-instruction argument splitting BuildKit does. The output is an
//! untyped AST ([`Node`]); [`crate::instructions`] turns it into typed commands.

mod directives;
mod dump;
mod heredoc;
mod json;
mod split;

pub use directives::Directives;
pub use dump::go_quote;
pub use heredoc::{chomp_heredoc_content, parse_heredoc, Heredoc};

use crate::error::ParseError;
use directives::DirectiveParser;

/// A parsed Dockerfile: its directives, one node per instruction, and parser warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Directives,
    pub children: Vec<Node>,
    pub warnings: Vec<Warning>,
    /// The source split into lines (without line terminators), used to render error snippets.
    pub lines: Vec<String>,
}

/// A non-fatal finding of the parser (e.g. an empty continuation line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub short: String,
    pub detail: String,
    pub url: String,
    pub line: usize,
}

/// One instruction as BuildKit's parser sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// Lower-cased instruction name (`run`, `copy`, …; unknown names are kept, lower-cased).
    pub value: String,
    /// The instruction text with continuations joined (BuildKit's `Original`).
    pub original: String,
    /// Builder flags in front of the arguments, e.g. `--from=x`.
    pub flags: Vec<String>,
    /// Arguments as BuildKit splits them for this instruction.
    pub next: Vec<String>,
    /// True when the arguments were given in JSON (exec) form.
    pub json: bool,
    /// Heredocs attached to this instruction (raw content, not chomped).
    pub heredocs: Vec<Heredoc>,
    /// 1-based first line of the instruction.
    pub start_line: usize,
    /// 1-based last line of the instruction (including heredoc bodies).
    pub end_line: usize,
    /// ONBUILD's inner instruction.
    pub sub: Option<Box<Node>>,
}

impl Node {
    /// BuildKit's S-expression dump (`(copy ["--from=x"] "a" "b")` without the outer parens).
    pub fn dump(&self) -> String {
        dump::dump_node(self)
    }

    /// The instruction keyword as written in the source (original case).
    pub fn keyword(&self) -> &str {
        self.original.split_whitespace().next().unwrap_or("")
    }

    fn can_contain_heredoc(&self) -> bool {
        let node = match (&self.value[..], &self.sub) {
            ("onbuild", Some(sub)) => sub,
            _ => self,
        };
        matches!(&node.value[..], "run" | "copy" | "add") && !node.json
    }
}

impl Dockerfile {
    /// Renders every instruction like BuildKit's `result` golden files.
    pub fn dump(&self) -> String {
        self.children
            .iter()
            .map(|n| format!("({})\n", n.dump()))
            .collect()
    }
}

/// Parses Dockerfile text into nodes, BuildKit-faithfully.
pub fn parse(src: &str) -> Result<Dockerfile, ParseError> {
    let lines: Vec<String> = src.lines().map(|l| l.to_string()).collect();
    Parser::new(src)
        .run()
        .map_err(|e| e.with_source_lines(&lines))
        .map(|(directives, children, warnings)| Dockerfile {
            directives,
            children,
            warnings,
            lines,
        })
}

/// Raw source lines as BuildKit's `scanLines` yields them (terminator included).
struct LineSource<'a> {
    rest: &'a str,
}

impl<'a> LineSource<'a> {
    fn next_line(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.find('\n').map_or(self.rest.len(), |i| i + 1);
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(line)
    }
}

type ParseOutput = (Directives, Vec<Node>, Vec<Warning>);

struct Parser<'a> {
    source: LineSource<'a>,
    directives: DirectiveParser,
    current_line: usize,
    children: Vec<Node>,
    warnings: Vec<Warning>,
}

fn trim_newline(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        Parser {
            source: LineSource { rest: src },
            directives: DirectiveParser::default(),
            current_line: 0,
            children: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// `processLine`: trims the terminator (and leading space), feeds the directive
    /// parser and blanks comment lines.
    fn process_line(&mut self, raw: &'a str, strip_left: bool) -> Result<&'a str, ParseError> {
        let mut token = trim_newline(raw);
        if strip_left {
            token = token.trim_start();
        }
        self.directives
            .possible_directive(token)
            .map_err(|m| ParseError::new(self.current_line + 1, m))?;
        Ok(if is_comment(token) { "" } else { token })
    }

    fn run(mut self) -> Result<ParseOutput, ParseError> {
        while let Some(raw) = self.source.next_line() {
            let first = self.process_line(raw, true)?;
            self.current_line += 1;
            let start_line = self.current_line;
            let escape = self.directives.escape();
            let (line, mut end) = trim_continuation(first, escape);
            if end && line.is_empty() {
                continue;
            }
            let joined = self.read_continuations(&line, &mut end)?;
            let mut node = split::node_from_line(&joined, escape)
                .map_err(|m| ParseError::new(start_line, m).with_end_line(self.current_line))?;
            if node.can_contain_heredoc() && line.contains("<<") {
                node.heredocs = self.read_heredocs(&line, start_line)?;
            }
            node.start_line = start_line;
            node.end_line = self.current_line;
            set_lines(&mut node);
            self.children.push(node);
        }
        if self.children.is_empty() {
            return Err(ParseError::new(
                self.current_line,
                "file with no instructions",
            ));
        }
        Ok((self.directives.finish(), self.children, self.warnings))
    }

    fn read_continuations(&mut self, first: &str, end: &mut bool) -> Result<String, ParseError> {
        let mut buf = first.to_string();
        let mut empty_continuation = false;
        while !*end {
            let Some(raw) = self.source.next_line() else {
                break;
            };
            let text = self.process_line(raw, false)?;
            self.current_line += 1;
            if is_comment(raw) {
                continue;
            }
            if text.trim_start().is_empty() {
                empty_continuation = true;
                continue;
            }
            let (cont, is_end) = trim_continuation(text, self.directives.escape());
            *end = is_end;
            buf.push_str(&cont);
        }
        if empty_continuation {
            self.warnings.push(Warning {
                short: format!("Empty continuation line found in: {first}"),
                detail: "Empty continuation lines will become errors in a future release".into(),
                url: "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/".into(),
                line: self.current_line,
            });
        }
        Ok(buf)
    }

    fn read_heredocs(&mut self, line: &str, start_line: usize) -> Result<Vec<Heredoc>, ParseError> {
        let mut docs = heredoc::heredocs_from_line(line)
            .map_err(|m| ParseError::new(start_line, m).with_end_line(self.current_line))?;
        for doc in &mut docs {
            let mut terminated = false;
            while let Some(raw) = self.source.next_line() {
                self.current_line += 1;
                let mut candidate = trim_newline(raw);
                if doc.chomp {
                    candidate = candidate.trim_start_matches('\t');
                }
                if candidate == doc.name {
                    terminated = true;
                    break;
                }
                doc.content.push_str(raw);
            }
            if !terminated {
                return Err(ParseError::new(start_line, "unterminated heredoc")
                    .with_end_line(self.current_line));
            }
        }
        Ok(docs)
    }
}

fn set_lines(node: &mut Node) {
    if let Some(sub) = &mut node.sub {
        sub.start_line = node.start_line;
        sub.end_line = node.end_line;
        sub.heredocs = node.heredocs.clone();
    }
}

/// BuildKit's `lineContinuationRegex`: `([^E])E[ \t]*$|^E[ \t]*$` → `$1`.
fn trim_continuation(line: &str, escape: char) -> (String, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    let Some(before) = body.strip_suffix(escape) else {
        return (line.to_string(), true);
    };
    match before.chars().last() {
        None => (String::new(), false),
        Some(c) if c != escape => (before.to_string(), false),
        Some(_) => (line.to_string(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_regex_semantics() {
        assert_eq!(trim_continuation("abc \\", '\\'), ("abc ".into(), false));
        assert_eq!(trim_continuation("abc\\  \t", '\\'), ("abc".into(), false));
        assert_eq!(trim_continuation("\\", '\\'), ("".into(), false));
        assert_eq!(trim_continuation("abc\\\\", '\\'), ("abc\\\\".into(), true));
        assert_eq!(trim_continuation("abc `", '`'), ("abc ".into(), false));
        assert_eq!(trim_continuation("abc", '\\'), ("abc".into(), true));
    }

    #[test]
    fn heredoc_is_read_and_lines_counted() {
        let df = parse("FROM a\nRUN <<EOF\necho hi\nEOF\nRUN x\n").unwrap();
        let run = &df.children[1];
        assert_eq!(run.heredocs.len(), 1);
        assert_eq!(run.heredocs[0].content, "echo hi\n");
        assert_eq!((run.start_line, run.end_line), (2, 4));
        assert_eq!(df.children[2].start_line, 5);
    }

    #[test]
    fn chomped_heredoc_terminator_may_be_indented_with_tabs() {
        let df = parse("FROM a\nCOPY <<-EOT /x\n\thello\n\tEOT\n").unwrap();
        assert_eq!(df.children[1].heredocs[0].content, "\thello\n");
        assert!(df.children[1].heredocs[0].chomp);
    }

    #[test]
    fn unterminated_heredoc_fails() {
        let err = parse("FROM a\nRUN <<EOF\necho\n").unwrap_err();
        assert_eq!(err.message, "unterminated heredoc");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn json_run_has_no_heredoc() {
        let df = parse("FROM a\nRUN [\"<<EOF\"]\nEOF\n").unwrap();
        assert!(df.children[1].heredocs.is_empty());
        assert_eq!(df.children.len(), 3);
    }

    #[test]
    fn empty_continuation_line_warns() {
        let df = parse("FROM a\nRUN a \\\n\n b\n").unwrap();
        assert_eq!(df.warnings.len(), 1);
        assert_eq!(df.children[1].next, vec!["a  b"]);
    }

    #[test]
    fn onbuild_sub_node() {
        let df = parse("FROM a\nONBUILD COPY --from=b x y\n").unwrap();
        let sub = df.children[1].sub.as_ref().unwrap();
        assert_eq!(sub.value, "copy");
        assert_eq!(sub.flags, vec!["--from=b"]);
        assert_eq!(
            df.children[1].dump(),
            "onbuild (copy [\"--from=b\"] \"x\" \"y\")"
        );
    }

    #[test]
    fn crlf_and_bom() {
        let df = parse("\u{feff}FROM a\r\nRUN b\r\n").unwrap();
        assert_eq!(df.children[1].next, vec!["b"]);
    }
}
