//! Canned ACLs of buckets and objects. A bucket's lives in its configuration
//! (`acl`), an object's in its stored headers; absent means private.

use crate::{Engine, EngineError};
use coffer_meta::BucketStamp;
use coffer_types::{BucketConfigKind, CannedAcl};

impl Engine {
    /// The bucket's canned ACL as it applies (`NoSuchBucket` if it does not
    /// exist): private where Object Ownership disables ACLs.
    pub async fn bucket_acl(&self, bucket: &str) -> Result<CannedAcl, EngineError> {
        if !self.acls_enabled(bucket).await? {
            return Ok(CannedAcl::Private);
        }
        self.stored_bucket_acl(bucket).await
    }

    /// The bucket's canned ACL as stored.
    pub(crate) async fn stored_bucket_acl(&self, bucket: &str) -> Result<CannedAcl, EngineError> {
        let stored = self.bucket_config(bucket, BucketConfigKind::Acl).await?;
        // An unknown stored name cannot come from this code; read it as private.
        Ok(stored.as_deref().and_then(CannedAcl::parse).unwrap_or_default())
    }

    /// Sets the bucket's canned ACL; private is stored as no entry.
    pub async fn set_bucket_acl(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        acl: CannedAcl,
    ) -> Result<(), EngineError> {
        self.allow_acl(bucket, Some(acl)).await?;
        let value = (acl != CannedAcl::Private).then(|| acl.as_str().to_owned());
        self.write_bucket_config(bucket, stamp, BucketConfigKind::Acl, value).await
    }

    /// The current object's canned ACL as it applies (`NoSuchKey` if there
    /// is none): private where Object Ownership disables ACLs.
    pub async fn object_acl(&self, bucket: &str, key: &str) -> Result<CannedAcl, EngineError> {
        let o = self.meta.get_object(bucket, key).await?.ok_or(EngineError::NoSuchKey)?;
        if !self.acls_enabled(bucket).await? {
            return Ok(CannedAcl::Private);
        }
        Ok(o.meta.acl.unwrap_or_default())
    }

    /// Sets the current object's canned ACL, keeping its data and headers.
    pub async fn set_object_acl(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        acl: CannedAcl,
    ) -> Result<(), EngineError> {
        self.allow_acl(bucket, Some(acl)).await?;
        let r = self.meta.set_object_acl(bucket, stamp, key, (acl != CannedAcl::Private).then_some(acl)).await;
        self.stamped(bucket, stamp, r).await
    }
}
