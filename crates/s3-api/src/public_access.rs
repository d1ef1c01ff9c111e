//! Put/Get/DeletePublicAccessBlock: a bucket's own Block Public Access
//! switches. What they do is enforced where ACLs and policies are set and
//! read (the engine for ACLs, `policy.rs` and `authz.rs`), with the
//! project's switches.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_s3_proto::{public_access, S3Error, S3ErrorCode as C};
use http::{Response, StatusCode};

pub(crate) async fn get(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    match s.engine.bucket_public_access_block(ctx.bucket()).await.map_err(from_engine)? {
        Some(p) => Ok(respond::xml(public_access::render(&p)?)),
        None => Err(S3Error::new(C::NoSuchPublicAccessBlockConfiguration)),
    }
}

pub(crate) async fn put(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, 16 * 1024).await?;
    let p = public_access::parse(&doc)?;
    let stamp = ctx.stamp();
    s.engine.set_bucket_public_access_block(ctx.bucket(), stamp.as_ref(), Some(p)).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::OK))
}

pub(crate) async fn delete(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let stamp = ctx.stamp();
    s.engine.set_bucket_public_access_block(ctx.bucket(), stamp.as_ref(), None).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}
