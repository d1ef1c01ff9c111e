//! Multipart uploads. Parts are blobs; completing an upload records the
//! object as the list of its parts' blobs — no byte is copied.

use crate::object_copy::copy_conditions;
use crate::object_put::check_key;
use crate::{Body, BodyCheck, Conditions, Engine, EngineError};
use coffer_meta::StoredChecksum;
use coffer_meta::{
    MetaError, ObjectData, ObjectMeta, ObjectRecord, PartRecord, Segment, UploadListQuery, UploadRecord, WriteCondition,
};
use coffer_types::checksum::{self, ChecksumAlgorithm};
use coffer_types::{now_millis, ByteRange, ETag, RangeError, UploadId};

/// Highest part number S3 allows.
pub const MAX_PART_NUMBER: u32 = 10_000;
/// Largest single part.
const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// A part named in CompleteMultipartUpload.
#[derive(Clone, Debug)]
pub struct CompletedPart {
    pub part_number: u32,
    /// The ETag the client got for the part (quotes tolerated).
    pub etag: String,
    /// The part checksum the client got (algorithm, base64), checked against the stored one.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

/// A page of ListParts.
#[derive(Clone, Debug)]
pub struct PartsPage {
    pub upload: UploadRecord,
    pub parts: Vec<PartRecord>,
    pub is_truncated: bool,
}

/// ListMultipartUploads parameters.
#[derive(Clone, Debug, Default)]
pub struct UploadsParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub max_uploads: usize,
}

/// A page of ListMultipartUploads.
#[derive(Clone, Debug, Default)]
pub struct UploadsPage {
    pub uploads: Vec<UploadRecord>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
}

/// The checksum algorithm and type the upload asked for at creation.
fn requested(upload: &UploadRecord) -> Option<(ChecksumAlgorithm, bool)> {
    let c = upload.meta.checksum.as_ref()?;
    Some((ChecksumAlgorithm::parse(&c.algorithm)?, c.kind == "FULL_OBJECT"))
}

fn requested_algorithm(upload: &UploadRecord) -> Option<ChecksumAlgorithm> {
    requested(upload).map(|(a, _)| a)
}

/// The completed object's checksum from its parts' checksums: FULL_OBJECT
/// (CRCs combined) when asked for, or by default with CRC64NVME (what every
/// part computes when nothing was named); COMPOSITE (`checksum-of-checksums-N`)
/// otherwise. `None` when a part lacks a checksum of the algorithm.
fn object_checksum(requested: Option<(ChecksumAlgorithm, bool)>, parts: &[&PartRecord]) -> Option<StoredChecksum> {
    let (algo, full) = requested.unwrap_or((ChecksumAlgorithm::Crc64Nvme, true));
    let values: Option<Vec<(Vec<u8>, u64)>> = parts
        .iter()
        .map(|p| {
            let c = p.checksum.as_ref().filter(|c| c.algorithm == algo.as_str())?;
            Some((checksum::from_base64(&c.value)?, p.size))
        })
        .collect();
    let values = values?;
    let (value, kind) = if full && algo.is_crc() {
        (checksum::to_base64(&checksum::combine_crc(algo, &values)?), "FULL_OBJECT")
    } else {
        let sums: Vec<Vec<u8>> = values.into_iter().map(|(v, _)| v).collect();
        (checksum::composite(algo, &sums), "COMPOSITE")
    };
    Some(StoredChecksum { algorithm: algo.as_str().to_owned(), value, kind: kind.to_owned() })
}

/// Each part's checksum in the object checksum's algorithm, in part order
/// (all of them, or none: the object has a checksum only if every part has).
fn part_checksums(object: Option<&StoredChecksum>, parts: &[&PartRecord]) -> Vec<String> {
    let Some(object) = object else { return Vec::new() };
    let values: Option<Vec<String>> = parts
        .iter()
        .map(|p| p.checksum.as_ref().filter(|c| c.algorithm == object.algorithm).map(|c| c.value.clone()))
        .collect();
    values.unwrap_or_default()
}

fn check_part_number(n: u32) -> Result<(), EngineError> {
    if (1..=MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(EngineError::InvalidArgument(format!(
            "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
        )))
    }
}

/// What a completed upload answers with.
#[derive(Clone, Debug)]
pub struct Completed {
    pub etag: ETag,
    pub checksum: Option<StoredChecksum>,
    /// `x-amz-version-id` (none in an unversioned bucket).
    pub version_id: Option<String>,
}

impl Engine {
    /// Starts an upload; returns its id.
    pub async fn create_upload(&self, bucket: &str, key: &str, mut meta: ObjectMeta) -> Result<String, EngineError> {
        check_key(key)?;
        self.allow_acl(bucket, meta.acl).await?;
        // The upload's owner is settled now (ListParts shows it) and kept.
        self.settle_owner(bucket, &mut meta).await?;
        // Refused now if the bucket has no object lock; the default
        // retention is applied at completion, when the version is made.
        if meta.retention.is_some() || meta.legal_hold {
            let mut probe = meta.clone();
            self.lock_new_version(bucket, &mut probe).await?;
        }
        let id = UploadId::random().0;
        let rec = UploadRecord { upload_id: id.clone(), key: key.to_owned(), initiated: now_millis(), meta };
        self.meta.create_upload(bucket, rec).await?;
        Ok(id)
    }

    async fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<UploadRecord, EngineError> {
        match self.meta.get_upload(bucket, upload_id).await? {
            Some(u) if u.key == key => Ok(u),
            _ => Err(EngineError::NoSuchUpload),
        }
    }

    async fn record_part(&self, bucket: &str, upload_id: &str, part: PartRecord) -> Result<(), EngineError> {
        let data = ObjectData::Segments(vec![Segment { blob: part.blob.clone(), size: part.size, crc64: part.crc64 }]);
        if let Err(e) = self.meta.put_part(bucket, upload_id, part).await {
            self.discard(&data).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Stores one part; returns its ETag.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        len: Option<u64>,
        body: Body,
        check: &BodyCheck,
    ) -> Result<(ETag, StoredChecksum), EngineError> {
        check_part_number(part_number)?;
        if len.is_some_and(|l| l > MAX_PART_SIZE) {
            return Err(EngineError::EntityTooLarge(MAX_PART_SIZE));
        }
        let upload = self.upload(bucket, key, upload_id).await?;
        let mut check = check.clone();
        if check.checksum.is_none() {
            check.checksum =
                requested_algorithm(&upload).map(|algorithm| crate::ChecksumCheck { algorithm, expected: None });
        }
        let stored = self.ingest(body, len, &check, false).await?;
        let ObjectData::Segments(mut segs) = stored.data else {
            return Err(EngineError::InvalidRequest("part stored inline".into()));
        };
        let seg = segs.pop().ok_or_else(|| EngineError::InvalidRequest("part has no blob".into()))?;
        let etag = ETag::from_md5(&stored.md5);
        let part = PartRecord {
            part_number,
            size: stored.size,
            etag: etag.as_str().to_owned(),
            last_modified: now_millis(),
            blob: seg.blob,
            crc64: seg.crc64,
            checksum: Some(stored.checksum.clone()),
        };
        self.record_part(bucket, upload_id, part).await?;
        Ok((etag, stored.checksum))
    }

    /// UploadPartCopy: a part made of (a range of) another object.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part_copy(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        src: &crate::SourceRef,
        range: Option<ByteRange>,
        conditions: &Conditions,
    ) -> Result<(ETag, i64), EngineError> {
        check_part_number(part_number)?;
        let upload = self.upload(bucket, key, upload_id).await?;
        let (src, _) = self.read_source(&src.bucket, &src.key, src.version.as_deref(), src.pin.as_ref()).await?;
        copy_conditions(conditions, &src)?;
        let (start, len) = match range {
            None => (0, src.size),
            Some(r) => match r.resolve(src.size) {
                // S3 requires the copy range to lie within the source.
                Ok(rr) if matches!(r, ByteRange::FromTo(_, b) if b < src.size) => (rr.start, rr.len),
                Ok(_) | Err(RangeError::Unsatisfiable) | Err(RangeError::Malformed) => {
                    return Err(EngineError::InvalidRange(src.size))
                }
            },
        };
        if len > MAX_PART_SIZE {
            return Err(EngineError::EntityTooLarge(MAX_PART_SIZE));
        }
        let body = self.open_data(&src.data, start, len, crate::bitrot::VERIFY_COPY).await?;
        let check = BodyCheck {
            checksum: requested_algorithm(&upload).map(|algorithm| crate::ChecksumCheck { algorithm, expected: None }),
            ..Default::default()
        };
        let stored = self.ingest(body, Some(len), &check, false).await?;
        let ObjectData::Segments(mut segs) = stored.data else {
            return Err(EngineError::InvalidRequest("part stored inline".into()));
        };
        let seg = segs.pop().ok_or_else(|| EngineError::InvalidRequest("part has no blob".into()))?;
        let etag = ETag::from_md5(&stored.md5);
        let now = now_millis();
        let part = PartRecord {
            part_number,
            size: stored.size,
            etag: etag.as_str().to_owned(),
            last_modified: now,
            blob: seg.blob,
            crc64: seg.crc64,
            checksum: Some(stored.checksum),
        };
        self.record_part(bucket, upload_id, part).await?;
        Ok((etag, now))
    }

    /// Completes an upload from the listed parts.
    pub async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        condition: WriteCondition,
        expected: Option<(ChecksumAlgorithm, String)>,
    ) -> Result<Completed, EngineError> {
        let upload = match self.upload(bucket, key, upload_id).await {
            Ok(u) => u,
            Err(EngineError::NoSuchUpload) => return self.completed_already(bucket, key, parts).await,
            Err(e) => return Err(e),
        };
        match self.complete_listed(bucket, key, upload_id, upload, parts, condition, expected).await {
            // A completion racing this one (on any gateway) ended the upload
            // between our reads: its parts vanished or its row did. Answer
            // as a retry of the winner would be answered.
            Err(EngineError::InvalidPart(_) | EngineError::NoSuchUpload)
                if matches!(self.upload(bucket, key, upload_id).await, Err(EngineError::NoSuchUpload)) =>
            {
                self.completed_already(bucket, key, parts).await
            }
            other => other,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn complete_listed(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        upload: UploadRecord,
        parts: &[CompletedPart],
        condition: WriteCondition,
        expected: Option<(ChecksumAlgorithm, String)>,
    ) -> Result<Completed, EngineError> {
        if parts.is_empty() {
            return Err(EngineError::InvalidRequest("You must specify at least one part".into()));
        }
        if parts.windows(2).any(|w| w[0].part_number > w[1].part_number) {
            return Err(EngineError::InvalidPartOrder);
        }
        // A part number listed twice (re-uploaded while the first upload was
        // still running) counts once, with its last entry.
        let parts: Vec<&CompletedPart> = parts
            .iter()
            .enumerate()
            .filter(|(i, p)| parts.get(i + 1).is_none_or(|next| next.part_number != p.part_number))
            .map(|(_, p)| p)
            .collect();
        let stored = self.meta.list_parts(bucket, upload_id, 0, MAX_PART_NUMBER as usize).await?;
        let mut segs = Vec::with_capacity(parts.len());
        let mut md5s = Vec::with_capacity(parts.len());
        let mut size = 0u64;
        let mut used = Vec::with_capacity(parts.len());
        for (i, want) in parts.iter().enumerate() {
            let have = stored
                .iter()
                .find(|p| p.part_number == want.part_number)
                .filter(|p| p.etag == want.etag.trim().trim_matches('"'))
                .ok_or(EngineError::InvalidPart(want.part_number))?;
            if i + 1 < parts.len() && have.size < self.cfg.min_part_size {
                return Err(EngineError::EntityTooSmall(want.part_number));
            }
            if let (Some((algo, value)), Some(c)) = (&want.checksum, &have.checksum) {
                if c.algorithm == algo.as_str() && c.value != value.trim() {
                    return Err(EngineError::InvalidPart(want.part_number));
                }
            }
            used.push(have);
            let md5 =
                ETag::from_stored(have.etag.clone()).md5_bytes().ok_or(EngineError::InvalidPart(want.part_number))?;
            md5s.push(md5);
            size += have.size;
            segs.push(Segment { blob: have.blob.clone(), size: have.size, crc64: have.crc64 });
        }
        let etag = ETag::multipart(&md5s);
        let asked = requested(&upload);
        let object_checksum = object_checksum(asked, &used);
        // The client's expected object checksum (full or `-N` composite),
        // checked before anything is committed.
        if let Some((algo, value)) = &expected {
            let matches =
                object_checksum.as_ref().is_some_and(|c| c.algorithm == algo.as_str() && c.value == value.trim());
            if !matches {
                return Err(EngineError::ChecksumMismatch(*algo));
            }
        }
        // The ACL asked for at creation must still be allowed now (Object
        // Ownership or Block Public Access may have changed since).
        self.allow_acl(bucket, upload.meta.acl).await?;
        let mut meta = upload.meta;
        // Its owner, if another project's, as the setting is now.
        self.settle_owner(bucket, &mut meta).await?;
        // Kept when the client asked for checksums (the server's own
        // default CRC64NVME of the parts is not answered per part).
        if asked.is_some() {
            meta.part_checksums = part_checksums(object_checksum.as_ref(), &used);
        }
        meta.checksum = object_checksum.clone();
        self.lock_new_version(bucket, &mut meta).await?;
        let rec = ObjectRecord {
            key: key.to_owned(),
            version_id: Some(coffer_types::new_version_id()),
            size,
            etag: etag.as_str().to_owned(),
            last_modified: now_millis(),
            meta,
            data: ObjectData::Segments(segs),
        };
        match self.meta.complete_upload(bucket, upload_id, rec, condition).await {
            Ok(w) => Ok(Completed { etag, checksum: object_checksum, version_id: crate::versions::written_header(&w) }),
            // A part was re-uploaded after the parts were read: its ETag no
            // longer names what the client listed (or the blob is queued for
            // collection), so the completion is refused and nothing changes.
            Err(MetaError::StalePart(blob)) => {
                let n = used.iter().find(|p| p.blob == blob).map_or(0, |p| p.part_number);
                Err(EngineError::InvalidPart(n))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// (The checksum of a retried completion is the stored object's.)
    /// A retried CompleteMultipartUpload whose first attempt succeeded: the
    /// upload is gone, but the object under the key has exactly the ETag these
    /// parts produce. Answer as the first attempt did; otherwise NoSuchUpload.
    async fn completed_already(
        &self,
        bucket: &str,
        key: &str,
        parts: &[CompletedPart],
    ) -> Result<Completed, EngineError> {
        let md5s: Option<Vec<[u8; 16]>> =
            parts.iter().map(|p| ETag::from_stored(p.etag.trim().trim_matches('"')).md5_bytes()).collect();
        let (Some(md5s), false) = (md5s, parts.is_empty()) else { return Err(EngineError::NoSuchUpload) };
        let want = ETag::multipart(&md5s);
        match self.read_version(bucket, key, None).await {
            Ok((o, version_id)) if o.etag == want.as_str() => {
                Ok(Completed { etag: want, checksum: o.meta.checksum, version_id })
            }
            Ok(_) | Err(EngineError::NoSuchKey | EngineError::DeleteMarker { .. }) => Err(EngineError::NoSuchUpload),
            Err(e) => Err(e),
        }
    }

    /// Aborts an upload; its parts are collected.
    pub async fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<(), EngineError> {
        self.upload(bucket, key, upload_id).await?;
        Ok(self.meta.abort_upload(bucket, upload_id).await?)
    }

    /// Lists an upload's parts after `marker`.
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        marker: u32,
        max_parts: usize,
    ) -> Result<PartsPage, EngineError> {
        let upload = self.upload(bucket, key, upload_id).await?;
        let mut parts = self.meta.list_parts(bucket, upload_id, marker, max_parts + 1).await?;
        let is_truncated = parts.len() > max_parts;
        parts.truncate(max_parts);
        Ok(PartsPage { upload, parts, is_truncated })
    }

    /// Lists in-progress uploads, grouped by delimiter like object listings.
    pub async fn list_uploads(&self, bucket: &str, p: &UploadsParams) -> Result<UploadsPage, EngineError> {
        let mut page = UploadsPage::default();
        let mut q = UploadListQuery {
            prefix: p.prefix.clone(),
            key_marker: p.key_marker.clone(),
            upload_id_marker: p.upload_id_marker.clone(),
            limit: 1000,
        };
        let delim = p.delimiter.as_deref().filter(|d| !d.is_empty());
        let mut count = 0;
        loop {
            let rows = self.meta.list_uploads(bucket, &q).await?;
            let exhausted = rows.len() < q.limit;
            for u in rows {
                q.key_marker = Some(u.key.clone());
                q.upload_id_marker = Some(u.upload_id.clone());
                let cp = crate::list::common_prefix(&u.key, &p.prefix, delim).map(str::to_owned);
                if let Some(cp) = &cp {
                    if page.common_prefixes.last() == Some(cp) {
                        continue;
                    }
                }
                if count == p.max_uploads {
                    page.is_truncated = true;
                    return Ok(page);
                }
                count += 1;
                match cp {
                    Some(cp) => page.common_prefixes.push(cp),
                    None => page.uploads.push(u),
                }
            }
            if exhausted {
                return Ok(page);
            }
        }
    }
}
