//! Starting and stopping the server: open the stores a [`Config`] names (filesystem +
//! SQLite in the data directory, or S3 + PostgreSQL shared by replicas), bind, serve until a
//! shutdown future resolves (SIGINT/SIGTERM from the binary), removing abandoned uploads
//! and (every `gc.interval_secs`) garbage and (every `[govern] retention-schedule`) what
//! the retention policy deletes in the background meanwhile; at the stop, the
//! event senders get [`SHUTDOWN_GRACE`] to deliver what is queued.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;

use crate::auth::{Auth, AuthError};
use crate::config::{AccessLogTarget, Config, MetadataConfig, StorageConfig};
use crate::events::{EndpointError, Events, SHUTDOWN_GRACE};
use crate::meta::{Meta, MetaError, PostgresMeta, SqliteMeta};
use crate::routes::access::AccessLog;
use crate::routes::router;
use crate::services::{GcPolicy, ImmutableTags, Registry, RuleError};
use crate::storage::{FsBlobs, S3Blobs, StorageError};
use crate::tls::{server_config, TlsError, TlsListener};
use strata_govern::gates::GatePolicy;
use strata_govern::retention::RetentionPolicy;

/// Why the server cannot start or stopped.
#[derive(Debug, Error)]
pub enum ServeError {
    #[error(
        "storage kind \"{storage}\" with metadata kind \"{metadata}\" is refused: \
         filesystem storage goes with sqlite metadata (the embedded default, one server) and \
         s3 storage with postgres metadata (shared by several replicas); a mix is neither \
         self-contained nor shareable, and garbage collection fences a blob's removal with a \
         transaction of the metadata store that every writer of those blobs uses"
    )]
    Mixed {
        storage: &'static str,
        metadata: &'static str,
    },
    #[error("the data directory {path} is not used with s3 storage and postgres metadata (nothing is stored locally): remove `data` from the config")]
    DataUnused { path: PathBuf },
    #[error("the configuration names s3/postgres, not the embedded default (filesystem storage, sqlite metadata)")]
    NotEmbedded,
    #[error("with s3 storage and postgres metadata, [auth] needs token_key_file: a key every replica shares (a key generated per replica would make each refuse the others' tokens)")]
    SharedTokenKey,
    #[error("cannot read the gate policy {path}")]
    GatesRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the gate policy {path} cannot be used")]
    Gates {
        path: PathBuf,
        #[source]
        source: strata_govern::gates::GateError,
    },
    #[error("cannot read the retention policy {path}")]
    RetentionRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the retention policy {path} cannot be used")]
    Retention {
        path: PathBuf,
        #[source]
        source: strata_govern::retention::PolicyError,
    },
    #[error("[govern] retention-schedule needs [govern] retention (the policy to apply)")]
    RetentionScheduleWithoutPolicy,
    #[error("cannot create the data directory {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("opening the blob store")]
    Storage(#[from] StorageError),
    #[error("opening the metadata store")]
    Meta(#[from] MetaError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serving HTTP")]
    Serve(#[source] std::io::Error),
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error("cannot serve HTTPS")]
    Tls(#[from] TlsError),
    #[error("configuring authentication")]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Notifications(#[from] EndpointError),
    #[error("cannot open the access log {path}")]
    AccessLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
    registry: Arc<Registry>,
    access: Arc<AccessLog>,
    gc: Option<(GcPolicy, Duration)>,
    /// `[govern] retention` applied every `retention-schedule`, then GC under the policy.
    retention: Option<(RetentionPolicy, Duration, GcPolicy)>,
    tls: Option<Arc<rustls::ServerConfig>>,
    auth: Option<Arc<Auth>>,
}

/// Opens the stores `config` names: the embedded default in `data`, or (`s3` storage with
/// `postgres` metadata) the shared stores, with nothing in `data`.
pub async fn open(config: &Config, data: &Path) -> Result<Registry, ServeError> {
    open_stores(data, config)
        .await
        .map(|(registry, _)| registry)
}

/// [`open`], also returning the metadata store (robot accounts live there).
pub async fn open_stores(
    data: &Path,
    config: &Config,
) -> Result<(Registry, Arc<dyn Meta>), ServeError> {
    match (&config.storage, &config.metadata) {
        (StorageConfig::Filesystem, MetadataConfig::Sqlite) => open_embedded_stores(data, config),
        (StorageConfig::S3 { .. }, MetadataConfig::Postgres { url }) => {
            if let Some(path) = &config.data {
                return Err(ServeError::DataUnused { path: path.clone() });
            }
            open_shared(config, url).await
        }
        (storage, metadata) => Err(ServeError::Mixed {
            storage: storage.kind(),
            metadata: metadata.kind(),
        }),
    }
}

/// Opens the embedded default in `data`.
pub fn open_embedded(data: &Path, config: &Config) -> Result<Registry, ServeError> {
    open_embedded_stores(data, config).map(|(registry, _)| registry)
}

/// `registry` with the gate policy `[govern] gates` names, if any.
fn with_gates(registry: Registry, config: &Config) -> Result<Registry, ServeError> {
    let Some(path) = &config.govern.gates else {
        return Ok(registry);
    };
    let text = std::fs::read_to_string(path).map_err(|source| ServeError::GatesRead {
        path: path.clone(),
        source,
    })?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let policy = GatePolicy::parse(&text, yaml).map_err(|source| ServeError::Gates {
        path: path.clone(),
        source,
    })?;
    Ok(registry.with_gates(policy))
}

/// Reads and checks a retention policy file (TOML, or YAML by extension); an error names
/// the file and the rule.
pub fn load_retention_policy(path: &Path) -> Result<RetentionPolicy, ServeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ServeError::RetentionRead {
        path: path.to_owned(),
        source,
    })?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    RetentionPolicy::parse(&text, yaml).map_err(|source| ServeError::Retention {
        path: path.to_owned(),
        source,
    })
}

/// The scheduled retention `config` asks for: its policy (loaded now, so a bad file stops
/// the start), its period and the GC policy that follows each run.
fn scheduled_retention(
    config: &Config,
) -> Result<Option<(RetentionPolicy, Duration, GcPolicy)>, ServeError> {
    let every = config.govern.retention_every().unwrap_or(None);
    let policy = match &config.govern.retention {
        Some(path) => Some(load_retention_policy(path)?),
        None => None,
    };
    match (policy, every) {
        (Some(policy), Some(every)) => Ok(Some((policy, every, config.gc_policy()))),
        (None, Some(_)) => Err(ServeError::RetentionScheduleWithoutPolicy),
        (_, None) => Ok(None),
    }
}

fn open_embedded_stores(
    data: &Path,
    config: &Config,
) -> Result<(Registry, Arc<dyn Meta>), ServeError> {
    let (StorageConfig::Filesystem, MetadataConfig::Sqlite) = (&config.storage, &config.metadata)
    else {
        return Err(ServeError::NotEmbedded);
    };
    std::fs::create_dir_all(data).map_err(|source| ServeError::DataDir {
        path: data.to_owned(),
        source,
    })?;
    let immutable = ImmutableTags::new(&config.immutable_tags)?;
    let blobs = FsBlobs::open(data)?;
    let meta: Arc<dyn Meta> = Arc::new(SqliteMeta::open(&data.join("registry.db"))?);
    let registry = Registry::new(Arc::new(blobs), meta.clone(), config.limits())
        .with_immutable_tags(immutable);
    Ok((with_gates(registry, config)?, meta))
}

/// Opens blobs in S3 and metadata in PostgreSQL (creating or migrating its schema).
async fn open_shared(config: &Config, url: &str) -> Result<(Registry, Arc<dyn Meta>), ServeError> {
    if config
        .auth
        .as_ref()
        .is_some_and(|a| a.token_key_file.is_none())
    {
        return Err(ServeError::SharedTokenKey);
    }
    let immutable = ImmutableTags::new(&config.immutable_tags)?;
    let settings = config
        .storage
        .s3_settings()
        .expect("the caller matched s3 storage");
    let blobs = S3Blobs::open(&settings)?;
    let meta: Arc<dyn Meta> = Arc::new(PostgresMeta::connect(url).await?);
    let registry = Registry::new(Arc::new(blobs), meta.clone(), config.limits())
        .with_immutable_tags(immutable);
    Ok((with_gates(registry, config)?, meta))
}

impl Server {
    /// Opens the stores `config` names (the embedded default under `data`) and the access
    /// log, binds `config`'s address and starts the event senders.
    pub async fn bind(config: &Config, data: &Path) -> Result<Server, ServeError> {
        let tls = config.tls.as_ref().map(server_config).transpose()?;
        config.notifications.settings()?;
        let access = open_access_log(&config.log.access)?;
        let retention = scheduled_retention(config)?;
        let (registry, meta) = open_stores(data, config).await?;
        let auth = match &config.auth {
            Some(auth) => Some(Arc::new(
                Auth::open(auth, data, meta)?.over_https(tls.is_some()),
            )),
            None => None,
        };
        let addr = config.addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let bound = listener.local_addr().unwrap_or(addr);
        let events = Events::start(&config.notifications, source_addr(bound))?;
        Ok(Server {
            listener,
            registry: Arc::new(registry.with_events(events)),
            access: Arc::new(access),
            gc: config
                .gc_interval()
                .map(|every| (config.gc_policy(), every)),
            retention,
            tls,
            auth,
        })
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The registry served (its event counters, for instance).
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The address it listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight and lets the
    /// event senders try what is queued.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let expiry = tokio::spawn(expire_uploads(self.registry.clone()));
        let registry = self.registry.clone();
        tracing::info!(addr = %self.local_addr(), "registry listening");
        let gc = self
            .gc
            .map(|(policy, every)| tokio::spawn(collect_garbage(registry, policy, every)));
        let retention = self.retention.map(|(policy, every, gc)| {
            tokio::spawn(apply_retention(self.registry.clone(), policy, gc, every))
        });
        let stopping = self.registry.clone();
        let app = router(self.registry, self.auth, self.access);
        let app = app.into_make_service_with_connect_info::<crate::request::Peer>();
        let served = match self.tls {
            Some(tls) => {
                let listener = TlsListener::new(self.listener, tls).map_err(ServeError::Serve)?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            None => {
                axum::serve(self.listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        }
        .map_err(ServeError::Serve);
        expiry.abort();
        if let Some(gc) = gc {
            gc.abort();
        }
        if let Some(retention) = retention {
            retention.abort();
        }
        let events =
            tokio::task::spawn_blocking(move || stopping.events().shutdown(SHUTDOWN_GRACE));
        let _ = events.await;
        tracing::info!("registry stopped");
        served
    }
}

fn open_access_log(target: &AccessLogTarget) -> Result<AccessLog, ServeError> {
    AccessLog::open(target).map_err(|source| ServeError::AccessLog {
        path: match target {
            AccessLogTarget::File(path) => path.clone(),
            AccessLogTarget::Stderr => PathBuf::from("stderr"),
        },
        source,
    })
}

/// `hostname:port` for events' `source.addr` (the IP when the hostname is unknown).
fn source_addr(bound: SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| bound.ip().to_string());
    format!("{host}:{}", bound.port())
}

/// Removes abandoned uploads, checking every quarter of the expiry (at most every minute).
async fn expire_uploads(registry: Arc<Registry>) {
    let expiry = registry.limits().upload_expiry;
    let period = (expiry / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut ticker = tokio::time::interval(period);
    loop {
        ticker.tick().await;
        if let Err(error) = registry.expire_uploads().await {
            tracing::warn!(error = %error, "removing abandoned uploads failed");
        }
    }
}

/// Runs garbage collection every `every` (the first run one period after the start).
async fn collect_garbage(registry: Arc<Registry>, policy: GcPolicy, every: Duration) {
    let start = tokio::time::Instant::now() + every;
    let mut ticker = tokio::time::interval_at(start, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = registry.collect_garbage(&policy, false).await {
            tracing::warn!(error = %error, "garbage collection failed");
        }
    }
}

/// Applies the retention policy every `every` (the first run one period after the start);
/// each run logs its summary (`retention run done`).
async fn apply_retention(
    registry: Arc<Registry>,
    policy: RetentionPolicy,
    gc: GcPolicy,
    every: Duration,
) {
    let start = tokio::time::Instant::now() + every;
    let mut ticker = tokio::time::interval_at(start, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = registry.apply_retention(&policy, &gc, false).await {
            tracing::warn!(error = %error, "scheduled retention failed");
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutdown requested");
}
