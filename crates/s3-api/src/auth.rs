//! Authentication: SigV4 or SigV2, verified against the credential in the
//! MetaStore. No credential is cached, so a deleted key fails at its next
//! request.

use crate::context::Ctx;
use crate::S3Service;
use coffer_s3_proto::auth::{self, Auth};
use coffer_s3_proto::sigv4::{PayloadMode, SignedRequest};
use coffer_s3_proto::{S3Error, S3ErrorCode};

pub(crate) async fn authenticate(svc: &S3Service, ctx: &mut Ctx) -> Result<(), S3Error> {
    let req = SignedRequest {
        method: ctx.method.as_str(),
        raw_path: &ctx.raw_path,
        raw_query: &ctx.raw_query,
        headers: &ctx.headers,
    };
    let Some(auth) = auth::parse(&req)? else {
        return authorize_anonymous(svc, ctx).await;
    };
    let secret = secret_of(svc, auth.access_key()).await?;
    let now = time::OffsetDateTime::now_utc();
    match auth {
        Auth::V4(v4) => {
            let verified = v4.verify(&req, &secret, &svc.engine.config().region, now)?;
            ctx.access_key = Some(verified.access_key);
            ctx.payload = verified.payload;
        }
        Auth::V2(v2) => {
            // SigV2 signs Content-MD5 (checked against the body) but no payload hash.
            v2.verify(&req, &secret, ctx.virtual_bucket.as_deref(), now)?;
            ctx.access_key = Some(v2.access_key().to_owned());
            ctx.payload = PayloadMode::Unsigned;
        }
    }
    Ok(())
}

/// Lets an unsigned request through only as far as the canned ACLs allow:
/// a public-read bucket may be listed, a public-read object read, and a
/// public-read-write bucket written to. A missing bucket is reported as
/// missing, as S3 does; everything else is `AccessDenied`.
pub(crate) async fn authorize_anonymous(svc: &S3Service, ctx: &Ctx) -> Result<(), S3Error> {
    use coffer_s3_proto::router::Operation::*;
    let denied = || Err(S3Error::new(S3ErrorCode::AccessDenied));
    let Some(bucket) = ctx.bucket.as_deref() else {
        return denied();
    };
    let bucket_acl = svc.engine.bucket_acl(bucket).await.map_err(crate::errors::from_engine)?;
    let allowed = match ctx.op {
        Some(ListObjects | ListObjectsV2 | HeadBucket) => bucket_acl.public_read(),
        Some(GetObject | HeadObject) => match svc.engine.object_acl(bucket, ctx.key()).await {
            Ok(a) => a.public_read(),
            // Whoever may list the bucket learns that the key is missing.
            Err(coffer_engine::EngineError::NoSuchKey) => bucket_acl.public_read(),
            Err(e) => return Err(crate::errors::from_engine(e)),
        },
        Some(
            PutObject
            | PostObject
            | DeleteObject
            | DeleteObjects
            | CreateMultipartUpload
            | UploadPart
            | CompleteMultipartUpload
            | AbortMultipartUpload
            | ListParts,
        ) => bucket_acl.public_write(),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        denied()
    }
}

/// The secret of an access key; an unknown key is `InvalidAccessKeyId`.
pub(crate) async fn secret_of(svc: &S3Service, access_key: &str) -> Result<String, S3Error> {
    let cred = svc
        .engine
        .meta()
        .get_credential(access_key)
        .await
        .map_err(|e| crate::errors::internal(&e))?
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId).with_extra("AWSAccessKeyId", access_key))?;
    Ok(cred.secret_key)
}
