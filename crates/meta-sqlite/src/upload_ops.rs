//! The SQL of multipart uploads: uploads, parts, completion and abort. Parts
//! count in their bucket's stored bytes until the upload ends.

use crate::ops::{
    blob_id, bucket_id, check_condition, current_object, drop_object, insert_object, key_text, meta_json, object_delta,
    parse_meta, queue_gc, to_i64, R,
};
use crate::quota::{self, bucket_state, Delta};
use crate::sql_err;
use coffer_meta::*;
use coffer_types::now_millis;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;

pub fn create_upload(c: &Connection, bucket: &str, u: &UploadRecord) -> R<()> {
    let bid = bucket_id(c, bucket)?;
    c.prepare_cached("INSERT INTO uploads (bucket_id, upload_id, key, initiated, meta) VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(sql_err)?
        .execute(params![bid, u.upload_id, u.key.as_bytes(), u.initiated, meta_json(&u.meta)?])
        .map_err(sql_err)?;
    Ok(())
}

fn upload_row(c: &Connection, bucket: &str, upload_id: &str) -> R<(i64, UploadRecord)> {
    find_upload(c, bucket_id(c, bucket)?, upload_id)
}

/// The upload's row id and record; `NoSuchUpload` if it is not in the bucket.
fn find_upload(c: &Connection, bid: i64, upload_id: &str) -> R<(i64, UploadRecord)> {
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
    let b = bucket_state(c, bucket)?;
    let (row, _) = find_upload(c, b.id, upload_id)?;
    let old: Option<(String, i64)> = c
        .prepare_cached("SELECT blob_id, size FROM parts WHERE upload_row = ?1 AND part_number = ?2")
        .map_err(sql_err)?
        .query_row(params![row, p.part_number], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql_err)?;
    let d = Delta { bytes: to_i64(p.size) - old.as_ref().map_or(0, |o| o.1), objects: 0 };
    quota::check_quotas(c, &b, d)?;
    if let Some((old_blob, _)) = old.filter(|o| o.0 != p.blob.as_str()) {
        c.prepare_cached("INSERT OR IGNORE INTO gc_queue (blob_id, queued) VALUES (?1, ?2)")
            .map_err(sql_err)?
            .execute(params![old_blob, now_millis()])
            .map_err(sql_err)?;
    }
    c.prepare_cached(
        "INSERT OR REPLACE INTO parts (upload_row, part_number, size, etag, last_modified, blob_id, checksum, crc64)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(sql_err)?
    .execute(params![
        row,
        p.part_number,
        to_i64(p.size),
        p.etag,
        p.last_modified,
        p.blob.as_str(),
        checksum_json(p.checksum.as_ref())?,
        p.crc64.map(|v| v as i64)
    ])
    .map_err(sql_err)?;
    quota::apply(c, b.id, d)
}

pub fn list_parts(c: &Connection, bucket: &str, upload_id: &str, after: u32, limit: usize) -> R<Vec<PartRecord>> {
    let (row, _) = upload_row(c, bucket, upload_id)?;
    let mut st = c
        .prepare_cached(
            "SELECT part_number, size, etag, last_modified, blob_id, checksum, crc64 FROM parts WHERE upload_row = ?1 AND part_number > ?2 ORDER BY part_number LIMIT ?3",
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
                r.get::<_, Option<i64>>(6)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (part_number, size, etag, last_modified, blob, checksum, crc) = row.map_err(sql_err)?;
        let checksum = match checksum {
            None => None,
            Some(j) => Some(serde_json::from_str(&j).map_err(|e| MetaError::Corrupt(format!("part checksum: {e}")))?),
        };
        out.push(PartRecord {
            part_number,
            size: size as u64,
            etag,
            last_modified,
            blob: blob_id(&blob)?,
            crc64: crc.map(|v| v as u64),
            checksum,
        });
    }
    Ok(out)
}

fn checksum_json(c: Option<&StoredChecksum>) -> R<Option<String>> {
    c.map(|c| serde_json::to_string(c).map_err(|e| MetaError::Corrupt(e.to_string()))).transpose()
}

pub fn list_uploads(c: &Connection, bucket: &str, q: &UploadListQuery) -> R<Vec<UploadRecord>> {
    let bid = bucket_id(c, bucket)?;
    let prefix = q.prefix.as_bytes();
    let upper = coffer_meta::listing::prefix_end(prefix);
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
) -> R<Written> {
    let b = bucket_state(c, bucket)?;
    let (row, _) = find_upload(c, b.id, upload_id)?;
    let old = current_object(c, b.id, &o.key)?;
    check_condition(old.as_ref().map(|o| o.etag.as_str()), cond)?;
    let used: HashSet<&str> = o.data.blobs().map(|b| b.as_str()).collect();
    let mut unused = Vec::new();
    let mut current = HashSet::new();
    let mut parts_bytes = 0i64;
    {
        let mut st = c.prepare_cached("SELECT blob_id, size FROM parts WHERE upload_row = ?1").map_err(sql_err)?;
        let rows = st.query_map([row], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(sql_err)?;
        for part in rows {
            let (blob, size) = part.map_err(sql_err)?;
            parts_bytes += size;
            if !used.contains(blob.as_str()) {
                unused.push(blob.clone());
            }
            current.insert(blob);
        }
    }
    // The engine read the parts before this transaction: a part re-uploaded
    // since then has queued its old blob for collection. An object must never
    // name such a blob.
    if let Some(stale) = o.data.blobs().find(|b| !current.contains(b.as_str())) {
        return Err(MetaError::StalePart(stale.clone()));
    }
    // The object arrives (replacing `old`), every part of the upload leaves.
    let mut d = object_delta(o.size, old.as_ref());
    d.bytes -= parts_bytes;
    if !b.versioning.is_versioned() {
        quota::check_quotas(c, &b, d)?;
    }
    let mut q =
        c.prepare_cached("INSERT OR IGNORE INTO gc_queue (blob_id, queued) VALUES (?1, ?2)").map_err(sql_err)?;
    for blob in unused {
        q.execute(params![blob, now_millis()]).map_err(sql_err)?;
    }
    c.prepare_cached("DELETE FROM uploads WHERE id = ?1").map_err(sql_err)?.execute([row]).map_err(sql_err)?;
    if b.versioning.is_versioned() {
        return crate::version_ops::write_version(c, &b, o, cond, Delta { bytes: -parts_bytes, objects: 0 });
    }
    if let Some(old) = &old {
        drop_object(c, old)?;
    }
    insert_object(c, b.id, o)?;
    quota::apply(c, b.id, d)?;
    Ok(None)
}

pub fn abort_upload(c: &Connection, bucket: &str, upload_id: &str) -> R<()> {
    let bid = bucket_id(c, bucket)?;
    let (row, _) = find_upload(c, bid, upload_id)?;
    let parts_bytes: i64 = c
        .prepare_cached("SELECT coalesce(sum(size), 0) FROM parts WHERE upload_row = ?1")
        .map_err(sql_err)?
        .query_row([row], |r| r.get(0))
        .map_err(sql_err)?;
    queue_gc(c, "SELECT blob_id, ?2 FROM parts WHERE upload_row = ?1", row)?;
    c.prepare_cached("DELETE FROM uploads WHERE id = ?1").map_err(sql_err)?.execute([row]).map_err(sql_err)?;
    quota::apply(c, bid, Delta { bytes: -parts_bytes, objects: 0 })
}
