//! Versioning: a bucket's versioning state, reading and deleting named
//! versions, and version listings. What a write does to the versions of
//! its key is the metadata store's decision, made in the write's own
//! transaction from the bucket's state as of its commit
//! ([`coffer_meta::MetaStore::put_object`]); this module checks the version
//! ids clients send and turns the store's answers into S3's.

use crate::{BucketInfo, Engine, EngineError};
use coffer_meta::{
    BucketStamp, DeleteTarget, LockCheck, ObjectRecord, VersionEntry, VersionListQuery, VersionSel, VersionSummary,
    VersioningChange, Written,
};
use coffer_types::{is_version_id, new_version_id, now_millis, Versioning, NULL_VERSION};

/// A version id as S3 writes it (`null` for the null version).
pub fn version_text(id: &Option<String>) -> String {
    id.clone().unwrap_or_else(|| NULL_VERSION.to_owned())
}

/// The `x-amz-version-id` a write answers with: none in an unversioned
/// bucket, and none for the null version a suspended bucket writes (as S3
/// and RGW answer).
pub fn written_header(w: &Written) -> Option<String> {
    w.clone().flatten()
}

/// Checks a client's `versionId` against the bucket: an unversioned bucket
/// has only the null version, and an id of any other shape names nothing
/// (`400 InvalidArgument`, as S3 answers both).
pub(crate) fn check_version(info: &BucketInfo, v: Option<&str>) -> Result<VersionSel, EngineError> {
    let invalid = || EngineError::InvalidArgument("Invalid version id specified".into());
    match v {
        Some(id) if !is_version_id(id) => Err(invalid()),
        Some(id) if id != NULL_VERSION && !info.versioning.is_versioned() => Err(invalid()),
        other => Ok(VersionSel::from_query(other)),
    }
}

/// A DeleteObject request.
#[derive(Clone, Debug, Default)]
pub struct DeleteInput {
    pub bucket: String,
    pub key: String,
    /// `versionId`: remove that version for good.
    pub version: Option<String>,
    /// `x-amz-bypass-governance-retention`, already authorized.
    pub bypass_governance: bool,
    pub stamp: Option<BucketStamp>,
}

/// What a delete answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOutput {
    /// `x-amz-version-id`: the version removed or the marker made.
    pub version_id: Option<String>,
    /// `x-amz-delete-marker: true`.
    pub delete_marker: bool,
}

/// A ListObjectVersions request.
#[derive(Clone, Debug, Default)]
pub struct VersionParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub version_marker: Option<String>,
    pub max_keys: usize,
}

/// One page of versions.
#[derive(Clone, Debug, Default)]
pub struct VersionPage {
    pub versions: Vec<VersionSummary>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    pub next_version_marker: Option<String>,
}

impl Engine {
    /// Enables or suspends versioning.
    pub async fn set_versioning(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        v: Versioning,
    ) -> Result<(), EngineError> {
        let r = self.meta.set_versioning(bucket, stamp, VersioningChange::Set(v)).await;
        self.buckets.forget(bucket);
        self.stamped(bucket, stamp, r).await
    }

    /// Turns object lock on for a bucket whose versioning is enabled.
    pub async fn enable_object_lock(&self, bucket: &str, stamp: Option<&BucketStamp>) -> Result<(), EngineError> {
        let r = self.meta.set_versioning(bucket, stamp, VersioningChange::EnableObjectLock).await;
        self.buckets.forget(bucket);
        self.stamped(bucket, stamp, r).await
    }

    /// The version a read names (`None`: the current one), with the
    /// `x-amz-version-id` to answer (none in an unversioned bucket).
    /// `NoSuchKey`, `NoSuchVersion`, or `DeleteMarker` when it is one.
    pub async fn read_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<(ObjectRecord, Option<String>), EngineError> {
        let info = self.head_bucket(bucket).await?;
        let which = check_version(&info, version)?;
        if !info.versioning.is_versioned() {
            let o = self.meta.get_object(bucket, key).await?.ok_or(EngineError::NoSuchKey)?;
            return Ok((o, None));
        }
        let named = which != VersionSel::Latest;
        let Some(v) = self.meta.get_version(bucket, key, &which).await? else {
            return Err(if named { EngineError::NoSuchVersion } else { EngineError::NoSuchKey });
        };
        let id = version_text(&v.object.version_id);
        if v.delete_marker {
            return Err(EngineError::DeleteMarker { version_id: id, last_modified: v.object.last_modified, named });
        }
        Ok((v.object, Some(id)))
    }

    /// Deletes a key (with versioning: a delete marker on top) or one version.
    pub async fn delete(&self, input: DeleteInput) -> Result<DeleteOutput, EngineError> {
        let info = self.head_bucket(&input.bucket).await?;
        let target = match check_version(&info, input.version.as_deref())? {
            VersionSel::Latest => DeleteTarget::Current { marker: new_version_id() },
            VersionSel::Id(v) => DeleteTarget::Version(v),
        };
        let lock = LockCheck { now: now_millis(), bypass_governance: input.bypass_governance };
        let stamp = input.stamp.as_ref();
        let r = self.meta.delete_version(&input.bucket, stamp, &input.key, &target, lock).await;
        let d = self.stamped(&input.bucket, stamp, r).await?;
        Ok(DeleteOutput { version_id: d.version_id.as_ref().map(version_text), delete_marker: d.delete_marker })
    }

    /// One page of a bucket's versions.
    pub async fn list_versions(&self, bucket: &str, p: &VersionParams) -> Result<VersionPage, EngineError> {
        let version_marker = match (&p.key_marker, p.version_marker.as_deref()) {
            (_, None | Some("")) => None,
            (None, Some(_)) => {
                return Err(EngineError::InvalidArgument(
                    "A version-id marker cannot be specified without a key marker.".into(),
                ))
            }
            (Some(_), Some(v)) if !is_version_id(v) => {
                return Err(EngineError::InvalidArgument("Invalid version id specified".into()))
            }
            (Some(_), Some(v)) => Some(Some(v).filter(|v| *v != NULL_VERSION).map(str::to_owned)),
        };
        let mut page = VersionPage::default();
        if p.max_keys == 0 {
            self.head_bucket(bucket).await?;
            return Ok(page);
        }
        let q = VersionListQuery {
            prefix: p.prefix.clone(),
            delimiter: p.delimiter.clone().filter(|d| !d.is_empty()),
            key_marker: p.key_marker.clone().unwrap_or_default(),
            version_marker,
            limit: p.max_keys.saturating_add(1),
        };
        let mut entries = match self.meta.list_versions(bucket, &q).await {
            Err(coffer_meta::MetaError::NoSuchVersion) => {
                return Err(EngineError::InvalidArgument("Invalid version id specified".into()))
            }
            other => other?,
        };
        if entries.len() > p.max_keys {
            entries.truncate(p.max_keys);
            page.is_truncated = true;
            match entries.last() {
                Some(VersionEntry::Version(v)) => {
                    page.next_key_marker = Some(v.key.clone());
                    page.next_version_marker = Some(version_text(&v.version_id));
                }
                Some(VersionEntry::CommonPrefix(cp)) => page.next_key_marker = Some(cp.clone()),
                None => {}
            }
        }
        for e in entries {
            match e {
                VersionEntry::Version(v) => page.versions.push(v),
                VersionEntry::CommonPrefix(cp) => page.common_prefixes.push(cp),
            }
        }
        Ok(page)
    }

    /// The selection a request on a version's headers (tags, ACL) names.
    pub(crate) async fn select_version(&self, bucket: &str, version: Option<&str>) -> Result<VersionSel, EngineError> {
        let info = self.head_bucket(bucket).await?;
        check_version(&info, version)
    }
}
