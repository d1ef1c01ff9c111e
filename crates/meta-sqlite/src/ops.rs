//! The SQL of each [`coffer_meta::MetaStore`] operation, as plain functions on a
//! connection. Write operations run inside the writer's savepoints.

use crate::sql_err;
use bytes::Bytes;
use coffer_meta::*;
use coffer_types::{now_millis, BlobId, UnixMillis};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashSet;

type R<T> = Result<T, MetaError>;

fn bucket_id(c: &Connection, name: &str) -> R<i64> {
    c.prepare_cached("SELECT id FROM buckets WHERE name = ?1")
        .map_err(sql_err)?
        .query_row([name], |r| r.get(0))
        .optional()
        .map_err(sql_err)?
        .ok_or(MetaError::NoSuchBucket)
}

fn key_text(bytes: Vec<u8>) -> R<String> {
    String::from_utf8(bytes).map_err(|_| MetaError::Corrupt("stored key is not UTF-8".into()))
}

fn meta_json(m: &ObjectMeta) -> R<String> {
    serde_json::to_string(m).map_err(|e| MetaError::Corrupt(e.to_string()))
}

fn parse_meta(s: &str) -> R<ObjectMeta> {
    serde_json::from_str(s).map_err(|e| MetaError::Corrupt(format!("object meta: {e}")))
}

fn blob_id(s: &str) -> R<BlobId> {
    BlobId::parse(s).map_err(|_| MetaError::Corrupt(format!("bad blob id {s:?}")))
}

fn queue_gc(c: &Connection, sql_select_blob_ids: &str, id: i64) -> R<()> {
    let sql = format!("INSERT OR IGNORE INTO gc_queue (blob_id, queued) {sql_select_blob_ids}");
    c.prepare_cached(&sql).map_err(sql_err)?.execute(params![id, now_millis()]).map_err(sql_err)?;
    Ok(())
}

pub fn create_bucket(c: &Connection, b: &BucketRecord) -> R<()> {
    let n = c
        .prepare_cached("INSERT INTO buckets (name, region, created) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING")
        .map_err(sql_err)?
        .execute(params![b.name, b.region, b.created])
        .map_err(sql_err)?;
    if n == 0 {
        return Err(MetaError::BucketAlreadyExists);
    }
    Ok(())
}

fn bucket_row(r: &Row) -> rusqlite::Result<BucketRecord> {
    Ok(BucketRecord { name: r.get(0)?, region: r.get(1)?, created: r.get(2)? })
}

pub fn get_bucket(c: &Connection, name: &str) -> R<Option<BucketRecord>> {
    c.prepare_cached("SELECT name, region, created FROM buckets WHERE name = ?1")
        .map_err(sql_err)?
        .query_row([name], bucket_row)
        .optional()
        .map_err(sql_err)
}

pub fn list_buckets(c: &Connection) -> R<Vec<BucketRecord>> {
    let mut st = c.prepare_cached("SELECT name, region, created FROM buckets ORDER BY name").map_err(sql_err)?;
    let rows = st.query_map([], bucket_row).map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

pub fn delete_bucket(c: &Connection, name: &str) -> R<()> {
    let id = bucket_id(c, name)?;
    let has_objects: bool = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM objects WHERE bucket_id = ?1)")
        .map_err(sql_err)?
        .query_row([id], |r| r.get(0))
        .map_err(sql_err)?;
    if has_objects {
        return Err(MetaError::BucketNotEmpty);
    }
    queue_gc(c, "SELECT p.blob_id, ?2 FROM parts p JOIN uploads u ON p.upload_row = u.id WHERE u.bucket_id = ?1", id)?;
    c.prepare_cached("DELETE FROM uploads WHERE bucket_id = ?1").map_err(sql_err)?.execute([id]).map_err(sql_err)?;
    c.prepare_cached("DELETE FROM buckets WHERE id = ?1").map_err(sql_err)?.execute([id]).map_err(sql_err)?;
    Ok(())
}

pub fn get_object(c: &Connection, bucket: &str, key: &str) -> R<Option<ObjectRecord>> {
    let bid = bucket_id(c, bucket)?;
    let row = c
        .prepare_cached(
            "SELECT id, size, etag, last_modified, meta, inline_data FROM objects WHERE bucket_id = ?1 AND key = ?2",
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
            ))
        })
        .optional()
        .map_err(sql_err)?;
    let Some((id, size, etag, last_modified, meta, inline)) = row else { return Ok(None) };
    let data = match inline {
        Some(bytes) => ObjectData::Inline(Bytes::from(bytes)),
        None => ObjectData::Segments(segments(c, id)?),
    };
    Ok(Some(ObjectRecord {
        key: key.to_owned(),
        size: size as u64,
        etag,
        last_modified,
        meta: parse_meta(&meta)?,
        data,
    }))
}

fn segments(c: &Connection, object_id: i64) -> R<Vec<Segment>> {
    let mut st =
        c.prepare_cached("SELECT blob_id, size FROM segments WHERE object_id = ?1 ORDER BY idx").map_err(sql_err)?;
    let rows = st.query_map([object_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (b, size) = row.map_err(sql_err)?;
        out.push(Segment { blob: blob_id(&b)?, size: size as u64 });
    }
    Ok(out)
}

/// Removes the object row under (bucket, key), queueing its blobs; returns
/// the removed ETag.
fn remove_object(c: &Connection, bid: i64, key: &str) -> R<Option<String>> {
    let existing: Option<(i64, String)> = c
        .prepare_cached("SELECT id, etag FROM objects WHERE bucket_id = ?1 AND key = ?2")
        .map_err(sql_err)?
        .query_row(params![bid, key.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql_err)?;
    let Some((id, etag)) = existing else { return Ok(None) };
    queue_gc(c, "SELECT blob_id, ?2 FROM segments WHERE object_id = ?1", id)?;
    c.prepare_cached("DELETE FROM objects WHERE id = ?1").map_err(sql_err)?.execute([id]).map_err(sql_err)?;
    Ok(Some(etag))
}

pub fn set_object_meta(c: &Connection, bucket: &str, key: &str, meta: &ObjectMeta) -> R<()> {
    let bid = bucket_id(c, bucket)?;
    let changed = c
        .prepare_cached("UPDATE objects SET meta = ?3 WHERE bucket_id = ?1 AND key = ?2")
        .map_err(sql_err)?
        .execute(params![bid, key.as_bytes(), meta_json(meta)?])
        .map_err(sql_err)?;
    if changed == 0 {
        return Err(MetaError::NoSuchKey);
    }
    Ok(())
}

fn check_condition(current: Option<&str>, cond: &WriteCondition) -> R<()> {
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

fn insert_object(c: &Connection, bid: i64, o: &ObjectRecord) -> R<()> {
    let inline = match &o.data {
        ObjectData::Inline(b) => Some(b.as_ref()),
        ObjectData::Segments(_) => None,
    };
    c.prepare_cached(
        "INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta, inline_data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(sql_err)?
    .execute(params![bid, o.key.as_bytes(), o.size as i64, o.etag, o.last_modified, meta_json(&o.meta)?, inline])
    .map_err(sql_err)?;
    if let ObjectData::Segments(segs) = &o.data {
        let id = c.last_insert_rowid();
        let mut st = c
            .prepare_cached("INSERT INTO segments (object_id, idx, blob_id, size) VALUES (?1, ?2, ?3, ?4)")
            .map_err(sql_err)?;
        for (i, s) in segs.iter().enumerate() {
            st.execute(params![id, i as i64, s.blob.as_str(), s.size as i64]).map_err(sql_err)?;
        }
    }
    Ok(())
}

fn current_etag(c: &Connection, bid: i64, key: &str) -> R<Option<String>> {
    c.prepare_cached("SELECT etag FROM objects WHERE bucket_id = ?1 AND key = ?2")
        .map_err(sql_err)?
        .query_row(params![bid, key.as_bytes()], |r| r.get(0))
        .optional()
        .map_err(sql_err)
}

pub fn put_object(c: &Connection, bucket: &str, o: &ObjectRecord, cond: &WriteCondition) -> R<()> {
    let bid = bucket_id(c, bucket)?;
    if *cond != WriteCondition::None {
        check_condition(current_etag(c, bid, &o.key)?.as_deref(), cond)?;
    }
    remove_object(c, bid, &o.key)?;
    insert_object(c, bid, o)
}

pub fn delete_object(c: &Connection, bucket: &str, key: &str) -> R<bool> {
    let bid = bucket_id(c, bucket)?;
    Ok(remove_object(c, bid, key)?.is_some())
}

/// The smallest byte string greater than every string starting with `prefix`,
/// or `None` when there is none (empty or all-0xFF prefix).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut v = prefix.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

pub fn list_objects(c: &Connection, bucket: &str, q: &ListQuery) -> R<Vec<ObjectSummary>> {
    let bid = bucket_id(c, bucket)?;
    // The lower bound is the larger of the prefix (inclusive) and the start.
    let prefix = q.prefix.as_bytes();
    let (lower, inclusive) = match &q.start {
        ListStart::After(s) if s.as_slice() >= prefix => (s.clone(), false),
        ListStart::AtOrAfter(s) if s.as_slice() > prefix => (s.clone(), true),
        _ => (prefix.to_vec(), true),
    };
    let upper = prefix_end(prefix);
    let sql = format!(
        "SELECT key, size, etag, last_modified FROM objects WHERE bucket_id = ?1 AND key {} ?2 {} ORDER BY key LIMIT ?4",
        if inclusive { ">=" } else { ">" },
        if upper.is_some() { "AND key < ?3" } else { "AND ?3 IS NULL" },
    );
    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
    let rows = st
        .query_map(params![bid, lower, upper, q.limit as i64], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
        })
        .map_err(sql_err)?;
    let mut out = Vec::with_capacity(q.limit.min(1000));
    for row in rows {
        let (key, size, etag, last_modified) = row.map_err(sql_err)?;
        out.push(ObjectSummary { key: key_text(key)?, size: size as u64, etag, last_modified });
    }
    Ok(out)
}

pub fn create_upload(c: &Connection, bucket: &str, u: &UploadRecord) -> R<()> {
    let bid = bucket_id(c, bucket)?;
    c.prepare_cached("INSERT INTO uploads (bucket_id, upload_id, key, initiated, meta) VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(sql_err)?
        .execute(params![bid, u.upload_id, u.key.as_bytes(), u.initiated, meta_json(&u.meta)?])
        .map_err(sql_err)?;
    Ok(())
}

fn upload_row(c: &Connection, bucket: &str, upload_id: &str) -> R<(i64, UploadRecord)> {
    let bid = bucket_id(c, bucket)?;
    let row = c
        .prepare_cached("SELECT id, key, initiated, meta FROM uploads WHERE upload_id = ?1 AND bucket_id = ?2")
        .map_err(sql_err)?
        .query_row(params![upload_id, bid], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?))
        })
        .optional()
        .map_err(sql_err)?;
    let (id, key, initiated, meta) = row.ok_or(MetaError::NoSuchUpload)?;
    Ok((id, UploadRecord { upload_id: upload_id.to_owned(), key: key_text(key)?, initiated, meta: parse_meta(&meta)? }))
}

pub fn get_upload(c: &Connection, bucket: &str, upload_id: &str) -> R<Option<UploadRecord>> {
    match upload_row(c, bucket, upload_id) {
        Ok((_, u)) => Ok(Some(u)),
        Err(MetaError::NoSuchUpload) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn put_part(c: &Connection, bucket: &str, upload_id: &str, p: &PartRecord) -> R<()> {
    let (row, _) = upload_row(c, bucket, upload_id)?;
    c.prepare_cached(
        "INSERT OR IGNORE INTO gc_queue (blob_id, queued) SELECT blob_id, ?3 FROM parts WHERE upload_row = ?1 AND part_number = ?2",
    )
    .map_err(sql_err)?
    .execute(params![row, p.part_number, now_millis()])
    .map_err(sql_err)?;
    c.prepare_cached(
        "INSERT OR REPLACE INTO parts (upload_row, part_number, size, etag, last_modified, blob_id, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(sql_err)?
    .execute(params![row, p.part_number, p.size as i64, p.etag, p.last_modified, p.blob.as_str(), checksum_json(p.checksum.as_ref())?])
    .map_err(sql_err)?;
    Ok(())
}

pub fn list_parts(c: &Connection, bucket: &str, upload_id: &str, after: u32, limit: usize) -> R<Vec<PartRecord>> {
    let (row, _) = upload_row(c, bucket, upload_id)?;
    let mut st = c
        .prepare_cached(
            "SELECT part_number, size, etag, last_modified, blob_id, checksum FROM parts WHERE upload_row = ?1 AND part_number > ?2 ORDER BY part_number LIMIT ?3",
        )
        .map_err(sql_err)?;
    let rows = st
        .query_map(params![row, after, limit as i64], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (part_number, size, etag, last_modified, blob, checksum) = row.map_err(sql_err)?;
        let checksum = match checksum {
            None => None,
            Some(j) => Some(serde_json::from_str(&j).map_err(|e| MetaError::Corrupt(format!("part checksum: {e}")))?),
        };
        out.push(PartRecord { part_number, size: size as u64, etag, last_modified, blob: blob_id(&blob)?, checksum });
    }
    Ok(out)
}

fn checksum_json(c: Option<&StoredChecksum>) -> R<Option<String>> {
    c.map(|c| serde_json::to_string(c).map_err(|e| MetaError::Corrupt(e.to_string()))).transpose()
}

pub fn list_uploads(c: &Connection, bucket: &str, q: &UploadListQuery) -> R<Vec<UploadRecord>> {
    let bid = bucket_id(c, bucket)?;
    let prefix = q.prefix.as_bytes();
    let upper = prefix_end(prefix);
    // Position after (key_marker, upload_id_marker): a later key, or the same
    // key with a later upload id. A key marker alone skips the whole key.
    let (mk, mu) = match (&q.key_marker, &q.upload_id_marker) {
        (Some(k), Some(u)) => (Some(k.as_bytes().to_vec()), Some(u.clone())),
        (Some(k), None) => (Some(k.as_bytes().to_vec()), None),
        _ => (None, None),
    };
    let mut st = c
        .prepare_cached(
            "SELECT upload_id, key, initiated, meta FROM uploads WHERE bucket_id = ?1 AND key >= ?2 AND (?3 IS NULL OR key < ?3)
             AND (?4 IS NULL OR key > ?4 OR (key = ?4 AND ?5 IS NOT NULL AND upload_id > ?5))
             ORDER BY key, upload_id LIMIT ?6",
        )
        .map_err(sql_err)?;
    let rows = st
        .query_map(params![bid, prefix, upper, mk, mu, q.limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (upload_id, key, initiated, meta) = row.map_err(sql_err)?;
        out.push(UploadRecord { upload_id, key: key_text(key)?, initiated, meta: parse_meta(&meta)? });
    }
    Ok(out)
}

pub fn complete_upload(
    c: &Connection,
    bucket: &str,
    upload_id: &str,
    o: &ObjectRecord,
    cond: &WriteCondition,
) -> R<()> {
    let (row, _) = upload_row(c, bucket, upload_id)?;
    let bid = bucket_id(c, bucket)?;
    if *cond != WriteCondition::None {
        check_condition(current_etag(c, bid, &o.key)?.as_deref(), cond)?;
    }
    let used: HashSet<&str> = o.data.blobs().map(|b| b.as_str()).collect();
    let mut unused = Vec::new();
    {
        let mut st = c.prepare_cached("SELECT blob_id FROM parts WHERE upload_row = ?1").map_err(sql_err)?;
        let rows = st.query_map([row], |r| r.get::<_, String>(0)).map_err(sql_err)?;
        for b in rows {
            let b = b.map_err(sql_err)?;
            if !used.contains(b.as_str()) {
                unused.push(b);
            }
        }
    }
    let mut q =
        c.prepare_cached("INSERT OR IGNORE INTO gc_queue (blob_id, queued) VALUES (?1, ?2)").map_err(sql_err)?;
    for b in unused {
        q.execute(params![b, now_millis()]).map_err(sql_err)?;
    }
    c.prepare_cached("DELETE FROM uploads WHERE id = ?1").map_err(sql_err)?.execute([row]).map_err(sql_err)?;
    remove_object(c, bid, &o.key)?;
    insert_object(c, bid, o)
}

pub fn abort_upload(c: &Connection, bucket: &str, upload_id: &str) -> R<()> {
    let (row, _) = upload_row(c, bucket, upload_id)?;
    queue_gc(c, "SELECT blob_id, ?2 FROM parts WHERE upload_row = ?1", row)?;
    c.prepare_cached("DELETE FROM uploads WHERE id = ?1").map_err(sql_err)?.execute([row]).map_err(sql_err)?;
    Ok(())
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

pub fn set_bucket_config(c: &Connection, bucket: &str, name: &str, value: Option<&str>) -> R<()> {
    let bid = bucket_id(c, bucket)?;
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

pub fn put_credential(c: &Connection, k: &CredentialRecord) -> R<()> {
    c.prepare_cached(
        "INSERT OR REPLACE INTO credentials (access_key, secret_key, principal, created) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(sql_err)?
    .execute(params![k.access_key, k.secret_key, k.principal, k.created])
    .map_err(sql_err)?;
    Ok(())
}

pub fn get_credential(c: &Connection, access_key: &str) -> R<Option<CredentialRecord>> {
    c.prepare_cached("SELECT access_key, secret_key, principal, created FROM credentials WHERE access_key = ?1")
        .map_err(sql_err)?
        .query_row([access_key], |r| {
            Ok(CredentialRecord {
                access_key: r.get(0)?,
                secret_key: r.get(1)?,
                principal: r.get(2)?,
                created: r.get(3)?,
            })
        })
        .optional()
        .map_err(sql_err)
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_bytes() {
        assert_eq!(prefix_end(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(prefix_end(&[b'a', 0xff]), Some(b"b".to_vec()));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }
}
