//! The checks BuildKit runs while dispatching each stage (`convert.go`'s `dispatch*`): the
//! stage's environment (base image or earlier stage, ENV, ARG), SHELL, WORKDIR and the
//! CMD/ENTRYPOINT/HEALTHCHECK seen so far are carried along; a stage built on an earlier
//! stage starts from that stage's state, as the builder does.

use strata_dockerfile::{Command, Env, Instruction, Lexer, Stage};

use super::from::{global_args, lexer, stage_index};
use super::suggest;
use crate::lint::Context;

/// The PATH BuildKit gives a Linux stage whose image sets none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Build arguments BuildKit never puts in the environment (`nonEnvArgs`).
const NON_ENV_ARGS: [&str; 2] = ["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

/// What a stage carries from one instruction to the next.
#[derive(Debug, Clone, Default)]
struct StageState {
    env: Vec<(String, String)>,
    shell_set: bool,
    workdir_set: bool,
}

/// One finding of the walk: rule id, line, message.
type Event = (&'static str, usize, String);

/// Per-stage bookkeeping that is not inherited (`d.buildArgs`, `d.cmd`, …).
#[derive(Default)]
struct Walk {
    declared: Vec<String>,
    cmd: Option<usize>,
    entrypoint: Option<usize>,
    healthcheck: Option<usize>,
    events: Vec<Event>,
}

/// Walks every stage and returns every dispatch-time finding.
fn walk(ctx: &Context) -> Vec<Event> {
    let lexer = lexer(ctx);
    let globals = global_args(&lexer, ctx.meta_args, &ctx.options.build_args);
    let mut finals: Vec<StageState> = Vec::new();
    let mut events = Vec::new();
    let needed = needed_stages(ctx, &lexer, &globals);
    for (i, stage) in ctx.stages.iter().enumerate() {
        let mut state = base_state(ctx, &lexer, &globals, &ctx.stages[..i], &finals, stage);
        let mut walk = Walk::default();
        for cmd in &stage.commands {
            dispatch(ctx, &lexer, &globals, &mut state, &mut walk, cmd);
        }
        if needed[i] {
            events.append(&mut walk.events);
        }
        finals.push(state);
    }
    events
}

/// Which stages a build dispatches: for `Options::build_target`, the target (the last stage
/// by default) and every stage it needs (its base, `COPY --from`, `RUN --mount from=`), as
/// BuildKit; for lint, all.
fn needed_stages(ctx: &Context, lexer: &Lexer, globals: &Vec<(String, String)>) -> Vec<bool> {
    let n = ctx.stages.len();
    let Some(target) = &ctx.options.build_target else {
        return vec![true; n];
    };
    let find = |name: &str, before: usize| {
        name.parse::<usize>()
            .ok()
            .filter(|i| *i < before)
            .or_else(|| stage_index(&ctx.stages[..before], name))
    };
    let start = match target {
        Some(t) => find(t, n),
        None => n.checked_sub(1),
    };
    let mut needed = vec![false; n];
    let mut todo: Vec<usize> = start.into_iter().collect();
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut needed[i], true) {
            continue;
        }
        let stage = &ctx.stages[i];
        let base = lexer
            .process(&stage.base_name, globals)
            .map_or_else(|_| stage.base_name.clone(), |e| e.result);
        todo.extend(find(&base, i));
        for c in &stage.commands {
            let froms: Vec<&String> = match &c.instruction {
                Instruction::Copy(cp) => cp.from.iter().collect(),
                Instruction::Run(r) => r.mounts.iter().filter_map(|m| m.from.as_ref()).collect(),
                _ => Vec::new(),
            };
            todo.extend(froms.into_iter().filter_map(|f| find(f, i)));
        }
    }
    needed
}

/// The state a stage starts from: an earlier stage's, else the base image's environment
/// (the caller's, else only PATH).
fn base_state(
    ctx: &Context,
    lexer: &Lexer,
    globals: &Vec<(String, String)>,
    earlier: &[Stage],
    finals: &[StageState],
    stage: &Stage,
) -> StageState {
    let base = lexer
        .process(&stage.base_name, globals)
        .map(|e| e.result)
        .unwrap_or_else(|_| stage.base_name.clone());
    if let Some(j) = stage_index(earlier, &base) {
        return finals[j].clone();
    }
    let mut env = ctx.options.base_env.get(&base).cloned().unwrap_or_default();
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.insert(0, ("PATH".to_string(), DEFAULT_PATH.to_string()));
    }
    StageState {
        env,
        ..StageState::default()
    }
}

fn dispatch(
    ctx: &Context,
    lexer: &Lexer,
    globals: &Vec<(String, String)>,
    state: &mut StageState,
    walk: &mut Walk,
    cmd: &Command,
) {
    let line = cmd.location.start_line;
    let name = cmd
        .location
        .original
        .split_whitespace()
        .next()
        .unwrap_or("");
    if let Instruction::Arg(decls) = &cmd.instruction {
        dispatch_arg(ctx, lexer, globals, state, walk, line, decls);
        return;
    }
    let Ok(expanded) = cmd.expand(lexer, &state.env) else {
        return;
    };
    let unmatched: Vec<String> = expanded
        .used
        .iter()
        .filter(|v| Env::get(&state.env, v).is_none())
        .cloned()
        .collect();
    report_unmatched(state, walk, line, unmatched);
    let events = &mut walk.events;
    match &expanded.command.instruction {
        Instruction::Env(kvs) => {
            for kv in kvs {
                if kv.no_delim {
                    events.push(legacy(line, name));
                }
                secret(events, line, "ENV", &kv.key);
                state.env.push((kv.key.clone(), kv.value.clone()));
            }
        }
        Instruction::Label(kvs) if kvs.iter().any(|kv| kv.no_delim) => {
            for _ in kvs.iter().filter(|kv| kv.no_delim) {
                events.push(legacy(line, name));
            }
        }
        Instruction::Cmd(c) | Instruction::Entrypoint(c) => {
            let tracker = match cmd.instruction {
                Instruction::Cmd(_) => &mut walk.cmd,
                _ => &mut walk.entrypoint,
            };
            used_once(events, tracker, line, name);
            if c.prepend_shell && !state.shell_set {
                let msg = format!("JSON arguments recommended for {name} to prevent unintended behavior related to OS signals");
                events.push(("JSONArgsRecommended", line, msg));
            }
        }
        Instruction::Healthcheck(_) => used_once(events, &mut walk.healthcheck, line, name),
        Instruction::Shell(_) => state.shell_set = true,
        Instruction::Workdir(path) => {
            if !state.workdir_set && !path.starts_with('/') {
                let msg = format!(
                    "Relative workdir {path:?} can have unexpected results if the base image changes"
                );
                events.push(("WorkdirRelativePath", line, msg));
            }
            state.workdir_set = true;
        }
        Instruction::Expose(ports) => {
            for p in ports {
                events.extend(expose(line, p));
            }
        }
        Instruction::Copy(c) if c.from.is_none() => {
            let sources = c.sources.iter().filter(|s| !is_heredoc(&c.heredocs, s));
            copy_ignored(ctx, events, line, "Copy", sources);
        }
        Instruction::Add(a) => {
            let sources = a
                .sources
                .iter()
                .filter(|s| !is_heredoc(&a.heredocs, s) && !is_remote(s));
            copy_ignored(ctx, events, line, "Add", sources);
        }
        _ => {}
    }
}

fn dispatch_arg(
    ctx: &Context,
    lexer: &Lexer,
    globals: &Vec<(String, String)>,
    state: &mut StageState,
    walk: &mut Walk,
    line: usize,
    decls: &[strata_dockerfile::ArgDecl],
) {
    for decl in decls {
        secret(&mut walk.events, line, "ARG", &decl.key);
        let value = if let Some(v) = ctx.options.build_args.get(&decl.key) {
            Some(v.clone())
        } else if let Some(default) = &decl.value {
            let Ok(exp) = lexer.process(default, &state.env) else {
                return;
            };
            report_unmatched(state, walk, line, exp.unmatched.into_iter().collect());
            Some(exp.result)
        } else {
            Env::get(globals, &decl.key).map(str::to_string)
        };
        if let Some(v) = value {
            if !NON_ENV_ARGS.contains(&decl.key.as_str()) {
                state.env.push((decl.key.clone(), v));
            }
        }
        walk.declared.push(decl.key.clone());
    }
}

/// `reportUnmatchedVariables`: variables neither set nor declared by an ARG of the stage.
fn report_unmatched(state: &StageState, walk: &mut Walk, line: usize, unmatched: Vec<String>) {
    let options: Vec<String> = state.env.iter().map(|(k, _)| k.clone()).collect();
    for var in unmatched {
        if walk.declared.contains(&var) || NON_ENV_ARGS.contains(&var.as_str()) {
            continue;
        }
        let mut msg = format!("Usage of undefined variable '${var}'");
        if let Some(m) = suggest::search(&var, &options, true) {
            msg.push_str(&format!(" (did you mean ${m}?)"));
        }
        walk.events.push(("UndefinedVar", line, msg));
    }
}

fn legacy(line: usize, name: &str) -> Event {
    let msg = format!(
        "\"{name} key=value\" should be used instead of legacy \"{name} key value\" format"
    );
    ("LegacyKeyValueFormat", line, msg)
}

/// `validateUsedOnce`: the earlier instruction (the one that will be ignored) is reported.
fn used_once(events: &mut Vec<Event>, tracker: &mut Option<usize>, line: usize, name: &str) {
    if let Some(previous) = tracker.replace(line) {
        let msg = format!("Multiple {name} instructions should not be used in the same stage because only the last one will be used");
        events.push(("MultipleInstructionsDisallowed", previous, msg));
    }
}

/// `validateNoSecretKey`: a secret word at the start or end of the key (`_`-separated),
/// unless `public` is one too.
fn secret(events: &mut Vec<Event>, line: usize, instruction: &str, key: &str) {
    const DENY: [&str; 10] = [
        "apikey",
        "auth",
        "credential",
        "credentials",
        "key",
        "password",
        "pword",
        "passwd",
        "secret",
        "token",
    ];
    let has = |words: &[&str]| {
        let lower = key.to_lowercase();
        let parts: Vec<&str> = lower.split('_').collect();
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        words.iter().any(|w| *w == first || *w == last)
    };
    if has(&DENY) && !has(&["public"]) {
        let msg = format!(
            "Do not use ARG or ENV instructions for sensitive data ({instruction} {key:?})"
        );
        events.push(("SecretsUsedInArgOrEnv", line, msg));
    }
}

/// EXPOSE's `[ip:][host:]port[/proto]` (`splitParts`, `splitProtoPort`).
fn expose(line: usize, raw: &str) -> Vec<Event> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (ip, host, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let proto = match container.split_once('/') {
        Some((_, p)) if !p.is_empty() => p.split('/').next().unwrap_or(p),
        _ => "tcp",
    };
    let mut out = Vec::new();
    if proto != proto.to_lowercase() {
        let msg = format!("Defined protocol '{raw}' in EXPOSE instruction should be lowercase");
        out.push(("ExposeProtoCasing", line, msg));
    }
    if !ip.is_empty() || !host.is_empty() {
        let msg = format!("EXPOSE instruction should not define an IP address or host-port mapping, found '{raw}'");
        out.push(("ExposeInvalidFormat", line, msg));
    }
    out
}

fn is_heredoc(docs: &[strata_dockerfile::Heredoc], src: &str) -> bool {
    docs.iter().any(|h| h.name == src)
}

fn is_remote(src: &str) -> bool {
    ["http://", "https://", "git@", "git://"]
        .iter()
        .any(|p| src.starts_with(p))
}

/// `validateCopySourcePath`: a context source the `.dockerignore` excludes (or one of its
/// parents).
fn copy_ignored<'a>(
    ctx: &Context,
    events: &mut Vec<Event>,
    line: usize,
    verb: &str,
    sources: impl Iterator<Item = &'a String>,
) {
    let Some(ignore) = ctx
        .options
        .context
        .as_ref()
        .and_then(|c| c.dockerignore.as_ref())
    else {
        return;
    };
    for src in sources {
        if ignore.matches(src.trim_start_matches('/')) {
            let msg =
                format!("Attempting to {verb} file {src:?} that is excluded by .dockerignore");
            events.push(("CopyIgnoredFile", line, msg));
        }
    }
}

fn of(ctx: &Context, id: &str) -> Vec<(usize, String)> {
    walk(ctx)
        .into_iter()
        .filter(|(rule, _, _)| *rule == id)
        .map(|(_, line, msg)| (line, msg))
        .collect()
}

/// JSONArgsRecommended: CMD/ENTRYPOINT in shell form without a SHELL.
pub fn json_args_recommended(ctx: &Context) -> Vec<(usize, String)> {
    of(ctx, "JSONArgsRecommended")
}

/// WorkdirRelativePath: the stage's first WORKDIR is relative.
pub fn workdir_relative_path(ctx: &Context) -> Vec<(usize, String)> {
    of(ctx, "WorkdirRelativePath")
}

/// UndefinedVar.
pub fn undefined_var(ctx: &Context) -> Vec<(usize, String)> {
    of(ctx, "UndefinedVar")
}

/// MultipleInstructionsDisallowed: CMD, ENTRYPOINT or HEALTHCHECK twice in a stage.
pub fn multiple_instructions(ctx: &Context) -> Vec<(usize, String)> {
    of(ctx, "MultipleInstructionsDisallowed")
}

/// LegacyKeyValueFormat: `ENV k v` / `LABEL k v`.
pub fn legacy_key_value(ctx: &Context) -> Vec<(usize, String)> {
    of(ctx, "LegacyKeyValueFormat")
}

/// SecretsUsedInArgOrEnv.
pub fn secrets_in_arg_or_env(ctx: &Context) -> Vec<(usize, String)> {
    of(ctx, "SecretsUsedInArgOrEnv")
}

/// ExposeProtoCasing.
pub fn expose_proto_casing(ctx: &Context) -> Vec<(usize, String)> {
    of(ctx, "ExposeProtoCasing")
}

/// ExposeInvalidFormat.
pub fn expose_invalid_format(ctx: &Context) -> Vec<(usize, String)> {
    of(ctx, "ExposeInvalidFormat")
}

/// CopyIgnoredFile (experimental): COPY/ADD of a context file `.dockerignore` excludes.
pub fn copy_ignored_file(ctx: &Context) -> Vec<(usize, String)> {
    of(ctx, "CopyIgnoredFile")
}
