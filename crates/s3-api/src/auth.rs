//! Authentication: SigV4 or SigV2, verified against the secret the identity
//! service resolves for the access key. Nothing is cached: a deleted,
//! deactivated or expired key fails at its next request.
//!
//! The request's region is the one whose endpoint host it reached; on a
//! host bound to no region, a SigV4 request acts in the region it signed
//! for (if this deployment serves it), anything else in the default region.

use crate::context::Ctx;
use crate::S3Service;
use coffer_iam::{Principal, ResolveError, Resolved};
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
    let host_region = ctx.header("host").and_then(|h| svc.regions.of_host(h)).map(str::to_owned);
    let Some(auth) = auth::parse(&req)? else {
        refuse_anonymous_overrides(ctx)?;
        ctx.region = host_region.unwrap_or_else(|| svc.regions.default().to_owned());
        ctx.principal = Principal::Anonymous;
        return Ok(());
    };
    let region = match (&auth, host_region) {
        (_, Some(r)) => r,
        (Auth::V4(v4), None) if svc.regions.serves(v4.region()) => v4.region().to_owned(),
        _ => svc.regions.default().to_owned(),
    };
    let resolved = resolve(svc, auth.access_key(), &region).await?;
    let secret = &resolved.secret;
    let now = time::OffsetDateTime::now_utc();
    let presigned = auth.is_presigned();
    match auth {
        Auth::V4(v4) => {
            let verified = v4.verify(&req, secret, &region, now)?;
            ctx.access_key = Some(verified.access_key);
            ctx.payload = verified.payload;
            ctx.auth_type = Some((auth_type(presigned), "AWS4-HMAC-SHA256"));
        }
        Auth::V2(v2) => {
            // SigV2 signs Content-MD5 (checked against the body) but no payload hash.
            v2.verify(&req, secret, ctx.virtual_bucket.as_deref(), now)?;
            ctx.access_key = Some(v2.access_key().to_owned());
            ctx.payload = PayloadMode::Unsigned;
            ctx.auth_type = Some((auth_type(presigned), "AWS"));
        }
    }
    svc.iam.record_use(&resolved, coffer_types::now_millis());
    ctx.region = region;
    ctx.principal = resolved.principal;
    Ok(())
}

/// The `response-*` parameters of GetObject and HeadObject, which set headers of the answer.
const RESPONSE_OVERRIDES: &[&str] = &[
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
];

/// Only a signed request may set the headers of the answer (as on AWS): an
/// anonymous link to a public object could otherwise serve it as
/// `text/html`, or as an attachment of another name, from this endpoint.
fn refuse_anonymous_overrides(ctx: &Ctx) -> Result<(), S3Error> {
    if RESPONSE_OVERRIDES.iter().any(|p| ctx.query.has(p)) {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Request specific response headers cannot be used for anonymous GET requests.",
        ));
    }
    Ok(())
}

fn auth_type(presigned: bool) -> &'static str {
    if presigned {
        "REST-QUERY-STRING"
    } else {
        "REST-HEADER"
    }
}

/// The secret and principal of an access key used in `region`. Unknown,
/// deleted, inactive, expired and other-region keys are all
/// `InvalidAccessKeyId`, each with its own message.
pub(crate) async fn resolve(svc: &S3Service, access_key: &str, region: &str) -> Result<Resolved, S3Error> {
    match svc.iam.resolve(access_key, Some(region), coffer_types::now_millis()).await {
        Ok(r) => Ok(r),
        Err(ResolveError::Failed(e)) => Err(crate::errors::from_iam_failure(&e)),
        Err(e) => Err(S3Error::with_message(S3ErrorCode::InvalidAccessKeyId, e.to_string())
            .with_extra("AWSAccessKeyId", access_key)),
    }
}
