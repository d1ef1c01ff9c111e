//! Authentication of control requests: SigV4 only (SigV2 is refused), the
//! access key resolved through [`Iam::resolve`] on every request (a deleted
//! or deactivated key fails at once), and the body's SHA-256 computed here.
//!
//! - IAM requests are signed for the service `iam` in any region; botocore
//!   sends no `x-amz-content-sha256`, so the hash the signature covers is
//!   the body's.
//! - Admin requests are signed like S3 (service `s3`), with
//!   `x-amz-content-sha256` holding the body's hex SHA-256.
//!
//! Either way the signature is checked against the body's actual hash; a
//! header that declares another hash is refused before any key lookup.

use crate::timefmt;
use coffer_iam::{Iam, IamError, Principal, ResolveError};
use coffer_s3_proto::sigv4::{self, ContentSha256, SignedRequest};
use coffer_s3_proto::{S3Error, S3ErrorCode};
use http::request::Parts;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Why a request was not authenticated. Each API maps these to its codes.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthError {
    /// No authentication at all.
    #[error("the request is not signed")]
    Unsigned,
    /// Signature Version 2 (header or query), not accepted here.
    #[error("Signature Version 2 is not accepted by this API; sign requests with Signature Version 4")]
    SigV2,
    /// The authentication is malformed (scope, service, headers, date).
    #[error("{}", .0.message)]
    Malformed(S3Error),
    #[error("{0}")]
    Key(ResolveError),
    /// The signature does not match.
    #[error("{}", .0.message)]
    BadSignature(S3Error),
    /// The request's time is too far from ours.
    #[error("{}", .0.message)]
    Skewed(S3Error),
    /// `x-amz-content-sha256` is not the body's hash.
    #[error("the x-amz-content-sha256 header does not match the body's SHA-256")]
    PayloadMismatch,
    /// The identity store failed.
    #[error("identity lookup failed: {0}")]
    Internal(IamError),
}

/// The principal that signed `parts` + `body` for `service` (`iam` or `s3`).
pub(crate) async fn authenticate(iam: &Iam, parts: &Parts, body: &[u8], service: &str) -> Result<Principal, AuthError> {
    let signed = SignedRequest {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
    };
    let auth = match sigv4::parse(&signed) {
        Ok(Some(a)) => a,
        Ok(None) if parts.headers.contains_key(http::header::AUTHORIZATION) || has_v2_query(signed.raw_query) => {
            return Err(AuthError::SigV2)
        }
        Ok(None) => return Err(AuthError::Unsigned),
        Err(e) => return Err(AuthError::Malformed(e)),
    };
    if auth.service() != service {
        return Err(AuthError::Malformed(S3Error::with_message(
            S3ErrorCode::AuthorizationHeaderMalformed,
            format!(
                "The authorization header is malformed; incorrect service '{}'. This endpoint belongs to '{service}'.",
                auth.service()
            ),
        )));
    }
    let body_hash: [u8; 32] = Sha256::digest(body).into();
    match auth.content_sha256() {
        ContentSha256::Sha256(h) if h != body_hash => return Err(AuthError::PayloadMismatch),
        ContentSha256::Sha256(_) => {}
        _ if parts.headers.contains_key("x-amz-content-sha256") => {
            return Err(AuthError::Malformed(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "x-amz-content-sha256 must be the hex SHA-256 of the request body on this API",
            )))
        }
        _ => {}
    }
    let now = OffsetDateTime::now_utc();
    let resolved = match iam.resolve(auth.access_key(), None, timefmt::millis(now)).await {
        Ok(r) => r,
        Err(ResolveError::Failed(e)) => return Err(AuthError::Internal(e)),
        Err(e) => return Err(AuthError::Key(e)),
    };
    auth.with_payload_sha256(hex::encode(body_hash)).verify_service(&signed, &resolved.secret, service, now).map_err(
        |e| match e.code {
            S3ErrorCode::SignatureDoesNotMatch => AuthError::BadSignature(e),
            S3ErrorCode::RequestTimeTooSkewed => AuthError::Skewed(e),
            _ => AuthError::Malformed(e),
        },
    )?;
    iam.record_use(&resolved, timefmt::millis(now));
    Ok(resolved.principal)
}

/// Whether the query carries SigV2 presigned parameters.
fn has_v2_query(query: &str) -> bool {
    query.split('&').any(|p| p.split('=').next() == Some("AWSAccessKeyId"))
}
