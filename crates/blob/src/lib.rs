//! Blob storage: immutable byte sequences named by an internal [`BlobId`].
//!
//! A blob is written through a [`BlobWriter`] into a temporary location and
//! becomes visible only at [`BlobWriter::commit`], which makes it durable
//! (data and directory entry synced) before returning its id. Dropping a writer
//! without committing discards the temporary data. Blob names never derive from
//! user input.
//!
//! [`FsBlobStore`] keeps blobs as files on a local or shared filesystem.
//! [`conformance`] is the suite every implementation runs.

pub mod conformance;
mod fs;

pub use fs::FsBlobStore;

use async_trait::async_trait;
use bytes::Bytes;
use coffer_types::BlobId;
use futures::stream::BoxStream;
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
    /// Committed blobs last modified before `before` (for the orphan scan).
    async fn list(&self, before: SystemTime) -> Result<Vec<BlobId>, BlobError>;
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
