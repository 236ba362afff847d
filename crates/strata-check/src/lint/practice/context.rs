//! Build-context rules: a `.dockerignore` that is missing or sends `.git` / `node_modules`.

use crate::lint::{BuildContext, Context};

/// The line findings about the context are reported at: the first FROM.
fn first_line(ctx: &Context) -> usize {
    ctx.stages.first().map_or(1, |s| s.location.start_line)
}

fn build_context<'a>(ctx: &'a Context) -> Option<&'a BuildContext> {
    ctx.options.context.as_ref()
}

/// DockerignoreMissing: the context has no `.dockerignore`.
pub fn missing(ctx: &Context) -> Vec<(usize, String)> {
    match build_context(ctx) {
        Some(c) if c.dockerignore.is_none() => vec![(
            first_line(ctx),
            "The build context has no .dockerignore: every file in it is sent to the build, and COPY . copies them all".into(),
        )],
        _ => Vec::new(),
    }
}

/// Whether the context has `entry` at its root and its `.dockerignore` (if any) keeps it.
fn kept(c: &BuildContext, entry: &str) -> bool {
    c.has(entry) && !c.dockerignore.as_ref().is_some_and(|i| i.matches(entry))
}

/// DockerignoreKeepsGit: `.git` is in the context and not excluded.
pub fn keeps_git(ctx: &Context) -> Vec<(usize, String)> {
    match build_context(ctx) {
        Some(c) if kept(c, ".git") => vec![(
            first_line(ctx),
            "The build context's .git directory is not excluded by .dockerignore: add .git to it"
                .into(),
        )],
        _ => Vec::new(),
    }
}

/// DockerignoreKeepsNodeModules: a package.json project whose `node_modules` is not excluded.
pub fn keeps_node_modules(ctx: &Context) -> Vec<(usize, String)> {
    match build_context(ctx) {
        Some(c) if c.has("package.json") && !ignores(c, "node_modules") => vec![(
            first_line(ctx),
            "The build context has a package.json but .dockerignore does not exclude node_modules: add node_modules to it".into(),
        )],
        _ => Vec::new(),
    }
}

fn ignores(c: &BuildContext, entry: &str) -> bool {
    c.dockerignore.as_ref().is_some_and(|i| i.matches(entry))
}
