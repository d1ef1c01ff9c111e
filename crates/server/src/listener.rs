//! The HTTP/1.1 accept loop: TCP_NODELAY, header-read timeout, keep-alive,
//! graceful shutdown, a connection limit, the idle timer on every request
//! body ([`IdleBody`]) and on every response write ([`WriteGuard`]). Generic over the [`Handler`] that answers
//! requests: the S3/admin endpoint ([`crate::app::App`]) and the web console
//! share it.
//!
//! At most `max_connections` connections are served at once. Beyond that,
//! [`spare_slots`] more are accepted on a short leash: each may send one
//! request head within [`SPARE_HEAD_TIMEOUT`]; a health probe is answered as
//! usual, anything else gets the handler's `503` with `Connection: close`.
//! Past those too, a connection is closed as soon as it is accepted, so file
//! descriptors stay bounded however many clients stall. A failing `accept`
//! (out of file descriptors) backs off exponentially up to 1 s, and these
//! events are logged at most once a second.

use crate::body_guard::IdleBody;
use crate::connlimit::{spare_slots, Backoff, LogLimit, SPARE_HEAD_TIMEOUT};
use crate::write_guard::WriteGuard;
use coffer_s3_api::ConnInfo;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Largest request head accepted (S3's own limit is 8 KiB of headers; we allow
/// more for long presigned URLs).
const MAX_HEAD: usize = 64 * 1024;

/// A TLS handshake that has not finished in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The body every handler receives: hyper's, with the idle timer.
pub(crate) type ReqBody = IdleBody<hyper::body::Incoming>;

/// What a listener hands each request to (with its connection's
/// [`ConnInfo`] as a request extension).
pub(crate) trait Handler: Clone + Send + Sync + 'static {
    type Body: hyper::body::Body<Data = bytes::Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static;
    fn handle(&self, req: hyper::Request<ReqBody>) -> impl Future<Output = http::Response<Self::Body>> + Send;
    /// Whether a request is a health probe, answered even when the listener
    /// is full.
    fn is_probe(&self, parts: &http::request::Parts) -> bool;
    /// The answer to any other request while the listener is full: `503`,
    /// `Connection: close`.
    fn overloaded(&self, parts: &http::request::Parts) -> http::Response<Self::Body>;
}

impl Handler for crate::app::App {
    type Body = coffer_s3_api::ResBody;
    fn handle(&self, req: hyper::Request<ReqBody>) -> impl Future<Output = http::Response<Self::Body>> + Send {
        crate::app::App::handle(self, req)
    }
    fn is_probe(&self, parts: &http::request::Parts) -> bool {
        coffer_s3_api::is_health_probe(parts.uri.path())
    }
    fn overloaded(&self, parts: &http::request::Parts) -> http::Response<Self::Body> {
        self.s3.overloaded(parts)
    }
}

impl Handler for coffer_console::ConsoleService {
    type Body = coffer_console::ConsoleBody;
    fn handle(&self, req: hyper::Request<ReqBody>) -> impl Future<Output = http::Response<Self::Body>> + Send {
        let peer = req.extensions().get::<ConnInfo>().map(|c| c.peer);
        coffer_console::ConsoleService::handle(self, req, peer)
    }
    fn is_probe(&self, _: &http::request::Parts) -> bool {
        false
    }
    fn overloaded(&self, _: &http::request::Parts) -> http::Response<Self::Body> {
        coffer_console::ConsoleService::overloaded(self)
    }
}

/// A listener's limits.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    /// Connections served at once (health probes get spare slots beyond).
    pub max_connections: usize,
    /// A client silent this long is dropped (head, keep-alive, body).
    pub idle: Duration,
    /// Counts the listener's open connections (metrics), if set.
    pub open: Option<prometheus_client::metrics::gauge::Gauge>,
}

/// Counts a connection as open while it lives.
struct OpenConnection(Option<prometheus_client::metrics::gauge::Gauge>);

impl OpenConnection {
    fn new(g: &Option<prometheus_client::metrics::gauge::Gauge>) -> Self {
        if let Some(g) = g {
            g.inc();
        }
        OpenConnection(g.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        if let Some(g) = &self.0 {
            g.dec();
        }
    }
}

/// How a connection is served.
#[derive(Clone, Copy)]
enum Slot {
    /// Within the limit: keep-alive, every request.
    Normal,
    /// Beyond it: one request, probes only, short timeouts.
    Spare,
}

pub(crate) async fn serve<H: Handler>(
    tcp: TcpListener,
    svc: H,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    limits: Limits,
) {
    let tracker = tokio_util_tracker::Tracker::default();
    let mut stop_accepting = shutdown.clone();
    let normal = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let spare = Arc::new(Semaphore::new(spare_slots(limits.max_connections)));
    let mut backoff = Backoff::default();
    let mut accept_log = LogLimit::new(Duration::from_secs(1));
    let mut full_log = LogLimit::new(Duration::from_secs(1));
    let local = tcp.local_addr().ok();
    loop {
        let accepted = tokio::select! {
            a = tcp.accept() => a,
            _ = stop_accepting.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => {
                backoff.succeeded();
                x
            }
            Err(e) => {
                let pause = backoff.failed();
                if let Some(skipped) = accept_log.allow(Instant::now()) {
                    tracing::warn!(listener = ?local, error = %e, skipped, retry_in_ms = pause.as_millis() as u64, "accept failed");
                }
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop_accepting.changed() => break,
                }
                continue;
            }
        };
        let (slot, permit) = match normal.clone().try_acquire_owned() {
            Ok(p) => (Slot::Normal, p),
            Err(_) => match spare.clone().try_acquire_owned() {
                Ok(p) => (Slot::Spare, p),
                Err(_) => {
                    if let Some(skipped) = full_log.allow(Instant::now()) {
                        tracing::warn!(listener = ?local, max_connections = limits.max_connections, skipped, "connection limit reached: closing new connections at once");
                    }
                    drop(stream);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let stream = WriteGuard::new(stream, limits.idle);
        let (svc, stop, tls) = (svc.clone(), shutdown.clone(), tls.clone());
        let guard = tracker.enter();
        let open = OpenConnection::new(&limits.open);
        let limits = limits.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let _permit = permit;
            let _open = open;
            let handshake = match slot {
                Slot::Normal => HANDSHAKE_TIMEOUT,
                Slot::Spare => SPARE_HEAD_TIMEOUT,
            };
            match tls {
                None => {
                    serve_connection(TokioIo::new(stream), svc, stop, ConnInfo { secure: false, peer }, limits, slot)
                        .await
                }
                Some(acceptor) => match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => {
                        let conn = ConnInfo { secure: true, peer };
                        serve_connection(TokioIo::new(tls_stream), svc, stop, conn, limits, slot).await
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
        });
    }
    // Closed now, so new connections are refused while the others drain.
    drop(tcp);
    tracker.wait().await;
}

async fn serve_connection<I, H: Handler>(
    io: I,
    svc: H,
    mut stop: tokio::sync::watch::Receiver<bool>,
    conn: ConnInfo,
    limits: Limits,
    slot: Slot,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let peer = conn.peer;
    let idle = limits.idle;
    let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(conn);
        let svc = svc.clone();
        async move {
            let req = req.map(|b| IdleBody::new(b, idle));
            let resp = match slot {
                Slot::Normal => svc.handle(req).await,
                Slot::Spare => {
                    let (parts, body) = req.into_parts();
                    if svc.is_probe(&parts) {
                        svc.handle(hyper::Request::from_parts(parts, body)).await
                    } else {
                        svc.overloaded(&parts)
                    }
                }
            };
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let (head_timeout, keep_alive) = match slot {
        Slot::Normal => (idle, true),
        Slot::Spare => (idle.min(SPARE_HEAD_TIMEOUT), false),
    };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        // Also bounds the wait for the next request on a kept-alive connection.
        .header_read_timeout(head_timeout)
        .max_buf_size(MAX_HEAD)
        .keep_alive(keep_alive)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => if let Err(e) = r { tracing::debug!(%peer, error = %e, "connection ended with error") },
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Counts live connections so shutdown can wait for them.
mod tokio_util_tracker {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::sync::Notify;

    #[derive(Default, Clone)]
    pub struct Tracker(Arc<(AtomicUsize, Notify)>);

    pub struct Guard(Arc<(AtomicUsize, Notify)>);

    impl Tracker {
        pub fn enter(&self) -> Guard {
            self.0 .0.fetch_add(1, Ordering::SeqCst);
            Guard(self.0.clone())
        }
        pub async fn wait(&self) {
            while self.0 .0.load(Ordering::SeqCst) > 0 {
                let notified = self.0 .1.notified();
                if self.0 .0.load(Ordering::SeqCst) == 0 {
                    break;
                }
                let _ = tokio::time::timeout(std::time::Duration::from_millis(100), notified).await;
            }
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            self.0 .0.fetch_sub(1, Ordering::SeqCst);
            self.0 .1.notify_waiters();
        }
    }
}
