//! CORS: Put/Get/DeleteBucketCors, preflights answered from the bucket's
//! rules, and `Access-Control-*` headers on the requests those rules allow.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_engine::BucketConfigKind;
use coffer_s3_proto::cors::CorsConfiguration;
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use http::{HeaderValue, Response, StatusCode};

const NAME: BucketConfigKind = BucketConfigKind::Cors;

async fn rules(s: &S3Service, bucket: &str) -> Result<Option<CorsConfiguration>, S3Error> {
    match s.engine.bucket_config(bucket, NAME).await.map_err(from_engine)? {
        None => Ok(None),
        Some(doc) => CorsConfiguration::parse(doc.as_bytes())
            .map(Some)
            .map_err(|e| crate::errors::internal(&format!("stored CORS configuration of {bucket} unreadable: {e}"))),
    }
}

pub(crate) async fn put(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, 64 * 1024).await?;
    let cfg = CorsConfiguration::parse(&doc)?;
    s.engine
        .set_bucket_config(ctx.bucket(), ctx.stamp().as_ref(), NAME, Some(cfg.render()?))
        .await
        .map_err(from_engine)?;
    Ok(respond::status(StatusCode::OK))
}

pub(crate) async fn get(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    match rules(s, ctx.bucket()).await? {
        Some(cfg) => Ok(respond::xml(cfg.render()?)),
        None => Err(S3Error::new(C::NoSuchCORSConfiguration)),
    }
}

pub(crate) async fn delete(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
    s.engine.set_bucket_config(ctx.bucket(), ctx.stamp().as_ref(), NAME, None).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

fn requested_headers(ctx: &Ctx) -> Vec<String> {
    ctx.header("access-control-request-headers")
        .map(|h| h.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// An `OPTIONS` preflight (no signature): allowed by a rule, or refused.
pub(crate) async fn preflight(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let Some(origin) = ctx.header("origin") else {
        return Err(S3Error::with_message(
            C::InvalidRequest,
            "Insufficient information. Origin request header needed.",
        ));
    };
    let Some(method) = ctx.header("access-control-request-method") else {
        return Err(S3Error::with_message(C::InvalidRequest, "Invalid Access-Control-Request-Method: null"));
    };
    s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
    let Some(cfg) = rules(s, ctx.bucket()).await? else {
        return Err(S3Error::with_message(C::AccessDenied, "CORSResponse: CORS is not enabled for this bucket."));
    };
    let Some(rule) = cfg.find(origin, method, &requested_headers(ctx)) else {
        return Err(S3Error::with_message(C::AccessDenied, "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."));
    };
    let mut r = respond::status(StatusCode::OK);
    for (k, v) in rule.response_headers(origin, ctx.header("access-control-request-headers")) {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(k, v);
        }
    }
    Ok(r)
}

/// Adds the `Access-Control-*` headers to the answer of an actual request
/// from a browser (`Origin` present) when a rule of the bucket allows it.
pub(crate) async fn decorate(s: &S3Service, ctx: &Ctx, resp: &mut Response<ResBody>) {
    let (Some(origin), Some(bucket)) = (ctx.header("origin"), ctx.bucket.as_deref()) else { return };
    let Ok(Some(cfg)) = rules(s, bucket).await else { return };
    if let Some(rule) = cfg.find(origin, ctx.method.as_str(), &[]) {
        for (k, v) in rule.response_headers(origin, None) {
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(k, v);
            }
        }
    }
}
