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
    /// A completion named a blob that is not (or no longer) a current part
    /// of the upload, e.g. a part re-uploaded since the parts were read.
    /// Nothing was written.
    #[error("blob {0} is not a current part of the upload")]
    StalePart(coffer_types::BlobId),
    /// The metadata device is full; nothing was written.
    #[error("no space left for metadata")]
    NoSpace,
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("metadata backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl MetaError {
    /// Wraps a backend-specific error.
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        MetaError::Backend(Box::new(e))
    }
}
