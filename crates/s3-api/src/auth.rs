//! Authentication: SigV4 verified against the credential in the MetaStore.
//! No credential is cached, so a deleted key fails at its next request.

use crate::context::Ctx;
use crate::S3Service;
use coffer_s3_proto::sigv4::{self, SignedRequest};
use coffer_s3_proto::{S3Error, S3ErrorCode};

pub(crate) async fn authenticate(svc: &S3Service, ctx: &mut Ctx) -> Result<(), S3Error> {
    let req = SignedRequest {
        method: ctx.method.as_str(),
        raw_path: &ctx.raw_path,
        raw_query: &ctx.raw_query,
        headers: &ctx.headers,
    };
    let Some(auth) = sigv4::parse(&req)? else {
        // Anonymous access arrives with bucket policies and ACLs. Until then it
        // is refused, but a missing bucket is reported as missing, as S3 does.
        if let Some(b) = ctx.bucket.as_deref() {
            if svc.engine.meta().get_bucket(b).await.map_err(|e| crate::errors::internal(&e))?.is_none() {
                return Err(S3Error::new(S3ErrorCode::NoSuchBucket));
            }
        }
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    };
    let cred = svc
        .engine
        .meta()
        .get_credential(auth.access_key())
        .await
        .map_err(|e| crate::errors::internal(&e))?
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId).with_extra("AWSAccessKeyId", auth.access_key()))?;
    let region = &svc.engine.config().region;
    let verified = auth.verify(&req, &cred.secret_key, region, time::OffsetDateTime::now_utc())?;
    ctx.access_key = Some(verified.access_key);
    ctx.payload = verified.payload;
    Ok(())
}
