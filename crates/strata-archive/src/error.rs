//! The crate's error type: every variant names the entry or path it is about.

use std::io;
use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from writing, reading or applying layer tars.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a source file or its metadata failed.
    #[error("reading {path}")]
    ReadSource {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A source file's length differs from the size recorded in its entry.
    #[error("source file {path} changed while writing entry {entry}: expected {expected} bytes, found {actual}")]
    SourceChanged {
        entry: String,
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    /// An entry cannot be represented (bad path, bad hardlink, socket...).
    #[error("invalid entry {entry}: {reason}")]
    InvalidEntry { entry: String, reason: String },
    /// Writing the layer stream (tar, compressor or the output) failed.
    #[error("writing layer entry {entry}")]
    Write {
        entry: String,
        #[source]
        source: io::Error,
    },
    /// The compressor could not be set up (zstd parameters).
    #[error("setting up {compression} compressor")]
    Compressor {
        compression: String,
        #[source]
        source: io::Error,
    },
    /// Flushing the compressor or output at the end of the layer failed.
    #[error("finishing layer stream")]
    Finish {
        #[source]
        source: io::Error,
    },
    /// A compression name that is not gzip, zstd or uncompressed.
    #[error("unknown compression {name:?} (expected gzip, zstd or uncompressed)")]
    UnknownCompression { name: String },
    /// Reading the (decompressed) tar stream failed: corrupt header,
    /// truncated stream or a decompression error. `after` names the last
    /// entry read successfully.
    #[error("reading layer tar after entry {after:?}")]
    ReadTar {
        after: Option<String>,
        #[source]
        source: io::Error,
    },
    /// Reading an entry's data failed (corrupt or truncated stream).
    #[error("reading layer entry {entry}")]
    ReadEntry {
        entry: String,
        #[source]
        source: io::Error,
    },
    /// An entry's data ended early.
    #[error("truncated layer entry {entry}: expected {expected} bytes, got {actual}")]
    Truncated {
        entry: String,
        expected: u64,
        actual: u64,
    },
    /// Creating an entry in the destination failed.
    #[error("applying layer entry {entry} at {path}")]
    Apply {
        entry: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Opening or sniffing a possibly compressed stream failed.
    #[error("detecting compression of {what}")]
    Detect {
        what: String,
        #[source]
        source: io::Error,
    },
}
