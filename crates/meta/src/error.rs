//! Errors a [`crate::MetaStore`] reports.

/// What went wrong in a metadata operation. Callers branch on the named
/// variants; `Backend` carries everything the store itself failed at.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("no such bucket")]
    NoSuchBucket,
    #[error("bucket already exists")]
    BucketAlreadyExists,
    #[error("bucket not empty")]
    BucketNotEmpty,
    #[error("no such upload")]
    NoSuchUpload,
    /// A write conditional on an existing object found none.
    #[error("no such key")]
    NoSuchKey,
    /// The write would pass a quota of this scope; nothing was written.
    #[error("quota exceeded")]
    QuotaExceeded(crate::QuotaScope),
    /// An identity record (project, user, access key) with that name exists.
    #[error("already exists")]
    AlreadyExists,
    /// The identity record (or its parent) does not exist.
    #[error("not found")]
    NotFound,
    /// A project still owns buckets.
    #[error("not empty")]
    NotEmpty,
    #[error("write condition not met")]
    PreconditionFailed,
    /// The version named does not exist (a version-id marker of a listing).
    #[error("no such version")]
    NoSuchVersion,
    /// The version is locked (retention or legal hold); nothing was changed.
    #[error("object locked: {0}")]
    ObjectLocked(#[from] coffer_types::LockViolation),
    /// The bucket's versioning or object lock cannot change this way
    /// (suspending versioning with object lock on, object lock on a bucket
    /// whose versioning is not enabled).
    #[error("invalid bucket state: {0}")]
    InvalidBucketState(&'static str),
    /// A completion named a blob that is not (or no longer) a current part
    /// of the upload, e.g. a part re-uploaded since the parts were read.
    /// Nothing was written.
    #[error("blob {0} is not a current part of the upload")]
    StalePart(coffer_types::BlobId),
    /// The metadata device is full; nothing was written.
    #[error("no space left for metadata")]
    NoSpace,
    /// The store cannot answer now (its database is unreachable, or a
    /// transaction kept losing to others after a few quick retries); nothing
    /// was written. The caller should answer "retry later" (S3 `503
    /// SlowDown` with `Retry-After`), never an internal error.
    #[error("metadata store unavailable, retry later: {0}")]
    Unavailable(String),
    /// The write collided with a concurrent one in a way the store could not
    /// settle by itself; nothing was written and the caller may retry.
    #[error("conflicting concurrent write, retry later")]
    Conflict,
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// A tool that must not migrate (it runs beside servers) found another
    /// schema version than its own (0: no Coffer metadata there).
    #[error("{}", schema_mismatch(*found, *expected))]
    SchemaMismatch { found: u32, expected: u32 },
    #[error("metadata backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn schema_mismatch(found: u32, expected: u32) -> String {
    match found {
        0 => "no Coffer metadata there".to_owned(),
        _ => {
            format!("the metadata schema is version {found}, this coffer's is {expected}: run the servers' own version")
        }
    }
}

impl MetaError {
    /// Whether the caller should answer "retry later" (`Unavailable`,
    /// `Conflict`): nothing was written, and the same request may succeed
    /// once the store has recovered or the contention has passed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, MetaError::Unavailable(_) | MetaError::Conflict)
    }

    /// Wraps a backend-specific error.
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        MetaError::Backend(Box::new(e))
    }
}
