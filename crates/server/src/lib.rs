//! The composition root: the only crate that names concrete stores. It opens
//! the [`MetaStore`](coffer_meta::MetaStore) (SQLite under the data directory
//! by default, or PostgreSQL shared by many gateways) and the
//! [`BlobStore`](coffer_blob::BlobStore) (a local or shared directory, or a
//! RADOS pool), builds the engine and the S3 service, runs start-up recovery,
//! the garbage collector and the orphan sweep, and serves HTTP.
//!
//! [`start`] is used both by `coffer server` and by in-process tests.

mod app;
pub mod audit;
pub mod backup;
mod body_guard;
pub mod config_file;
mod connlimit;
mod credentials;
mod data_lock;
pub mod instrumented;
mod keyring_presence;
mod listener;
pub mod master_key;
pub mod master_key_rotate;
mod metering;
pub mod metrics;
mod metrics_http;
pub mod migrate;
mod pace;
mod private_files;
pub mod scrub;
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
    /// How long after a scrub pass ends (on any gateway) the next starts;
    /// `None`: no background scrubbing.
    pub scrub_every: Option<Duration>,
    /// The scrubber's read rate, bytes a second (`None`: no limit).
    pub scrub_rate: Option<u64>,
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
    /// The audit log: a file, or `-` for stdout; `None`: none.
    pub audit_log: Option<std::path::PathBuf>,
    /// Audit every request, not only those that may change something.
    pub audit_all: bool,
    /// How long a shutdown waits for requests in flight before cutting them off.
    pub shutdown_grace: Duration,
    /// Where Prometheus scrapes `GET /metrics`; `None`: no metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// The bearer token a scrape must carry, if any.
    pub metrics_token: Option<String>,
    /// Count S3 requests per project too (a label per project: mind the
    /// cardinality with many projects).
    pub metrics_project_labels: bool,
}

/// The git commit this binary was built from (`build.rs`).
pub const GIT_COMMIT: &str = env!("COFFER_GIT_COMMIT");

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
/// Connections the metrics listener serves at once (scrapers are few).
const METRICS_MAX_CONNECTIONS: usize = 16;

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
    /// The metrics listener, when there is one.
    pub metrics_addr: Option<SocketAddr>,
    /// The audit log, when there is one (SIGHUP reopens it).
    pub audit: Option<Arc<audit::AuditLog>>,
    /// The root credential; `generated` when it was created on this start.
    pub root: RootCredential,
    pub root_generated: bool,
    iam: coffer_iam::Iam,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// Stops the metering loop, which then flushes the usage counters.
    meter_stop: tokio::sync::watch::Sender<bool>,
    meter_task: tokio::task::JoinHandle<()>,
    /// Stops the report of the master keys in use, which then removes it.
    keyring_stop: tokio::sync::watch::Sender<bool>,
    keyring_task: tokio::task::JoinHandle<()>,
    shutdown_grace: Duration,
}

impl Running {
    /// What the console's password worker has done: how many Argon2id jobs
    /// ran, the most at once (never above its bound), how many sign-ins it
    /// refused for want of a free slot.
    pub fn password_stats(&self) -> coffer_iam::PasswordStats {
        self.iam.password_stats()
    }

    /// Stops accepting, lets in-flight requests finish (for at most the
    /// shutdown grace), flushes usage, and waits.
    pub async fn shutdown(self) {
        self.shutdown_within().await;
    }

    /// Stops accepting, lets requests in flight finish for at most the
    /// shutdown grace, then flushes the usage counters (those requests'
    /// included). `false`: some requests were still running when the grace
    /// ran out; they are cut off when the process exits (an upload not yet
    /// acknowledged stores nothing: its metadata was never committed).
    pub async fn shutdown_within(self) -> bool {
        let _ = self.shutdown.send(true);
        let drained = tokio::time::timeout(self.shutdown_grace, self.task).await.is_ok();
        if !drained {
            tracing::warn!(grace = ?self.shutdown_grace, "requests still running when the shutdown grace ran out: cut off");
        }
        let _ = self.meter_stop.send(true);
        if tokio::time::timeout(Duration::from_secs(30), self.meter_task).await.is_err() {
            tracing::warn!("the last flush of usage counters did not finish in 30 s");
        }
        // Removed once nothing seals any more: a rotation then stops waiting for this server.
        let _ = self.keyring_stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.keyring_task).await;
        if let Some(a) = self.audit {
            // The drained requests' lines are written before the process ends.
            let written = tokio::task::spawn_blocking(move || a.flush(Duration::from_secs(10))).await;
            if !matches!(written, Ok(true)) {
                tracing::warn!("the audit log's last lines were not all written in 10 s");
            }
        }
        drained
    }
}

/// The console's object actions, counted by the S3 API's usage meter.
struct ConsoleMeter(coffer_s3_api::S3Service, Option<Arc<metrics::Metrics>>, Option<Arc<audit::AuditLog>>);

/// Several observers of the S3 endpoint's requests.
struct Observers(Vec<Arc<dyn coffer_s3_api::RequestObserver>>);

impl coffer_s3_api::RequestObserver for Observers {
    fn started(&self) {
        self.0.iter().for_each(|o| o.started());
    }
    fn finished(&self, record: &coffer_s3_api::RequestRecord) {
        self.0.iter().for_each(|o| o.finished(record));
    }
}

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
    fn sign_in(&self, outcome: &'static str) {
        if let Some(m) = &self.1 {
            m.sign_in(outcome);
        }
    }
    fn action(&self, action: &coffer_console::ConsoleAction) {
        if let Some(a) = &self.2 {
            a.console(action);
        }
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
    let metrics = cfg.metrics_listen.map(|_| metrics::Metrics::new(cfg.metrics_project_labels));
    let (meta, blobs): (Arc<dyn coffer_meta::Store>, Arc<dyn coffer_blob::BlobStore>) = match &metrics {
        Some(m) => (
            Arc::new(instrumented::InstrumentedMeta::new(opened.meta, m.clone())),
            Arc::new(instrumented::InstrumentedBlobs::new(opened.blobs, m.clone())),
        ),
        None => (opened.meta, opened.blobs),
    };
    let dir_locks = (data_lock, opened.locks);
    let opened_write_stats = opened.write_stats;
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
    let engine = Engine::new(meta.clone(), blobs, engine_cfg);
    let key_source = cfg.master_key.clone().unwrap_or_else(|| MasterKeySource::File(cfg.data_dir.join("master.key")));
    if let (true, MasterKeySource::File(path)) = (many_gateways, &key_source) {
        // Made here, it would be this gateway's alone: the others could not
        // open the secrets it seals.
        if !path.exists() {
            anyhow::bail!("the master key file {} does not exist: gateways on PostgreSQL share one key, made once (see docs/deploy.md)", path.display());
        }
    }
    let (keys, created) = master_key::load(&key_source)?;
    refuse_keys_that_open_nothing(meta.as_ref(), &keys, &key_source, created).await?;
    tracing::info!(keys = %master_key::ids_text(&keys.ids()), "master keys loaded: sealing under the first");
    let region_names: Vec<String> = if cfg.regions.is_empty() {
        vec![default_region.clone()]
    } else {
        cfg.regions.iter().map(|r| r.name.clone()).collect()
    };
    let iam = coffer_iam::Iam::new(meta.clone(), keys, region_names);
    // From here on this server may seal, so it follows the key file (a
    // rotation rewrites it) and reports its keys (the rotation waits for
    // them), before start-up recovery, which may take long.
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    if let MasterKeySource::File(path) = &key_source {
        let watch = master_key::watch(iam.clone(), path.clone(), master_key::RELOAD_EVERY, rx.clone());
        tasks.push(tokio::spawn(watch));
    }
    let (keyring_stop, keyring_rx) = tokio::sync::watch::channel(false);
    let keyring_task = keyring_presence::start(meta.clone(), iam.clone(), keyring_rx).await?;
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
    if let Some(every) = cfg.scrub_every {
        let opts = coffer_engine::ScrubOptions { rate: cfg.scrub_rate, ..Default::default() };
        // Checks whether a pass is due (on any gateway) this often.
        let tick = every.min(Duration::from_secs(600)).max(Duration::from_secs(1));
        tokio::spawn(engine.clone().scrub_loop(every, tick, opts));
    }

    let mut svc = coffer_s3_api::S3Service::new(
        engine.clone(),
        iam.clone(),
        coffer_s3_api::S3Config { domains: cfg.domains.clone(), regions: cfg.regions.clone() },
    );
    let audit = match &cfg.audit_log {
        Some(path) => Some(
            audit::AuditLog::open(path, cfg.audit_all)
                .with_context(|| format!("opening the audit log {}", path.display()))?,
        ),
        None => None,
    };
    let mut observers: Vec<Arc<dyn coffer_s3_api::RequestObserver>> = Vec::new();
    if let Some(m) = &metrics {
        observers.push(m.clone());
    }
    if let Some(a) = &audit {
        observers.push(a.clone());
    }
    if !observers.is_empty() {
        svc = svc.with_observer(Arc::new(Observers(observers)));
    }
    let region_info = if cfg.regions.is_empty() {
        vec![coffer_admin::RegionInfo { name: default_region.clone(), hosts: vec![] }]
    } else {
        cfg.regions.iter().map(|r| coffer_admin::RegionInfo { name: r.name.clone(), hosts: r.hosts.clone() }).collect()
    };
    let mut control = coffer_admin::ControlService::new(iam.clone(), meta.clone(), region_info);
    if let Some(a) = &audit {
        control = control.with_observer(a.clone());
    }
    let app = app::App { s3: svc.clone(), control };
    let tcp = tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("binding {}", cfg.listen))?;
    let addr = tcp.local_addr()?;
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
        Some(Arc::new(ConsoleMeter(svc.clone(), metrics.clone(), audit.clone()))),
    );
    let gauge = |name| metrics.as_ref().map(|m| m.connections(name));
    let limits = |max_connections, open| listener::Limits { max_connections, idle: cfg.idle_timeout, open };
    let s3_limits = limits(cfg.max_connections, gauge("s3"));
    let console_limits = limits(cfg.console_max_connections, gauge("console"));
    tasks.push(tokio::spawn(listener::serve(tcp, app.clone(), acceptor.clone(), rx.clone(), s3_limits)));
    // Usage is flushed last, once the listeners are done (their requests counted).
    let (meter_stop, meter_rx) = tokio::sync::watch::channel(false);
    let metering = metering::run(meta.clone(), svc.clone(), cfg.meter_interval, meter_rx);
    let meter_task = tokio::spawn(async move {
        // The directories stay locked while anything may still write to them.
        let _locks = dir_locks;
        metering.await
    });
    let metrics_addr = match (&metrics, cfg.metrics_listen) {
        (Some(m), Some(at)) => {
            let tcp = tokio::net::TcpListener::bind(at).await.with_context(|| format!("binding metrics to {at}"))?;
            let a = tcp.local_addr()?;
            let endpoint = metrics_http::MetricsEndpoint {
                metrics: m.clone(),
                token: cfg.metrics_token.as_deref().map(Arc::from),
            };
            let metrics_limits = limits(METRICS_MAX_CONNECTIONS, None);
            tasks.push(tokio::spawn(listener::serve(tcp, endpoint, None, rx.clone(), metrics_limits)));
            let audit_stats = audit.as_ref().map(|a| a.stats());
            let refresh =
                metrics::refresh_loop(m.clone(), engine.clone(), meta.clone(), opened_write_stats.clone(), audit_stats);
            tokio::spawn(refresh);
            tracing::info!(addr = %a, token = cfg.metrics_token.is_some(), "metrics listening");
            Some(a)
        }
        _ => None,
    };
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
            let plain_limits = limits(cfg.max_connections, gauge("s3-plain"));
            tasks.push(tokio::spawn(listener::serve(plain, app, None, rx, plain_limits)));
            tracing::info!(addr = %a, "plain-HTTP S3 listener");
            Some(a)
        }
    };
    let task = tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
    });
    tracing::info!(%addr, scheme, region = %default_region, meta = %meta_at.display(), "coffer S3 endpoint listening");
    Ok(Running {
        addr,
        plain_addr,
        console_addr,
        metrics_addr,
        audit,
        root,
        root_generated,
        iam,
        shutdown,
        task,
        meter_stop,
        meter_task,
        keyring_stop,
        keyring_task,
        shutdown_grace: cfg.shutdown_grace,
    })
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

/// Master keys that open none of the stored secrets (metadata restored
/// without its `master.key`, or a key file from before a rotation put back):
/// refuse to serve rather than run with every stored secret unreadable. A
/// key made on this start is taken back. The walk stops at the first secret
/// that opens, so a start with the right keys reads one key.
async fn refuse_keys_that_open_nothing(
    meta: &dyn coffer_meta::Store,
    keys: &coffer_iam::seal::Keyring,
    source: &MasterKeySource,
    created: bool,
) -> anyhow::Result<()> {
    let mut projects: Vec<String> = meta.list_projects().await?.into_iter().map(|p| p.name).collect();
    projects.push(coffer_meta::OPERATOR_PROJECT.to_owned());
    let mut unopened = None;
    for project in projects {
        for k in meta.list_access_keys(&project, None).await? {
            if coffer_iam::seal::MasterKey::is_plain(&k.sealed_secret) {
                continue;
            }
            match keys.open(&k.access_key, &k.sealed_secret) {
                // One opens: the keys are right.
                Ok(_) => return Ok(()),
                Err(e) => {
                    unopened.get_or_insert((k.access_key, e));
                }
            }
        }
    }
    let Some((access_key, why)) = unopened else { return Ok(()) };
    if created {
        if let MasterKeySource::File(path) = source {
            let _ = std::fs::remove_file(path);
        }
        anyhow::bail!(
            "the metadata holds secrets sealed by another master key, and no master key was found (a new one \
             was about to be made): put the deployment's master.key back (restored data directories need it; \
             see docs/operations.md) and start again"
        );
    }
    anyhow::bail!(
        "no stored secret opens under the master keys given ({}; access key {access_key}: {why}): give the \
         deployment's current master key (after `coffer master-key rotate`, the new one; see docs/operations.md)",
        master_key::ids_text(&keys.ids())
    )
}
