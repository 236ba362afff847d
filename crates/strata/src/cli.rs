//! The command line, in docker's and buildx's habits.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Remove unused blobs, untagged images and (with --all) the build cache
    Prune {
        /// Also drop the build cache
        #[arg(short, long)]
        all: bool,
    },
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
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Build context directory
    pub context: PathBuf,
    /// Dockerfile path (default: CONTEXT/Dockerfile)
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Name and tag the result (repeatable)
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// The stage to build
    #[arg(long)]
    pub target: Option<String>,
    /// Set a build-time variable: K=V, or K to take it from the environment
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// A secret for RUN --mount=type=secret: id=ID,src=PATH or id=ID,env=VAR
    #[arg(long)]
    pub secret: Vec<String>,
    /// An SSH agent for RUN --mount=type=ssh: default (uses $SSH_AUTH_SOCK) or ID[=SOCKET]
    #[arg(long)]
    pub ssh: Vec<String>,
    /// Do not use the build cache
    #[arg(long)]
    pub no_cache: bool,
    /// Network for RUN steps: host or none
    #[arg(long, default_value = "host")]
    pub network: String,
    /// Where the result goes: type=image|oci|docker|local[,dest=PATH][,tar=false]
    #[arg(short = 'o', long = "output")]
    pub outputs: Vec<String>,
    /// Progress output: auto, plain, tty or quiet
    #[arg(long, default_value = "auto")]
    pub progress: String,
    /// Print only the image ID
    #[arg(short, long)]
    pub quiet: bool,
    /// Clamp every timestamp to this Unix time (reproducible builds)
    #[arg(long, env = "SOURCE_DATE_EPOCH")]
    pub source_date_epoch: Option<i64>,
    /// Layer compression: gzip, zstd or uncompressed
    #[arg(long, default_value = "gzip")]
    pub compression: String,
    /// How many stages may run at once [default: the number of cores]
    #[arg(long)]
    pub jobs: Option<usize>,
    /// The OCI runtime for RUN steps (name or path; default: runc, then crun)
    #[arg(long)]
    pub runtime: Option<String>,
    /// Write the image ID to this file
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Add a label to the image (K=V)
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Push the result (needs the registry client; not available yet)
    #[arg(long)]
    pub push: bool,
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
    #[arg(required = true)]
    pub images: Vec<String>,
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
    /// Platform of the image (default: this machine's)
    #[arg(long)]
    pub platform: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format (only oci)
    #[arg(long, default_value = "oci")]
    pub format: String,
    /// Destination: a directory, or a file ending in .tar
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(required = true)]
    pub images: Vec<String>,
}
