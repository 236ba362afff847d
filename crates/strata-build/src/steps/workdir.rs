//! WORKDIR: sets the working directory and creates it (owned by the current USER) when the
//! image does not have it, as BuildKit does.

use strata_archive::{Entry, EntryKind};
use strata_dockerfile::instructions::Command;

use crate::cache::KeyBuilder;
use crate::copy::{absolute_dest, Planned};
use crate::error::Result;
use crate::layer::store_layer;
use crate::stage::StageRunner;
use crate::users::resolve_chown;

pub fn run(r: &mut StageRunner<'_, '_>, cmd: &Command, path: &str) -> Result<bool> {
    let (abs, _) = absolute_dest(path, r.workdir());
    r.state.config.config.working_dir = abs.clone();
    let created_by = format!("WORKDIR {abs}");
    let user = r.state.config.config.user.clone();
    let key = KeyBuilder::new("workdir", &r.key)
        .field("path", &abs)
        .field("user", &user)
        .finish();
    if let Some(rec) = r.cached(&key)? {
        r.commit_layer(key, &rec, created_by);
        return Ok(true);
    }
    let view = r.state.view(r.b.store, &r.b.snapshots)?;
    if abs == "/" || view.stat(&abs).is_some_and(|f| f.meta.is_dir()) {
        r.record_layer(key, None, created_by)?;
        return Ok(false);
    }
    let owner = if user.is_empty() {
        (0, 0)
    } else {
        resolve_chown(&user, Some(&view)).map_err(|e| r.step_error(cmd, e.to_string()))?
    };
    let target = view.resolve(&abs, true).unwrap_or(abs);
    let mut planned = Planned::default();
    let rel = target.trim_start_matches('/').to_owned();
    let mut dir = Entry::new(rel.clone(), EntryKind::Dir);
    dir.mode = 0o755;
    (dir.uid, dir.gid) = owner;
    dir.mtime = r.b.clock.now_secs();
    planned.entries.insert(rel, dir);
    crate::copy::add_parents(&mut planned, Some(&view), r.b.clock.now_secs());
    let entries = planned.entries.into_values().collect();
    let layer = store_layer(r.b.store, entries, r.b.opts.compression, r.b.clock.epoch())?;
    r.record_layer(key, Some(layer), created_by)?;
    Ok(false)
}
