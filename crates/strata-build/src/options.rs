//! What a build is asked to do: the inputs and knobs of `strata build`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use strata_archive::Compression;
use strata_oci::Reference;

/// Everything `strata build` passes to the builder.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The build context directory.
    pub context: PathBuf,
    /// The Dockerfile path (default `<context>/Dockerfile`).
    pub dockerfile: PathBuf,
    /// Tags given with `-t`.
    pub tags: Vec<Reference>,
    /// `--target`: the stage to build (default: the last one).
    pub target: Option<String>,
    /// `--build-arg K=V` (a `K` alone takes the value from the environment, as docker does).
    pub build_args: BTreeMap<String, String>,
    /// `--secret id=ID,src=PATH|env=VAR`.
    pub secrets: BTreeMap<String, SecretSource>,
    /// `--ssh ID=SOCKET`: SSH agent sockets for RUN --mount=type=ssh, by id.
    pub ssh: BTreeMap<String, PathBuf>,
    /// `--no-cache`: run every step, record the results again.
    pub no_cache: bool,
    /// `--network` default for RUN steps.
    pub network: NetworkMode,
    /// `--output` exporters; empty means "the local store".
    pub outputs: Vec<Output>,
    /// `SOURCE_DATE_EPOCH`: clamps every timestamp for reproducible output.
    pub source_date_epoch: Option<i64>,
    /// Layer compression.
    pub compression: Compression,
    /// `--jobs`: how many stages may run at once.
    pub jobs: usize,
    /// `--runtime`: the OCI runtime for RUN (default: detect runc, then crun).
    pub runtime: Option<String>,
    /// `--label K=V`: labels added to the final image.
    pub labels: BTreeMap<String, String>,
}

impl BuildOptions {
    pub fn new(context: impl Into<PathBuf>) -> BuildOptions {
        let context = context.into();
        BuildOptions {
            dockerfile: context.join("Dockerfile"),
            context,
            tags: Vec::new(),
            target: None,
            build_args: BTreeMap::new(),
            secrets: BTreeMap::new(),
            ssh: BTreeMap::new(),
            no_cache: false,
            network: NetworkMode::Host,
            outputs: Vec::new(),
            source_date_epoch: None,
            compression: Compression::default(),
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            runtime: None,
            labels: BTreeMap::new(),
        }
    }
}

/// Where a build secret comes from. The value never enters a layer, key, history or log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

/// The network a RUN step sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    Host,
    None,
}

/// An `--output` exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The local image store (the default; tags from `-t`).
    Image,
    /// An OCI image layout: a tar file when `dest` ends in `.tar`, else a directory.
    Oci { dest: PathBuf },
    /// A docker-archive tar, as `docker save` writes.
    Docker { dest: PathBuf },
    /// The final root filesystem, written into a directory.
    Local { dest: PathBuf },
}
