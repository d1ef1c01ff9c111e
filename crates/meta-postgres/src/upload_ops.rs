//! The SQL of multipart uploads: uploads, parts, completion and abort. Parts
//! count in their bucket's stored bytes until the upload ends. Writes lock
//! the bucket's row `FOR UPDATE` first (`quota::lock_bucket`, the
//! serialising path, whether or not a quota applies), so a part, a
//! completion and an abort of one upload never interleave, and no unbounded
//! PUT or delete of the bucket runs meanwhile.

use crate::ops::{
    bucket_id, check_condition, corrupt, current_object, drop_object, insert_object, key_text, meta_json, object_delta,
    parse_meta, queue_blobs, to_i64, to_u64,
};
use crate::quota::{self, lock_bucket, Delta};
use crate::retry::Try;
use crate::segments::{crc_of_db, crc_to_db};
use crate::stmt::Db;
use coffer_meta::*;
use std::collections::HashSet;
use tokio_postgres::types::Type;

pub async fn create_upload(c: &impl Db, bucket: &str, u: &UploadRecord) -> Try<()> {
    // Shares the bucket's row lock: a bucket being deleted finishes first
    // (and this then finds no bucket) or waits for this upload to commit.
    let row = c.query_typed_opt("SELECT id FROM buckets WHERE name = $1 FOR SHARE", &[(&bucket, Type::TEXT)]).await?;
    let bid: i64 = row.ok_or(MetaError::NoSuchBucket)?.get(0);
    c.execute_typed(
        "INSERT INTO uploads (bucket_id, upload_id, key, initiated, meta) VALUES ($1, $2, $3, $4, $5)",
        &[
            (&bid, Type::INT8),
            (&u.upload_id, Type::TEXT),
            (&u.key.as_bytes(), Type::BYTEA),
            (&u.initiated, Type::INT8),
            (&meta_json(&u.meta)?, Type::TEXT),
        ],
    )
    .await?;
    Ok(())
}

/// The upload's row id and record; `NoSuchUpload` if it is not in the bucket.
async fn find_upload(c: &impl Db, bid: i64, upload_id: &str) -> Try<(i64, UploadRecord)> {
    let row = c
        .query_typed_opt(
            "SELECT id, key, initiated, meta FROM uploads WHERE upload_id = $1 AND bucket_id = $2",
            &[(&upload_id, Type::TEXT), (&bid, Type::INT8)],
        )
        .await?;
    let r = row.ok_or(MetaError::NoSuchUpload)?;
    let meta: String = r.get(3);
    let upload = UploadRecord {
        upload_id: upload_id.to_owned(),
        key: key_text(r.get(1))?,
        initiated: r.get(2),
        meta: parse_meta(&meta)?,
    };
    Ok((r.get(0), upload))
}

pub async fn get_upload(c: &impl Db, bucket: &str, upload_id: &str) -> Try<Option<UploadRecord>> {
    let bid = bucket_id(c, bucket).await?;
    match find_upload(c, bid, upload_id).await {
        Ok((_, u)) => Ok(Some(u)),
        Err(crate::retry::Fail::Meta(MetaError::NoSuchUpload)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn checksum_json(c: Option<&StoredChecksum>) -> Result<Option<String>, MetaError> {
    c.map(|c| serde_json::to_string(c).map_err(|e| corrupt("part checksum", e))).transpose()
}

pub async fn put_part(c: &impl Db, bucket: &str, upload_id: &str, p: &PartRecord) -> Try<()> {
    let b = lock_bucket(c, bucket).await?;
    let (row, _) = find_upload(c, b.id, upload_id).await?;
    let part_number = i32::try_from(p.part_number).map_err(|_| corrupt("part number", p.part_number))?;
    let old = c
        .query_typed_opt(
            "SELECT blob_id, size FROM parts WHERE upload_row = $1 AND part_number = $2",
            &[(&row, Type::INT8), (&part_number, Type::INT4)],
        )
        .await?
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)));
    let d = Delta { bytes: to_i64(p.size) - old.as_ref().map_or(0, |o| o.1), objects: 0 };
    quota::check_quotas(c, &b, d).await?;
    if let Some((old_blob, _)) = old.filter(|o| o.0 != p.blob.as_str()) {
        queue_blobs(c, &[old_blob]).await?;
    }
    c.execute_typed(
        "INSERT INTO parts (upload_row, part_number, size, etag, last_modified, blob_id, checksum, crc64)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (upload_row, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag,
             last_modified = excluded.last_modified, blob_id = excluded.blob_id, checksum = excluded.checksum,
             crc64 = excluded.crc64",
        &[
            (&row, Type::INT8),
            (&part_number, Type::INT4),
            (&to_i64(p.size), Type::INT8),
            (&p.etag, Type::TEXT),
            (&p.last_modified, Type::INT8),
            (&p.blob.as_str(), Type::TEXT),
            (&checksum_json(p.checksum.as_ref())?, Type::TEXT),
            (&crc_to_db(p.crc64), Type::INT8),
        ],
    )
    .await?;
    quota::apply(c, b.id, d).await
}

pub async fn list_parts(c: &impl Db, bucket: &str, upload_id: &str, after: u32, limit: usize) -> Try<Vec<PartRecord>> {
    let bid = bucket_id(c, bucket).await?;
    let (row, _) = find_upload(c, bid, upload_id).await?;
    let after = i64::from(after);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c
        .query_typed(
            "SELECT part_number, size, etag, last_modified, blob_id, checksum, crc64 FROM parts
             WHERE upload_row = $1 AND part_number > $2 ORDER BY part_number LIMIT $3",
            &[(&row, Type::INT8), (&after, Type::INT8), (&limit, Type::INT8)],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let checksum = match r.get::<_, Option<String>>(5) {
            None => None,
            Some(j) => Some(serde_json::from_str(&j).map_err(|e| corrupt("part checksum", e))?),
        };
        out.push(PartRecord {
            part_number: u32::try_from(r.get::<_, i32>(0)).map_err(|e| corrupt("part number", e))?,
            size: to_u64(r.get(1)),
            etag: r.get(2),
            last_modified: r.get(3),
            blob: crate::ops::blob_id(r.get(4))?,
            crc64: crc_of_db(r.get(6)),
            checksum,
        });
    }
    Ok(out)
}

pub async fn list_uploads(c: &impl Db, bucket: &str, q: &UploadListQuery) -> Try<Vec<UploadRecord>> {
    let bid = bucket_id(c, bucket).await?;
    let prefix = q.prefix.as_bytes();
    let upper = coffer_meta::listing::prefix_end(prefix);
    // Position after (key_marker, upload_id_marker): a later key, or the same
    // key with a later upload id. A key marker alone skips the whole key.
    let (mk, mu) = match (&q.key_marker, &q.upload_id_marker) {
        (Some(k), u) => (Some(k.as_bytes().to_vec()), u.clone()),
        _ => (None, None),
    };
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let rows = c
        .query_typed(
            "SELECT upload_id, key, initiated, meta FROM uploads
             WHERE bucket_id = $1 AND key >= $2 AND ($3::bytea IS NULL OR key < $3)
               AND ($4::bytea IS NULL OR key > $4 OR (key = $4 AND $5::text IS NOT NULL AND upload_id > $5))
             ORDER BY key, upload_id LIMIT $6",
            &[
                (&bid, Type::INT8),
                (&prefix, Type::BYTEA),
                (&upper, Type::BYTEA),
                (&mk, Type::BYTEA),
                (&mu, Type::TEXT),
                (&limit, Type::INT8),
            ],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let meta: String = r.get(3);
        out.push(UploadRecord {
            upload_id: r.get(0),
            key: key_text(r.get(1))?,
            initiated: r.get(2),
            meta: parse_meta(&meta)?,
        });
    }
    Ok(out)
}

pub async fn complete_upload(
    c: &impl Db,
    bucket: &str,
    upload_id: &str,
    o: &ObjectRecord,
    cond: &WriteCondition,
) -> Try<Written> {
    let b = lock_bucket(c, bucket).await?;
    let (row, _) = find_upload(c, b.id, upload_id).await?;
    let old = current_object(c, b.id, &o.key).await?;
    check_condition(old.as_ref().map(|o| o.etag.as_str()), cond)?;
    let used: HashSet<&str> = o.data.blobs().map(|b| b.as_str()).collect();
    let parts = c.query_typed("SELECT blob_id, size FROM parts WHERE upload_row = $1", &[(&row, Type::INT8)]).await?;
    let mut unused = Vec::new();
    let mut current = HashSet::new();
    let mut parts_bytes = 0i64;
    for p in parts {
        let (blob, size): (String, i64) = (p.get(0), p.get(1));
        parts_bytes += size;
        if !used.contains(blob.as_str()) {
            unused.push(blob.clone());
        }
        current.insert(blob);
    }
    // The engine read the parts before this transaction: a part re-uploaded
    // since then has queued its old blob for collection. An object must never
    // name such a blob.
    if let Some(stale) = o.data.blobs().find(|b| !current.contains(b.as_str())) {
        return Err(MetaError::StalePart(stale.clone()).into());
    }
    // The object arrives (replacing `old`), every part of the upload leaves.
    let mut d = object_delta(o.size, old.as_ref());
    d.bytes -= parts_bytes;
    if !b.versioning.is_versioned() {
        quota::check_quotas(c, &b, d).await?;
    }
    queue_blobs(c, &unused).await?;
    c.execute_typed("DELETE FROM uploads WHERE id = $1", &[(&row, Type::INT8)]).await?;
    if b.versioning.is_versioned() {
        // A new version; its totals' change (and quota check) counts the
        // parts leaving.
        return crate::version_ops::write_version(c, &b, o, cond, Delta { bytes: -parts_bytes, objects: 0 }).await;
    }
    if let Some(old) = &old {
        drop_object(c, old).await?;
    }
    insert_object(c, b.id, o).await?;
    quota::apply(c, b.id, d).await?;
    Ok(None)
}

pub async fn abort_upload(c: &impl Db, bucket: &str, upload_id: &str) -> Try<()> {
    let b = lock_bucket(c, bucket).await?;
    let (row, _) = find_upload(c, b.id, upload_id).await?;
    let parts = c.query_typed("SELECT blob_id, size FROM parts WHERE upload_row = $1", &[(&row, Type::INT8)]).await?;
    let blobs: Vec<String> = parts.iter().map(|p| p.get(0)).collect();
    let parts_bytes: i64 = parts.iter().map(|p| p.get::<_, i64>(1)).sum();
    queue_blobs(c, &blobs).await?;
    c.execute_typed("DELETE FROM uploads WHERE id = $1", &[(&row, Type::INT8)]).await?;
    quota::apply(c, b.id, Delta { bytes: -parts_bytes, objects: 0 }).await
}
