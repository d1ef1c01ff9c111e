//! [`RadosWriter`]: a blob being written, stripe by stripe.
//!
//! Incoming pieces are gathered (without copying) up to [`WRITE_BATCH`] or
//! the end of the current stripe, whichever comes first, then sent as one
//! compound RADOS write while the caller keeps receiving the next batch: at
//! most one write is in flight. So a writer holds at most two batches
//! (about 2 MiB) whatever the stripe size or the blob's length.
//!
//! The first write to a stripe creates it exclusively; later writes assert
//! that it still exists, so a writer whose stripes were reclaimed under it
//! (idle longer than the reclaim age) fails instead of writing holes.
//! Commit checks that stripe 0 is still there, then creates the head
//! exclusively: a tombstone left by `clean_temp` makes the commit fail.

use crate::aio::{Errno, Guard, Pending, Pool, EEXIST, ENOENT};
use crate::format::{head_name, stripe_name, Head};
use async_trait::async_trait;
use bytes::Bytes;
use coffer_blob::{BlobError, BlobWriter};
use coffer_types::BlobId;
use std::sync::Arc;

/// The most bytes gathered before a write is sent (less at a stripe's end).
pub const WRITE_BATCH: usize = 1 << 20;

/// A blob being written. Drop without `commit` to abandon it: its stripes
/// are then removed (last first, stripe 0 last) without waiting.
pub struct RadosWriter {
    pool: Arc<Pool>,
    id: BlobId,
    stripe: u64,
    /// Bytes sent to RADOS (in flight or done).
    sent: u64,
    /// The batch being gathered: all of it belongs to one stripe.
    pieces: Vec<Bytes>,
    gathered: usize,
    /// The write in flight and its length.
    in_flight: Option<(Pending, usize)>,
    /// Stripes created so far (stripe 0 at creation).
    stripes: u64,
    /// Set when the writer can no longer be used (a failed step).
    failed: bool,
    /// Committed: nothing to clean on drop.
    committed: bool,
    /// The head write's outcome is unknown (a timeout): the blob may be
    /// visible, so dropping the writer must not remove its stripes;
    /// `clean_temp` or the orphan scan decides later.
    unknown: bool,
    /// The most bytes this writer has held at once (gathered plus in
    /// flight), for tests.
    peak: usize,
}

fn failed() -> BlobError {
    BlobError::Io(std::io::Error::other("blob writer already failed"))
}

/// A commit that found its blob reclaimed as abandoned.
fn reclaimed(id: &BlobId) -> BlobError {
    BlobError::Io(std::io::Error::other(format!(
        "blob {id} was reclaimed as abandoned while being written (idle longer than the reclaim age)"
    )))
}

impl RadosWriter {
    /// Creates stripe 0 (empty) and returns the writer.
    pub(crate) async fn start(pool: Arc<Pool>, stripe: u64) -> Result<RadosWriter, BlobError> {
        let id = BlobId::random();
        pool.write(&stripe_name(&id, 0), Guard::CreateExclusive, Vec::new(), Some(0))
            .await
            .map_err(|e| e.into_blob("creating a blob"))?;
        Ok(RadosWriter {
            pool,
            id,
            stripe,
            sent: 0,
            pieces: Vec::new(),
            gathered: 0,
            in_flight: None,
            stripes: 1,
            failed: false,
            committed: false,
            unknown: false,
            peak: 0,
        })
    }

    /// The blob's id (known from the start).
    pub fn id(&self) -> &BlobId {
        &self.id
    }

    /// The most bytes this writer has held at once.
    pub fn peak_buffered(&self) -> usize {
        self.peak
    }

    /// Room left in the batch being gathered.
    fn room(&self) -> usize {
        let end = self.sent + self.gathered as u64;
        let stripe_end = (self.sent / self.stripe + 1) * self.stripe;
        (WRITE_BATCH - self.gathered).min((stripe_end - end) as usize)
    }

    fn note_peak(&mut self) {
        let held = self.gathered + self.in_flight.as_ref().map_or(0, |(_, n)| *n);
        self.peak = self.peak.max(held);
    }

    /// Waits for the write in flight, if any.
    pub(crate) async fn settle(&mut self) -> Result<(), BlobError> {
        if let Some((pending, _)) = self.in_flight.take() {
            if let Err(e) = pending.done().await {
                self.failed = true;
                return Err(match e.0 {
                    ENOENT => reclaimed(&self.id),
                    _ => e.into_blob("writing a blob"),
                });
            }
        }
        Ok(())
    }

    /// Sends the gathered batch (after the previous write has finished).
    pub(crate) async fn flush(&mut self) -> Result<(), BlobError> {
        if self.gathered == 0 {
            return Ok(());
        }
        self.settle().await?;
        let n = self.sent / self.stripe;
        let within = self.sent % self.stripe;
        let guard = if n >= self.stripes {
            self.stripes = n + 1;
            Guard::CreateExclusive
        } else {
            Guard::MustExist
        };
        let pieces = std::mem::take(&mut self.pieces);
        let len = self.gathered;
        let pending = self.pool.start_write(&stripe_name(&self.id, n), guard, pieces, Some(within));
        self.in_flight = Some((pending, len));
        self.sent += len as u64;
        self.gathered = 0;
        Ok(())
    }
}

#[async_trait]
impl BlobWriter for RadosWriter {
    async fn write(&mut self, mut data: Bytes) -> Result<(), BlobError> {
        if self.failed {
            return Err(failed());
        }
        while !data.is_empty() {
            let take = self.room().min(data.len());
            let piece = data.split_to(take);
            self.gathered += piece.len();
            self.pieces.push(piece);
            self.note_peak();
            if self.room() == 0 {
                if let Err(e) = self.flush().await {
                    self.failed = true;
                    return Err(e);
                }
                self.note_peak();
            }
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<BlobId, BlobError> {
        if self.failed {
            return Err(failed());
        }
        self.flush().await?;
        self.settle().await?;
        self.failed = true;
        // Stripe 0 is removed last by every cleaner: if it is gone, so may
        // be any other stripe.
        match self.pool.stat(&stripe_name(&self.id, 0)).await {
            Ok(_) => {}
            Err(Errno(ENOENT)) => return Err(reclaimed(&self.id)),
            Err(e) => return Err(e.into_blob("checking a blob's stripes")),
        }
        let head = Head { len: self.sent, stripe: self.stripe };
        let body = Bytes::from(head.encode());
        match self.pool.write(&head_name(&self.id), Guard::CreateExclusive, vec![body], None).await {
            Ok(()) => {
                self.committed = true;
                Ok(self.id.clone())
            }
            Err(Errno(EEXIST)) => Err(reclaimed(&self.id)),
            Err(e) => {
                if matches!(e.into_blob(""), BlobError::Unavailable(_)) {
                    self.unknown = true;
                }
                Err(e.into_blob("committing a blob"))
            }
        }
    }
}

impl Drop for RadosWriter {
    fn drop(&mut self) {
        if self.committed || self.unknown {
            return;
        }
        // Removes are queued after the write in flight (same objects, same
        // client: RADOS keeps their order), last stripe first, stripe 0 last,
        // so whatever a crash here leaves is a prefix that `clean_temp`
        // finds through stripe 0.
        for n in (0..self.stripes).rev() {
            self.pool.remove_detached(&stripe_name(&self.id, n));
        }
    }
}
