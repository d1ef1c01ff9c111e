//! Reclaiming space: blobs dropped by overwrites, deletes and aborts (the
//! metadata store's garbage queue), and blobs orphaned by a crash between a
//! blob's commit and its metadata commit.

use crate::{Engine, EngineError};
use coffer_types::{now_millis, UnixMillis};
use std::time::{Duration, SystemTime};

/// How long a collector's claim on a batch of queued blobs lasts: longer
/// than deleting 500 blobs takes, short enough that a gateway that died
/// holding a batch delays its collection only a little.
pub const GC_CLAIM: Duration = Duration::from_secs(600);

/// The lease one gateway at a time holds while sweeping orphaned blobs.
pub const SWEEP_LEASE: &str = "orphan-sweep";
/// How long the sweep's lease lasts; renewed before every batch of 500.
const SWEEP_LEASE_LEN: Duration = Duration::from_secs(300);

/// What a reclaim pass removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReclaimReport {
    pub queued_deleted: usize,
    pub orphans_deleted: usize,
    pub temp_deleted: usize,
}

impl Engine {
    /// Deletes queued blobs older than the grace period. Returns how many.
    /// Each batch is claimed first ([`coffer_meta::MetaStore::gc_claim`]),
    /// so gateways collecting at once never delete the same blob twice; a
    /// batch this pass fails to finish is handed out again after
    /// [`GC_CLAIM`].
    pub async fn collect_garbage(&self, grace: Duration) -> Result<usize, EngineError> {
        self.collect(grace, false).await
    }

    /// [`Engine::collect_garbage`]; with `take_over`, claims still running
    /// are ignored (start-up on a single node: the only other collector was
    /// this gateway's previous process, killed while holding a batch).
    async fn collect(&self, grace: Duration, take_over: bool) -> Result<usize, EngineError> {
        let cutoff = now_millis() - grace.as_millis() as i64;
        let mut total = 0;
        loop {
            let now = now_millis();
            let claim_until = now + GC_CLAIM.as_millis() as i64;
            let live_claims_end = if take_over { UnixMillis::MAX } else { now };
            let batch = self.meta.gc_claim(cutoff, 500, live_claims_end, claim_until).await?;
            if batch.is_empty() {
                return Ok(total);
            }
            for b in &batch {
                self.blobs.delete(b).await?;
            }
            self.meta.gc_forget(&batch).await?;
            total += batch.len();
        }
    }

    /// Start-up recovery: removes temporary files and orphaned blobs older than
    /// `min_age` (zero on a single node, where nothing else is writing), and
    /// empties the garbage queue. With several gateways the orphan part is
    /// [`Engine::sweep_orphans`]: skipped when another gateway holds its lease.
    pub async fn reclaim_at_startup(&self, min_age: Duration) -> Result<ReclaimReport, EngineError> {
        let before = SystemTime::now() - min_age;
        let mut report = ReclaimReport { temp_deleted: self.blobs.clean_temp(before).await?, ..Default::default() };
        // A zero minimum age means a single node: claims left by a killed
        // process of this gateway are taken over, so the queue empties now.
        report.queued_deleted = self.collect(min_age, min_age.is_zero()).await?;
        report.orphans_deleted = self.sweep_orphans(min_age).await?.unwrap_or(0);
        let counted = [
            (&self.stats.garbage_collected, report.queued_deleted),
            (&self.stats.orphans_reclaimed, report.orphans_deleted),
        ];
        for (counter, n) in counted {
            counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(report)
    }

    /// Deletes blobs that no metadata knows and that are older than
    /// `min_age` (debris of a crash or a lost connection between a blob's
    /// commit and its metadata's), and temporary data of writers abandoned
    /// before then. Runs under the [`SWEEP_LEASE`] lease, so
    /// one gateway sweeps at a time; `None` when another holds it. Blobs
    /// younger than `min_age` may be another gateway's write in flight and
    /// are left alone.
    pub async fn sweep_orphans(&self, min_age: Duration) -> Result<Option<usize>, EngineError> {
        let lease_ms = SWEEP_LEASE_LEN.as_millis() as i64;
        let now = now_millis();
        if !self.meta.acquire_lease(SWEEP_LEASE, &self.node_id, now, now + lease_ms).await? {
            return Ok(None);
        }
        let swept = self.sweep_holding_lease(min_age, lease_ms).await;
        if let Err(e) = self.meta.release_lease(SWEEP_LEASE, &self.node_id).await {
            tracing::warn!(error = %e, "releasing the orphan sweep's lease (it runs out by itself)");
        }
        swept.map(Some)
    }

    async fn sweep_holding_lease(&self, min_age: Duration, lease_ms: i64) -> Result<usize, EngineError> {
        let before = SystemTime::now() - min_age;
        // Writers abandoned by a killed gateway leave temporary data too.
        let temp = self.blobs.clean_temp(before).await?;
        if temp > 0 {
            tracing::info!(temp, "abandoned temporary blob data deleted");
        }
        let mut deleted = 0;
        let mut from = None;
        loop {
            // Renewed before each page: a sweep that outlives its lease
            // stops rather than run beside a second one.
            let now = now_millis();
            if !self.meta.acquire_lease(SWEEP_LEASE, &self.node_id, now, now + lease_ms).await? {
                tracing::warn!("the orphan sweep lost its lease; stopping");
                break;
            }
            let page = self.blobs.list(before, from.as_ref(), 500).await?;
            if !page.ids.is_empty() {
                let known = self.meta.blobs_known(&page.ids).await?;
                for b in page.ids.iter().filter(|b| !known.contains(b)) {
                    self.blobs.delete(b).await?;
                    deleted += 1;
                }
            }
            match page.next {
                Some(next) => from = Some(next),
                None => break,
            }
        }
        Ok(deleted)
    }

    /// Runs [`Engine::sweep_orphans`] with `min_age` every `every` until the
    /// task is dropped (the first pass after `every`).
    pub async fn orphan_sweep_loop(self, min_age: Duration, every: Duration) {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            match self.sweep_orphans(min_age).await {
                Ok(Some(0)) | Ok(None) => {}
                Ok(Some(n)) => {
                    self.stats.orphans_reclaimed.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(blobs = n, "orphaned blobs deleted")
                }
                Err(e) => tracing::warn!(error = %e, "orphan sweep failed"),
            }
        }
    }

    /// Runs [`Engine::collect_garbage`] every `every` until the task is dropped.
    pub async fn gc_loop(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match self.collect_garbage(self.cfg.gc_grace).await {
                Ok(0) => {}
                Ok(n) => {
                    self.stats.garbage_collected.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(blobs = n, "collected garbage")
                }
                Err(e) => tracing::warn!(error = %e, "garbage collection pass failed"),
            }
        }
    }
}
