//! Put/Get/DeleteBucketOwnershipControls. What the setting does (ACLs
//! refused and ignored under `BucketOwnerEnforced`, who owns a write of
//! another project) is the engine's; who may then act on an object another
//! project owns is `authz.rs`'s. CreateBucket's `x-amz-object-ownership`
//! is read in `bucket.rs`.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_s3_proto::{ownership, S3Error};
use http::{Response, StatusCode};

/// The project writing into the addressed bucket when it is not the
/// bucket's: the owner a write asks the engine to settle.
pub(crate) fn writer(ctx: &Ctx) -> Option<String> {
    let project = ctx.principal.project()?;
    let bucket_owner = ctx.bucket_info.as_ref().map(|b| b.project.as_str());
    (bucket_owner != Some(project)).then(|| project.to_owned())
}

pub(crate) async fn get(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    match s.engine.bucket_ownership(ctx.bucket()).await.map_err(from_engine)? {
        Some(o) => Ok(respond::xml(ownership::render(o)?)),
        None => Err(S3Error::new(coffer_s3_proto::S3ErrorCode::OwnershipControlsNotFoundError)),
    }
}

pub(crate) async fn put(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, 16 * 1024).await?;
    let o = ownership::parse(&doc)?;
    let stamp = ctx.stamp();
    s.engine.set_bucket_ownership(ctx.bucket(), stamp.as_ref(), Some(o)).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::OK))
}

/// Removing the setting leaves ACLs working, with no setting to read.
pub(crate) async fn delete(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let stamp = ctx.stamp();
    s.engine.set_bucket_ownership(ctx.bucket(), stamp.as_ref(), None).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}
