//! The records a [`crate::MetaStore`] keeps.

use bytes::Bytes;
use coffer_types::{BlobId, UnixMillis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketRecord {
    pub name: String,
    /// The region the bucket was created in (its LocationConstraint).
    pub region: String,
    /// The owning project ([`crate::OPERATOR_PROJECT`] for the operator's).
    pub project: String,
    pub created: UnixMillis,
    /// Its versioning state (the store decides with it, in each write's
    /// transaction, what a write does to the versions of a key).
    pub versioning: coffer_types::Versioning,
    /// Whether object lock is enabled (then versioning stays `Enabled`).
    pub object_lock: bool,
}

/// A bucket as it was when a request was authorized against it: a write
/// that carries one is refused with `NoSuchBucket` if the bucket of that name
/// is by then another one (deleted and created again, maybe by another
/// project, while a slow body was still arriving).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketStamp {
    pub project: String,
    pub created: UnixMillis,
}

impl BucketRecord {
    /// This bucket's stamp.
    pub fn stamp(&self) -> BucketStamp {
        BucketStamp { project: self.project.clone(), created: self.created }
    }
}

/// The headers stored with an object and returned on GET/HEAD. Serialized as
/// versioned JSON by stores; add fields with `#[serde(default)]` only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `x-amz-meta-*` entries, names lower-cased without the prefix.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user: BTreeMap<String, String>,
    /// The object's checksum (S3 checksum API), when one was computed. On a
    /// multipart upload's record the value is empty: it names the algorithm
    /// and type requested at CreateMultipartUpload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<StoredChecksum>,
    /// A multipart object's part checksums, in part order: each part's
    /// checksum (base64) in the algorithm of [`ObjectMeta::checksum`], as
    /// GetObjectAttributes and a GET of one part answer them. Empty when the
    /// object has no parts or its parts had no checksum in that algorithm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_checksums: Vec<String>,
    /// The object's canned ACL; `None` is private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<coffer_types::CannedAcl>,
    /// The project that owns the object when it is not the bucket's
    /// (a writer of another project, under Object Ownership `ObjectWriter`
    /// or `BucketOwnerPreferred`); `None`: the bucket's project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The object's tags.
    #[serde(default, skip_serializing_if = "coffer_types::TagSet::is_empty")]
    pub tags: coffer_types::TagSet,
    /// The version's object lock retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<coffer_types::Retention>,
    /// Whether the version is under a legal hold.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legal_hold: bool,
}

impl ObjectMeta {
    /// The version's lock, which a store checks before deleting it.
    pub fn lock(&self) -> coffer_types::VersionLock {
        coffer_types::VersionLock { retention: self.retention, legal_hold: self.legal_hold }
    }
}

/// A change to an object's headers that keeps its data
/// ([`crate::MetaStore::edit_object_meta`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaEdit {
    /// Sets the canned ACL (`None`: private).
    Acl(Option<coffer_types::CannedAcl>),
    /// Replaces the tags (empty: none).
    Tags(coffer_types::TagSet),
    /// Replaces the retention (`None`: removes it), as far as the
    /// retention in force allows ([`coffer_types::VersionLock::may_set_retention`]).
    Retention { retention: Option<coffer_types::Retention>, bypass_governance: bool, now: UnixMillis },
    /// Sets or lifts the legal hold.
    LegalHold(bool),
}

impl MetaEdit {
    /// Applies the change; `ObjectLocked` (nothing changed) when the
    /// version's lock forbids it.
    pub fn apply(&self, meta: &mut ObjectMeta) -> Result<(), crate::MetaError> {
        match self {
            MetaEdit::Acl(acl) => meta.acl = *acl,
            MetaEdit::Tags(tags) => meta.tags = tags.clone(),
            MetaEdit::Retention { retention, bypass_governance, now } => {
                meta.lock().may_set_retention(*retention, *now, *bypass_governance)?;
                meta.retention = *retention;
            }
            MetaEdit::LegalHold(on) => meta.legal_hold = *on,
        }
        Ok(())
    }
}

/// A checksum kept with an object: algorithm (`CRC32`, ..., S3 spelling),
/// base64 value, and type (`FULL_OBJECT` or `COMPOSITE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredChecksum {
    pub algorithm: String,
    pub value: String,
    #[serde(default = "full_object")]
    pub kind: String,
}

fn full_object() -> String {
    "FULL_OBJECT".to_owned()
}

/// One stretch of an object's bytes kept in one blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub blob: BlobId,
    pub size: u64,
    /// CRC-64/NVME of the blob's bytes, computed as they were written and
    /// checked on reads and by the scrubber; `None` for blobs written before
    /// the stores kept it (their size is still checked).
    pub crc64: Option<u64>,
}

/// A blob some object, version or upload part refers to, as the scrubber
/// walks them ([`crate::MetaStore::blob_refs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobRef {
    pub blob: BlobId,
    pub size: u64,
    /// As [`Segment::crc64`].
    pub crc64: Option<u64>,
}

/// Where an object's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectData {
    /// Small objects live in the metadata row, durable with its commit.
    Inline(Bytes),
    /// Larger objects are blobs, concatenated in order (one per multipart part).
    Segments(Vec<Segment>),
}

impl Default for ObjectData {
    /// No bytes.
    fn default() -> Self {
        ObjectData::Inline(Bytes::new())
    }
}

impl ObjectData {
    /// Blobs this data references.
    pub fn blobs(&self) -> impl Iterator<Item = &BlobId> {
        let segs: &[Segment] = match self {
            ObjectData::Inline(_) => &[],
            ObjectData::Segments(s) => s,
        };
        segs.iter().map(|s| &s.blob)
    }
}

/// An object: its key, size, ETag, headers and data location.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectRecord {
    pub key: String,
    /// The version's id; `None` is the null version. A write gives a fresh
    /// id ([`coffer_types::new_version_id`]), which the store keeps only
    /// when the bucket's versioning is `Enabled`.
    pub version_id: Option<String>,
    pub size: u64,
    /// Unquoted ETag.
    pub etag: String,
    pub last_modified: UnixMillis,
    pub meta: ObjectMeta,
    pub data: ObjectData,
}

/// What a listing returns per object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSummary {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: UnixMillis,
}

/// Where a listing starts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ListStart {
    #[default]
    Unbounded,
    /// Keys strictly greater than these bytes.
    After(Vec<u8>),
    /// Keys greater than or equal to these bytes (need not be valid UTF-8).
    AtOrAfter(Vec<u8>),
}

/// An object listing query: the entries under `prefix` (objects, and with a
/// `delimiter` the common prefixes that stand for the keys under them; see
/// [`crate::listing`]) past `start`, in key order, at most `limit`. An empty
/// delimiter is none.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub start: ListStart,
    pub limit: usize,
}

/// A bucket listing query: buckets ordered by name, of one project (`None`:
/// of every project, the operator's view), whose name starts with `prefix`,
/// after the name `after`, at most `limit`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BucketQuery {
    pub project: Option<String>,
    pub prefix: String,
    pub after: Option<String>,
    pub limit: usize,
}

impl BucketQuery {
    /// The first `limit` buckets of `project`.
    pub fn project(project: &str, limit: usize) -> Self {
        BucketQuery { project: Some(project.to_owned()), limit, ..Default::default() }
    }

    /// The range of names the page reads, for a store's index seek; `None`
    /// when no bucket can match (bucket names are ASCII, the prefix is not).
    pub fn name_range(&self) -> Option<NameRange<'_>> {
        let prefix = self.prefix.as_str();
        if !prefix.is_ascii() {
            return None;
        }
        let (lower, inclusive) = match self.after.as_deref() {
            Some(a) if a >= prefix => (a, false),
            _ => (prefix, true),
        };
        // The successor of an ASCII prefix is ASCII (0x7f at most).
        let upper = crate::listing::prefix_end(prefix.as_bytes()).and_then(|e| String::from_utf8(e).ok());
        Some(NameRange { lower, inclusive, upper })
    }
}

/// Names from `lower` (itself included when `inclusive`) up to, not
/// including, `upper` (no bound when `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRange<'a> {
    pub lower: &'a str,
    pub inclusive: bool,
    pub upper: Option<String>,
}

/// A condition a write must meet, checked atomically with it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum WriteCondition {
    #[default]
    None,
    /// `If-None-Match: *`: only if no object exists under the key.
    IfAbsent,
    /// `If-Match: *`: only if an object exists under the key (`NoSuchKey` otherwise).
    IfPresent,
    /// `If-Match: etag`: only if the current object has this (unquoted) ETag;
    /// `NoSuchKey` when there is no object.
    IfETag(String),
    /// `If-None-Match: etag`: only if there is no object with this ETag.
    IfNotETag(String),
}

/// An in-progress multipart upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadRecord {
    pub upload_id: String,
    pub key: String,
    pub initiated: UnixMillis,
    pub meta: ObjectMeta,
}

/// An uploaded part, always stored as its own blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartRecord {
    pub part_number: u32,
    pub size: u64,
    /// Unquoted hex MD5 of the part.
    pub etag: String,
    pub last_modified: UnixMillis,
    pub blob: BlobId,
    /// CRC-64/NVME of the part's blob, as [`Segment::crc64`].
    pub crc64: Option<u64>,
    /// The part's S3 checksum (always computed; CRC64NVME unless the upload
    /// or the part named another algorithm).
    pub checksum: Option<StoredChecksum>,
}

/// A multipart listing query, ordered by (key, upload id).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UploadListQuery {
    pub prefix: String,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub limit: usize,
}
