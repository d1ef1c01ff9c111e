//! The metadata store: buckets, objects, multipart uploads, credentials and the
//! blob garbage queue, behind one async trait, [`MetaStore`].
//!
//! Every piece of state that several gateways must agree on lives here (bucket
//! existence, objects, uploads, parts, credentials), so that a PostgreSQL
//! implementation can serve many stateless gateways without changing the engine.
//!
//! Contract highlights (checked by [`conformance`], which every implementation runs):
//! - Each mutating call is atomic and durable when it returns `Ok`.
//! - Keys are compared bytewise (UTF-8 bytes, `memcmp` order).
//! - Mutations that drop a blob reference (overwrite, delete, abort, complete with
//!   unused parts, re-uploaded part) enqueue the blob on the garbage queue in the
//!   same transaction; the caller never deletes blobs directly.
//!
//! Start reading at [`MetaStore`], then [`records`].

pub mod conformance;
mod error;
pub mod records;

pub use error::MetaError;
pub use records::*;

use async_trait::async_trait;
use coffer_types::{BlobId, UnixMillis};
use std::collections::HashSet;

/// Durable metadata, shared by every gateway of a deployment.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    /// Creates a bucket. `BucketAlreadyExists` if the name is taken.
    async fn create_bucket(&self, bucket: BucketRecord) -> Result<(), MetaError>;
    /// The bucket's record, if it exists.
    async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>, MetaError>;
    /// Every bucket, ordered by name.
    async fn list_buckets(&self) -> Result<Vec<BucketRecord>, MetaError>;
    /// Deletes an empty bucket (`BucketNotEmpty` otherwise); its in-progress
    /// multipart uploads are aborted and their parts queued for collection.
    async fn delete_bucket(&self, name: &str) -> Result<(), MetaError>;

    /// The current object under `key`, inline data included.
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>, MetaError>;
    /// Stores `object`, replacing any object under the same key if `cond` holds.
    async fn put_object(&self, bucket: &str, object: ObjectRecord, cond: WriteCondition) -> Result<(), MetaError>;
    /// Replaces the stored headers of the current object (its ACL, say),
    /// keeping its data, ETag and time; `NoSuchKey` if there is none.
    async fn set_object_meta(&self, bucket: &str, key: &str, meta: ObjectMeta) -> Result<(), MetaError>;
    /// Removes the object; `Ok(false)` when there was none.
    async fn delete_object(&self, bucket: &str, key: &str) -> Result<bool, MetaError>;
    /// Objects in key order matching `query`, at most `query.limit`.
    async fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<Vec<ObjectSummary>, MetaError>;

    /// Registers a new multipart upload in `bucket`.
    async fn create_upload(&self, bucket: &str, upload: UploadRecord) -> Result<(), MetaError>;
    /// The upload, if it is in progress.
    async fn get_upload(&self, bucket: &str, upload_id: &str) -> Result<Option<UploadRecord>, MetaError>;
    /// Records a part (replacing a part with the same number). `NoSuchUpload` if
    /// the upload is gone, in which case the caller still owns `part.blob`.
    async fn put_part(&self, bucket: &str, upload_id: &str, part: PartRecord) -> Result<(), MetaError>;
    /// Parts with numbers above `after`, in order, at most `limit`.
    async fn list_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<Vec<PartRecord>, MetaError>;
    /// In-progress uploads ordered by (key, upload id).
    async fn list_uploads(&self, bucket: &str, query: &UploadListQuery) -> Result<Vec<UploadRecord>, MetaError>;
    /// Atomically turns the upload into `object` (whose segments are blobs of the
    /// upload's parts), ends the upload and queues unused parts for collection.
    async fn complete_upload(
        &self,
        bucket: &str,
        upload_id: &str,
        object: ObjectRecord,
        cond: WriteCondition,
    ) -> Result<(), MetaError>;
    /// Ends the upload and queues its parts for collection.
    async fn abort_upload(&self, bucket: &str, upload_id: &str) -> Result<(), MetaError>;

    /// Blobs queued for collection at or before `queued_before`, at most `limit`.
    async fn gc_pending(&self, queued_before: UnixMillis, limit: usize) -> Result<Vec<BlobId>, MetaError>;
    /// Forgets queued blobs once the blob store has deleted them.
    async fn gc_forget(&self, blobs: &[BlobId]) -> Result<(), MetaError>;
    /// Which of `blobs` the store still knows (referenced or queued). Blobs not
    /// in the answer are orphans of a crash and may be deleted.
    async fn blobs_known(&self, blobs: &[BlobId]) -> Result<HashSet<BlobId>, MetaError>;

    /// Sets (`Some`) or removes (`None`) a named bucket configuration document
    /// (e.g. `cors`), stored as the text it was given.
    async fn set_bucket_config(&self, bucket: &str, name: &str, value: Option<String>) -> Result<(), MetaError>;
    /// A named bucket configuration, if set. `NoSuchBucket` if the bucket is missing.
    async fn get_bucket_config(&self, bucket: &str, name: &str) -> Result<Option<String>, MetaError>;

    /// Stores a credential, replacing one with the same access key.
    async fn put_credential(&self, cred: CredentialRecord) -> Result<(), MetaError>;
    /// The credential for `access_key`, if any.
    async fn get_credential(&self, access_key: &str) -> Result<Option<CredentialRecord>, MetaError>;
    /// Whether the store can answer queries now (for readiness probes).
    async fn ping(&self) -> Result<(), MetaError>;
}
