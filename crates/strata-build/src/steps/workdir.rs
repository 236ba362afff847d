//! WORKDIR: sets the working directory and creates it when the image does not have it, as
//! BuildKit does (`dockerfile2llb/convert.go` dispatchWorkdir: `llb.Mkdir(wd, 0755,
//! WithParents(true), WithUser(USER))`; fsutil's `MkdirAll` chowns every directory it
//! creates, so missing parents belong to the USER too; existing ones are left alone).

use strata_archive::{Entry, EntryKind};

use crate::error::Result;
use crate::sources::users::resolve_chown;
use crate::state::cache::KeyBuilder;
use crate::state::stage::StageState;
use crate::steps::copy::rules::{absolute_dest, add_parents_as, check_parents, NewDirs, Planned};
use crate::steps::{Step, StepEnv};

pub fn run(env: &StepEnv<'_>, stage: &mut StageState, step: &Step<'_>, path: &str) -> Result<bool> {
    let (abs, _) = absolute_dest(path, stage.workdir());
    stage.image.config.config.working_dir = abs.clone();
    let created_by = format!("WORKDIR {abs}");
    let user = stage.image.config.config.user.clone();
    let key = KeyBuilder::new("workdir", &stage.key)
        .field("path", &abs)
        .field("user", &user)
        .finish();
    if let Some(rec) = env.cached(step, &key)? {
        stage.commit_layer(key, &rec, created_by, env.clock);
        return Ok(true);
    }
    let view = env.view(&stage.image)?;
    if abs == "/" || view.stat(&abs).is_some_and(|f| f.meta.is_dir()) {
        env.record_layer(stage, key, None, created_by)?;
        return Ok(false);
    }
    let owner = if user.is_empty() {
        (0, 0)
    } else {
        resolve_chown(&user, Some(&view)).map_err(|e| step.fail(e))?
    };
    let target = view.resolve(&abs, true).unwrap_or(abs);
    let mut planned = Planned::default();
    let rel = target.trim_start_matches('/').to_owned();
    let mut dir = Entry::new(rel.clone(), EntryKind::Dir);
    dir.mode = 0o755;
    (dir.uid, dir.gid) = owner;
    dir.mtime = env.clock.now_secs();
    planned.entries.insert(rel, dir);
    // A file on the way is an error (BuildKit: `lstat /f/sub: not a directory`), not replaced.
    check_parents(&planned, Some(&view)).map_err(|e| step.fail(e))?;
    let created = NewDirs { mode: 0o755, owner };
    add_parents_as(&mut planned, Some(&view), env.clock.now_secs(), created);
    let layer = env.store_layer(planned.entries.into_values().collect())?;
    env.record_layer(stage, key, Some(layer), created_by)?;
    Ok(false)
}
