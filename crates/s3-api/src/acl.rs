//! Canned ACLs: Get/PutBucketAcl, Get/PutObjectAcl, and `x-amz-acl` on
//! writes. Only canned ACLs exist (see `s3-proto/acl.rs`); who may do what
//! with them is decided in `auth.rs`.

use crate::body::RequestBody;
use crate::bucket::{owner, owner_of};
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_s3_proto::acl::Owners;
use coffer_s3_proto::{acl, S3Error, S3ErrorCode as C};
use coffer_types::CannedAcl;
use http::{HeaderMap, Response, StatusCode};

/// The largest ACL document accepted.
const MAX_ACL_DOC: u64 = 64 * 1024;

/// The canned ACL a write asks for in `x-amz-acl`, if any. Explicit
/// `x-amz-grant-*` headers are not supported.
pub(crate) fn requested(headers: &HeaderMap) -> Result<Option<CannedAcl>, S3Error> {
    if headers.keys().any(|k| k.as_str().starts_with("x-amz-grant-")) {
        return Err(S3Error::with_message(
            C::NotImplemented,
            "x-amz-grant-* headers are not supported; use x-amz-acl.",
        ));
    }
    headers.get("x-amz-acl").map(|v| acl::from_header(v.to_str().unwrap_or(""))).transpose()
}

/// The ACL of a PutBucketAcl/PutObjectAcl: the header, or else the document.
async fn from_request(ctx: &mut Ctx, body: RequestBody, owners: Owners<'_>) -> Result<CannedAcl, S3Error> {
    let header = requested(&ctx.headers)?;
    let doc = body.read_small(ctx, MAX_ACL_DOC).await?;
    match (header, doc.iter().all(u8::is_ascii_whitespace)) {
        (Some(a), true) => Ok(a),
        (None, false) => acl::parse(&doc, owners),
        (Some(_), false) => Err(S3Error::with_message(
            C::UnexpectedContent,
            "This request does not support content together with x-amz-acl.",
        )),
        (None, true) => Err(S3Error::new(C::MissingSecurityHeader).with_extra("MissingHeaderName", "x-amz-acl")),
    }
}

pub(crate) async fn get_bucket(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let a = s.engine.bucket_acl(ctx.bucket()).await.map_err(from_engine)?;
    Ok(respond::xml(acl::render(Owners::one(&owner(ctx).id), a)))
}

pub(crate) async fn put_bucket(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let bucket_owner = owner(ctx).id;
    let a = from_request(ctx, body, Owners::one(&bucket_owner)).await?;
    s.engine.set_bucket_acl(ctx.bucket(), ctx.stamp().as_ref(), a).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::OK))
}

/// The object's owner (another project's, or the bucket's) and the bucket's owner.
async fn object_owners(s: &S3Service, ctx: &Ctx) -> Result<(String, String, CannedAcl), S3Error> {
    let (owner_project, a) =
        s.engine.object_access(ctx.bucket(), ctx.key(), ctx.version()).await.map_err(from_engine)?;
    let bucket_owner = owner(ctx).id;
    let object_owner = owner_project.as_deref().map_or_else(|| bucket_owner.clone(), |p| owner_of(p).id);
    Ok((object_owner, bucket_owner, a))
}

pub(crate) async fn get_object(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let (object_owner, bucket_owner, a) = object_owners(s, ctx).await?;
    Ok(respond::xml(acl::render(Owners { owner: &object_owner, bucket_owner: Some(&bucket_owner) }, a)))
}

pub(crate) async fn put_object(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let (object_owner, bucket_owner, _) = object_owners(s, ctx).await?;
    let a = from_request(ctx, body, Owners { owner: &object_owner, bucket_owner: Some(&bucket_owner) }).await?;
    s.engine
        .set_object_acl(ctx.bucket(), ctx.stamp().as_ref(), ctx.key(), ctx.version(), a)
        .await
        .map_err(from_engine)?;
    Ok(respond::status(StatusCode::OK))
}
