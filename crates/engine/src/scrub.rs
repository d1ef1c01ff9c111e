//! The scrubber: reads every blob that an object, a version or an upload
//! part refers to, and checks its length and CRC-64/NVME against the
//! metadata ([`crate::bitrot`]), so a rotting disk is found before a
//! customer reads the object. A blob that is not there is missing; one
//! whose bytes differ (or end early, or cannot be read: `EIO`) is corrupt.
//! Either is counted only if the metadata still refers to it after the read
//! (a blob collected while the pass read it is neither). Nothing is
//! repaired: the report names the blobs.
//!
//! A pass walks [`coffer_meta::MetaStore::blob_refs`] in blob id order
//! under the [`SCRUB_LEASE`] (one gateway at a time), renewed by time, never
//! reading faster than its rate (paced per chunk, so a burst is at most one
//! chunk). Where it has got to is kept in the metadata store (the job state
//! [`SCRUB_LEASE`]: the pass's start, the last blob checked, and when the
//! last whole pass ended), so a pass cut off by a restart, a lost lease or
//! a store that stopped answering resumes there, on whichever gateway
//! takes the lease next. [`Engine::scrub_loop`] starts or resumes a pass
//! when one is due.

use crate::bitrot::Crc64;
use crate::{Engine, EngineError};
use coffer_blob::BlobError;
use coffer_meta::BlobRef;
use coffer_types::{now_millis, BlobId, UnixMillis};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The lease one gateway at a time holds while scrubbing, and the name of
/// the scrubber's job state.
pub const SCRUB_LEASE: &str = "scrub";
/// How long the pass's lease lasts; renewed every third of it.
const LEASE_LEN: Duration = Duration::from_secs(300);
/// Blobs named in a report, at most (the counts go on).
const NAMED: usize = 1000;

/// How a pass runs.
#[derive(Clone, Debug)]
pub struct ScrubOptions {
    /// Bytes read a second, at most (`None`: as fast as the store answers).
    pub rate: Option<u64>,
    /// Blobs listed a page.
    pub page: usize,
}

impl Default for ScrubOptions {
    fn default() -> Self {
        ScrubOptions { rate: None, page: 500 }
    }
}

/// What a pass found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScrubReport {
    /// Blobs read.
    pub blobs: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Blobs whose bytes differ from their checksum or length (the first
    /// [`NAMED`] named).
    pub corrupt: Vec<BlobId>,
    pub corrupt_count: u64,
    /// Blobs referred to that the blob store does not have.
    pub missing: Vec<BlobId>,
    pub missing_count: u64,
    /// Blobs written before checksums were kept: only their length was checked.
    pub unverified: u64,
    /// Whether the pass reached the last blob (not stopped by a lost lease).
    pub complete: bool,
}

impl ScrubReport {
    /// Whether the pass found nothing wrong.
    pub fn clean(&self) -> bool {
        self.corrupt_count == 0 && self.missing_count == 0
    }
}

/// What this process's passes read and found.
#[derive(Debug, Default)]
pub struct ScrubStats {
    /// Passes that reached the last blob.
    pub passes: AtomicU64,
    pub blobs: AtomicU64,
    pub bytes: AtomicU64,
    pub corrupt: AtomicU64,
    pub missing: AtomicU64,
}

/// The scrubber's state that every gateway sees (job state [`SCRUB_LEASE`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct JobState {
    /// When the last whole pass ended.
    #[serde(default)]
    ended: Option<UnixMillis>,
    /// The pass under way, if one is.
    #[serde(default)]
    pass: Option<PassState>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct PassState {
    started: UnixMillis,
    /// The last blob checked; the pass resumes after it.
    #[serde(default)]
    after: Option<String>,
}

/// Where a pass is: its lease, its pace, its place.
struct Walk<'a> {
    engine: &'a Engine,
    /// Renew the lease (`false`: `coffer scrub` by hand, no lease).
    lease: bool,
    renewed: Instant,
    rate: Option<u64>,
    /// When the pace allows the next read.
    next_free: Instant,
}

impl Walk<'_> {
    /// Renews the lease when a third of it has passed; `false` once lost.
    async fn hold(&mut self) -> Result<bool, EngineError> {
        if !self.lease || self.renewed.elapsed() < LEASE_LEN / 3 {
            return Ok(true);
        }
        let held = self.engine.take_scrub_lease().await?;
        self.renewed = Instant::now();
        Ok(held)
    }

    /// Waits until `n` more bytes fit the rate.
    async fn pace(&mut self, n: usize) {
        let Some(rate) = self.rate.filter(|r| *r > 0) else { return };
        let now = Instant::now();
        self.next_free = next_slot(self.next_free, now, n, rate);
        if self.next_free > now + Duration::from_millis(10) {
            tokio::time::sleep_until(self.next_free).await;
        }
    }
}

/// When reading may go on after `n` more bytes at `rate` a second: time not
/// used is not saved up, so a burst is at most one chunk.
fn next_slot(next_free: Instant, now: Instant, n: usize, rate: u64) -> Instant {
    next_free.max(now) + Duration::from_secs_f64(n as f64 / rate as f64)
}

/// One blob's verdict.
enum Found {
    Good,
    Unverified,
    Corrupt(String),
    Missing,
}

impl Engine {
    async fn take_scrub_lease(&self) -> Result<bool, EngineError> {
        let now = now_millis();
        Ok(self.meta.acquire_lease(SCRUB_LEASE, &self.node_id, now, now + LEASE_LEN.as_millis() as i64).await?)
    }

    async fn scrub_state(&self) -> Result<JobState, EngineError> {
        let Some(doc) = self.meta.get_job_state(SCRUB_LEASE).await? else { return Ok(JobState::default()) };
        Ok(serde_json::from_str(&doc).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the scrubber's stored state does not parse; starting afresh");
            JobState::default()
        }))
    }

    async fn save_scrub_state(&self, st: &JobState) -> Result<(), EngineError> {
        let doc = serde_json::to_string(st).map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(self.meta.set_job_state(SCRUB_LEASE, Some(&doc)).await?)
    }

    /// A whole pass by hand (`coffer scrub`): from the first blob, without
    /// the lease and without touching the scrubber's stored state.
    pub async fn scrub(&self, opts: &ScrubOptions) -> Result<ScrubReport, EngineError> {
        let now = Instant::now();
        let mut walk = Walk { engine: self, lease: false, renewed: now, rate: opts.rate, next_free: now };
        let mut report = ScrubReport::default();
        report.complete = self.walk_blobs(None, opts, &mut walk, &mut report, None).await?;
        Ok(report)
    }

    /// Starts or resumes the shared pass if one is due (one is under way, or
    /// the last ended `every` ago or more, on any gateway) and no gateway
    /// holds [`SCRUB_LEASE`]; `None` when not. A pass that loses its lease
    /// stops early (`complete: false`); one cut off by an error resumes
    /// where it got to on the next call, here or on another gateway.
    pub async fn scrub_if_due(&self, every: Duration, opts: &ScrubOptions) -> Result<Option<ScrubReport>, EngineError> {
        let due = |st: &JobState| {
            st.pass.is_some() || st.ended.is_none_or(|e| now_millis() >= e.saturating_add(every.as_millis() as i64))
        };
        if !due(&self.scrub_state().await?) || !self.take_scrub_lease().await? {
            return Ok(None);
        }
        // Read again under the lease: a pass may have ended meanwhile.
        let result = match self.scrub_state().await {
            Ok(st) if due(&st) => self.scrub_holding_lease(st, opts).await.map(Some),
            Ok(_) => Ok(None),
            Err(e) => Err(e),
        };
        if let Err(e) = self.meta.release_lease(SCRUB_LEASE, &self.node_id).await {
            tracing::warn!(error = %e, "releasing the scrubber's lease (it runs out by itself)");
        }
        result
    }

    async fn scrub_holding_lease(&self, st: JobState, opts: &ScrubOptions) -> Result<ScrubReport, EngineError> {
        let pass = st.pass.clone().unwrap_or(PassState { started: now_millis(), after: None });
        let after = pass.after.as_deref().and_then(|a| BlobId::parse(a).ok());
        if after.is_some() {
            tracing::info!(after = pass.after.as_deref(), "resuming the scrub pass");
        }
        self.save_scrub_state(&JobState { ended: st.ended, pass: Some(pass.clone()) }).await?;
        let now = Instant::now();
        let mut walk = Walk { engine: self, lease: true, renewed: now, rate: opts.rate, next_free: now };
        let mut report = ScrubReport::default();
        let keep = Some((st.ended, pass.started));
        report.complete = self.walk_blobs(after, opts, &mut walk, &mut report, keep).await?;
        if report.complete {
            self.save_scrub_state(&JobState { ended: Some(now_millis()), pass: None }).await?;
            self.stats.scrub.passes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(report)
    }

    /// Walks the referred blobs after `after`; `Ok(true)` once it has checked
    /// the last, `Ok(false)` when it lost its lease. With `keep` (the last
    /// pass's end, this pass's start), the place is stored after every page.
    async fn walk_blobs(
        &self,
        mut after: Option<BlobId>,
        opts: &ScrubOptions,
        walk: &mut Walk<'_>,
        report: &mut ScrubReport,
        keep: Option<(Option<UnixMillis>, UnixMillis)>,
    ) -> Result<bool, EngineError> {
        let limit = opts.page.max(1);
        loop {
            let start = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
            let page = self.meta.blob_refs(start, limit).await?;
            for r in &page {
                if !self.scrub_one(r, report, walk).await? {
                    tracing::warn!("the scrubber lost its lease; stopping (the holder goes on from here)");
                    return Ok(false);
                }
            }
            let Some(last) = page.last() else { return Ok(true) };
            after = Some(last.blob.clone());
            if let Some((ended, started)) = keep {
                let pass = PassState { started, after: Some(last.blob.as_str().to_owned()) };
                self.save_scrub_state(&JobState { ended, pass: Some(pass) }).await?;
            }
            if page.len() < limit {
                return Ok(true);
            }
        }
    }

    /// Checks one blob; `false` when the lease was lost meanwhile.
    async fn scrub_one(&self, r: &BlobRef, report: &mut ScrubReport, walk: &mut Walk<'_>) -> Result<bool, EngineError> {
        let Some(found) = self.check_blob(r, report, walk).await? else { return Ok(false) };
        let stats = &self.stats.scrub;
        stats.blobs.fetch_add(1, Ordering::Relaxed);
        report.blobs += 1;
        let bad = matches!(found, Found::Corrupt(_) | Found::Missing);
        // A blob collected while it was read is not a finding.
        if bad && self.meta.blob_refs(Bound::Included(&r.blob), 1).await?.first().map(|x| &x.blob) != Some(&r.blob) {
            return Ok(true);
        }
        match found {
            Found::Good => {}
            Found::Unverified => report.unverified += 1,
            Found::Corrupt(why) => {
                tracing::error!(blob = %r.blob, why, "scrub: a blob does not match its checksum");
                stats.corrupt.fetch_add(1, Ordering::Relaxed);
                report.corrupt_count += 1;
                if report.corrupt.len() < NAMED {
                    report.corrupt.push(r.blob.clone());
                }
            }
            Found::Missing => {
                tracing::error!(blob = %r.blob, "scrub: a blob the metadata refers to is missing");
                stats.missing.fetch_add(1, Ordering::Relaxed);
                report.missing_count += 1;
                if report.missing.len() < NAMED {
                    report.missing.push(r.blob.clone());
                }
            }
        }
        Ok(true)
    }

    /// Reads one blob whole, at the pace; `None` when the lease was lost.
    /// Errors when the store cannot answer now, or fails in a way that says
    /// nothing about the blob (the pass resumes later).
    async fn check_blob(
        &self,
        r: &BlobRef,
        report: &mut ScrubReport,
        walk: &mut Walk<'_>,
    ) -> Result<Option<Found>, EngineError> {
        if !walk.hold().await? {
            return Ok(None);
        }
        let mut stream = match self.blobs.read(&r.blob, 0, r.size).await {
            Ok(s) => s,
            Err(e) => return verdict_of(e).map(Some),
        };
        let mut crc = Crc64::new();
        let mut seen = 0u64;
        while let Some(chunk) = stream.next().await {
            let c = match chunk {
                Ok(c) => c,
                Err(e) => return verdict_of(e).map(Some),
            };
            crc.update(&c);
            seen += c.len() as u64;
            report.bytes += c.len() as u64;
            self.stats.scrub.bytes.fetch_add(c.len() as u64, Ordering::Relaxed);
            walk.pace(c.len()).await;
            if !walk.hold().await? {
                return Ok(None);
            }
        }
        if seen != r.size {
            return Ok(Some(Found::Corrupt(format!("{seen} bytes read, {} written", r.size))));
        }
        // A blob longer than written is read only to its recorded length.
        Ok(Some(match r.crc64 {
            None => Found::Unverified,
            Some(want) if crc.value() == want => Found::Good,
            Some(_) => Found::Corrupt("CRC-64/NVME mismatch".into()),
        }))
    }

    /// Starts or resumes a pass whenever one is due, checking every `tick`,
    /// until the task is dropped.
    pub async fn scrub_loop(self, every: Duration, tick: Duration, opts: ScrubOptions) {
        let mut timer = tokio::time::interval(tick);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
            match self.scrub_if_due(every, &opts).await {
                Ok(Some(r)) if r.clean() => {
                    tracing::info!(
                        blobs = r.blobs,
                        bytes = r.bytes,
                        unverified = r.unverified,
                        "scrub: no damage found"
                    )
                }
                Ok(Some(r)) => tracing::error!(
                    blobs = r.blobs,
                    corrupt = r.corrupt_count,
                    missing = r.missing_count,
                    "scrub found damaged blobs (named above)"
                ),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "scrub pass cut off; it resumes where it got to"),
            }
        }
    }
}

/// What a failed read says about the blob; an error when it says nothing
/// (the store cannot answer now, or failed for its own reasons).
fn verdict_of(e: BlobError) -> Result<Found, EngineError> {
    match e {
        BlobError::NotFound(_) => Ok(Found::Missing),
        BlobError::Format(why) => Ok(Found::Corrupt(why)),
        BlobError::Io(io) if crate::bitrot::io_says_damaged(&io) => Ok(Found::Corrupt(io.to_string())),
        other => Err(EngineError::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_spreads_reads_and_saves_no_credit() {
        let t0 = Instant::now();
        let mib = 1 << 20;
        // 1 MiB at 1 MiB/s: the next read waits a second, the one after two.
        let a = next_slot(t0, t0, mib, mib as u64);
        assert_eq!(a - t0, Duration::from_secs(1));
        assert_eq!(next_slot(a, t0, mib, mib as u64) - t0, Duration::from_secs(2));
        // Idle for a minute: no minute of credit, one chunk's time from now.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(next_slot(a, later, mib / 2, mib as u64) - later, Duration::from_millis(500));
    }

    #[test]
    fn the_stored_state_reads_back() {
        let st = JobState { ended: Some(5), pass: Some(PassState { started: 7, after: Some("ab".into()) }) };
        let doc = serde_json::to_string(&st).unwrap();
        assert_eq!(serde_json::from_str::<JobState>(&doc).unwrap(), st);
        assert_eq!(serde_json::from_str::<JobState>("{}").unwrap(), JobState::default());
    }
}
