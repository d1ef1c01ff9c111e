//! Liveness and readiness probes under `/_coffer/health/` (no bucket can be
//! named `_coffer`: underscores are not allowed in bucket names).

use crate::respond::{full, ResBody};
use crate::S3Service;
use http::{Request, Response, StatusCode};

/// Whether `path` is one of the health probes (answered even when the
/// listener is at its connection limit).
pub fn is_health_probe(path: &str) -> bool {
    matches!(path, "/_coffer/health/live" | "/_coffer/health/ready")
}

pub(crate) async fn answer<B>(svc: &S3Service, req: &Request<B>) -> Option<Response<ResBody>> {
    let path = req.uri().path();
    let (status, text) = match path {
        "/_coffer/health/live" => (StatusCode::OK, "live\n"),
        "/_coffer/health/ready" => match svc.engine.ping().await {
            Ok(()) => (StatusCode::OK, "ready\n"),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                (StatusCode::SERVICE_UNAVAILABLE, "metadata store unavailable\n")
            }
        },
        p if p.starts_with("/_coffer/") => (StatusCode::NOT_FOUND, "not found\n"),
        _ => return None,
    };
    let mut r = Response::new(full(text));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", http::HeaderValue::from_static("text/plain"));
    Some(r)
}
