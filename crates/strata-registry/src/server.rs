//! Starting and stopping the server: open the stores a [`Config`] names (filesystem +
//! SQLite in the data directory, or S3 + PostgreSQL shared by replicas), bind, serve until a
//! shutdown future resolves (SIGINT/SIGTERM from the binary), removing abandoned uploads
//! and (every `gc.interval_secs`) garbage in the background meanwhile.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;

use crate::config::{Config, MetadataConfig, StorageConfig};
use crate::meta::{MetaError, PostgresMeta, SqliteMeta};
use crate::routes::router;
use crate::services::{GcPolicy, ImmutableTags, Registry, RuleError};
use crate::storage::{FsBlobs, S3Blobs, StorageError};

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
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
    registry: Arc<Registry>,
    gc: Option<(GcPolicy, Duration)>,
}

/// Opens the stores `config` names: the embedded default in `data`, or (`s3` storage with
/// `postgres` metadata) the shared stores, with nothing in `data`.
pub async fn open(config: &Config, data: &Path) -> Result<Registry, ServeError> {
    match (&config.storage, &config.metadata) {
        (StorageConfig::Filesystem, MetadataConfig::Sqlite) => open_embedded(data, config),
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
    let meta = SqliteMeta::open(&data.join("registry.db"))?;
    Ok(
        Registry::new(Arc::new(blobs), Arc::new(meta), config.limits())
            .with_immutable_tags(immutable),
    )
}

/// Opens blobs in S3 and metadata in PostgreSQL (creating or migrating its schema).
async fn open_shared(config: &Config, url: &str) -> Result<Registry, ServeError> {
    let immutable = ImmutableTags::new(&config.immutable_tags)?;
    let settings = config
        .storage
        .s3_settings()
        .expect("the caller matched s3 storage");
    let blobs = S3Blobs::open(&settings)?;
    let meta = PostgresMeta::connect(url).await?;
    Ok(
        Registry::new(Arc::new(blobs), Arc::new(meta), config.limits())
            .with_immutable_tags(immutable),
    )
}

impl Server {
    /// Opens the stores `config` names (the embedded default under `data`) and binds
    /// `config`'s address.
    pub async fn bind(config: &Config, data: &Path) -> Result<Server, ServeError> {
        let registry = open(config, data).await?;
        let addr = config.addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        Ok(Server {
            listener,
            registry: Arc::new(registry),
            gc: config
                .gc_interval()
                .map(|every| (config.gc_policy(), every)),
        })
    }

    /// The address it listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
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
        let app = router(self.registry);
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Serve);
        expiry.abort();
        if let Some(gc) = gc {
            gc.abort();
        }
        tracing::info!("registry stopped");
        served
    }
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
