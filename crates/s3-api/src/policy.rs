//! Bucket policies: Put/Get/DeleteBucketPolicy. A policy is validated
//! (`MalformedPolicy` with the reason) and stored as the text given, as a
//! bucket configuration entry; authorization reads it on every request.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_engine::BucketConfigKind::Policy as POLICY;
use coffer_policy::Policy;
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use http::{HeaderValue, Response, StatusCode};

/// Bucket policies are at most 20 KiB, as on S3.
const MAX_POLICY: u64 = 20 * 1024;

pub(crate) async fn put(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, MAX_POLICY).await?;
    let text =
        std::str::from_utf8(&doc).map_err(|_| S3Error::with_message(C::MalformedPolicy, "Policy is not UTF-8"))?;
    if !text.trim_start().starts_with('{') {
        return Err(C::MalformedPolicy.into());
    }
    let policy = Policy::parse_bucket(text, ctx.bucket())
        .map_err(|e| S3Error::with_message(C::MalformedPolicy, e.to_string()))?;
    if policy.is_public() {
        let info = s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
        if s.engine.effective_public_access_block(&info).await.map_err(from_engine)?.block_public_policy {
            return Err(S3Error::with_message(
                C::AccessDenied,
                "Access Denied: public policies are blocked (BlockPublicPolicy)",
            ));
        }
    }
    s.engine
        .set_bucket_config(ctx.bucket(), ctx.stamp().as_ref(), POLICY, Some(text.to_owned()))
        .await
        .map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

pub(crate) async fn get(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    match s.engine.bucket_config(ctx.bucket(), POLICY).await.map_err(from_engine)? {
        None => Err(S3Error::new(C::NoSuchBucketPolicy).with_extra("BucketName", ctx.bucket())),
        Some(text) => {
            let mut r = Response::new(respond::full(text));
            r.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(r)
        }
    }
}

pub(crate) async fn delete(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    s.engine.set_bucket_config(ctx.bucket(), ctx.stamp().as_ref(), POLICY, None).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}
