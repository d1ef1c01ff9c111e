//! The SQL of each [`coffer_meta::MetaStore`] operation on buckets, objects,
//! the garbage queue and bucket configurations, as plain functions on a
//! connection, and the helpers the other `*_ops` modules share. Write
//! operations run inside the writer's savepoints.

use crate::quota::{self, bucket_state, Delta};
use crate::sql_err;
use bytes::Bytes;
use coffer_meta::listing::{ListReads, ListScan, RangeRead};
use coffer_meta::*;
use coffer_types::{now_millis, BlobId, UnixMillis};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashSet;

pub(crate) type R<T> = Result<T, MetaError>;

/// A count or size as SQLite stores it (`i64`), saturating.
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored count or size; a negative value (never written) reads as 0.
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The id of bucket `name`, which must be the bucket `stamp` describes
/// when one is given (else `NoSuchBucket`: it was deleted and made again).
pub(crate) fn stamped_bucket_id(c: &Connection, name: &str, stamp: Option<&BucketStamp>) -> R<i64> {
    let Some(stamp) = stamp else { return bucket_id(c, name) };
    let row: Option<(i64, String, i64)> = c
        .prepare_cached("SELECT id, project, created FROM buckets WHERE name = ?1")
        .map_err(sql_err)?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(sql_err)?;
    match row {
        Some((id, project, created)) if project == stamp.project && created == stamp.created => Ok(id),
        _ => Err(MetaError::NoSuchBucket),
    }
}

pub(crate) fn bucket_id(c: &Connection, name: &str) -> R<i64> {
    c.prepare_cached("SELECT id FROM buckets WHERE name = ?1")
        .map_err(sql_err)?
        .query_row([name], |r| r.get(0))
        .optional()
        .map_err(sql_err)?
        .ok_or(MetaError::NoSuchBucket)
}

pub(crate) fn key_text(bytes: Vec<u8>) -> R<String> {
    String::from_utf8(bytes).map_err(|_| MetaError::Corrupt("stored key is not UTF-8".into()))
}

pub(crate) fn meta_json(m: &ObjectMeta) -> R<String> {
    serde_json::to_string(m).map_err(|e| MetaError::Corrupt(e.to_string()))
}

pub(crate) fn parse_meta(s: &str) -> R<ObjectMeta> {
    serde_json::from_str(s).map_err(|e| MetaError::Corrupt(format!("object meta: {e}")))
}

pub(crate) fn blob_id(s: &str) -> R<BlobId> {
    BlobId::parse(s).map_err(|_| MetaError::Corrupt(format!("bad blob id {s:?}")))
}

pub(crate) fn queue_gc(c: &Connection, sql_select_blob_ids: &str, id: i64) -> R<()> {
    let sql = format!("INSERT OR IGNORE INTO gc_queue (blob_id, queued) {sql_select_blob_ids}");
    c.prepare_cached(&sql).map_err(sql_err)?.execute(params![id, now_millis()]).map_err(sql_err)?;
    Ok(())
}

/// [`BUCKET_NAME_HOLD`] in milliseconds.
pub(crate) fn name_hold_ms() -> i64 {
    i64::try_from(BUCKET_NAME_HOLD.as_millis()).unwrap_or(i64::MAX)
}

pub fn create_bucket(c: &Connection, b: &BucketRecord) -> R<()> {
    let held: bool = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM bucket_tombstones
             WHERE name = ?1 AND deleted_at > ?2 AND (project <> ?3 OR region <> ?4))",
        )
        .map_err(sql_err)?
        .query_row(params![b.name, now_millis() - name_hold_ms(), b.project, b.region], |r| r.get(0))
        .map_err(sql_err)?;
    if held {
        return Err(MetaError::Conflict);
    }
    let n = c
        .prepare_cached(
            "INSERT INTO buckets (name, region, project, created, versioning, object_lock) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (name) DO NOTHING",
        )
        .map_err(sql_err)?
        .execute(params![b.name, b.region, b.project, b.created, b.versioning.code(), b.object_lock])
        .map_err(sql_err)?;
    if n == 0 {
        return Err(MetaError::BucketAlreadyExists);
    }
    Ok(())
}

/// The columns [`bucket_row`] reads.
const BUCKET_COLS: &str = "name, region, project, created, versioning, object_lock";

fn bucket_row(r: &Row) -> rusqlite::Result<BucketRecord> {
    let code: i64 = r.get(4)?;
    Ok(BucketRecord {
        name: r.get(0)?,
        region: r.get(1)?,
        project: r.get(2)?,
        created: r.get(3)?,
        versioning: coffer_types::Versioning::from_code(code).unwrap_or(coffer_types::Versioning::Enabled),
        object_lock: r.get(5)?,
    })
}

pub fn get_bucket(c: &Connection, name: &str) -> R<Option<BucketRecord>> {
    c.prepare_cached(&format!("SELECT {BUCKET_COLS} FROM buckets WHERE name = ?1"))
        .map_err(sql_err)?
        .query_row([name], bucket_row)
        .optional()
        .map_err(sql_err)
}

/// A page of buckets by name: with a project, a seek on the
/// `(project, name)` index; without, on the unique index of names.
pub fn list_buckets(c: &Connection, q: &BucketQuery) -> R<Vec<BucketRecord>> {
    let Some(NameRange { lower, inclusive, upper }) = q.name_range() else { return Ok(Vec::new()) };
    let sql = format!(
        "SELECT {BUCKET_COLS} FROM buckets WHERE {} AND name {} ?2 {} ORDER BY name LIMIT ?4",
        if q.project.is_some() { "project = ?1" } else { "?1 IS NULL" },
        if inclusive { ">=" } else { ">" },
        if upper.is_some() { "AND name < ?3" } else { "AND ?3 IS NULL" },
    );
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
    let rows = st.query_map(params![q.project, lower, upper, limit], bucket_row).map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

pub fn delete_bucket(c: &Connection, name: &str) -> R<()> {
    let id = bucket_id(c, name)?;
    let has_objects: bool = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket_id = ?1)
                 OR EXISTS (SELECT 1 FROM object_versions WHERE bucket_id = ?1)",
        )
        .map_err(sql_err)?
        .query_row([id], |r| r.get(0))
        .map_err(sql_err)?;
    if has_objects {
        return Err(MetaError::BucketNotEmpty);
    }
    queue_gc(c, "SELECT p.blob_id, ?2 FROM parts p JOIN uploads u ON p.upload_row = u.id WHERE u.bucket_id = ?1", id)?;
    let now = now_millis();
    c.prepare_cached("DELETE FROM bucket_tombstones WHERE deleted_at <= ?1")
        .map_err(sql_err)?
        .execute([now - name_hold_ms()])
        .map_err(sql_err)?;
    c.prepare_cached(
        "INSERT INTO bucket_tombstones (name, project, region, deleted_at)
         SELECT name, project, region, ?2 FROM buckets WHERE id = ?1
         ON CONFLICT (name) DO UPDATE SET project = excluded.project, region = excluded.region,
             deleted_at = excluded.deleted_at",
    )
    .map_err(sql_err)?
    .execute(params![id, now])
    .map_err(sql_err)?;
    c.prepare_cached("DELETE FROM uploads WHERE bucket_id = ?1").map_err(sql_err)?.execute([id]).map_err(sql_err)?;
    c.prepare_cached("DELETE FROM buckets WHERE id = ?1").map_err(sql_err)?.execute([id]).map_err(sql_err)?;
    quota::drop_bucket_quota(c, name)
}

pub fn get_object(c: &Connection, bucket: &str, key: &str) -> R<Option<ObjectRecord>> {
    let bid = bucket_id(c, bucket)?;
    let row = c
        .prepare_cached(
            "SELECT id, size, etag, last_modified, meta, inline_data, version_id FROM objects WHERE bucket_id = ?1 AND key = ?2",
        )
        .map_err(sql_err)?
        .query_row(params![bid, key.as_bytes()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<Vec<u8>>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })
        .optional()
        .map_err(sql_err)?;
    let Some((id, size, etag, last_modified, meta, inline, version_id)) = row else { return Ok(None) };
    let data = match inline {
        Some(bytes) => ObjectData::Inline(Bytes::from(bytes)),
        None => ObjectData::Segments(segments(c, id)?),
    };
    Ok(Some(ObjectRecord {
        key: key.to_owned(),
        version_id,
        size: size as u64,
        etag,
        last_modified,
        meta: parse_meta(&meta)?,
        data,
    }))
}

fn segments(c: &Connection, object_id: i64) -> R<Vec<Segment>> {
    let mut st = c
        .prepare_cached("SELECT blob_id, size, crc64 FROM segments WHERE object_id = ?1 ORDER BY idx")
        .map_err(sql_err)?;
    let rows = st.query_map([object_id], segment_row).map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (b, size, crc) = row.map_err(sql_err)?;
        out.push(Segment { blob: blob_id(&b)?, size: size as u64, crc64: crc.map(|v| v as u64) });
    }
    Ok(out)
}

/// A segment's row: blob id, size, CRC-64/NVME (its i64 bit pattern).
pub(crate) fn segment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64, Option<i64>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

/// The blobs rows refer to, in id order from `start` (the scrubber's walk).
pub fn blob_refs(c: &Connection, start: std::ops::Bound<&BlobId>, limit: usize) -> R<Vec<BlobRef>> {
    use std::ops::Bound;
    let (op, from) = match start {
        Bound::Included(b) => (">=", b.as_str()),
        Bound::Excluded(b) => (">", b.as_str()),
        Bound::Unbounded => (">=", ""),
    };
    let one = |table: &str| {
        format!(
            "SELECT * FROM (SELECT blob_id, size, crc64 FROM {table} WHERE blob_id {op} ?1 ORDER BY blob_id LIMIT ?2)"
        )
    };
    let sql = format!(
        "{} UNION ALL {} UNION ALL {} ORDER BY blob_id LIMIT ?2",
        one("segments"),
        one("version_segments"),
        one("parts")
    );
    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
    let rows = st.query_map(params![from, limit as i64], segment_row).map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (b, size, crc) = row.map_err(sql_err)?;
        out.push(BlobRef { blob: blob_id(&b)?, size: size as u64, crc64: crc.map(|v| v as u64) });
    }
    Ok(out)
}

/// The current object under (bucket, key): what a write replacing it needs.
pub(crate) struct Current {
    pub id: i64,
    pub etag: String,
    pub size: i64,
    pub version_id: Option<String>,
    pub seq: i64,
    /// Its stored headers (JSON), for the lock a delete checks.
    pub meta: String,
}

pub(crate) fn current_object(c: &Connection, bid: i64, key: &str) -> R<Option<Current>> {
    c.prepare_cached("SELECT id, etag, size, version_id, seq, meta FROM objects WHERE bucket_id = ?1 AND key = ?2")
        .map_err(sql_err)?
        .query_row(params![bid, key.as_bytes()], |r| {
            Ok(Current {
                id: r.get(0)?,
                etag: r.get(1)?,
                size: r.get(2)?,
                version_id: r.get(3)?,
                seq: r.get(4)?,
                meta: r.get(5)?,
            })
        })
        .optional()
        .map_err(sql_err)
}

/// Removes an object row, queueing its blobs.
pub(crate) fn drop_object(c: &Connection, old: &Current) -> R<()> {
    queue_gc(c, "SELECT blob_id, ?2 FROM segments WHERE object_id = ?1", old.id)?;
    c.prepare_cached("DELETE FROM objects WHERE id = ?1").map_err(sql_err)?.execute([old.id]).map_err(sql_err)?;
    Ok(())
}

/// How the totals change when an object of `size` replaces `old`.
pub(crate) fn object_delta(size: u64, old: Option<&Current>) -> Delta {
    match old {
        None => Delta { bytes: to_i64(size), objects: 1 },
        Some(o) => Delta { bytes: to_i64(size) - o.size, objects: 0 },
    }
}

pub(crate) fn check_condition(current: Option<&str>, cond: &WriteCondition) -> R<()> {
    let ok = match (cond, current) {
        (WriteCondition::IfPresent | WriteCondition::IfETag(_), None) => return Err(MetaError::NoSuchKey),
        (WriteCondition::None, _) | (WriteCondition::IfPresent, Some(_)) => true,
        (WriteCondition::IfAbsent, c) => c.is_none(),
        (WriteCondition::IfETag(want), Some(c)) => c == want,
        (WriteCondition::IfNotETag(unwanted), c) => c != Some(unwanted.as_str()),
    };
    if ok {
        Ok(())
    } else {
        Err(MetaError::PreconditionFailed)
    }
}

/// Inserts `o` as the null version of an unversioned bucket.
pub(crate) fn insert_object(c: &Connection, bid: i64, o: &ObjectRecord) -> R<()> {
    insert_object_as(c, bid, o, None, 0)
}

/// Inserts `o` as the current version with id `version_id` at `seq`.
pub(crate) fn insert_object_as(
    c: &Connection,
    bid: i64,
    o: &ObjectRecord,
    version_id: Option<&str>,
    seq: i64,
) -> R<()> {
    let inline = match &o.data {
        ObjectData::Inline(b) => Some(b.as_ref()),
        ObjectData::Segments(_) => None,
    };
    c.prepare_cached(
        "INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta, inline_data, version_id, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .map_err(sql_err)?
    .execute(params![
        bid,
        o.key.as_bytes(),
        to_i64(o.size),
        o.etag,
        o.last_modified,
        meta_json(&o.meta)?,
        inline,
        version_id,
        seq
    ])
    .map_err(sql_err)?;
    if let ObjectData::Segments(segs) = &o.data {
        let id = c.last_insert_rowid();
        let mut st = c
            .prepare_cached("INSERT INTO segments (object_id, idx, blob_id, size, crc64) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(sql_err)?;
        for (i, s) in segs.iter().enumerate() {
            st.execute(params![id, i as i64, s.blob.as_str(), to_i64(s.size), s.crc64.map(|v| v as i64)])
                .map_err(sql_err)?;
        }
    }
    Ok(())
}

pub fn put_object(
    c: &Connection,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    o: &ObjectRecord,
    cond: &WriteCondition,
) -> R<Written> {
    // One lookup: the bucket's totals and the identity the stamp must match.
    let b = bucket_state(c, bucket)?;
    if stamp.is_some_and(|s| s.project != b.project || s.created != b.created) {
        return Err(MetaError::NoSuchBucket);
    }
    if b.versioning.is_versioned() {
        return crate::version_ops::write_version(c, &b, o, cond, Delta::default());
    }
    let old = current_object(c, b.id, &o.key)?;
    check_condition(old.as_ref().map(|o| o.etag.as_str()), cond)?;
    let d = object_delta(o.size, old.as_ref());
    quota::check_quotas(c, &b, d)?;
    if let Some(old) = &old {
        drop_object(c, old)?;
    }
    insert_object(c, b.id, o)?;
    quota::apply(c, b.id, d)?;
    Ok(None)
}

/// A listing on one read snapshot: the range reads [`ListScan`] asks for,
/// each a seek on the `(bucket_id, key)` index (`key >= ?` or `> ?`,
/// `key < ?`, `LIMIT`), never `LIKE`.
pub fn list_objects(c: &Connection, reads: &ListReads, bucket: &str, q: &ListQuery) -> R<Vec<ListEntry>> {
    let tx = c.unchecked_transaction().map_err(sql_err)?;
    let bid = bucket_id(&tx, bucket)?;
    let mut scan = ListScan::new(q);
    while let Some(r) = scan.next_read() {
        let rows = range_read(&tx, bid, &r)?;
        reads.record(rows.len());
        scan.feed(rows);
    }
    tx.finish().map_err(sql_err)?;
    Ok(scan.finish())
}

fn range_read(c: &Connection, bid: i64, r: &RangeRead) -> R<Vec<ObjectSummary>> {
    let sql = format!(
        "SELECT key, size, etag, last_modified FROM objects WHERE bucket_id = ?1 AND key {} ?2 {} ORDER BY key LIMIT ?4",
        if r.inclusive { ">=" } else { ">" },
        if r.upper.is_some() { "AND key < ?3" } else { "AND ?3 IS NULL" },
    );
    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
    let limit = i64::try_from(r.limit).unwrap_or(i64::MAX);
    let rows = st
        .query_map(params![bid, r.lower, r.upper, limit], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
        })
        .map_err(sql_err)?;
    let mut out = Vec::with_capacity(r.limit.min(1000));
    for row in rows {
        let (key, size, etag, last_modified) = row.map_err(sql_err)?;
        out.push(ObjectSummary { key: key_text(key)?, size: size as u64, etag, last_modified });
    }
    Ok(out)
}

pub fn gc_pending(c: &Connection, before: UnixMillis, limit: usize) -> R<Vec<BlobId>> {
    let mut st = c
        .prepare_cached("SELECT blob_id FROM gc_queue WHERE queued <= ?1 ORDER BY queued LIMIT ?2")
        .map_err(sql_err)?;
    let rows = st.query_map(params![before, limit as i64], |r| r.get::<_, String>(0)).map_err(sql_err)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(blob_id(&r.map_err(sql_err)?)?);
    }
    Ok(out)
}

/// Hands out queued blobs no live claim holds and claims them until
/// `claim_until` (one writer job: one `BEGIN IMMEDIATE` transaction, so
/// handles on other processes wait for it).
pub fn gc_claim(
    c: &Connection,
    before: UnixMillis,
    limit: usize,
    now: UnixMillis,
    claim_until: UnixMillis,
) -> R<Vec<BlobId>> {
    let picked = {
        let mut st = c
            .prepare_cached(
                "SELECT blob_id FROM gc_queue WHERE queued <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?2)
                 ORDER BY queued, blob_id LIMIT ?3",
            )
            .map_err(sql_err)?;
        let rows = st.query_map(params![before, now, limit as i64], |r| r.get::<_, String>(0)).map_err(sql_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)?
    };
    let mut claim = c.prepare_cached("UPDATE gc_queue SET claimed_until = ?2 WHERE blob_id = ?1").map_err(sql_err)?;
    let mut out = Vec::with_capacity(picked.len());
    for b in picked {
        claim.execute(params![b, claim_until]).map_err(sql_err)?;
        out.push(blob_id(&b)?);
    }
    Ok(out)
}

pub fn gc_forget(c: &Connection, blobs: &[BlobId]) -> R<()> {
    let mut st = c.prepare_cached("DELETE FROM gc_queue WHERE blob_id = ?1").map_err(sql_err)?;
    for b in blobs {
        st.execute([b.as_str()]).map_err(sql_err)?;
    }
    Ok(())
}

pub fn blobs_known(c: &Connection, blobs: &[BlobId]) -> R<HashSet<BlobId>> {
    let mut st = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM segments WHERE blob_id = ?1)
                 OR EXISTS (SELECT 1 FROM version_segments WHERE blob_id = ?1)
                 OR EXISTS (SELECT 1 FROM parts WHERE blob_id = ?1)
                 OR EXISTS (SELECT 1 FROM gc_queue WHERE blob_id = ?1)",
        )
        .map_err(sql_err)?;
    let mut out = HashSet::new();
    for b in blobs {
        let known: bool = st.query_row([b.as_str()], |r| r.get(0)).map_err(sql_err)?;
        if known {
            out.insert(b.clone());
        }
    }
    Ok(out)
}

pub fn set_bucket_config(
    c: &Connection,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    name: &str,
    if_current: Option<Option<&str>>,
    value: Option<&str>,
) -> R<()> {
    let bid = stamped_bucket_id(c, bucket, stamp)?;
    if let Some(want) = if_current {
        let stored: Option<String> = c
            .prepare_cached("SELECT value FROM bucket_configs WHERE bucket_id = ?1 AND name = ?2")
            .map_err(sql_err)?
            .query_row(params![bid, name], |r| r.get(0))
            .optional()
            .map_err(sql_err)?;
        if stored.as_deref() != want {
            return Err(MetaError::PreconditionFailed);
        }
    }
    match value {
        Some(v) => c
            .prepare_cached("INSERT OR REPLACE INTO bucket_configs (bucket_id, name, value) VALUES (?1, ?2, ?3)")
            .map_err(sql_err)?
            .execute(params![bid, name, v]),
        None => c
            .prepare_cached("DELETE FROM bucket_configs WHERE bucket_id = ?1 AND name = ?2")
            .map_err(sql_err)?
            .execute(params![bid, name]),
    }
    .map_err(sql_err)?;
    Ok(())
}

pub fn get_bucket_config(c: &Connection, bucket: &str, name: &str) -> R<Option<String>> {
    let bid = bucket_id(c, bucket)?;
    c.prepare_cached("SELECT value FROM bucket_configs WHERE bucket_id = ?1 AND name = ?2")
        .map_err(sql_err)?
        .query_row(params![bid, name], |r| r.get(0))
        .optional()
        .map_err(sql_err)
}
