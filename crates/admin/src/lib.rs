//! The control plane's HTTP front-ends over the identity use cases of
//! [`coffer_iam::Iam`]:
//!
//! - the **AWS IAM query API** ([`Api::Iam`]): form-encoded `POST /` with
//!   `Action=CreateUser&...`, signed with SigV4 for the service `iam`, so that
//!   `aws iam ... --endpoint-url` and boto3's IAM client work. A project's
//!   root user manages its own project; an IAM user may call the actions its
//!   identity policies allow (`iam:<Action>` on the target user's ARN); the
//!   operator is refused (it uses the admin API). Answers are IAM's XML.
//! - the **admin API** ([`Api::Admin`]): JSON over HTTP under
//!   `/_coffer/admin/v1/`, signed with SigV4 like S3 (service `s3`, with
//!   `x-amz-content-sha256`), for the operator (everything) and project root
//!   users (their own project). It is described by an OpenAPI 3 document
//!   served at `GET /_coffer/admin/v1/openapi.json` without authentication.
//!
//! The server decides with [`ControlService::claims`], from the request's
//! head alone, whether a request is for one of these APIs or for S3, then
//! hands it to [`ControlService::handle`], which never fails: every error
//! becomes the API's own error document, with a request id.
//!
//! Architecture invariant: no SQL, no concrete store; identity goes through
//! [`coffer_iam::Iam`], quotas, totals and usage through the
//! [`coffer_meta::MetaStore`] trait.

mod admin;
mod auth;
use coffer_s3_proto::body;
mod iam;
mod timefmt;

use bytes::Bytes;
use coffer_iam::Iam;
use coffer_meta::MetaStore;
use http::request::Parts;
use http::{Method, Request, Response};
use http_body_util::Full;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

pub use admin::bodies::{parse_admin_body, AdminBody, AdminBodyError, AdminRequest};

/// The parameters of an IAM query API body (`a=1&b=x+y%21`: `+` is a space,
/// then percent-decoding), in body order, exactly as the IAM API reads them;
/// a pure entry point for tests and fuzzing. The error carries the IAM
/// error code (`InvalidInput` for text that is not UTF-8 once decoded).
pub fn parse_iam_form(body: &[u8]) -> Result<Vec<(String, String)>, AdminBodyError> {
    iam::form::Form::parse(body).map(|f| f.pairs().to_vec()).map_err(|e| AdminBodyError {
        code: e.code.as_str(),
        status: e.code.status(),
        message: e.message,
    })
}

/// The path prefix every admin API route lives under (versioned below it).
pub const ADMIN_PREFIX: &str = "/_coffer/admin/";

/// The largest request body accepted by either API (64 KiB): room for the
/// largest policy document (20 KiB) percent-encoded in full in an IAM query
/// form (three bytes for each), with the other parameters. Checked before
/// authentication, from `Content-Length` before a byte is read.
pub const MAX_BODY: usize = 64 << 10;

/// Which control API a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// The AWS IAM query API.
    Iam,
    /// The JSON admin API.
    Admin,
}

/// A region the deployment serves, with the host names of its S3 endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// The region's name, as in SigV4 scopes and `LocationConstraint`.
    pub name: String,
    /// Host names (optionally with `:port`) its endpoint answers on.
    pub hosts: Vec<String>,
}

/// The control-plane service: the IAM and admin APIs over one [`Iam`] and
/// one [`MetaStore`]. Cheap to clone.
#[derive(Clone)]
pub struct ControlService {
    iam: Iam,
    meta: Arc<dyn MetaStore>,
    regions: Arc<Vec<RegionInfo>>,
    /// Told of every answered request (the audit log), if set.
    observer: Option<Arc<dyn ControlObserver>>,
}

/// One request, read in full, as the API handlers see it.
pub(crate) struct Incoming {
    /// The request id, in the response headers and error documents.
    pub id: String,
    pub parts: Parts,
    pub body: Bytes,
    pub peer: Option<SocketAddr>,
}

impl Incoming {
    /// The request's host (`Host` header, else the URI's authority), port included.
    pub fn host(&self) -> Option<&str> {
        self.parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| self.parts.uri.authority().map(|a| a.as_str()))
    }
}

impl ControlService {
    /// The service over `iam` and `meta`. `regions` describes the regions of
    /// `iam` (same names, default first) with their hosts; when it is empty,
    /// `iam`'s regions are used without hosts.
    pub fn new(iam: Iam, meta: Arc<dyn MetaStore>, regions: Vec<RegionInfo>) -> Self {
        let regions = if regions.is_empty() {
            iam.regions().iter().map(|name| RegionInfo { name: name.clone(), hosts: Vec::new() }).collect()
        } else {
            regions
        };
        ControlService { iam, meta, regions: Arc::new(regions), observer: None }
    }

    /// Reports every answered request to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn ControlObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Which API a request is for, judged from its head only: a `POST` to
    /// path `/` whose `Content-Type` starts with
    /// `application/x-www-form-urlencoded` is the IAM API; a path starting
    /// with [`ADMIN_PREFIX`] is the admin API; anything else is `None` (S3).
    pub fn claims(parts: &Parts) -> Option<Api> {
        let path = parts.uri.path();
        if path.starts_with(ADMIN_PREFIX) {
            return Some(Api::Admin);
        }
        let form =
            parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
                ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
            });
        (parts.method == Method::POST && path == "/" && form).then_some(Api::Iam)
    }

    /// Handles one request of either API (a request neither claims is
    /// answered as an unknown admin route). The body may hold at most
    /// [`MAX_BODY`] bytes. Never fails: errors become the API's error format.
    pub async fn handle<B>(&self, req: Request<B>, peer: Option<SocketAddr>) -> Response<Full<Bytes>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        let api = Self::claims(&parts).unwrap_or(Api::Admin);
        let id = request_id();
        let method = parts.method.clone();
        let path = parts.uri.path().to_owned();
        // Reported once: with the answer, or as 499 if the request is dropped
        // unanswered (the client went away).
        let mut report = self.observer.clone().map(|observer| Report {
            observer,
            started,
            record: ControlRecord {
                request_id: id.clone(),
                api: match api {
                    Api::Iam => "iam",
                    Api::Admin => "admin",
                },
                action: None,
                method: method.to_string(),
                path: path.clone(),
                status: 499,
                access_key: signing_key(&parts),
                source_ip: peer.map(|p| p.ip().to_canonical()),
                user_agent: parts
                    .headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                duration: std::time::Duration::ZERO,
            },
        });
        let body = body::read_limited(body, &parts.headers, MAX_BODY).await;
        // The IAM action as the IAM API parsed it (percent-decoding included).
        let mut action = None;
        let resp = match body {
            Ok(body) => {
                let req = Incoming { id: id.clone(), parts, body, peer };
                match api {
                    Api::Iam => {
                        let (resp, parsed) = iam::handle(self, &req).await;
                        action = parsed;
                        resp
                    }
                    Api::Admin => admin::handle(self, &req).await,
                }
            }
            Err(e) => {
                let mut resp = match api {
                    Api::Iam => iam::body_error(&e, &id),
                    Api::Admin => admin::body_error(&e, &id),
                };
                // The rest of the body is never read: the connection cannot be reused.
                resp.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
                resp
            }
        };
        let status = resp.status().as_u16();
        let micros = started.elapsed().as_micros() as u64;
        tracing::info!(request_id = %id, api = ?api, %method, %path, status, micros, "control request");
        if let Some(r) = report.as_mut() {
            (r.record.status, r.record.action) = (status, action);
        }
        drop(report);
        with_request_id(resp, &id)
    }

    /// The identity service.
    pub(crate) fn iam(&self) -> &Iam {
        &self.iam
    }

    /// The metadata store (quotas, totals, usage, buckets).
    pub(crate) fn meta(&self) -> &Arc<dyn MetaStore> {
        &self.meta
    }

    /// The regions served, default first.
    pub(crate) fn regions(&self) -> &[RegionInfo] {
        &self.regions
    }

    /// The default region: the identity service's first.
    pub(crate) fn default_region(&self) -> Option<&str> {
        self.iam.regions().first().map(String::as_str).or_else(|| self.regions.first().map(|r| r.name.as_str()))
    }
}

/// A fresh request id: 16 upper-case hex digits.
fn request_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode_upper(b)
}

/// Adds the request id headers (AWS's and IAM's spellings).
fn with_request_id(mut resp: Response<Full<Bytes>>, id: &str) -> Response<Full<Bytes>> {
    if let Ok(v) = http::HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-amzn-requestid", v.clone());
        resp.headers_mut().insert("x-amz-request-id", v);
    }
    resp.headers_mut().insert(http::header::SERVER, http::HeaderValue::from_static("Coffer"));
    resp
}

/// A response with a status, content type and body.
pub(crate) fn respond(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if !content_type.is_empty() {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    }
    resp
}

/// One answered control request, as the audit log records it.
#[derive(Clone, Debug)]
pub struct ControlRecord {
    pub request_id: String,
    /// `admin` or `iam`.
    pub api: &'static str,
    /// The IAM API's `Action` (`CreateAccessKey`, `PutUserPolicy`, ...).
    pub action: Option<String>,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The access key id the request was signed with (never a secret; a
    /// refused request's is the one it claimed).
    pub access_key: Option<String>,
    pub source_ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
    pub duration: std::time::Duration,
}

/// Reports its record when dropped (see `ControlService::handle`).
struct Report {
    observer: Arc<dyn ControlObserver>,
    record: ControlRecord,
    started: Instant,
}

impl Drop for Report {
    fn drop(&mut self) {
        self.record.duration = self.started.elapsed();
        self.observer.finished(&self.record);
    }
}

/// Receives the control APIs' requests.
pub trait ControlObserver: Send + Sync + 'static {
    fn finished(&self, record: &ControlRecord);
}

/// The access key id in a SigV4 `Authorization` header (`Credential=AKID/…`).
fn signing_key(parts: &Parts) -> Option<String> {
    let auth = parts.headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let cred = auth.split("Credential=").nth(1)?;
    let id = cred.split('/').next()?.trim();
    (!id.is_empty() && id.len() <= 128).then(|| id.to_owned())
}

#[cfg(test)]
mod record_tests {
    use super::*;

    #[test]
    fn the_signer_is_read_from_the_authorization_header() {
        let req = Request::builder()
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=abc")
            .body(())
            .unwrap();
        let (parts, _) = req.into_parts();
        assert_eq!(signing_key(&parts).as_deref(), Some("AKIDEXAMPLE"));
        let (none, _) = Request::builder().body(()).unwrap().into_parts();
        assert_eq!(signing_key(&none), None);
    }

    #[test]
    fn a_request_dropped_unanswered_is_reported_once_as_499() {
        #[derive(Default)]
        struct Seen(std::sync::Mutex<Vec<u16>>);
        impl ControlObserver for Seen {
            fn finished(&self, r: &ControlRecord) {
                self.0.lock().unwrap().push(r.status);
            }
        }
        let seen = Arc::new(Seen::default());
        let record = ControlRecord {
            request_id: "R".into(),
            api: "admin",
            action: None,
            method: "POST".into(),
            path: "/_coffer/admin/v1/projects".into(),
            status: 499,
            access_key: None,
            source_ip: None,
            user_agent: None,
            duration: std::time::Duration::ZERO,
        };
        drop(Report { observer: seen.clone(), record, started: Instant::now() });
        assert_eq!(*seen.0.lock().unwrap(), [499]);
    }
}
