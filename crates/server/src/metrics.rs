//! Prometheus metrics (`--metrics-listen`): what the S3 endpoint answered
//! (by operation and status class, latency, bytes, requests in flight,
//! errors by code, authentication failures by reason, quota refusals), the
//! listeners' open connections, the stores' call latencies and errors, the
//! background jobs' work, console sign-ins, and the build.
//!
//! Labels are bounded: S3 operations and error codes are fixed sets, store
//! operations are method names; no bucket or key is ever a label. Projects
//! become a label only with `--metrics-project-labels`, on one family.
//! Everything counts this process alone: Prometheus sums the gateways.

use crate::instrumented::StoreObserver;
use coffer_s3_api::{RequestObserver, RequestRecord};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpStatus {
    operation: &'static str,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Op {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Code {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreOp {
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreError {
    op: &'static str,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Listener {
    listener: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectOp {
    project: String,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Build {
    version: &'static str,
    commit: &'static str,
}

/// S3 error codes that mean the request's credentials did not hold.
const AUTHENTICATION_CODES: [&str; 9] = [
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "RequestTimeTooSkewed",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "ExpiredToken",
    "InvalidToken",
    "MissingSecurityHeader",
    "AccessDenied",
];

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~65 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

fn store_histogram() -> Histogram {
    // 50 µs to ~13 s.
    Histogram::new(exponential_buckets(0.00005, 2.0, 18))
}

/// Every metric of this process, and its registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<OpStatus, Counter>,
    duration: Family<Op, Histogram, fn() -> Histogram>,
    bytes_in: Counter,
    bytes_out: Counter,
    in_flight: Gauge,
    errors: Family<Code, Counter>,
    auth_failures: Family<Reason, Counter>,
    quota_refusals: Counter,
    project_requests: Option<Family<ProjectOp, Counter>>,
    connections: Family<Listener, Gauge>,
    meta_duration: Family<StoreOp, Histogram, fn() -> Histogram>,
    meta_errors: Family<StoreError, Counter>,
    blob_duration: Family<StoreOp, Histogram, fn() -> Histogram>,
    blob_errors: Family<StoreError, Counter>,
    meta_commits: Counter<u64, AtomicU64>,
    meta_committed_writes: Counter<u64, AtomicU64>,
    gc_backlog: Gauge,
    garbage_collected: Counter<u64, AtomicU64>,
    orphans_reclaimed: Counter<u64, AtomicU64>,
    corrupt_reads: Counter<u64, AtomicU64>,
    scrub_passes: Counter<u64, AtomicU64>,
    scrub_blobs: Counter<u64, AtomicU64>,
    scrub_bytes: Counter<u64, AtomicU64>,
    scrub_corrupt: Counter<u64, AtomicU64>,
    scrub_missing: Counter<u64, AtomicU64>,
    sign_ins: Family<Outcome, Counter>,
    audit_written: Counter<u64, AtomicU64>,
    audit_dropped: Counter<u64, AtomicU64>,
    audit_write_errors: Counter<u64, AtomicU64>,
}

impl Metrics {
    /// The metrics, registered; `project_labels` adds the per-project request family.
    pub fn new(project_labels: bool) -> Arc<Self> {
        let mut r = Registry::with_prefix("coffer");
        let m = Metrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            in_flight: Gauge::default(),
            errors: Family::default(),
            auth_failures: Family::default(),
            quota_refusals: Counter::default(),
            project_requests: project_labels.then(Family::default),
            connections: Family::default(),
            meta_duration: Family::new_with_constructor(store_histogram),
            meta_errors: Family::default(),
            blob_duration: Family::new_with_constructor(store_histogram),
            blob_errors: Family::default(),
            meta_commits: Counter::default(),
            meta_committed_writes: Counter::default(),
            gc_backlog: Gauge::default(),
            garbage_collected: Counter::default(),
            orphans_reclaimed: Counter::default(),
            corrupt_reads: Counter::default(),
            scrub_passes: Counter::default(),
            scrub_blobs: Counter::default(),
            scrub_bytes: Counter::default(),
            scrub_corrupt: Counter::default(),
            scrub_missing: Counter::default(),
            sign_ins: Family::default(),
            audit_written: Counter::default(),
            audit_dropped: Counter::default(),
            audit_write_errors: Counter::default(),
            registry: Registry::default(),
        };
        r.register("s3_requests", "S3 requests answered, by operation and status class", m.requests.clone());
        r.register(
            "s3_request_duration_seconds",
            "S3 request latency, arrival to the end of the answer",
            m.duration.clone(),
        );
        r.register("s3_received_bytes", "S3 request body bytes received", m.bytes_in.clone());
        r.register("s3_sent_bytes", "S3 response body bytes sent", m.bytes_out.clone());
        r.register("s3_requests_in_flight", "S3 requests being answered", m.in_flight.clone());
        r.register("s3_errors", "S3 requests answered with an error, by S3 error code", m.errors.clone());
        r.register(
            "s3_auth_failures",
            "S3 requests refused for their credentials or permissions, by reason (the error code)",
            m.auth_failures.clone(),
        );
        r.register("quota_refusals", "Writes refused by a storage quota", m.quota_refusals.clone());
        if let Some(f) = &m.project_requests {
            r.register("s3_project_requests", "S3 requests by the addressed bucket's project", f.clone());
        }
        r.register("connections_open", "Open client connections, by listener", m.connections.clone());
        r.register("meta_call_duration_seconds", "Metadata-store call latency, by operation", m.meta_duration.clone());
        r.register(
            "meta_call_errors",
            "Metadata-store calls that failed, by operation and kind",
            m.meta_errors.clone(),
        );
        r.register("blob_call_duration_seconds", "Blob-store call latency, by operation", m.blob_duration.clone());
        r.register("blob_call_errors", "Blob-store calls that failed, by operation and kind", m.blob_errors.clone());
        r.register(
            "meta_commits",
            "Metadata write transactions committed by SQLite's group commit (writes / commits = batch size)",
            m.meta_commits.clone(),
        );
        r.register(
            "meta_committed_writes",
            "Metadata writes committed in SQLite's group commits",
            m.meta_committed_writes.clone(),
        );
        r.register("gc_queue_blobs", "Blobs queued for collection (counted up to 10,000)", m.gc_backlog.clone());
        r.register("garbage_collected_blobs", "Blobs deleted by the garbage collector", m.garbage_collected.clone());
        r.register(
            "orphans_reclaimed_blobs",
            "Unreferenced blobs deleted by the orphan sweep",
            m.orphans_reclaimed.clone(),
        );
        r.register(
            "corrupt_reads",
            "Reads refused because a blob did not match its checksum (bitrot)",
            m.corrupt_reads.clone(),
        );
        r.register("scrub_passes", "Scrub passes this process brought to the last blob", m.scrub_passes.clone());
        r.register("scrub_blobs", "Blobs read and checked by the scrubber", m.scrub_blobs.clone());
        r.register("scrub_bytes", "Bytes read by the scrubber", m.scrub_bytes.clone());
        r.register("scrub_corrupt_blobs", "Blobs the scrubber found corrupt", m.scrub_corrupt.clone());
        r.register("scrub_missing_blobs", "Blobs the scrubber found missing", m.scrub_missing.clone());
        r.register("console_sign_ins", "Console sign-ins, by outcome", m.sign_ins.clone());
        r.register("audit_lines", "Audit-log lines written", m.audit_written.clone());
        r.register(
            "audit_dropped_lines",
            "Audit-log lines dropped: the writer's queue was full",
            m.audit_dropped.clone(),
        );
        r.register("audit_write_errors", "Audit-log lines lost to failed writes", m.audit_write_errors.clone());
        let build: Family<Build, Gauge> = Family::default();
        build.get_or_create(&Build { version: env!("CARGO_PKG_VERSION"), commit: crate::GIT_COMMIT }).set(1);
        r.register("build_info", "The running build", build);
        let mut m = m;
        m.registry = r;
        Arc::new(m)
    }

    /// The metrics in the text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// The open-connections gauge of `listener` (`s3`, `s3-plain`, `console`).
    pub fn connections(&self, listener: &'static str) -> Gauge {
        self.connections.get_or_create(&Listener { listener }).clone()
    }

    /// A console sign-in's outcome.
    pub fn sign_in(&self, outcome: &'static str) {
        self.sign_ins.get_or_create(&Outcome { outcome }).inc();
    }

    /// Brings the counters kept elsewhere (the engine's, SQLite's writer)
    /// and the garbage backlog up to date.
    pub fn refresh(
        &self,
        engine: &coffer_engine::EngineStats,
        writes: Option<(u64, u64)>,
        backlog: Option<usize>,
        audit: Option<&crate::audit::AuditStats>,
    ) {
        let catch_up = |c: &Counter<u64, AtomicU64>, now: u64| {
            let seen = c.get();
            if now > seen {
                c.inc_by(now - seen);
            }
        };
        catch_up(&self.garbage_collected, engine.garbage_collected.load(Ordering::Relaxed));
        catch_up(&self.orphans_reclaimed, engine.orphans_reclaimed.load(Ordering::Relaxed));
        catch_up(&self.corrupt_reads, engine.corrupt_reads.load(Ordering::Relaxed));
        let s = &engine.scrub;
        catch_up(&self.scrub_passes, s.passes.load(Ordering::Relaxed));
        catch_up(&self.scrub_blobs, s.blobs.load(Ordering::Relaxed));
        catch_up(&self.scrub_bytes, s.bytes.load(Ordering::Relaxed));
        catch_up(&self.scrub_corrupt, s.corrupt.load(Ordering::Relaxed));
        catch_up(&self.scrub_missing, s.missing.load(Ordering::Relaxed));
        if let Some((jobs, commits)) = writes {
            catch_up(&self.meta_committed_writes, jobs);
            catch_up(&self.meta_commits, commits);
        }
        if let Some(n) = backlog {
            self.gc_backlog.set(n as i64);
        }
        if let Some(a) = audit {
            catch_up(&self.audit_written, a.written.load(Ordering::Relaxed));
            catch_up(&self.audit_dropped, a.dropped.load(Ordering::Relaxed));
            catch_up(&self.audit_write_errors, a.write_errors.load(Ordering::Relaxed));
        }
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

impl RequestObserver for Metrics {
    fn started(&self) {
        self.in_flight.inc();
    }

    fn finished(&self, r: &RequestRecord) {
        self.in_flight.dec();
        let operation = r.operation;
        self.requests.get_or_create(&OpStatus { operation, status_class: status_class(r.status) }).inc();
        self.duration.get_or_create(&Op { operation }).observe(r.duration.as_secs_f64());
        self.bytes_in.inc_by(r.bytes_in);
        self.bytes_out.inc_by(r.bytes_out);
        if let Some(code) = r.error_code {
            self.errors.get_or_create(&Code { code }).inc();
            if let Some(reason) = AUTHENTICATION_CODES.iter().find(|c| **c == code) {
                self.auth_failures.get_or_create(&Reason { reason }).inc();
            }
            if code == "QuotaExceeded" {
                self.quota_refusals.inc();
            }
        }
        if let (Some(f), Some(project)) = (&self.project_requests, &r.bucket_project) {
            f.get_or_create(&ProjectOp { project: project.clone(), operation }).inc();
        }
    }
}

impl StoreObserver for Metrics {
    fn meta_call(&self, op: &'static str, secs: f64, error: Option<&'static str>) {
        self.meta_duration.get_or_create(&StoreOp { op }).observe(secs);
        if let Some(kind) = error {
            self.meta_errors.get_or_create(&StoreError { op, kind }).inc();
        }
    }

    fn blob_call(&self, op: &'static str, secs: f64, error: Option<&'static str>) {
        self.blob_duration.get_or_create(&StoreOp { op }).observe(secs);
        if let Some(kind) = error {
            self.blob_errors.get_or_create(&StoreError { op, kind }).inc();
        }
    }
}

/// Keeps the gauges and counters read from elsewhere fresh: every 10 s,
/// and the garbage backlog (a bounded read of the shared queue, made by every
/// gateway) every minute.
pub(crate) async fn refresh_loop(
    metrics: Arc<Metrics>,
    engine: coffer_engine::Engine,
    meta: Arc<dyn coffer_meta::Store>,
    writes: Option<Arc<dyn Fn() -> (u64, u64) + Send + Sync>>,
    audit: Option<Arc<crate::audit::AuditStats>>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    for round in 0u64.. {
        tick.tick().await;
        // Queued blobs, whatever their age, counted up to a bound.
        let backlog = match round % 6 {
            0 => meta.gc_pending(i64::MAX, 10_000).await.ok().map(|v| v.len()),
            _ => None,
        };
        metrics.refresh(engine.stats(), writes.as_ref().map(|w| w()), backlog, audit.as_deref());
    }
}
