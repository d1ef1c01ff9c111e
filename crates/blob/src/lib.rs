//! Blob storage: immutable byte sequences named by an internal [`BlobId`].
//!
//! A blob is written through a [`BlobWriter`] into a temporary location and
//! becomes visible only at [`BlobWriter::commit`], which makes it durable
//! (data and directory entry synced) before returning its id. Dropping a writer
//! without committing discards the temporary data. Blob names never derive from
//! user input.
//!
//! [`FsBlobStore`] keeps blobs as files on a local or shared filesystem;
//! `coffer-blob-rados` keeps them in a Ceph RADOS pool. [`conformance`] is
//! the suite every implementation runs. [`pipe`] does blocking work over a
//! body's pieces beside the task receiving them: the file store's writes,
//! and the engine's hashing.
//!
//! Listing is paged ([`BlobStore::list`], [`BlobPage`], [`ListCursor`]):
//! a store may hold more blobs than fit in memory, and not every store can
//! list in id order (RADOS lists in hash order), so a page ends at an opaque
//! cursor that only the store which made it reads.

pub mod conformance;
mod fs;
pub mod pipe;

pub use fs::FsBlobStore;

use async_trait::async_trait;
use bytes::Bytes;
use coffer_types::BlobId;
use futures::stream::BoxStream;
use std::any::Any;
use std::sync::Arc;
use std::time::SystemTime;

/// A stream of a blob's bytes.
pub type BlobStream = BoxStream<'static, Result<Bytes, BlobError>>;

/// Blob store failures.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob not found: {0}")]
    NotFound(BlobId),
    /// The device has no space left; the write was abandoned cleanly.
    #[error("no space left on the blob device")]
    NoSpace,
    #[error("blob store I/O: {0}")]
    Io(#[source] std::io::Error),
    #[error("unsupported blob store format: {0}")]
    Format(String),
    /// The store cannot answer now (a lost cluster connection, an operation
    /// that timed out); nothing was made visible. Retry later.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
    /// A [`ListCursor`] that this store did not make.
    #[error("a listing cursor from another blob store")]
    ForeignCursor,
}

/// Where a paged listing ([`BlobStore::list`]) resumes. Opaque: the store
/// that made it puts its own position inside (a file store the last id, a
/// RADOS store a librados cursor), and only that store, in the same process,
/// reads it back. Cloning is cheap.
#[derive(Clone)]
pub struct ListCursor(Arc<dyn Any + Send + Sync>);

impl ListCursor {
    /// Wraps a store's own position.
    pub fn new<T: Any + Send + Sync>(position: T) -> Self {
        ListCursor(Arc::new(position))
    }

    /// The store's position, if this cursor holds a `T`; otherwise
    /// [`BlobError::ForeignCursor`].
    pub fn position<T: Any + Send + Sync>(&self) -> Result<Arc<T>, BlobError> {
        self.0.clone().downcast::<T>().map_err(|_| BlobError::ForeignCursor)
    }
}

impl std::fmt::Debug for ListCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListCursor(..)")
    }
}

/// One page of a listing.
#[derive(Debug, Default)]
pub struct BlobPage {
    /// Committed blobs last modified before the cut-off: at most the limit
    /// asked for, possibly fewer (even none) before the end.
    pub ids: Vec<BlobId>,
    /// Where the next page starts; `None` when the listing is complete.
    pub next: Option<ListCursor>,
}

impl From<std::io::Error> for BlobError {
    fn from(e: std::io::Error) -> Self {
        // ENOSPC (28) and EDQUOT (122) both mean: no room for this write.
        match e.raw_os_error() {
            Some(28) | Some(122) => BlobError::NoSpace,
            _ => BlobError::Io(e),
        }
    }
}

/// Where blobs live.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Starts writing a new blob.
    async fn create(&self) -> Result<Box<dyn BlobWriter>, BlobError>;
    /// Streams `len` bytes from `offset`. Fails with `NotFound` before any byte
    /// is produced if the blob does not exist.
    async fn read(&self, id: &BlobId, offset: u64, len: u64) -> Result<BlobStream, BlobError>;
    /// Deletes a blob; deleting a missing blob succeeds.
    async fn delete(&self, id: &BlobId) -> Result<(), BlobError>;
    /// One page of the committed blobs last modified before `before` (for
    /// the orphan scan), starting at `from` (`None`: the beginning).
    ///
    /// Starting from `None` and following each page's `next` until it is
    /// `None` yields every blob that was committed before the listing began,
    /// was not deleted during it and was last modified before `before`,
    /// exactly once; a blob committed or deleted during the listing appears
    /// at most once, and not at all if it was deleted before the page that
    /// would hold it was asked for. A page holds at most `limit` ids (a `limit` of 0 counts
    /// as 1) and may hold fewer, even none, while `next` is `Some`: only a
    /// `None` ends the listing. The order is the store's own. Deleting blobs
    /// already listed, between pages, is allowed.
    async fn list(&self, before: SystemTime, from: Option<&ListCursor>, limit: usize) -> Result<BlobPage, BlobError>;
    /// Removes temporary data of writers abandoned before `before` (crashes);
    /// returns how many were removed.
    async fn clean_temp(&self, before: SystemTime) -> Result<usize, BlobError>;
}

/// A blob being written. Drop without `commit` to abandon it.
#[async_trait]
pub trait BlobWriter: Send {
    /// Appends bytes.
    async fn write(&mut self, data: Bytes) -> Result<(), BlobError>;
    /// Makes the blob durable and visible; returns its id.
    async fn commit(self: Box<Self>) -> Result<BlobId, BlobError>;
}
