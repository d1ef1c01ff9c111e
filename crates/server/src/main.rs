//! `coffer`: the S3 server and its command-line interface.

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use coffer::{BlobLocation, MasterKeySource, MetaLocation, RegionEndpoint, RootCredential, ServerConfig};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `coffer --version`: the release and the commit it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("COFFER_GIT_COMMIT"), ")");

#[derive(Parser)]
#[command(name = "coffer", version = VERSION, about = "Coffer: S3-compatible object storage")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where the client commands send their requests, and how they print.
    #[command(flatten)]
    conn: coffer_cli::Connection,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the S3 API.
    Server(Box<ServerArgs>),
    /// TLS certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Copy the SQLite metadata while the server runs: one consistent
    /// snapshot, checked (blobs and the master key are copied apart; see
    /// docs/operations.md).
    Backup(coffer::backup::BackupArgs),
    /// Put a `coffer backup` file into a new data directory as its metadata.
    Restore(coffer::backup::RestoreArgs),
    /// Read every stored blob and check it against its checksum (beside a
    /// running server or without one); exits 1 if a blob is corrupt or missing.
    Scrub(coffer::scrub::ScrubArgs),
    /// The server's configuration file (`coffer server --config FILE`).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Copy a data directory's metadata (SQLite) into an empty PostgreSQL
    /// database; blobs stay where they are (docs/migrate.md).
    Migrate(coffer::migrate::MigrateArgs),
    /// The master key: rotate it while servers serve, name keys by id.
    #[command(subcommand)]
    MasterKey(coffer::master_key_rotate::MasterKeyCommand),
    /// Client commands: manage projects, users, keys, quotas and usage
    /// through the admin API (COFFER_ENDPOINT, COFFER_ACCESS_KEY, COFFER_SECRET_KEY).
    #[command(flatten)]
    Client(coffer_cli::ClientCommand),
}

#[derive(Subcommand)]
enum CertCommand {
    /// Write a self-signed development certificate (cert.pem, key.pem).
    Generate {
        /// Directory for cert.pem and key.pem.
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
        /// DNS name or IP address the certificate is for; repeatable
        /// (default: localhost and 127.0.0.1).
        #[arg(long = "name")]
        names: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file as `coffer server --config FILE` would
    /// read it (with the environment and defaults), without starting.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
    /// Print the full default file: every setting, documented, with its default.
    PrintDefault,
}

#[derive(clap::Args)]
struct ServerArgs {
    /// A TOML file of settings: each key is a flag's name in snake case
    /// (`data_dir = "/srv/coffer"`, `no_console = true`). Flags and
    /// environment variables override it.
    #[arg(long, env = "COFFER_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for metadata and blobs (by default), the master key and
    /// the operator credential's marker.
    #[arg(long, env = "COFFER_DATA_DIR", default_value = "./coffer-data")]
    data_dir: PathBuf,
    /// The metadata store: `sqlite://PATH` (default: DATA_DIR/meta.db) or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]`, shared by
    /// every gateway of a deployment.
    #[arg(long, env = "COFFER_META", value_parser = MetaLocation::parse)]
    meta: Option<MetaLocation>,
    /// The blob store: `fs://DIR` (default: DATA_DIR/blobs; a shared
    /// filesystem for several gateways) or `rados://POOL?conf=PATH&user=NAME`
    /// (a build with the `rados` feature).
    #[arg(long, env = "COFFER_BLOBS", value_parser = BlobLocation::parse)]
    blobs: Option<BlobLocation>,
    /// CA certificates (PEM) that PostgreSQL's certificate must chain to
    /// with `sslmode=require` (always verified, name included); default:
    /// the system's roots.
    #[arg(long, env = "COFFER_META_CA_FILE")]
    meta_ca_file: Option<PathBuf>,
    /// PostgreSQL connections this gateway keeps open.
    #[arg(long, env = "COFFER_META_POOL_SIZE", default_value_t = coffer::META_POOL_SIZE, value_parser = parse_pool)]
    meta_pool_size: usize,
    /// Gateways on PostgreSQL: seconds an unreferenced blob must have
    /// existed before the orphan sweep deletes it (younger ones may be
    /// another gateway's upload in flight). Keep it above the longest upload.
    #[arg(long, env = "COFFER_RECLAIM_MIN_AGE_SECS", default_value_t = coffer::RECLAIM_MIN_AGE.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    reclaim_min_age_secs: u64,
    /// Seconds between orphan sweeps (one gateway at a time runs one).
    #[arg(long, env = "COFFER_ORPHAN_SWEEP_SECS", default_value_t = coffer::ORPHAN_SWEEP_EVERY.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    orphan_sweep_secs: u64,
    /// Seconds from the end of one scrub pass (on any gateway) to the start
    /// of the next, which reads every blob and checks its checksum (default:
    /// a week); 0: no background scrubbing.
    #[arg(long, env = "COFFER_SCRUB_INTERVAL_SECS", default_value_t = 7 * 86_400)]
    scrub_interval_secs: u64,
    /// The scrubber's read rate in MiB a second (0: no limit).
    #[arg(long, env = "COFFER_SCRUB_RATE_MIB", default_value_t = 16)]
    scrub_rate_mib: u64,
    /// Address of the S3 endpoint.
    #[arg(long, env = "COFFER_LISTEN", default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// A region this deployment serves: `NAME` or `NAME=HOST[,HOST...]` (the
    /// host names of its S3 endpoint); repeatable, the first is the default.
    /// Env: `;`-separated.
    #[arg(long = "region", env = "COFFER_REGION", value_delimiter = ';', default_value = "us-east-1")]
    regions: Vec<String>,
    /// File holding the master key that seals stored secrets (base64 of 32
    /// bytes), or a keyring (a key per line, the first sealing); created with
    /// mode 0600 if missing, re-read every second while serving (`coffer
    /// master-key rotate`). Default: DATA_DIR/master.key. Or give the keys
    /// themselves in COFFER_MASTER_KEY.
    #[arg(long, env = "COFFER_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// Seconds between flushes of usage counters into hourly records.
    #[arg(long, env = "COFFER_METER_INTERVAL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    meter_interval_secs: u64,
    /// Domain for virtual-hosted-style requests (`bucket.DOMAIN[:port]`);
    /// repeatable. Env: comma-separated.
    #[arg(long = "domain", env = "COFFER_DOMAINS", value_delimiter = ',')]
    domains: Vec<String>,
    /// PEM certificate chain: with --tls-key, --listen speaks HTTPS; the pair
    /// is reloaded when the files change.
    #[arg(long, env = "COFFER_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "COFFER_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Also serve plain HTTP on this address (beside HTTPS on --listen).
    #[arg(long, env = "COFFER_PLAIN_LISTEN")]
    plain_listen: Option<SocketAddr>,
    /// Refuse to start unless TLS is configured and no plain listener is set.
    #[arg(long, env = "COFFER_HTTPS_ONLY")]
    https_only: bool,
    /// Seconds a client may stay silent (request head, keep-alive, body) before it is dropped.
    #[arg(long, env = "COFFER_IDLE_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_secs: u64,
    /// Connections each S3 listener serves at once; beyond it a few more are
    /// taken to answer health probes (anything else gets 503 SlowDown), then
    /// new connections are closed at once.
    #[arg(long, env = "COFFER_MAX_CONNECTIONS", default_value_t = coffer::MAX_CONNECTIONS, value_parser = parse_limit)]
    max_connections: usize,
    /// Connections the web console serves at once (beyond: 503).
    #[arg(long, env = "COFFER_CONSOLE_MAX_CONNECTIONS", default_value_t = coffer::CONSOLE_MAX_CONNECTIONS, value_parser = parse_limit)]
    console_max_connections: usize,
    /// Address of the web console (HTTPS with the same certificate when TLS is on).
    #[arg(long, env = "COFFER_CONSOLE_LISTEN", default_value = "127.0.0.1:9001")]
    console_listen: SocketAddr,
    /// Do not serve the web console.
    #[arg(long, env = "COFFER_NO_CONSOLE")]
    no_console: bool,
    /// How long a console session lasts from sign-in: seconds, or a number
    /// with s, m, h or d (`30m`, `12h`, `7d`).
    #[arg(long, env = "COFFER_CONSOLE_SESSION_TTL", default_value = "12h", value_parser = parse_ttl)]
    console_session_ttl: Duration,
    /// The S3 endpoint's URL as browsers reach it (for the console's share
    /// links), e.g. `https://s3.example.com` behind a reverse proxy.
    #[arg(long, env = "COFFER_S3_PUBLIC_URL")]
    s3_public_url: Option<String>,
    /// Seconds a blob dropped by an overwrite or delete stays readable
    /// before it is deleted. Reads (GETs, copies) are bounded by it: one
    /// still running a minute before the grace ends is cut off. Under 120:
    /// reads are not bounded and may lose their blobs (tests only).
    #[arg(long, env = "COFFER_GC_GRACE_SECS", default_value_t = 3600)]
    gc_grace_secs: u64,
    /// Object Ownership of a bucket made without `x-amz-object-ownership`:
    /// BucketOwnerEnforced (ACLs disabled, as on S3 since 2023) or
    /// BucketOwnerPreferred (ACLs work, for customers who rely on them).
    #[arg(long, env = "COFFER_DEFAULT_OBJECT_OWNERSHIP", default_value = "BucketOwnerEnforced",
          value_parser = parse_default_ownership)]
    default_object_ownership: coffer_engine::ObjectOwnership,
    /// Seconds between passes applying lifecycle rules.
    #[arg(long, env = "COFFER_LIFECYCLE_INTERVAL_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    lifecycle_interval_secs: u64,
    /// The length of a "day" in lifecycle rules, in seconds. 86400 in
    /// production; a test deployment shortens it to run rules in seconds
    /// (as RGW's rgw_lc_debug_interval does).
    #[arg(long, env = "COFFER_LIFECYCLE_DAY_SECS", default_value_t = 86_400,
          value_parser = clap::value_parser!(u64).range(1..))]
    lifecycle_day_secs: u64,
    /// On SIGTERM or Ctrl-C: seconds requests in flight may take to finish
    /// before they are cut off (new connections are refused at once; usage
    /// counters are flushed after).
    #[arg(long, env = "COFFER_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    shutdown_grace_secs: u64,
    /// Write the audit log (one JSON line per request that may change
    /// something, on S3, the admin and IAM APIs and the console) to this
    /// file, or `-` for stdout; reopened on SIGHUP (logrotate).
    #[arg(long, env = "COFFER_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    /// Audit every request, reads included.
    #[arg(long, env = "COFFER_AUDIT_ALL")]
    audit_all: bool,
    /// The format of the ordinary log on stderr: `text` or `json` (one JSON object per line).
    #[arg(long, env = "COFFER_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Serve Prometheus metrics (`GET /metrics`) on this address; off by default.
    #[arg(long, env = "COFFER_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// A file holding the bearer token a scrape must send
    /// (`Authorization: Bearer TOKEN`); without it /metrics is open to
    /// whoever reaches --metrics-listen.
    #[arg(long, env = "COFFER_METRICS_TOKEN_FILE")]
    metrics_token_file: Option<PathBuf>,
    /// Also count S3 requests per project (a label per project: with
    /// thousands of projects, thousands of series).
    #[arg(long, env = "COFFER_METRICS_PROJECT_LABELS")]
    metrics_project_labels: bool,
}

fn parse_default_ownership(s: &str) -> Result<coffer_engine::ObjectOwnership, String> {
    coffer_engine::ObjectOwnership::parse(s)
        .ok_or_else(|| "BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter".into())
}

/// The command line, with `coffer server --config FILE`'s settings added
/// under the flags and environment given (`config_file.rs`).
fn parse_cli(argv: Vec<OsString>) -> anyhow::Result<Cli> {
    let cmd = Cli::command();
    let matches = cmd.clone().try_get_matches_from(&argv).unwrap_or_else(|e| e.exit());
    let file = match matches.subcommand() {
        Some(("server", sm)) => sm.get_one::<PathBuf>("config").cloned().map(|f| (f, sm.clone())),
        _ => None,
    };
    let Some((file, sm)) = file else { return Ok(Cli::from_arg_matches(&matches)?) };
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let server = cmd.find_subcommand("server").context("the server command")?;
    let extra = coffer::config_file::file_args(server, &sm, &file.display().to_string(), &text)?;
    let matches = cmd.try_get_matches_from(argv.into_iter().chain(extra)).map_err(|e| {
        anyhow::anyhow!("{}: {}", file.display(), e.render().to_string().trim_start_matches("error: ").trim_end())
    })?;
    Ok(Cli::from_arg_matches(&matches)?)
}

fn main() -> anyhow::Result<()> {
    let cli = parse_cli(std::env::args_os().collect())?;
    let json = matches!(&cli.command, Command::Server(a) if a.log_format == "json");
    let log = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("COFFER_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        // A log line that cannot be written (its disk is full) is dropped. By
        // default the failure is reported with `eprintln!`, which panics when
        // stderr cannot be written either, taking the logging thread with it.
        .log_internal_errors(false);
    if json {
        log.json().init();
    } else {
        log.init();
    }
    match cli.command {
        Command::Server(args) => server(*args),
        Command::Migrate(args) => coffer::migrate::run(args),
        Command::MasterKey(cmd) => coffer::master_key_rotate::run(cmd),
        Command::Client(cmd) => {
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            if let Err(e) = rt.block_on(coffer_cli::run(&cli.conn, cmd)) {
                eprintln!("Error: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Backup(args) => {
            let s = coffer::backup::backup(&args)?;
            println!(
                "backup written: {} (schema v{}, {} buckets, {} objects, {} bytes)",
                args.out.display(),
                s.schema_version,
                s.buckets,
                s.objects,
                s.bytes
            );
            Ok(())
        }
        Command::Scrub(args) => {
            if !coffer::scrub::run(&args)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Restore(args) => {
            let s = coffer::backup::restore(&args)?;
            println!(
                "metadata restored into {} (schema v{}, {} buckets, {} objects). Copy the blobs (blobs/) and the \
                 master key (master.key) into it before starting the server.",
                args.data_dir.display(),
                s.schema_version,
                s.buckets,
                s.objects
            );
            Ok(())
        }
        Command::Config(ConfigCommand::PrintDefault) => {
            let cmd = Cli::command();
            print!(
                "{}",
                coffer::config_file::print_default(cmd.find_subcommand("server").context("the server command")?)
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Check { file }) => {
            let argv = ["coffer".into(), "server".into(), "--config".into(), file.clone().into_os_string()];
            let Command::Server(args) = parse_cli(argv.into())?.command else { anyhow::bail!("not a server command") };
            server_config(*args)?;
            println!("{}: OK", file.display());
            Ok(())
        }
        Command::Cert(CertCommand::Generate { out_dir, names }) => {
            let files = coffer::tls::generate_self_signed(&out_dir, &names)?;
            println!("certificate: {}\nprivate key: {}", files.cert.display(), files.key.display());
            Ok(())
        }
    }
}

fn root_from_env() -> anyhow::Result<Option<RootCredential>> {
    match (std::env::var("COFFER_ROOT_ACCESS_KEY"), std::env::var("COFFER_ROOT_SECRET_KEY")) {
        (Ok(a), Ok(s)) if !a.is_empty() && !s.is_empty() => Ok(Some(RootCredential { access_key: a, secret_key: s })),
        (Err(_), Err(_)) => Ok(None),
        _ => anyhow::bail!("set both COFFER_ROOT_ACCESS_KEY and COFFER_ROOT_SECRET_KEY, or neither"),
    }
}

/// `NAME` or `NAME=HOST,HOST`.
/// `90`, `90s`, `30m`, `12h`, `7d` → a duration of at least a minute and at
/// most 30 days.
fn parse_ttl(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is not a duration like 3600, 30m, 12h or 7d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("unknown unit {unit:?} in {s:?}: use s, m, h or d")),
    };
    if !(60..=30 * 86_400).contains(&secs) {
        return Err(format!("{s:?} is outside 1 minute to 30 days"));
    }
    Ok(Duration::from_secs(secs))
}

/// A pool size: 1 to 1,000.
fn parse_pool(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a number of connections from 1 to 1000")),
    }
}

/// A connection limit: 1 to 1,000,000.
fn parse_limit(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a number of connections from 1 to 1000000")),
    }
}

fn parse_region(spec: &str) -> anyhow::Result<RegionEndpoint> {
    let (name, hosts) = spec.split_once('=').unwrap_or((spec, ""));
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        anyhow::bail!("invalid region {spec:?}: expected NAME or NAME=HOST[,HOST...]");
    }
    let hosts = hosts.split(',').map(str::trim).filter(|h| !h.is_empty()).map(str::to_owned).collect();
    Ok(RegionEndpoint { name: name.to_owned(), hosts })
}

/// The server's configuration from its arguments (checked, nothing started).
/// Settings that need another are checked here, after the configuration
/// file was merged, so the two may come from different places.
fn server_config(args: ServerArgs) -> anyhow::Result<ServerConfig> {
    let needs = [
        (args.tls_cert.is_some(), args.tls_key.is_some(), "--tls-cert needs --tls-key"),
        (args.tls_key.is_some(), args.tls_cert.is_some(), "--tls-key needs --tls-cert"),
        (args.audit_all, args.audit_log.is_some(), "--audit-all needs --audit-log"),
        (
            args.metrics_token_file.is_some(),
            args.metrics_listen.is_some(),
            "--metrics-token-file needs --metrics-listen",
        ),
        (args.metrics_project_labels, args.metrics_listen.is_some(), "--metrics-project-labels needs --metrics-listen"),
    ];
    for (given, needed, what) in needs {
        anyhow::ensure!(!given || needed, "{what} (as a flag, in the environment or in the configuration file)");
    }
    let regions = args.regions.iter().map(|r| parse_region(r)).collect::<anyhow::Result<Vec<_>>>()?;
    let master_key = match (std::env::var("COFFER_MASTER_KEY"), args.master_key_file) {
        (Ok(v), _) if !v.is_empty() => Some(MasterKeySource::Value(v)),
        (_, Some(path)) => Some(MasterKeySource::File(path)),
        _ => None,
    };
    let cfg = ServerConfig {
        data_dir: args.data_dir,
        meta: args.meta,
        blobs: args.blobs,
        meta_pool_size: args.meta_pool_size,
        meta_ca_file: args.meta_ca_file,
        reclaim_min_age: Duration::from_secs(args.reclaim_min_age_secs),
        orphan_sweep_every: Duration::from_secs(args.orphan_sweep_secs),
        scrub_every: (args.scrub_interval_secs > 0).then(|| Duration::from_secs(args.scrub_interval_secs)),
        scrub_rate: (args.scrub_rate_mib > 0).then_some(args.scrub_rate_mib.saturating_mul(1 << 20)),
        listen: args.listen,
        region: regions.first().map_or_else(|| "us-east-1".to_owned(), |r| r.name.clone()),
        regions,
        master_key,
        meter_interval: Duration::from_secs(args.meter_interval_secs),
        root: root_from_env()?,
        gc_grace: Duration::from_secs(args.gc_grace_secs),
        default_ownership: args.default_object_ownership,
        lifecycle_every: Duration::from_secs(args.lifecycle_interval_secs),
        lifecycle_day: Duration::from_secs(args.lifecycle_day_secs),
        domains: args.domains,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(coffer::tls::TlsFiles { cert, key }),
            _ => None,
        },
        plain_listen: args.plain_listen,
        https_only: args.https_only,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        max_connections: args.max_connections,
        console_listen: (!args.no_console).then_some(args.console_listen),
        console_max_connections: args.console_max_connections,
        console_session_ttl: args.console_session_ttl,
        s3_public_url: args.s3_public_url,
        shared_data_dir: false,
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        audit_log: args.audit_log,
        audit_all: args.audit_all,
        metrics_listen: args.metrics_listen,
        metrics_token: match &args.metrics_token_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the metrics token from {}", path.display()))?;
                let token = text.trim().to_owned();
                anyhow::ensure!(
                    token.len() >= 16,
                    "the metrics token in {} is shorter than 16 characters",
                    path.display()
                );
                Some(token)
            }
        },
        metrics_project_labels: args.metrics_project_labels,
    };
    Ok(cfg)
}

fn server(args: ServerArgs) -> anyhow::Result<()> {
    let cfg = server_config(args)?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let running = coffer::start(cfg).await?;
        if running.root_generated {
            // Printed once, on stdout only; never logged.
            println!("Root credential created. Save the secret now; it will not be shown again.");
            println!("  access key: {}", running.root.access_key);
            println!("  secret key: {}", running.root.secret_key);
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                _ = hangup.recv() => {
                    // logrotate renamed the audit log: write a new one.
                    if let Some(a) = &running.audit {
                        a.reopen();
                        tracing::info!("SIGHUP: the audit log is reopened");
                    }
                }
            }
        }
        tracing::info!("shutting down: no new connections; waiting for requests in flight");
        let drained = running.shutdown_within().await;
        tracing::info!(drained, "stopped");
        anyhow::Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ttls() {
        assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_ttl("10").is_err());
        assert!(parse_ttl("31d").is_err());
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
    }

    #[test]
    fn connection_limits() {
        assert_eq!(parse_limit("4096"), Ok(4096));
        assert!(parse_limit("0").is_err());
        assert!(parse_limit("-1").is_err());
        assert!(parse_limit("many").is_err());
    }
}
