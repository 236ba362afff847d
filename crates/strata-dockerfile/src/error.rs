//! Error types: parse errors carry a source span and render BuildKit-style with a caret.

use std::fmt;

/// An error in a Dockerfile, located at a line (1-based) and column (1-based, 0 = unknown).
///
/// Renders as `Dockerfile:LINE:COL: message` followed by the offending source line and a
/// caret line when the source text is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ParseError {
    /// File name used in the rendering; `Dockerfile` unless changed by [`ParseError::with_filename`].
    pub filename: String,
    /// 1-based line of the error (0 when the file has no lines).
    pub line: usize,
    /// Last line of the instruction the error is about (equal to `line` for single lines).
    pub end_line: usize,
    /// 1-based column of the error, 0 when unknown.
    pub column: usize,
    /// Number of characters the caret underlines (at least 1 when rendered).
    pub width: usize,
    /// The lowercase-ish message (BuildKit's wording).
    pub message: String,
    /// The source text of `line`, when known.
    pub snippet: Option<String>,
}

impl ParseError {
    /// A new error at `line` with no column or snippet.
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            filename: "Dockerfile".to_string(),
            line,
            end_line: line,
            column: 0,
            width: 0,
            message: message.into(),
            snippet: None,
        }
    }

    /// Names the real file in the rendering (e.g. `app/Dockerfile.prod`).
    pub fn with_filename(mut self, name: impl Into<String>) -> Self {
        self.filename = name.into();
        self
    }

    /// Sets the column (1-based) and the caret width.
    pub fn with_column(mut self, column: usize, width: usize) -> Self {
        self.column = column;
        self.width = width;
        self
    }

    /// Sets the last line of the instruction.
    pub fn with_end_line(mut self, end_line: usize) -> Self {
        self.end_line = end_line.max(self.line);
        self
    }

    /// Attaches the source line that the caret points into.
    pub fn with_snippet(mut self, snippet: impl Into<String>) -> Self {
        self.snippet = Some(snippet.into());
        self
    }

    /// Attaches the source line from the full list of source lines (1-based `self.line`).
    pub(crate) fn with_source_lines(self, lines: &[String]) -> Self {
        match self.line.checked_sub(1).and_then(|i| lines.get(i)) {
            Some(text) => self.with_snippet(text.clone()),
            None => self,
        }
    }

    fn render(&self) -> String {
        let mut out = if self.column > 0 {
            format!(
                "{}:{}:{}: {}",
                self.filename, self.line, self.column, self.message
            )
        } else {
            format!("{}:{}: {}", self.filename, self.line, self.message)
        };
        if let Some(snippet) = &self.snippet {
            let gutter = self.line.to_string();
            out.push_str(&format!("\n {gutter} | {snippet}"));
            let pad = " ".repeat(gutter.len());
            let col = self.column.max(1);
            let caret = "^".repeat(self.width.max(1));
            out.push_str(&format!("\n {pad} | {}{caret}", " ".repeat(col - 1)));
        }
        out
    }
}

/// Why a word could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// Unbalanced quote, brace or pattern; `word` is the input word.
    #[error("failed to process {word:?}: {reason}")]
    Syntax { word: String, reason: String },
    /// `${V:?msg}` / `${V?msg}` on an unset (or empty) variable.
    #[error("failed to process {word:?}: {name}: {message}")]
    Required {
        word: String,
        name: String,
        message: String,
    },
    /// The expanded value is not valid for its instruction (e.g. a `--mount` field).
    #[error("invalid value after expansion: {message}")]
    Invalid { message: String },
}

/// A `.dockerignore` pattern that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    /// `!` alone on a line.
    #[error("illegal exclusion pattern: \"!\" on line {line}")]
    LoneExclusion { line: usize },
    /// Go `filepath.Match` would reject the pattern (e.g. unclosed `[`).
    #[error("syntax error in pattern {pattern:?} on line {line}")]
    BadPattern { line: usize, pattern: String },
}

impl fmt::Display for crate::parser::Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.short)
    }
}
