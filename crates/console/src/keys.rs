//! S3 access keys ("Identity and access"): a user lists and manages its own
//! keys; the project's root user those of every user of its project. A new
//! key's secret is shown once, in the response to its creation, and never
//! stored, logged or shown again. Keys of other projects (and unknown keys)
//! answer 404 alike. The operator manages keys with the CLI.

use crate::session::Viewer;
use crate::web::{self, chrome, human_time, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_iam::{IamError, NewKey, Principal, UserPrincipal};
use coffer_meta::{AccessKeyRecord, KeyStatus};
use http::{Response, StatusCode};
use http_body_util::Full;

struct Row {
    access_key: String,
    owner: String,
    region: String,
    active: bool,
    created: String,
    last_used: String,
    expires: String,
}

/// The key just created, with its secret (this response only).
struct Fresh {
    access_key: String,
    secret: String,
    region: String,
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    chrome: Chrome,
    csrf: String,
    /// `None` for the operator (keys belong to projects).
    rows: Option<Vec<Row>>,
    show_owner: bool,
    region: String,
    notice: Option<String>,
    error: Option<String>,
    fresh: Option<Fresh>,
}

#[derive(Template)]
#[template(path = "key_delete.html")]
struct DeletePage {
    chrome: Chrome,
    csrf: String,
    access_key: String,
    owner: String,
}

fn user_of(v: &Viewer) -> Option<&UserPrincipal> {
    match &v.principal {
        Principal::User(u) => Some(u),
        _ => None,
    }
}

fn row(k: AccessKeyRecord) -> Row {
    Row {
        owner: k.user,
        region: if k.region.is_empty() { "(all)".into() } else { k.region },
        active: k.status == KeyStatus::Active,
        created: human_time(k.created),
        last_used: k.last_used.map_or_else(|| "never".into(), human_time),
        expires: k.expires.map_or_else(|| "never".into(), human_time),
        access_key: k.access_key,
    }
}

async fn render(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    fresh: Option<Fresh>,
) -> Result<Response<Full<Bytes>>, PageError> {
    let rows = match user_of(v) {
        Some(u) => {
            let only = if u.root { None } else { Some(u.user.as_str()) };
            let keys = inner.iam.list_keys(&u.project, only).await.map_err(PageError::internal)?;
            Some(keys.into_iter().map(row).collect())
        }
        None => None,
    };
    let t = KeysPage {
        chrome: chrome(inner, cx, v, "S3 keys"),
        csrf: v.session.csrf.clone(),
        rows,
        show_owner: user_of(v).is_some_and(|u| u.root),
        region: v.session.region.clone(),
        notice,
        error,
        fresh,
    };
    let mut resp = web::page(status, &t, &cx.nonce);
    // Never cached, even if the default changes: the page may hold a secret.
    resp.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `GET /keys` (`?done=` after a change).
pub(crate) async fn list(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    let notice = match cx.query.get("done") {
        Some("activated") => Some("Key activated.".to_owned()),
        Some("deactivated") => Some("Key deactivated: requests signed with it are refused.".to_owned()),
        Some("deleted") => Some("Key deleted.".to_owned()),
        _ => None,
    };
    render(inner, cx, v, StatusCode::OK, notice, None, None).await
}

fn operator_refused() -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "Keys belong to projects",
        "S3 keys belong to a project's users. As the operator, manage them with the coffer CLI.",
    )
}

/// `POST /keys`: a new key for the signed-in user, in the session's region.
pub(crate) async fn create(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    let u = user_of(v).ok_or_else(operator_refused)?;
    let req = NewKey {
        project: u.project.clone(),
        user: Some(u.user.clone()),
        region: Some(v.session.region.clone()),
        expires: None,
    };
    match inner.iam.create_key(&req).await {
        Ok(k) => {
            tracing::info!(project = %u.project, user = %u.user, access_key = %k.record.access_key, "console created access key");
            let fresh = Fresh { access_key: k.record.access_key, secret: k.secret, region: k.record.region };
            render(inner, cx, v, StatusCode::OK, None, None, Some(fresh)).await
        }
        Err(IamError::TooManyKeys(n)) => {
            let msg = format!("You already have {n} keys, the most a user may have. Delete one first.");
            render(inner, cx, v, StatusCode::CONFLICT, None, Some(msg), None).await
        }
        Err(e) => Err(PageError::internal(e)),
    }
}

fn missing() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "No such key",
        "There is no such access key among yours. It may have been deleted.",
    )
}

/// The key named in the path, if the viewer may manage it; else 404.
async fn find(inner: &Inner, v: &Viewer, ak: &str) -> Result<AccessKeyRecord, PageError> {
    let u = user_of(v).ok_or_else(missing)?;
    if ak.is_empty() || ak.len() > 128 || !ak.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(missing());
    }
    match inner.iam.key(ak).await {
        Ok(k) if k.project == u.project && (u.root || k.user == u.user) => Ok(k),
        Ok(_) | Err(IamError::NoSuchKey(_)) => Err(missing()),
        Err(e) => Err(PageError::internal(e)),
    }
}

/// `POST /keys/{ak}/activate` and `/deactivate`.
pub(crate) async fn set_status(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    ak: &str,
    active: bool,
) -> Result<Response<Full<Bytes>>, PageError> {
    let k = find(inner, v, ak).await?;
    let status = if active { KeyStatus::Active } else { KeyStatus::Inactive };
    match inner.iam.set_key_status(&k.access_key, status).await {
        Ok(()) => {
            tracing::info!(project = %k.project, user = %k.user, access_key = %k.access_key, status = status.as_str(), "console set access key status");
            let done = if active { "activated" } else { "deactivated" };
            Ok(web::redirect(&format!("/keys?done={done}"), None, &cx.nonce))
        }
        Err(IamError::NoSuchKey(_)) => Err(missing()),
        Err(e) => Err(PageError::internal(e)),
    }
}

/// `GET /keys/{ak}/delete`: the confirmation.
pub(crate) async fn confirm_delete(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    ak: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let k = find(inner, v, ak).await?;
    let t = DeletePage {
        chrome: chrome(inner, cx, v, "Delete key"),
        csrf: v.session.csrf.clone(),
        access_key: k.access_key,
        owner: k.user,
    };
    Ok(web::page(StatusCode::OK, &t, &cx.nonce))
}

/// `POST /keys/{ak}/delete` with `confirm={ak}`.
pub(crate) async fn delete(inner: &Inner, cx: &Cx, v: &Viewer, ak: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let k = find(inner, v, ak).await?;
    if cx.form.get("confirm") != Some(k.access_key.as_str()) {
        return confirm_delete(inner, cx, v, ak).await;
    }
    match inner.iam.delete_key(&k.access_key).await {
        Ok(()) | Err(IamError::NoSuchKey(_)) => {
            tracing::info!(project = %k.project, user = %k.user, access_key = %k.access_key, "console deleted access key");
            Ok(web::redirect("/keys?done=deleted", None, &cx.nonce))
        }
        Err(e) => Err(PageError::internal(e)),
    }
}
