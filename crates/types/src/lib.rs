//! Coffer's shared vocabulary: the value types every other crate speaks.
//!
//! Everything here is pure: validation and formatting, no I/O, no async.
//! Start with [`BucketName`] and [`ObjectKey`] (validated newtypes built only
//! through their `parse` constructors), [`ETag`], [`ByteRange`] and [`BlobId`];
//! [`checksum`] computes S3's additional checksums (CRC-32/32C/64, SHA-1/256).

mod acl;
mod bucket;
pub mod checksum;
mod config;
mod etag;
mod ids;
mod key;
pub mod lifecycle;
mod ownership;
mod public_access;
mod range;
pub mod tags;
mod versioning;

pub use acl::CannedAcl;
pub use bucket::{BucketName, InvalidBucketName};
pub use checksum::{ChecksumAlgorithm, Checksummer};
pub use config::BucketConfigKind;
pub use etag::ETag;
pub use ids::{BlobId, InvalidBlobId, UploadId};
pub use key::{InvalidObjectKey, ObjectKey, MAX_KEY_LEN};
pub use ownership::ObjectOwnership;
pub use public_access::PublicAccessBlock;
pub use range::{ByteRange, RangeError, ResolvedRange};
pub use tags::{TagError, TagSet};
pub use versioning::{
    is_version_id, new_version_id, DefaultRetention, LockMode, LockViolation, Retention, RetentionPeriod, VersionLock,
    Versioning, MAX_RETENTION_YEARS, NULL_VERSION,
};

/// Milliseconds since the Unix epoch, UTC. Metadata timestamps are stored in this unit.
pub type UnixMillis = i64;

/// The current time as [`UnixMillis`].
pub fn now_millis() -> UnixMillis {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
