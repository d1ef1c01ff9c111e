//! `coffer-bench`: an end-to-end benchmark of the real `coffer server`.
//!
//! It is not a test: it starts the release binary on a fresh data directory
//! (with durable commits, as always), drives it over loopback with its own
//! light HTTP/1.1 client (one keep-alive hyper connection per worker, every
//! request SigV4-signed, PUT bodies `UNSIGNED-PAYLOAD`, GET bodies streamed and
//! discarded) and reports, per phase, operations/s, MiB/s, latency p50/p99/max,
//! errors (any non-2xx; the first error body is shown), the server's peak
//! memory (VmHWM / sampled VmRSS from `/proc/<pid>/status`) and CPU use of
//! server and client.
//!
//! Phases (sizes, durations and counts are options):
//! - `put-4KiB` / `get-4KiB`: concurrency 16, fixed duration; GETs pick random keys among those written;
//! - `put-1MiB` / `get-1MiB`: concurrency 8, fixed duration;
//! - `put-64MiB` / `get-64MiB`: concurrency 2, fixed counts;
//! - `list-10k`: 10,000 keys of 4 bytes are written first (untimed set-up), then
//!   complete ListObjectsV2 listings (1,000 keys per page, following
//!   continuation tokens) are timed one after the other, latency = whole listing;
//! - `rss-64x64MiB`: one round of 64 concurrent 64 MiB PUTs; its peak RSS is the figure.
//!
//! GET responses must carry the expected Content-Length and length; a sample
//! of bodies is compared byte for byte with what was written.
//!
//! Reference figures from the same run sit next to the results: the durable
//! write rate of the data directory's filesystem (`dd ... bs=1M conv=fsync`)
//! and loopback TCP throughput (`iperf3`, when installed), with the target
//! ratios PUT 64 MiB / dd and GET 64 MiB / iperf3. Both run before the server
//! starts, so nothing competes with them.
//!
//! Output: a table on stdout and JSON in `--json-out` (default
//! `target/bench/latest.json`).
//!
//! Run from the repository root: `scripts/bench` (builds release, then runs
//! `target/release/coffer-bench "$@"`), e.g. `scripts/bench --secs 5
//! --phases 4k,list`. The machine has few cores and the client shares them
//! with the server, so keep other work off it while measuring.

mod client;
mod console;
mod gateways;
mod phases;
mod principal;
mod reference;
mod report;
mod server;

use anyhow::Context as _;
use clap::Parser;
use client::Endpoint;
use phases::{Op, Outcome, PhaseSpec, Pool, Stop};
use report::{Latency, PhaseResult, Report, Targets, MIB};
use server::{RssSampler, Server};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KIB: usize = 1024;
const ACCESS_KEY: &str = "benchaccesskey";
const SECRET_KEY: &str = "benchsecretkey0123456789abcdefghijklmnop";

#[derive(Parser, Debug, Clone, serde::Serialize)]
#[command(name = "coffer-bench", about = "End-to-end benchmark of the coffer server")]
struct Args {
    /// The coffer binary to start.
    #[arg(long, default_value = "target/release/coffer")]
    coffer_bin: PathBuf,
    /// Where the JSON report is written.
    #[arg(long, default_value = "target/bench/latest.json")]
    json_out: PathBuf,
    /// One more argument for `coffer server` (repeatable), e.g.
    /// `--server-arg=--meta --server-arg=postgres://user@host/db`. The
    /// server inherits the benchmark's environment (COFFER_* variables pass
    /// through), except the root key pair, which the benchmark sets.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// The metadata store of the gateways (`coffer server --meta`):
    /// `sqlite://PATH` or `postgres://…`. Default: SQLite in the data dir.
    /// On PostgreSQL the gateways get a master key file of the run.
    #[arg(long)]
    meta: Option<String>,
    /// The blob store (`coffer server --blobs`): `fs://DIR` or
    /// `rados://POOL?…`. Default: the data dir; with several gateways, a
    /// directory they share in the scratch dir.
    #[arg(long)]
    blobs: Option<String>,
    /// How many gateways to start on the same stores (more than one needs
    /// `--meta postgres://…`). The client's connections go to them in turn.
    #[arg(long, default_value_t = 1)]
    gateways: usize,
    /// Parent of the run's scratch directory (data dir, server log); the
    /// filesystem that is measured. Default: the system temp dir.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the scratch directory afterwards.
    #[arg(long)]
    keep_data: bool,
    /// Phases to run, comma-separated among 4k,1m,64m,list,console,rss
    /// (console walks the listing phase's bucket in the web console).
    #[arg(long, default_value = "4k,1m,64m,list,console,rss", value_delimiter = ',')]
    phases: Vec<String>,
    /// Duration of each 4 KiB and 1 MiB phase, seconds.
    #[arg(long, default_value_t = 15.0)]
    secs: f64,
    /// Concurrency of the 4 KiB phases.
    #[arg(long, default_value_t = 16)]
    small_concurrency: usize,
    /// Concurrency of the 1 MiB phases.
    #[arg(long, default_value_t = 8)]
    medium_concurrency: usize,
    /// Size of the large objects, MiB.
    #[arg(long, default_value_t = 64)]
    large_mib: usize,
    /// Number of large PUTs.
    #[arg(long, default_value_t = 16)]
    large_puts: u64,
    /// Number of large GETs (random among those written).
    #[arg(long, default_value_t = 32)]
    large_gets: u64,
    /// Concurrency of the large phases.
    #[arg(long, default_value_t = 2)]
    large_concurrency: usize,
    /// Enable versioning on the benchmark's buckets: every PUT then keeps
    /// the version it replaces (the versioned-bucket figures).
    #[arg(long)]
    versioned: bool,
    /// Send every request as a project's IAM user (full-access preset)
    /// instead of the operator, so the authorization path is measured.
    #[arg(long)]
    as_iam_user: bool,
    /// Keys written for the listing phase.
    #[arg(long, default_value_t = 10_000)]
    list_keys: u64,
    /// max-keys per ListObjectsV2 page.
    #[arg(long, default_value_t = 1000)]
    list_page: u32,
    /// Number of complete listings timed.
    #[arg(long, default_value_t = 20)]
    list_reps: u32,
    /// Rows per page of the console phase.
    #[arg(long, default_value_t = 100)]
    console_page: u32,
    /// Walks through every page in the console phase.
    #[arg(long, default_value_t = 2)]
    console_reps: u32,
    /// Concurrent PUTs of the memory phase (one round).
    #[arg(long, default_value_t = 64)]
    rss_puts: u64,
    /// Object size of the memory phase, MiB.
    #[arg(long, default_value_t = 64)]
    rss_mib: usize,
    /// Compare one GET body in this many with the written bytes.
    #[arg(long, default_value_t = 16)]
    verify_every: u64,
    /// Client runtime threads (the client shares the machine with the server).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Per-request timeout, seconds (a timeout counts as an error).
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// Size of the dd reference write, MiB.
    #[arg(long, default_value_t = 1024)]
    dd_mib: u64,
    /// Duration of the iperf3 reference, seconds.
    #[arg(long, default_value_t = 5)]
    iperf_secs: u64,
    /// Skip the dd and iperf3 reference figures.
    #[arg(long)]
    no_reference: bool,
    /// Region the server is started with and requests are signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let run_start = Instant::now();
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "?".into());
    for p in &args.phases {
        if !["4k", "1m", "64m", "list", "console", "rss"].contains(&p.as_str()) {
            anyhow::bail!("unknown phase {p:?} (expected 4k,1m,64m,list,console,rss)");
        }
        if p == "console" && !args.phases.iter().any(|q| q == "list") {
            anyhow::bail!("the console phase browses the listing phase's bucket: add list to --phases");
        }
    }

    let parent = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = parent.join(format!("coffer-bench-{}", std::process::id()));
    let data_dir = scratch.join("data");
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let _cleanup = Cleanup { dir: scratch.clone(), keep: args.keep_data };
    let log_path = scratch.join("server.log");

    let (dd, iperf3) = if args.no_reference {
        (None, None)
    } else {
        eprintln!("[ref] dd {} MiB with fsync into {} ...", args.dd_mib, data_dir.display());
        let dd = reference::dd(&data_dir, args.dd_mib);
        eprintln!("[ref]   {} MiB/s  {}", fmt_opt(dd.mib_per_s), dd.note);
        eprintln!("[ref] iperf3 loopback {} s ...", args.iperf_secs);
        let ip = reference::iperf3(args.iperf_secs);
        eprintln!("[ref]   {} MiB/s  {}", fmt_opt(ip.mib_per_s), ip.note);
        (Some(dd), Some(ip))
    };

    let stores = gateways::Stores { meta: args.meta.as_deref(), blobs: args.blobs.as_deref(), gateways: args.gateways };
    eprintln!("[srv] starting {} ({}) ...", args.coffer_bin.display(), stores.describe());
    let mut others = gateways::start(
        &args.coffer_bin,
        &stores,
        &scratch,
        &data_dir,
        &log_path,
        &args.region,
        ACCESS_KEY,
        SECRET_KEY,
        &args.server_args,
    )?;
    let mut server = others.remove(0);
    for s in std::iter::once(&server).chain(&others) {
        eprintln!("[srv] pid {} ready on {}", s.pid, s.addr);
    }
    let sampler = RssSampler::start(server.pid, Duration::from_millis(10));

    let (access_key, secret_key) = if args.as_iam_user {
        let k = principal::iam_user_key(&args.coffer_bin, server.addr, ACCESS_KEY, SECRET_KEY)?;
        eprintln!("[srv] requests go as IAM user bench/bench ({})", k.0);
        k
    } else {
        (ACCESS_KEY.into(), SECRET_KEY.into())
    };
    let gateway_addrs = std::iter::once(&server)
        .chain(&others)
        .map(|s| Ok((s.addr, http::HeaderValue::from_str(&s.addr.to_string())?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ep = Arc::new(Endpoint {
        gateways: gateway_addrs,
        next: Default::default(),
        access_key,
        secret_key,
        region: args.region.clone(),
        timeout: Duration::from_secs(args.timeout_secs),
    });
    let max_object = (args.large_mib.max(args.rss_mib) * MIB as usize).max(KIB * KIB);
    let pool = Arc::new(Pool::new(max_object));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()
        .context("starting the client runtime")?;
    let mut bench = Bench {
        args: &args,
        ep,
        pool,
        sampler: &sampler,
        server: &mut server,
        others: &mut others,
        clk: server::clk_tck(),
        results: Vec::new(),
    };
    let fatal = rt.block_on(bench.run_all()).err().map(|e| format!("{e:#}"));
    let results = std::mem::take(&mut bench.results);
    drop(bench);
    drop(rt);
    drop(sampler);
    let mut server_stop = server.stop(Duration::from_secs(30));
    for (i, s) in others.iter_mut().enumerate() {
        server_stop.push_str(&format!("; gateway {}: {}", i + 2, s.stop(Duration::from_secs(30))));
    }
    if fatal.is_some() {
        eprintln!("[srv] last lines of the server log:\n{}", server.log_tail(30));
    }

    let pct = |num: Option<f64>, den: Option<f64>| match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d * 100.0),
        _ => None,
    };
    let rate = |name: &str| results.iter().find(|p: &&PhaseResult| p.name == name && p.ops > 0).map(|p| p.mib_per_s);
    let large = format!("{}MiB", args.large_mib);
    let targets = Targets {
        put_large_pct_of_dd: pct(rate(&format!("put-{large}")), dd.as_ref().and_then(|d| d.mib_per_s)),
        get_large_pct_of_iperf3: pct(rate(&format!("get-{large}")), iperf3.as_ref().and_then(|d| d.mib_per_s)),
    };
    let report = Report {
        started_at,
        git_commit: git_commit(),
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
        coffer_bin: args.coffer_bin.display().to_string(),
        deployment: stores.describe(),
        data_dir: data_dir.display().to_string(),
        server_log: log_path.display().to_string(),
        server_log_filter: std::env::var("COFFER_LOG").unwrap_or_else(|_| "info (server default)".into()),
        server_stop,
        client_threads: args.client_threads,
        settings: serde_json::to_value(&args).unwrap_or_default(),
        dd,
        iperf3,
        phases: results,
        targets,
        fatal: fatal.clone(),
        total_s: run_start.elapsed().as_secs_f64(),
    };
    print!("{}", report::render(&report));
    if let Some(dir) = args.json_out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&args.json_out, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", args.json_out.display()))?;
    eprintln!("JSON report written to {}", args.json_out.display());
    if let Some(f) = fatal {
        anyhow::bail!("benchmark aborted: {f}");
    }
    Ok(())
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "n/a".into())
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--short", "HEAD"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut c = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty {
        c.push_str("-dirty");
    }
    Some(c)
}

/// Removes the scratch directory unless asked to keep it.
struct Cleanup {
    dir: PathBuf,
    keep: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("scratch directory kept: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

struct Bench<'a> {
    args: &'a Args,
    ep: Arc<Endpoint>,
    pool: Arc<Pool>,
    sampler: &'a RssSampler,
    server: &'a mut Server,
    /// The gateways after the first (`--gateways`).
    others: &'a mut Vec<Server>,
    clk: f64,
    results: Vec<PhaseResult>,
}

/// What a phase's closure measured, before resource figures are added.
struct Measured {
    ops: u64,
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
    latencies_us: Vec<u64>,
    verified: u64,
    pages_per_listing: Option<f64>,
}

impl From<&mut Outcome> for Measured {
    fn from(o: &mut Outcome) -> Measured {
        Measured {
            ops: o.latencies_us.len() as u64,
            bytes: o.bytes,
            errors: o.errors,
            first_error: o.first_error.clone(),
            latencies_us: std::mem::take(&mut o.latencies_us),
            verified: o.verified,
            pages_per_listing: None,
        }
    }
}

impl Bench<'_> {
    fn has(&self, phase: &str) -> bool {
        self.args.phases.iter().any(|p| p == phase)
    }

    async fn run_all(&mut self) -> anyhow::Result<()> {
        let a = self.args;
        phases::create_bucket(self.ep.clone(), "bench").await.map_err(|f| anyhow::anyhow!("create bucket: {f}"))?;
        if a.versioned {
            phases::enable_versioning(self.ep.clone(), "bench")
                .await
                .map_err(|f| anyhow::anyhow!("versioning: {f}"))?;
        }
        let secs = Stop::For(Duration::from_secs_f64(a.secs));
        if self.has("4k") {
            self.put_get("4KiB", "p4k", 4 * KIB, a.small_concurrency, secs, secs).await?;
        }
        if self.has("1m") {
            self.put_get("1MiB", "p1m", KIB * KIB, a.medium_concurrency, secs, secs).await?;
        }
        if self.has("64m") {
            let (put, get) = (Stop::Count(a.large_puts), Stop::Count(a.large_gets));
            let label = format!("{}MiB", a.large_mib);
            self.put_get(&label, "p64m", a.large_mib * KIB * KIB, a.large_concurrency, put, get).await?;
        }
        if self.has("list") {
            self.list().await?;
        }
        if self.has("console") {
            self.console().await?;
        }
        if self.has("rss") {
            let size = a.rss_mib * KIB * KIB;
            let name = format!("rss-{}x{}MiB", a.rss_puts, a.rss_mib);
            let desc = format!("one round of {} concurrent {} MiB PUTs; peak RSS is the figure", a.rss_puts, a.rss_mib);
            let spec = PhaseSpec {
                concurrency: a.rss_puts as usize,
                stop: Stop::Count(a.rss_puts),
                op: Op::Put { bucket: "bench".into(), prefix: "rss".into(), size },
                verify_every: a.verify_every,
            };
            let (ep, pool) = (self.ep.clone(), self.pool.clone());
            self.measure(&name, &desc, true, spec.concurrency, size, async move {
                (&mut phases::run(ep, pool, spec).await).into()
            })
            .await?;
        }
        Ok(())
    }

    /// A PUT phase, then a GET phase over the keys it wrote.
    #[allow(clippy::too_many_arguments)]
    async fn put_get(
        &mut self,
        label: &str,
        prefix: &str,
        size: usize,
        concurrency: usize,
        put_stop: Stop,
        get_stop: Stop,
    ) -> anyhow::Result<()> {
        let bucket = "bench".to_owned();
        let spec = PhaseSpec {
            concurrency,
            stop: put_stop,
            op: Op::Put { bucket: bucket.clone(), prefix: prefix.into(), size },
            verify_every: self.args.verify_every,
        };
        let (ep, pool) = (self.ep.clone(), self.pool.clone());
        let mut written = Vec::new();
        let w = &mut written;
        self.measure(
            &format!("put-{label}"),
            &format!("PUT {label} objects, {}", describe(put_stop)),
            true,
            concurrency,
            size,
            async move {
                let mut o = phases::run(ep, pool, spec).await;
                *w = std::mem::take(&mut o.written);
                (&mut o).into()
            },
        )
        .await?;
        if written.is_empty() {
            eprintln!("[run] nothing was written; skipping get-{label}");
            return Ok(());
        }
        let keys = written.len();
        let spec = PhaseSpec {
            concurrency,
            stop: get_stop,
            op: Op::Get { bucket, prefix: prefix.into(), size, keys: Arc::new(written) },
            verify_every: self.args.verify_every,
        };
        let (ep, pool) = (self.ep.clone(), self.pool.clone());
        let desc = format!("GET {label} objects (random among {keys} written), {}, streamed", describe(get_stop));
        self.measure(&format!("get-{label}"), &desc, true, concurrency, size, async move {
            (&mut phases::run(ep, pool, spec).await).into()
        })
        .await?;
        Ok(())
    }

    async fn console(&mut self) -> anyhow::Result<()> {
        let a = self.args;
        let (addr, reps, per) = (self.server.console, a.console_reps, a.console_page);
        let name = format!("console-pages-{}k", a.list_keys / 1000);
        let desc = format!(
            "{reps} walks through every page ({per} rows) of the {}-key folder in the web console's object browser, \
             following its Next links, one page at a time (ops = pages, latency per page, MiB/s = HTML)",
            a.list_keys
        );
        let expect = a.list_keys * reps as u64;
        self.measure(&name, &desc, true, 1, 0, async move {
            // The listing phase writes `k/{i:08}`: one folder.
            let mut w = console::walk(addr, ACCESS_KEY, SECRET_KEY, "bench-list", "k%2F", per, reps).await;
            if w.rows != expect && w.first_error.is_none() {
                w.errors += 1;
                w.first_error = Some(format!("the walks showed {} rows, expected {expect}", w.rows));
            }
            Measured {
                ops: w.pages,
                bytes: w.bytes,
                errors: w.errors,
                first_error: w.first_error,
                latencies_us: w.latencies_us,
                verified: 0,
                pages_per_listing: None,
            }
        })
        .await?;
        Ok(())
    }

    async fn list(&mut self) -> anyhow::Result<()> {
        let a = self.args;
        let bucket = "bench-list";
        phases::create_bucket(self.ep.clone(), bucket).await.map_err(|f| anyhow::anyhow!("create bucket: {f}"))?;
        if a.versioned {
            phases::enable_versioning(self.ep.clone(), bucket).await.map_err(|f| anyhow::anyhow!("versioning: {f}"))?;
        }
        let spec = PhaseSpec {
            concurrency: a.small_concurrency,
            stop: Stop::Count(a.list_keys),
            op: Op::Put { bucket: bucket.into(), prefix: "k".into(), size: 4 },
            verify_every: a.verify_every,
        };
        let (ep, pool) = (self.ep.clone(), self.pool.clone());
        let desc = format!("set-up of the listing: {} PUTs of 4 B (not part of the listing figures)", a.list_keys);
        let setup_errors = self
            .measure("list-setup-put", &desc, false, spec.concurrency, 4, async move {
                (&mut phases::run(ep, pool, spec).await).into()
            })
            .await?
            .errors;
        if setup_errors > 0 {
            eprintln!("[run] listing set-up had errors; listings will report a key-count mismatch");
        }
        let ep = self.ep.clone();
        let (page, reps, expect) = (a.list_page, a.list_reps, a.list_keys);
        let name = format!("list-{}k", a.list_keys / 1000);
        let desc = format!(
            "{reps} complete ListObjectsV2 listings of {expect} keys, max-keys {page}, one at a time (ops/s = listings/s, MiB/s = XML)"
        );
        self.measure(&name, &desc, true, 1, 0, async move {
            let mut o = phases::list_full(ep, bucket, page, reps, expect).await;
            let ops = o.latencies_us.len() as u64;
            let listings = (ops + o.errors).max(1);
            Measured {
                ops,
                bytes: o.bytes,
                errors: o.errors,
                first_error: o.first_error.take(),
                latencies_us: std::mem::take(&mut o.latencies_us),
                verified: 0,
                pages_per_listing: Some(o.pages as f64 / listings as f64),
            }
        })
        .await?;
        Ok(())
    }

    /// Runs one phase while watching the server's memory and CPU.
    async fn measure<F>(
        &mut self,
        name: &str,
        description: &str,
        timed: bool,
        concurrency: usize,
        object_bytes: usize,
        work: F,
    ) -> anyhow::Result<&PhaseResult>
    where
        F: Future<Output = Measured>,
    {
        eprintln!("[run] {name}: {description} ...");
        let pids: Vec<String> =
            std::iter::once(&*self.server).chain(self.others.iter()).map(|s| s.pid.to_string()).collect();
        let clk = self.clk;
        let srv_cpu = || pids.iter().map(|p| server::cpu_seconds(p, clk).unwrap_or(0.0)).sum::<f64>();
        let hwm_reset = self.sampler.reset();
        let srv0 = srv_cpu();
        let cli0 = server::cpu_seconds("self", self.clk).unwrap_or(0.0);
        let all0 = server::machine_busy_seconds(self.clk).unwrap_or(0.0);
        let t0 = Instant::now();
        let mut m = work.await;
        let elapsed = t0.elapsed().as_secs_f64();
        let srv1 = srv_cpu().max(srv0);
        let cli1 = server::cpu_seconds("self", self.clk).unwrap_or(cli0);
        let all1 = server::machine_busy_seconds(self.clk).unwrap_or(all0);
        let mem = self.sampler.peak(hwm_reset);
        let latency = Latency::from_micros(&mut m.latencies_us);
        let r = PhaseResult {
            name: name.into(),
            description: description.into(),
            timed,
            concurrency,
            object_bytes: object_bytes as u64,
            ops: m.ops,
            errors: m.errors,
            first_error: m.first_error,
            elapsed_s: elapsed,
            ops_per_s: m.ops as f64 / elapsed,
            mib_per_s: m.bytes as f64 / MIB / elapsed,
            latency,
            verified_bodies: m.verified,
            pages_per_listing: m.pages_per_listing,
            server_peak_rss_mib: mem.peak_kib() as f64 / 1024.0,
            server_sampled_rss_max_mib: mem.sampled_kib as f64 / 1024.0,
            server_vmhwm_mib: mem.hwm_kib as f64 / 1024.0,
            server_vmhwm_reset: mem.hwm_reset,
            server_cpu_pct: (srv1 - srv0) / elapsed * 100.0,
            client_cpu_pct: (cli1 - cli0) / elapsed * 100.0,
            other_cpu_pct: ((all1 - all0) - (srv1 - srv0) - (cli1 - cli0)).max(0.0) / elapsed * 100.0,
        };
        eprintln!(
            "[run]   {:.1} ops/s  {:.1} MiB/s  p50 {:.2} ms  p99 {:.2} ms  errors {}  peak RSS {:.0} MiB  ({:.1} s)",
            r.ops_per_s, r.mib_per_s, r.latency.p50_ms, r.latency.p99_ms, r.errors, r.server_peak_rss_mib, elapsed
        );
        if let Some(e) = &r.first_error {
            eprintln!("[run]   first error: {e}");
        }
        self.results.push(r);
        if let Some(status) = self.server.exited() {
            anyhow::bail!("the server exited during {name}: {status}");
        }
        for (i, s) in self.others.iter_mut().enumerate() {
            if let Some(status) = s.exited() {
                anyhow::bail!("gateway {} exited during {name}: {status}", i + 2);
            }
        }
        Ok(self.results.last().expect("just pushed"))
    }
}

fn describe(stop: Stop) -> String {
    match stop {
        Stop::For(d) => format!("{:.0} s", d.as_secs_f64()),
        Stop::Count(n) => format!("{n} requests"),
    }
}
