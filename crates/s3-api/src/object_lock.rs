//! Object lock: Put/GetObjectLockConfiguration, Put/GetObjectRetention,
//! Put/GetObjectLegalHold, and the integrity header their bodies (and a
//! write's lock headers) need. The rules are the engine's and the store's
//! (`coffer_engine::object_lock`).

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_s3_proto::router::Operation;
use coffer_s3_proto::{object_lock, S3Error, S3ErrorCode as C};
use coffer_types::now_millis;
use http::{Response, StatusCode};

/// The largest lock document read.
const MAX_DOC: u64 = 64 * 1024;

/// S3 refuses lock settings sent without `Content-MD5` or a checksum: the
/// setting cannot be undone, so its bytes must be the ones sent.
pub(crate) fn require_integrity(ctx: &Ctx) -> Result<(), S3Error> {
    let checksum = ctx.headers.keys().any(|k| k.as_str().starts_with("x-amz-checksum-"))
        || ctx.headers.contains_key("x-amz-sdk-checksum-algorithm");
    if ctx.headers.contains_key("content-md5") || checksum {
        return Ok(());
    }
    Err(S3Error::with_message(
        C::InvalidRequest,
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
    ))
}

pub(crate) async fn get_config(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    match s.engine.object_lock_config(ctx.bucket()).await.map_err(from_engine)? {
        Some(default) => Ok(respond::xml(object_lock::render_config(default.as_ref()))),
        None => Err(S3Error::new(C::ObjectLockConfigurationNotFoundError)),
    }
}

pub(crate) async fn put_config(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    require_integrity(ctx)?;
    let doc = body.read_small(ctx, MAX_DOC).await?;
    let default = object_lock::parse_config(&doc)?;
    let stamp = ctx.stamp();
    s.engine.set_object_lock_config(ctx.bucket(), stamp.as_ref(), default).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::OK))
}

/// `x-amz-bypass-governance-retention: true`, which needs
/// `s3:BypassGovernanceRetention` on the object.
pub(crate) async fn bypass(s: &S3Service, ctx: &Ctx, key: &str) -> Result<bool, S3Error> {
    let asked = ctx.header("x-amz-bypass-governance-retention").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if asked {
        let action = "s3:BypassGovernanceRetention";
        crate::authz::check_extra_as(s, ctx, Operation::DeleteObject, action, ctx.bucket(), Some(key)).await?;
    }
    Ok(asked)
}

pub(crate) async fn get_retention(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let (r, version) = s.engine.object_retention(ctx.bucket(), ctx.key(), ctx.version()).await.map_err(from_engine)?;
    let r = r.ok_or_else(|| S3Error::new(C::NoSuchObjectLockConfiguration))?;
    let mut resp = respond::xml(object_lock::render_retention(&r));
    respond::version_header(&mut resp, version.as_deref());
    Ok(resp)
}

pub(crate) async fn put_retention(
    s: &S3Service,
    ctx: &mut Ctx,
    body: RequestBody,
) -> Result<Response<ResBody>, S3Error> {
    require_integrity(ctx)?;
    let doc = body.read_small(ctx, MAX_DOC).await?;
    let retention = object_lock::parse_retention(&doc, now_millis())?;
    let bypass = bypass(s, ctx, ctx.key()).await?;
    let stamp = ctx.stamp();
    s.engine
        .set_object_retention(ctx.bucket(), stamp.as_ref(), ctx.key(), ctx.version(), retention, bypass)
        .await
        .map_err(from_engine)?;
    let mut r = respond::status(StatusCode::OK);
    respond::version_header(&mut r, ctx.version());
    Ok(r)
}

pub(crate) async fn get_legal_hold(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let (on, version) =
        s.engine.object_legal_hold(ctx.bucket(), ctx.key(), ctx.version()).await.map_err(from_engine)?;
    let mut r = respond::xml(object_lock::render_legal_hold(on));
    respond::version_header(&mut r, version.as_deref());
    Ok(r)
}

pub(crate) async fn put_legal_hold(
    s: &S3Service,
    ctx: &mut Ctx,
    body: RequestBody,
) -> Result<Response<ResBody>, S3Error> {
    require_integrity(ctx)?;
    let doc = body.read_small(ctx, MAX_DOC).await?;
    let on = object_lock::parse_legal_hold(&doc)?;
    let stamp = ctx.stamp();
    s.engine
        .set_object_legal_hold(ctx.bucket(), stamp.as_ref(), ctx.key(), ctx.version(), on)
        .await
        .map_err(from_engine)?;
    let mut r = respond::status(StatusCode::OK);
    respond::version_header(&mut r, ctx.version());
    Ok(r)
}

/// A write's lock headers, or none.
pub(crate) fn requested(headers: &http::HeaderMap) -> Result<object_lock::LockHeaders, S3Error> {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    object_lock::parse_headers(&get, now_millis())
}

/// The lock headers of GET/HEAD, for whoever may read them
/// (`s3:GetObjectRetention`, `s3:GetObjectLegalHold`).
pub(crate) async fn write_headers(s: &S3Service, ctx: &Ctx, h: &mut http::HeaderMap, meta: &coffer_meta::ObjectMeta) {
    let may = |action: &'static str| async move {
        crate::authz::check_extra_as(s, ctx, Operation::GetObject, action, ctx.bucket(), Some(ctx.key())).await.is_ok()
    };
    if let Some(r) = meta.retention {
        if may("s3:GetObjectRetention").await {
            let until = coffer_s3_proto::time_fmt::iso8601_millis(r.until);
            if let Ok(v) = http::HeaderValue::from_str(&until) {
                h.insert("x-amz-object-lock-retain-until-date", v);
            }
            h.insert("x-amz-object-lock-mode", http::HeaderValue::from_static(r.mode.as_str()));
        }
    }
    if meta.legal_hold && may("s3:GetObjectLegalHold").await {
        h.insert("x-amz-object-lock-legal-hold", http::HeaderValue::from_static("ON"));
    }
}
