//! `coffer`: the S3 server and its command-line interface.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use coffer::{RootCredential, ServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "coffer", version, about = "Coffer: S3-compatible object storage")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the S3 API.
    Server(ServerArgs),
    /// TLS certificates.
    #[command(subcommand)]
    Cert(CertCommand),
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

#[derive(clap::Args)]
struct ServerArgs {
    /// Directory for metadata and blobs.
    #[arg(long, env = "COFFER_DATA_DIR", default_value = "./coffer-data")]
    data_dir: PathBuf,
    /// Address of the S3 endpoint.
    #[arg(long, env = "COFFER_LISTEN", default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Region name this deployment serves.
    #[arg(long, env = "COFFER_REGION", default_value = "us-east-1")]
    region: String,
    /// Domain for virtual-hosted-style requests (`bucket.DOMAIN[:port]`);
    /// repeatable. Env: comma-separated.
    #[arg(long = "domain", env = "COFFER_DOMAINS", value_delimiter = ',')]
    domains: Vec<String>,
    /// PEM certificate chain: with --tls-key, --listen speaks HTTPS; the pair
    /// is reloaded when the files change.
    #[arg(long, env = "COFFER_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "COFFER_TLS_KEY", requires = "tls_cert")]
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
    /// Seconds a dropped blob stays readable before it is deleted.
    #[arg(long, env = "COFFER_GC_GRACE_SECS", default_value_t = 300)]
    gc_grace_secs: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("COFFER_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Server(args) => server(args),
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

fn server(args: ServerArgs) -> anyhow::Result<()> {
    let cfg = ServerConfig {
        data_dir: args.data_dir,
        listen: args.listen,
        region: args.region,
        root: root_from_env()?,
        gc_grace: Duration::from_secs(args.gc_grace_secs),
        domains: args.domains,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(coffer::tls::TlsFiles { cert, key }),
            _ => None,
        },
        plain_listen: args.plain_listen,
        https_only: args.https_only,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
    };
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
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        running.shutdown().await;
        anyhow::Ok(())
    })
}
