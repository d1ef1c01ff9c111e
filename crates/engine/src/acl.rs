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

    /// The canned ACL of the object's current version or of `version`, as
    /// it applies (`NoSuchKey` if there is none): private where Object
    /// Ownership disables ACLs.
    pub async fn object_acl(&self, bucket: &str, key: &str, version: Option<&str>) -> Result<CannedAcl, EngineError> {
        let (o, _) = self.read_version(bucket, key, version).await?;
        if !self.acls_enabled(bucket).await? {
            return Ok(CannedAcl::Private);
        }
        Ok(o.meta.acl.unwrap_or_default())
    }

    /// Sets the canned ACL of the current version or of `version`, keeping
    /// its data and headers.
    pub async fn set_object_acl(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        version: Option<&str>,
        acl: CannedAcl,
    ) -> Result<(), EngineError> {
        self.allow_acl(bucket, Some(acl)).await?;
        let edit = coffer_meta::MetaEdit::Acl((acl != CannedAcl::Private).then_some(acl));
        self.edit_version(bucket, stamp, key, version, edit).await
    }
}
