//! Debian control files (`deb822(5)`): paragraphs of `Field: value` lines, continuation lines
//! starting with a space or tab. Used for Release files and Packages indices.
//!
//! Written here: the format is a dozen lines of parsing, and the well-known crate
//! (`debian-packaging`) brings an async runtime along.

/// One paragraph: its fields in file order and its exact text (what dpkg's status file needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    /// The paragraph's lines as they were, without the blank separator line, ending in `\n`.
    pub text: String,
    /// `(name, value)`; a multi-line value keeps its lines joined by `\n`, first line trimmed.
    pub fields: Vec<(String, String)>,
    /// The 1-based line number where the paragraph starts (for error messages).
    pub line: usize,
}

impl Paragraph {
    /// The value of `name` (case-insensitive, as deb822 field names are).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A line that is neither a field nor a continuation.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: not a `Field: value` or continuation line: {text:?}")]
pub struct ControlError {
    pub line: usize,
    pub text: String,
}

/// Parses every paragraph of `input`. Comment lines (`#`) are skipped, as in deb822.
pub fn parse(input: &str) -> Result<Vec<Paragraph>, ControlError> {
    let mut out = Vec::new();
    let mut current: Option<Paragraph> = None;
    for (idx, line) in input.lines().enumerate() {
        let lineno = idx + 1;
        if line.trim().is_empty() {
            out.extend(current.take());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let para = current.get_or_insert_with(|| Paragraph {
            text: String::new(),
            fields: Vec::new(),
            line: lineno,
        });
        para.text.push_str(line);
        para.text.push('\n');
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = para.fields.last_mut() else {
                return Err(ControlError {
                    line: lineno,
                    text: line.to_owned(),
                });
            };
            value.push('\n');
            value.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ControlError {
                line: lineno,
                text: line.to_owned(),
            });
        };
        para.fields
            .push((name.trim().to_owned(), value.trim().to_owned()));
    }
    out.extend(current);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_fields_and_continuations() {
        let text = "Package: a\nVersion: 1\nDescription: short\n long line\n .\n\n\nPackage: b\n";
        let paras = parse(text).unwrap();
        assert_eq!(paras.len(), 2);
        assert_eq!(paras[0].get("package"), Some("a"));
        assert_eq!(paras[0].get("Description"), Some("short\nlong line\n."));
        assert_eq!(
            paras[0].text,
            "Package: a\nVersion: 1\nDescription: short\n long line\n .\n"
        );
        assert_eq!(paras[1].line, 8);
        assert_eq!(paras[1].get("Version"), None);
    }

    #[test]
    fn a_stray_line_is_an_error_with_its_number() {
        let err = parse("Package: a\nnonsense\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse(" leading continuation\n").unwrap_err();
        assert_eq!(err.line, 1);
    }
}
