//! What the console and the health probe read about storage: stored
//! totals, quotas, hourly usage records, and whether the metadata store
//! answers. Nothing outside the engine reads the `MetaStore` for them.

use crate::{Engine, EngineError};
use coffer_meta::{Quota, QuotaScope, StoredTotals, UsageQuery, UsageRecord};

impl Engine {
    /// Whether the metadata store answers (the readiness probe).
    pub async fn ping(&self) -> Result<(), EngineError> {
        Ok(self.meta.ping().await?)
    }

    /// What a bucket stores now (`NoSuchBucket` if it is gone).
    pub async fn bucket_totals(&self, bucket: &str) -> Result<StoredTotals, EngineError> {
        Ok(self.meta.bucket_totals(bucket).await?)
    }

    /// What a project stores now, over all its buckets.
    pub async fn project_totals(&self, project: &str) -> Result<StoredTotals, EngineError> {
        Ok(self.meta.project_totals(project).await?)
    }

    /// The quota of a bucket or project (unlimited when none is set).
    pub async fn quota(&self, scope: &QuotaScope) -> Result<Quota, EngineError> {
        Ok(self.meta.get_quota(scope).await?)
    }

    /// Sets the quota of a bucket or project; every write after it returns is bound by it.
    pub async fn set_quota(&self, scope: &QuotaScope, quota: Quota) -> Result<(), EngineError> {
        Ok(self.meta.set_quota(scope, quota).await?)
    }

    /// A project's hourly usage records in a window.
    pub async fn usage(&self, query: &UsageQuery) -> Result<Vec<UsageRecord>, EngineError> {
        Ok(self.meta.usage(query).await?)
    }
}
