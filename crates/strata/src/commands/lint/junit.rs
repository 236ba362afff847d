//! JUnit XML output, hadolint's shape (`--format junit`): one `testsuite` with one `testcase`
//! per finding (`id="strata.rule.CODE"`) holding a `failure` whose `type` is the severity
//! and whose text names the file, line and message.

use std::fmt::Write;

use strata_check::lint::Finding;

/// XML-escapes text for attributes and content.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit report of `findings` in the Dockerfile `file`.
pub fn report(findings: &[Finding], file: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = write!(
        xml,
        r#"<testsuites name="strata lint {version}"><testsuite errors="0" failures="{}" tests="{}" id="strata" name="{}">"#,
        findings.len(),
        findings.len(),
        esc(file)
    );
    for f in findings {
        let body = format!(
            "File: {file}\nLine: {}\nCategory: strata - Dockerfile Static Analysis\n{}: {}\n",
            f.line,
            f.level.as_str(),
            f.message
        );
        let _ = write!(
            xml,
            r#"<testcase id="strata.rule.{code}" name="{code}" classname="{file}"><failure id="{code}" message="{msg}" type="{level}">{body}</failure></testcase>"#,
            code = f.code,
            file = esc(file),
            msg = esc(&f.message),
            level = f.level.as_str(),
            body = esc(&body),
        );
    }
    xml.push_str("</testsuite></testsuites>");
    xml
}
