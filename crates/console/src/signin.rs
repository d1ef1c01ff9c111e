//! Sign-in (project user with password, or operator with access key and
//! secret), sign-out, and the region switch.

use crate::session::{
    clear_cookie, ct_eq, fingerprint, operator_generation_key, set_cookie, user_generation_key, Session, Viewer, Who,
};
use crate::web::{self, Chrome, PageError};
use crate::{throttle, Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_iam::{Principal, ResolveError, SigninError};
use coffer_types::now_millis;
use http::{Response, StatusCode};
use http_body_util::Full;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage<'a> {
    chrome: Chrome,
    operator: bool,
    error: Option<String>,
    project: &'a str,
    user: &'a str,
    access_key: &'a str,
    regions: &'a [String],
}

fn render(inner: &Inner, cx: &Cx, status: StatusCode, operator: bool, error: Option<String>) -> Response<Full<Bytes>> {
    let t = SigninPage {
        chrome: Chrome { title: "Sign in".into(), nonce: cx.nonce.clone(), nav: None },
        operator,
        error,
        project: cx.form.text("project"),
        user: cx.form.text("user"),
        access_key: cx.form.text("access_key"),
        regions: &inner.cfg.regions,
    };
    web::page(status, &t, &cx.nonce)
}

/// `GET /signin`: the form (`?as=operator` for the operator's).
pub(crate) fn page(inner: &Inner, cx: &Cx, viewer: Option<&Viewer>) -> Result<Response<Full<Bytes>>, PageError> {
    if viewer.is_some() {
        return Ok(web::redirect("/buckets", None, &cx.nonce));
    }
    Ok(render(inner, cx, StatusCode::OK, cx.query.get("as") == Some("operator"), None))
}

/// Whether a browser says the form came from another site (login CSRF).
fn cross_site(cx: &Cx) -> bool {
    let header = |n: &str| cx.headers.get(n).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| s == "cross-site" || s == "same-site") {
        return true;
    }
    match (header("origin"), header("host")) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, h)| h) != Some(host),
        _ => false,
    }
}

/// `POST /signin`.
pub(crate) async fn submit(inner: &Inner, cx: &Cx) -> Result<Response<Full<Bytes>>, PageError> {
    let operator = cx.form.get("kind") == Some("operator");
    if cross_site(cx) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            "The sign-in form was sent from another site. Open the console directly and sign in there.",
        ));
    }
    let ip = cx.peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip().to_canonical());
    let (account, missing) = if operator {
        let ak = cx.form.text("access_key");
        (format!("operator:{ak}"), ak.is_empty() || cx.form.get("secret_key").is_none_or(str::is_empty))
    } else {
        let (p, u) = (cx.form.text("project"), cx.form.text("user"));
        (format!("user:{p}/{u}"), p.is_empty() || u.is_empty() || cx.form.get("password").is_none_or(str::is_empty))
    };
    if missing {
        let msg =
            if operator { "Enter the access key and the secret key." } else { "Enter the project, user and password." };
        return Ok(render(inner, cx, StatusCode::BAD_REQUEST, operator, Some(msg.into())));
    }
    // The throttle is asked before any password is hashed.
    let store = inner.iam.store().as_ref();
    let refused = throttle::refused(store, ip, &account, now_millis())
        .await
        .map_err(|e| PageError::failed("reading the sign-in throttle", e))?;
    if let Some(r) = refused {
        let minutes = r.wait.as_secs().div_ceil(60).max(1);
        let whom = if r.whole_address { "from your address" } else { "for this account from your address" };
        let msg = format!(
            "Too many failed sign-ins {whom}. Sign-in is paused for {minutes} more minute(s); try again later, or \
             ask the project's root user to reset the password."
        );
        let resp = render(inner, cx, StatusCode::TOO_MANY_REQUESTS, operator, Some(msg));
        inner.sign_in("throttled");
        return Ok(retry_after(resp, r.wait.as_secs().max(1)));
    }
    // One password check per (address, account) at a time: a burst of
    // simultaneous guesses would all pass the throttle above before the
    // first failure is recorded.
    let Some(_checking) = inner.signins.enter(ip, &account) else {
        let msg = "Another sign-in for this account from your address is being checked. Try again in a moment.";
        let resp = render(inner, cx, StatusCode::TOO_MANY_REQUESTS, operator, Some(msg.into()));
        inner.sign_in("throttled");
        return Ok(retry_after(resp, 1));
    };
    let verified = if operator { verify_operator(inner, cx).await? } else { verify_user(inner, cx).await? };
    let (who, fp, generation_key) = match verified {
        Verified::Yes { who, fp, generation_key } => (who, fp, generation_key),
        Verified::Busy => {
            let msg = "The console is busy checking other sign-ins. Try again in a few seconds.";
            let resp = render(inner, cx, StatusCode::SERVICE_UNAVAILABLE, operator, Some(msg.into()));
            inner.sign_in("busy");
            return Ok(retry_after(resp, 2));
        }
        Verified::No => {
            throttle::failed(store, ip, &account, now_millis())
                .await
                .map_err(|e| PageError::failed("recording a failed sign-in", e))?;
            inner.sign_in("failed");
            let msg = if operator {
                "Wrong access key or secret key, or the key is not the operator's."
            } else {
                "Wrong project, user name or password (or no console password is set for this user)."
            };
            return Ok(render(inner, cx, StatusCode::UNAUTHORIZED, operator, Some(msg.into())));
        }
    };
    let generation = store
        .session_generation(&generation_key)
        .await
        .map_err(|e| PageError::failed("reading the session generation", e))?;
    let region = match cx.form.get("region") {
        Some(r) if inner.cfg.regions.iter().any(|x| x == r) => r.to_owned(),
        _ => inner.cfg.regions[0].clone(),
    };
    let s = Session::new(who, region, fp, generation, inner.cfg.session_ttl);
    let sealed = s.seal(&inner.iam).map_err(PageError::internal)?;
    tracing::info!(who = ?s.who, peer = ?cx.peer, "console sign-in");
    inner.sign_in("ok");
    Ok(web::redirect("/buckets", Some(set_cookie(&sealed, inner.cfg.session_ttl, inner.cfg.secure_cookies)), &cx.nonce))
}

/// Adds `Retry-After: secs` to a refusal.
fn retry_after(mut resp: Response<Full<Bytes>>, secs: u64) -> Response<Full<Bytes>> {
    resp.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    resp
}

/// The outcome of checking a sign-in's credentials.
enum Verified {
    /// Signed in as `who`; `fp` fingerprints the credential, `generation_key`
    /// names the principal's session generation.
    Yes { who: Who, fp: String, generation_key: String },
    /// Wrong credentials (a failure for the throttle).
    No,
    /// Not checked: every password slot stayed busy.
    Busy,
}

async fn verify_operator(inner: &Inner, cx: &Cx) -> Result<Verified, PageError> {
    let ak = cx.form.text("access_key");
    let sk = cx.form.get("secret_key").unwrap_or("");
    match inner.iam.resolve(ak, None, now_millis()).await {
        Ok(r) => match r.principal {
            Principal::Operator { access_key } if ct_eq(r.secret.as_bytes(), sk.as_bytes()) => Ok(Verified::Yes {
                fp: fingerprint(&r.secret),
                generation_key: operator_generation_key(&access_key),
                who: Who::Operator { access_key },
            }),
            _ => Ok(Verified::No),
        },
        Err(ResolveError::Failed(e)) => Err(PageError::failed("resolving an operator key", e)),
        Err(_) => Ok(Verified::No),
    }
}

async fn verify_user(inner: &Inner, cx: &Cx) -> Result<Verified, PageError> {
    let (project, user) = (cx.form.text("project"), cx.form.text("user"));
    let password = cx.form.get("password").unwrap_or("");
    let up = match inner.iam.check_password(project, user, password).await {
        Ok(up) => up,
        Err(SigninError::BadCredentials) => return Ok(Verified::No),
        Err(SigninError::Busy) => return Ok(Verified::Busy),
        Err(SigninError::Failed(e)) => return Err(PageError::failed("checking a console password", e)),
    };
    // The fingerprint of the stored hash: a password change ends the session.
    let rec =
        inner.iam.store().get_user(&up.project, &up.user).await.map_err(|e| PageError::failed("loading user", e))?;
    match rec {
        Some(rec) => match &rec.password_hash {
            Some(h) => Ok(Verified::Yes {
                fp: fingerprint(h),
                generation_key: user_generation_key(&rec),
                who: Who::User { project: up.project, user: up.user },
            }),
            None => Ok(Verified::No),
        },
        None => Ok(Verified::No),
    }
}

/// `POST /signout` (CSRF checked by the router): ends every session of the
/// principal, on every gateway, then clears the cookie.
pub(crate) async fn sign_out(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    inner.iam.store().end_sessions(&v.generation_key).await.map_err(|e| PageError::failed("ending the sessions", e))?;
    tracing::info!(who = ?v.session.who, peer = ?cx.peer, "console sign-out");
    Ok(web::redirect("/signin", Some(clear_cookie(inner.cfg.secure_cookies)), &cx.nonce))
}

/// `POST /region`: act in another served region (same session otherwise).
pub(crate) fn switch_region(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    let region = cx.form.text("region");
    if !inner.cfg.regions.iter().any(|r| r == region) {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Unknown region",
            format!("This deployment does not serve a region named {region:?}."),
        ));
    }
    let mut s = v.session.clone();
    s.region = region.to_owned();
    let sealed = s.seal(&inner.iam).map_err(PageError::internal)?;
    let left = std::time::Duration::from_millis((s.exp - now_millis()).max(0) as u64);
    Ok(web::redirect("/buckets", Some(set_cookie(&sealed, left, inner.cfg.secure_cookies)), &cx.nonce))
}
