//! The composition root: the only crate that names concrete stores. It opens
//! the SQLite [`MetaStore`](coffer_meta::MetaStore) and the filesystem
//! [`BlobStore`](coffer_blob::BlobStore) under the data directory, builds the
//! engine and the S3 service, runs start-up recovery and the garbage
//! collector, and serves HTTP.
//!
//! [`start`] is used both by `coffer server` and by in-process tests.

mod credentials;
mod listener;

pub use credentials::{ensure_root_credential, RootCredential};

use anyhow::Context as _;
use coffer_engine::{Engine, EngineConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything `coffer server` is configured with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where metadata (`meta.db`) and blobs (`blobs/`) live.
    pub data_dir: PathBuf,
    /// The S3 listener address.
    pub listen: SocketAddr,
    /// The region this deployment serves.
    pub region: String,
    /// The operator's root credential, when given explicitly.
    pub root: Option<RootCredential>,
    /// How long dropped blobs stay readable before deletion.
    pub gc_grace: Duration,
    /// Domains for virtual-hosted-style requests (`bucket.domain`).
    pub domains: Vec<String>,
}

/// A running server.
pub struct Running {
    /// The bound S3 address (useful when listening on port 0).
    pub addr: SocketAddr,
    /// The root credential; `generated` when it was created on this start.
    pub root: RootCredential,
    pub root_generated: bool,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Opens the stores, recovers, and starts serving.
pub async fn start(cfg: ServerConfig) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("creating data dir {}", cfg.data_dir.display()))?;
    let meta = coffer_meta_sqlite::SqliteMetaStore::open(cfg.data_dir.join("meta.db")).context("opening metadata")?;
    let blobs = coffer_blob::FsBlobStore::open(cfg.data_dir.join("blobs")).context("opening blob store")?;
    let engine_cfg = EngineConfig { region: cfg.region.clone(), gc_grace: cfg.gc_grace, ..Default::default() };
    let engine = Engine::new(Arc::new(meta), Arc::new(blobs), engine_cfg);

    // Single node: nothing else writes, so every unreferenced blob and temp
    // file is debris of an earlier crash.
    let report = engine.reclaim_at_startup(Duration::ZERO).await.context("start-up recovery")?;
    tracing::info!(?report, "start-up recovery done");

    let (root, root_generated) =
        ensure_root_credential(engine.meta().as_ref(), &cfg.data_dir, cfg.root.clone()).await?;
    tokio::spawn(engine.clone().gc_loop(Duration::from_secs(5).min(cfg.gc_grace.max(Duration::from_secs(1)))));

    let svc = coffer_s3_api::S3Service::new(engine, coffer_s3_api::S3Config { domains: cfg.domains.clone() });
    let tcp = tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("binding {}", cfg.listen))?;
    let addr = tcp.local_addr()?;
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(listener::serve(tcp, svc, rx));
    tracing::info!(%addr, region = %cfg.region, data_dir = %cfg.data_dir.display(), "coffer S3 endpoint listening");
    Ok(Running { addr, root, root_generated, shutdown, task })
}
