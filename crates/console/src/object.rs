//! One object: its details (size, type, ETag, checksum, metadata, last
//! modified), and share links (presigned URLs, `share.rs`).

use crate::authz::BucketAuthz;
use crate::form::href;
use crate::objects::{bucket, crumbs, engine_err, key_param, Crumb, DELIMITER};
use crate::session::Viewer;
use crate::share::{self, EXPIRIES};
use crate::web::{self, human_bytes, human_time, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_engine::{EngineError, GetInput};
use coffer_meta::ObjectRecord;
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
}

fn not_found(key: &str) -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "No such object",
        format!("There is no object with the key {key:?} in this bucket. It may have been deleted or renamed."),
    )
}

/// Loads the object after checking `s3:GetObject` on it.
async fn load(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<(String, ObjectRecord, bool), PageError> {
    let b = bucket(inner, v, name).await?;
    let key = key_param(cx)?;
    let authz = BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b).await.map_err(engine_err)?;
    if !authz.on_existing_object("s3:GetObject", key).await.map_err(engine_err)? {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your policy does not allow reading this object (s3:GetObject).",
        ));
    }
    let can_delete = authz.on_existing_object("s3:DeleteObject", key).await.map_err(engine_err)?;
    let input = GetInput { bucket: b.name.clone(), key: key.to_owned(), head: true, ..Default::default() };
    match inner.engine.get_object(input).await {
        Ok(out) => {
            inner.count(&b.project, &b.name, crate::TransferKind::Get, 0, 0);
            Ok((b.name, out.object, can_delete))
        }
        Err(EngineError::NoSuchKey) => Err(not_found(key)),
        Err(e) => Err(engine_err(e)),
    }
}

fn render(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    bucket: String,
    o: ObjectRecord,
    can_delete: bool,
    shared: Option<Shared>,
) -> Response<Full<Bytes>> {
    let folder = o.key.rfind(DELIMITER).map_or("", |i| &o.key[..=i]).to_owned();
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
        chrome: web::chrome(inner, cx, v, &o.key),
        csrf: v.session.csrf.clone(),
        crumbs: crumbs(&bucket, &folder),
        download: href(&format!("/buckets/{bucket}/download"), &[("key", &o.key)]),
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
        key: o.key,
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
    let (bucket, o, can_delete) = load(inner, cx, v, name).await?;
    Ok(render(inner, cx, v, bucket, o, can_delete, None))
}

/// `POST /buckets/{name}/share` with `key` and `expires` (seconds).
pub(crate) async fn share(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let (bucket, o, can_delete) = load(inner, cx, v, name).await?;
    let Some((secs, label)) = cx.form.get("expires").and_then(|e| EXPIRIES.iter().find(|(s, _)| s.to_string() == e))
    else {
        return Err(PageError::new(StatusCode::BAD_REQUEST, "Choose an expiry", "Pick how long the link works."));
    };
    let region = v.session.region.clone();
    let until = coffer_types::now_millis() + (*secs as i64) * 1000;
    let signer = share::signer(inner, v, &region, until).await?;
    let host = cx.headers.get(http::header::HOST).and_then(|h| h.to_str().ok());
    let base = inner.cfg.s3.base(&region, host);
    let url = share::presign(&base, &bucket, &o.key, &signer, &region, *secs);
    tracing::info!(%bucket, key = %o.key, signer = %signer.access_key, secs, "console made a share link");
    let shared = Shared {
        url,
        expires: format!("{label} (until {})", human_time(until)),
        access_key: signer.access_key.clone(),
        created: signer.created,
    };
    Ok(render(inner, cx, v, bucket, o, can_delete, Some(shared)))
}
