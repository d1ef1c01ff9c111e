//! Engine failures as S3 errors. Internal details are logged, never sent.

use coffer_engine::EngineError;
use coffer_s3_proto::{S3Error, S3ErrorCode as C};

/// A 500 for an unexpected failure; the cause goes to the log only.
pub(crate) fn internal(e: &dyn std::fmt::Display) -> S3Error {
    tracing::error!(error = %e, "internal error");
    S3Error::new(C::InternalError)
}

/// Seconds a client is asked to wait before retrying a request the metadata
/// store could not serve.
pub(crate) const RETRY_AFTER_SECS: &str = "1";

/// `503 SlowDown` with `Retry-After`: the store is unavailable or contended
/// and nothing was written; SDKs retry it with backoff. Logged as a warning.
pub(crate) fn unavailable(e: &dyn std::fmt::Display) -> S3Error {
    tracing::warn!(error = %e, "store unavailable; answered SlowDown");
    S3Error::new(C::SlowDown).with_header("retry-after", RETRY_AFTER_SECS)
}

/// An identity lookup that failed in the store: `SlowDown` when the store
/// asks to retry, an internal error otherwise.
pub(crate) fn from_iam_failure(e: &coffer_iam::IamError) -> S3Error {
    match e {
        coffer_iam::IamError::Store(m) if m.is_retryable() => unavailable(m),
        other => internal(other),
    }
}

pub(crate) fn from_engine(e: EngineError) -> S3Error {
    match e {
        EngineError::NoSuchBucket => C::NoSuchBucket.into(),
        EngineError::NoSuchKey => C::NoSuchKey.into(),
        EngineError::NoSuchUpload => C::NoSuchUpload.into(),
        EngineError::NoSuchVersion => C::NoSuchVersion.into(),
        EngineError::DeleteMarker { version_id, last_modified, named } => {
            // S3 answers with the marker's id either way; a marker named by
            // its id has no body to GET (405), one on top hides its key (404).
            let e = if named { C::MethodNotAllowed } else { C::NoSuchKey };
            let mut e =
                S3Error::new(e).with_header("x-amz-delete-marker", "true").with_header("x-amz-version-id", version_id);
            if named {
                e = e
                    .with_header("last-modified", coffer_s3_proto::time_fmt::http_date(last_modified))
                    .with_header("allow", "DELETE");
            }
            e
        }
        EngineError::ObjectLocked(why) => S3Error::with_message(
            C::AccessDenied,
            format!("Access Denied because object protected by object lock: {why}"),
        ),
        EngineError::InvalidBucketState(why) => S3Error::with_message(C::InvalidBucketState, why),
        EngineError::BucketAlreadyExists => C::BucketAlreadyExists.into(),
        EngineError::BucketNotEmpty => C::BucketNotEmpty.into(),
        EngineError::InvalidBucketName(m) => {
            S3Error::with_message(C::InvalidBucketName, format!("The specified bucket is not valid: {m}"))
        }
        EngineError::InvalidLocation(l) => S3Error::with_message(
            C::InvalidLocationConstraint,
            format!("The specified location-constraint '{l}' is not valid for this endpoint."),
        ),
        EngineError::KeyTooLong => C::KeyTooLongError.into(),
        EngineError::BadDigest => C::BadDigest.into(),
        EngineError::Sha256Mismatch => C::XAmzContentSHA256Mismatch.into(),
        EngineError::ChecksumMismatch(a) => S3Error::with_message(
            C::BadDigest,
            format!("The {} you specified did not match the calculated checksum.", a.as_str()),
        ),
        EngineError::IncompleteBody { expected, got } => S3Error::with_message(
            C::IncompleteBody,
            format!("The request body had {got} bytes; {expected} were declared."),
        ),
        EngineError::EntityTooLarge(max) => {
            S3Error::new(C::EntityTooLarge).with_extra("MaxSizeAllowed", max.to_string())
        }
        EngineError::EntityTooSmall(n) => S3Error::new(C::EntityTooSmall).with_extra("PartNumber", n.to_string()),
        EngineError::InvalidPart(n) => S3Error::new(C::InvalidPart).with_extra("PartNumber", n.to_string()),
        EngineError::InvalidPartOrder => C::InvalidPartOrder.into(),
        EngineError::InvalidRequest(m) => S3Error::with_message(C::InvalidRequest, m),
        EngineError::InvalidArgument(m) => S3Error::with_message(C::InvalidArgument, m),
        EngineError::AclNotSupported => C::AccessControlListNotSupported.into(),
        EngineError::AclConflictsWithOwnership => C::InvalidBucketAclWithObjectOwnership.into(),
        EngineError::PublicAccessBlocked(why) => {
            S3Error::with_message(C::AccessDenied, format!("Access Denied: {why}"))
        }
        EngineError::PreconditionFailed => C::PreconditionFailed.into(),
        EngineError::ChangedSinceAuthorized => S3Error::with_message(
            C::OperationAborted,
            "The object changed while the request was being authorized. Please try again.",
        ),
        EngineError::NotModified { .. } => C::NotModified.into(),
        EngineError::InvalidRange(size) => {
            S3Error::new(C::InvalidRange).with_extra("ActualObjectSize", size.to_string())
        }
        EngineError::NoSpace => C::InsufficientStorage.into(),
        EngineError::QuotaExceeded(coffer_meta::QuotaScope::Bucket(b)) => {
            S3Error::with_message(C::QuotaExceeded, format!("The bucket quota of {b} would be exceeded."))
        }
        EngineError::QuotaExceeded(coffer_meta::QuotaScope::Project(p)) => {
            S3Error::with_message(C::QuotaExceeded, format!("The storage quota of project {p} would be exceeded."))
        }
        EngineError::Body(inner) => match inner.downcast::<S3Error>() {
            Ok(s3) => *s3,
            Err(other) if coffer_s3_proto::body::is_idle_timeout(&*other) => S3Error::with_message(
                C::RequestTimeout,
                format!("Your socket connection to the server was not read from within the timeout period ({other})."),
            ),
            Err(other) => {
                tracing::debug!(error = %other, "request body ended early");
                S3Error::new(C::IncompleteBody)
            }
        },
        EngineError::Unavailable(why) => unavailable(&why),
        e @ (EngineError::Meta(_) | EngineError::Blob(_) | EngineError::Internal(_) | EngineError::Corrupt(_)) => {
            internal(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_meta::MetaError;

    fn retry_after(e: &S3Error) -> Option<&str> {
        e.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("retry-after")).map(|(_, v)| v.as_str())
    }

    #[test]
    fn an_unavailable_store_is_slow_down_with_retry_after_never_500() {
        for m in [MetaError::Unavailable("connection refused".into()), MetaError::Conflict] {
            let e = from_engine(EngineError::from(m));
            assert_eq!(e.code, C::SlowDown);
            assert_eq!(e.code.status(), 503);
            assert_eq!(retry_after(&e), Some("1"));
        }
        let e = from_iam_failure(&coffer_iam::IamError::Store(MetaError::Unavailable("down".into())));
        assert_eq!((e.code, retry_after(&e)), (C::SlowDown, Some("1")));
        // Other store failures stay internal errors, without Retry-After.
        let e = from_iam_failure(&coffer_iam::IamError::Store(MetaError::Corrupt("x".into())));
        assert_eq!((e.code, retry_after(&e)), (C::InternalError, None));
    }
}
