//! strata-dockerfile: the Dockerfile front end of strata, faithful to BuildKit.
//!
//! Owns:
//! - [`parser`]: Dockerfile text → AST ([`Dockerfile`], [`Node`]) with line spans, parser
//!   directives, continuations, heredocs and BuildKit's per-instruction argument splitting;
//!   [`Node::dump`] prints BuildKit's golden S-expressions.
//! - [`shell`]: BuildKit's word expansion ([`Lexer`]) of `$VAR`, `${VAR:-…}` and friends,
//!   reporting which variables a word used (for cache keys).
//! - [`instructions`]: typed instructions and stages ([`parse_instructions`]), builder flags,
//!   `RUN --mount` parsing ([`mount`]) and the rules of which arguments get expanded
//!   ([`Command::expand`]).
//! - [`ignore`]: `.dockerignore` matching with Docker (moby/patternmatcher) semantics
//!   (paths cleaned with `strata_oci::path::clean`, Go's `path.Clean`).
//!
//! Must not: do I/O (callers read files and pass text), spawn processes, pull in an async
//! runtime, or know about images, layers or the build graph. Errors render like BuildKit:
//! `Dockerfile:7:1: unknown instruction: COPPY` with the source line and a caret.

pub mod error;
pub mod ignore;
pub mod instructions;
pub mod mount;
pub mod parser;
pub mod shell;

pub use error::{ExpandError, IgnoreError, ParseError};

pub use ignore::{DockerIgnore, MatchInfo};
pub use instructions::{
    instruction_table, parse_command, parse_instructions, AddCommand, ArgDecl, Command,
    CopyCommand, Expanded, Healthcheck, Instruction, KeyValue, Location, MetaArg, NetworkMode,
    RunCommand, ShellOrExec, Stage,
};
pub use mount::{parse_mount, Mount, MountError, MountKind, Sharing, MOUNT_OPTIONS, MOUNT_TYPES};
pub use parser::{parse, Directives, Dockerfile, Heredoc, Node, Warning};
pub use shell::{Env, Expansion, Lexer};
