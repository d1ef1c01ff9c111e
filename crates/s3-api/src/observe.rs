//! What the endpoint tells an observer about each request it answered: the
//! server turns it into Prometheus metrics and audit-log lines. A request is
//! reported once, when its response body is dropped (finished, failed or
//! abandoned), with the bytes the body actually yielded; health probes are
//! not reported. Without an observer nothing is built.

use crate::context::Ctx;
use crate::respond::ResBody;
use coffer_iam::Principal;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// One answered S3 request.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub request_id: String,
    /// When the request arrived.
    pub time: SystemTime,
    /// The S3 operation as AWS names it (`PutObject`), `Unknown` when the
    /// request was not routed (malformed), `CorsPreflight` for OPTIONS.
    pub operation: &'static str,
    /// The request may change something (any method but GET, HEAD, OPTIONS).
    pub changes: bool,
    pub status: u16,
    /// The S3 error code of a failed request.
    pub error_code: Option<&'static str>,
    /// Who made it: the principal's project, user and access key (never a secret).
    pub project: Option<String>,
    pub user: Option<String>,
    pub access_key: Option<String>,
    /// Whether authentication and authorization passed.
    pub authorized: bool,
    pub source_ip: Option<std::net::IpAddr>,
    pub bucket: Option<String>,
    /// The project owning the addressed bucket, once authorization looked it up.
    pub bucket_project: Option<String>,
    pub key: Option<String>,
    pub version_id: Option<String>,
    /// Body bytes received, and response body bytes sent.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// From arrival to the end (or drop) of the response body.
    pub duration: Duration,
    pub user_agent: Option<String>,
}

/// Receives the endpoint's requests.
pub trait RequestObserver: Send + Sync + 'static {
    /// A request arrived (health probes excepted); `finished` follows once.
    fn started(&self);
    /// A request's answer is done with.
    fn finished(&self, record: &RequestRecord);
}

/// The record of `ctx`'s request, arrived at `started` and answered with
/// `status` (`bytes_out` and `duration` are filled in when the body ends).
pub(crate) fn record(ctx: &Ctx, started: Instant, status: u16, error_code: Option<&'static str>) -> RequestRecord {
    let user = match &ctx.principal {
        Principal::User(u) => Some(u.user.clone()),
        Principal::Operator { .. } => Some("operator".to_owned()),
        Principal::Anonymous => None,
    };
    let changes = !matches!(ctx.method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS);
    RequestRecord {
        request_id: ctx.id.clone(),
        time: SystemTime::now() - started.elapsed(),
        operation: ctx.op.map_or("Unknown", |op| op.name()),
        changes,
        status,
        error_code,
        project: ctx.principal.project().map(str::to_owned),
        user,
        access_key: ctx.principal.access_key().filter(|a| !a.is_empty()).map(str::to_owned),
        authorized: ctx.authorized,
        source_ip: ctx.peer.map(|p| p.ip().to_canonical()),
        bucket: ctx.bucket.clone(),
        bucket_project: ctx.bucket_info.as_ref().map(|b| b.project.clone()),
        key: ctx.key.clone(),
        version_id: ctx.query.get("versionId").map(str::to_owned),
        bytes_in: ctx.body_bytes.load(std::sync::atomic::Ordering::Relaxed),
        bytes_out: 0,
        duration: started.elapsed(),
        user_agent: ctx.header("user-agent").map(str::to_owned),
    }
}

/// `body`, reported to `observer` with `record` once dropped.
pub(crate) fn wrap(
    body: ResBody,
    mut record: RequestRecord,
    started: Instant,
    observer: Arc<dyn RequestObserver>,
) -> ResBody {
    crate::metered_body::counted(body, move |sent| {
        record.bytes_out = sent;
        record.duration = started.elapsed();
        observer.finished(&record);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Seen(Mutex<Vec<(u16, Option<&'static str>, String)>>);

    impl RequestObserver for Seen {
        fn started(&self) {}
        fn finished(&self, r: &RequestRecord) {
            self.0.lock().unwrap().push((r.status, r.error_code, r.request_id.clone()));
        }
    }

    #[test]
    fn a_request_dropped_unanswered_is_reported_once() {
        let seen = Arc::new(Seen::default());
        let (parts, ()) = http::Request::builder().method("PUT").uri("/b/k").body(()).unwrap().into_parts();
        let mut ctx = Ctx::new(parts);
        ctx.observing = Some((seen.clone(), Instant::now()));
        let id = ctx.id.clone();
        drop(ctx);
        assert_eq!(*seen.0.lock().unwrap(), [(499, Some("ClientClosedRequest"), id)]);
        // Answered: the body reports it, the context no more.
        let (parts, ()) = http::Request::builder().uri("/b/k").body(()).unwrap().into_parts();
        let mut ctx = Ctx::new(parts);
        let (observer, started) = (seen.clone(), Instant::now());
        let body = wrap(crate::respond::empty(), record(&ctx, started, 200, None), started, observer);
        ctx.observing = None;
        drop(ctx);
        drop(body);
        assert_eq!(seen.0.lock().unwrap().len(), 2);
        assert_eq!(seen.0.lock().unwrap()[1].0, 200);
    }
}
