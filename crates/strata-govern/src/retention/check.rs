//! What `parse` checks beyond the file's shape: the label order, each rule's globs and
//! selectors, and that its `keep` keeps something. Errors say what is wrong in the words of
//! the file.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{Keep, PolicyError, RetentionRule};
use crate::{glob, labels};

pub(super) fn label_order(order: &[String]) -> Result<(), PolicyError> {
    let mut seen = BTreeSet::new();
    for label in order {
        let reason = if !labels::valid(label) {
            format!("label-order: {label:?} is not a label ([a-z0-9] then [a-z0-9._-], at most 64 bytes)")
        } else if label == "none" {
            "label-order: \"none\" names the bucket of images without a label; it cannot be a label"
                .to_owned()
        } else if !seen.insert(label) {
            format!("label-order: {label:?} is listed twice")
        } else {
            continue;
        };
        return Err(PolicyError::Invalid(reason));
    }
    Ok(())
}

/// The reason `rule` cannot be used, if any.
pub(super) fn rule(rule: &RetentionRule, order: &[String]) -> Result<(), String> {
    glob::repository(&rule.repositories)
        .map_err(|e| format!("repositories {:?}: {e}", rule.repositories))?;
    if let Some(tags) = &rule.tags {
        glob::tag(tags).map_err(|e| format!("tags {tags:?}: {e}"))?;
    }
    if let Some(bucket) = &rule.bucket {
        if bucket != "none" && !order.contains(bucket) {
            return Err(format!(
                "bucket {bucket:?} is neither \"none\" nor a label of label-order ({})",
                order.join(", ")
            ));
        }
    }
    if let Some(label) = &rule.label {
        if !labels::valid(label) {
            return Err(format!(
                "label {label:?} is not a label ([a-z0-9] then [a-z0-9._-], at most 64 bytes)"
            ));
        }
    }
    if rule.keep == Keep::Always(false) {
        return Err("keep: always = false keeps nothing; remove the rule instead".to_owned());
    }
    Ok(())
}

/// `keep` as written: a table of which exactly one key is set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct KeepTable {
    newest_pushed: Option<usize>,
    newest_pulled: Option<usize>,
    pushed_within_days: Option<u32>,
    pulled_within_days: Option<u32>,
    always: Option<bool>,
}

impl TryFrom<KeepTable> for Keep {
    type Error = String;

    fn try_from(t: KeepTable) -> Result<Keep, String> {
        let all = [
            t.newest_pushed.map(Keep::NewestPushed),
            t.newest_pulled.map(Keep::NewestPulled),
            t.pushed_within_days.map(Keep::PushedWithinDays),
            t.pulled_within_days.map(Keep::PulledWithinDays),
            t.always.map(Keep::Always),
        ];
        let mut set = all.into_iter().flatten();
        match (set.next(), set.next()) {
            (Some(keep), None) => Ok(keep),
            (found, _) => Err(format!(
                "keep needs exactly one of newest-pushed, newest-pulled, pushed-within-days, \
                 pulled-within-days, always (found {})",
                if found.is_none() { "none" } else { "several" }
            )),
        }
    }
}
