//! What a build is asked to do: the inputs and knobs of `strata build`, and the grammar of
//! its flag values (`--secret`, `--ssh`, `--output`, and in [`cache`] `--cache-to` and
//! `--cache-from`) as `FromStr` types the CLI parses with.

pub mod cache;
pub mod context;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use strata_archive::Compression;
use strata_oci::Reference;

use crate::sources::images::{ImagePuller, PullPolicy};

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
    /// `--secret id=ID,src=PATH|env=VAR` (see [`SecretArg`]).
    pub secrets: BTreeMap<String, SecretSource>,
    /// `--ssh ID=SOCKET` (see [`SshArg`]): SSH agent sockets for RUN --mount=type=ssh, by id.
    pub ssh: BTreeMap<String, PathBuf>,
    /// `--no-cache`: run every step, record the results again.
    pub no_cache: bool,
    /// `--network` default for RUN steps.
    pub network: NetworkMode,
    /// `--output` exporters (see [`Output`]'s `FromStr`); empty means "the local store".
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
    /// `--pull`: when images named by `FROM`/`--from` are pulled.
    pub pull: PullPolicy,
    /// Where they are pulled from (the registry client, given by the binary); without one,
    /// an image the store lacks is an error.
    pub puller: Option<Arc<dyn ImagePuller>>,
    /// `--build-context NAME=VALUE` by normalised name (see [`context`]).
    pub named_contexts: BTreeMap<String, context::NamedContext>,
    /// Annotations on the image manifest (`--annotation`, git/CI metadata, the build record).
    pub annotations: BTreeMap<String, String>,
    /// Whether the builder adds its own annotations (`base.name`, `base.digest`, `created`;
    /// see `output::annotate`); the ones in [`BuildOptions::annotations`] win.
    pub auto_annotations: bool,
    /// Checked on the built image before any exporter runs (`--policy`); a refusal fails
    /// the build with nothing tagged or exported.
    pub gate: Option<Arc<dyn BuildGate>>,
    /// The key of a JSON-object annotation in [`BuildOptions::annotations`] (the binary's
    /// build record) that gets `"linkedLayers": N` when every one of the N layers the target
    /// added above its base image came from a linked copy (see `output::annotate`).
    pub linked_layers_into: Option<String>,
}

/// A check of the built image before it is tagged or exported (the quality gates of
/// `strata build --policy`).
pub trait BuildGate: Send + Sync + std::fmt::Debug {
    /// `Err` with why the image is refused (every failed rule).
    fn check(
        &self,
        store: &strata_content::Store,
        built: &Built<'_>,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// The built image a [`BuildGate`] looks at.
#[derive(Debug)]
pub struct Built<'a> {
    pub image: &'a strata_content::Image,
    /// The image the target is built on (`None`: `FROM scratch`).
    pub base: Option<&'a crate::output::annotate::BaseImage>,
    /// The tags it is to get.
    pub tags: &'a [Reference],
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
            pull: PullPolicy::default(),
            puller: None,
            named_contexts: BTreeMap::new(),
            annotations: BTreeMap::new(),
            auto_annotations: false,
            gate: None,
            linked_layers_into: None,
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
    /// Pushed to a registry under `name` (else under every `-t` tag), as buildx's
    /// `type=registry`. The builder does no HTTP: the caller, which has the registry
    /// client, pushes the built image ([`crate::build`] leaves this output to it).
    Registry { name: Option<Reference> },
}

/// Why a `--secret`, `--ssh` or `--output` value does not parse. The flag and the whole value
/// are named by whoever reports it (clap does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionParseError {
    /// A comma-separated field without `=`.
    #[error("field {field:?} is not KEY=VALUE")]
    NotKeyValue { field: String },
    /// A key the grammar does not know.
    #[error("unknown key {key:?} (expected {expected})")]
    UnknownKey { key: String, expected: &'static str },
    /// A key the value needs is absent.
    #[error("{key}= is required")]
    Missing { key: &'static str },
    /// A key (or the id of `--ssh`) with nothing after it.
    #[error("{key} is empty")]
    Empty { key: &'static str },
    /// `type=` of a secret that is neither `file` nor `env`.
    #[error("unsupported secret type {value:?} (expected file or env)")]
    SecretType { value: String },
    /// A secret given both a file and an environment variable.
    #[error("a secret takes either a file (src=) or an environment variable (env=), not both")]
    SecretSources,
    /// `type=` of an output that strata does not export to.
    #[error("unknown output type {value:?} (expected image, registry, oci, docker or local)")]
    OutputType { value: String },
    /// `name=` that is no image reference.
    #[error("name={value:?} is not an image reference")]
    OutputName {
        value: String,
        #[source]
        source: strata_oci::ReferenceError,
    },
    /// `name=` on an exporter other than `registry`.
    #[error("name= is only for type=registry (tag the image with -t)")]
    NameNotRegistry,
    /// `--ssh ID=A,B`: buildx's list of sockets or keys for one id.
    #[error("one agent socket per id: several sockets or keys ({paths:?}) are not supported")]
    SshPaths { paths: String },
    /// `type=` of a cache that strata does not export to or import from.
    #[error("unsupported cache type {value:?} (expected registry or local)")]
    CacheType { value: String },
    /// `mode=` of `--cache-to` that is neither `min` nor `max`.
    #[error("unknown cache mode {value:?} (expected min or max)")]
    CacheMode { value: String },
    /// A key of one cache type given to the other (`ref=` with `type=local`).
    #[error("{key}= does not apply to type={kind}")]
    CacheKeyForType {
        key: &'static str,
        kind: &'static str,
    },
    /// A cache `ref=` that is no image reference.
    #[error("cache reference {reference:?}")]
    CacheRef {
        reference: String,
        #[source]
        source: std::sync::Arc<strata_oci::ReferenceError>,
    },
    /// A `--cache-to` reference with a digest: a cache is pushed under a tag.
    #[error("cache reference {reference} names a digest; --cache-to pushes under a tag")]
    CacheRefDigest { reference: String },
    /// A boolean key whose value is not `true`/`false`.
    #[error("{key}={value:?} is not true or false")]
    Bool { key: &'static str, value: String },
}

/// `KEY=VALUE,KEY=VALUE` as buildx splits it: empty fields are skipped, keys are trimmed and
/// lowercased, values kept as written.
fn fields(s: &str) -> Result<Vec<(String, &str)>, OptionParseError> {
    s.split(',')
        .filter(|f| !f.is_empty())
        .map(|f| match f.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_ascii_lowercase(), v)),
            None => Err(OptionParseError::NotKeyValue {
                field: f.to_owned(),
            }),
        })
        .collect()
}

fn non_empty(key: &'static str, value: &str) -> Result<String, OptionParseError> {
    if value.is_empty() {
        return Err(OptionParseError::Empty { key });
    }
    Ok(value.to_owned())
}

/// One `--secret` flag: `id=ID[,src=PATH|env=VAR][,type=file|env]`, buildx's grammar.
///
/// `source=` is an alias of `src=`; with `type=env`, `src=` names the variable. Without a
/// source (`id=ID` alone) the secret comes from buildx's default, see [`SecretArg::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretArg {
    pub id: String,
    /// `None`: neither `src=` nor `env=` was given.
    pub source: Option<SecretSource>,
}

impl FromStr for SecretArg {
    type Err = OptionParseError;

    fn from_str(s: &str) -> Result<SecretArg, OptionParseError> {
        let (mut id, mut src, mut env, mut env_type) = (None, None, None, false);
        for (key, value) in fields(s)? {
            match key.as_str() {
                "id" => id = Some(non_empty("id=", value)?),
                "src" | "source" => src = Some(non_empty("src=", value)?),
                "env" => env = Some(non_empty("env=", value)?),
                "type" => {
                    env_type = match value {
                        "file" => false,
                        "env" => true,
                        _ => {
                            return Err(OptionParseError::SecretType {
                                value: value.into(),
                            })
                        }
                    }
                }
                _ => {
                    return Err(OptionParseError::UnknownKey {
                        key,
                        expected: "id, type, src, source or env",
                    })
                }
            }
        }
        let id = id.ok_or(OptionParseError::Missing { key: "id" })?;
        let source = match (src, env) {
            (Some(_), Some(_)) => return Err(OptionParseError::SecretSources),
            (Some(var), None) if env_type => Some(SecretSource::Env(var)),
            (Some(path), None) => Some(SecretSource::File(PathBuf::from(path))),
            (None, Some(var)) => Some(SecretSource::Env(var)),
            (None, None) => None,
        };
        Ok(SecretArg { id, source })
    }
}

impl SecretArg {
    /// Where the secret comes from. Without `src=`/`env=`, as buildx does: the environment
    /// variable `ID` when it is set, else the file `ID` when it exists; else still the variable
    /// `ID`, reported as unset when a RUN step needs the secret.
    pub fn resolve(&self) -> SecretSource {
        if let Some(source) = &self.source {
            return source.clone();
        }
        // An id with `=` or NUL cannot name a variable (and `var_os` may panic on it).
        let env_name = !self.id.contains(['=', '\0']);
        let env_set = env_name && std::env::var_os(&self.id).is_some();
        if !env_set && Path::new(&self.id).is_file() {
            return SecretSource::File(PathBuf::from(&self.id));
        }
        SecretSource::Env(self.id.clone())
    }
}

/// One `--ssh` flag: `default` or `ID`, optionally `=SOCKET`; without a socket the agent is
/// `$SSH_AUTH_SOCK`, read by the caller. Only agent sockets are forwarded, one per id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshArg {
    pub id: String,
    pub socket: Option<PathBuf>,
}

impl FromStr for SshArg {
    type Err = OptionParseError;

    fn from_str(s: &str) -> Result<SshArg, OptionParseError> {
        let (id, socket) = match s.split_once('=') {
            Some((id, path)) => (id, Some(path)),
            None => (s, None),
        };
        let id = non_empty("id", id)?;
        let socket = match socket {
            Some(p) if p.contains(',') => {
                return Err(OptionParseError::SshPaths {
                    paths: p.to_owned(),
                })
            }
            Some(p) => Some(PathBuf::from(non_empty("socket", p)?)),
            None => None,
        };
        Ok(SshArg { id, socket })
    }
}

impl FromStr for Output {
    type Err = OptionParseError;

    /// `type=image|oci|docker|local[,dest=PATH]` (`dest=` required but for `image`),
    /// `type=registry[,name=REF]`, or a bare path meaning `type=local,dest=PATH`, as buildx
    /// takes it. Other BuildKit exporter attributes (`tar=`, `push=`, ...) are refused:
    /// strata has none of them.
    fn from_str(s: &str) -> Result<Output, OptionParseError> {
        if !s.is_empty() && !s.contains('=') && !s.contains(',') {
            return Ok(Output::Local { dest: s.into() });
        }
        let (mut kind, mut dest, mut name) = (None, None, None);
        for (key, value) in fields(s)? {
            match key.as_str() {
                "type" => kind = Some(value),
                "dest" => dest = Some(non_empty("dest=", value)?),
                "name" => name = Some(output_name(value)?),
                _ => {
                    return Err(OptionParseError::UnknownKey {
                        key,
                        expected: "type, dest or name",
                    })
                }
            }
        }
        if name.is_some() && kind != Some("registry") {
            return Err(OptionParseError::NameNotRegistry);
        }
        let dest = || {
            dest.clone()
                .map(PathBuf::from)
                .ok_or(OptionParseError::Missing { key: "dest" })
        };
        Ok(
            match kind.ok_or(OptionParseError::Missing { key: "type" })? {
                "image" => Output::Image,
                "oci" => Output::Oci { dest: dest()? },
                "docker" => Output::Docker { dest: dest()? },
                "local" => Output::Local { dest: dest()? },
                "registry" => Output::Registry { name },
                other => {
                    return Err(OptionParseError::OutputType {
                        value: other.to_owned(),
                    })
                }
            },
        )
    }
}

/// The reference of `type=registry,name=REF`.
fn output_name(value: &str) -> Result<Reference, OptionParseError> {
    Reference::parse(value).map_err(|source| OptionParseError::OutputName {
        value: value.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use OptionParseError as E;

    fn secret(s: &str) -> Result<SecretArg, OptionParseError> {
        s.parse()
    }

    fn with(id: &str, source: Option<SecretSource>) -> SecretArg {
        SecretArg {
            id: id.to_owned(),
            source,
        }
    }

    #[test]
    fn secret_forms() {
        let file = |p: &str| Some(SecretSource::File(p.into()));
        let env = |v: &str| Some(SecretSource::Env(v.into()));
        assert_eq!(secret("id=a,src=/s"), Ok(with("a", file("/s"))));
        assert_eq!(secret("src=/s,id=a"), Ok(with("a", file("/s"))));
        assert_eq!(secret("id=a,source=/s"), Ok(with("a", file("/s"))));
        assert_eq!(secret("type=file,id=a,src=/s"), Ok(with("a", file("/s"))));
        assert_eq!(secret("ID=a,SRC=/s"), Ok(with("a", file("/s"))));
        assert_eq!(secret("id=a,env=V"), Ok(with("a", env("V"))));
        assert_eq!(secret("type=env,id=a,env=V"), Ok(with("a", env("V"))));
        assert_eq!(secret("type=env,id=a,src=V"), Ok(with("a", env("V"))));
        assert_eq!(secret("id=a"), Ok(with("a", None)));
        assert_eq!(secret("id=a,,src=x=y"), Ok(with("a", file("x=y"))));
    }

    #[test]
    fn secret_errors() {
        assert_eq!(secret("src=/s"), Err(E::Missing { key: "id" }));
        assert_eq!(secret(""), Err(E::Missing { key: "id" }));
        assert_eq!(secret("id="), Err(E::Empty { key: "id=" }));
        assert_eq!(secret("id=a,src="), Err(E::Empty { key: "src=" }));
        assert_eq!(secret("id=a,env="), Err(E::Empty { key: "env=" }));
        assert_eq!(secret("a"), Err(E::NotKeyValue { field: "a".into() }));
        assert_eq!(
            secret("id=a,mode=0400"),
            Err(E::UnknownKey {
                key: "mode".into(),
                expected: "id, type, src, source or env"
            })
        );
        assert_eq!(
            secret("id=a,type=ssh,src=/s"),
            Err(E::SecretType {
                value: "ssh".into()
            })
        );
        assert_eq!(secret("id=a,src=/s,env=V"), Err(E::SecretSources));
        assert_eq!(secret("id=a,type=env,src=V,env=W"), Err(E::SecretSources));
        assert_eq!(
            E::UnknownKey {
                key: "mode".into(),
                expected: "id, type, src, source or env"
            }
            .to_string(),
            "unknown key \"mode\" (expected id, type, src, source or env)"
        );
    }

    #[test]
    fn a_secret_without_source_follows_buildx() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("strata_test_secret_file");
        std::fs::write(&file, "x").unwrap();
        let id = file.to_str().unwrap();
        // No variable of that name can be set: the file is used.
        assert_eq!(with(id, None).resolve(), SecretSource::File(file.clone()));
        // Neither a variable nor a file: the variable, reported when a RUN needs it.
        let missing = "STRATA_TEST_SECRET_THAT_IS_NOT_SET";
        assert_eq!(
            with(missing, None).resolve(),
            SecretSource::Env(missing.into())
        );
        // PATH is set: the variable wins, as in buildx.
        assert_eq!(
            with("PATH", None).resolve(),
            SecretSource::Env("PATH".into())
        );
        let explicit = with("PATH", Some(SecretSource::File("/f".into())));
        assert_eq!(explicit.resolve(), SecretSource::File("/f".into()));
    }

    #[test]
    fn ssh_forms_and_errors() {
        let ssh = |s: &str| s.parse::<SshArg>();
        let arg = |id: &str, socket: Option<&str>| SshArg {
            id: id.into(),
            socket: socket.map(PathBuf::from),
        };
        assert_eq!(ssh("default"), Ok(arg("default", None)));
        assert_eq!(ssh("gh"), Ok(arg("gh", None)));
        assert_eq!(ssh("gh=/run/a.sock"), Ok(arg("gh", Some("/run/a.sock"))));
        assert_eq!(ssh("default=/a=b"), Ok(arg("default", Some("/a=b"))));
        assert_eq!(ssh(""), Err(E::Empty { key: "id" }));
        assert_eq!(ssh("=/a.sock"), Err(E::Empty { key: "id" }));
        assert_eq!(ssh("gh="), Err(E::Empty { key: "socket" }));
        assert_eq!(
            ssh("gh=/a,/b"),
            Err(E::SshPaths {
                paths: "/a,/b".into()
            })
        );
    }

    #[test]
    fn output_forms() {
        let out = |s: &str| s.parse::<Output>();
        assert_eq!(out("type=image"), Ok(Output::Image));
        assert_eq!(out("type=image,dest=/x"), Ok(Output::Image));
        assert_eq!(
            out("type=oci,dest=o.tar"),
            Ok(Output::Oci {
                dest: "o.tar".into()
            })
        );
        assert_eq!(
            out("dest=d.tar,type=docker"),
            Ok(Output::Docker {
                dest: "d.tar".into()
            })
        );
        assert_eq!(
            out("type=local,dest=/out"),
            Ok(Output::Local {
                dest: "/out".into()
            })
        );
        assert_eq!(
            out("TYPE=oci,Dest=/o"),
            Ok(Output::Oci { dest: "/o".into() })
        );
        assert_eq!(
            out("./out"),
            Ok(Output::Local {
                dest: "./out".into()
            })
        );
    }

    #[test]
    fn output_errors() {
        let out = |s: &str| s.parse::<Output>();
        assert_eq!(out(""), Err(E::Missing { key: "type" }));
        assert_eq!(out("dest=/o"), Err(E::Missing { key: "type" }));
        assert_eq!(out("type=oci"), Err(E::Missing { key: "dest" }));
        assert_eq!(
            out("type=oci,dest=/o,tar=false"),
            Err(E::UnknownKey {
                key: "tar".into(),
                expected: "type, dest or name"
            })
        );
        assert_eq!(out("type=local,dest="), Err(E::Empty { key: "dest=" }));
        assert_eq!(
            out("type=oci,/o"),
            Err(E::NotKeyValue { field: "/o".into() })
        );
        assert_eq!(out("a,b"), Err(E::NotKeyValue { field: "a".into() }));
        assert_eq!(out("type=registry"), Ok(Output::Registry { name: None }));
        assert_eq!(
            out("type=registry,name=reg.test/app:v1"),
            Ok(Output::Registry {
                name: Some(Reference::parse("reg.test/app:v1").unwrap())
            })
        );
        assert_eq!(out("type=oci,dest=/o,name=a"), Err(E::NameNotRegistry));
        assert!(matches!(
            out("type=registry,name=app:no spaces"),
            Err(E::OutputName { .. })
        ));
        assert_eq!(
            out("type=tar,dest=x"),
            Err(E::OutputType {
                value: "tar".into()
            })
        );
        assert_eq!(
            E::OutputType {
                value: "tar".into()
            }
            .to_string(),
            "unknown output type \"tar\" (expected image, registry, oci, docker or local)"
        );
    }
}
