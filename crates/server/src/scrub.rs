//! `coffer scrub`: one pass of the scrubber by hand ([`coffer_engine`]'s
//! `scrub.rs`), beside a running server or without one. It reads every
//! blob that the metadata refers to and checks it against its CRC-64/NVME;
//! it changes nothing (no lease, no lock on a data directory, not the
//! scrubber's stored place; a schema other than this binary's is refused,
//! never migrated), prints what it found, and exits non-zero when a blob is
//! corrupt or missing.

use crate::stores::{self, BlobLocation, MetaLocation};
use anyhow::Context as _;
use coffer_engine::{Engine, EngineConfig, ScrubOptions, ScrubReport};
use std::path::PathBuf;

/// `coffer scrub`.
#[derive(clap::Args, Debug)]
pub struct ScrubArgs {
    /// The server's data directory (metadata and blobs default to it).
    #[arg(long, env = "COFFER_DATA_DIR", default_value = "./coffer-data")]
    pub data_dir: PathBuf,
    /// The metadata store, as the server's `--meta` (default DATA_DIR/meta.db).
    #[arg(long, env = "COFFER_META", value_parser = MetaLocation::parse)]
    pub meta: Option<MetaLocation>,
    /// The blob store, as the server's `--blobs` (default DATA_DIR/blobs).
    #[arg(long, env = "COFFER_BLOBS", value_parser = BlobLocation::parse)]
    pub blobs: Option<BlobLocation>,
    /// CA certificates for PostgreSQL's `sslmode=require`.
    #[arg(long, env = "COFFER_META_CA_FILE")]
    pub meta_ca_file: Option<PathBuf>,
    /// MiB read a second at most (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub rate_mib: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs one pass; `Ok(false)` when something was found.
pub fn run(args: &ScrubArgs) -> anyhow::Result<bool> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let meta = args.meta.clone().unwrap_or_else(|| MetaLocation::Sqlite(args.data_dir.join("meta.db")));
        let blobs = args.blobs.clone().unwrap_or_else(|| BlobLocation::Fs(args.data_dir.join("blobs")));
        let meta = stores::open_meta_beside(&meta, args.meta_ca_file.clone()).await?;
        let blobs = stores::open_blobs_beside(&blobs).await?;
        let engine = Engine::new(meta, blobs, EngineConfig::default());
        let opts =
            ScrubOptions { rate: (args.rate_mib > 0).then_some(args.rate_mib.saturating_mul(1 << 20)), page: 500 };
        let report = engine.scrub(&opts).await?;
        print(&report, args.json);
        Ok(report.clean())
    })
}

fn print(r: &ScrubReport, json: bool) {
    if json {
        let ids = |v: &[coffer_types::BlobId]| v.iter().map(|b| b.as_str().to_owned()).collect::<Vec<_>>();
        let doc = serde_json::json!({
            "blobs": r.blobs,
            "bytes": r.bytes,
            "corrupt": r.corrupt_count,
            "missing": r.missing_count,
            "unverified": r.unverified,
            "corrupt_blobs": ids(&r.corrupt),
            "missing_blobs": ids(&r.missing),
        });
        println!("{doc}");
        return;
    }
    println!(
        "scrubbed {} blobs ({} bytes): {} corrupt, {} missing, {} without a stored checksum (length checked)",
        r.blobs, r.bytes, r.corrupt_count, r.missing_count, r.unverified
    );
    for b in &r.corrupt {
        println!("corrupt {b}");
    }
    for b in &r.missing {
        println!("missing {b}");
    }
}
