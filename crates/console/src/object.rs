//! One object: its details (size, type, ETag, checksum, metadata, last
//! modified), share links (presigned URLs, `share.rs`) and, in a bucket that
//! keeps versions, its versions (`versions.rs`). A key whose latest version
//! is a delete marker still has a page: it says the object is deleted and
//! lists the versions that can bring it back.

use crate::authz::BucketAuthz;
use crate::form::href;
use crate::objects::{bucket, crumbs, engine_err, key_param, Crumb, DELIMITER};
use crate::session::Viewer;
use crate::share::{self, EXPIRIES};
use crate::versions::VersionList;
use crate::web::{self, human_bytes, human_time, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_engine::{BucketInfo, EngineError, GetInput};
use coffer_meta::ObjectRecord;
use coffer_types::{is_version_id, UnixMillis};
use http::{Response, StatusCode};
use http_body_util::Full;

/// A link just made.
struct Shared {
    url: String,
    expires: String,
    access_key: String,
    created: bool,
}

#[derive(Template)]
#[template(path = "object.html")]
struct ObjectPage {
    chrome: Chrome,
    csrf: String,
    bucket: String,
    key: String,
    crumbs: Vec<Crumb>,
    folder: String,
    size: String,
    size_bytes: u64,
    content_type: String,
    etag: String,
    checksum: Option<String>,
    modified: String,
    headers: Vec<(String, String)>,
    metadata: Vec<(String, String)>,
    download: String,
    can_delete: bool,
    expiries: Vec<(u64, &'static str)>,
    shared: Option<Shared>,
    /// The latest version is a delete marker: its id and time.
    deleted: Option<(String, String)>,
    versions: Option<VersionList>,
    notice: Option<String>,
}

/// What the key's latest version is.
enum Current {
    Object(Box<ObjectRecord>),
    /// A delete marker: the object is deleted; older versions may remain.
    Deleted {
        version_id: String,
        last_modified: UnixMillis,
    },
}

/// An object page's facts.
struct Loaded {
    bucket: BucketInfo,
    key: String,
    current: Current,
    can_delete: bool,
    versions: Option<VersionList>,
}

fn not_found(key: &str) -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "No such object",
        format!("There is no object with the key {key:?} in this bucket. It may have been deleted or renamed."),
    )
}

/// Loads the object after checking `s3:GetObject` on it, and its versions.
async fn load(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Loaded, PageError> {
    let b = bucket(inner, v, name).await?;
    let key = key_param(cx)?.to_owned();
    let authz = BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b).await.map_err(engine_err)?;
    if !authz.on_existing_object("s3:GetObject", &key).await.map_err(engine_err)? {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your policy does not allow reading this object (s3:GetObject).",
        ));
    }
    let can_delete = authz.on_existing_object("s3:DeleteObject", &key).await.map_err(engine_err)?;
    let input = GetInput { bucket: b.name.clone(), key: key.clone(), head: true, ..Default::default() };
    let current = match inner.engine.get_object(input).await {
        Ok(out) => Current::Object(Box::new(out.object)),
        Err(EngineError::DeleteMarker { version_id, last_modified, .. }) => {
            Current::Deleted { version_id, last_modified }
        }
        Err(EngineError::NoSuchKey) => return Err(not_found(&key)),
        Err(e) => return Err(engine_err(e)),
    };
    inner.count(&b.project, &b.name, crate::TransferKind::Get, 0, 0);
    let versions = match b.versioning.is_versioned() {
        true => Some(crate::versions::list(inner, &authz, &b, &key, cx.query.get("older")).await?),
        false => None,
    };
    Ok(Loaded { bucket: b, key, current, can_delete, versions })
}

/// The notice after a change to the object's versions.
fn notice(cx: &Cx) -> Option<String> {
    let id = |k: &str| cx.query.get(k).filter(|v| is_version_id(v));
    if let Some(v) = id("restored") {
        return Some(format!("Version {v} was restored: a copy of it is now the latest version."));
    }
    id("version_deleted").map(|v| format!("Version {v} was deleted."))
}

fn render(inner: &Inner, cx: &Cx, v: &Viewer, l: Loaded, shared: Option<Shared>) -> Response<Full<Bytes>> {
    let Loaded { bucket, key, current, can_delete, versions } = l;
    let bucket = bucket.name;
    let (o, deleted) = match current {
        Current::Object(o) => (*o, None),
        Current::Deleted { version_id, last_modified } => {
            let o = ObjectRecord { key: key.clone(), ..Default::default() };
            (o, Some((version_id, human_time(last_modified))))
        }
    };
    let folder = key.rfind(DELIMITER).map_or("", |i| &key[..=i]).to_owned();
    let m = &o.meta;
    let headers = [
        ("Content-Encoding", &m.content_encoding),
        ("Content-Disposition", &m.content_disposition),
        ("Content-Language", &m.content_language),
        ("Cache-Control", &m.cache_control),
        ("Expires", &m.expires),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.clone().map(|v| (n.to_owned(), v)))
    .collect();
    let t = ObjectPage {
        chrome: web::chrome(inner, cx, v, &key),
        csrf: v.session.csrf.clone(),
        crumbs: crumbs(&bucket, &folder),
        download: href(&format!("/buckets/{bucket}/download"), &[("key", &key)]),
        folder,
        size: human_bytes(o.size),
        size_bytes: o.size,
        content_type: m.content_type.clone().unwrap_or_else(|| "binary/octet-stream".into()),
        etag: o.etag.clone(),
        checksum: m.checksum.as_ref().filter(|c| !c.value.is_empty()).map(|c| format!("{} {}", c.algorithm, c.value)),
        modified: human_time(o.last_modified),
        headers,
        metadata: m.user.iter().map(|(k, v)| (format!("x-amz-meta-{k}"), v.clone())).collect(),
        can_delete,
        expiries: EXPIRIES.to_vec(),
        shared,
        deleted,
        versions,
        notice: notice(cx),
        key,
        bucket,
    };
    web::page(StatusCode::OK, &t, &cx.nonce)
}

/// `GET /buckets/{name}/object?key=`.
pub(crate) async fn details(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let l = load(inner, cx, v, name).await?;
    Ok(render(inner, cx, v, l, None))
}

/// `POST /buckets/{name}/share` with `key` and `expires` (seconds).
pub(crate) async fn share(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let l = load(inner, cx, v, name).await?;
    if matches!(l.current, Current::Deleted { .. }) {
        return Err(not_found(&l.key));
    }
    let bucket = l.bucket.name.clone();
    let Some((secs, label)) = cx.form.get("expires").and_then(|e| EXPIRIES.iter().find(|(s, _)| s.to_string() == e))
    else {
        return Err(PageError::new(StatusCode::BAD_REQUEST, "Choose an expiry", "Pick how long the link works."));
    };
    let region = v.session.region.clone();
    let until = coffer_types::now_millis() + (*secs as i64) * 1000;
    let signer = share::signer(inner, v, &region, until).await?;
    let host = cx.headers.get(http::header::HOST).and_then(|h| h.to_str().ok());
    let base = inner.cfg.s3.base(&region, host);
    let url = share::presign(&base, &bucket, &l.key, &signer, &region, *secs);
    tracing::info!(%bucket, key = %l.key, signer = %signer.access_key, secs, "console made a share link");
    let shared = Shared {
        url,
        expires: format!("{label} (until {})", human_time(until)),
        access_key: signer.access_key.clone(),
        created: signer.created,
    };
    Ok(render(inner, cx, v, l, Some(shared)))
}
