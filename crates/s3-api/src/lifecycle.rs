//! Put/Get/DeleteBucketLifecycleConfiguration, and the `x-amz-expiration`
//! a current version answers with. The rules are applied by the engine's
//! lifecycle worker (`coffer_engine::lifecycle`).

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_s3_proto::{lifecycle, S3Error, S3ErrorCode as C};
use http::{HeaderValue, Response, StatusCode};

/// The largest configuration read (1,000 rules with long prefixes and tags fit).
const MAX_DOC: u64 = 2 * 1024 * 1024;

pub(crate) async fn get(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    match s.engine.lifecycle_config(ctx.bucket()).await.map_err(from_engine)? {
        Some(c) => Ok(respond::xml(lifecycle::render(&c))),
        None => Err(S3Error::new(C::NoSuchLifecycleConfiguration)),
    }
}

pub(crate) async fn put(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, MAX_DOC).await?;
    let config = lifecycle::parse(&doc)?;
    let stamp = ctx.stamp();
    s.engine.set_lifecycle_config(ctx.bucket(), stamp.as_ref(), Some(config)).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::OK))
}

pub(crate) async fn delete(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let stamp = ctx.stamp();
    s.engine.set_lifecycle_config(ctx.bucket(), stamp.as_ref(), None).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// Sets `x-amz-expiration` for a current version a rule expires. A failure
/// to read the rules leaves the header out: it informs, it decides nothing.
pub(crate) async fn expiration_header(
    s: &S3Service,
    ctx: &Ctx,
    h: &mut http::HeaderMap,
    o: &coffer_meta::ObjectRecord,
) {
    let Ok(Some((at, rule))) = s.engine.expiration(ctx.bucket(), o).await else { return };
    let v = format!(
        "expiry-date=\"{}\", rule-id=\"{}\"",
        coffer_s3_proto::time_fmt::http_date(at),
        rule.replace('\\', "\\\\").replace('"', "\\\"")
    );
    if let Ok(v) = HeaderValue::from_str(&v) {
        h.insert("x-amz-expiration", v);
    }
}
