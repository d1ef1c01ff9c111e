//! PutObject and DeleteObject.

use crate::{Body, BodyCheck, Engine, EngineError};
use coffer_meta::{ObjectMeta, ObjectRecord, StoredChecksum, WriteCondition};
use coffer_types::{now_millis, ETag, ObjectKey};

/// A PutObject request.
pub struct PutInput {
    pub bucket: String,
    pub key: String,
    /// Declared (decoded) body length; `None` for a chunked body of unknown length.
    pub len: Option<u64>,
    pub body: Body,
    pub check: BodyCheck,
    pub meta: ObjectMeta,
    pub condition: WriteCondition,
    /// The bucket as authorized: the write is refused (`NoSuchBucket`) if a
    /// bucket of the same name was made since.
    pub stamp: Option<coffer_meta::BucketStamp>,
}

pub(crate) fn check_key(key: &str) -> Result<(), EngineError> {
    ObjectKey::parse(key).map(|_| ()).map_err(|e| match e {
        coffer_types::InvalidObjectKey::TooLong => EngineError::KeyTooLong,
        coffer_types::InvalidObjectKey::Empty => EngineError::InvalidArgument("empty key".into()),
    })
}

/// What a stored object answers with.
#[derive(Clone, Debug)]
pub struct PutOutput {
    pub etag: ETag,
    pub checksum: StoredChecksum,
    /// `x-amz-version-id` (none in an unversioned bucket).
    pub version_id: Option<String>,
    /// The version as stored, without its data (for `x-amz-expiration`).
    pub stored: ObjectRecord,
}

impl Engine {
    /// Stores an object; returns its ETag, checksum and version once durable.
    pub async fn put_object(&self, mut input: PutInput) -> Result<PutOutput, EngineError> {
        check_key(&input.key)?;
        self.allow_acl(&input.bucket, input.meta.acl).await?;
        self.settle_owner(&input.bucket, &mut input.meta).await?;
        if input.len.is_some_and(|l| l > self.cfg.max_put_size) {
            return Err(EngineError::EntityTooLarge(self.cfg.max_put_size));
        }
        // Fail fast before reading a large body when the bucket is missing. A
        // body small enough to be stored inline costs less to read than the
        // look-up (a database round trip on PostgreSQL), and the metadata
        // write answers `NoSuchBucket` all the same.
        if input.len.is_none_or(|l| l > self.cfg.inline_max) {
            self.head_bucket(&input.bucket).await?;
        }
        let stored = self.ingest(input.body, input.len, &input.check, true).await?;
        let etag = ETag::from_md5(&stored.md5);
        let mut meta = input.meta;
        meta.checksum = Some(stored.checksum.clone());
        if let Err(e) = self.lock_new_version(&input.bucket, &mut meta).await {
            self.discard(&stored.data).await;
            return Err(e);
        }
        let rec = ObjectRecord {
            key: input.key,
            version_id: Some(coffer_types::new_version_id()),
            size: stored.size,
            etag: etag.as_str().to_owned(),
            last_modified: now_millis(),
            meta,
            data: stored.data,
        };
        let data = rec.data.clone();
        let stored_rec = ObjectRecord { data: Default::default(), ..rec.clone() };
        let r = self.meta.put_object_as(&input.bucket, input.stamp.as_ref(), rec, input.condition).await;
        let written = match self.stamped(&input.bucket, input.stamp.as_ref(), r).await {
            Ok(w) => w,
            Err(e) => {
                self.discard(&data).await;
                return Err(e);
            }
        };
        let version_id = crate::versions::written_header(&written);
        Ok(PutOutput { etag, checksum: stored.checksum, version_id, stored: stored_rec })
    }

    /// Deletes a key (with versioning, puts a delete marker on it);
    /// deleting a missing key succeeds (S3 semantics).
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), EngineError> {
        let input = crate::DeleteInput { bucket: bucket.to_owned(), key: key.to_owned(), ..Default::default() };
        self.delete(input).await.map(drop)
    }
}
