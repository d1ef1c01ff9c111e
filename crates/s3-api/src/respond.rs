//! Building responses: XML documents, empty answers, streams, errors.

use bytes::Bytes;
use coffer_engine::BoxError;
use coffer_s3_proto::S3Error;
use futures::TryStreamExt;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full, StreamBody};

/// The response body type of the S3 endpoint.
pub type ResBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

pub(crate) fn full(b: impl Into<Bytes>) -> ResBody {
    Full::new(b.into()).map_err(|never| match never {}).boxed_unsync()
}

pub(crate) fn empty() -> ResBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub(crate) fn stream(body: coffer_engine::Body) -> ResBody {
    StreamBody::new(body.map_ok(http_body::Frame::data)).boxed_unsync()
}

/// 200 with an XML document.
pub(crate) fn xml(doc: String) -> Response<ResBody> {
    let mut r = Response::new(full(doc));
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/xml"));
    r
}

/// An empty answer with `status`.
pub(crate) fn status(status: StatusCode) -> Response<ResBody> {
    let mut r = Response::new(empty());
    *r.status_mut() = status;
    r
}

/// The S3 error document (no body for HEAD, as HTTP requires).
pub(crate) fn error(e: &S3Error, resource: &str, request_id: &str, head: bool) -> Response<ResBody> {
    let code = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = if code == StatusCode::NOT_MODIFIED || head {
        let mut r = status(code);
        r.headers_mut().insert("x-amz-error-code", HeaderValue::from_static(e.code.as_str()));
        r
    } else {
        let mut r = xml(e.to_xml(resource, request_id));
        *r.status_mut() = code;
        r
    };
    for (name, value) in &e.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            r.headers_mut().insert(*name, v);
        }
    }
    r
}

pub(crate) fn with_request_id(mut r: Response<ResBody>, id: &str) -> Response<ResBody> {
    if let Ok(v) = HeaderValue::from_str(id) {
        r.headers_mut().insert("x-amz-request-id", v.clone());
        r.headers_mut().insert("x-amz-id-2", v);
    }
    r.headers_mut().insert("server", HeaderValue::from_static("Coffer"));
    r
}

/// When the connection must close after the response.
pub(crate) struct CloseRule {
    has_body: bool,
    expect_empty: bool,
}

/// Decides from the request head whether the response must carry
/// `Connection: close`: an error answered before the body was read leaves
/// unread bytes on the connection (hyper then drops it, so we say so), and
/// `Expect: 100-continue` on an empty body confuses older botocore clients
/// into misreading the next response on the same connection.
pub(crate) fn must_close(h: &http::HeaderMap) -> CloseRule {
    let len = h.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = h.contains_key("transfer-encoding");
    let expect = h.get("expect").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    CloseRule { has_body: chunked || len.is_some_and(|l| l > 0), expect_empty: expect && len == Some(0) }
}

impl CloseRule {
    pub(crate) fn should_close(&self, status: StatusCode) -> bool {
        self.expect_empty || (self.has_body && status.as_u16() >= 400)
    }
}

/// Sets `x-amz-version-id` when there is one to say.
pub(crate) fn version_header(r: &mut Response<ResBody>, version: Option<&str>) {
    if let Some(v) = version.and_then(|v| http::HeaderValue::from_str(v).ok()) {
        r.headers_mut().insert("x-amz-version-id", v);
    }
}
