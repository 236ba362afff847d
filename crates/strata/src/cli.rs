//! The command line, in docker's and buildx's habits.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use strata_archive::Compression;
use strata_build::{CacheFrom, CacheTo, NetworkMode, Output, PullPolicy, SecretArg, SshArg};
use strata_client::config::registries::ImageName;
use strata_client::Location;
use strata_oci::{Platform, Reference};

mod govern;
pub use govern::*;

#[derive(Parser, Debug)]
#[command(
    name = "strata",
    version,
    about = "Build, check, ship and serve container images",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct Global {
    /// Where images, blobs and build cache live [default: /var/lib/strata as root, else
    /// $XDG_DATA_HOME/strata]
    #[arg(long, global = true, env = "STRATA_ROOT")]
    pub root: Option<PathBuf>,
    /// More logs on stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build an image from a Dockerfile
    Build(Box<BuildArgs>),
    /// List images
    Images(ImagesArgs),
    /// Show an image's manifest and config as JSON
    Inspect(InspectArgs),
    /// Give an image another name
    Tag { source: String, target: String },
    /// Remove images
    Rmi {
        #[arg(required = true)]
        images: Vec<String>,
        /// Remove an image ID with several tags
        #[arg(short, long)]
        force: bool,
    },
    /// Remove unused blobs, untagged images and (with --all) the build cache; with
    /// --containers (or --all) stopped containers first
    Prune(PruneArgs),
    /// Save images to a docker-archive tar
    Save {
        #[arg(short, long)]
        output: PathBuf,
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Load images from a docker-archive or OCI-layout tar
    Load {
        #[arg(short, long)]
        input: PathBuf,
    },
    /// Make a one-layer image from a root filesystem tarball
    Import(ImportArgs),
    /// Export an image as an OCI image layout (directory, or tar when -o ends in .tar)
    Export(ExportArgs),
    /// Pull an image from a registry into the store
    Pull(PullArgs),
    /// Push an image of the store to a registry
    Push(PushArgs),
    /// Copy an image (or with --all a whole index) between registries, the store, OCI
    /// layouts and docker-archive tars, digests unchanged
    Copy(CopyArgs),
    /// Log in to a registry: check the credential, then store it where docker and podman
    /// read it
    Login(LoginArgs),
    /// Log out from a registry: remove its stored credential
    Logout {
        /// host[:port] (default: Docker Hub)
        #[arg(default_value = "", hide_default_value = true)]
        registry: String,
    },
    /// Run strata's OCI registry
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Lint a Dockerfile (hadolint's rules, BuildKit's build checks, practice rules; see
    /// docs/LINT.md)
    Lint(LintArgs),
    /// Analyse an image's layers: sizes, the instruction that made each, wasted bytes,
    /// efficiency, biggest and duplicated files; with --ci, dive's CI rules (docs/ANALYZE.md)
    Analyze(AnalyzeArgs),
    /// List an image's packages as an SBOM: SPDX or CycloneDX JSON, or a table (see
    /// docs/SBOM.md)
    Sbom(SbomArgs),
    /// Find secrets in every layer of an image (deleted files too), its config and its
    /// history (see docs/SECRETS.md)
    Scan(ScanArgs),
    /// Run a command in a new container from an image (see docs/RUN.md)
    Run(Box<RunArgs>),
    /// List containers
    Ps(PsArgs),
    /// Show a container's output
    Logs(LogsArgs),
    /// Stop running containers: the stop signal, then SIGKILL after a timeout
    Stop(StopArgs),
    /// Send a signal to running containers
    Kill(KillArgs),
    /// Remove containers
    Rm(RmArgs),
    /// Run a command in a running container
    Exec(ExecArgs),
    /// List a container's published ports, or the host address of one (PORT[/PROTO])
    Port {
        /// The container (name or ID)
        container: String,
        /// A container port, e.g. 80 or 53/udp
        port: Option<String>,
    },
    /// The monitor of one container (started by `strata run`)
    #[command(hide = true)]
    ContainerMonitor {
        /// Relay the output to this process's stdout/stderr too
        #[arg(long)]
        attach: bool,
        id: String,
    },
    /// Build base images from Debian packages, without a registry or a Dockerfile (see
    /// docs/BASE.md)
    #[command(subcommand)]
    Base(BaseCommand),
    /// A repository's owning team, in its registry (see docs/GOVERN.md)
    #[command(subcommand)]
    Owner(OwnerCommand),
    /// An image's promotion labels, in its registry
    #[command(subcommand)]
    Label(LabelCommand),
    /// Promote an image to an environment: its registry checks the gates, then adds the label
    Promote(PromoteArgs),
    /// What was promoted in a repository, when and by whom (newest first)
    Promotions(PromotionsArgs),
    /// Which images derive from which, as the registry's lineage index knows them
    #[command(subcommand)]
    Lineage(LineageCommand),
    /// Rebuild the images downstream of a base whose tag moved (docs/GOVERN.md)
    Rebuild(Box<RebuildArgs>),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Run in the background and print the container ID
    #[arg(short, long)]
    pub detach: bool,
    /// The container's name (default: a random adjective_name)
    #[arg(long)]
    pub name: Option<String>,
    /// Set an environment variable (KEY=VALUE, or KEY to take it from this environment)
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Read environment variables from a file (docker's format)
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Publish a container port: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]
    #[arg(short, long = "publish", value_name = "PORT")]
    pub publish: Vec<String>,
    /// Bind-mount a host path: SRC:DST[:ro|rw] (`-v` works after `run` as in docker)
    #[arg(long = "volume", value_name = "SRC:DST[:ro]")]
    pub volume: Vec<String>,
    /// Attach a mount: type=bind,source=S,target=T[,readonly] or type=tmpfs,target=T[,tmpfs-size=N]
    #[arg(long)]
    pub mount: Vec<String>,
    /// Working directory in the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User: name|uid[:group|gid]
    #[arg(short, long)]
    pub user: Option<String>,
    /// Override the image's ENTRYPOINT ("" clears it)
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Mount the container's root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// Memory limit (e.g. 200m, 1g)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Memory + swap limit (-1: unlimited swap)
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// CPUs (e.g. 1.5)
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short, long)]
    pub cpu_shares: Option<u64>,
    /// Maximum number of processes (-1: unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Network: private (own namespace, outbound access, -p), host or none
    #[arg(long, default_value = "private")]
    pub network: String,
    /// Run a tiny init (tini) as PID 1 that forwards signals and reaps zombies
    #[arg(long)]
    pub init: bool,
    /// Keep stdin open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Seconds `stop` waits before SIGKILL (default 10)
    #[arg(long)]
    pub stop_timeout: Option<u64>,
    /// The image
    pub image: String,
    /// The command and its arguments (replace the image's CMD)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Keep stdin open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Set an environment variable (KEY=VALUE, or KEY to take it from this environment)
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// User: name|uid[:group|gid] (default: the container's)
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory in the container (default: the container's)
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// The container (name or ID)
    pub container: String,
    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all containers (default: running only)
    #[arg(short, long)]
    pub all: bool,
    /// Only the IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Show full IDs and commands
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow the output until the container exits
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines ("all" for every line)
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Prefix each line with its RFC 3339 time
    #[arg(short, long)]
    pub timestamps: bool,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait for the stop signal before SIGKILL (default: the container's, 10)
    #[arg(short, long = "time")]
    pub time: Option<u64>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// The signal (name or number)
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Kill and remove running containers
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Flags of `run` that take a value (to find where its options end).
const RUN_VALUE_FLAGS: [&str; 21] = [
    "--name",
    "-e",
    "--env",
    "--env-file",
    "-p",
    "--publish",
    "--volume",
    "--mount",
    "-w",
    "--workdir",
    "-u",
    "--user",
    "--entrypoint",
    "-m",
    "--memory",
    "--memory-swap",
    "--cpus",
    "-c",
    "--cpu-shares",
    "--pids-limit",
    "--network",
];

/// docker's `run -v SRC:DST`: strata's global `-v` is `--verbose`, so after `run` and
/// before the image a `-v` followed by an absolute `SRC:DST` is read as `--volume`.
pub fn docker_volume_flag(mut args: Vec<String>) -> Vec<String> {
    // The verb: the first word after the global options (`--root DIR`, `--log-format F`).
    let mut verb = 1;
    while let Some(a) = args.get(verb) {
        match a.as_str() {
            "--root" | "--log-format" => verb += 2,
            a if a.starts_with('-') => verb += 1,
            _ => break,
        }
    }
    if args.get(verb).map(String::as_str) != Some("run") {
        return args;
    }
    let run = verb;
    let mut i = run + 1;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" || !a.starts_with('-') {
            break;
        }
        let next_is_volume = args
            .get(i + 1)
            .is_some_and(|n| n.starts_with('/') && n.contains(':'));
        if a == "-v" && next_is_volume {
            args[i] = "--volume".into();
            i += 2;
        } else if RUN_VALUE_FLAGS.contains(&a) || a == "--stop-timeout" || a == "--root" {
            i += 2;
        } else {
            i += 1;
        }
    }
    args
}

#[derive(Subcommand, Debug)]
pub enum BaseCommand {
    /// Resolve, fetch and unpack the packages of FILE into an image of the store
    Build(BaseBuildArgs),
    /// Resolve the packages of FILE and write a lock file (every package's version and
    /// SHA256)
    Lock(BaseLockArgs),
}

#[derive(Args, Debug, Clone)]
pub struct BaseSourceArgs {
    /// The base image file (TOML or YAML)
    pub file: PathBuf,
    /// Mirror to fetch from instead of the file's (e.g. a local apt-cacher-ng:
    /// http://127.0.0.1:3142/deb.debian.org/debian)
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// The .deb and index cache (default: <root>/base-cache)
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Parallel downloads
    #[arg(long, default_value_t = 8)]
    pub jobs: usize,
}

#[derive(Args, Debug)]
pub struct BaseBuildArgs {
    #[command(flatten)]
    pub source: BaseSourceArgs,
    /// Install exactly the packages of this lock file (strata base lock)
    #[arg(long, value_name = "LOCK")]
    pub lock: Option<PathBuf>,
    /// With --lock: do not contact the mirror; every .deb must be in the cache
    #[arg(long, requires = "lock")]
    pub offline: bool,
    /// Name the image (repeatable; added to the file's `tags`)
    #[arg(short, long = "tag", value_name = "NAME:TAG")]
    pub tags: Vec<String>,
}

#[derive(Args, Debug)]
pub struct BaseLockArgs {
    #[command(flatten)]
    pub source: BaseSourceArgs,
    /// Where to write the lock (default: stdout)
    #[arg(short, long, value_name = "LOCK")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// The image: a name or ID in the store (else pulled from its registry), store:NAME,
    /// docker://REF, oci:PATH[:TAG] or docker-archive:PATH[:REF]
    pub image: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,
    /// Rows in each list (wasted files, biggest files, duplicates)
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// The image to pick from an index: os/arch[/variant] [default: this machine's]
    #[arg(long)]
    pub platform: Option<Platform>,
    /// Check dive's CI rules and exit 1 when one fails
    #[arg(long)]
    pub ci: bool,
    /// Also find secrets in every layer, the config and the history, in the same read of
    /// the layers (as `strata scan`); exit 1 when one is found
    #[arg(long)]
    pub secrets: bool,
    /// dive's CI rules file [default: .dive-ci when it exists]
    #[arg(long, requires = "ci", value_name = "FILE")]
    pub ci_config: Option<PathBuf>,
    /// Lowest allowed efficiency (0-1, or "disabled") [dive's default: 0.9]
    #[arg(
        long,
        requires = "ci",
        alias = "lowestEfficiency",
        value_name = "RATIO"
    )]
    pub lowest_efficiency: Option<String>,
    /// Most wasted bytes allowed (20MB, 20MiB, bytes, or "disabled") [default: disabled]
    #[arg(
        long,
        requires = "ci",
        alias = "highestWastedBytes",
        value_name = "SIZE"
    )]
    pub highest_wasted_bytes: Option<String>,
    /// Highest allowed ratio of wasted bytes to the bytes of the layers above the first
    /// (0-1, or "disabled") [dive's default: 0.1]
    #[arg(
        long,
        requires = "ci",
        alias = "highestUserWastedPercent",
        value_name = "RATIO"
    )]
    pub highest_user_wasted_percent: Option<String>,
    /// Hash every layer of an OCI layout or a docker-archive against its digest (read in
    /// place, they are otherwise taken as they are; store and registry images are verified
    /// when they are written)
    #[arg(long)]
    pub verify: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalyzeFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct SbomArgs {
    /// The image: a name in the store (else a registry reference), store:NAME,
    /// oci:PATH[:TAG], docker-archive:PATH[:REF] or docker://REF
    pub image: String,
    /// The document's format
    #[arg(long, value_enum, default_value_t = SbomFormat::Table)]
    pub format: SbomFormat,
    /// Write the document to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The image to pick from an index: os/arch[/variant] [default: this machine's]
    #[arg(long)]
    pub platform: Option<Platform>,
    /// The document's creation time as a Unix time [default: the image's `created`]
    #[arg(long, env = "SOURCE_DATE_EPOCH")]
    pub source_date_epoch: Option<i64>,
    /// Hash every layer of an OCI layout or a docker-archive against its digest (read in
    /// place, they are otherwise taken as they are; store and registry images are verified
    /// when they are written)
    #[arg(long)]
    pub verify: bool,
}

/// `strata sbom --format` values (syft's names).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbomFormat {
    SpdxJson,
    CyclonedxJson,
    Table,
}

/// `strata build --sbom=` values.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbomKind {
    Spdx,
    Cyclonedx,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The image: a name or ID in the store, store:NAME, oci:PATH[:TAG],
    /// docker-archive:PATH[:REF] or docker://REF (a bare name not in the store is pulled)
    pub image: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Exit code when secrets are found (0: succeed anyway)
    #[arg(long, default_value_t = 1)]
    pub exit_code: u8,
    /// How many layers are scanned at once [default: the number of CPUs]
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub jobs: Option<usize>,
    /// The image to pick from an index: os/arch[/variant] [default: this machine's]
    #[arg(long)]
    pub platform: Option<Platform>,
    /// Hash every layer of an OCI layout or a docker-archive against its digest (read in
    /// place, they are otherwise taken as they are; store and registry images are verified
    /// when they are written)
    #[arg(long)]
    pub verify: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct LintArgs {
    /// The Dockerfile (default: CONTEXT/Dockerfile)
    #[arg(short, long)]
    pub file: Option<PathBuf>,
    /// The build context directory
    #[arg(default_value = ".")]
    pub context: PathBuf,
    /// The config file (hadolint's schema; default: ./.strata-lint.yaml, ./.hadolint.yaml,
    /// then the user's, as hadolint looks them up)
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format [default: text, or the config file's `format`]
    #[arg(long, value_enum)]
    pub format: Option<LintFormat>,
    /// Exit with 1 when a finding is at least this severe (`none`: never) [default: info, or
    /// the config file's `failure-threshold`]
    #[arg(long, value_enum)]
    pub failure_threshold: Option<FailureThreshold>,
    /// Exit 0 whatever is found
    #[arg(long)]
    pub no_fail: bool,
    /// A rule never to report (repeatable; added to the config file's `ignored`)
    #[arg(long, value_name = "RULE")]
    pub ignore: Vec<String>,
    /// A registry FROM may use, `*` patterns allowed (repeatable; added to the config
    /// file's `trustedRegistries`; DL3026)
    #[arg(long, value_name = "REGISTRY")]
    pub trusted_registry: Vec<String>,
    /// Report labels outside the config file's `label-schema` (DL3050)
    #[arg(long)]
    pub strict_labels: bool,
    /// Do not honour inline `# hadolint ignore=…` comments
    #[arg(long)]
    pub disable_ignore_pragma: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LintFormat {
    /// hadolint's `tty` format, without colours
    #[value(alias = "tty")]
    Text,
    Json,
    /// SARIF 2.1.0 (code-scanning dashboards)
    Sarif,
    /// JUnit XML (CI test reports)
    Junit,
}

/// hadolint's `--failure-threshold` values.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureThreshold {
    Error,
    Warning,
    Info,
    Style,
    #[value(alias = "ignore")]
    None,
}

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Serve the OCI distribution API (spec v1.1) until SIGINT/SIGTERM
    Serve(ServeArgs),
    /// Remove unreferenced blobs (and, with gc.untagged, untagged manifests) from a data
    /// directory; safe while `serve` runs on it
    Gc(GcArgs),
    /// Apply a retention policy to a data directory (docs/GOVERN.md "Retention in the
    /// registry"), then collect garbage; safe while `serve` runs on it
    Retention(RetentionArgs),
    /// Manage robot accounts (`robot$NAME`: CI credentials with their own permissions and
    /// expiry), in a data directory; safe while `serve` runs on it
    #[command(subcommand)]
    Robot(RobotCommand),
}

#[derive(Subcommand, Debug)]
pub enum RobotCommand {
    /// Create a robot account and print its secret (once: only a hash is stored)
    Create(RobotCreateArgs),
    /// List the robot accounts
    List(StoreArgs),
    /// Delete a robot account (tokens it already got stay valid until they expire)
    Delete {
        /// The robot's name (with or without `robot$`)
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where a registry's data is.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// A config file, TOML or YAML by extension (its data and metadata settings)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory [default: as for `serve`]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RobotCreateArgs {
    /// The robot's name: it logs in as `robot$NAME`
    pub name: String,
    /// A repository glob it may act on (`team/**`; `*` stays in one path component);
    /// repeatable
    #[arg(long = "repository", value_name = "GLOB", required = true)]
    pub repositories: Vec<String>,
    /// What it may do there: pull, push, delete, or * (comma-separated)
    #[arg(long, value_name = "ACTIONS", value_delimiter = ',', required = true)]
    pub actions: Vec<String>,
    /// When it expires: a count of s, m, h or d from now (30d, 12h), or never
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub expires: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct GcArgs {
    /// A config file, TOML or YAML by extension (its [gc] section and data)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory [default: as for `serve`]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Report what would be removed, remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// A config file, TOML or YAML by extension (see docs/REGISTRY.md)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The address to listen on [default: the config's addr, else 127.0.0.1:5000]
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<std::net::SocketAddr>,
    /// The data directory [default: the config's data, else /var/lib/strata-registry as
    /// root, $XDG_DATA_HOME/strata/registry otherwise]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Build context directory
    pub context: PathBuf,
    /// Dockerfile path (default: CONTEXT/Dockerfile)
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Name and tag the result (repeatable; NAME alone is NAME:latest, or with
    /// --tag-from-git the tags git gives)
    #[arg(short = 't', long = "tag", value_name = "NAME:TAG", value_parser = parse_tag)]
    pub tags: Vec<Reference>,
    /// The stage to build
    #[arg(long)]
    pub target: Option<String>,
    /// Set a build-time variable: K=V, or K to take it from the environment
    #[arg(long = "build-arg", value_name = "K=V", value_parser = parse_key_value)]
    pub build_args: Vec<KeyValue>,
    /// A secret for RUN --mount=type=secret: id=ID,src=PATH or id=ID,env=VAR (also
    /// source=PATH, type=file|env; id=ID alone reads $ID if set, else the file ID)
    #[arg(long)]
    pub secret: Vec<SecretArg>,
    /// An SSH agent for RUN --mount=type=ssh: default or ID, with =SOCKET (an agent socket,
    /// not a key file) or else $SSH_AUTH_SOCK
    #[arg(long)]
    pub ssh: Vec<SshArg>,
    /// Do not use the build cache
    #[arg(long)]
    pub no_cache: bool,
    /// Network for RUN steps
    #[arg(long, value_enum, default_value_t = Network::Host)]
    pub network: Network,
    /// Where the result goes: type=image|oci|docker|local[,dest=PATH] (dest= needed but for
    /// image), type=registry[,name=REF] (pushed: to REF, else to every -t tag), or a bare
    /// PATH for type=local,dest=PATH
    #[arg(short = 'o', long = "output", value_name = "OUTPUT")]
    pub outputs: Vec<Output>,
    /// Export the build cache after the build: type=registry,ref=REF or
    /// type=local,dest=DIR[,tag=TAG], with mode=min|max (default min: the final image's
    /// steps) and mounts=true (RUN cache mounts' contents too)
    #[arg(long = "cache-to", value_name = "CACHE")]
    pub cache_to: Vec<CacheTo>,
    /// Use a build cache (repeatable): type=registry,ref=REF (or just REF), or
    /// type=local,src=DIR[,tag=TAG]; a missing one is a warning
    #[arg(long = "cache-from", value_name = "CACHE")]
    pub cache_from: Vec<CacheFrom>,
    /// Progress output
    #[arg(long, value_enum, default_value_t = ProgressKind::Auto)]
    pub progress: ProgressKind,
    /// Print only the image ID
    #[arg(short, long)]
    pub quiet: bool,
    /// Clamp every timestamp to this Unix time (reproducible builds)
    #[arg(long, env = "SOURCE_DATE_EPOCH")]
    pub source_date_epoch: Option<i64>,
    /// Layer compression: gzip (alias gz), zstd or uncompressed (alias none), case-insensitive;
    /// gzip and zstd take an optional :LEVEL (gzip:0 to gzip:9, default 1; zstd:LEVEL, default
    /// 3, negative for zstd's fast modes)
    #[arg(long, default_value = "gzip")]
    pub compression: Compression,
    /// How many stages may run at once [default: the number of cores]
    #[arg(long)]
    pub jobs: Option<usize>,
    /// The OCI runtime for RUN steps (name or path; default: runc, then crun)
    #[arg(long)]
    pub runtime: Option<String>,
    /// Write the image ID to this file
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Add a label to the image (K=V; K alone is an empty label)
    #[arg(long = "label", value_name = "K=V", value_parser = parse_key_value)]
    pub labels: Vec<KeyValue>,
    /// Push the image under every -t tag (the same as --output type=registry)
    #[arg(long)]
    pub push: bool,
    /// Make the built image's SBOM (SPDX 2.3 JSON by default, or CycloneDX 1.6 JSON) and
    /// store it; with --push, push it as an OCI referrer of the pushed image
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "spdx", value_name = "FORMAT")]
    pub sbom: Option<SbomKind>,
    /// When to pull images named by FROM and --from: missing (the default), always (the
    /// same as --pull alone: follow moved tags), never (use only the store); buildx's
    /// true/false also work
    #[arg(long, value_name = "POLICY", num_args = 0..=1, require_equals = true,
          default_value = "missing", default_missing_value = "always")]
    pub pull: PullPolicy,
    /// Only run the build checks (BuildKit's): print them and exit 1 when any, build nothing
    #[arg(long)]
    pub check: bool,
    /// A named context (buildx): NAME=docker-image://REF or NAME=DIR; a FROM NAME or
    /// --from=NAME that names no stage uses it (repeatable)
    #[arg(long = "build-context", value_name = "NAME=VALUE")]
    pub build_contexts: Vec<strata_build::BuildContextArg>,
    // Metadata and gates at build (docs/GOVERN.md "Metadata at build", "Gates at build").
    /// Add an annotation to the image manifest: K=V or manifest:K=V (repeatable; wins over
    /// the automatic ones)
    #[arg(long = "annotation", value_name = "K=V")]
    pub annotations: Vec<crate::commands::build::metadata::Annotation>,
    /// Record no metadata from git or the CI environment (source, revision, version,
    /// authors, branch, CI run)
    #[arg(long)]
    pub no_git_metadata: bool,
    /// Derive the tags of each -t NAME without a tag from git: the exact release tag on HEAD
    /// (with =full also MAJOR.MINOR and MAJOR), else sha-<7 hex>
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true,
          default_missing_value = "exact", value_name = "full", conflicts_with = "no_git_metadata")]
    pub tag_from_git: Option<TagFromGit>,
    /// Check the built image against a gate policy (TOML, or YAML for .yaml/.yml) before
    /// it is tagged or pushed; a violation fails the build
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// `--tag-from-git[=full]`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagFromGit {
    /// The release tag alone (`v1.2.0`)
    Exact,
    /// Also `1.2` and `1` for a release (not a pre-release)
    Full,
}

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Only images of this repository (and tag)
    pub reference: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Show full image IDs
    #[arg(long)]
    pub no_trunc: bool,
    /// Only image IDs
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Images or containers (a container's name or ID is looked up first, as docker does)
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Only look for: image or container
    #[arg(long = "type", value_enum)]
    pub kind: Option<InspectType>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InspectType {
    Image,
    Container,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A root filesystem tarball (gzip, bzip2, xz, zstd or plain), or - for stdin
    pub file: PathBuf,
    /// The name of the new image
    pub reference: Option<String>,
    /// Apply a Dockerfile instruction to the config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
    /// ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Commit message (history comment)
    #[arg(short, long)]
    pub message: Option<String>,
    /// Platform of the image: linux/ARCH (default: this machine's)
    #[arg(long = "platform", value_name = "PLATFORM", value_parser = parse_linux_arch)]
    pub architecture: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format (docker-archive is `strata save`)
    #[arg(long, value_enum, default_value_t = ExportFormat::Oci)]
    pub format: ExportFormat,
    /// Destination: a directory, or a file ending in .tar
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// The image: [REGISTRY/]NAME[:TAG|@DIGEST] (a short NAME through registries.conf's
    /// aliases and unqualified-search registries, else Docker Hub)
    pub image: ImageName,
    /// The image to pick from an index: os/arch[/variant] [default: this machine's]
    #[arg(long)]
    pub platform: Option<Platform>,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// The image in the store: a name, an image ID or a manifest digest
    pub image: String,
    /// Where to push it [default: the name IMAGE was found under in the store]
    pub destination: Option<Reference>,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// Source: docker://REF (or a bare REF), store:NAME, oci:PATH[:TAG],
    /// docker-archive:PATH[:REF]
    pub source: Location,
    /// Destination, in the same forms (a store: name needs a tag)
    pub destination: Location,
    /// Copy a whole index: every image and the index itself (to a registry or oci:)
    #[arg(long, conflicts_with = "platform")]
    pub all: bool,
    /// The image to pick from an index: os/arch[/variant] [default: this machine's]
    #[arg(long)]
    pub platform: Option<Platform>,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

impl CopyArgs {
    /// Whether either end is the local store (which must then be opened).
    pub fn uses_store(&self) -> bool {
        [&self.source, &self.destination]
            .iter()
            .any(|l| matches!(l, Location::Store(_)))
    }
}

/// What pull, push and copy share.
#[derive(Args, Debug)]
pub struct TransferArgs {
    /// Progress output (on stderr)
    #[arg(long, value_enum, default_value_t = ProgressKind::Auto)]
    pub progress: ProgressKind,
    /// Print nothing but the result (the reference or digest)
    #[arg(short, long)]
    pub quiet: bool,
    /// How many blobs move at once
    #[arg(long, default_value_t = strata_client::parallel::DEFAULT_PARALLELISM,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub jobs: usize,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Username (default: asked on the terminal)
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (insecure: it shows in the process list and shell history; prefer
    /// --password-stdin)
    #[arg(short, long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from stdin (all of it, one trailing newline removed)
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// host[:port], or a URL reduced to its host (default: Docker Hub)
    #[arg(default_value = "", hide_default_value = true)]
    pub registry: String,
}

/// `--network` of `strata build`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// The host's network (docker's `default` is an alias)
    #[value(alias = "default")]
    Host,
    /// No network
    None,
}

impl From<Network> for NetworkMode {
    fn from(n: Network) -> NetworkMode {
        match n {
            Network::Host => NetworkMode::Host,
            Network::None => NetworkMode::None,
        }
    }
}

/// `--progress` of `strata build`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressKind {
    /// Tty on a terminal, else plain
    Auto,
    /// Numbered lines, for CI logs
    Plain,
    /// A live list of steps
    Tty,
    /// Nothing
    Quiet,
}

/// `--format` of `strata export`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// An OCI image layout
    Oci,
}

/// `K=V`, or `K` alone (`value` is `None`), as `--build-arg` and `--label` take them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Option<String>,
}

/// A `-t` value; a name without a tag keeps no tag (see `commands::build::tags`).
fn parse_tag(s: &str) -> Result<Reference, String> {
    Reference::parse_name_only(s).map_err(|e| e.to_string())
}

fn parse_key_value(s: &str) -> Result<KeyValue, String> {
    let (key, value) = match s.split_once('=') {
        Some((k, v)) => (k, Some(v.to_owned())),
        None => (s, None),
    };
    if key.is_empty() {
        return Err("expected K=V or K: the name is empty".to_owned());
    }
    Ok(KeyValue {
        key: key.to_owned(),
        value,
    })
}

/// `linux/ARCH` → `ARCH`: strata builds and imports Linux images only.
fn parse_linux_arch(s: &str) -> Result<String, String> {
    match s.strip_prefix("linux/") {
        Some(arch) if !arch.is_empty() => Ok(arch.to_owned()),
        _ => Err("only linux/ARCH is supported".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values() {
        let kv = |k: &str, v: Option<&str>| KeyValue {
            key: k.into(),
            value: v.map(Into::into),
        };
        assert_eq!(parse_key_value("A=b=c"), Ok(kv("A", Some("b=c"))));
        assert_eq!(parse_key_value("A="), Ok(kv("A", Some(""))));
        assert_eq!(parse_key_value("A"), Ok(kv("A", None)));
        for bad in ["=b", ""] {
            assert_eq!(
                parse_key_value(bad),
                Err("expected K=V or K: the name is empty".to_owned()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn platforms() {
        assert_eq!(parse_linux_arch("linux/arm64"), Ok("arm64".to_owned()));
        for bad in ["linux/", "windows/amd64"] {
            assert_eq!(
                parse_linux_arch(bad),
                Err("only linux/ARCH is supported".to_owned()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

#[cfg(test)]
mod run_volume_tests {
    use super::docker_volume_flag;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn v_before_the_image_is_a_volume_after_it_an_argument() {
        let got = docker_volume_flag(args("strata -v run --name x -v /a:/b img ls -v /c:/d"));
        assert_eq!(
            got,
            args("strata -v run --name x --volume /a:/b img ls -v /c:/d")
        );
        // -v followed by the image stays --verbose; other verbs are untouched.
        assert_eq!(
            docker_volume_flag(args("strata run -v img")),
            args("strata run -v img")
        );
        assert_eq!(
            docker_volume_flag(args("strata build -v /a:/b")),
            args("strata build -v /a:/b")
        );
        let exec = args("strata exec web run -v /a:/b");
        assert_eq!(docker_volume_flag(exec.clone()), exec);
        let rooted = docker_volume_flag(args("strata --root /r run -v /a:/b img"));
        assert_eq!(rooted, args("strata --root /r run --volume /a:/b img"));
        let e = docker_volume_flag(args("strata run -e -v -v /a:/b img"));
        assert_eq!(e, args("strata run -e -v --volume /a:/b img"));
    }
}

/// `strata prune` (see docs/GOVERN.md "Node keep-last" for --keep-last).
#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Also drop the build cache and stopped containers
    #[arg(short, long)]
    pub all: bool,
    /// Also remove stopped containers (like `docker system prune`)
    #[arg(long)]
    pub containers: bool,
    /// Keep only the N most recently used tagged images (pulled, run, used as a base,
    /// built or tagged); remove the others. Images of containers are always kept
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// Print what would be removed and change nothing (not with --all or --containers,
    /// which remove containers)
    #[arg(long, conflicts_with_all = ["all", "containers"])]
    pub dry_run: bool,
}

/// `strata registry retention`.
#[derive(Args, Debug)]
pub struct RetentionArgs {
    /// A config file, TOML or YAML by extension (its [govern] retention, [gc] and data)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory [default: as for `serve`]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The retention policy (TOML, or YAML by extension), over the config's
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Print the decisions, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}
