//! The console's two streaming routes, taken before the page router (which
//! reads whole form bodies): the upload API under `/api/` and downloads.
//! Both need a session; the upload API also the CSRF token, in the header
//! `x-csrf-token` (a cross-site page cannot set it, and the cookie is
//! SameSite=Strict besides).

use crate::transfer::{self, Upload};
use crate::web::{self, PageError};
use crate::{boxed, form, session, BoxError, ConsoleBody, Cx, Inner};
use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt};
use http::{Method, Response, StatusCode};
use http_body_util::BodyStream;
use serde_json::json;
use std::net::SocketAddr;

/// Largest CompleteMultipartUpload part list (10,000 parts fit easily).
const MAX_COMPLETE: usize = 1024 * 1024;

fn cx_of(parts: http::request::Parts, peer: Option<SocketAddr>, nonce: String) -> Cx {
    let query = form::Form::parse(parts.uri.query().unwrap_or("").as_bytes());
    Cx {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query,
        headers: parts.headers,
        peer,
        form: form::Form::default(),
        nonce,
    }
}

fn json_error(status: StatusCode, message: &str, nonce: &str) -> Response<ConsoleBody> {
    let body = Bytes::from(json!({ "error": message }).to_string());
    let mut r = web::body(status, "application/json", body, nonce);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static(web::RETRY_AFTER_SECS));
    }
    boxed(r)
}

/// Whether `path` is `/buckets/{name}/download`.
pub(crate) fn is_download(path: &str) -> bool {
    let s: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(s.as_slice(), ["buckets", _, "download"])
}

/// `GET /buckets/{name}/download?key=`.
pub(crate) async fn download(
    inner: &Inner,
    parts: http::request::Parts,
    peer: Option<SocketAddr>,
    nonce: String,
) -> Response<ConsoleBody> {
    let cx = cx_of(parts, peer, nonce);
    let viewer = match session::current(inner, &cx).await {
        Ok(Some(v)) => v,
        Ok(None) => return boxed(web::redirect("/signin", None, &cx.nonce)),
        Err(e) => return boxed(e.render(None, &cx.nonce)),
    };
    let name = cx.path.trim_start_matches('/').split('/').nth(1).unwrap_or("").to_owned();
    match transfer::download(inner, &cx, &viewer, &name).await {
        Ok(r) => r,
        Err(e) => boxed(PageError::render(e, Some(web::nav(&viewer, &inner.cfg)), &cx.nonce)),
    }
}

/// A request body as the engine's byte stream.
fn stream<B>(body: B) -> coffer_engine::Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    TryStreamExt::map_err(BodyStream::new(body), Into::into)
        .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) })
        .boxed()
}

/// Answers one `/api/` request.
pub(crate) async fn handle<B>(
    inner: &Inner,
    parts: http::request::Parts,
    body: B,
    peer: Option<SocketAddr>,
    nonce: String,
) -> Response<ConsoleBody>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let len = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let cx = cx_of(parts, peer, nonce);
    let viewer = match session::current(inner, &cx).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return json_error(
                StatusCode::UNAUTHORIZED,
                "Your session has ended, so nothing was stored. Sign in again and retry.",
                &cx.nonce,
            )
        }
        Err(e) if e.is_unavailable() => {
            tracing::warn!(error = ?e.detail, "console session check: metadata store unavailable");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server cannot reach its database right now; nothing was stored. Try again in a moment.",
                &cx.nonce,
            );
        }
        Err(e) => {
            tracing::error!(error = ?e.detail, "console session check failed");
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not check your session.",
                &cx.nonce,
            );
        }
    };
    if !session::csrf_ok(&viewer.session, &cx) {
        return json_error(
            StatusCode::FORBIDDEN,
            "The request was missing its security token or it did not match your session. Reload the page.",
            &cx.nonce,
        );
    }
    let v = &viewer;
    let path = cx.path.clone();
    let segments: Vec<&str> = path.trim_start_matches("/api/").split('/').collect();
    let up = |body: B| Upload { body: stream(body), len };
    match (&cx.method, segments.as_slice()) {
        (&Method::PUT, ["buckets", b, "object"]) => transfer::put(inner, &cx, v, b, up(body)).await,
        (&Method::POST, ["buckets", b, "uploads"]) => transfer::create_upload(inner, &cx, v, b).await,
        (&Method::PUT, ["buckets", b, "uploads", id]) => transfer::put_part(inner, &cx, v, b, id, up(body)).await,
        (&Method::DELETE, ["buckets", b, "uploads", id]) => transfer::abort(inner, &cx, v, b, id).await,
        (&Method::POST, ["buckets", b, "uploads", id, "complete"]) => {
            match crate::body::read_limited(body, &cx.headers, MAX_COMPLETE).await {
                Ok(bytes) => transfer::complete(inner, &cx, v, b, id, &bytes).await,
                Err(e @ crate::body::BodyError::TooLarge(_)) => {
                    tracing::debug!(error = %e, "part list refused");
                    json_error(StatusCode::PAYLOAD_TOO_LARGE, "The part list is too large.", &cx.nonce)
                }
                Err(crate::body::BodyError::TimedOut) => {
                    json_error(StatusCode::REQUEST_TIMEOUT, "The part list did not arrive in time.", &cx.nonce)
                }
                Err(crate::body::BodyError::Failed(_)) => {
                    json_error(StatusCode::BAD_REQUEST, "The part list could not be read.", &cx.nonce)
                }
            }
        }
        (_, ["buckets", _, "object" | "uploads"])
        | (_, ["buckets", _, "uploads", _] | ["buckets", _, "uploads", _, "complete"]) => {
            json_error(StatusCode::METHOD_NOT_ALLOWED, "This address does not answer that method.", &cx.nonce)
        }
        _ => json_error(StatusCode::NOT_FOUND, "No such console API.", &cx.nonce),
    }
}
