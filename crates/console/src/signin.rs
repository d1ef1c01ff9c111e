//! Sign-in (project user with password, or operator with access key and
//! secret), sign-out, and the region switch.

use crate::session::{clear_cookie, ct_eq, fingerprint, set_cookie, Session, Viewer, Who};
use crate::web::{self, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_iam::{IamError, Principal, ResolveError};
use http::{Response, StatusCode};
use http_body_util::Full;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

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
    if let Some(wait) = inner.throttle.blocked(ip, &account, Instant::now()) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let msg = format!(
            "Too many failed sign-ins for this account from your address. Sign-in is paused for {minutes} more \
             minute(s); try again later, or ask the project's root user to reset the password."
        );
        return Ok(render(inner, cx, StatusCode::TOO_MANY_REQUESTS, operator, Some(msg)));
    }
    let verified = if operator { verify_operator(inner, cx).await? } else { verify_user(inner, cx).await? };
    let Some((who, fp)) = verified else {
        inner.throttle.fail(ip, &account, Instant::now());
        let msg = if operator {
            "Wrong access key or secret key, or the key is not the operator's."
        } else {
            "Wrong project, user name or password (or no console password is set for this user)."
        };
        return Ok(render(inner, cx, StatusCode::UNAUTHORIZED, operator, Some(msg.into())));
    };
    inner.throttle.clear(ip, &account);
    let region = match cx.form.get("region") {
        Some(r) if inner.cfg.regions.iter().any(|x| x == r) => r.to_owned(),
        _ => inner.cfg.regions[0].clone(),
    };
    let s = Session::new(who, region, fp, inner.cfg.session_ttl);
    let sealed = s.seal(&inner.iam).map_err(PageError::internal)?;
    tracing::info!(who = ?s.who, peer = ?cx.peer, "console sign-in");
    Ok(web::redirect("/buckets", Some(set_cookie(&sealed, inner.cfg.session_ttl, inner.cfg.secure_cookies)), &cx.nonce))
}

async fn verify_operator(inner: &Inner, cx: &Cx) -> Result<Option<(Who, String)>, PageError> {
    let ak = cx.form.text("access_key");
    let sk = cx.form.get("secret_key").unwrap_or("");
    match inner.iam.resolve(ak, None, coffer_types::now_millis()).await {
        Ok(r) => match r.principal {
            Principal::Operator { access_key } if ct_eq(r.secret.as_bytes(), sk.as_bytes()) => {
                Ok(Some((Who::Operator { access_key }, fingerprint(&r.secret))))
            }
            _ => Ok(None),
        },
        Err(ResolveError::Failed(e)) => Err(PageError::internal(format!("resolving an operator key: {e}"))),
        Err(_) => Ok(None),
    }
}

async fn verify_user(inner: &Inner, cx: &Cx) -> Result<Option<(Who, String)>, PageError> {
    let (project, user) = (cx.form.text("project"), cx.form.text("user"));
    let password = cx.form.get("password").unwrap_or("");
    let up = match inner.iam.check_password(project, user, password).await {
        Ok(up) => up,
        Err(IamError::BadCredentials) => return Ok(None),
        Err(e) => return Err(PageError::internal(format!("checking a console password: {e}"))),
    };
    // The fingerprint of the stored hash: a password change ends the session.
    let rec = inner
        .iam
        .store()
        .get_user(&up.project, &up.user)
        .await
        .map_err(|e| PageError::internal(format!("loading user: {e}")))?;
    match rec.and_then(|r| r.password_hash) {
        Some(h) => Ok(Some((Who::User { project: up.project, user: up.user }, fingerprint(&h)))),
        None => Ok(None),
    }
}

/// `POST /signout` (CSRF checked by the router).
pub(crate) fn sign_out(inner: &Inner, cx: &Cx) -> Response<Full<Bytes>> {
    web::redirect("/signin", Some(clear_cookie(inner.cfg.secure_cookies)), &cx.nonce)
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
    let left = std::time::Duration::from_millis((s.exp - coffer_types::now_millis()).max(0) as u64);
    Ok(web::redirect("/buckets", Some(set_cookie(&sealed, left, inner.cfg.secure_cookies)), &cx.nonce))
}
