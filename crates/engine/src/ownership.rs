//! Object Ownership: a bucket's [`BucketConfigKind::OwnershipControls`]
//! document. With `BucketOwnerEnforced` ACLs are disabled: the engine
//! refuses any public ACL on the bucket and its objects, and reads every
//! ACL there as private (so none grants anything). A bucket without the
//! setting (made before it existed) keeps ACLs working.

use crate::{Engine, EngineError};
use coffer_meta::BucketStamp;
use coffer_types::{BucketConfigKind, CannedAcl, ObjectOwnership};

impl Engine {
    /// The bucket's setting (`None`: none stored; ACLs work).
    pub async fn bucket_ownership(&self, bucket: &str) -> Result<Option<ObjectOwnership>, EngineError> {
        match self.bucket_config(bucket, BucketConfigKind::OwnershipControls).await? {
            None => Ok(None),
            Some(s) => ObjectOwnership::parse(&s)
                .map(Some)
                .ok_or_else(|| EngineError::Internal(format!("stored ownership of {bucket} is {s:?}"))),
        }
    }

    /// Whether ACLs are in force on the bucket.
    pub async fn acls_enabled(&self, bucket: &str) -> Result<bool, EngineError> {
        Ok(self.bucket_ownership(bucket).await?.is_none_or(ObjectOwnership::acls_enabled))
    }

    /// Sets (`None`: removes) the bucket's setting. `BucketOwnerEnforced`
    /// needs the bucket's own ACL to be private (S3's
    /// `InvalidBucketAclWithObjectOwnership`); `ObjectWriter` is not built.
    pub async fn set_bucket_ownership(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        value: Option<ObjectOwnership>,
    ) -> Result<(), EngineError> {
        match value {
            Some(ObjectOwnership::ObjectWriter) => {
                return Err(EngineError::InvalidArgument("ObjectWriter ownership is not built".into()))
            }
            Some(ObjectOwnership::BucketOwnerEnforced)
                if self.stored_bucket_acl(bucket).await? != CannedAcl::Private =>
            {
                return Err(EngineError::AclConflictsWithOwnership)
            }
            _ => {}
        }
        let stored = value.map(|o| o.as_str().to_owned());
        self.set_bucket_config(bucket, stamp, BucketConfigKind::OwnershipControls, stored).await
    }
}
