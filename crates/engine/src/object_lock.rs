//! Object lock: a bucket's lock and default retention, the lock a new
//! version gets, and the retention and legal hold of a version. What a lock
//! forbids (removing a version, shortening a COMPLIANCE retention) is
//! enforced by the metadata store in the transaction that would break it
//! ([`coffer_types::VersionLock`]), so every path that deletes (S3, the
//! console, lifecycle rules, an operator) meets the same refusal.

use crate::{Engine, EngineError};
use coffer_meta::{BucketStamp, MetaEdit, ObjectMeta};
use coffer_types::{now_millis, BucketConfigKind, DefaultRetention, Retention};

/// What S3 answers for lock settings on a bucket without object lock.
fn no_lock() -> EngineError {
    EngineError::InvalidRequest("Bucket is missing Object Lock Configuration".into())
}

impl Engine {
    /// The bucket's default retention, `Ok(None)` when it has none; `None`
    /// inside when object lock is off (S3's `ObjectLockConfigurationNotFoundError`).
    pub async fn object_lock_config(&self, bucket: &str) -> Result<Option<Option<DefaultRetention>>, EngineError> {
        if !self.head_bucket(bucket).await?.object_lock {
            return Ok(None);
        }
        let stored = self.bucket_config(bucket, BucketConfigKind::ObjectLock).await?;
        Ok(Some(stored.as_deref().and_then(DefaultRetention::from_stored)))
    }

    /// Turns object lock on (versioning must be enabled: `InvalidBucketState`)
    /// and sets or removes its default retention.
    pub async fn set_object_lock_config(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        default: Option<DefaultRetention>,
    ) -> Result<(), EngineError> {
        let info = self.head_bucket(bucket).await?;
        if !info.object_lock {
            self.enable_object_lock(bucket, stamp).await?;
        }
        let value = default.map(|d| d.to_stored());
        self.write_bucket_config(bucket, stamp, BucketConfigKind::ObjectLock, value).await
    }

    /// Gives a new version of `bucket` its lock: the retention and legal
    /// hold its request asked for (already in `meta`), else the bucket's
    /// default retention. Lock settings on a bucket without object lock
    /// are refused.
    pub(crate) async fn lock_new_version(&self, bucket: &str, meta: &mut ObjectMeta) -> Result<(), EngineError> {
        let asked = meta.retention.is_some() || meta.legal_hold;
        let Some(default) = self.object_lock_config(bucket).await? else {
            return if asked { Err(no_lock()) } else { Ok(()) };
        };
        if meta.retention.is_none() {
            meta.retention = default.map(|d| d.retention_at(now_millis()));
        }
        Ok(())
    }

    /// A version's retention (`None`: none set), with its `x-amz-version-id`.
    pub async fn object_retention(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<(Option<Retention>, Option<String>), EngineError> {
        if !self.head_bucket(bucket).await?.object_lock {
            return Err(no_lock());
        }
        let (o, v) = self.read_version(bucket, key, version).await?;
        Ok((o.meta.retention, v))
    }

    /// Sets a version's retention (`None`: removes it), as its current lock
    /// allows: a COMPLIANCE retention in force only moves later; a
    /// GOVERNANCE one is shortened or removed only with `bypass_governance`.
    pub async fn set_object_retention(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        version: Option<&str>,
        retention: Option<Retention>,
        bypass_governance: bool,
    ) -> Result<(), EngineError> {
        if !self.head_bucket(bucket).await?.object_lock {
            return Err(no_lock());
        }
        let edit = MetaEdit::Retention { retention, bypass_governance, now: now_millis() };
        self.edit_version(bucket, stamp, key, version, edit).await
    }

    /// A version's legal hold, with its `x-amz-version-id`.
    pub async fn object_legal_hold(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<(bool, Option<String>), EngineError> {
        if !self.head_bucket(bucket).await?.object_lock {
            return Err(no_lock());
        }
        let (o, v) = self.read_version(bucket, key, version).await?;
        Ok((o.meta.legal_hold, v))
    }

    /// Sets or lifts a version's legal hold.
    pub async fn set_object_legal_hold(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        version: Option<&str>,
        on: bool,
    ) -> Result<(), EngineError> {
        if !self.head_bucket(bucket).await?.object_lock {
            return Err(no_lock());
        }
        self.edit_version(bucket, stamp, key, version, MetaEdit::LegalHold(on)).await
    }
}
