//! Rules whose findings carry their own message (BuildKit's checks, strata's practice rules):
//! one [`DynRule`] row per rule, its check returning `(line, message)` pairs.

use std::borrow::Cow;

use super::rules::Hit;
use super::{Context, Severity};

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
    /// The rule's hits on `ctx`.
    pub fn hits(&self, ctx: &Context) -> Vec<Hit> {
        (self.check)(ctx)
            .into_iter()
            .map(|(line, message)| Hit {
                code: self.id,
                severity: self.severity,
                line,
                message: Cow::Owned(message),
            })
            .collect()
    }
}
