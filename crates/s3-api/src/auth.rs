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
    let now = time::OffsetDateTime::now_utc();
    match auth {
        Auth::V4(v4) => {
            let verified = v4.verify(&req, &cred.secret_key, &svc.engine.config().region, now)?;
            ctx.access_key = Some(verified.access_key);
            ctx.payload = verified.payload;
        }
        Auth::V2(v2) => {
            // SigV2 signs Content-MD5 (checked against the body) but no payload hash.
            v2.verify(&req, &cred.secret_key, ctx.virtual_bucket.as_deref(), now)?;
            ctx.access_key = Some(v2.access_key().to_owned());
            ctx.payload = PayloadMode::Unsigned;
        }
    }
    Ok(())
}
