//! CopyObject: the source's bytes streamed into a new object.

use crate::object_put::check_key;
use crate::{BodyCheck, Conditions, Engine, EngineError};
use coffer_meta::{ObjectMeta, ObjectRecord, WriteCondition};
use coffer_types::{now_millis, ETag};

/// Whether the copy keeps the source's metadata or takes the request's.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum MetadataDirective {
    #[default]
    Copy,
    Replace(Box<ObjectMeta>),
}

/// A CopyObject request.
#[derive(Clone, Debug)]
pub struct CopyInput {
    pub src_bucket: String,
    pub src_key: String,
    /// The source's `versionId` (`None`: its current version).
    pub src_version: Option<String>,
    /// What authorizing the read of the source decided on, if it looked.
    pub source_pin: Option<crate::ReadPin>,
    pub dst_bucket: String,
    pub dst_key: String,
    pub directive: MetadataDirective,
    /// `x-amz-copy-source-if-*`, evaluated against the source.
    pub source_conditions: Conditions,
    /// The copy's canned ACL: never the source's (S3 copies no ACL).
    pub acl: Option<coffer_types::CannedAcl>,
    /// The writing project (`None`: the operator): the copy's owner where
    /// Object Ownership gives it what it writes (never the source's owner).
    pub writer: Option<String>,
    /// `x-amz-tagging-directive: REPLACE`: the copy's tags (`None`: the
    /// source's, S3's `COPY`, whatever the metadata directive).
    pub tags: Option<coffer_types::TagSet>,
    /// `If-Match`/`If-None-Match`, evaluated against the destination in the
    /// write's own transaction, as for PutObject.
    pub condition: WriteCondition,
    /// `x-amz-checksum-algorithm`: the copy's checksum; else the source's
    /// algorithm, recomputed over the bytes.
    pub checksum: Option<coffer_types::ChecksumAlgorithm>,
    /// The destination bucket as authorized (see [`crate::PutInput::stamp`]).
    pub dst_stamp: Option<coffer_meta::BucketStamp>,
    /// The copy's retention and legal hold (`x-amz-object-lock-*`).
    pub lock: (Option<coffer_types::Retention>, bool),
}

/// What a copy answers with.
#[derive(Clone, Debug)]
pub struct CopyOutput {
    pub etag: ETag,
    pub last_modified: i64,
    /// `x-amz-version-id` of the copy (none in an unversioned bucket).
    pub version_id: Option<String>,
    /// `x-amz-copy-source-version-id` (none when the source's bucket is unversioned).
    pub source_version_id: Option<String>,
}

impl Engine {
    /// Copies an object (or one version of it).
    pub async fn copy_object(&self, input: CopyInput) -> Result<CopyOutput, EngineError> {
        check_key(&input.dst_key)?;
        self.allow_acl(&input.dst_bucket, input.acl).await?;
        let (src, source_version_id) = self
            .read_source(&input.src_bucket, &input.src_key, input.src_version.as_deref(), input.source_pin.as_ref())
            .await?;
        copy_conditions(&input.source_conditions, &src)?;
        // A copy of an older version onto its key restores it: not a copy to itself.
        let same =
            input.src_bucket == input.dst_bucket && input.src_key == input.dst_key && input.src_version.is_none();
        if same && input.directive == MetadataDirective::Copy {
            return Err(EngineError::InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into(),
            ));
        }
        if src.size > self.cfg.max_put_size {
            return Err(EngineError::InvalidRequest(
                "The specified copy source is larger than the maximum allowable size for a copy source".into(),
            ));
        }
        self.head_bucket(&input.dst_bucket).await?;
        let body = self.open_data(&src.data, 0, src.size, crate::bitrot::VERIFY_COPY).await?;
        // The requested algorithm, else the source's (recomputed over the bytes).
        let algorithm = input
            .checksum
            .or_else(|| src.meta.checksum.as_ref().and_then(|c| coffer_types::ChecksumAlgorithm::parse(&c.algorithm)));
        let check = BodyCheck {
            checksum: algorithm.map(|algorithm| crate::ChecksumCheck { algorithm, expected: None }),
            ..Default::default()
        };
        let stored = self.ingest(body, Some(src.size), &check, true).await?;
        let mut meta = match input.directive {
            MetadataDirective::Copy => src.meta.clone(),
            MetadataDirective::Replace(m) => *m,
        };
        meta.tags = input.tags.unwrap_or_else(|| src.meta.tags.clone());
        // A copy is a new version: the source's lock is not copied; the
        // request's (or the bucket's default) applies.
        (meta.retention, meta.legal_hold) = (input.lock.0, input.lock.1);
        if let Err(e) = self.lock_new_version(&input.dst_bucket, &mut meta).await {
            self.discard(&stored.data).await;
            return Err(e);
        }
        meta.checksum = Some(stored.checksum.clone());
        // A copy is one part, whatever the source's were.
        meta.part_checksums.clear();
        meta.acl = input.acl;
        meta.owner = input.writer;
        if let Err(e) = self.settle_owner(&input.dst_bucket, &mut meta).await {
            self.discard(&stored.data).await;
            return Err(e);
        }
        // The copy's ETag is its MD5 (a multipart source becomes single-part).
        let etag = ETag::from_md5(&stored.md5);
        let now = now_millis();
        let rec = ObjectRecord {
            key: input.dst_key,
            version_id: Some(coffer_types::new_version_id()),
            size: stored.size,
            etag: etag.as_str().to_owned(),
            last_modified: now,
            meta,
            data: stored.data,
        };
        let data = rec.data.clone();
        let r = self.meta.put_object_as(&input.dst_bucket, input.dst_stamp.as_ref(), rec, input.condition).await;
        let written = match self.stamped(&input.dst_bucket, input.dst_stamp.as_ref(), r).await {
            Ok(w) => w,
            Err(e) => {
                self.discard(&data).await;
                return Err(e);
            }
        };
        let version_id = crate::versions::written_header(&written);
        Ok(CopyOutput { etag, last_modified: now, version_id, source_version_id })
    }

    /// A copy's source: a delete marker is no source (S3: `400 InvalidRequest`
    /// when named by its id, `404 NoSuchKey` when on top of its key).
    pub(crate) async fn read_source(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        pin: Option<&crate::ReadPin>,
    ) -> Result<(ObjectRecord, Option<String>), EngineError> {
        let read = match self.read_version(bucket, key, version).await {
            Err(EngineError::DeleteMarker { named: true, .. }) => Err(EngineError::InvalidRequest(
                "The source of a copy request may not specifically refer to a delete marker by version id.".into(),
            )),
            Err(EngineError::DeleteMarker { named: false, .. }) => Err(EngineError::NoSuchKey),
            other => other,
        };
        if let (Ok((src, _)), Some(pin)) = (&read, pin) {
            pin.check(&src.meta)?;
        }
        read
    }
}

/// Copy-source conditions: S3 answers 412 for both kinds of failure.
pub(crate) fn copy_conditions(c: &Conditions, src: &ObjectRecord) -> Result<(), EngineError> {
    match c.check(&src.etag, src.last_modified) {
        Err(EngineError::NotModified { .. }) => Err(EngineError::PreconditionFailed),
        other => other,
    }
}
