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
    pub dst_bucket: String,
    pub dst_key: String,
    pub directive: MetadataDirective,
    /// `x-amz-copy-source-if-*`, evaluated against the source.
    pub source_conditions: Conditions,
    /// The copy's canned ACL: never the source's (S3 copies no ACL).
    pub acl: Option<coffer_types::CannedAcl>,
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
}

impl Engine {
    /// Copies an object; returns the new ETag and its last-modified time.
    pub async fn copy_object(&self, input: CopyInput) -> Result<(ETag, i64), EngineError> {
        check_key(&input.dst_key)?;
        self.allow_acl(&input.dst_bucket, input.acl).await?;
        let src = self.meta.get_object(&input.src_bucket, &input.src_key).await?.ok_or(EngineError::NoSuchKey)?;
        copy_conditions(&input.source_conditions, &src)?;
        let same = input.src_bucket == input.dst_bucket && input.src_key == input.dst_key;
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
        let body = self.open_data(&src.data, 0, src.size).await?;
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
        meta.checksum = Some(stored.checksum.clone());
        meta.acl = input.acl;
        // The copy's ETag is its MD5 (a multipart source becomes single-part).
        let etag = ETag::from_md5(&stored.md5);
        let now = now_millis();
        let rec = ObjectRecord {
            key: input.dst_key,
            size: stored.size,
            etag: etag.as_str().to_owned(),
            last_modified: now,
            meta,
            data: stored.data,
        };
        let data = rec.data.clone();
        let r = self.meta.put_object_as(&input.dst_bucket, input.dst_stamp.as_ref(), rec, input.condition).await;
        if let Err(e) = self.stamped(&input.dst_bucket, input.dst_stamp.as_ref(), r).await {
            self.discard(&data).await;
            return Err(e);
        }
        Ok((etag, now))
    }
}

/// Copy-source conditions: S3 answers 412 for both kinds of failure.
pub(crate) fn copy_conditions(c: &Conditions, src: &ObjectRecord) -> Result<(), EngineError> {
    match c.check(&src.etag, src.last_modified) {
        Err(EngineError::NotModified { .. }) => Err(EngineError::PreconditionFailed),
        other => other,
    }
}
