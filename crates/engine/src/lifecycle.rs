//! Lifecycle rules: a bucket's configuration, the `x-amz-expiration` a
//! current version answers with, and the worker that applies the rules.
//!
//! Every gateway runs the worker; a pass takes each bucket's lease
//! (`lifecycle:<bucket>`) in the metadata store before working on it, so
//! one gateway at a time applies a bucket's rules and one that dies lets
//! the lease run out. The worker deletes only through the store's own
//! deletes: a locked version is refused there (and skipped here), and an
//! expiration in a versioned bucket is a delete marker, as on S3.

use crate::{DeleteInput, Engine, EngineError};
use coffer_meta::{BucketQuery, VersionEntry, VersionSummary};
use coffer_meta::{DeleteTarget, ListQuery, ListStart, LockCheck, UploadListQuery, VersionListQuery, VersionSel};
use coffer_types::lifecycle::{after_days, LifecycleConfig, LifecycleRule};
use coffer_types::{now_millis, BucketConfigKind, UnixMillis};
use std::time::Duration;

/// Rows read per page while a pass walks a bucket.
const PAGE: usize = 1000;
/// How long one gateway holds a bucket's lease while applying its rules.
const LEASE: Duration = Duration::from_secs(600);

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    pub buckets: usize,
    /// Current versions expired (deleted, or hidden by a delete marker).
    pub expired: usize,
    /// Noncurrent versions and lone delete markers removed.
    pub removed_versions: usize,
    pub aborted_uploads: usize,
    /// Versions a lock kept.
    pub locked: usize,
}

impl Engine {
    /// The bucket's lifecycle rules, if it has any.
    pub async fn lifecycle_config(&self, bucket: &str) -> Result<Option<LifecycleConfig>, EngineError> {
        let Some(stored) = self.bucket_config(bucket, BucketConfigKind::Lifecycle).await? else { return Ok(None) };
        serde_json::from_str(&stored)
            .map(Some)
            .map_err(|e| EngineError::Internal(format!("stored lifecycle rules of {bucket} do not parse: {e}")))
    }

    /// Sets (`Some`) or removes the bucket's lifecycle rules.
    pub async fn set_lifecycle_config(
        &self,
        bucket: &str,
        stamp: Option<&coffer_meta::BucketStamp>,
        config: Option<LifecycleConfig>,
    ) -> Result<(), EngineError> {
        let value = config
            .map(|c| serde_json::to_string(&c))
            .transpose()
            .map_err(|e| EngineError::Internal(format!("lifecycle rules: {e}")))?;
        self.write_bucket_config(bucket, stamp, BucketConfigKind::Lifecycle, value).await
    }

    /// Sets (`Some`) or removes the bucket's lifecycle rules over the rules
    /// `current` the caller read (`None`: none were set), as one
    /// compare-and-set on the stored document: `PreconditionFailed`, and
    /// nothing written, if they changed since. An edit of one rule (the
    /// console adds or removes one) must not undo another edit that
    /// committed in between.
    pub async fn replace_lifecycle_config(
        &self,
        bucket: &str,
        stamp: Option<&coffer_meta::BucketStamp>,
        current: Option<&LifecycleConfig>,
        config: Option<LifecycleConfig>,
    ) -> Result<(), EngineError> {
        let name = BucketConfigKind::Lifecycle.name();
        let stored = self.meta.get_bucket_config(bucket, name).await;
        let stored = self.stamped(bucket, stamp, stored).await?;
        let parsed = stored.as_deref().map(serde_json::from_str::<LifecycleConfig>).transpose().ok();
        if parsed.as_ref().map(Option::as_ref) != Some(current) {
            self.buckets.forget(bucket);
            return Err(EngineError::PreconditionFailed);
        }
        let value = config
            .map(|c| serde_json::to_string(&c))
            .transpose()
            .map_err(|e| EngineError::Internal(format!("lifecycle rules: {e}")))?;
        let r = self.meta.set_bucket_config_if(bucket, stamp, name, Some(stored.as_deref()), value).await;
        self.buckets.forget(bucket);
        self.stamped(bucket, stamp, r).await
    }

    /// The length of a lifecycle "day" (shortened in test deployments).
    fn day_ms(&self) -> i64 {
        i64::try_from(self.cfg.lifecycle_day.as_millis()).unwrap_or(i64::MAX).max(1)
    }

    /// When a rule expires a current version and which rule (S3's
    /// `x-amz-expiration`), if one does. Told in real days, whatever the
    /// worker's day (RGW does the same with its debug interval): the header
    /// is the date a customer is promised.
    pub async fn expiration(
        &self,
        bucket: &str,
        o: &coffer_meta::ObjectRecord,
    ) -> Result<Option<(UnixMillis, String)>, EngineError> {
        let Some(cfg) = self.lifecycle_config(bucket).await? else { return Ok(None) };
        let at = cfg.expiry_of(&o.key, o.size, &o.meta.tags, o.last_modified, 86_400_000);
        Ok(at.map(|(t, id)| (t, id.to_owned())))
    }

    /// Applies every bucket's rules once at `now`.
    pub async fn lifecycle_pass(&self, now: UnixMillis) -> Result<LifecycleReport, EngineError> {
        let mut report = LifecycleReport::default();
        let mut after = None;
        loop {
            let q = BucketQuery { project: None, prefix: String::new(), after: after.clone(), limit: PAGE };
            let page = self.meta.list_buckets(&q).await?;
            for b in &page {
                let Some(cfg) = self.lifecycle_config(&b.name).await.ok().flatten() else { continue };
                let lease = format!("lifecycle:{}", b.name);
                let until = now + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
                if !self.meta.acquire_lease(&lease, &self.node_id, now, until).await? {
                    continue;
                }
                report.buckets += 1;
                let r = self.apply_rules(&b.name, &cfg, now, &mut report).await;
                self.meta.release_lease(&lease, &self.node_id).await?;
                if let Err(e) = r {
                    tracing::warn!(bucket = %b.name, error = %e, "lifecycle rules of a bucket failed");
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(last.name.clone()),
                _ => return Ok(report),
            }
        }
    }

    async fn apply_rules(
        &self,
        bucket: &str,
        cfg: &LifecycleConfig,
        now: UnixMillis,
        report: &mut LifecycleReport,
    ) -> Result<(), EngineError> {
        for rule in cfg.rules.iter().filter(|r| r.enabled) {
            if rule.expiration.as_ref().is_some_and(|e| e.days.is_some() || e.date.is_some()) {
                self.expire_current(bucket, rule, now, report).await?;
            }
            let markers = rule.expiration.as_ref().is_some_and(|e| e.expired_object_delete_marker);
            if rule.noncurrent_days.is_some() || markers {
                self.expire_versions(bucket, rule, now, report).await?;
            }
            if let Some(days) = rule.abort_upload_days {
                self.abort_old_uploads(bucket, rule, days, now, report).await?;
            }
        }
        Ok(())
    }

    async fn tags_match(&self, bucket: &str, rule: &LifecycleRule, key: &str, which: &VersionSel) -> bool {
        if rule.filter.tags.is_empty() {
            return true;
        }
        match self.meta.get_version(bucket, key, which).await {
            Ok(Some(v)) => rule.filter.matches_tags(&v.object.meta.tags),
            _ => false,
        }
    }

    async fn expire_current(
        &self,
        bucket: &str,
        rule: &LifecycleRule,
        now: UnixMillis,
        report: &mut LifecycleReport,
    ) -> Result<(), EngineError> {
        let mut start = ListStart::Unbounded;
        loop {
            let q =
                ListQuery { prefix: rule.filter.prefix.clone(), delimiter: None, start: start.clone(), limit: PAGE };
            let page = self.meta.list_objects(bucket, &q).await?;
            for o in page.iter().filter_map(|e| e.clone().into_object()) {
                let due = rule.expires_at(o.last_modified, self.day_ms()).is_some_and(|t| t <= now);
                if !due || !rule.filter.matches_key_and_size(&o.key, o.size) {
                    continue;
                }
                if !self.tags_match(bucket, rule, &o.key, &VersionSel::Latest).await {
                    continue;
                }
                let input = DeleteInput { bucket: bucket.to_owned(), key: o.key.clone(), ..Default::default() };
                match self.delete(input).await {
                    Ok(_) => report.expired += 1,
                    Err(EngineError::ObjectLocked(_)) => report.locked += 1,
                    Err(e) => return Err(e),
                }
            }
            match page.last() {
                Some(e) if page.len() == PAGE => start = ListStart::After(e.key().as_bytes().to_vec()),
                _ => return Ok(()),
            }
        }
    }

    /// Noncurrent versions past their days (keeping the newest
    /// `newer_noncurrent_versions`), and delete markers left alone.
    async fn expire_versions(
        &self,
        bucket: &str,
        rule: &LifecycleRule,
        now: UnixMillis,
        report: &mut LifecycleReport,
    ) -> Result<(), EngineError> {
        let mut q = VersionListQuery { prefix: rule.filter.prefix.clone(), limit: PAGE, ..Default::default() };
        let mut key_versions: Vec<VersionSummary> = Vec::new();
        loop {
            let page = self.meta.list_versions(bucket, &q).await?;
            let full = page.len() == PAGE;
            for e in page {
                let VersionEntry::Version(v) = e else { continue };
                if key_versions.first().is_some_and(|f| f.key != v.key) {
                    let done = std::mem::take(&mut key_versions);
                    self.expire_key_versions(bucket, rule, done, now, report).await?;
                }
                q.key_marker = v.key.clone();
                q.version_marker = Some(v.version_id.clone());
                key_versions.push(v);
            }
            if !full {
                return self.expire_key_versions(bucket, rule, key_versions, now, report).await;
            }
        }
    }

    /// One key's versions, newest first (the first may be its latest).
    async fn expire_key_versions(
        &self,
        bucket: &str,
        rule: &LifecycleRule,
        versions: Vec<VersionSummary>,
        now: UnixMillis,
        report: &mut LifecycleReport,
    ) -> Result<(), EngineError> {
        let day = self.day_ms();
        let mut left = versions.len();
        let mut noncurrent_seen = 0u32;
        for (i, v) in versions.iter().enumerate() {
            if v.latest || i == 0 {
                continue;
            }
            let Some(days) = rule.noncurrent_days else { break };
            // Noncurrent since its successor was written.
            let since = versions[i - 1].last_modified;
            noncurrent_seen += 1;
            let kept = rule.newer_noncurrent_versions.is_some_and(|n| noncurrent_seen <= n);
            if kept || after_days(since, days, day) > now || !rule.filter.matches_key_and_size(&v.key, v.size) {
                continue;
            }
            let which = VersionSel::Id(v.version_id.clone());
            if !v.delete_marker && !self.tags_match(bucket, rule, &v.key, &which).await {
                continue;
            }
            if self.remove_version(bucket, &v.key, &v.version_id, now, report).await? {
                left -= 1;
            }
        }
        // A delete marker that is all that is left of its key.
        let marker_only = left == 1 && versions.first().is_some_and(|f| f.latest && f.delete_marker);
        if marker_only && rule.expiration.as_ref().is_some_and(|e| e.expired_object_delete_marker) {
            let m = &versions[0];
            self.remove_version(bucket, &m.key, &m.version_id, now, report).await?;
        }
        Ok(())
    }

    async fn remove_version(
        &self,
        bucket: &str,
        key: &str,
        id: &Option<String>,
        now: UnixMillis,
        report: &mut LifecycleReport,
    ) -> Result<bool, EngineError> {
        let target = DeleteTarget::Version(id.clone());
        let lock = LockCheck { now, bypass_governance: false };
        match self.meta.delete_version(bucket, None, key, &target, lock).await {
            Ok(d) if d.found => {
                report.removed_versions += 1;
                Ok(true)
            }
            Ok(_) => Ok(false),
            Err(coffer_meta::MetaError::ObjectLocked(_)) => {
                report.locked += 1;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn abort_old_uploads(
        &self,
        bucket: &str,
        rule: &LifecycleRule,
        days: u32,
        now: UnixMillis,
        report: &mut LifecycleReport,
    ) -> Result<(), EngineError> {
        let mut q = UploadListQuery { prefix: rule.filter.prefix.clone(), limit: PAGE, ..Default::default() };
        loop {
            let page = self.meta.list_uploads(bucket, &q).await?;
            for u in &page {
                if after_days(u.initiated, days, self.day_ms()) <= now {
                    match self.meta.abort_upload(bucket, &u.upload_id).await {
                        Ok(()) => report.aborted_uploads += 1,
                        Err(coffer_meta::MetaError::NoSuchUpload) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            match page.last() {
                Some(u) if page.len() == PAGE => {
                    q.key_marker = Some(u.key.clone());
                    q.upload_id_marker = Some(u.upload_id.clone());
                }
                _ => return Ok(()),
            }
        }
    }

    /// Runs [`Engine::lifecycle_pass`] every `every` until the task is dropped.
    pub async fn lifecycle_loop(self, every: Duration) {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            match self.lifecycle_pass(now_millis()).await {
                Ok(r) if r.expired + r.removed_versions + r.aborted_uploads > 0 => {
                    tracing::info!(?r, "lifecycle rules applied")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "lifecycle pass failed"),
            }
        }
    }
}
