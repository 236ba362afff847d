//! Build errors. Every error names what failed and where: the Dockerfile line, the path, the
//! command and its exit code.

use std::io;
use std::path::PathBuf;

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
    #[error("{0}")]
    Dockerfile(#[from] strata_dockerfile::ParseError),
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{location}: {instruction}: {message}")]
    Step {
        location: Location,
        instruction: String,
        message: String,
    },
    #[error("{location}: process \"{command}\" did not complete successfully: exit code: {exit_code}\n{tail}")]
    RunFailed {
        location: Location,
        command: String,
        exit_code: i32,
        tail: String,
    },
    #[error("target stage {target:?} could not be found")]
    UnknownTarget { target: String },
    #[error("{location}: {message}")]
    Stage { location: Location, message: String },
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
    #[error("build interrupted")]
    Interrupted,
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
