//! The SQL of versions (see [`coffer_meta::versions`] for the model, and
//! `coffer-meta-sqlite`'s `version_ops.rs`, whose steps these mirror): an
//! `objects` row is its key's current version; every other version, and
//! every delete marker, is an `object_versions` row owning its blobs in
//! `version_segments`.
//!
//! Every write here runs on the serialising path: the bucket's row locked
//! `FOR UPDATE` ([`quota::lock_bucket`]) for the whole transaction, so no
//! other writer of the bucket runs meanwhile (the unbounded paths send a
//! versioned bucket's writes here, see `quota.rs`). That is what makes a
//! key's `seq` (its highest plus one), the version moved aside and the one
//! brought back safe to read and then write in separate statements. The
//! transaction is rolled back on any error, so the order of the steps
//! needs no care for atomicity.

use crate::ops::{
    check_condition, check_stamp, current_object, drop_object, insert_object_as, key_text, meta_json, parse_meta,
    to_i64, to_u64, Current,
};
use crate::quota::{self, lock_bucket, BucketState, Delta};
use crate::retry::{PipeTx, Try};
use crate::stmt::{Db, Param};
use coffer_meta::versions::{merge_rows, VersionRead, VersionRow, VersionScan};
use coffer_meta::*;
use coffer_types::{now_millis, Versioning};
use tokio_postgres::types::Type;

/// The highest `seq` among the key's versions (current or not), 0 if none.
async fn max_seq(c: &impl Db, bid: i64, key: &str, cur: Option<&Current>) -> Try<i64> {
    let older: Option<i64> = c
        .query_typed_one(
            "SELECT max(seq) FROM object_versions WHERE bucket_id = $1 AND key = $2",
            &[(&bid, Type::INT8), (&key.as_bytes(), Type::BYTEA)],
        )
        .await?
        .get(0);
    Ok(older.unwrap_or(0).max(cur.map_or(0, |c| c.seq)))
}

/// Moves the current version into `object_versions` with its blobs, in
/// one statement: the segments are read from the statement's snapshot,
/// before the row's delete cascades to them.
async fn demote(c: &impl Db, cur: &Current) -> Try<()> {
    c.execute_typed(
        "WITH moved AS (DELETE FROM objects WHERE id = $1
                 RETURNING bucket_id, key, seq, version_id, size, etag, last_modified, meta, inline_data),
              v AS (INSERT INTO object_versions
                     (bucket_id, key, seq, version_id, delete_marker, size, etag, last_modified, meta, inline_data)
                 SELECT bucket_id, key, seq, version_id, false, size, etag, last_modified, meta, inline_data FROM moved
                 RETURNING id)
         INSERT INTO version_segments (version_row, idx, blob_id, size, crc64)
             SELECT v.id, s.idx, s.blob_id, s.size, s.crc64 FROM v, segments s WHERE s.object_id = $1",
        &[(&cur.id, Type::INT8)],
    )
    .await?;
    Ok(())
}

/// An older version (or delete marker) found by its id.
struct Older {
    row: i64,
    delete_marker: bool,
    size: i64,
    meta: String,
}

async fn older_version(c: &impl Db, bid: i64, key: &str, id: Option<&str>) -> Try<Option<Older>> {
    let row = c
        .query_typed_opt(
            "SELECT id, delete_marker, size, meta FROM object_versions
             WHERE bucket_id = $1 AND key = $2 AND version_id IS NOT DISTINCT FROM $3 ORDER BY seq DESC LIMIT 1",
            &[(&bid, Type::INT8), (&key.as_bytes(), Type::BYTEA), (&id, Type::TEXT)],
        )
        .await?;
    Ok(row.map(|r| Older { row: r.get(0), delete_marker: r.get(1), size: r.get(2), meta: r.get(3) }))
}

/// Removes an older version for good, its blobs queued (one statement, as
/// `ops::drop_object`); refused when locked.
async fn drop_older(c: &impl Db, o: &Older, lock: LockCheck) -> Try<Delta> {
    parse_meta(&o.meta)?.lock().may_delete(lock.now, lock.bypass_governance).map_err(MetaError::from)?;
    c.execute_typed(
        "WITH gone AS (DELETE FROM object_versions WHERE id = $1 RETURNING id)
         INSERT INTO gc_queue (blob_id, queued)
             SELECT s.blob_id, $2 FROM version_segments s WHERE s.version_row = $1 AND EXISTS (SELECT 1 FROM gone)
         ON CONFLICT DO NOTHING",
        &[(&o.row, Type::INT8), (&now_millis(), Type::INT8)],
    )
    .await?;
    Ok(if o.delete_marker { Delta::default() } else { Delta { bytes: -o.size, objects: -1 } })
}

/// Removes the current version for good, its blobs queued; refused when locked.
async fn drop_current(c: &impl Db, cur: &Current, lock: LockCheck) -> Try<Delta> {
    parse_meta(&cur.meta)?.lock().may_delete(lock.now, lock.bypass_governance).map_err(MetaError::from)?;
    drop_object(c, cur).await?;
    Ok(Delta { bytes: -cur.size, objects: -1 })
}

/// After the current version or the top delete marker went: the newest
/// remaining version becomes current when it is not a delete marker (and
/// no current version is left). One statement, which reads the version's
/// segments before its delete cascades to them.
async fn promote(c: &impl Db, bid: i64, key: &str) -> Try<()> {
    c.execute_typed(
        "WITH top AS MATERIALIZED (SELECT id, delete_marker FROM object_versions
                 WHERE bucket_id = $1 AND key = $2 ORDER BY seq DESC LIMIT 1),
              moved AS (DELETE FROM object_versions v USING top
                 WHERE v.id = top.id AND NOT top.delete_marker
                   AND NOT EXISTS (SELECT 1 FROM objects WHERE bucket_id = $1 AND key = $2)
                 RETURNING v.id, v.bucket_id, v.key, v.seq, v.version_id, v.size, v.etag, v.last_modified, v.meta,
                           v.inline_data),
              o AS (INSERT INTO objects (bucket_id, key, seq, version_id, size, etag, last_modified, meta, inline_data)
                 SELECT bucket_id, key, seq, version_id, size, etag, last_modified, meta, inline_data FROM moved
                 RETURNING id)
         INSERT INTO segments (object_id, idx, blob_id, size, crc64)
             SELECT o.id, s.idx, s.blob_id, s.size, s.crc64 FROM o, moved, version_segments s
             WHERE s.version_row = moved.id",
        &[(&bid, Type::INT8), (&key.as_bytes(), Type::BYTEA)],
    )
    .await?;
    Ok(())
}

async fn insert_marker(c: &impl Db, bid: i64, key: &str, seq: i64, id: Option<&str>) -> Try<()> {
    c.execute_typed(
        "INSERT INTO object_versions (bucket_id, key, seq, version_id, delete_marker, size, etag, last_modified, meta)
         VALUES ($1, $2, $3, $4, true, 0, '', $5, '{}')",
        &[
            (&bid, Type::INT8),
            (&key.as_bytes(), Type::BYTEA),
            (&seq, Type::INT8),
            (&id, Type::TEXT),
            (&now_millis(), Type::INT8),
        ],
    )
    .await?;
    Ok(())
}

/// Makes room for a new version of `key` as the bucket's versioning says:
/// enabled, the current version becomes an older one; suspended, the null
/// version goes (unless locked) and any other current one becomes older.
/// Returns the new version's id, its `seq`, and the totals' change so far.
async fn make_room(c: &impl Db, b: &BucketState, key: &str, new_id: Option<&str>) -> Try<(Option<String>, i64, Delta)> {
    let cur = current_object(c, b.id, key).await?;
    let seq = max_seq(c, b.id, key, cur.as_ref()).await? + 1;
    let mut d = Delta::default();
    let strict = LockCheck { now: now_millis(), bypass_governance: false };
    let id = match b.versioning {
        Versioning::Enabled => new_id.map(str::to_owned).or_else(|| Some(coffer_types::new_version_id())),
        _ => None,
    };
    match (b.versioning, &cur) {
        (Versioning::Suspended, Some(cur)) if cur.version_id.is_none() => d = drop_current(c, cur, strict).await?,
        (_, cur) => {
            if let Some(cur) = cur {
                demote(c, cur).await?;
            }
            if b.versioning == Versioning::Suspended {
                if let Some(o) = older_version(c, b.id, key, None).await? {
                    d = drop_older(c, &o, strict).await?;
                }
            }
        }
    }
    Ok((id, seq, d))
}

/// Writes `o` as the key's new current version in a versioned bucket,
/// whose row the caller locked ([`quota::lock_bucket`]) and checked
/// against the stamp. `extra` is added to the totals' change (a
/// completion's parts leaving).
pub(crate) async fn write_version(
    c: &impl Db,
    b: &BucketState,
    o: &ObjectRecord,
    cond: &WriteCondition,
    extra: Delta,
) -> Try<Written> {
    let cur = current_object(c, b.id, &o.key).await?;
    check_condition(cur.as_ref().map(|o| o.etag.as_str()), cond)?;
    let (id, seq, mut d) = make_room(c, b, &o.key, o.version_id.as_deref()).await?;
    d.bytes += to_i64(o.size) + extra.bytes;
    d.objects += 1 + extra.objects;
    quota::check_quotas(c, b, d).await?;
    insert_object_as(c, b.id, o, id.as_deref(), seq).await?;
    quota::apply(c, b.id, d).await?;
    Ok(Some(id))
}

/// Sets the bucket's versioning or object lock. The row is locked `FOR
/// UPDATE` and always rewritten (a new row version even when nothing
/// changes), as `quota::set_quota` does: an unbounded write in flight
/// either commits before this or sees the new state (`lock_object` after
/// its bucket lock; the batched PUT and the unbounded delete by their
/// `xmin` check) and serialises.
pub async fn set_versioning(
    c: &impl Db,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    change: VersioningChange,
) -> Try<()> {
    let b = lock_bucket(c, bucket).await?;
    check_stamp(stamp, &b.project, b.created)?;
    let (versioning, lock) = match change {
        VersioningChange::Set(Versioning::Unversioned) => {
            return Err(MetaError::InvalidBucketState("versioning can be enabled or suspended, not removed").into())
        }
        VersioningChange::Set(Versioning::Suspended) if b.object_lock => {
            return Err(MetaError::InvalidBucketState("versioning cannot be suspended with object lock enabled").into())
        }
        VersioningChange::Set(v) => (v, b.object_lock),
        VersioningChange::EnableObjectLock if b.versioning != Versioning::Enabled => {
            return Err(MetaError::InvalidBucketState("object lock needs versioning enabled").into())
        }
        VersioningChange::EnableObjectLock => (Versioning::Enabled, true),
    };
    c.execute_typed(
        "UPDATE buckets SET versioning = $2, object_lock = $3 WHERE id = $1",
        &[(&b.id, Type::INT8), (&crate::ops::versioning_code(versioning), Type::INT4), (&lock, Type::BOOL)],
    )
    .await?;
    Ok(())
}

/// A delete on the serialising path: every delete of a versioned bucket,
/// and in an unversioned one what the unbounded delete left to it (a
/// locked object, a version id).
pub async fn delete_version(
    c: &impl Db,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    key: &str,
    target: &DeleteTarget,
    lock: LockCheck,
) -> Try<Deleted> {
    let b = lock_bucket(c, bucket).await?;
    check_stamp(stamp, &b.project, b.created)?;
    let cur = current_object(c, b.id, key).await?;
    let (d, out) = match (target, b.versioning) {
        (DeleteTarget::Current { .. }, Versioning::Unversioned)
        | (DeleteTarget::Version(None), Versioning::Unversioned) => {
            let Some(cur) = cur else { return Ok(Deleted::default()) };
            (drop_current(c, &cur, lock).await?, Deleted { found: true, ..Default::default() })
        }
        (DeleteTarget::Version(Some(_)), Versioning::Unversioned) => return Ok(Deleted::default()),
        (DeleteTarget::Current { marker }, _) => {
            let (id, seq, d) = make_room(c, &b, key, Some(marker)).await?;
            insert_marker(c, b.id, key, seq, id.as_deref()).await?;
            (d, Deleted { found: true, version_id: Some(id), delete_marker: true })
        }
        (DeleteTarget::Version(v), _) => {
            let found = Deleted { found: true, version_id: Some(v.clone()), delete_marker: false };
            match cur.filter(|cur| cur.version_id == *v) {
                Some(cur) => (drop_current(c, &cur, lock).await?, found),
                None => match older_version(c, b.id, key, v.as_deref()).await? {
                    Some(o) => (drop_older(c, &o, lock).await?, Deleted { delete_marker: o.delete_marker, ..found }),
                    None => return Ok(Deleted { version_id: Some(v.clone()), ..Default::default() }),
                },
            }
        }
    };
    promote(c, b.id, key).await?;
    quota::apply(c, b.id, d).await?;
    Ok(out)
}

/// The version a [`get_version`] picks, with its data, in one statement
/// (one snapshot), as `ops::get_object` reads an object: no row when there
/// is no bucket; one row with no version when there is none; else a row
/// per segment in order (one row for inline data or a delete marker).
/// `$3`: whether an id is asked for, `$4` that id (NULL: the null
/// version). The current version is preferred; else, by id, the older
/// version with it, or for the latest, the newest older one (with no
/// current version, a delete marker).
const GET_VERSION: &str = "
WITH b AS MATERIALIZED (SELECT id FROM buckets WHERE name = $1),
cur AS MATERIALIZED (SELECT o.* FROM objects o, b WHERE o.bucket_id = b.id AND o.key = $2),
pick AS MATERIALIZED (
    SELECT true AS current, id, version_id, false AS delete_marker, size, etag, last_modified, meta, inline_data,
           true AS latest
    FROM cur WHERE NOT $3 OR version_id IS NOT DISTINCT FROM $4
  UNION ALL
    (SELECT false, v.id, v.version_id, v.delete_marker, v.size, v.etag, v.last_modified, v.meta, v.inline_data,
            NOT EXISTS (SELECT 1 FROM cur)
                AND v.seq = (SELECT max(w.seq) FROM object_versions w WHERE w.bucket_id = v.bucket_id AND w.key = $2)
     FROM object_versions v, b
     WHERE v.bucket_id = b.id AND v.key = $2
       AND CASE WHEN $3 THEN v.version_id IS NOT DISTINCT FROM $4 ELSE NOT EXISTS (SELECT 1 FROM cur) END
     ORDER BY v.seq DESC LIMIT 1)
),
top AS MATERIALIZED (SELECT * FROM pick ORDER BY current DESC LIMIT 1)
SELECT top.current, top.version_id, top.delete_marker, top.size, top.etag, top.last_modified, top.meta,
       top.inline_data, top.latest, s.blob_id, s.size, s.crc64
FROM b LEFT JOIN top ON true
     LEFT JOIN LATERAL (
         SELECT x.idx, x.blob_id, x.size, x.crc64 FROM segments x WHERE top.current AND x.object_id = top.id
       UNION ALL
         SELECT x.idx, x.blob_id, x.size, x.crc64 FROM version_segments x
         WHERE NOT top.current AND x.version_row = top.id
     ) s ON top.inline_data IS NULL
ORDER BY s.idx";

/// The version `which` names, with its data.
pub async fn get_version(c: &impl Db, bucket: &str, key: &str, which: &VersionSel) -> Try<Option<VersionRecord>> {
    let (by_id, id) = match which {
        VersionSel::Latest => (false, None),
        VersionSel::Id(v) => (true, v.as_deref()),
    };
    let rows = c
        .query_typed(
            GET_VERSION,
            &[(&bucket, Type::TEXT), (&key.as_bytes(), Type::BYTEA), (&by_id, Type::BOOL), (&id, Type::TEXT)],
        )
        .await?;
    let row = rows.first().ok_or(MetaError::NoSuchBucket)?;
    if row.get::<_, Option<bool>>(0).is_none() {
        return Ok(None);
    }
    // A delete marker has no segments, as an empty object.
    let data = crate::segments::object_data_of(&rows, row.get(7), 9)?;
    let meta: String = row.get(6);
    let object = ObjectRecord {
        key: key.to_owned(),
        version_id: row.get(1),
        size: to_u64(row.get(3)),
        etag: row.get(4),
        last_modified: row.get(5),
        meta: parse_meta(&meta)?,
        data,
    };
    Ok(Some(VersionRecord { object, delete_marker: row.get(2), latest: row.get(8) }))
}

/// Changes the headers of the version `which` names, in place, on the
/// serialising path (every edit of a versioned bucket, and one naming a
/// version id).
pub async fn edit_version_meta(
    c: &impl Db,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    key: &str,
    which: &VersionSel,
    edit: &MetaEdit,
) -> Try<()> {
    let b = lock_bucket(c, bucket).await?;
    check_stamp(stamp, &b.project, b.created)?;
    let cur = current_object(c, b.id, key).await?;
    let (sql, row, meta) = match (which, cur) {
        (VersionSel::Latest, Some(cur)) => (EDIT_CURRENT, cur.id, cur.meta),
        (VersionSel::Latest, None) => return Err(MetaError::NoSuchKey.into()),
        (VersionSel::Id(v), Some(cur)) if cur.version_id == *v => (EDIT_CURRENT, cur.id, cur.meta),
        (VersionSel::Id(v), _) => match older_version(c, b.id, key, v.as_deref()).await? {
            Some(o) if o.delete_marker => return Err(MetaError::NoSuchKey.into()),
            Some(o) => (EDIT_OLDER, o.row, o.meta),
            None => return Err(MetaError::NoSuchVersion.into()),
        },
    };
    let mut meta = parse_meta(&meta)?;
    edit.apply(&mut meta)?;
    c.execute_typed(sql, &[(&row, Type::INT8), (&meta_json(&meta)?, Type::TEXT)]).await?;
    Ok(())
}

const EDIT_CURRENT: &str = "UPDATE objects SET meta = $2 WHERE id = $1";
const EDIT_OLDER: &str = "UPDATE object_versions SET meta = $2 WHERE id = $1";

/// A version listing on one snapshot: a read-only REPEATABLE READ
/// transaction whose `BEGIN` goes out with the first statement (the
/// bucket and the version marker's `seq`), then per [`VersionScan`] read
/// one seek on `objects` and one on `object_versions` (by `(bucket_id,
/// key, seq DESC)`), pipelined, merged. Run in `pipelined!` (a read: its
/// stage stays `Work`).
pub(crate) async fn list_versions(
    pool: &deadpool_postgres::Pool,
    bucket: &str,
    q: &VersionListQuery,
) -> Try<Vec<VersionEntry>> {
    let tx = PipeTx::new(pool.get().await?);
    let c = tx.client();
    let (want, marker) = match &q.version_marker {
        None => (false, None),
        Some(v) => (true, v.as_deref()),
    };
    let key_marker = q.key_marker.as_bytes();
    let params: [Param<'_>; 4] =
        [(&bucket, Type::TEXT), (&key_marker, Type::BYTEA), (&want, Type::BOOL), (&marker, Type::TEXT)];
    let (begin, found) = tokio::join!(
        c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        c.query_typed_opt(
            "SELECT b.id, CASE WHEN $3 THEN (SELECT s.seq FROM (
                 SELECT seq FROM objects WHERE bucket_id = b.id AND key = $2 AND version_id IS NOT DISTINCT FROM $4
                 UNION ALL
                 SELECT seq FROM object_versions
                 WHERE bucket_id = b.id AND key = $2 AND version_id IS NOT DISTINCT FROM $4) s LIMIT 1) END
             FROM buckets b WHERE b.name = $1",
            &params,
        ),
    );
    begin?;
    let found = found?.ok_or(MetaError::NoSuchBucket)?;
    let bid: i64 = found.get(0);
    let marker_seq: Option<i64> = found.get(1);
    // A marker version that is gone (deleted since the page that named it:
    // clients empty buckets that way) resumes at its key, never past it.
    let _ = want;
    let mut scan = VersionScan::new(q, marker_seq);
    while let Some(r) = scan.next_read() {
        let (a, b) = tokio::join!(range(c, Table::Current, bid, &r), range(c, Table::Older, bid, &r));
        scan.feed(merge_rows(a?, b?, r.limit));
    }
    c.batch_execute("COMMIT").await?;
    tx.sent_commit();
    Ok(scan.finish())
}

/// Which rows a [`range`] reads.
#[derive(Clone, Copy)]
enum Table {
    /// `objects` (one row per key: ordered by key alone, on its unique index).
    Current,
    /// `object_versions`, on `(bucket_id, key, seq DESC)`.
    Older,
}

/// One [`VersionRead`] on one table. `$3` is `below` (NULL: none), `$4`
/// whether the start key's own rows are in; the upper bound is spelled out
/// or left out of the text, so the generic plan seeks on it.
async fn range(c: &impl Db, table: Table, bid: i64, r: &VersionRead) -> Try<Vec<VersionRow>> {
    let (from, marker, order) = match table {
        Table::Current => ("objects", "false", "key"),
        Table::Older => ("object_versions", "delete_marker", "key, seq DESC"),
    };
    let upper = if r.upper.is_some() { "AND key < $5" } else { "AND $5::bytea IS NULL" };
    let sql = format!(
        "SELECT key, seq, version_id, {marker}, size, etag, last_modified FROM {from}
         WHERE bucket_id = $1 AND key >= $2 AND (key > $2 OR CASE WHEN $3::int8 IS NULL THEN $4 ELSE seq < $3 END)
         {upper} ORDER BY {order} LIMIT $6"
    );
    let limit = i64::try_from(r.limit).unwrap_or(i64::MAX);
    let rows = c
        .query_typed(
            &sql,
            &[
                (&bid, Type::INT8),
                (&r.key, Type::BYTEA),
                (&r.below, Type::INT8),
                (&r.inclusive, Type::BOOL),
                (&r.upper, Type::BYTEA),
                (&limit, Type::INT8),
            ],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for x in rows {
        out.push(VersionRow {
            key: key_text(x.get(0))?,
            seq: x.get(1),
            version_id: x.get(2),
            delete_marker: x.get(3),
            size: to_u64(x.get(4)),
            etag: x.get(5),
            last_modified: x.get(6),
        });
    }
    Ok(out)
}
