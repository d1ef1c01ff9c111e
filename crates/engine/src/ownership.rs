//! Object Ownership: a bucket's [`BucketConfigKind::OwnershipControls`]
//! document. With `BucketOwnerEnforced` ACLs are disabled: the engine
//! refuses any public ACL on the bucket and its objects, and reads every
//! ACL there as private (so none grants anything).
//!
//! A bucket without the document is enforced, so a bucket made without a
//! choice needs no second write, and one whose second write was lost (a
//! crash right after CreateBucket) fails closed. Buckets made before the
//! setting existed were given `BucketOwnerPreferred` by the schema
//! migration that brought it (SQLite v12, PostgreSQL v9), so their ACLs
//! work as before.
//!
//! Who owns a write of another project's principal (allowed in by a bucket
//! policy or ACL) follows the setting ([`ObjectOwnership::writer_owns`]);
//! an object owned so records its owner in [`ObjectMeta::owner`], and the
//! S3 front-end's authorizer lets that owner, not the bucket's, decide who
//! reads it and its ACL.

use crate::{Engine, EngineError};
use coffer_meta::{BucketStamp, ObjectMeta};
use coffer_types::{BucketConfigKind, CannedAcl, ObjectOwnership};

/// The stored document of a bucket whose setting was deleted (a bucket
/// without one is enforced).
const DELETED: &str = "none";

impl Engine {
    /// The bucket's setting; `None` once deleted (S3's
    /// DeleteBucketOwnershipControls: ACLs work, and S3 answers
    /// `OwnershipControlsNotFoundError`).
    pub async fn bucket_ownership(&self, bucket: &str) -> Result<Option<ObjectOwnership>, EngineError> {
        match self.bucket_config(bucket, BucketConfigKind::OwnershipControls).await? {
            None => Ok(Some(ObjectOwnership::BucketOwnerEnforced)),
            Some(s) if s == DELETED => Ok(None),
            Some(s) => ObjectOwnership::parse(&s)
                .map(Some)
                .ok_or_else(|| EngineError::Internal(format!("stored ownership of {bucket} is {s:?}"))),
        }
    }

    /// Whether ACLs are in force on the bucket.
    pub async fn acls_enabled(&self, bucket: &str) -> Result<bool, EngineError> {
        Ok(self.bucket_ownership(bucket).await?.is_none_or(ObjectOwnership::acls_enabled))
    }

    /// Sets the bucket's setting; `None` (S3's DeleteBucketOwnershipControls)
    /// leaves ACLs working without a setting. `BucketOwnerEnforced`
    /// needs the bucket's own ACL to be private (S3's
    /// `InvalidBucketAclWithObjectOwnership`).
    pub async fn set_bucket_ownership(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        value: Option<ObjectOwnership>,
    ) -> Result<(), EngineError> {
        if value == Some(ObjectOwnership::BucketOwnerEnforced)
            && self.stored_bucket_acl(bucket).await? != CannedAcl::Private
        {
            return Err(EngineError::AclConflictsWithOwnership);
        }
        let stored = match value {
            Some(ObjectOwnership::BucketOwnerEnforced) => None,
            Some(o) => Some(o.as_str().to_owned()),
            None => Some(DELETED.to_owned()),
        };
        self.write_bucket_config(bucket, stamp, BucketConfigKind::OwnershipControls, stored).await
    }

    /// Settles the owner of a new object or upload: on input `meta.owner`
    /// names the writing project (`None`: anonymous, or the operator); it
    /// is kept only where the writer is not the bucket's project and the
    /// bucket's setting gives such a writer what it writes (with `meta.acl`).
    pub(crate) async fn settle_owner(&self, bucket: &str, meta: &mut ObjectMeta) -> Result<(), EngineError> {
        let Some(writer) = meta.owner.take() else { return Ok(()) };
        if self.head_bucket(bucket).await?.project == writer {
            return Ok(());
        }
        if ObjectOwnership::writer_owns(self.bucket_ownership(bucket).await?, meta.acl) {
            meta.owner = Some(writer);
        }
        Ok(())
    }
}
