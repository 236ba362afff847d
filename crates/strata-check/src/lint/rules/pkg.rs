//! RUN rules on package managers other than apt-get, pip and npm (those are in `run.rs`):
//! apk (DL3018, DL3019), gem (DL3028), yum (DL3030, DL3032, DL3033), zypper (DL3034–DL3037),
//! dnf/microdnf (DL3038, DL3040, DL3041), yarn (DL3060) and go (DL3062). Each follows
//! hadolint 2.15's check (`src/Hadolint/Rule/DL30xx.hs`), including its quirks, so both
//! report the same lines.

use std::collections::{BTreeSet, HashMap};

use super::flags::{args_no_flags, args_no_flags_nor_values, has_any_flag, is};
use super::run::{lines_where, runs, Run};
use crate::lint::shell::SimpleCommand;
use crate::lint::Context;
use strata_dockerfile::Instruction;

/// The lines of RUNs whose script fails `ok`.
fn runs_failing(ctx: &Context, ok: impl Fn(&Run) -> bool) -> Vec<usize> {
    runs(ctx)
        .into_iter()
        .filter(|r| !ok(r))
        .map(|r| r.line)
        .collect()
}

/// Whether the first command matching `install` comes before the first matching `clean`
/// (hadolint's `findCommandIndex` comparison): false when either is missing.
fn cleaned_after(
    r: &Run,
    install: impl Fn(&SimpleCommand) -> bool,
    clean: impl Fn(&SimpleCommand) -> bool,
) -> bool {
    let cmds = &r.script.commands;
    match (cmds.iter().position(install), cmds.iter().position(clean)) {
        (Some(i), Some(c)) => i < c,
        _ => false,
    }
}

/// Whether a RUN installs with `install` and does not clean with `clean` afterwards.
fn installs_without_clean(
    r: &Run,
    install: impl Fn(&SimpleCommand) -> bool + Copy,
    clean: impl Fn(&SimpleCommand) -> bool,
) -> bool {
    r.script.commands.iter().any(install) && !cleaned_after(r, install, clean)
}

// ---- apk ----

/// The packages of `apk add` (without the values of `-t`/`--virtual`, `--repository`, `-X`).
fn apk_packages(c: &SimpleCommand) -> Vec<&str> {
    if !is(c, "apk", &["add"]) {
        return Vec::new();
    }
    args_no_flags_nor_values(c, &["t", "virtual", "repository", "X"])
        .into_iter()
        .filter(|a| *a != "add")
        .collect()
}

/// DL3018: an `apk add` package without `=`, `~`, `>` or `<` (an `.apk` file is pinned).
pub fn apk_unpinned(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        apk_packages(c)
            .iter()
            .any(|p| !["=", "~", ">", "<"].iter().any(|s| p.contains(s)) && !p.ends_with(".apk"))
    })
}

/// DL3019: `apk add` without `--no-cache`, unless a cache or tmpfs mount covers
/// `/var/cache/apk`.
pub fn apk_cache(ctx: &Context) -> Vec<usize> {
    runs_failing(ctx, |r| {
        r.has_cache_mount_with("/var/cache/apk")
            || !r
                .script
                .commands
                .iter()
                .any(|c| is(c, "apk", &["add"]) && !has_any_flag(c, &["no-cache"]))
    })
}

// ---- gem ----

/// The gems of `gem install|i` (up to `--`), unless the command gives `-v`/`--version`.
/// As hadolint, every option word drops the word after it too.
fn gems(c: &SimpleCommand) -> Vec<&str> {
    let versioned = c.has_arg("-v")
        || c.has_arg("--version")
        || c.args().iter().any(|a| a.starts_with("--version="));
    if !is(c, "gem", &["install", "i"]) || versioned {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut words = c.args().iter().take_while(|a| *a != "--");
    while let Some(w) = words.next() {
        if w.starts_with('-') {
            words.next();
        } else if w != "install" && w != "i" {
            out.push(w.as_str());
        }
    }
    out
}

/// DL3028: a gem installed without `:version`.
pub fn gem_unpinned(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| gems(c).iter().any(|g| !g.contains(':')))
}

// ---- yum, dnf, microdnf ----

/// DL3030: `yum install|groupinstall|localinstall` without `-y`/`--assumeyes`.
pub fn yum_no_yes(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        is(c, "yum", &["install", "groupinstall", "localinstall"])
            && !has_any_flag(c, &["y", "assumeyes"])
    })
}

/// DL3032: `yum install` not followed by `yum clean all` (or, as hadolint reads it, any
/// `yum clean`/`yum … all` or `rm -rf …`).
pub fn yum_no_clean(ctx: &Context) -> Vec<usize> {
    runs_failing(ctx, |r| {
        !installs_without_clean(
            r,
            |c| is(c, "yum", &["install"]),
            |c| is(c, "yum", &["clean", "all"]) || is(c, "rm", &["-rf", "/var/cache/yum/*"]),
        )
    })
}

const DNF: [&str; 2] = ["dnf", "microdnf"];

fn is_dnf(c: &SimpleCommand, args: &[&str]) -> bool {
    DNF.iter().any(|name| is(c, name, args))
}

/// DL3038: `dnf`/`microdnf` `install|groupinstall|localinstall` without `-y`/`--assumeyes`.
pub fn dnf_no_yes(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        is_dnf(c, &["install", "groupinstall", "localinstall"])
            && !has_any_flag(c, &["y", "assumeyes"])
    })
}

/// DL3040: a `dnf` (or `microdnf`) install or upgrade not followed by `dnf clean all` of the
/// same tool (or `rm -rf …`), unless a cache or tmpfs mount covers libdnf5's cache.
pub fn dnf_no_clean(ctx: &Context) -> Vec<usize> {
    const INSTALL: [&str; 8] = [
        "install",
        "in",
        "upgrade",
        "up",
        "upgrade-minimal",
        "up-min",
        "reinstall",
        "rei",
    ];
    runs_failing(ctx, |r| {
        let clean_for = |tool: &'static str| {
            !installs_without_clean(
                r,
                move |c| is(c, tool, &INSTALL),
                move |c| {
                    is(c, tool, &["clean", "all"]) || is(c, "rm", &["-rf", "/var/cache/libdnf5*"])
                },
            )
        };
        DNF.iter().all(|tool| clean_for(tool))
            || r.has_cache_mount_with("/var/cache/libdnf5")
            || r.has_cache_mount_with(".cache/libdnf5")
    })
}

/// The packages and modules of `TOOL install` (`install` and `module` words left out),
/// split by whether the command is a `module` (or, for dnf, `group`) command.
fn rpm_installs<'a>(
    c: &'a SimpleCommand,
    is_tool: impl Fn(&SimpleCommand, &[&str]) -> bool,
    group_words: &[&str],
) -> (Vec<&'a str>, Vec<&'a str>) {
    if !is_tool(c, &["install"]) {
        return (Vec::new(), Vec::new());
    }
    let names: Vec<&str> = args_no_flags(c)
        .into_iter()
        .filter(|a| *a != "install" && *a != "module")
        .collect();
    let module = is_tool(c, &["module"]);
    match (module, is_tool(c, group_words)) {
        (true, _) => (Vec::new(), names),
        (false, true) => (Vec::new(), Vec::new()),
        (false, false) => (names, Vec::new()),
    }
}

/// DL3033: a `yum install` package without `-version` (or a module without `:stream`).
pub fn yum_unpinned(ctx: &Context) -> Vec<usize> {
    rpm_unpinned(ctx, |c, args| is(c, "yum", args), &["module"])
}

/// DL3041: a `dnf`/`microdnf install` package without `-version` (or a module without
/// `:stream`); `group` commands are not checked.
pub fn dnf_unpinned(ctx: &Context) -> Vec<usize> {
    rpm_unpinned(ctx, is_dnf, &["module", "group"])
}

fn rpm_unpinned(
    ctx: &Context,
    is_tool: impl Fn(&SimpleCommand, &[&str]) -> bool + Copy,
    group_words: &[&str],
) -> Vec<usize> {
    let vars = vars_at_runs(ctx);
    runs(ctx)
        .into_iter()
        .filter(|r| {
            let known = vars.get(&r.line).filter(|_| !r.onbuild);
            r.script.commands.iter().any(|c| {
                let (packages, modules) = rpm_installs(c, is_tool, group_words);
                packages.iter().any(|p| !rpm_pinned(p, known))
                    || modules.iter().any(|m| !m.contains(':'))
            })
        })
        .map(|r| r.line)
        .collect()
}

/// hadolint's `packageVersionFixed`: `name-version` where the parts after the first `-` are
/// made of `[A-Za-z0-9.~^_:+]` and one starts with a digit; an `.rpm` is pinned; a package
/// with a variable is pinned when the variable is an ARG or the stage's ENV.
fn rpm_pinned(package: &str, known: Option<&BTreeSet<String>>) -> bool {
    let parts: Vec<&str> = package.split('-').collect();
    if parts.len() <= 1 {
        return false;
    }
    if package.ends_with(".rpm") {
        return true;
    }
    if package.contains('$') {
        let braced = braced_vars(package);
        return known.is_some_and(|k| k.iter().any(|v| braced.contains(&format!("${{{v}}}"))));
    }
    let valid = |p: &str| {
        p.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".~^_:+".contains(c))
    };
    let digit = |p: &str| p.starts_with(|c: char| c.is_ascii_digit());
    let rest = &parts[1..];
    rest.iter().all(|p| valid(p)) && rest.iter().any(|p| digit(p))
}

/// `$NAME` written as `${NAME}` (ShellCheck's simplified word, which hadolint searches).
fn braced_vars(word: &str) -> String {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        let starts_name = chars
            .peek()
            .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_');
        if c == '$' && starts_name {
            out.push('{');
            while let Some(n) = chars.next_if(|n| n.is_ascii_alphanumeric() || *n == '_') {
                out.push(n);
            }
            out.push('}');
        }
    }
    out
}

/// The variable names known at each RUN line for DL3033/DL3041: every ARG declared so far
/// (global, as in hadolint) and the ENV keys of the stage, inherited from the stage it is
/// built on.
fn vars_at_runs(ctx: &Context) -> HashMap<usize, BTreeSet<String>> {
    let mut at = HashMap::new();
    let mut args: BTreeSet<String> = ctx
        .meta_args
        .iter()
        .flat_map(|m| m.args.iter().map(|a| a.key.clone()))
        .collect();
    let mut stage_envs: Vec<BTreeSet<String>> = Vec::new();
    for stage in ctx.stages {
        let base = ctx.stages[..stage_envs.len()].iter().position(|s| {
            s.name
                .as_ref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&stage.base_name))
        });
        let mut env = base.map(|i| stage_envs[i].clone()).unwrap_or_default();
        for c in &stage.commands {
            match &c.instruction {
                Instruction::Env(pairs) => env.extend(pairs.iter().map(|p| p.key.clone())),
                Instruction::Arg(decls) => args.extend(decls.iter().map(|d| d.key.clone())),
                Instruction::Run(_) => {
                    at.insert(c.location.start_line, &env | &args);
                }
                _ => {}
            }
        }
        stage_envs.push(env);
    }
    at
}

// ---- zypper ----

/// DL3034: a zypper command that asks questions without `-n`/`--non-interactive`,
/// `-y`/`--no-confirm`.
pub fn zypper_no_yes(ctx: &Context) -> Vec<usize> {
    const ASKS: [&str; 7] = [
        "install",
        "in",
        "remove",
        "rm",
        "source-install",
        "si",
        "patch",
    ];
    lines_where(ctx, |c| {
        is(c, "zypper", &ASKS) && !has_any_flag(c, &["non-interactive", "n", "no-confirm", "y"])
    })
}

/// DL3035: `zypper dist-upgrade`/`dup`.
pub fn zypper_dist_upgrade(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| is(c, "zypper", &["dist-upgrade", "dup"]))
}

/// DL3036: `zypper install` not followed by `zypper clean`/`cc`, unless a cache or tmpfs
/// mount covers `/var/cache/zypp`.
pub fn zypper_no_clean(ctx: &Context) -> Vec<usize> {
    runs_failing(ctx, |r| {
        r.has_cache_mount_with("/var/cache/zypp")
            || !installs_without_clean(
                r,
                |c| is(c, "zypper", &["install", "in"]),
                |c| is(c, "zypper", &["clean", "cc"]),
            )
    })
}

/// DL3037: a `zypper install` package without `=`, `>` or `<` (an `.rpm` is pinned).
pub fn zypper_unpinned(ctx: &Context) -> Vec<usize> {
    lines_where(ctx, |c| {
        is(c, "zypper", &["install", "in"])
            && args_no_flags(c)
                .into_iter()
                .filter(|a| *a != "install" && *a != "in")
                .any(|p| !["=", ">", "<"].iter().any(|s| p.contains(s)) && !p.ends_with(".rpm"))
    })
}

// ---- yarn ----

/// DL3060: `yarn install` without a later `yarn cache clean` in the same RUN (a cache or
/// tmpfs mount on `.cache/yarn` is fine), in a stage that ends up in an image: the last
/// stage, one with the same FROM as the last, or one a FROM builds on.
pub fn yarn_no_clean(ctx: &Context) -> Vec<usize> {
    runs(ctx)
        .into_iter()
        .filter(|r| r.onbuild || yarn_stage_counts(ctx, r.stage))
        .filter(|r| {
            let install = |c: &SimpleCommand| is(c, "yarn", &["install"]);
            // hadolint's `cmdHasArgs "yarn" ["cache", "clean"]`: either word.
            let clean = |c: &SimpleCommand| is(c, "yarn", &["cache", "clean"]);
            let cmds = &r.script.commands;
            let Some(installed) = cmds.iter().position(install) else {
                return false;
            };
            match cmds.iter().position(clean) {
                // Cleaning before installing cleans nothing.
                Some(cleaned) => cleaned < installed,
                None => !r.has_cache_mount_with(".cache/yarn"),
            }
        })
        .map(|r| r.line)
        .collect()
}

/// hadolint's DL3060 `markFailures`: the stage's FROM equals the last FROM (image, alias,
/// platform), or its alias is the image of some FROM.
fn yarn_stage_counts(ctx: &Context, idx: usize) -> bool {
    let (Some(stage), Some(last)) = (ctx.stages.get(idx), ctx.stages.last()) else {
        return false;
    };
    let same_from = stage.base_name == last.base_name
        && stage.name == last.name
        && stage.platform == last.platform;
    let used = stage.name.as_ref().is_some_and(|n| {
        ctx.stages
            .iter()
            .any(|s| s.base_name.eq_ignore_ascii_case(n))
    });
    same_from || used
}

// ---- go ----

/// The packages DL3062 checks in a RUN: those of `go run` (the word after `run`) if any,
/// else those of `go install`/`go get`.
fn go_packages(r: &Run) -> Vec<&str> {
    let cmds = &r.script.commands;
    let run: Vec<&str> = cmds
        .iter()
        .filter(|c| is(c, "go", &["run"]))
        .flat_map(|c| args_no_flags(c).into_iter().take(2).filter(|a| *a != "run"))
        .collect();
    if !run.is_empty() {
        return run;
    }
    cmds.iter()
        .filter(|c| is(c, "go", &["install", "get"]))
        .flat_map(|c| {
            args_no_flags(c)
                .into_iter()
                .filter(|a| !["install", "get", "tool"].contains(a))
        })
        .collect()
}

fn go_pinned(package: &str) -> bool {
    let local = package == "." || package.starts_with('/') || package.starts_with('.');
    let tagged = ["@latest", "@none"].iter().any(|t| package.ends_with(t));
    local || (package.contains('@') && !tagged)
}

/// DL3062: `go install`/`go get`/`go run` of a package without `@version` (`@latest` and
/// `@none` are not versions; local paths are fine).
pub fn go_unpinned(ctx: &Context) -> Vec<usize> {
    runs_failing(ctx, |r| go_packages(r).iter().all(|p| go_pinned(p)))
}
