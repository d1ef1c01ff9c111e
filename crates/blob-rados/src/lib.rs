//! A [`BlobStore`] on a Ceph RADOS pool: [`RadosBlobStore`].
//!
//! Blobs are cut into stripes (RADOS objects of at most
//! [`RadosConfig::stripe_size`], 4 MiB by default) and made visible by a
//! small head object written last; the format is in [`format`]. Every
//! object operation goes through librados' asynchronous C API ([`aio`],
//! declared in [`ffi`]): a slow OSD holds a oneshot channel, never a runtime
//! thread. Listing (librados has no asynchronous listing) runs on tokio's
//! blocking pool.
//!
//! Start reading at [`RadosBlobStore::connect`] and [`RadosConfig::from_url`];
//! the writer is [`writer::RadosWriter`].
//!
//! Pools: tested on replicated pools. Stripes are written in 1 MiB pieces at
//! offsets inside each stripe object, so an erasure-coded pool needs
//! `allow_ec_overwrites` (BlueStore); without it those writes fail.
//!
//! Memory: a writer holds at most two write batches (1 MiB each), a reader
//! two read chunks (1 MiB each, the second read ahead), whatever the blob's
//! size.

mod aio;
mod config;
mod ffi;
pub mod format;
pub mod writer;

#[cfg(test)]
mod tests;

pub use config::{RadosConfig, RadosConfigError, DEFAULT_STRIPE, MAX_STRIPE, MIN_STRIPE};
pub use writer::RadosWriter;

use aio::{Cursor, Errno, Guard, Pool, EEXIST, ENOENT};
use async_trait::async_trait;
use bytes::Bytes;
use coffer_blob::{BlobError, BlobPage, BlobStore, BlobStream, BlobWriter, ListCursor};
use coffer_types::BlobId;
use format::{head_name, parse_name, stripe_name, Head, Name, HEAD_MAX};
use futures::{StreamExt, TryStreamExt};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Reads are made of chunks of at most this size (never across a stripe).
const READ_CHUNK: u64 = 1 << 20;
/// Chunks of one read in flight at once.
const READ_AHEAD: usize = 2;

/// Where the read chunk starting at `pos` ends: a chunk, the stripe's end or
/// the range's end, whichever comes first.
fn chunk_end(pos: u64, end: u64, stripe: u64) -> u64 {
    let stripe_end = (pos / stripe + 1).saturating_mul(stripe);
    pos.saturating_add(READ_CHUNK).min(stripe_end).min(end)
}
/// Object operations run at once by a listing or a clean-up pass.
const PARALLEL: usize = 16;
/// A listing page looks at no more than this many objects per id asked for
/// (stripes are skipped), plus [`SCAN_EXTRA`].
const SCAN_PER_ID: usize = 64;
const SCAN_EXTRA: usize = 1024;

/// Blobs in one RADOS pool (and namespace).
#[derive(Clone)]
pub struct RadosBlobStore {
    pool: Arc<Pool>,
    stripe: u64,
}

impl std::fmt::Debug for RadosBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RadosBlobStore").field("stripe", &self.stripe).finish_non_exhaustive()
    }
}

/// The position inside a [`ListCursor`] made by this store.
struct RadosCursor(Cursor);

/// Whether an object last modified at `mtime` (whole seconds, rounded down
/// by RADOS) was certainly modified before `before`.
fn older_than(mtime: i64, before: SystemTime) -> bool {
    let Ok(mtime) = u64::try_from(mtime) else { return true };
    SystemTime::UNIX_EPOCH + Duration::from_secs(mtime + 1) <= before
}

fn join_error(e: tokio::task::JoinError) -> BlobError {
    BlobError::Io(std::io::Error::other(e))
}

impl RadosBlobStore {
    /// Connects to the cluster and opens the pool (which must exist). Waits
    /// at most [`RadosConfig::timeout`] for the monitors; runs on the
    /// blocking pool.
    pub async fn connect(cfg: &RadosConfig) -> Result<Self, BlobError> {
        let stripe = cfg.stripe_size.clamp(MIN_STRIPE, MAX_STRIPE);
        let cfg = cfg.clone();
        let pool = tokio::task::spawn_blocking(move || Pool::connect(&cfg)).await.map_err(join_error)??;
        Ok(RadosBlobStore { pool: Arc::new(pool), stripe })
    }

    /// The stripe size of new blobs.
    pub fn stripe_size(&self) -> u64 {
        self.stripe
    }

    /// Starts a blob (the concrete writer, for tests that look inside).
    pub async fn start(&self) -> Result<RadosWriter, BlobError> {
        RadosWriter::start(self.pool.clone(), self.stripe).await
    }

    /// A blob's head; `NotFound` when it is missing or a tombstone.
    async fn head(&self, id: &BlobId) -> Result<Head, BlobError> {
        match self.pool.read(&head_name(id), 0, HEAD_MAX).await {
            Ok(b) if b.is_empty() => Err(BlobError::NotFound(id.clone())),
            Ok(b) => Head::decode(&b),
            Err(Errno(ENOENT)) => Err(BlobError::NotFound(id.clone())),
            Err(e) => Err(e.into_blob("reading a blob head")),
        }
    }

    /// Removes stripes `0..count` last first (stripe 0 last); missing ones
    /// are fine.
    async fn remove_stripes(&self, id: &BlobId, count: u64) -> Result<(), BlobError> {
        for n in (0..count).rev() {
            match self.pool.remove(&stripe_name(id, n)).await {
                Ok(()) | Err(Errno(ENOENT)) => {}
                Err(e) => return Err(e.into_blob("removing a stripe")),
            }
        }
        Ok(())
    }

    /// The stripes of a blob that has no head: how many (a prefix from 0)
    /// and the newest modification time among them.
    async fn probe_stripes(&self, id: &BlobId) -> Result<(u64, i64), BlobError> {
        let (mut n, mut newest) = (0u64, i64::MIN);
        loop {
            match self.pool.stat(&stripe_name(id, n)).await {
                Ok((_, mtime)) => {
                    newest = newest.max(mtime);
                    n += 1;
                }
                Err(Errno(ENOENT)) => return Ok((n, newest)),
                Err(e) => return Err(e.into_blob("checking a stripe")),
            }
        }
    }

    /// One page of object names kept by `keep`, on the blocking pool.
    async fn names(
        &self,
        from: Option<Arc<RadosCursor>>,
        max: usize,
        keep: fn(&str) -> bool,
    ) -> Result<(Vec<String>, Option<ListCursor>), BlobError> {
        let pool = self.pool.clone();
        let scan = max.saturating_mul(SCAN_PER_ID).saturating_add(SCAN_EXTRA);
        let (names, next) =
            tokio::task::spawn_blocking(move || pool.list_page(from.as_ref().map(|c| &c.0), max, scan, keep))
                .await
                .map_err(join_error)?
                .map_err(|e| e.into_blob("listing the pool"))?;
        Ok((names, next.map(|c| ListCursor::new(RadosCursor(c)))))
    }

    /// Handles one head-less stripe 0 or one head for `clean_temp`; returns
    /// whether an abandoned writer's stripes were removed.
    async fn clean_one(&self, name: Name, before: SystemTime) -> Result<bool, BlobError> {
        match name {
            Name::Stripe(id, _) => {
                let head = self.pool.stat(&head_name(&id)).await;
                match head {
                    Ok((size, _)) if size > 0 => Ok(false),
                    // A tombstone: a cleaner (maybe this one, before a crash)
                    // claimed the blob; finish its work.
                    Ok(_) => {
                        let (count, _) = self.probe_stripes(&id).await?;
                        self.remove_stripes(&id, count).await?;
                        Ok(false)
                    }
                    Err(Errno(ENOENT)) => {
                        let (count, newest) = self.probe_stripes(&id).await?;
                        if count == 0 || !older_than(newest, before) {
                            return Ok(false);
                        }
                        // Claim the blob: a tombstone head, made only if no
                        // head exists, so a late commit of it fails.
                        match self.pool.write(&head_name(&id), Guard::CreateExclusive, Vec::new(), Some(0)).await {
                            Ok(()) => {}
                            Err(Errno(EEXIST)) => return Ok(false),
                            Err(e) => return Err(e.into_blob("claiming an abandoned blob")),
                        }
                        self.remove_stripes(&id, count).await?;
                        Ok(true)
                    }
                    Err(e) => Err(e.into_blob("checking a blob head")),
                }
            }
            // A tombstone older than `before` whose stripes are all gone is
            // removed (kept until then so a writer that resumes late still
            // finds its commit refused).
            Name::Head(id) => match self.pool.stat(&head_name(&id)).await {
                Ok((0, mtime)) if older_than(mtime, before) => {
                    match self.pool.stat(&stripe_name(&id, 0)).await {
                        Err(Errno(ENOENT)) => {}
                        Ok(_) => return Ok(false),
                        Err(e) => return Err(e.into_blob("checking a stripe")),
                    }
                    match self.pool.remove(&head_name(&id)).await {
                        Ok(()) | Err(Errno(ENOENT)) => Ok(false),
                        Err(e) => Err(e.into_blob("removing a tombstone")),
                    }
                }
                Ok(_) | Err(Errno(ENOENT)) => Ok(false),
                Err(e) => Err(e.into_blob("checking a blob head")),
            },
        }
    }
}

fn is_head(name: &str) -> bool {
    matches!(parse_name(name), Some(Name::Head(_)))
}

fn is_head_or_first_stripe(name: &str) -> bool {
    matches!(parse_name(name), Some(Name::Head(_)) | Some(Name::Stripe(_, 0)))
}

#[async_trait]
impl BlobStore for RadosBlobStore {
    async fn create(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        Ok(Box::new(self.start().await?))
    }

    async fn read(&self, id: &BlobId, offset: u64, len: u64) -> Result<BlobStream, BlobError> {
        let head = self.head(id).await?;
        let end = offset.checked_add(len).filter(|end| *end <= head.len);
        let Some(end) = end else {
            let e = BlobError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("range {offset}+{len} past the end of a blob of {} bytes", head.len),
            ));
            return Ok(Box::pin(futures::stream::once(async move { Err(e) })));
        };
        // The chunks, each inside one stripe; two are read at once, so the
        // next is on its way while the caller sends this one.
        let chunks = std::iter::successors(Some(offset), move |pos| {
            let next = chunk_end(*pos, end, head.stripe);
            (next < end).then_some(next)
        })
        .filter(move |pos| *pos < end)
        .map(move |pos| (pos, chunk_end(pos, end, head.stripe)));
        let (pool, id) = (self.pool.clone(), id.clone());
        let stream = futures::stream::iter(chunks)
            .map(move |(pos, stop)| {
                let (pool, id) = (pool.clone(), id.clone());
                async move {
                    let (n, within) = (pos / head.stripe, pos % head.stripe);
                    let want = (stop - pos) as usize;
                    let chunk = pool.read(&stripe_name(&id, n), within, want).await.map_err(|e| match e.0 {
                        ENOENT => BlobError::Io(std::io::Error::other(format!("blob {id}: stripe {n} is missing"))),
                        _ => e.into_blob("reading a blob"),
                    })?;
                    if chunk.len() < want {
                        return Err(BlobError::Io(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "blob shorter than recorded",
                        )));
                    }
                    Ok(Bytes::from(chunk))
                }
            })
            .buffered(READ_AHEAD);
        Ok(Box::pin(stream))
    }

    async fn delete(&self, id: &BlobId) -> Result<(), BlobError> {
        let head = match self.head(id).await {
            Ok(h) => h,
            Err(BlobError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        // The head first: the blob disappears at once; stripes a crash
        // leaves behind are an abandoned writer's for `clean_temp`.
        match self.pool.remove(&head_name(id)).await {
            Ok(()) | Err(Errno(ENOENT)) => {}
            Err(e) => return Err(e.into_blob("removing a blob head")),
        }
        self.remove_stripes(id, head.stripes()).await
    }

    async fn list(&self, before: SystemTime, from: Option<&ListCursor>, limit: usize) -> Result<BlobPage, BlobError> {
        let from = match from {
            Some(c) => Some(c.position::<RadosCursor>()?),
            None => None,
        };
        let (names, next) = self.names(from, limit.max(1), is_head).await?;
        let checked: Vec<Option<BlobId>> = futures::stream::iter(names)
            .map(|name| async move {
                let Some(Name::Head(id)) = parse_name(&name) else { return Ok(None) };
                match self.pool.stat(&name).await {
                    // Empty: a tombstone, not a blob.
                    Ok((size, mtime)) if size > 0 && older_than(mtime, before) => Ok(Some(id)),
                    Ok(_) | Err(Errno(ENOENT)) => Ok(None),
                    Err(e) => Err(e.into_blob("checking a blob head")),
                }
            })
            .buffered(PARALLEL)
            .try_collect()
            .await?;
        Ok(BlobPage { ids: checked.into_iter().flatten().collect(), next })
    }

    async fn clean_temp(&self, before: SystemTime) -> Result<usize, BlobError> {
        let mut from: Option<Arc<RadosCursor>> = None;
        let mut removed = 0;
        loop {
            let (names, next) = self.names(from.take(), 256, is_head_or_first_stripe).await?;
            let cleaned: Vec<bool> = futures::stream::iter(names.into_iter().filter_map(|n| parse_name(&n)))
                .map(|name| self.clean_one(name, before))
                .buffer_unordered(PARALLEL)
                .try_collect()
                .await?;
            removed += cleaned.into_iter().filter(|c| *c).count();
            match next {
                Some(c) => from = Some(c.position::<RadosCursor>()?),
                None => return Ok(removed),
            }
        }
    }
}
