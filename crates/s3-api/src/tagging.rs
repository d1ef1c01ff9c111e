//! Put/Get/DeleteObjectTagging and Put/Get/DeleteBucketTagging. Tags given
//! with a write (`x-amz-tagging`) are read with the object's other headers
//! (`headers.rs`); `x-amz-tagging-count` is set on GET and HEAD
//! (`object_get.rs`).

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_s3_proto::{tagging, S3Error, S3ErrorCode as C};
use coffer_types::tags::{MAX_BUCKET_TAGS, MAX_OBJECT_TAGS};
use coffer_types::TagSet;
use http::{Response, StatusCode};

/// The largest Tagging document read (50 tags at their longest, escaped, fit).
const MAX_DOC: u64 = 256 * 1024;

pub(crate) async fn get_object(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let (tags, version) = s.engine.object_tags(ctx.bucket(), ctx.key(), ctx.version()).await.map_err(from_engine)?;
    let mut r = respond::xml(tagging::render(&tags)?);
    respond::version_header(&mut r, version.as_deref());
    Ok(r)
}

pub(crate) async fn put_object(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, MAX_DOC).await?;
    let tags = tagging::parse(&doc, MAX_OBJECT_TAGS)?;
    // The policy may have conditions on the tags asked for.
    ctx.request_tags = Some(tags.clone());
    crate::authz::check_after_body(s, ctx).await?;
    ctx.authorized = true;
    set_object(s, ctx, tags).await?;
    let mut r = respond::status(StatusCode::OK);
    respond::version_header(&mut r, ctx.version());
    Ok(r)
}

pub(crate) async fn delete_object(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    set_object(s, ctx, TagSet::default()).await?;
    let mut r = respond::status(StatusCode::NO_CONTENT);
    respond::version_header(&mut r, ctx.version());
    Ok(r)
}

async fn set_object(s: &S3Service, ctx: &Ctx, tags: TagSet) -> Result<(), S3Error> {
    let stamp = ctx.stamp();
    s.engine.set_object_tags(ctx.bucket(), stamp.as_ref(), ctx.key(), ctx.version(), tags).await.map_err(from_engine)
}

pub(crate) async fn get_bucket(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    match s.engine.bucket_tags(ctx.bucket()).await.map_err(from_engine)? {
        Some(tags) => Ok(respond::xml(tagging::render(&tags)?)),
        None => Err(S3Error::new(C::NoSuchTagSet)),
    }
}

pub(crate) async fn put_bucket(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, MAX_DOC).await?;
    let tags = tagging::parse(&doc, MAX_BUCKET_TAGS)?;
    let stamp = ctx.stamp();
    s.engine.set_bucket_tags(ctx.bucket(), stamp.as_ref(), Some(tags)).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

pub(crate) async fn delete_bucket(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let stamp = ctx.stamp();
    s.engine.set_bucket_tags(ctx.bucket(), stamp.as_ref(), None).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// The tags a write asks for in `x-amz-tagging` (none when absent or empty).
pub(crate) fn requested(headers: &http::HeaderMap) -> Result<TagSet, S3Error> {
    let Some(v) = headers.get("x-amz-tagging") else { return Ok(TagSet::default()) };
    let v = v.to_str().map_err(|_| tagging::invalid(coffer_types::TagError::BadEncoding))?;
    TagSet::parse_header(v).map_err(tagging::invalid)
}
