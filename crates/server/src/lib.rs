//! The composition root: the only crate that names concrete stores. It opens
//! the [`MetaStore`](coffer_meta::MetaStore) (SQLite under the data directory
//! by default, or PostgreSQL shared by many gateways) and the
//! [`BlobStore`](coffer_blob::BlobStore) (a local or shared directory, or a
//! RADOS pool), builds the engine and the S3 service, runs start-up recovery,
//! the garbage collector and the orphan sweep, and serves HTTP.
//!
//! [`start`] is used both by `coffer server` and by in-process tests.

mod app;
mod body_guard;
mod connlimit;
mod credentials;
mod data_lock;
mod listener;
pub mod master_key;
mod metering;
pub mod migrate;
mod pace;
mod private_files;
pub mod stores;
pub mod tls;
mod write_guard;

pub use coffer_s3_api::RegionEndpoint;
pub use credentials::{ensure_root_credential, RootCredential};
pub use master_key::MasterKeySource;
pub use stores::{BlobLocation, MetaLocation};

use anyhow::Context as _;
use coffer_engine::{Engine, EngineConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything `coffer server` is configured with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where metadata (`meta.db`) and blobs (`blobs/`) live by default, with
    /// the master key and the operator credential's marker.
    pub data_dir: PathBuf,
    /// The metadata store; `None`: `sqlite://DATA_DIR/meta.db`.
    pub meta: Option<MetaLocation>,
    /// The blob store; `None`: `fs://DATA_DIR/blobs`.
    pub blobs: Option<BlobLocation>,
    /// Connections to PostgreSQL this gateway keeps open (its pool's size).
    pub meta_pool_size: usize,
    /// CA certificates (PEM) PostgreSQL's certificate must chain to when the
    /// connection string says `sslmode=require`; `None`: the system's roots.
    pub meta_ca_file: Option<PathBuf>,
    /// With several gateways (PostgreSQL metadata), an unreferenced blob
    /// younger than this may be another gateway's write in flight: the
    /// start-up recovery and the periodic orphan sweep leave it.
    pub reclaim_min_age: Duration,
    /// How often one gateway (whichever holds the lease) sweeps orphaned
    /// blobs older than `reclaim_min_age`.
    pub orphan_sweep_every: Duration,
    /// The S3 listener address.
    pub listen: SocketAddr,
    /// The default region (the only one when `regions` is empty).
    pub region: String,
    /// Every region served, with its endpoint hosts; the first is the
    /// default. Empty: `region` alone, on every host.
    pub regions: Vec<RegionEndpoint>,
    /// Where the master key comes from; `None`: `master.key` in `data_dir`.
    pub master_key: Option<MasterKeySource>,
    /// How often request counters and stored bytes are written to the
    /// hourly usage records.
    pub meter_interval: Duration,
    /// The operator's root credential, when given explicitly.
    pub root: Option<RootCredential>,
    /// How long dropped blobs stay readable before deletion.
    pub gc_grace: Duration,
    /// The Object Ownership of buckets made without choosing one.
    pub default_ownership: coffer_engine::ObjectOwnership,
    /// How often lifecycle rules are applied (every gateway runs a pass;
    /// a bucket's lease lets one at a time work on it).
    pub lifecycle_every: Duration,
    /// A lifecycle "day" (86,400 s; tests shorten it).
    pub lifecycle_day: Duration,
    /// Domains for virtual-hosted-style requests (`bucket.domain`).
    pub domains: Vec<String>,
    /// With a certificate, `listen` speaks HTTPS (reloaded when the files change).
    pub tls: Option<tls::TlsFiles>,
    /// An extra plain-HTTP listener beside the HTTPS one.
    pub plain_listen: Option<SocketAddr>,
    /// Refuse to start unless every listener is HTTPS.
    pub https_only: bool,
    /// A client silent this long is dropped: while sending a request head,
    /// between requests on a kept-alive connection, or in the middle of a body.
    pub idle_timeout: Duration,
    /// Connections each S3 listener serves at once. Beyond it a few more are
    /// taken only to answer health probes (anything else: `503 SlowDown`),
    /// then new connections are closed at once.
    pub max_connections: usize,
    /// The web console's listener (HTTPS with the same certificate when TLS
    /// is on); `None`: no console.
    pub console_listen: Option<SocketAddr>,
    /// Connections the console's listener serves at once (beyond: `503`).
    pub console_max_connections: usize,
    /// How long a console session lasts from sign-in.
    pub console_session_ttl: Duration,
    /// The S3 endpoint's URL as browsers reach it (e.g. behind a reverse
    /// proxy), for the console's share links; `None`: derived from the
    /// region hosts or the console's own host name and the S3 port.
    pub s3_public_url: Option<String>,
    /// Several server processes on this one host share `data_dir` (a test
    /// of gateways sharing state): each takes the directory's lock shared
    /// instead of exclusive, and start-up recovery only reclaims debris
    /// older than `reclaim_min_age`. Off: one server owns the directory and
    /// reclaims every orphan at start.
    pub shared_data_dir: bool,
}

/// With several gateways, start-up recovery and the orphan sweep leave
/// younger unreferenced blobs and temp files alone by default: they may be
/// another gateway's upload in flight.
pub const RECLAIM_MIN_AGE: Duration = Duration::from_secs(3600);
/// How often the orphan sweep runs, by default.
pub const ORPHAN_SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// PostgreSQL connections each gateway keeps open, by default.
pub const META_POOL_SIZE: usize = 32;

/// Connections each S3 listener serves at once, by default.
pub const MAX_CONNECTIONS: usize = 4096;
/// Connections the console's listener serves at once, by default.
pub const CONSOLE_MAX_CONNECTIONS: usize = 512;

/// How long a console session lasts from sign-in, by default.
pub const CONSOLE_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// A running server.
pub struct Running {
    /// The bound S3 address (useful when listening on port 0); HTTPS when TLS is on.
    pub addr: SocketAddr,
    /// The extra plain-HTTP address, when configured.
    pub plain_addr: Option<SocketAddr>,
    /// The web console's address (HTTPS when TLS is on), when enabled.
    pub console_addr: Option<SocketAddr>,
    /// The root credential; `generated` when it was created on this start.
    pub root: RootCredential,
    pub root_generated: bool,
    iam: coffer_iam::Iam,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// What the console's password worker has done: how many Argon2id jobs
    /// ran, the most at once (never above its bound), how many sign-ins it
    /// refused for want of a free slot.
    pub fn password_stats(&self) -> coffer_iam::PasswordStats {
        self.iam.password_stats()
    }

    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// The console's object actions, counted by the S3 API's usage meter.
struct ConsoleMeter(coffer_s3_api::S3Service);

impl coffer_console::TransferMeter for ConsoleMeter {
    fn count(&self, project: &str, bucket: &str, kind: coffer_console::TransferKind, bytes_in: u64, bytes_out: u64) {
        use coffer_console::TransferKind as K;
        use coffer_s3_api::RequestClass as C;
        let class = match kind {
            K::Get => C::Get,
            K::Put => C::Put,
            K::List => C::List,
            K::Delete => C::Delete,
        };
        self.0.meter().record(project, bucket, class, bytes_in, bytes_out);
    }

    fn add_bytes_in(&self, project: &str, bucket: &str, bytes: u64) {
        self.0.meter().add_bytes(project, bucket, bytes, 0);
    }
}

/// Opens the stores, recovers, and starts serving.
pub async fn start(cfg: ServerConfig) -> anyhow::Result<Running> {
    if cfg.https_only && (cfg.tls.is_none() || cfg.plain_listen.is_some()) {
        anyhow::bail!("--https-only needs --tls-cert and --tls-key and no plain-HTTP listener");
    }
    if cfg.plain_listen.is_some() && cfg.tls.is_none() {
        anyhow::bail!("--plain-listen is for serving plain HTTP beside HTTPS; without TLS use --listen");
    }
    let acceptor = match &cfg.tls {
        None => None,
        Some(files) => {
            let reloader = tls::CertReloader::new(files.clone()).context("loading the TLS certificate")?;
            let server_cfg = reloader.server_config()?;
            tokio::spawn(reloader.watch(Duration::from_secs(2)));
            Some(tokio_rustls::TlsAcceptor::from(server_cfg))
        }
    };
    // Everything created from here on is private to this user (SQLite's
    // -wal and -shm files included); what an older version left open is
    // closed before the stores open.
    private_files::restrict_umask();
    let meta_at = cfg.meta.clone().unwrap_or_else(|| MetaLocation::Sqlite(cfg.data_dir.join("meta.db")));
    let blobs_at = cfg.blobs.clone().unwrap_or_else(|| BlobLocation::Fs(cfg.data_dir.join("blobs")));
    let many_gateways = meta_at.is_shared();
    if many_gateways && (cfg.master_key.is_none() || cfg.root.is_none()) {
        anyhow::bail!(
            "gateways on PostgreSQL share one master key and one operator credential: give every gateway the same \
             --master-key-file (or COFFER_MASTER_KEY) and COFFER_ROOT_ACCESS_KEY / COFFER_ROOT_SECRET_KEY"
        );
    }
    // A single node owns its data directory; gateways on PostgreSQL keep
    // nothing in theirs (their blob directory, if any, is locked shared).
    let data_lock = if many_gateways {
        None
    } else {
        private_files::create_dir(&cfg.data_dir)
            .with_context(|| format!("creating data dir {}", cfg.data_dir.display()))?;
        let lock = data_lock::acquire(&cfg.data_dir, cfg.shared_data_dir)?;
        let tightened = private_files::tighten(&cfg.data_dir)
            .with_context(|| format!("making data dir {} private", cfg.data_dir.display()))?;
        if tightened > 0 {
            tracing::info!(tightened, data_dir = %cfg.data_dir.display(), "data files readable by other users made private (directories 0700, files 0600)");
        }
        Some(lock)
    };
    check_open_file_limit(&cfg);
    let pg_tls = coffer_meta_postgres::PgTls { ca_file: cfg.meta_ca_file.clone() };
    let opened =
        stores::open(&meta_at, &blobs_at, &cfg.data_dir, (cfg.meta_pool_size, &pg_tls), cfg.shared_data_dir).await?;
    let meta = opened.meta;
    let dir_locks = (data_lock, opened.locks);
    tracing::info!(meta = %meta_at.display(), blobs = ?blobs_at, "stores open");
    let default_region = cfg.regions.first().map_or(cfg.region.clone(), |r| r.name.clone());
    let max_read = EngineConfig::read_bound(cfg.gc_grace);
    if max_read.is_none() {
        tracing::warn!(grace = ?cfg.gc_grace, "the garbage-collection grace is under two minutes: reads are not bounded by it, and a read still running when an overwrite's old blob is collected fails");
    }
    let engine_cfg = EngineConfig {
        region: default_region.clone(),
        gc_grace: cfg.gc_grace,
        max_read,
        default_ownership: cfg.default_ownership,
        lifecycle_day: cfg.lifecycle_day,
        ..Default::default()
    };
    let engine = Engine::new(meta.clone(), opened.blobs, engine_cfg);
    let key_source = cfg.master_key.clone().unwrap_or_else(|| MasterKeySource::File(cfg.data_dir.join("master.key")));
    if let (true, MasterKeySource::File(path)) = (many_gateways, &key_source) {
        // Made here, it would be this gateway's alone: the others could not
        // open the secrets it seals.
        if !path.exists() {
            anyhow::bail!("the master key file {} does not exist: gateways on PostgreSQL share one key, made once (see docs/deploy.md)", path.display());
        }
    }
    let (master, _created) = master_key::load(&key_source)?;
    let region_names: Vec<String> = if cfg.regions.is_empty() {
        vec![default_region.clone()]
    } else {
        cfg.regions.iter().map(|r| r.name.clone()).collect()
    };
    let iam = coffer_iam::Iam::new(meta.clone(), master, region_names);
    let sealed = iam.reseal_plain_keys().await.context("sealing stored secrets")?;
    if sealed > 0 {
        tracing::info!(sealed, "secrets stored in the clear by an older version are now sealed");
    }

    // Alone on the directory (its lock says so), every unreferenced blob and
    // temp file is debris of an earlier crash; shared, only old ones are.
    let alone = !many_gateways && !cfg.shared_data_dir;
    let min_age = if alone { Duration::ZERO } else { cfg.reclaim_min_age };
    let report = engine.reclaim_at_startup(min_age).await.context("start-up recovery")?;
    tracing::info!(?report, "start-up recovery done");

    let (root, root_generated) = match (&cfg.root, many_gateways) {
        (Some(given), true) => {
            iam.put_operator_key(&given.access_key, &given.secret_key)
                .await
                .context("storing the operator credential")?;
            (given.clone(), false)
        }
        _ => ensure_root_credential(&iam, &cfg.data_dir, cfg.root.clone()).await?,
    };
    tokio::spawn(engine.clone().gc_loop(Duration::from_secs(5).min(cfg.gc_grace.max(Duration::from_secs(1)))));
    tokio::spawn(engine.clone().orphan_sweep_loop(cfg.reclaim_min_age, cfg.orphan_sweep_every));
    tokio::spawn(engine.clone().lifecycle_loop(cfg.lifecycle_every));

    let svc = coffer_s3_api::S3Service::new(
        engine.clone(),
        iam.clone(),
        coffer_s3_api::S3Config { domains: cfg.domains.clone(), regions: cfg.regions.clone() },
    );
    let region_info = if cfg.regions.is_empty() {
        vec![coffer_admin::RegionInfo { name: default_region.clone(), hosts: vec![] }]
    } else {
        cfg.regions.iter().map(|r| coffer_admin::RegionInfo { name: r.name.clone(), hosts: r.hosts.clone() }).collect()
    };
    let control = coffer_admin::ControlService::new(iam.clone(), meta.clone(), region_info);
    let app = app::App { s3: svc.clone(), control };
    let tcp = tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("binding {}", cfg.listen))?;
    let addr = tcp.local_addr()?;
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let console = coffer_console::ConsoleService::with_meter(
        iam.clone(),
        engine.clone(),
        coffer_console::ConsoleConfig {
            secure_cookies: acceptor.is_some(),
            session_ttl: cfg.console_session_ttl,
            regions: iam.regions().to_vec(),
            s3: coffer_console::S3Links {
                scheme: scheme.to_owned(),
                port: addr.port(),
                region_hosts: cfg
                    .regions
                    .iter()
                    .filter_map(|r| r.hosts.first().map(|h| (r.name.clone(), h.clone())))
                    .collect(),
                public_url: cfg.s3_public_url.clone(),
            },
        },
        Some(Arc::new(ConsoleMeter(svc.clone()))),
    );
    let s3_limits = listener::Limits { max_connections: cfg.max_connections, idle: cfg.idle_timeout };
    let console_limits = listener::Limits { max_connections: cfg.console_max_connections, idle: cfg.idle_timeout };
    let mut tasks = vec![
        tokio::spawn(listener::serve(tcp, app.clone(), acceptor.clone(), rx.clone(), s3_limits)),
        tokio::spawn(metering::run(meta.clone(), svc.clone(), cfg.meter_interval, rx.clone())),
    ];
    let console_addr = match cfg.console_listen {
        None => None,
        Some(c) => {
            let tcp = tokio::net::TcpListener::bind(c).await.with_context(|| format!("binding the console to {c}"))?;
            let a = tcp.local_addr()?;
            tasks.push(tokio::spawn(listener::serve(tcp, console, acceptor.clone(), rx.clone(), console_limits)));
            tracing::info!(addr = %a, scheme, "web console listening");
            Some(a)
        }
    };
    let plain_addr = match cfg.plain_listen {
        None => None,
        Some(p) => {
            let plain = tokio::net::TcpListener::bind(p).await.with_context(|| format!("binding {p}"))?;
            let a = plain.local_addr()?;
            tasks.push(tokio::spawn(listener::serve(plain, app, None, rx, s3_limits)));
            tracing::info!(addr = %a, "plain-HTTP S3 listener");
            Some(a)
        }
    };
    let task = tokio::spawn(async move {
        // The directories stay locked while anything serves from them.
        let _locks = dir_locks;
        for t in tasks {
            let _ = t.await;
        }
    });
    tracing::info!(%addr, scheme, region = %default_region, meta = %meta_at.display(), "coffer S3 endpoint listening");
    Ok(Running { addr, plain_addr, console_addr, root, root_generated, iam, shutdown, task })
}

/// Raises the soft open-file limit to the hard one and warns when even that
/// is below what the listeners may hold open.
fn check_open_file_limit(cfg: &ServerConfig) {
    let per_listener = |max: usize| max + connlimit::spare_slots(max);
    let mut needed = per_listener(cfg.max_connections);
    if cfg.plain_listen.is_some() {
        needed += per_listener(cfg.max_connections);
    }
    if cfg.console_listen.is_some() {
        needed += per_listener(cfg.console_max_connections);
    }
    // The database, its readers, blobs being written and read, the log.
    let needed = needed as u64 + 256;
    if let Some(limit) = connlimit::raise_open_file_limit() {
        if limit < needed {
            tracing::warn!(
                limit,
                needed,
                "the open-file limit is below what the connection limits need: raise it (ulimit -n, LimitNOFILE=) \
                 or lower --max-connections / --console-max-connections"
            );
        }
    }
}
