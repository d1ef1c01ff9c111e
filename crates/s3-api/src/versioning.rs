//! Get/PutBucketVersioning.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_s3_proto::{versioning, S3Error};
use http::{Response, StatusCode};

pub(crate) async fn get(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let info = s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
    Ok(respond::xml(versioning::render(info.versioning)))
}

pub(crate) async fn put(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, 64 * 1024).await?;
    let v = versioning::parse(&doc)?;
    let stamp = ctx.stamp();
    s.engine.set_versioning(ctx.bucket(), stamp.as_ref(), v).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::OK))
}
