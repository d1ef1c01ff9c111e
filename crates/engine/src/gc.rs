//! Reclaiming space: blobs dropped by overwrites, deletes and aborts (the
//! metadata store's garbage queue), and blobs orphaned by a crash between a
//! blob's commit and its metadata commit.

use crate::{Engine, EngineError};
use coffer_types::now_millis;
use std::time::{Duration, SystemTime};

/// What a reclaim pass removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReclaimReport {
    pub queued_deleted: usize,
    pub orphans_deleted: usize,
    pub temp_deleted: usize,
}

impl Engine {
    /// Deletes queued blobs older than the grace period. Returns how many.
    pub async fn collect_garbage(&self, grace: Duration) -> Result<usize, EngineError> {
        let cutoff = now_millis() - grace.as_millis() as i64;
        let mut total = 0;
        loop {
            let batch = self.meta.gc_pending(cutoff, 500).await?;
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
    /// empties the garbage queue.
    pub async fn reclaim_at_startup(&self, min_age: Duration) -> Result<ReclaimReport, EngineError> {
        let before = SystemTime::now() - min_age;
        let mut report = ReclaimReport { temp_deleted: self.blobs.clean_temp(before).await?, ..Default::default() };
        report.queued_deleted = self.collect_garbage(min_age).await?;
        let all = self.blobs.list(before).await?;
        for chunk in all.chunks(500) {
            let known = self.meta.blobs_known(chunk).await?;
            for b in chunk.iter().filter(|b| !known.contains(b)) {
                self.blobs.delete(b).await?;
                report.orphans_deleted += 1;
            }
        }
        Ok(report)
    }

    /// Runs [`Engine::collect_garbage`] every `every` until the task is dropped.
    pub async fn gc_loop(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match self.collect_garbage(self.cfg.gc_grace).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(blobs = n, "collected garbage"),
                Err(e) => tracing::warn!(error = %e, "garbage collection pass failed"),
            }
        }
    }
}
