//! The HTTP/1.1 accept loop: TCP_NODELAY, header-read timeout, keep-alive,
//! graceful shutdown. Generic over the [`Handler`] that answers requests:
//! the S3/admin endpoint ([`crate::app::App`]) and the web console share it.

use coffer_s3_api::ConnInfo;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// Largest request head accepted (S3's own limit is 8 KiB of headers; we allow
/// more for long presigned URLs).
const MAX_HEAD: usize = 64 * 1024;

/// A TLS handshake that has not finished in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a listener hands each request to (with its connection's
/// [`ConnInfo`] as a request extension).
pub(crate) trait Handler: Clone + Send + Sync + 'static {
    type Body: hyper::body::Body<Data = bytes::Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static;
    fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> impl Future<Output = http::Response<Self::Body>> + Send;
}

impl Handler for crate::app::App {
    type Body = coffer_s3_api::ResBody;
    fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> impl Future<Output = http::Response<Self::Body>> + Send {
        crate::app::App::handle(self, req)
    }
}

impl Handler for coffer_console::ConsoleService {
    type Body = coffer_console::ConsoleBody;
    fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> impl Future<Output = http::Response<Self::Body>> + Send {
        let peer = req.extensions().get::<ConnInfo>().map(|c| c.peer);
        coffer_console::ConsoleService::handle(self, req, peer)
    }
}

pub(crate) async fn serve<H: Handler>(
    tcp: TcpListener,
    svc: H,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    idle: Duration,
) {
    let tracker = tokio_util_tracker::Tracker::default();
    let mut stop_accepting = shutdown.clone();
    loop {
        let accepted = tokio::select! {
            a = tcp.accept() => a,
            _ = stop_accepting.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (svc, stop, tls) = (svc.clone(), shutdown.clone(), tls.clone());
        let guard = tracker.enter();
        tokio::spawn(async move {
            let _guard = guard;
            match tls {
                None => serve_connection(TokioIo::new(stream), svc, stop, ConnInfo { secure: false, peer }, idle).await,
                Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => {
                        serve_connection(TokioIo::new(tls_stream), svc, stop, ConnInfo { secure: true, peer }, idle)
                            .await
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
        });
    }
    tracker.wait().await;
}

async fn serve_connection<I, H: Handler>(
    io: I,
    svc: H,
    mut stop: tokio::sync::watch::Receiver<bool>,
    conn: ConnInfo,
    idle: Duration,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let peer = conn.peer;
    let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(conn);
        let svc = svc.clone();
        async move { Ok::<_, std::convert::Infallible>(svc.handle(req).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        // Also bounds the wait for the next request on a kept-alive connection.
        .header_read_timeout(idle)
        .max_buf_size(MAX_HEAD)
        .keep_alive(true)
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
