//! Rules on the nodes as written, before they become stages: DL3061 (an instruction before
//! the first FROM), DL3043 (ONBUILD ONBUILD/FROM/MAINTAINER) and DL1001 (inline ignore
//! pragmas). BuildKit refuses the first two; hadolint reports them and lints the rest, so
//! [`buildable`] leaves those nodes out of the typed parse.

use strata_dockerfile::{parse_command, Command, Dockerfile, Node};

use crate::lint::ignore::parse_pragma;
use crate::lint::Context;

/// ONBUILD triggers BuildKit refuses.
const FORBIDDEN_TRIGGERS: [&str; 3] = ["onbuild", "from", "maintainer"];

/// `df` without the nodes DL3061 and DL3043 report.
pub(crate) fn buildable(df: &Dockerfile) -> Dockerfile {
    let mut out = df.clone();
    let early = early_lines(df);
    out.children
        .retain(|n| !early.contains(&n.start_line) && !forbidden_trigger(n));
    out
}

/// The lines of instructions other than ARG before the first FROM.
fn early_lines(df: &Dockerfile) -> Vec<usize> {
    df.children
        .iter()
        .take_while(|n| n.value != "from")
        .filter(|n| n.value != "arg")
        .map(|n| n.start_line)
        .collect()
}

fn forbidden_trigger(node: &Node) -> bool {
    node.value == "onbuild"
        && node
            .sub
            .as_ref()
            .is_some_and(|sub| FORBIDDEN_TRIGGERS.contains(&sub.value.as_str()))
}

/// DL3061: an instruction other than ARG before the first FROM.
pub fn before_from(ctx: &Context) -> Vec<usize> {
    early_lines(ctx.dockerfile)
}

/// DL3043: ONBUILD whose trigger is ONBUILD, FROM or MAINTAINER.
pub fn bad_onbuild_trigger(ctx: &Context) -> Vec<usize> {
    ctx.dockerfile
        .children
        .iter()
        .filter(|n| forbidden_trigger(n))
        .map(|n| n.start_line)
        .collect()
}

/// DL1001 (off unless overridden): a `# hadolint ignore=…` comment.
pub fn ignore_pragma(ctx: &Context) -> Vec<usize> {
    ctx.src
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let comment = line.trim_start().strip_prefix('#')?;
            (!parse_pragma(comment).is_empty()).then_some(i + 1)
        })
        .collect()
}

/// The typed triggers of the ONBUILD instructions, with the ONBUILD line (hadolint checks
/// some rules on triggers too). Triggers that do not parse are left out.
pub(crate) fn onbuild_triggers(ctx: &Context) -> Vec<(usize, Command)> {
    ctx.dockerfile
        .children
        .iter()
        .filter(|n| n.value == "onbuild" && !forbidden_trigger(n))
        .filter_map(|n| {
            let sub = n.sub.as_ref()?;
            let cmd = parse_command(ctx.dockerfile, sub).ok()?;
            Some((n.start_line, cmd))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lint::{lint, lint_with, LintConfig};

    #[test]
    fn instructions_buildkit_refuses_are_reported_and_the_rest_is_linted() {
        let src = "LABEL a=1\nFROM debian\nONBUILD FROM x:1\nMAINTAINER me\n";
        let got: Vec<(usize, &str)> = lint(src, "Dockerfile")
            .unwrap()
            .into_iter()
            .map(|f| (f.line, f.code))
            .collect();
        assert_eq!(
            got,
            [(1, "DL3061"), (2, "DL3006"), (3, "DL3043"), (4, "DL4000")]
        );
    }

    #[test]
    fn dl1001_reports_pragmas_only_when_overridden_and_pragmas_can_be_disabled() {
        let src = "FROM a:1\n# hadolint ignore=DL3003\nRUN cd /x\n";
        let codes = |c: &LintConfig| -> Vec<(usize, &'static str)> {
            lint_with(src, "D", c)
                .unwrap()
                .into_iter()
                .map(|f| (f.line, f.code))
                .collect()
        };
        assert!(codes(&LintConfig::default()).is_empty());
        let on = LintConfig::from_yaml("override: {warning: [DL1001]}", "c").unwrap();
        assert_eq!(codes(&on), [(2, "DL1001")]);
        let off = LintConfig::from_yaml("disable-ignore-pragma: true", "c").unwrap();
        assert_eq!(codes(&off), [(3, "DL3003")]);
    }
}
