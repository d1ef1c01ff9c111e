//! Object bytes through the console: the browser's uploads (one PUT, or
//! parallel multipart parts for large files) and downloads. The bytes stream
//! between the connection and the engine; nothing is buffered whole.
//!
//! The upload API answers JSON (`{"etag": …}`, `{"uploadId": …}`, or
//! `{"error": …}`) and, like every state change, needs the session's CSRF
//! token (header `x-csrf-token`). Each call is authorized as its S3
//! counterpart: `s3:PutObject` (create, parts, complete),
//! `s3:AbortMultipartUpload`, `s3:GetObject` (download; `s3:GetObjectVersion`
//! for a download of a named version).

use crate::authz::BucketAuthz;
use crate::objects::{bucket, key_param};
use crate::session::Viewer;
use crate::web::{self, PageError};
use crate::{ConsoleBody, Cx, Inner, TransferKind};
use bytes::Bytes;
use coffer_engine::{Body, BodyCheck, CompletedPart, EngineError, GetInput, PutInput};
use coffer_meta::{ObjectMeta, WriteCondition};
use futures::TryStreamExt as _;
use http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt as _, StreamBody};
use serde::Deserialize;
use serde_json::json;

/// A JSON answer of the upload API.
fn json(status: StatusCode, value: serde_json::Value, nonce: &str) -> Response<ConsoleBody> {
    let body = Bytes::from(value.to_string());
    crate::boxed(web::body(status, "application/json", body, nonce))
}

fn error(status: StatusCode, message: &str, nonce: &str) -> Response<ConsoleBody> {
    let mut r = json(status, json!({ "error": message }), nonce);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static(web::RETRY_AFTER_SECS));
    }
    r
}

/// An engine failure as the uploader shows it.
fn engine_error(e: EngineError, nonce: &str) -> Response<ConsoleBody> {
    let (status, msg) = match &e {
        EngineError::NoSuchBucket => (StatusCode::NOT_FOUND, "The bucket no longer exists.".to_owned()),
        EngineError::NoSuchUpload => {
            (StatusCode::NOT_FOUND, "The upload was cancelled or finished elsewhere.".to_owned())
        }
        EngineError::QuotaExceeded(_) => {
            (StatusCode::FORBIDDEN, "The quota of the bucket or project does not leave room for this file.".to_owned())
        }
        EngineError::EntityTooLarge(max) => {
            (StatusCode::PAYLOAD_TOO_LARGE, format!("Too large: one request may carry at most {max} bytes."))
        }
        EngineError::NoSpace => {
            (StatusCode::INSUFFICIENT_STORAGE, "The server's disk is full; nothing was stored.".to_owned())
        }
        EngineError::Unavailable(why) => {
            tracing::warn!(error = %why, "console transfer: metadata store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The server cannot reach its database right now; nothing was stored. Try again in a moment.".to_owned(),
            )
        }
        EngineError::Body(e) if crate::body::is_idle_timeout(e.as_ref()) => (
            StatusCode::REQUEST_TIMEOUT,
            "The upload stalled (nothing arrived for too long); nothing was stored.".to_owned(),
        ),
        EngineError::Body(_) => (StatusCode::BAD_REQUEST, "The upload was interrupted; nothing was stored.".to_owned()),
        EngineError::InvalidPart(_) | EngineError::InvalidPartOrder | EngineError::EntityTooSmall(_) => {
            (StatusCode::BAD_REQUEST, format!("The parts do not make a valid upload: {e}."))
        }
        EngineError::KeyTooLong | EngineError::InvalidArgument(_) | EngineError::InvalidRequest(_) => {
            (StatusCode::BAD_REQUEST, format!("{e}"))
        }
        _ => {
            tracing::error!(error = %e, "console transfer failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "The server could not store the data; try again.".to_owned())
        }
    };
    error(status, &msg, nonce)
}

fn page_error(e: PageError, nonce: &str) -> Response<ConsoleBody> {
    if e.is_unavailable() {
        tracing::warn!(error = ?e.detail, "console transfer: metadata store unavailable");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server cannot reach its database right now; try again.",
            nonce,
        );
    }
    match e.detail {
        Some(d) => {
            tracing::error!(error = %d, "console transfer failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "The server could not complete the request.", nonce)
        }
        None => error(e.status, &e.message, nonce),
    }
}

fn refused(action: &str, nonce: &str) -> Response<ConsoleBody> {
    error(StatusCode::FORBIDDEN, &format!("Your policy does not allow this ({action})."), nonce)
}

/// The request body, its declared length, and its content type.
pub(crate) struct Upload {
    pub body: Body,
    pub len: Option<u64>,
}

/// An action allowed on one object: whom to bill, and what it names.
struct Granted {
    project: String,
    bucket: String,
    key: String,
    /// The bucket as authorized (a write must not land in a namesake made since).
    stamp: coffer_meta::BucketStamp,
}

/// Checks `action` on the object named by `?key=`, counts the request (of
/// `kind`, no bytes yet) for billing, and returns what it names.
async fn authorize(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
    action: &str,
    kind: TransferKind,
) -> Result<Granted, Response<ConsoleBody>> {
    let b = bucket(inner, v, name).await.map_err(|e| page_error(e, &cx.nonce))?;
    let key = key_param(cx).map_err(|e| page_error(e, &cx.nonce))?.to_owned();
    let authz = BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b)
        .await
        .map_err(|e| engine_error(e, &cx.nonce))?;
    if !authz.on_existing_object(action, &key).await.map_err(|e| engine_error(e, &cx.nonce))? {
        return Err(refused(action, &cx.nonce));
    }
    inner.count(&b.project, &b.name, kind, 0, 0);
    Ok(Granted { stamp: b.stamp(), project: b.project, bucket: b.name, key })
}

/// An upload's body that counts the bytes it yields: bytes in are billed as
/// received, never as the `Content-Length` the client declared.
fn counted(body: Body) -> (Body, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let received = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let r = received.clone();
    let body = body.inspect_ok(move |b| {
        r.fetch_add(b.len() as u64, std::sync::atomic::Ordering::Relaxed);
    });
    (Box::pin(body), received)
}

/// Bills the bytes an upload received (the request itself was counted when authorized).
fn bill_received(inner: &Inner, g: &Granted, received: &std::sync::atomic::AtomicU64) {
    let n = received.load(std::sync::atomic::Ordering::Relaxed);
    if n > 0 {
        inner.add_bytes_in(&g.project, &g.bucket, n);
    }
}

fn content_type(cx: &Cx) -> Option<String> {
    cx.headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .map(str::to_owned)
}

/// `PUT /api/buckets/{b}/object?key=`: one request, the whole file.
pub(crate) async fn put(inner: &Inner, cx: &Cx, v: &Viewer, name: &str, up: Upload) -> Response<ConsoleBody> {
    let g = match authorize(inner, cx, v, name, "s3:PutObject", TransferKind::Put).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let meta = ObjectMeta { content_type: content_type(cx), ..Default::default() };
    let (body, received) = counted(up.body);
    let input = PutInput {
        bucket: g.bucket.clone(),
        key: g.key.clone(),
        len: up.len,
        body,
        check: BodyCheck::default(),
        meta,
        condition: WriteCondition::None,
        stamp: Some(g.stamp.clone()),
    };
    let result = inner.engine.put_object(input).await;
    bill_received(inner, &g, &received);
    match result {
        Ok(out) => json(StatusCode::OK, json!({ "etag": out.etag.as_str() }), &cx.nonce),
        Err(e) => engine_error(e, &cx.nonce),
    }
}

/// `POST /api/buckets/{b}/uploads?key=`: starts a multipart upload.
pub(crate) async fn create_upload(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Response<ConsoleBody> {
    let Granted { bucket, key, .. } = match authorize(inner, cx, v, name, "s3:PutObject", TransferKind::Put).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ct = cx.headers.get("x-object-content-type").and_then(|v| v.to_str().ok()).filter(|t| t.len() <= 256);
    let meta = ObjectMeta { content_type: ct.map(str::to_owned), ..Default::default() };
    match inner.engine.create_upload(&bucket, &key, meta).await {
        Ok(id) => json(StatusCode::OK, json!({ "uploadId": id }), &cx.nonce),
        Err(e) => engine_error(e, &cx.nonce),
    }
}

/// `PUT /api/buckets/{b}/uploads/{id}?key=&part=N`: one part.
pub(crate) async fn put_part(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
    id: &str,
    up: Upload,
) -> Response<ConsoleBody> {
    let g = match authorize(inner, cx, v, name, "s3:PutObject", TransferKind::Put).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let part = match cx.query.get("part").and_then(|p| p.parse::<u32>().ok()) {
        Some(p) if (1..=coffer_engine::MAX_PART_NUMBER).contains(&p) => p,
        _ => return error(StatusCode::BAD_REQUEST, "The part number must be 1 to 10000.", &cx.nonce),
    };
    let (body, received) = counted(up.body);
    let result = inner.engine.upload_part(&g.bucket, &g.key, id, part, up.len, body, &BodyCheck::default()).await;
    bill_received(inner, &g, &received);
    match result {
        Ok((etag, _)) => json(StatusCode::OK, json!({ "etag": etag.as_str() }), &cx.nonce),
        Err(e) => engine_error(e, &cx.nonce),
    }
}

#[derive(Deserialize)]
struct CompleteBody {
    parts: Vec<PartRef>,
}

#[derive(Deserialize)]
struct PartRef {
    part: u32,
    etag: String,
}

/// `POST /api/buckets/{b}/uploads/{id}/complete?key=` with
/// `{"parts":[{"part":1,"etag":"…"},…]}`.
pub(crate) async fn complete(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
    id: &str,
    body: &[u8],
) -> Response<ConsoleBody> {
    let Granted { bucket, key, .. } = match authorize(inner, cx, v, name, "s3:PutObject", TransferKind::Put).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let parts: CompleteBody = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("The part list is not valid JSON: {e}."), &cx.nonce),
    };
    let parts: Vec<CompletedPart> =
        parts.parts.into_iter().map(|p| CompletedPart { part_number: p.part, etag: p.etag, checksum: None }).collect();
    match inner.engine.complete_upload(&bucket, &key, id, &parts, WriteCondition::None, None).await {
        Ok(out) => json(StatusCode::OK, json!({ "etag": out.etag.as_str() }), &cx.nonce),
        Err(e) => engine_error(e, &cx.nonce),
    }
}

/// `DELETE /api/buckets/{b}/uploads/{id}?key=`: cancels an upload.
pub(crate) async fn abort(inner: &Inner, cx: &Cx, v: &Viewer, name: &str, id: &str) -> Response<ConsoleBody> {
    let Granted { bucket, key, .. } =
        match authorize(inner, cx, v, name, "s3:AbortMultipartUpload", TransferKind::Delete).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    match inner.engine.abort_upload(&bucket, &key, id).await {
        Ok(()) | Err(EngineError::NoSuchUpload) => json(StatusCode::OK, json!({ "aborted": true }), &cx.nonce),
        Err(e) => engine_error(e, &cx.nonce),
    }
}

/// `filename` and `filename*` of a Content-Disposition for `key`'s last segment.
fn disposition(key: &str) -> String {
    let name = key.rsplit('/').find(|s| !s.is_empty()).unwrap_or("download");
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", crate::form::encode(name))
}

/// `GET /buckets/{b}/download?key=[&version=]`: the object's bytes (or that
/// version's) as an attachment (never rendered by the console's origin:
/// `application/octet-stream`, `nosniff`, and a sandboxing CSP).
pub(crate) async fn download(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<ConsoleBody>, PageError> {
    let b = bucket(inner, v, name).await?;
    let key = key_param(cx)?.to_owned();
    let version = match cx.query.get("version") {
        None | Some("") => None,
        Some(v) if coffer_types::is_version_id(v) => Some(v.to_owned()),
        Some(_) => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "No such version",
                "The address names no valid version.",
            ))
        }
    };
    let authz =
        BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b).await.map_err(PageError::internal)?;
    let (action, what) = match version {
        Some(_) => ("s3:GetObjectVersion", "reading versions of this object"),
        None => ("s3:GetObject", "reading this object"),
    };
    if !authz.on_existing_version(action, &key, version.as_deref()).await.map_err(PageError::internal)? {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            format!("Your policy does not allow {what} ({action})."),
        ));
    }
    let input = GetInput { bucket: b.name.clone(), key: key.clone(), version, ..Default::default() };
    let out = match inner.engine.get_object(input).await {
        Ok(o) => o,
        Err(EngineError::NoSuchKey | EngineError::NoSuchVersion) => {
            return Err(PageError::new(StatusCode::NOT_FOUND, "No such object", format!("There is no object {key:?}.")))
        }
        Err(EngineError::DeleteMarker { .. }) => {
            return Err(PageError::new(
                StatusCode::NOT_FOUND,
                "Object deleted",
                format!("{key:?} was deleted: its latest version is a delete marker, which has no bytes."),
            ))
        }
        Err(EngineError::InvalidArgument(m)) => {
            return Err(PageError::new(StatusCode::BAD_REQUEST, "No such version", m))
        }
        Err(e) => return Err(PageError::internal(e)),
    };
    inner.count(&b.project, &b.name, TransferKind::Get, 0, out.object.size);
    let stream = out.body.map_ok(http_body::Frame::data);
    let mut resp = Response::new(StreamBody::new(stream).boxed_unsync());
    web::secure_headers(resp.headers_mut(), &cx.nonce);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(out.object.size));
    h.insert("content-security-policy", HeaderValue::from_static("sandbox; default-src 'none'"));
    if let Ok(v) = HeaderValue::from_str(&disposition(&key)) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", out.object.etag)) {
        h.insert(ETAG, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_are_safe() {
        assert_eq!(disposition("a/b c.txt"), "attachment; filename=\"b c.txt\"; filename*=UTF-8''b%20c.txt");
        assert_eq!(
            disposition("x/\"é\r\n.txt"),
            "attachment; filename=\"____.txt\"; filename*=UTF-8''%22%C3%A9%0D%0A.txt"
        );
        assert_eq!(disposition("dir/"), "attachment; filename=\"dir\"; filename*=UTF-8''dir");
    }
}
