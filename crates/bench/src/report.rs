//! Figures: what one phase measured, the whole run's report, and their
//! rendering as a table (stdout) and as JSON.

use crate::reference::Reference;
use serde::Serialize;

pub const MIB: f64 = 1024.0 * 1024.0;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of microsecond samples.
    pub fn from_micros(samples: &mut [u64]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let rank = |p: f64| {
            let idx = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[idx] as f64 / 1000.0
        };
        let mean = samples.iter().sum::<u64>() as f64 / samples.len() as f64 / 1000.0;
        Latency { p50_ms: rank(0.50), p99_ms: rank(0.99), max_ms: rank(1.0), mean_ms: mean }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseResult {
    /// Short name, e.g. `put-64MiB`.
    pub name: String,
    pub description: String,
    /// False for set-up work whose figures are informative only.
    pub timed: bool,
    pub concurrency: usize,
    /// Size of each object (0 for listings).
    pub object_bytes: u64,
    /// Successful operations (for the listing: complete listings).
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed_s: f64,
    pub ops_per_s: f64,
    /// Payload MiB per second (object bytes; for the listing, XML bytes).
    pub mib_per_s: f64,
    pub latency: Latency,
    /// GET bodies compared byte for byte with what was written.
    pub verified_bodies: u64,
    /// Pages per complete listing (listing phase only).
    pub pages_per_listing: Option<f64>,
    /// Server peak RSS during the phase, MiB (VmHWM reset at phase start when possible, else sampled VmRSS).
    pub server_peak_rss_mib: f64,
    /// Largest VmRSS seen by the sampler during the phase, MiB.
    pub server_sampled_rss_max_mib: f64,
    /// VmHWM at the end of the phase, MiB.
    pub server_vmhwm_mib: f64,
    /// Whether VmHWM was reset at the start of the phase.
    pub server_vmhwm_reset: bool,
    /// Server CPU time over the phase's wall time, % of one core.
    pub server_cpu_pct: f64,
    /// Benchmark client CPU time over the phase's wall time, % of one core.
    pub client_cpu_pct: f64,
    /// CPU busy time of everything else on the machine (other processes, kernel
    /// threads such as writeback) over the phase's wall time, % of one core.
    /// High values mean the figures were disturbed.
    pub other_cpu_pct: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Targets {
    /// PUT 64 MiB MiB/s as % of the dd rate.
    pub put_large_pct_of_dd: Option<f64>,
    /// GET 64 MiB MiB/s as % of the iperf3 loopback rate.
    pub get_large_pct_of_iperf3: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub started_at: String,
    pub git_commit: Option<String>,
    pub cpus: usize,
    pub kernel: Option<String>,
    pub coffer_bin: String,
    /// The gateways and their stores, e.g. `3 gateways, postgres metadata, fs blobs`.
    pub deployment: String,
    pub data_dir: String,
    pub server_log: String,
    pub server_log_filter: String,
    pub server_stop: String,
    pub client_threads: usize,
    pub settings: serde_json::Value,
    pub dd: Option<Reference>,
    pub iperf3: Option<Reference>,
    pub phases: Vec<PhaseResult>,
    pub targets: Targets,
    pub fatal: Option<String>,
    pub total_s: f64,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) => format!("{v:.digits$}"),
        None => "n/a".into(),
    }
}

/// The human-readable report.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let mut line = |t: String| {
        s.push_str(&t);
        s.push('\n');
    };
    line(format!(
        "Coffer benchmark  {}  commit {}  {} CPUs  kernel {}",
        r.started_at,
        r.git_commit.as_deref().unwrap_or("?"),
        r.cpus,
        r.kernel.as_deref().unwrap_or("?")
    ));
    line(format!("server: {}  data dir {}  log filter {}", r.coffer_bin, r.data_dir, r.server_log_filter));
    line(format!("deployment: {} (srv CPU sums every gateway; peak RSS is the first gateway's)", r.deployment));
    line(String::new());
    line(format!(
        "{:<18} {:>4} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>5} {:>9} {:>7} {:>7} {:>7}",
        "phase",
        "conc",
        "ops",
        "ops/s",
        "MiB/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "err",
        "peak RSS",
        "srv CPU",
        "cli CPU",
        "oth CPU"
    ));
    line("-".repeat(121));
    for p in &r.phases {
        let name = if p.timed { p.name.clone() } else { format!("({})", p.name) };
        line(format!(
            "{:<18} {:>4} {:>7} {:>9.1} {:>8.1} {:>8.2} {:>8.2} {:>8.2} {:>5} {:>5.0} MiB {:>6.0}% {:>6.0}% {:>6.0}%",
            name,
            p.concurrency,
            p.ops,
            p.ops_per_s,
            p.mib_per_s,
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.latency.max_ms,
            p.errors,
            p.server_peak_rss_mib,
            p.server_cpu_pct,
            p.client_cpu_pct,
            p.other_cpu_pct
        ));
    }
    line(
        "CPU columns: % of one core over the phase (srv = coffer server, cli = this client, oth = everything else)."
            .into(),
    );
    line(String::new());
    for p in &r.phases {
        let mut notes = vec![p.description.clone()];
        if p.verified_bodies > 0 {
            notes.push(format!("{} bodies verified", p.verified_bodies));
        }
        if let Some(pages) = p.pages_per_listing {
            notes.push(format!("{pages:.0} pages per listing, latency is per whole listing"));
        }
        line(format!("  {:<16} {}", p.name, notes.join("; ")));
        if let Some(e) = &p.first_error {
            line(format!("  {:<16} FIRST ERROR: {}", "", e));
        }
    }
    line(String::new());
    line("reference figures (same machine, same run):".into());
    match &r.dd {
        Some(d) => line(format!("  disk  {:>9} MiB/s  {}  [{}]", opt(d.mib_per_s, 1), d.what, d.note)),
        None => line("  disk  skipped".into()),
    }
    match &r.iperf3 {
        Some(d) => line(format!("  net   {:>9} MiB/s  {}  [{}]", opt(d.mib_per_s, 1), d.what, d.note)),
        None => line("  net   skipped".into()),
    }
    line("targets:".into());
    let pct = |v: Option<f64>| v.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "n/a".into());
    line(format!("  PUT 64 MiB MiB/s as % of dd:     {}", pct(r.targets.put_large_pct_of_dd)));
    line(format!("  GET 64 MiB MiB/s as % of iperf3: {}", pct(r.targets.get_large_pct_of_iperf3)));
    if let Some(f) = &r.fatal {
        line(String::new());
        line(format!("FATAL: {f}"));
    }
    line(String::new());
    line(format!("server shutdown: {}", r.server_stop));
    line(format!("total run time {:.1} s", r.total_s));
    s
}
