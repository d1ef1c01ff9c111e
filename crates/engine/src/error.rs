//! [`EngineError`]: every way a use case can fail, for the HTTP layer to map.

use coffer_blob::BlobError;
use coffer_meta::MetaError;
use coffer_types::UnixMillis;

/// An error from a request body stream, kept opaque so the HTTP layer can
/// recover its own error type (e.g. a chunk-signature mismatch) by downcasting.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no such bucket")]
    NoSuchBucket,
    #[error("no such key")]
    NoSuchKey,
    #[error("no such upload")]
    NoSuchUpload,
    #[error("no such version")]
    NoSuchVersion,
    /// The version read is a delete marker: named by its id (`named`, S3
    /// `405 MethodNotAllowed`) or on top of its key (`404 NoSuchKey`). The
    /// response says so with the marker's id.
    #[error("the version is a delete marker")]
    DeleteMarker { version_id: String, last_modified: UnixMillis, named: bool },
    /// The version is locked (S3: `403 AccessDenied`).
    #[error("object locked: {0}")]
    ObjectLocked(coffer_types::LockViolation),
    /// The bucket's versioning or object lock cannot change this way (S3:
    /// `409 InvalidBucketState`).
    #[error("invalid bucket state: {0}")]
    InvalidBucketState(&'static str),
    #[error("bucket already exists")]
    BucketAlreadyExists,
    #[error("bucket not empty")]
    BucketNotEmpty,
    #[error("invalid bucket name: {0}")]
    InvalidBucketName(String),
    #[error("location constraint {0:?} does not name this region")]
    InvalidLocation(String),
    #[error("key too long")]
    KeyTooLong,
    #[error("Content-MD5 does not match the body")]
    BadDigest,
    #[error("x-amz-content-sha256 does not match the body")]
    Sha256Mismatch,
    #[error("the {0} checksum does not match the body")]
    ChecksumMismatch(coffer_types::ChecksumAlgorithm),
    #[error("body has {got} bytes, {expected} declared")]
    IncompleteBody { expected: u64, got: u64 },
    #[error("object larger than {0} bytes")]
    EntityTooLarge(u64),
    #[error("part {0} is smaller than the minimum part size")]
    EntityTooSmall(u32),
    #[error("part {0} not found or its ETag does not match")]
    InvalidPart(u32),
    #[error("parts not in ascending order")]
    InvalidPartOrder,
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An ACL on a bucket whose Object Ownership disables ACLs (S3:
    /// `400 AccessControlListNotSupported`).
    #[error("the bucket does not allow ACLs")]
    AclNotSupported,
    /// `BucketOwnerEnforced` asked for with a bucket ACL that grants to others
    /// (S3: `400 InvalidBucketAclWithObjectOwnership`).
    #[error("the bucket's ACL conflicts with BucketOwnerEnforced")]
    AclConflictsWithOwnership,
    /// Refused by Block Public Access (S3: `403 AccessDenied`).
    #[error("access denied: {0}")]
    PublicAccessBlocked(&'static str),
    #[error("precondition failed")]
    PreconditionFailed,
    /// The object changed between its authorization and its read (its
    /// owner or ACL, or it appeared): the request may be retried.
    #[error("the object changed while the request was authorized")]
    ChangedSinceAuthorized,
    /// 304: carries what the response must still say about the object.
    #[error("not modified")]
    NotModified { etag: String, last_modified: UnixMillis },
    #[error("range not satisfiable for size {0}")]
    InvalidRange(u64),
    #[error("no storage space left")]
    NoSpace,
    /// The write would pass this quota; nothing was stored.
    #[error("quota exceeded")]
    QuotaExceeded(coffer_meta::QuotaScope),
    /// The metadata store cannot answer now (unreachable, or a transaction
    /// kept losing to others), or the blob store cannot (a lost cluster
    /// connection, a timed-out operation); nothing was written. Answer
    /// "retry later".
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("reading the request body: {0}")]
    Body(#[source] BoxError),
    /// A job of the engine itself failed (it panicked, or the runtime is
    /// shutting down); nothing was stored.
    #[error("internal failure: {0}")]
    Internal(String),
    /// Stored bytes do not match the checksum taken when they were written
    /// (bitrot, a truncated or replaced blob): never served. Logged and
    /// counted where it is found.
    #[error("stored data failed its checksum: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Meta(MetaError),
    #[error(transparent)]
    Blob(BlobError),
}

impl From<MetaError> for EngineError {
    fn from(e: MetaError) -> Self {
        match e {
            MetaError::NoSuchBucket => EngineError::NoSuchBucket,
            MetaError::NoSuchUpload => EngineError::NoSuchUpload,
            MetaError::NoSuchKey => EngineError::NoSuchKey,
            MetaError::NoSuchVersion => EngineError::NoSuchVersion,
            MetaError::ObjectLocked(why) => EngineError::ObjectLocked(why),
            MetaError::InvalidBucketState(why) => EngineError::InvalidBucketState(why),
            MetaError::BucketAlreadyExists => EngineError::BucketAlreadyExists,
            MetaError::BucketNotEmpty => EngineError::BucketNotEmpty,
            MetaError::PreconditionFailed => EngineError::PreconditionFailed,
            MetaError::NoSpace => EngineError::NoSpace,
            MetaError::QuotaExceeded(scope) => EngineError::QuotaExceeded(scope),
            MetaError::Unavailable(why) => EngineError::Unavailable(why),
            MetaError::Conflict => EngineError::Unavailable(MetaError::Conflict.to_string()),
            other => EngineError::Meta(other),
        }
    }
}

impl From<BlobError> for EngineError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NoSpace => EngineError::NoSpace,
            BlobError::Unavailable(why) => EngineError::Unavailable(why),
            other => EngineError::Blob(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_blob_store_asks_to_retry() {
        let e = EngineError::from(BlobError::Unavailable("osd op timed out".into()));
        assert!(matches!(e, EngineError::Unavailable(ref why) if why == "osd op timed out"), "{e:?}");
        assert!(matches!(EngineError::from(BlobError::NoSpace), EngineError::NoSpace));
        assert!(matches!(EngineError::from(BlobError::Format("x".into())), EngineError::Blob(_)));
    }
}
