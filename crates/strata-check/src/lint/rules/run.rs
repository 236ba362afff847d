//! RUN rules, on the script split into simple commands ([`crate::lint::shell`]): apt-get
//! (DL3008, DL3009, DL3014, DL3015), pip (DL3013, DL3042), npm (DL3016), `cd` (DL3003),
//! `sudo` (DL3004) and pipes without `pipefail` (DL4006). Also the RUNs every RUN rule reads
//! ([`runs`]: RUN and `ONBUILD RUN`, heredoc bodies, mounts), shared with `pkg.rs`/`cmd.rs`.

use super::flags::is;
use crate::lint::shell::{split, Script, SimpleCommand};
use crate::lint::Context;
use strata_dockerfile::{parse, parse_instructions, Instruction, Mount, MountKind, RunCommand};

/// A RUN instruction (or an `ONBUILD RUN` trigger): its stage index, line, split script and
/// mounts.
pub(super) struct Run {
    pub stage: usize,
    pub line: usize,
    pub script: Script,
    pub mounts: Vec<Mount>,
    /// An `ONBUILD RUN` trigger: hadolint checks it too, as a separate stream of instructions
    /// (stateful rules do not mix it with the stage's RUNs).
    pub onbuild: bool,
}

impl Run {
    fn of(stage: usize, line: usize, r: &RunCommand, onbuild: bool) -> Self {
        Run {
            stage,
            line,
            script: split(&script_of(r)),
            mounts: r.mounts.clone(),
            onbuild,
        }
    }

    /// Whether a cache or tmpfs mount's target contains `fragment` (hadolint's
    /// `hasCacheOrTmpfsMountWith`).
    pub fn has_cache_mount_with(&self, fragment: &str) -> bool {
        self.mounts.iter().any(|m| {
            matches!(m.kind, MountKind::Cache | MountKind::Tmpfs) && m.target.contains(fragment)
        })
    }
}

/// The script hadolint lints: the body of the first heredoc when there is one (`RUN <<EOF`,
/// `RUN <<EOF bash`; the command line around it is not looked at), else the command.
pub(super) fn script_of(r: &RunCommand) -> String {
    match r.heredocs.first() {
        Some(h) => h.content.clone(),
        None => r.cmd.args.join(" "),
    }
}

/// Every RUN and `ONBUILD RUN` of the file, in order.
pub(super) fn runs(ctx: &Context) -> Vec<Run> {
    let mut out = Vec::new();
    for (stage, s) in ctx.stages.iter().enumerate() {
        for c in &s.commands {
            let line = c.location.start_line;
            match &c.instruction {
                Instruction::Run(r) => out.push(Run::of(stage, line, r, false)),
                Instruction::Onbuild(trigger) => {
                    if let Some(r) = onbuild_run(trigger) {
                        out.push(Run::of(stage, line, &r, true));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The RUN of an `ONBUILD RUN …` trigger, parsed as strata-build parses triggers; a trigger
/// that is not a RUN or does not parse is none (the build reports the latter).
fn onbuild_run(trigger: &str) -> Option<RunCommand> {
    let df = parse(&format!("FROM scratch\n{trigger}\n")).ok()?;
    let (_, stages) = parse_instructions(&df).ok()?;
    let first = stages.into_iter().next()?.commands.into_iter().next()?;
    match first.instruction {
        Instruction::Run(r) => Some(r),
        _ => None,
    }
}

/// The lines of RUNs where some simple command matches `pred`.
pub(super) fn lines_where(ctx: &Context, pred: impl Fn(&SimpleCommand) -> bool) -> Vec<usize> {
    runs(ctx)
        .into_iter()
        .filter(|r| r.script.commands.iter().any(&pred))
        .map(|r| r.line)
        .collect()
}

/// DL3003: `cd` in a RUN (hadolint does not check `ONBUILD RUN` for this one).
pub fn cd(ctx: &Context) -> Vec<usize> {
    runs(ctx)
        .into_iter()
        .filter(|r| !r.onbuild && r.script.commands.iter().any(|c| c.name() == Some("cd")))
        .map(|r| r.line)
        .collect()
}

/// DL3004: `sudo` in a RUN.
pub fn sudo(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| c.name() == Some("sudo"))
}

/// DL3027: `apt` (the interactive front end) instead of `apt-get`/`apt-cache`.
pub fn apt(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| c.name() == Some("apt"))
}

/// DL4005: `ln … /bin/sh` to change the shell, instead of SHELL.
pub fn ln_bin_sh(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| c.name() == Some("ln") && c.has_arg("/bin/sh"))
}

// ---- apt-get ----

fn is_apt_install(c: &SimpleCommand) -> bool {
    c.name() == Some("apt-get") && c.has_arg("install")
}

/// apt-get options that take a value as the next word.
const APT_VALUE_FLAGS: [&str; 5] = ["-o", "-t", "-c", "--target-release", "--option"];

/// The package arguments of `apt-get … install …`.
fn apt_packages(c: &SimpleCommand) -> Vec<&str> {
    let mut out = Vec::new();
    let mut skip_next = false;
    let mut after_install = false;
    for a in c.args() {
        if skip_next {
            skip_next = false;
        } else if APT_VALUE_FLAGS.contains(&a.as_str()) {
            skip_next = true;
        } else if a.starts_with('-') {
        } else if after_install {
            out.push(a.as_str());
        } else if a == "install" {
            after_install = true;
        }
    }
    out
}

fn apt_pinned(pkg: &str) -> bool {
    pkg.contains('=') || pkg.contains('/') || pkg.ends_with(".deb")
}

/// DL3008: an apt-get install package without `=version`.
pub fn apt_unpinned(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        is_apt_install(c) && apt_packages(c).iter().any(|p| !apt_pinned(p))
    })
}

/// DL3014: apt-get install without `-y` (or `--yes`, `--assume-yes`, `-qq`, `-q=2`).
pub fn apt_no_yes(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        is_apt_install(c) && !c.args().iter().any(|a| says_yes(a))
    })
}

fn says_yes(arg: &str) -> bool {
    if ["--yes", "--assume-yes", "-q=2", "--quiet=2"].contains(&arg) {
        return true;
    }
    match arg.strip_prefix('-') {
        Some(short) if !short.starts_with('-') => short.contains('y') || short.contains("qq"),
        _ => false,
    }
}

/// DL3015: apt-get install without `--no-install-recommends`.
pub fn apt_recommends(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        is_apt_install(c)
            && !c
                .args()
                .iter()
                .any(|a| a == "--no-install-recommends" || a == "APT::Install-Recommends=false")
    })
}

/// DL3009: `apt-get update` (or `apt`/`aptitude update`) without `rm -rf
/// /var/lib/apt/lists/*` in the same RUN (hadolint takes any `rm -rf …`, or any `rm` of
/// exactly that glob, as the clean-up), in a stage that ends up in an image (the last one, or
/// one a later FROM builds on). A cache or tmpfs mount on `/var/lib/apt/lists`, or on both
/// `/var/lib/apt` and `/var/cache/apt`, keeps the lists out of the layer.
pub fn apt_lists_kept(ctx: &Context) -> Vec<usize> {
    runs(ctx)
        .into_iter()
        // hadolint's ONBUILD stream has no FROM, so a trigger always counts as shipped.
        .filter(|r| r.onbuild || shipped_stage(ctx, r.stage))
        .filter(|r| {
            let cmds = &r.script.commands;
            let update = cmds.iter().any(|c| {
                ["apt-get", "apt", "aptitude"]
                    .iter()
                    .any(|n| is(c, n, &["update"]))
            });
            let cleanup = cmds
                .iter()
                .any(|c| is(c, "rm", &["-rf", "/var/lib/apt/lists/*"]));
            let mounted = r.has_cache_mount_with("/var/lib/apt/lists")
                || (r.has_cache_mount_with("/var/lib/apt")
                    && r.has_cache_mount_with("/var/cache/apt"));
            update && !cleanup && !mounted
        })
        .map(|r| r.line)
        .collect()
}

fn shipped_stage(ctx: &Context, idx: usize) -> bool {
    if idx + 1 == ctx.stages.len() {
        return true;
    }
    let Some(name) = &ctx.stages[idx].name else {
        return false;
    };
    // hadolint goes by alias: a later FROM on it, or the final stage reusing it.
    ctx.stages[idx + 1..]
        .iter()
        .any(|s| s.base_name.eq_ignore_ascii_case(name))
        || ctx.stages.last().and_then(|s| s.name.as_ref()) == Some(name)
}

// ---- pip ----

/// The arguments after `install` of `pip install`, `pip3 install`, `python -m pip install`.
fn pip_install_args(c: &SimpleCommand) -> Option<&[String]> {
    let name = c.name()?;
    let base = name.rsplit('/').next().unwrap_or(name);
    let args = c.args();
    let rest = if base.starts_with("pip") {
        args
    } else if base.starts_with("python") {
        let m = args.iter().position(|a| a == "-m")?;
        let module = args.get(m + 1)?;
        if !module.starts_with("pip") {
            return None;
        }
        &args[m + 2..]
    } else {
        return None;
    };
    let first = rest.iter().position(|a| !a.starts_with('-'))?;
    (rest[first] == "install").then(|| &rest[first + 1..])
}

/// pip install options that take a value as the next word.
const PIP_VALUE_FLAGS: [&str; 22] = [
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--trusted-host",
    "--platform",
    "--python-version",
    "--src",
    "--cache-dir",
    "--log",
    "--upgrade-strategy",
];

fn pip_packages(args: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for a in args {
        if skip_next {
            skip_next = false;
        } else if PIP_VALUE_FLAGS.contains(&a.as_str()) {
            skip_next = true;
        } else if !a.starts_with('-') {
            out.push(a.as_str());
        }
    }
    out
}

fn pip_pinned(pkg: &str) -> bool {
    if pkg.starts_with("git+") {
        // A VCS URL is pinned by `@ref` after its path: `git+https://host/x/y.git@v1`.
        return pkg
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('@'));
    }
    let symbols = ["==", ">=", "<=", "~=", "!=", ">", "<", "@"];
    let local = pkg.starts_with('.') || pkg.starts_with('/') || pkg.contains("://");
    let file = [".whl", ".tar.gz", ".zip"].iter().any(|s| pkg.ends_with(s));
    symbols.iter().any(|s| pkg.contains(s)) || local || file
}

/// DL3013: pip install of a package without a version.
pub fn pip_unpinned(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        pip_install_args(c).is_some_and(|args| pip_packages(args).iter().any(|p| !pip_pinned(p)))
    })
}

/// DL3042: pip install without `--no-cache-dir`.
pub fn pip_cache(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        pip_install_args(c).is_some() && !c.has_arg("--no-cache-dir")
    })
}

// ---- npm ----

/// DL3016: `npm install|i|add PACKAGE` without `@version`.
pub fn npm_unpinned(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        if c.name() != Some("npm") {
            return false;
        }
        let args = c.args();
        let Some(verb) = args.iter().position(|a| !a.starts_with('-')) else {
            return false;
        };
        if !["install", "i", "add"].contains(&args[verb].as_str()) {
            return false;
        }
        args[verb + 1..]
            .iter()
            .filter(|a| !a.starts_with('-'))
            .any(|p| !npm_pinned(p))
    })
}

fn npm_pinned(pkg: &str) -> bool {
    let git = pkg.starts_with("git") || pkg.contains("://") || pkg.starts_with("github:");
    if git {
        // A git dependency is pinned by its `#commit-ish`.
        return pkg.contains('#');
    }
    let name = pkg.strip_prefix('@').unwrap_or(pkg);
    let versioned = name.contains('@');
    let tarball = [".tar", ".tgz", ".tar.gz"].iter().any(|s| pkg.ends_with(s));
    let folder = pkg.starts_with('.') || pkg.starts_with('/') || pkg.starts_with('~');
    versioned || tarball || folder
}

// ---- pipefail ----

/// DL4006: a RUN with a pipe while the stage's SHELL does not set `-o pipefail`. A SHELL that
/// is not a POSIX shell (pwsh, cmd) turns the rule off until the next FROM.
pub fn pipe_without_pipefail(ctx: &Context) -> Vec<usize> {
    let mut out = Vec::new();
    for stage in ctx.stages {
        let mut state = Pipefail::Unset;
        for c in &stage.commands {
            match &c.instruction {
                Instruction::Shell(args) => state = Pipefail::of_shell(args),
                Instruction::Run(r)
                    if state == Pipefail::Unset && split(&r.cmd.args.join(" ")).has_pipe =>
                {
                    out.push(c.location.start_line);
                }
                _ => {}
            }
        }
    }
    out
}

/// `-o` or a cluster ending in it (`-eo`), whose value is the next word.
fn is_o_flag(arg: &str) -> bool {
    arg.starts_with('-') && !arg.starts_with("--") && arg.ends_with('o')
}

#[derive(PartialEq)]
enum Pipefail {
    Unset,
    Set,
    NotPosix,
}

impl Pipefail {
    fn of_shell(args: &[String]) -> Self {
        let name = args.first().map(|s| s.rsplit('/').next().unwrap_or(s));
        let posix = ["sh", "bash", "zsh", "ash", "dash", "ksh", "mksh", "busybox"];
        if !name.is_some_and(|n| posix.contains(&n)) {
            return Pipefail::NotPosix;
        }
        let set = args
            .windows(2)
            .any(|w| is_o_flag(&w[0]) && w[1] == "pipefail")
            || args.iter().any(|a| a == "-opipefail");
        if set {
            Pipefail::Set
        } else {
            Pipefail::Unset
        }
    }
}
