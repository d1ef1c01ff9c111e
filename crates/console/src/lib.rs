//! Coffer's web console: server-rendered pages for the provider's
//! customers (project users, signed in with a console password) and for the
//! operator (signed in with the operator's access key and secret).
//!
//! - [`ConsoleService::handle`] is the one entry point: the server crate
//!   accepts connections and hands each request here (this crate never
//!   depends on hyper).
//! - Sessions are a cookie sealed under the master key (`session.rs`). Every
//!   request re-reads the principal and its session generation from the
//!   store, so a deleted user, a removed password, a deleted operator key or
//!   a sign-out (on any gateway) ends the session at its next request.
//! - Sign-in is throttled per client address and per (address, account) in
//!   the store (`throttle.rs`); passwords are checked a bounded few at a time
//!   ([`coffer_iam::Iam::check_password`]).
//! - Every state change carries the session's CSRF token (`csrf` form field or
//!   `x-csrf-token` header); every page has a Content Security Policy whose
//!   only script source besides `'self'` is a per-response nonce (`web.rs`).
//! - Authorization is the S3 API's: [`coffer_iam::authz::decide`] with the
//!   same actions and resources (`authz.rs`). The console never lets a user do
//!   what its policy would refuse over S3.
//!
//! Start reading at [`ConsoleService::handle`], then `signin.rs` and
//! `buckets.rs`. Templates live in `templates/` (askama, HTML auto-escaped),
//! the CSS and JavaScript in `static/` (embedded in the binary).

mod api;
mod assets;
mod authz;
use coffer_s3_proto::body;
mod buckets;
mod chart;
mod form;
mod keys;
mod lifecycle;
mod meter;
mod object;
mod objects;
mod objects_delete;
mod objects_versions;
mod projects;
mod protection;
mod session;
mod settings;
mod share;
mod signin;
mod throttle;
mod transfer;
mod usage;
mod usage_data;
mod users;
mod users_edit;
mod users_gate;
mod versions;
mod web;

use bytes::Bytes;
use coffer_engine::Engine;
use coffer_iam::Iam;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use meter::{ConsoleAction, TransferKind, TransferMeter};
pub use share::S3Links;
pub use throttle::{MAX_ADDRESS_FAILURES, MAX_FAILURES, WINDOW};

/// Largest form body accepted from a signed-in user (a multi-select delete
/// names up to 1,000 keys).
const MAX_FORM: usize = 2 * 1024 * 1024;
/// Largest sign-in form: the only body read before anyone is authenticated.
const MAX_SIGNIN_FORM: usize = 16 * 1024;

/// Errors of a response body stream.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every console response: a page, JSON, or a download stream.
pub type ConsoleBody = UnsyncBoxBody<Bytes, BoxError>;

/// A page response as a [`ConsoleBody`] response.
pub(crate) fn boxed(r: Response<Full<Bytes>>) -> Response<ConsoleBody> {
    r.map(|b| b.map_err(|never| match never {}).boxed_unsync())
}

/// Console settings.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    /// Mark the session cookie `Secure` (set when the console listener speaks
    /// HTTPS). Also the value of the `aws:SecureTransport` condition key.
    pub secure_cookies: bool,
    /// How long a session lasts from sign-in (it is not extended by use).
    pub session_ttl: Duration,
    /// The regions served, default first; a session acts in one of them.
    pub regions: Vec<String>,
    /// How share links reach the S3 endpoint.
    pub s3: S3Links,
}

/// The console: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct ConsoleService {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub iam: Iam,
    pub engine: Engine,
    pub cfg: ConsoleConfig,
    /// Where object actions are counted for billing (none in handler tests).
    pub meter: Option<Arc<dyn TransferMeter>>,
    /// Sign-ins whose password is being checked here (see `throttle::InFlight`).
    pub signins: throttle::InFlight,
}

/// One request, as the handlers see it.
pub(crate) struct Cx {
    pub method: Method,
    pub path: String,
    pub query: form::Form,
    pub headers: http::HeaderMap,
    pub peer: Option<SocketAddr>,
    /// The form body of a POST (empty otherwise).
    pub form: form::Form,
    /// This response's CSP nonce.
    pub nonce: String,
}

impl ConsoleService {
    /// The console over the identity and engine use cases.
    pub fn new(iam: Iam, engine: Engine, cfg: ConsoleConfig) -> Self {
        ConsoleService::with_meter(iam, engine, cfg, None)
    }

    /// The console, counting object actions into `meter` (in the server, the
    /// S3 API's usage meter).
    pub fn with_meter(iam: Iam, engine: Engine, mut cfg: ConsoleConfig, meter: Option<Arc<dyn TransferMeter>>) -> Self {
        if cfg.regions.is_empty() {
            cfg.regions = iam.regions().to_vec();
        }
        if cfg.regions.is_empty() {
            cfg.regions.push(engine.config().region.clone());
        }
        ConsoleService { inner: Arc::new(Inner { iam, engine, cfg, meter, signins: Default::default() }) }
    }

    /// Answers one request from `peer` (the client's address, for sign-in
    /// throttling and the `aws:SourceIp` condition key).
    pub async fn handle<B>(&self, req: Request<B>, peer: Option<SocketAddr>) -> Response<ConsoleBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let reads = matches!(*req.method(), Method::GET | Method::HEAD);
        if reads || self.inner.meter.is_none() {
            return self.dispatch(req, peer).await;
        }
        // A change (or an attempt): reported with who made it.
        let started = std::time::Instant::now();
        let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
        let user_agent = req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let cx = Cx {
            method: req.method().clone(),
            path: path.clone(),
            query: form::Form::default(),
            headers: req.headers().clone(),
            peer,
            form: form::Form::default(),
            nonce: String::new(),
        };
        let who = match session::current(&self.inner, &cx).await {
            Ok(Some(v)) => Some(v.principal.arn()),
            _ => None,
        };
        // Reported once: with the answer's status, or as 499 if the request
        // is dropped unanswered (the client went away).
        let mut report = self.inner.meter.clone().map(|meter| ActionReport {
            meter,
            started,
            action: ConsoleAction { method, path, status: 499, who, peer, user_agent, duration: Default::default() },
        });
        let resp = self.dispatch(req, peer).await;
        if let Some(r) = report.as_mut() {
            r.action.status = resp.status().as_u16();
        }
        drop(report);
        resp
    }

    async fn dispatch<B>(&self, req: Request<B>, peer: Option<SocketAddr>) -> Response<ConsoleBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let nonce = web::nonce();
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_owned();
        if parts.method == Method::GET {
            if let Some(asset) = path.strip_prefix("/static/") {
                return boxed(assets::serve(asset, &nonce));
            }
        }
        if path.starts_with("/api/") {
            return api::handle(&self.inner, parts, body, peer, nonce).await;
        }
        if parts.method == Method::GET && api::is_download(&path) {
            return api::download(&self.inner, parts, peer, nonce).await;
        }
        boxed(self.pages(parts, body, path, peer, nonce).await)
    }

    async fn pages<B>(
        &self,
        parts: http::request::Parts,
        body: B,
        path: String,
        peer: Option<SocketAddr>,
        nonce: String,
    ) -> Response<Full<Bytes>>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let query = form::Form::parse(parts.uri.query().unwrap_or("").as_bytes());
        let mut cx =
            Cx { method: parts.method, path, query, headers: parts.headers, peer, form: form::Form::default(), nonce };
        // The session comes first: before anyone is authenticated only the
        // sign-in form is read, and only a small one.
        let viewer = session::current(&self.inner, &cx).await;
        if cx.method == Method::POST {
            if !form::is_urlencoded(&cx.headers) {
                return web::error_page(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported form",
                    "Forms must be sent as application/x-www-form-urlencoded.",
                    None,
                    &cx.nonce,
                );
            }
            let limit = match (&viewer, cx.path.as_str()) {
                (_, "/signin") => Some(MAX_SIGNIN_FORM),
                (Ok(Some(_)), _) => Some(MAX_FORM),
                // Refused unread by the router (signed out).
                _ => None,
            };
            if let Some(limit) = limit {
                match body::read_limited(body, &cx.headers, limit).await {
                    Ok(b) => cx.form = form::Form::parse(&b),
                    Err(e) => return Self::unreadable_form(&e, &cx.nonce),
                }
            }
        } else {
            drop(body);
        }
        self.inner.route(cx, viewer).await
    }

    fn unreadable_form(e: &body::BodyError, nonce: &str) -> Response<Full<Bytes>> {
        let (status, heading, message) = match e {
            body::BodyError::TooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "Form too large", "The form is larger than this page accepts.")
            }
            body::BodyError::TimedOut => (
                StatusCode::REQUEST_TIMEOUT,
                "Form timed out",
                "The form did not arrive in time. Go back and try again.",
            ),
            body::BodyError::Failed(_) => (
                StatusCode::BAD_REQUEST,
                "Form not received",
                "The form could not be read (the connection broke). Go back and try again.",
            ),
        };
        let mut r = web::error_page(status, heading, message, None, nonce);
        // The rest of the body is never read: the connection cannot be reused.
        r.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        r
    }

    /// The answer to every request the server takes while the console's
    /// listener is at its connection limit: 503, `Connection: close`.
    pub fn overloaded(&self) -> Response<ConsoleBody> {
        let mut r = web::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "The console is serving as many connections as it can. Try again in a moment.",
            None,
            &web::nonce(),
        );
        r.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        r.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        boxed(r)
    }
}

/// Reports a console action when dropped (see `ConsoleService::handle`).
struct ActionReport {
    meter: Arc<dyn TransferMeter>,
    action: ConsoleAction,
    started: std::time::Instant,
}

impl Drop for ActionReport {
    fn drop(&mut self) {
        self.action.duration = self.started.elapsed();
        self.meter.action(&self.action);
    }
}

impl Inner {
    async fn route(&self, cx: Cx, viewer: Result<Option<session::Viewer>, web::PageError>) -> Response<Full<Bytes>> {
        let viewer = match viewer {
            Ok(v) => v,
            Err(e) => return e.render(None, &cx.nonce),
        };
        let state_changing = matches!(cx.method, Method::POST | Method::PUT | Method::DELETE | Method::PATCH);
        // Sign-in is the one state change made without a session.
        if state_changing && cx.path != "/signin" {
            let Some(v) = &viewer else {
                return web::error_page(
                    StatusCode::FORBIDDEN,
                    "Signed out",
                    "Your session has ended, so the change was not made. Sign in again and retry.",
                    None,
                    &cx.nonce,
                );
            };
            if !session::csrf_ok(&v.session, &cx) {
                return web::error_page(
                    StatusCode::FORBIDDEN,
                    "Request refused",
                    "The form was missing its security token or it did not match your session. \
                     Reload the page and try again.",
                    Some(web::nav(v, &self.cfg)),
                    &cx.nonce,
                );
            }
        }
        let segments: Vec<&str> = cx.path.trim_start_matches('/').split('/').collect();
        let r = match (&cx.method, segments.as_slice()) {
            (&Method::GET, [""]) => {
                Ok(web::redirect(if viewer.is_some() { "/buckets" } else { "/signin" }, None, &cx.nonce))
            }
            (&Method::GET, ["signin"]) => signin::page(self, &cx, viewer.as_ref()),
            (&Method::POST, ["signin"]) => signin::submit(self, &cx).await,
            _ => match &viewer {
                None => Ok(web::redirect("/signin", None, &cx.nonce)),
                Some(v) => self.route_signed_in(&cx, v, &segments).await,
            },
        };
        match r {
            Ok(resp) => resp,
            Err(e) => e.render(viewer.as_ref().map(|v| web::nav(v, &self.cfg)), &cx.nonce),
        }
    }

    async fn route_signed_in(
        &self,
        cx: &Cx,
        v: &session::Viewer,
        segments: &[&str],
    ) -> Result<Response<Full<Bytes>>, web::PageError> {
        match (&cx.method, segments) {
            (&Method::POST, ["signout"]) => signin::sign_out(self, cx, v).await,
            (&Method::POST, ["region"]) => signin::switch_region(self, cx, v),
            (&Method::GET, ["buckets"]) => buckets::list(self, cx, v).await,
            (&Method::POST, ["buckets"]) => buckets::create(self, cx, v).await,
            (&Method::GET, ["buckets", name]) => objects::browse(self, cx, v, name).await,
            (&Method::GET, ["buckets", name, "object"]) => object::details(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "share"]) => object::share(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "delete-objects"]) => objects_delete::delete(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "visibility"]) => settings::set_visibility(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "versioning"]) => protection::set_versioning(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "object-lock"]) => protection::set_object_lock(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "public-access-block"]) => {
                protection::set_public_access_block(self, cx, v, name).await
            }
            (&Method::POST, ["buckets", name, "lifecycle-add"]) => lifecycle::add(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "lifecycle-remove"]) => lifecycle::remove(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "restore-version"]) => versions::restore(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "delete-version"]) => versions::delete(self, cx, v, name).await,
            (&Method::GET, ["buckets", name, "delete"]) => buckets::confirm_delete(self, cx, v, name).await,
            (&Method::POST, ["buckets", name, "delete"]) => buckets::delete(self, cx, v, name).await,
            (&Method::GET, ["keys"]) => keys::list(self, cx, v).await,
            (&Method::POST, ["keys"]) => keys::create(self, cx, v).await,
            (&Method::POST, ["keys", ak, "activate"]) => keys::set_status(self, cx, v, ak, true).await,
            (&Method::POST, ["keys", ak, "deactivate"]) => keys::set_status(self, cx, v, ak, false).await,
            (&Method::GET, ["keys", ak, "delete"]) => keys::confirm_delete(self, cx, v, ak).await,
            (&Method::POST, ["keys", ak, "delete"]) => keys::delete(self, cx, v, ak).await,
            (&Method::GET, ["usage"]) => usage::page(self, cx, v).await,
            (&Method::GET, ["projects"]) if projects::operator(v) => projects::list(self, cx, v).await,
            (&Method::POST, ["projects"]) if projects::operator(v) => projects::create(self, cx, v).await,
            (&Method::GET, ["projects", p]) if projects::operator(v) => projects::detail(self, cx, v, p).await,
            (&Method::POST, ["projects", p, "quota"]) if projects::operator(v) => {
                projects::set_quota(self, cx, v, p).await
            }
            (&Method::GET, ["users"]) => users::list(self, cx, v).await,
            (&Method::POST, ["users"]) => users::create(self, cx, v).await,
            (&Method::GET, ["users", name, "password"]) => users_edit::password_page(self, cx, v, name).await,
            (&Method::POST, ["users", name, "password"]) => users_edit::set_password(self, cx, v, name).await,
            (&Method::POST, ["users", name, "password", "remove"]) => {
                users_edit::remove_password(self, cx, v, name).await
            }
            (&Method::GET, ["users", name, "delete"]) => users_edit::confirm_delete(self, cx, v, name).await,
            (&Method::POST, ["users", name, "delete"]) => users_edit::delete(self, cx, v, name).await,
            (_, ["signout" | "region" | "buckets" | "keys" | "usage" | "users"])
            | (_, ["buckets", _])
            | (_, ["buckets", _, "delete" | "object" | "share" | "delete-objects" | "visibility"])
            | (
                _,
                ["buckets", _, "versioning" | "object-lock" | "public-access-block" | "restore-version" | "delete-version"],
            )
            | (_, ["keys", _, "delete" | "activate" | "deactivate"])
            | (_, ["users", _, "password" | "delete"])
            | (_, ["users", _, "password", "remove"]) => Err(web::PageError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                "This page does not answer that kind of request.",
            )),
            (_, ["projects"] | ["projects", _] | ["projects", _, "quota"]) if projects::operator(v) => {
                Err(web::PageError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method not allowed",
                    "This page does not answer that kind of request.",
                ))
            }
            _ => Err(web::PageError::not_found()),
        }
    }
}
