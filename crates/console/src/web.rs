//! Responses: security headers on every one (CSP with a fresh nonce,
//! nosniff, same-origin referrer), HTML pages, redirects, and typed page
//! errors that say what happened.

use crate::session::Viewer;
use crate::ConsoleConfig;
use askama::Template;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use rand::RngCore as _;

/// A fresh CSP nonce (128 random bits).
pub(crate) fn nonce() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    B64.encode(b)
}

/// The Content Security Policy of a response with this nonce.
pub(crate) fn csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// Adds the headers every console response carries.
pub(crate) fn secure(resp: &mut Response<Full<Bytes>>, nonce: &str) {
    secure_headers(resp.headers_mut(), nonce);
}

/// The headers every console response carries, added to `h`.
pub(crate) fn secure_headers(h: &mut http::HeaderMap, nonce: &str) {
    if let Ok(v) = HeaderValue::from_str(&csp(nonce)) {
        h.insert("content-security-policy", v);
    }
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.entry(CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
}

/// A response with a body of `content_type`.
pub(crate) fn body(status: StatusCode, content_type: &'static str, body: Bytes, nonce: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    secure(&mut r, nonce);
    r
}

/// Renders a page; a template failure becomes a plain 500.
pub(crate) fn page(status: StatusCode, t: &impl Template, nonce: &str) -> Response<Full<Bytes>> {
    match t.render() {
        Ok(html) => body(status, "text/html; charset=utf-8", Bytes::from(html), nonce),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                Bytes::from_static(b"Internal error"),
                nonce,
            )
        }
    }
}

/// 303 See Other to a console path, optionally setting a cookie.
pub(crate) fn redirect(location: &str, cookie: Option<HeaderValue>, nonce: &str) -> Response<Full<Bytes>> {
    let mut r = body(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", Bytes::new(), nonce);
    r.headers_mut().insert(LOCATION, HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")));
    if let Some(c) = cookie {
        r.headers_mut().insert(SET_COOKIE, c);
    }
    r
}

/// What the nav bar shows for a signed-in principal.
pub(crate) struct Nav {
    pub who: String,
    pub region: String,
    /// Every region served (a selector is shown when there are several).
    pub regions: Vec<String>,
    pub csrf: String,
    /// Signed in as the operator (the nav shows operator pages).
    pub operator: bool,
}

pub(crate) fn nav(v: &Viewer, cfg: &ConsoleConfig) -> Nav {
    Nav {
        who: v.display(),
        region: v.session.region.clone(),
        regions: cfg.regions.clone(),
        csrf: v.session.csrf.clone(),
        operator: matches!(v.principal, coffer_iam::Principal::Operator { .. }),
    }
}

/// The layout of a signed-in viewer's page titled `title`.
pub(crate) fn chrome(inner: &crate::Inner, cx: &crate::Cx, v: &Viewer, title: &str) -> Chrome {
    Chrome { title: title.into(), nonce: cx.nonce.clone(), nav: Some(nav(v, &inner.cfg)) }
}

/// What every page's layout needs.
pub(crate) struct Chrome {
    pub title: String,
    pub nonce: String,
    pub nav: Option<Nav>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    heading: &'a str,
    message: &'a str,
}

/// An error page: status, heading, and a message saying what happened.
pub(crate) fn error_page(
    status: StatusCode,
    heading: &str,
    message: &str,
    nav: Option<Nav>,
    nonce: &str,
) -> Response<Full<Bytes>> {
    let t = ErrorPage {
        chrome: Chrome { title: heading.to_owned(), nonce: nonce.to_owned(), nav },
        status: status.as_u16(),
        heading,
        message,
    };
    page(status, &t, nonce)
}

/// An unexpected failure: logged here, answered without detail.
pub(crate) fn internal(detail: &str, nonce: &str) -> Response<Full<Bytes>> {
    tracing::error!(error = %detail, "console request failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request. Nothing was changed that you were not told about; try again \
         in a moment, and tell the operator if it keeps happening.",
        None,
        nonce,
    )
}

/// The metadata store cannot answer now (unreachable or contended) and
/// nothing was changed: 503 with `Retry-After`, logged as a warning.
pub(crate) fn unavailable(detail: &str, nonce: &str) -> Response<Full<Bytes>> {
    tracing::warn!(error = %detail, "console request: metadata store unavailable");
    let mut r = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again in a moment",
        "The server cannot reach its database right now. Nothing was changed; try again in a moment.",
        None,
        nonce,
    );
    r.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    r
}

/// Seconds a client is asked to wait before retrying a request the store
/// could not serve.
pub(crate) const RETRY_AFTER_SECS: &str = "1";

/// Whether `e` is a failure of the metadata store that asks to be retried
/// later ([`coffer_meta::MetaError::is_retryable`]), however it was wrapped
/// on its way here (identity, key resolution, sign-in or engine errors).
pub(crate) fn store_unavailable(e: &dyn std::any::Any) -> bool {
    use coffer_iam::{IamError, ResolveError, SigninError};
    let iam = |e: &IamError| matches!(e, IamError::Store(m) if m.is_retryable());
    if let Some(m) = e.downcast_ref::<coffer_meta::MetaError>() {
        m.is_retryable()
    } else if let Some(e) = e.downcast_ref::<IamError>() {
        iam(e)
    } else if let Some(ResolveError::Failed(e)) = e.downcast_ref::<ResolveError>() {
        iam(e)
    } else if let Some(SigninError::Failed(e)) = e.downcast_ref::<SigninError>() {
        iam(e)
    } else {
        matches!(e.downcast_ref::<coffer_engine::EngineError>(), Some(coffer_engine::EngineError::Unavailable(_)))
    }
}

/// A page-level failure, rendered as an error page.
#[derive(Debug)]
pub(crate) struct PageError {
    pub status: StatusCode,
    pub heading: String,
    pub message: String,
    /// Logged, never shown.
    pub detail: Option<String>,
}

impl PageError {
    pub fn new(status: StatusCode, heading: &str, message: impl Into<String>) -> Self {
        PageError { status, heading: heading.to_owned(), message: message.into(), detail: None }
    }

    /// The answer for an address with no page (or one the viewer may not know of).
    pub fn not_found() -> Self {
        PageError::new(StatusCode::NOT_FOUND, "Page not found", "There is no console page at this address.")
    }

    /// An internal failure (store or template), logged with `detail`; a
    /// store that asks to be retried later makes it a 503 instead.
    pub fn internal<E: std::fmt::Display + 'static>(detail: E) -> Self {
        let status = if store_unavailable(&detail) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        PageError { status, heading: String::new(), message: String::new(), detail: Some(detail.to_string()) }
    }

    /// [`PageError::internal`] for `e`, logged as `context: e`.
    pub fn failed<E: std::fmt::Display + 'static>(context: &str, e: E) -> Self {
        let mut p = PageError::internal(format!("{context}: {e}"));
        if store_unavailable(&e) {
            p.status = StatusCode::SERVICE_UNAVAILABLE;
        }
        p
    }

    /// Whether the store asked to be retried later (503 with `Retry-After`).
    pub fn is_unavailable(&self) -> bool {
        self.detail.is_some() && self.status == StatusCode::SERVICE_UNAVAILABLE
    }

    pub fn render(self, nav: Option<Nav>, nonce: &str) -> Response<Full<Bytes>> {
        let unavailable_now = self.is_unavailable();
        match self.detail {
            Some(d) if unavailable_now => unavailable(&d, nonce),
            Some(d) => internal(&d, nonce),
            None => error_page(self.status, &self.heading, &self.message, nav, nonce),
        }
    }
}

/// Bytes as people read them: `0 B`, `1.5 KiB`, `2.0 GiB`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// A Unix-millisecond time as `2026-01-31 14:05 UTC`.
pub(crate) fn human_time(ms: coffer_types::UnixMillis) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => {
            format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
        }
        Err(_) => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(human_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(human_time(1_700_000_000_000), "2023-11-14 22:13 UTC");
    }
}

#[cfg(test)]
mod unavailable_tests {
    use super::*;
    use coffer_iam::{IamError, ResolveError};
    use coffer_meta::MetaError;

    #[test]
    fn an_unavailable_store_is_503_with_retry_after_never_500() {
        let down = || MetaError::Unavailable("connection refused".into());
        for e in [
            PageError::internal(down()),
            PageError::internal(MetaError::Conflict),
            PageError::internal(IamError::Store(down())),
            PageError::failed("checking the operator key", ResolveError::Failed(IamError::Store(down()))),
            PageError::internal(coffer_engine::EngineError::from(down())),
        ] {
            assert!(e.is_unavailable(), "{e:?}");
            let r = e.render(None, "n");
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(r.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
        }
        let other = PageError::internal(MetaError::Corrupt("x".into()));
        assert!(!other.is_unavailable());
        let r = other.render(None, "n");
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(r.headers().get(http::header::RETRY_AFTER).is_none());
    }
}
