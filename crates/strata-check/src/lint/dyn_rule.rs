//! Rules whose findings carry their own message (BuildKit's checks, strata's practice rules):
//! one [`DynRule`] row per rule, its check returning `(line, message)` pairs.

use std::borrow::Cow;

use super::{Context, Finding, Severity};

/// One rule with a dynamic message. Its docs are at `url` (BuildKit's) or
/// `docs/rules/<id>.md` (strata's).
pub struct DynRule {
    pub id: &'static str,
    pub severity: Severity,
    /// BuildKit's `Description` (the rule in one sentence).
    pub description: &'static str,
    /// BuildKit's docs address; empty for strata's own rules.
    pub url: &'static str,
    /// Only runs when `# check=experimental=ID` (or `all`) asks for it, as BuildKit.
    pub experimental: bool,
    /// The lines where the rule is broken and the message for each.
    pub check: fn(&Context) -> Vec<(usize, String)>,
}

impl DynRule {
    /// The rule's findings on `ctx`.
    pub fn findings(&self, ctx: &Context) -> Vec<Finding> {
        (self.check)(ctx)
            .into_iter()
            .map(|(line, message)| Finding {
                code: self.id,
                level: self.severity,
                line,
                message: Cow::Owned(message),
            })
            .collect()
    }
}
