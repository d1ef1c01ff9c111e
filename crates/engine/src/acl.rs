//! Canned ACLs of buckets and objects. A bucket's lives in its configuration
//! (`acl`), an object's in its stored headers; absent means private.

use crate::{Engine, EngineError};
use coffer_meta::{BucketStamp, ObjectMeta};
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
        Ok(self.object_access(bucket, key, version).await?.1)
    }

    /// The stored owner and ACL of the current version or `version`
    /// (`NoSuchKey` if there is none), whether or not ACLs are in force.
    pub async fn object_facts(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<AccessFacts, EngineError> {
        let (o, _) = self.read_version(bucket, key, version).await?;
        Ok(AccessFacts::of(&o.meta))
    }

    /// Who owns the current version or `version` (`None`: the bucket's
    /// project), and its canned ACL as it applies (`NoSuchKey` if there is none).
    pub async fn object_access(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<(Option<String>, CannedAcl), EngineError> {
        let (o, _) = self.read_version(bucket, key, version).await?;
        if !self.acls_enabled(bucket).await? {
            return Ok((None, CannedAcl::Private));
        }
        Ok((o.meta.owner, o.meta.acl.unwrap_or_default()))
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

/// What decides who may read an object: its owner (`None`: the bucket's
/// project) and its stored canned ACL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessFacts {
    pub owner: Option<String>,
    pub acl: CannedAcl,
}

impl AccessFacts {
    pub fn of(meta: &ObjectMeta) -> Self {
        AccessFacts { owner: meta.owner.clone(), acl: meta.acl.unwrap_or_default() }
    }
}

/// What an authorization decided on at a key: the version's facts, or
/// `None` when there was no such version. A read made after it acts only
/// on a version that still matches ([`ReadPin::check`]), so a change
/// between the two (another project's overwrite, an ACL made private, an
/// object put where none was) is never served under the earlier decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadPin(pub Option<AccessFacts>);

impl ReadPin {
    /// `ChangedSinceAuthorized` unless `meta` is what was decided on.
    pub fn check(&self, meta: &ObjectMeta) -> Result<(), EngineError> {
        if self.0.as_ref() == Some(&AccessFacts::of(meta)) {
            Ok(())
        } else {
            Err(EngineError::ChangedSinceAuthorized)
        }
    }
}
