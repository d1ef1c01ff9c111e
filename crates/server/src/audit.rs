//! The audit log (`--audit-log PATH`, `-` for stdout): one JSON line per
//! request that may change something (every request with `--audit-all`), on
//! the S3 endpoint, the admin and IAM APIs and the console: when, which
//! request, who (project, user, access key id, source address, user agent),
//! what (operation, bucket, key, version, or the API path), and how it ended
//! (status, error code, bytes, duration). Never a secret, a password or a
//! form's values.
//!
//! Requests never wait for it: lines go through a bounded queue to a writer
//! thread; a full queue drops the line and a failed write loses it, and both
//! are counted (`coffer_audit_dropped_lines_total`,
//! `coffer_audit_write_errors_total`). SIGHUP makes the writer reopen the
//! file (for logrotate's rename-then-signal).

use coffer_admin::{ControlObserver, ControlRecord};
use coffer_console::ConsoleAction;
use coffer_s3_api::{RequestObserver, RequestRecord};
use serde::Serialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::SystemTime;

/// Lines waiting for the writer at most (beyond: dropped and counted).
const QUEUE: usize = 65_536;
/// How long the writer lets lines gather after writing a batch.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);

/// What the audit log has done, for metrics.
#[derive(Debug, Default)]
pub struct AuditStats {
    pub written: AtomicU64,
    pub dropped: AtomicU64,
    pub write_errors: AtomicU64,
}

/// The audit log's sending side.
pub struct AuditLog {
    tx: SyncSender<Msg>,
    all: bool,
    reopen: Arc<AtomicBool>,
    stats: Arc<AuditStats>,
}

/// What the writer thread receives.
enum Msg {
    Line(String),
    /// Write out everything queued before, then answer.
    Flush(std::sync::mpsc::Sender<()>),
}

/// One line.
#[derive(Serialize, Default)]
struct Line<'a> {
    time: String,
    api: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    operation: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_out: Option<u64>,
    duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
}

fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl AuditLog {
    /// Starts the writer thread on `path` (`-`: stdout); `all`: every request, not only changes.
    pub fn open(path: &Path, all: bool) -> anyhow::Result<Arc<Self>> {
        let sink = Sink::open(path)?;
        let (tx, rx) = sync_channel(QUEUE);
        let reopen = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(AuditStats::default());
        let (r, s) = (reopen.clone(), stats.clone());
        std::thread::Builder::new().name("coffer-audit".into()).spawn(move || write_loop(sink, rx, &r, &s))?;
        Ok(Arc::new(AuditLog { tx, all, reopen, stats }))
    }

    /// Reopens the file before the next line (SIGHUP, after logrotate renamed it).
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::Release);
    }

    pub fn stats(&self) -> Arc<AuditStats> {
        self.stats.clone()
    }

    /// Waits (at most `within`) until every line queued so far is written:
    /// at shutdown, so the last requests' lines are not lost with the process.
    pub fn flush(&self, within: std::time::Duration) -> bool {
        let (ack, done) = std::sync::mpsc::channel();
        let deadline = std::time::Instant::now() + within;
        let mut msg = Msg::Flush(ack);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if std::time::Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(_) => return false,
            }
        }
        done.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())).is_ok()
    }

    fn send(&self, line: &Line<'_>) {
        let Ok(mut text) = serde_json::to_string(line) else { return };
        text.push('\n');
        match self.tx.try_send(Msg::Line(text)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl RequestObserver for AuditLog {
    fn started(&self) {}

    fn finished(&self, r: &RequestRecord) {
        if !(r.changes || self.all) {
            return;
        }
        self.send(&Line {
            time: rfc3339(r.time),
            api: "s3",
            request_id: Some(&r.request_id),
            operation: r.operation,
            project: r.project.as_deref(),
            user: r.user.as_deref(),
            access_key: r.access_key.as_deref(),
            source_ip: r.source_ip.map(|ip| ip.to_string()),
            bucket: r.bucket.as_deref(),
            key: r.key.as_deref(),
            version_id: r.version_id.as_deref(),
            status: r.status,
            error_code: r.error_code,
            bytes_in: Some(r.bytes_in),
            bytes_out: Some(r.bytes_out),
            duration_ms: millis(r.duration),
            user_agent: r.user_agent.as_deref(),
            ..Default::default()
        });
    }
}

impl ControlObserver for AuditLog {
    fn finished(&self, r: &ControlRecord) {
        let changes = r.api == "iam" || !matches!(r.method.as_str(), "GET" | "HEAD");
        if !(changes || self.all) {
            return;
        }
        let operation = format!("{} {}", r.method, r.path);
        self.send(&Line {
            time: rfc3339(SystemTime::now() - r.duration),
            api: r.api,
            request_id: Some(&r.request_id),
            operation: r.action.as_deref().unwrap_or(&operation),
            access_key: r.access_key.as_deref(),
            source_ip: r.source_ip.map(|ip| ip.to_string()),
            path: Some(&r.path),
            status: r.status,
            duration_ms: millis(r.duration),
            user_agent: r.user_agent.as_deref(),
            ..Default::default()
        });
    }
}

impl AuditLog {
    /// A console request that may change something (see `coffer_console::ConsoleAction`).
    pub fn console(&self, a: &ConsoleAction) {
        let operation = format!("{} {}", a.method, a.path);
        self.send(&Line {
            time: rfc3339(SystemTime::now() - a.duration),
            api: "console",
            operation: &operation,
            principal: a.who.as_deref(),
            source_ip: a.peer.map(|p| p.ip().to_canonical().to_string()),
            path: Some(&a.path),
            status: a.status,
            duration_ms: millis(a.duration),
            user_agent: a.user_agent.as_deref(),
            ..Default::default()
        });
    }
}

/// Where lines go.
enum Sink {
    Stdout,
    File { path: PathBuf, file: std::io::BufWriter<std::fs::File> },
}

impl Sink {
    fn open(path: &Path) -> std::io::Result<Sink> {
        if path == Path::new("-") {
            return Ok(Sink::Stdout);
        }
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        Ok(Sink::File { path: path.to_owned(), file: std::io::BufWriter::with_capacity(256 << 10, file) })
    }

    fn write(&mut self, line: &str) -> std::io::Result<()> {
        match self {
            Sink::Stdout => std::io::stdout().lock().write_all(line.as_bytes()),
            Sink::File { file, .. } => file.write_all(line.as_bytes()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout => std::io::stdout().lock().flush(),
            Sink::File { file, .. } => file.flush(),
        }
    }

    /// The same path opened again (a new file after a rename).
    fn reopened(&mut self) -> std::io::Result<()> {
        let _ = self.flush();
        if let Sink::File { path, .. } = self {
            let path = path.clone();
            *self = Sink::open(&path)?;
        }
        Ok(())
    }
}

fn write_loop(mut sink: Sink, rx: Receiver<Msg>, reopen: &AtomicBool, stats: &AuditStats) {
    let mut broken = false;
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        let first = match first {
            Msg::Line(l) => l,
            Msg::Flush(ack) => {
                let _ = sink.flush();
                let _ = ack.send(());
                continue;
            }
        };
        if reopen.swap(false, Ordering::AcqRel) || broken {
            match sink.reopened() {
                Ok(()) => broken = false,
                Err(e) => tracing::warn!(error = %e, "reopening the audit log failed"),
            }
        }
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            match more {
                Msg::Line(l) => batch.push(l),
                // Answered once the lines before it are written.
                Msg::Flush(ack) => {
                    acks.push(ack);
                    break;
                }
            }
            if batch.len() >= 1024 {
                break;
            }
        }
        let mut failed = 0;
        for line in &batch {
            if sink.write(line).is_err() {
                failed += 1;
            }
        }
        if sink.flush().is_err() {
            failed = batch.len();
        }
        if failed > 0 {
            broken = true;
            stats.write_errors.fetch_add(failed as u64, Ordering::Relaxed);
        }
        stats.written.fetch_add((batch.len() - failed) as u64, Ordering::Relaxed);
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
        // Let lines gather instead of being woken for each: at 20,000
        // requests a second, a wake-up per line cost a tenth of a 2-core
        // machine's PUT throughput. A line waits at most this long more.
        if batch.len() < 1024 {
            std::thread::sleep(GATHER);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(op: &'static str, changes: bool) -> RequestRecord {
        RequestRecord {
            request_id: "R1".into(),
            time: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
            operation: op,
            changes,
            status: 200,
            error_code: None,
            project: Some("acme".into()),
            user: Some("bob".into()),
            access_key: Some("AKID".into()),
            authorized: true,
            source_ip: Some("10.0.0.1".parse().unwrap()),
            bucket: Some("b".into()),
            bucket_project: Some("acme".into()),
            key: Some("k\"q".into()),
            version_id: None,
            bytes_in: 5,
            bytes_out: 0,
            duration: std::time::Duration::from_micros(1500),
            user_agent: Some("test".into()),
        }
    }

    fn wait_for(path: &Path, lines: usize) -> Vec<serde_json::Value> {
        for _ in 0..200 {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.lines().count() >= lines {
                return text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{} lines did not arrive", lines);
    }

    #[test]
    fn changes_are_logged_as_json_and_reopened_after_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path, false).unwrap();
        RequestObserver::finished(&*log, &record("GetObject", false));
        RequestObserver::finished(&*log, &record("PutObject", true));
        let got = wait_for(&path, 1);
        assert_eq!(got.len(), 1, "reads are not logged without --audit-all");
        let l = &got[0];
        assert_eq!(l["operation"], "PutObject");
        assert_eq!(
            (l["project"].as_str(), l["user"].as_str(), l["access_key"].as_str()),
            (Some("acme"), Some("bob"), Some("AKID"))
        );
        assert_eq!(
            (l["key"].as_str(), l["status"].as_u64(), l["duration_ms"].as_f64()),
            (Some("k\"q"), Some(200), Some(1.5))
        );
        assert_eq!(l["time"], "2027-01-15T08:00:00Z");
        assert_eq!(
            std::fs::metadata(&path)
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
                .unwrap(),
            0o600
        );
        // logrotate: rename, then SIGHUP.
        std::fs::rename(&path, dir.path().join("audit.log.1")).unwrap();
        log.reopen();
        RequestObserver::finished(&*log, &record("DeleteObject", true));
        let got = wait_for(&path, 1);
        assert_eq!(got[0]["operation"], "DeleteObject");
        assert!(log.flush(std::time::Duration::from_secs(5)));
        assert_eq!(log.stats().written.load(Ordering::Relaxed), 2);
        assert_eq!(log.stats().dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn everything_with_audit_all_and_control_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path, true).unwrap();
        RequestObserver::finished(&*log, &record("GetObject", false));
        let c = ControlRecord {
            request_id: "C1".into(),
            api: "iam",
            action: Some("CreateAccessKey".into()),
            method: "POST".into(),
            path: "/".into(),
            status: 200,
            access_key: Some("AKROOT".into()),
            source_ip: None,
            user_agent: None,
            duration: std::time::Duration::from_millis(3),
        };
        ControlObserver::finished(&*log, &c);
        let got = wait_for(&path, 2);
        assert_eq!(got[0]["operation"], "GetObject");
        assert_eq!((got[1]["api"].as_str(), got[1]["operation"].as_str()), (Some("iam"), Some("CreateAccessKey")));
    }
}
