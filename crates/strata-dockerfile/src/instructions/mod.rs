//! Typed instructions (BuildKit's `frontend/dockerfile/instructions`).
//!
//! [`parse_instructions`] turns parser nodes into [`Stage`]s of [`Command`]s, plus the meta
//! ARGs before the first FROM. Arguments stay unexpanded; [`Command::expand`] applies
//! BuildKit's rules of which arguments the builder expands.

mod copy;
mod exec;
mod expand;
mod flags;
mod healthcheck;
mod kv;
mod simple;

pub use expand::Expanded;

use crate::error::ParseError;
use crate::mount::Mount;
use crate::parser::{Dockerfile, Heredoc, Node};
use flags::FlagError;
use std::time::Duration;

/// Where an instruction is in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based first line.
    pub start_line: usize,
    /// 1-based last line (continuations and heredoc bodies included).
    pub end_line: usize,
    /// The instruction text, continuations joined (BuildKit's `Original`).
    pub original: String,
}

/// One instruction inside a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub location: Location,
    pub instruction: Instruction,
}

/// The typed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    Maintainer(String),
    Expose(Vec<String>),
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    StopSignal(String),
    /// SHELL's JSON array.
    Shell(Vec<String>),
    Arg(Vec<ArgDecl>),
    /// The trigger expression (the text after `ONBUILD`).
    Onbuild(String),
    Cmd(ShellOrExec),
    Entrypoint(ShellOrExec),
    Healthcheck(Healthcheck),
    Copy(CopyCommand),
    Add(AddCommand),
    Run(RunCommand),
}

impl Instruction {
    /// The lower-case instruction name (`env`, `copy`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Instruction::Env(_) => "env",
            Instruction::Label(_) => "label",
            Instruction::Maintainer(_) => "maintainer",
            Instruction::Expose(_) => "expose",
            Instruction::Volume(_) => "volume",
            Instruction::User(_) => "user",
            Instruction::Workdir(_) => "workdir",
            Instruction::StopSignal(_) => "stopsignal",
            Instruction::Shell(_) => "shell",
            Instruction::Arg(_) => "arg",
            Instruction::Onbuild(_) => "onbuild",
            Instruction::Cmd(_) => "cmd",
            Instruction::Entrypoint(_) => "entrypoint",
            Instruction::Healthcheck(_) => "healthcheck",
            Instruction::Copy(_) => "copy",
            Instruction::Add(_) => "add",
            Instruction::Run(_) => "run",
        }
    }
}

/// An ENV or LABEL pair. `no_delim` marks the legacy `ENV key value` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    pub no_delim: bool,
}

/// One ARG: `NAME` or `NAME=default` (value unexpanded, quotes kept until expansion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub key: String,
    pub value: Option<String>,
}

/// CMD/ENTRYPOINT/RUN arguments: shell form (one string, `prepend_shell`) or exec form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShellOrExec {
    pub args: Vec<String>,
    pub prepend_shell: bool,
}

/// HEALTHCHECK, with docker's `Test` (`["NONE"]`, `["CMD", ..]`, `["CMD-SHELL", cmd]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
}

/// COPY. `heredocs` are inline sources (`COPY <<EOF /dst`), content already chomped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyCommand {
    pub sources: Vec<String>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
    pub heredocs: Vec<Heredoc>,
}

/// ADD: COPY's fields (ADD accepts no `--from`/`--parents`) plus its own flags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddCommand {
    pub sources: Vec<String>,
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub excludes: Vec<String>,
    pub heredocs: Vec<Heredoc>,
    pub checksum: Option<String>,
    /// `--keep-git-dir`; `None` when not given (a git source's own `?keep-git-dir` decides).
    pub keep_git_dir: Option<bool>,
    /// `--unpack`; `None` when not given (archives from the context are unpacked, URLs not).
    pub unpack: Option<bool>,
}

/// `RUN --network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    None,
    Host,
    Default,
}

/// RUN. `heredocs` have content chomped; `mount_specs` are the raw `--mount` values
/// (re-parsed with expansion by [`Command::expand`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunCommand {
    pub cmd: ShellOrExec,
    pub heredocs: Vec<Heredoc>,
    pub mounts: Vec<Mount>,
    pub mount_specs: Vec<String>,
    pub network: Option<NetworkMode>,
    /// `--security`: `sandbox` or `insecure`.
    pub security: Option<String>,
}

/// One build stage: a FROM and the commands after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// `AS name`, lower-cased.
    pub name: Option<String>,
    /// The image or stage reference, unexpanded.
    pub base_name: String,
    /// `--platform`, unexpanded.
    pub platform: Option<String>,
    pub commands: Vec<Command>,
    /// The FROM line.
    pub location: Location,
}

/// An ARG before the first FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaArg {
    pub args: Vec<ArgDecl>,
    pub location: Location,
}

/// An instruction-level error before it is located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstrError {
    pub(crate) message: String,
    pub(crate) flag: Option<String>,
}

impl From<String> for InstrError {
    fn from(message: String) -> Self {
        InstrError {
            message,
            flag: None,
        }
    }
}

impl From<&str> for InstrError {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

impl From<FlagError> for InstrError {
    fn from(e: FlagError) -> Self {
        InstrError {
            message: e.message,
            flag: e.flag,
        }
    }
}

pub(crate) type IResult<T> = Result<T, InstrError>;

/// What an instruction parser sees of a node.
pub(crate) struct Req<'a> {
    pub(crate) keyword: &'a str,
    pub(crate) node: &'a Node,
    pub(crate) args: &'a [String],
}

enum Parsed {
    From(Stage),
    Command(Instruction),
}

/// Parses the nodes of `df` into meta ARGs and stages, like BuildKit's `instructions.Parse`.
pub fn parse_instructions(df: &Dockerfile) -> Result<(Vec<MetaArg>, Vec<Stage>), ParseError> {
    let mut meta = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for node in &df.children {
        let located = |e: InstrError| locate(df, node, e);
        let location = location_of(node);
        match parse_node(node).map_err(located)? {
            Parsed::From(stage) => stages.push(stage),
            Parsed::Command(Instruction::Arg(args)) if stages.is_empty() => {
                meta.push(MetaArg { args, location })
            }
            Parsed::Command(instruction) => {
                let stage = stages
                    .last_mut()
                    .ok_or_else(|| located("no build stage in current context".into()))?;
                stage.commands.push(Command {
                    location,
                    instruction,
                });
            }
        }
    }
    Ok((meta, stages))
}

/// Parses one node into a typed command (FROM is rejected here: it starts a stage).
pub fn parse_command(df: &Dockerfile, node: &Node) -> Result<Command, ParseError> {
    match parse_node(node).map_err(|e| locate(df, node, e))? {
        Parsed::Command(instruction) => Ok(Command {
            location: location_of(node),
            instruction,
        }),
        Parsed::From(_) => Err(locate(df, node, "FROM isn't allowed here".into())),
    }
}

fn location_of(node: &Node) -> Location {
    Location {
        start_line: node.start_line,
        end_line: node.end_line,
        original: node.original.clone(),
    }
}

/// Every instruction the parser accepts, with the flags each one takes: the same tables the
/// parser checks flags against, so a flag added to the parser shows up here.
pub fn instruction_table() -> Vec<(&'static str, Vec<&'static str>)> {
    INSTRUCTIONS
        .iter()
        .map(|(name, flags)| (*name, flags.iter().map(|(f, _)| *f).collect()))
        .collect()
}

/// Instruction names (lower case) and their flag tables.
const INSTRUCTIONS: &[(&str, &[(&str, flags::FlagType)])] = &[
    ("from", simple::FROM_FLAGS),
    ("run", exec::RUN_FLAGS),
    ("cmd", &[]),
    ("label", &[]),
    ("maintainer", &[]),
    ("expose", &[]),
    ("env", &[]),
    ("add", copy::ADD_FLAGS),
    ("copy", copy::COPY_FLAGS),
    ("entrypoint", &[]),
    ("volume", &[]),
    ("user", &[]),
    ("workdir", &[]),
    ("arg", &[]),
    ("onbuild", &[]),
    ("stopsignal", &[]),
    ("healthcheck", healthcheck::FLAGS),
    ("shell", &[]),
];

fn parse_node(node: &Node) -> IResult<Parsed> {
    let req = Req {
        keyword: node.keyword(),
        node,
        args: &node.next,
    };
    if !INSTRUCTIONS.iter().any(|(name, _)| *name == node.value) {
        return Err(format!("unknown instruction: {}", req.keyword).into());
    }
    if node.value == "from" {
        return simple::parse_from(&req).map(Parsed::From);
    }
    let instruction = match &node.value[..] {
        "env" | "label" => kv::parse_env_or_label(&req)?,
        "arg" => kv::parse_arg(&req)?,
        "maintainer" | "user" | "workdir" | "stopsignal" => simple::parse_single(&req)?,
        "expose" | "volume" => simple::parse_list(&req)?,
        "shell" => simple::parse_shell(&req)?,
        "onbuild" => simple::parse_onbuild(&req)?,
        "cmd" | "entrypoint" => exec::parse_cmd_or_entrypoint(&req)?,
        "run" => exec::parse_run(&req)?,
        "healthcheck" => healthcheck::parse_healthcheck(&req)?,
        "copy" => copy::parse_copy(&req)?,
        "add" => copy::parse_add(&req)?,
        _ => return Err(format!("unknown instruction: {}", req.keyword).into()),
    };
    Ok(Parsed::Command(instruction))
}

/// Turns an instruction error into a located, renderable [`ParseError`].
fn locate(df: &Dockerfile, node: &Node, e: InstrError) -> ParseError {
    let line = node.start_line;
    let text = line
        .checked_sub(1)
        .and_then(|i| df.lines.get(i))
        .cloned()
        .unwrap_or_default();
    let (column, width) = column_of(&text, node.keyword(), e.flag.as_deref());
    let err = ParseError::new(line, e.message)
        .with_end_line(node.end_line)
        .with_column(column, width);
    if text.is_empty() {
        err
    } else {
        err.with_snippet(text)
    }
}

/// The 1-based column and width of the flag (when named) or else the keyword.
fn column_of(text: &str, keyword: &str, flag: Option<&str>) -> (usize, usize) {
    let char_col = |byte: usize| text[..byte].chars().count() + 1;
    if let Some(flag) = flag {
        let needle = format!("--{flag}");
        if let Some(i) = text.find(&needle) {
            let end = text[i..]
                .find(char::is_whitespace)
                .map_or(text.len(), |e| i + e);
            return (char_col(i), text[i..end].chars().count());
        }
    }
    match text.find(keyword).filter(|_| !keyword.is_empty()) {
        Some(i) => (char_col(i), keyword.chars().count()),
        None => (1, 1),
    }
}

/// BuildKit's argument-count messages.
pub(crate) fn err_at_least_one(cmd: &str) -> InstrError {
    format!("{cmd} requires at least one argument").into()
}

pub(crate) fn err_exactly_one(cmd: &str) -> InstrError {
    format!("{cmd} requires exactly one argument").into()
}

#[cfg(test)]
mod tests;
