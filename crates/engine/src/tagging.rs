//! Tags of objects (stored with the object's headers) and of buckets (a
//! bucket configuration document, [`BucketConfigKind::Tagging`]).

use crate::{Engine, EngineError};
use coffer_meta::{BucketStamp, MetaEdit};
use coffer_types::{tags::MAX_BUCKET_TAGS, BucketConfigKind, TagSet};

impl Engine {
    /// The tags of the object's current version or of `version`, with the
    /// version's `x-amz-version-id` (`NoSuchKey`, `NoSuchVersion`, or
    /// `DeleteMarker` for a delete marker).
    pub async fn object_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<(TagSet, Option<String>), EngineError> {
        let (o, v) = self.read_version(bucket, key, version).await?;
        Ok((o.meta.tags, v))
    }

    /// Replaces the tags of the current version or of `version` (empty:
    /// removes them), keeping its data and every other header.
    pub async fn set_object_tags(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        version: Option<&str>,
        tags: TagSet,
    ) -> Result<(), EngineError> {
        self.edit_version(bucket, stamp, key, version, MetaEdit::Tags(tags)).await
    }

    /// Changes the headers of a version (the current one when `version` is `None`).
    pub(crate) async fn edit_version(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        version: Option<&str>,
        edit: MetaEdit,
    ) -> Result<(), EngineError> {
        let which = self.select_version(bucket, version).await?;
        let r = self.meta.edit_object_meta(bucket, stamp, key, &which, edit).await;
        self.stamped(bucket, stamp, r).await
    }

    /// The bucket's tags; `None` when it has none (S3's `NoSuchTagSet`).
    pub async fn bucket_tags(&self, bucket: &str) -> Result<Option<TagSet>, EngineError> {
        let Some(stored) = self.bucket_config(bucket, BucketConfigKind::Tagging).await? else {
            return Ok(None);
        };
        // Only this code writes the document; one that does not parse is a fault of the store.
        TagSet::parse_query(&stored, MAX_BUCKET_TAGS)
            .map(Some)
            .map_err(|e| EngineError::Internal(format!("stored bucket tags of {bucket} do not parse: {e}")))
    }

    /// Replaces the bucket's tags; `None` or an empty set removes them.
    pub async fn set_bucket_tags(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        tags: Option<TagSet>,
    ) -> Result<(), EngineError> {
        let value = tags.filter(|t| !t.is_empty()).map(|t| t.to_query());
        self.write_bucket_config(bucket, stamp, BucketConfigKind::Tagging, value).await
    }
}
