//! Build errors. Every error names what failed and where: the Dockerfile line, the path, the
//! command and its exit code. Errors of the lower crates are kept as the `source()` of the
//! error that says where they happened, so the binary prints the whole chain once.

use std::io;
use std::path::PathBuf;

use strata_oci::Digest;

use crate::sources::images::ImageError;
use crate::sources::select::SourceError;
use crate::sources::users::UserError;
use crate::state::metadata::MetaError;
use crate::steps::copy::link::LinkError;
use crate::steps::copy::rules::CopyError;

/// Where in the Dockerfile a step comes from: `Dockerfile:7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Dockerfile(#[from] strata_dockerfile::ParseError),
    #[error("cannot read Dockerfile {path}")]
    ReadDockerfile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An input file (a root filesystem tarball, `.dockerignore`) is unusable.
    #[error("{path}")]
    Input {
        path: PathBuf,
        #[source]
        source: InputError,
    },
    /// An `import --change` instruction is not one import takes.
    #[error("--change {change:?}")]
    Change {
        change: String,
        #[source]
        source: Box<ChangeError>,
    },
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A step failed: its location and instruction, and why.
    #[error("{location}: {instruction}")]
    Step {
        location: Location,
        instruction: String,
        #[source]
        source: Box<StepError>,
    },
    #[error("{location}: process \"{command}\" did not complete successfully: exit code: {exit_code}\n{tail}")]
    RunFailed {
        location: Location,
        command: String,
        exit_code: i32,
        tail: String,
    },
    /// The built image failed the [`crate::BuildGate`] (`--policy`): nothing was tagged or
    /// exported; the image stays in the store, untagged.
    #[error("image {digest} refused by the build gates")]
    Gate {
        digest: Digest,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("target stage {target:?} could not be found")]
    UnknownTarget { target: String },
    /// A stage cannot be set up (its FROM, its dependencies, an ONBUILD trigger).
    #[error("{location}")]
    Stage {
        location: Location,
        #[source]
        source: Box<StageError>,
    },
    #[error("image {digest}: its config lists {diff_ids} layers but its manifest has {layers}")]
    LayerCount {
        digest: Digest,
        diff_ids: usize,
        layers: usize,
    },
    #[error(transparent)]
    Store(#[from] strata_content::Error),
    #[error(transparent)]
    Archive(#[from] strata_archive::Error),
    #[error(transparent)]
    Snapshot(#[from] strata_snapshot::Error),
    #[error(transparent)]
    Executor(#[from] strata_executor::Error),
    #[error(transparent)]
    Reference(#[from] strata_oci::ReferenceError),
    /// Layers (or a cache mount's contents) of the imported build cache could not be had.
    #[error("fetching {count} blob(s) of the imported build cache ({digest} first)")]
    RemoteCache {
        digest: Digest,
        count: usize,
        #[source]
        source: crate::remote::RemoteCacheError,
    },
    #[error("build interrupted")]
    Interrupted,
}

/// Why an input file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Io(io::Error),
    #[error(transparent)]
    Archive(strata_archive::Error),
    #[error("not a valid tar archive")]
    NotTar(#[source] io::Error),
    #[error(transparent)]
    Dockerignore(strata_dockerfile::IgnoreError),
    #[error("not a snapshot: the name is not a digest")]
    NotADigest(#[source] strata_oci::DigestError),
}

/// Why an `import --change` is refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Parse(Box<strata_dockerfile::ParseError>),
    #[error("{name} is not supported by import (use one of {allowed})")]
    NotChangeable { name: String, allowed: String },
    #[error(transparent)]
    Config(MetaError),
}

/// Why a stage cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("circular dependency detected on stage: {stage}")]
    Circular { stage: String },
    #[error("base name ({name}) should not be blank")]
    BlankBase { name: String },
    #[error("invalid stage index {index}")]
    InvalidStageIndex { index: i64 },
    #[error(
        "cannot copy from stage {from:?}, it needs to be defined before current stage {current:?}"
    )]
    LaterStage { from: String, current: String },
    #[error("cannot mount from stage {from:?} to {target:?}, stage needs to be defined before current command")]
    LaterMount { from: String, target: String },
    #[error("variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround")]
    FromExpansion,
    #[error("failed to parse stage name {name:?}")]
    BadName {
        name: String,
        #[source]
        source: strata_oci::ReferenceError,
    },
    #[error("FROM {name}")]
    BaseImage {
        name: String,
        #[source]
        source: ImageError,
    },
    #[error("FROM {text}")]
    Expand {
        text: String,
        #[source]
        source: strata_dockerfile::ExpandError,
    },
    #[error("ONBUILD {trigger}")]
    Trigger {
        trigger: String,
        #[source]
        source: Box<strata_dockerfile::ParseError>,
    },
    #[error("ONBUILD {trigger}: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")]
    ChainedTrigger { trigger: String },
    #[error("ONBUILD {trigger}: empty trigger")]
    EmptyTrigger { trigger: String },
    #[error("FROM --platform={platform}: strata builds for this machine's platform ({host}) only; cross-platform builds are not supported")]
    ForeignPlatform { platform: String, host: String },
    #[error("build context {name}: directory {dir:?} was not loaded before planning")]
    UnloadedContext {
        name: String,
        dir: std::path::PathBuf,
    },
    #[error("build context {name} names stage {stage:?}: replacing a stage with a named context is not supported")]
    ContextOverridesStage { name: String, stage: String },
}

/// Why a step failed (the step's location and instruction are in [`BuildError::Step`]).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Expand(#[from] strata_dockerfile::ExpandError),
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Copy(#[from] CopyError),
    #[error("failed to compute cache key: \"/{path}\" not found in {origin}")]
    SourceNotFound { path: String, origin: &'static str },
    #[error("failed to compute cache key")]
    Source(#[source] SourceError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("invalid {flag} pattern")]
    Pattern {
        flag: &'static str,
        #[source]
        source: strata_dockerfile::IgnoreError,
    },
    #[error("{flag} cannot be used with a heredoc source")]
    HeredocWith { flag: &'static str },
    /// BuildKit makes a heredoc source with `llb.Mkfile(path.Join("/", name))` in an empty
    /// image, which fails for a name below a directory (or none at all).
    #[error("heredoc name {name:?} is not a file name")]
    HeredocName { name: String },
    #[error("unsupported instruction")]
    UnsupportedInstruction,
    #[error(transparent)]
    Config(MetaError),
    #[error("checksum requires HTTP(S) or Git sources")]
    ChecksumWithoutRemote,
    #[error("checksum can't be specified for multiple sources")]
    ChecksumMultipleSources,
    #[error("source can't be a URL for COPY")]
    UrlForCopy,
    #[error("source can't be a git ref for COPY")]
    GitForCopy,
    #[error("{src}")]
    GitRef {
        src: String,
        #[source]
        source: crate::steps::copy::git_ref::GitRefError,
    },
    #[error("{src}")]
    Git {
        src: String,
        #[source]
        source: crate::steps::copy::git::GitError,
    },
    #[error("--keep-git-dir requires a git source")]
    KeepGitDirWithoutGit,
    #[error("--from={name}")]
    FromImage {
        name: String,
        #[source]
        source: ImageError,
    },
    #[error("{url}")]
    Fetch {
        url: String,
        #[source]
        source: FetchError,
    },
    /// Only an ONBUILD trigger of a base image can name a stage the plan did not order first.
    #[error("--from={from}: an ONBUILD trigger of the base image reads stage {from:?}, which this stage does not depend on (strata plans the stages before it reads images: make the stage read {from:?} itself, e.g. with COPY --from={from})")]
    StageNotBuilt { from: String },
    #[error("--mount source {source_path:?} in the build context")]
    MountSource {
        source_path: String,
        #[source]
        source: SourceError,
    },
    #[error("--mount source {source_path:?}: not found in the source stage or image")]
    MountSourceMissing { source_path: String },
    #[error("secret {id} not found")]
    SecretNotFound { id: String },
    #[error("secret {id} is not UTF-8: cannot use env")]
    SecretNotUtf8 { id: String },
    #[error("secret {id}: environment variable {var} is not set")]
    SecretEnvUnset { id: String, var: String },
    #[error(
        "no SSH agent forwarded for id {id}: pass --ssh {id}=SOCKET (or --ssh default for $SSH_AUTH_SOCK)"
    )]
    NoSshAgent { id: String },
    #[error("--security=insecure is not supported")]
    InsecureSecurity,
    /// The runtime could not start the process (no runtime, no such command...).
    #[error(transparent)]
    Start(strata_executor::Error),
}

/// Why an `ADD <url>` could not be fetched or verified.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL")]
    Url(#[source] url::ParseError),
    #[error("cannot determine a file name from the URL: give a destination file name")]
    NoName,
    #[error("request failed")]
    Request(#[source] Box<ureq::Error>),
    #[error("reading the response")]
    Read(#[source] io::Error),
    #[error("invalid --checksum")]
    BadChecksum {
        checksum: String,
        #[source]
        source: strata_oci::DigestError,
    },
    #[error("digest mismatch: expected {expected}, got {actual}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("saving the download")]
    Save(#[source] Box<BuildError>),
}

impl BuildError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> BuildError {
        let path = path.into();
        move |source| BuildError::Io { op, path, source }
    }
}

pub type Result<T, E = BuildError> = std::result::Result<T, E>;
