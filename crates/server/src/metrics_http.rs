//! The metrics listener (`--metrics-listen`): `GET /metrics` in the
//! Prometheus text format, behind a bearer token when one is configured
//! (`--metrics-token-file`). Anything else is `404`; a missing or wrong
//! token `401`. It serves through the same accept loop as the S3 endpoint
//! (connection limit, idle timers).

use crate::listener::{Handler, ReqBody};
use crate::metrics::Metrics;
use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::Full;
use std::future::Future;
use std::sync::Arc;

/// The text exposition format Prometheus scrapes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
pub(crate) struct MetricsEndpoint {
    pub metrics: Arc<Metrics>,
    /// The bearer token a scrape must carry, if any.
    pub token: Option<Arc<str>>,
}

fn status(code: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = code;
    r
}

/// Whether `given` equals `expected`, in time independent of where they differ.
fn same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

impl MetricsEndpoint {
    fn answer(&self, parts: &http::request::Parts) -> Response<Full<Bytes>> {
        if parts.uri.path() != "/metrics" || !matches!(parts.method, http::Method::GET | http::Method::HEAD) {
            return status(StatusCode::NOT_FOUND, "not found\n");
        }
        if let Some(token) = &self.token {
            let given = parts.headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()).unwrap_or_default();
            let expected = format!("Bearer {token}");
            if !same(given, expected.as_bytes()) {
                let mut r = status(StatusCode::UNAUTHORIZED, "a bearer token is required\n");
                r.headers_mut().insert(header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
                return r;
            }
        }
        let mut r = Response::new(Full::new(Bytes::from(self.metrics.encode())));
        r.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static(CONTENT_TYPE));
        r
    }
}

impl Handler for MetricsEndpoint {
    type Body = Full<Bytes>;
    fn handle(&self, req: hyper::Request<ReqBody>) -> impl Future<Output = http::Response<Self::Body>> + Send {
        let (parts, _body) = req.into_parts();
        let r = self.answer(&parts);
        async move { r }
    }
    fn is_probe(&self, _: &http::request::Parts) -> bool {
        false
    }
    fn overloaded(&self, _: &http::request::Parts) -> http::Response<Self::Body> {
        status(StatusCode::SERVICE_UNAVAILABLE, "busy\n")
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"Bearer abc", b"Bearer abc"));
        assert!(!same(b"Bearer abd", b"Bearer abc"));
        assert!(!same(b"Bearer ab", b"Bearer abc"));
        assert!(!same(b"", b"Bearer abc"));
    }
}
