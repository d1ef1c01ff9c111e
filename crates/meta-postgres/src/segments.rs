//! The rows that refer to blobs (`segments`, `version_segments`, `parts`)
//! as statements write and read them: an object's segments as the arrays
//! a write unnests, the decoder of rows joined to segments, a CRC-64/NVME
//! as stored (schema v12), and [`blob_refs`], the scrubber's walk.

use crate::ops::{blob_id, to_i64, to_u64};
use crate::retry::Try;
use crate::stmt::Db;
use bytes::Bytes;
use coffer_meta::*;
use coffer_types::BlobId;
use std::ops::Bound;
use tokio_postgres::types::Type;

/// A CRC-64/NVME as stored (`bigint`): the u64's bit pattern.
pub(crate) fn crc_to_db(v: Option<u64>) -> Option<i64> {
    v.map(|v| v as i64)
}

/// A stored CRC-64/NVME (NULL: written before the stores kept it).
pub(crate) fn crc_of_db(v: Option<i64>) -> Option<u64> {
    v.map(|v| v as u64)
}

/// Segments as the arrays a statement unnests, in order: blob ids, sizes,
/// CRC-64/NVMEs ([`crc_to_db`]).
#[derive(Default)]
pub(crate) struct SegArrays<'a> {
    pub blobs: Vec<&'a str>,
    pub sizes: Vec<i64>,
    pub crcs: Vec<Option<i64>>,
}

impl<'a> SegArrays<'a> {
    pub(crate) fn push(&mut self, s: &'a Segment) {
        self.blobs.push(s.blob.as_str());
        self.sizes.push(to_i64(s.size));
        self.crcs.push(crc_to_db(s.crc64));
    }
}

/// An object's inline bytes, or its segments.
pub(crate) fn object_data(o: &ObjectRecord) -> (Option<&[u8]>, SegArrays<'_>) {
    let mut a = SegArrays::default();
    match &o.data {
        ObjectData::Inline(b) => (Some(b.as_ref()), a),
        ObjectData::Segments(segs) => {
            segs.iter().for_each(|s| a.push(s));
            (None, a)
        }
    }
}

/// An object's data from the rows of a read joined to its segments: the
/// inline bytes, or one segment per row (blob id at column `seg`, its size
/// at `seg + 1`, its CRC-64/NVME at `seg + 2`; an object without segments
/// has one row of NULLs there).
pub(crate) fn object_data_of(rows: &[tokio_postgres::Row], inline: Option<Vec<u8>>, seg: usize) -> Try<ObjectData> {
    if let Some(bytes) = inline {
        return Ok(ObjectData::Inline(Bytes::from(bytes)));
    }
    let mut segs = Vec::with_capacity(rows.len());
    for r in rows {
        if let (Some(b), Some(size)) = (r.get::<_, Option<&str>>(seg), r.get::<_, Option<i64>>(seg + 1)) {
            let crc64 = crc_of_db(r.get(seg + 2));
            segs.push(Segment { blob: blob_id(b)?, size: to_u64(size), crc64 });
        }
    }
    Ok(ObjectData::Segments(segs))
}

/// The statement of [`blob_refs`] with `op` (`>=` or `>`) against `$1`:
/// on each table a range seek on its blob index (`COLLATE "C"` since v12,
/// so in bytewise order) of at most `$2` rows, merged and cut to `$2`.
pub(crate) fn refs_sql(op: &str) -> String {
    let one = |table: &str| {
        format!("(SELECT blob_id, size, crc64 FROM {table} WHERE blob_id {op} $1 ORDER BY blob_id LIMIT $2)")
    };
    format!(
        "SELECT blob_id, size, crc64 FROM ({} UNION ALL {} UNION ALL {}) r ORDER BY blob_id LIMIT $2",
        one("segments"),
        one("version_segments"),
        one("parts")
    )
}

/// The blobs that current objects, older versions and upload parts refer
/// to, in blob id order from `start`, at most `limit`.
pub async fn blob_refs(c: &impl Db, start: Bound<&BlobId>, limit: usize) -> Try<Vec<BlobRef>> {
    static SQL: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    let [from, after] = SQL.get_or_init(|| [refs_sql(">="), refs_sql(">")]);
    let (sql, at) = match start {
        Bound::Included(b) => (from, b.as_str()),
        Bound::Excluded(b) => (after, b.as_str()),
        // Every id is above the empty string.
        Bound::Unbounded => (from, ""),
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c.query_typed(sql, &[(&at, Type::TEXT), (&limit, Type::INT8)]).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(BlobRef { blob: blob_id(r.get(0))?, size: to_u64(r.get(1)), crc64: crc_of_db(r.get(2)) });
    }
    Ok(out)
}
