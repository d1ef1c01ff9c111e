//! A deliberately thin S3 client: one raw hyper HTTP/1.1 connection per
//! worker (kept alive, re-opened after any failure), every request signed with
//! SigV4. PUT bodies are sent as `UNSIGNED-PAYLOAD` straight from a shared
//! buffer (zero-copy slices), responses are streamed and never buffered whole,
//! so the client spends little of the CPU it shares with the server.

use bytes::Bytes;
use coffer_s3_proto::sigv4::{sign_request, EMPTY_SHA256, UNSIGNED_PAYLOAD};
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use time::OffsetDateTime;

/// Largest frame handed to hyper at once (slices of the shared buffer).
const FRAME: usize = 1 << 20;

/// A request body that hands out zero-copy slices of one `Bytes`.
pub struct SliceBody {
    data: Bytes,
}

impl SliceBody {
    pub fn new(data: Bytes) -> Self {
        SliceBody { data }
    }
}

impl Body for SliceBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.data.is_empty() {
            return Poll::Ready(None);
        }
        let n = this.data.len().min(FRAME);
        Poll::Ready(Some(Ok(Frame::data(this.data.split_to(n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.len() as u64)
    }
}

/// Where and as whom to connect: one gateway, or several that a new
/// connection picks from in turn.
pub struct Endpoint {
    pub gateways: Vec<(SocketAddr, HeaderValue)>,
    pub next: std::sync::atomic::AtomicUsize,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub timeout: Duration,
}

/// One keep-alive connection, opened lazily.
pub struct Conn {
    ep: Arc<Endpoint>,
    /// The gateway of this connection (an index into `ep.gateways`).
    gateway: usize,
    sender: Option<SendRequest<SliceBody>>,
}

/// A failed request: the status (0 for transport failures) and a description
/// (for an HTTP error, the start of the response body).
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub message: String,
}

impl Failure {
    pub fn transport(message: impl Into<String>) -> Self {
        Failure { status: 0, message: message.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 0 {
            write!(f, "transport: {}", self.message)
        } else {
            write!(f, "HTTP {}: {}", self.status, self.message)
        }
    }
}

impl Conn {
    pub fn new(ep: Arc<Endpoint>) -> Self {
        let n = ep.gateways.len().max(1);
        let gateway = ep.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n;
        Conn { ep, gateway, sender: None }
    }

    pub fn timeout(&self) -> Duration {
        self.ep.timeout
    }

    /// Drops the connection; the next request opens a new one.
    pub fn reset(&mut self) {
        self.sender = None;
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<SliceBody>, Failure> {
        if let Some(s) = self.sender.as_mut() {
            if s.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            let addr = self.ep.gateways[self.gateway].0;
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| Failure::transport(format!("connect {addr}: {e}")))?;
            let _ = tcp.set_nodelay(true);
            let (sender, conn) = hyper::client::conn::http1::handshake::<_, SliceBody>(TokioIo::new(tcp))
                .await
                .map_err(|e| Failure::transport(format!("handshake: {e}")))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or_else(|| Failure::transport("no connection"))
    }

    /// Sends one signed request and returns the response head; the caller
    /// consumes the body. `raw_path` and `raw_query` must already be
    /// percent-encoded. Bodies go out as `UNSIGNED-PAYLOAD`.
    pub async fn send(
        &mut self,
        method: Method,
        raw_path: &str,
        raw_query: &str,
        body: Bytes,
    ) -> Result<Response<Incoming>, Failure> {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, self.ep.gateways[self.gateway].1.clone());
        let has_body = method == Method::PUT || method == Method::POST || !body.is_empty();
        if has_body {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len() as u64));
        }
        let payload_hash = if has_body { UNSIGNED_PAYLOAD } else { EMPTY_SHA256 };
        sign_request(
            method.as_str(),
            raw_path,
            raw_query,
            &mut headers,
            payload_hash,
            &self.ep.access_key,
            &self.ep.secret_key,
            &self.ep.region,
            OffsetDateTime::now_utc(),
        );
        let uri = if raw_query.is_empty() { raw_path.to_owned() } else { format!("{raw_path}?{raw_query}") };
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .body(SliceBody::new(body))
            .map_err(|e| Failure::transport(format!("building request: {e}")))?;
        *req.headers_mut() = headers;
        let sender = self.sender().await?;
        match sender.send_request(req).await {
            Ok(r) => Ok(r),
            Err(e) => {
                self.sender = None;
                Err(Failure::transport(format!("request: {e}")))
            }
        }
    }
}

/// Reads a (small) body whole, e.g. an XML document or an error.
pub async fn read_small(body: Incoming, limit: usize) -> Result<Vec<u8>, Failure> {
    let mut body = body;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure::transport(format!("reading body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            let room = limit.saturating_sub(out.len());
            out.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(out)
}

/// Turns a non-2xx response into a [`Failure`] carrying the start of its body.
pub async fn fail_from(resp: Response<Incoming>) -> Failure {
    let status = resp.status().as_u16();
    let body = read_small(resp.into_body(), 2048).await.unwrap_or_default();
    Failure { status, message: String::from_utf8_lossy(&body).trim().to_owned() }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
