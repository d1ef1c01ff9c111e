//! The SQL of versions (see [`coffer_meta::versions`] for the model): an
//! `objects` row is its key's current version; every other version, and
//! every delete marker, is an `object_versions` row owning its blobs in
//! `version_segments`. Writes run in the writer's savepoint (an error
//! undoes every statement before it), so the order of the steps below
//! needs no care for atomicity.

use crate::ops::{blob_id, current_object, drop_object, insert_object_as, key_text, parse_meta, to_i64, Current, R};
use crate::quota::{self, BucketState, Delta};
use crate::sql_err;
use bytes::Bytes;
use coffer_meta::versions::{merge_rows, VersionRead, VersionRow, VersionScan};
use coffer_meta::*;
use coffer_types::{now_millis, Versioning};
use rusqlite::{params, Connection, OptionalExtension};

/// The highest `seq` among the key's versions (current or not), 0 if none.
fn max_seq(c: &Connection, bid: i64, key: &str, cur: Option<&Current>) -> R<i64> {
    let older: Option<i64> = c
        .prepare_cached("SELECT max(seq) FROM object_versions WHERE bucket_id = ?1 AND key = ?2")
        .map_err(sql_err)?
        .query_row(params![bid, key.as_bytes()], |r| r.get(0))
        .map_err(sql_err)?;
    Ok(older.unwrap_or(0).max(cur.map_or(0, |c| c.seq)))
}

/// Moves the current version into `object_versions` with its blobs.
fn demote(c: &Connection, cur: &Current) -> R<()> {
    c.prepare_cached(
        "INSERT INTO object_versions (bucket_id, key, seq, version_id, delete_marker, size, etag, last_modified, meta, inline_data)
         SELECT bucket_id, key, seq, version_id, 0, size, etag, last_modified, meta, inline_data FROM objects WHERE id = ?1",
    )
    .map_err(sql_err)?
    .execute([cur.id])
    .map_err(sql_err)?;
    let row = c.last_insert_rowid();
    c.prepare_cached(
        "INSERT INTO version_segments (version_row, idx, blob_id, size, crc64) SELECT ?2, idx, blob_id, size, crc64 FROM segments WHERE object_id = ?1",
    )
    .map_err(sql_err)?
    .execute(params![cur.id, row])
    .map_err(sql_err)?;
    c.prepare_cached("DELETE FROM objects WHERE id = ?1").map_err(sql_err)?.execute([cur.id]).map_err(sql_err)?;
    Ok(())
}

/// An older version (or delete marker) found by its id.
struct Older {
    row: i64,
    delete_marker: bool,
    size: i64,
    meta: String,
}

fn older_version(c: &Connection, bid: i64, key: &str, id: Option<&str>) -> R<Option<Older>> {
    c.prepare_cached(
        "SELECT id, delete_marker, size, meta FROM object_versions WHERE bucket_id = ?1 AND key = ?2 AND version_id IS ?3",
    )
    .map_err(sql_err)?
    .query_row(params![bid, key.as_bytes(), id], |r| {
        Ok(Older { row: r.get(0)?, delete_marker: r.get(1)?, size: r.get(2)?, meta: r.get(3)? })
    })
    .optional()
    .map_err(sql_err)
}

/// Removes an older version for good, its blobs queued; refused when locked.
fn drop_older(c: &Connection, o: &Older, lock: LockCheck) -> R<Delta> {
    parse_meta(&o.meta)?.lock().may_delete(lock.now, lock.bypass_governance)?;
    crate::ops::queue_gc(c, "SELECT blob_id, ?2 FROM version_segments WHERE version_row = ?1", o.row)?;
    c.prepare_cached("DELETE FROM object_versions WHERE id = ?1")
        .map_err(sql_err)?
        .execute([o.row])
        .map_err(sql_err)?;
    Ok(if o.delete_marker { Delta::default() } else { Delta { bytes: -o.size, objects: -1 } })
}

/// Removes the current version for good, its blobs queued; refused when locked.
fn drop_current(c: &Connection, cur: &Current, lock: LockCheck) -> R<Delta> {
    parse_meta(&cur.meta)?.lock().may_delete(lock.now, lock.bypass_governance)?;
    drop_object(c, cur)?;
    Ok(Delta { bytes: -cur.size, objects: -1 })
}

/// After the current version or the top delete marker went: the newest
/// remaining version becomes current when it is not a delete marker.
fn promote(c: &Connection, bid: i64, key: &str) -> R<()> {
    if current_object(c, bid, key)?.is_some() {
        return Ok(());
    }
    let top: Option<(i64, bool)> = c
        .prepare_cached(
            "SELECT id, delete_marker FROM object_versions WHERE bucket_id = ?1 AND key = ?2 ORDER BY seq DESC LIMIT 1",
        )
        .map_err(sql_err)?
        .query_row(params![bid, key.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql_err)?;
    let Some((row, false)) = top else { return Ok(()) };
    c.prepare_cached(
        "INSERT INTO objects (bucket_id, key, seq, version_id, size, etag, last_modified, meta, inline_data)
         SELECT bucket_id, key, seq, version_id, size, etag, last_modified, meta, inline_data FROM object_versions WHERE id = ?1",
    )
    .map_err(sql_err)?
    .execute([row])
    .map_err(sql_err)?;
    let id = c.last_insert_rowid();
    c.prepare_cached(
        "INSERT INTO segments (object_id, idx, blob_id, size, crc64) SELECT ?2, idx, blob_id, size, crc64 FROM version_segments WHERE version_row = ?1",
    )
    .map_err(sql_err)?
    .execute(params![row, id])
    .map_err(sql_err)?;
    c.prepare_cached("DELETE FROM object_versions WHERE id = ?1").map_err(sql_err)?.execute([row]).map_err(sql_err)?;
    Ok(())
}

fn insert_marker(c: &Connection, bid: i64, key: &str, seq: i64, id: Option<&str>) -> R<()> {
    c.prepare_cached(
        "INSERT INTO object_versions (bucket_id, key, seq, version_id, delete_marker, size, etag, last_modified, meta)
         VALUES (?1, ?2, ?3, ?4, 1, 0, '', ?5, '{}')",
    )
    .map_err(sql_err)?
    .execute(params![bid, key.as_bytes(), seq, id, now_millis()])
    .map_err(sql_err)?;
    Ok(())
}

/// Makes room for a new version of `key` as the bucket's versioning says:
/// enabled, the current version becomes an older one; suspended, the null
/// version goes (unless locked) and any other current one becomes older.
/// Returns the new version's id, its `seq`, and the totals' change so far.
fn make_room(
    c: &Connection,
    b: &BucketState,
    key: &str,
    cur: Option<Current>,
    new_id: Option<&str>,
) -> R<(Option<String>, i64, Delta)> {
    let seq = max_seq(c, b.id, key, cur.as_ref())? + 1;
    let mut d = Delta::default();
    let strict = LockCheck { now: now_millis(), bypass_governance: false };
    let id = match b.versioning {
        Versioning::Enabled => new_id.map(str::to_owned).or_else(|| Some(coffer_types::new_version_id())),
        _ => None,
    };
    match (b.versioning, &cur) {
        (Versioning::Suspended, Some(cur)) if cur.version_id.is_none() => d = drop_current(c, cur, strict)?,
        (_, cur) => {
            if let Some(cur) = cur {
                demote(c, cur)?;
            }
            if b.versioning == Versioning::Suspended {
                if let Some(o) = older_version(c, b.id, key, None)? {
                    d = drop_older(c, &o, strict)?;
                }
            }
        }
    }
    Ok((id, seq, d))
}

/// Writes `o` as the key's new current version in a versioned bucket; the
/// caller checked the bucket's stamp. `extra` is added to the totals' change
/// (a completion's parts leaving).
pub(crate) fn write_version(
    c: &Connection,
    b: &BucketState,
    o: &ObjectRecord,
    cond: &WriteCondition,
    extra: Delta,
) -> R<Written> {
    let cur = current_object(c, b.id, &o.key)?;
    crate::ops::check_condition(cur.as_ref().map(|o| o.etag.as_str()), cond)?;
    let (id, seq, mut d) = make_room(c, b, &o.key, cur, o.version_id.as_deref())?;
    d.bytes += to_i64(o.size) + extra.bytes;
    d.objects += 1 + extra.objects;
    quota::check_quotas(c, b, d)?;
    insert_object_as(c, b.id, o, id.as_deref(), seq)?;
    quota::apply(c, b.id, d)?;
    Ok(Some(id))
}

pub fn set_versioning(c: &Connection, bucket: &str, stamp: Option<&BucketStamp>, change: VersioningChange) -> R<()> {
    let b = quota::stamped_state(c, bucket, stamp)?;
    let (versioning, lock) = match change {
        VersioningChange::Set(Versioning::Unversioned) => {
            return Err(MetaError::InvalidBucketState("versioning can be enabled or suspended, not removed"))
        }
        VersioningChange::Set(Versioning::Suspended) if b.object_lock => {
            return Err(MetaError::InvalidBucketState("versioning cannot be suspended with object lock enabled"))
        }
        VersioningChange::Set(v) => (v, b.object_lock),
        VersioningChange::EnableObjectLock if b.versioning != Versioning::Enabled => {
            return Err(MetaError::InvalidBucketState("object lock needs versioning enabled"))
        }
        VersioningChange::EnableObjectLock => (Versioning::Enabled, true),
    };
    c.prepare_cached("UPDATE buckets SET versioning = ?2, object_lock = ?3 WHERE id = ?1")
        .map_err(sql_err)?
        .execute(params![b.id, versioning.code(), lock])
        .map_err(sql_err)?;
    Ok(())
}

pub fn delete_version(
    c: &Connection,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    key: &str,
    target: &DeleteTarget,
    lock: LockCheck,
) -> R<Deleted> {
    let b = quota::stamped_state(c, bucket, stamp)?;
    let cur = current_object(c, b.id, key)?;
    let (d, out) = match (target, b.versioning) {
        (DeleteTarget::Current { .. }, Versioning::Unversioned)
        | (DeleteTarget::Version(None), Versioning::Unversioned) => {
            let Some(cur) = cur else { return Ok(Deleted::default()) };
            (drop_current(c, &cur, lock)?, Deleted { found: true, ..Default::default() })
        }
        (DeleteTarget::Version(Some(_)), Versioning::Unversioned) => return Ok(Deleted::default()),
        (DeleteTarget::Current { marker }, _) => {
            let (id, seq, d) = make_room(c, &b, key, cur, Some(marker))?;
            insert_marker(c, b.id, key, seq, id.as_deref())?;
            (d, Deleted { found: true, version_id: Some(id), delete_marker: true })
        }
        (DeleteTarget::Version(v), _) => {
            let found = Deleted { found: true, version_id: Some(v.clone()), delete_marker: false };
            match cur.filter(|cur| cur.version_id == *v) {
                Some(cur) => (drop_current(c, &cur, lock)?, found),
                None => match older_version(c, b.id, key, v.as_deref())? {
                    Some(o) => (drop_older(c, &o, lock)?, Deleted { delete_marker: o.delete_marker, ..found }),
                    None => return Ok(Deleted { version_id: Some(v.clone()), ..Default::default() }),
                },
            }
        }
    };
    promote(c, b.id, key)?;
    quota::apply(c, b.id, d)?;
    Ok(out)
}

/// The version `which` names, with its data.
pub fn get_version(c: &Connection, bucket: &str, key: &str, which: &VersionSel) -> R<Option<VersionRecord>> {
    let bid = crate::ops::bucket_id(c, bucket)?;
    let current = crate::ops::get_object(c, bucket, key)?;
    let want = match which {
        VersionSel::Latest => None,
        VersionSel::Id(v) => Some(v),
    };
    if let Some(o) = current.filter(|o| want.is_none_or(|v| o.version_id == *v)) {
        return Ok(Some(VersionRecord { object: o, delete_marker: false, latest: true }));
    }
    let sql = if want.is_some() {
        "SELECT id, seq, version_id, delete_marker, size, etag, last_modified, meta, inline_data FROM object_versions
         WHERE bucket_id = ?1 AND key = ?2 AND version_id IS ?3"
    } else {
        "SELECT id, seq, version_id, delete_marker, size, etag, last_modified, meta, inline_data FROM object_versions
         WHERE bucket_id = ?1 AND key = ?2 AND ?3 IS NULL ORDER BY seq DESC LIMIT 1"
    };
    type Row = (i64, i64, Option<String>, bool, i64, String, i64, String, Option<Vec<u8>>);
    let row: Option<Row> = c
        .prepare_cached(sql)
        .map_err(sql_err)?
        .query_row(params![bid, key.as_bytes(), want.cloned().flatten()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
        })
        .optional()
        .map_err(sql_err)?;
    let Some((row, seq, version_id, delete_marker, size, etag, last_modified, meta, inline)) = row else {
        return Ok(None);
    };
    let latest =
        want.is_none() || (crate::ops::current_object(c, bid, key)?.is_none() && max_seq(c, bid, key, None)? == seq);
    let data = match inline {
        Some(b) => ObjectData::Inline(Bytes::from(b)),
        None => ObjectData::Segments(version_segments(c, row)?),
    };
    let object = ObjectRecord {
        key: key.to_owned(),
        version_id,
        size: size as u64,
        etag,
        last_modified,
        meta: parse_meta(&meta)?,
        data,
    };
    Ok(Some(VersionRecord { object, delete_marker, latest }))
}

fn version_segments(c: &Connection, row: i64) -> R<Vec<Segment>> {
    let mut st = c
        .prepare_cached("SELECT blob_id, size, crc64 FROM version_segments WHERE version_row = ?1 ORDER BY idx")
        .map_err(sql_err)?;
    let rows = st.query_map([row], crate::ops::segment_row).map_err(sql_err)?;
    let mut out = Vec::new();
    for r in rows {
        let (b, size, crc) = r.map_err(sql_err)?;
        out.push(Segment { blob: blob_id(&b)?, size: size as u64, crc64: crc.map(|v| v as u64) });
    }
    Ok(out)
}

/// Changes the headers of the version `which` names, in place.
pub fn edit_version_meta(
    c: &Connection,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    key: &str,
    which: &VersionSel,
    edit: &MetaEdit,
) -> R<()> {
    let b = quota::stamped_state(c, bucket, stamp)?;
    let cur = current_object(c, b.id, key)?;
    let (table, row, meta) = match (which, cur) {
        (VersionSel::Latest, Some(cur)) => ("objects", cur.id, cur.meta),
        (VersionSel::Latest, None) => return Err(MetaError::NoSuchKey),
        (VersionSel::Id(v), Some(cur)) if cur.version_id == *v => ("objects", cur.id, cur.meta),
        (VersionSel::Id(v), _) => match older_version(c, b.id, key, v.as_deref())? {
            Some(o) if o.delete_marker => return Err(MetaError::NoSuchKey),
            Some(o) => ("object_versions", o.row, o.meta),
            None => return Err(MetaError::NoSuchVersion),
        },
    };
    let mut meta = parse_meta(&meta)?;
    edit.apply(&mut meta)?;
    c.prepare_cached(&format!("UPDATE {table} SET meta = ?2 WHERE id = ?1"))
        .map_err(sql_err)?
        .execute(params![row, crate::ops::meta_json(&meta)?])
        .map_err(sql_err)?;
    Ok(())
}

/// A version listing on one read snapshot: per [`VersionScan`] read, one
/// seek on `objects` and one on `object_versions` (by `(bucket_id, key,
/// seq DESC)`), merged.
pub fn list_versions(c: &Connection, bucket: &str, q: &VersionListQuery) -> R<Vec<VersionEntry>> {
    let tx = c.unchecked_transaction().map_err(sql_err)?;
    let bid = crate::ops::bucket_id(&tx, bucket)?;
    let marker_seq = match &q.version_marker {
        None => None,
        // A marker version that is gone resumes at its key (see `VersionScan::new`).
        Some(v) => version_seq(&tx, bid, &q.key_marker, v.as_deref())?,
    };
    let mut scan = VersionScan::new(q, marker_seq);
    while let Some(r) = scan.next_read() {
        let a = range(&tx, "objects", "0", bid, &r)?;
        let b = range(&tx, "object_versions", "delete_marker", bid, &r)?;
        scan.feed(merge_rows(a, b, r.limit));
    }
    tx.finish().map_err(sql_err)?;
    Ok(scan.finish())
}

fn version_seq(c: &Connection, bid: i64, key: &str, id: Option<&str>) -> R<Option<i64>> {
    c.prepare_cached(
        "SELECT seq FROM objects WHERE bucket_id = ?1 AND key = ?2 AND version_id IS ?3
         UNION ALL SELECT seq FROM object_versions WHERE bucket_id = ?1 AND key = ?2 AND version_id IS ?3",
    )
    .map_err(sql_err)?
    .query_row(params![bid, key.as_bytes(), id], |r| r.get(0))
    .optional()
    .map_err(sql_err)
}

fn range(c: &Connection, table: &str, marker: &str, bid: i64, r: &VersionRead) -> R<Vec<VersionRow>> {
    let sql = format!(
        "SELECT key, seq, version_id, {marker}, size, etag, last_modified FROM {table}
         WHERE bucket_id = ?1 AND key >= ?2 AND (key > ?2 OR (CASE WHEN ?3 IS NULL THEN ?4 ELSE seq < ?3 END))
         AND (?5 IS NULL OR key < ?5) ORDER BY key, seq DESC LIMIT ?6"
    );
    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
    let limit = i64::try_from(r.limit).unwrap_or(i64::MAX);
    let rows = st
        .query_map(params![bid, r.key, r.below, r.inclusive, r.upper, limit], |x| {
            Ok((
                x.get::<_, Vec<u8>>(0)?,
                x.get::<_, i64>(1)?,
                x.get::<_, Option<String>>(2)?,
                x.get::<_, bool>(3)?,
                x.get::<_, i64>(4)?,
                x.get::<_, String>(5)?,
                x.get::<_, i64>(6)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (key, seq, version_id, delete_marker, size, etag, last_modified) = row.map_err(sql_err)?;
        out.push(VersionRow {
            key: key_text(key)?,
            seq,
            version_id,
            delete_marker,
            size: size as u64,
            etag,
            last_modified,
        });
    }
    Ok(out)
}
