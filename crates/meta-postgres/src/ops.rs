//! The SQL of each [`coffer_meta::MetaStore`] operation on buckets, objects
//! and bucket configurations, as `async` functions on a connection or
//! transaction, and the helpers the other `*_ops` modules share. Versions
//! are in `version_ops.rs`, the garbage queue in `gc_ops.rs`.
//!
//! Every statement is sent with `query_typed`/`execute_typed` of
//! [`crate::stmt::Db`]: parameter types are given, and the statement is
//! prepared once per connection and reused from its cache.

use crate::quota::{self, lock_bucket, Delta};
use crate::retry::{PipeTx, Stage, Try};
use crate::segments::{object_data, object_data_of};
use crate::stmt::Db;
use coffer_meta::*;
use coffer_types::{now_millis, BlobId};
use tokio_postgres::types::{ToSql, Type};

/// A count or size as PostgreSQL stores it (`bigint`), saturating.
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored count or size; a negative value (never written) reads as 0.
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> MetaError {
    MetaError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn key_text(bytes: Vec<u8>) -> Result<String, MetaError> {
    String::from_utf8(bytes).map_err(|_| MetaError::Corrupt("stored key is not UTF-8".into()))
}

pub(crate) fn meta_json(m: &ObjectMeta) -> Result<String, MetaError> {
    serde_json::to_string(m).map_err(|e| corrupt("object meta", e))
}

pub(crate) fn parse_meta(s: &str) -> Result<ObjectMeta, MetaError> {
    serde_json::from_str(s).map_err(|e| corrupt("object meta", e))
}

pub(crate) fn blob_id(s: &str) -> Result<BlobId, MetaError> {
    BlobId::parse(s).map_err(|_| MetaError::Corrupt(format!("bad blob id {s:?}")))
}

/// `NoSuchBucket` when `stamp` is given and the bucket now under the name
/// is not the one it describes (deleted and made again since).
pub(crate) fn check_stamp(stamp: Option<&BucketStamp>, project: &str, created: i64) -> Result<(), MetaError> {
    match stamp {
        Some(s) if s.project != project || s.created != created => Err(MetaError::NoSuchBucket),
        _ => Ok(()),
    }
}

/// The bucket's id, its row locked with `lock` (`FOR SHARE`, ...) and
/// checked against `stamp`; `NoSuchBucket` if it is missing or another.
async fn locked_bucket_id(c: &impl Db, name: &str, stamp: Option<&BucketStamp>, lock: &str) -> Try<i64> {
    let sql = format!("SELECT id, project, created FROM buckets WHERE name = $1 {lock}");
    let row = c.query_typed_opt(&sql, &[(&name, Type::TEXT)]).await?;
    let r = row.ok_or(MetaError::NoSuchBucket)?;
    check_stamp(stamp, r.get(1), r.get(2))?;
    Ok(r.get(0))
}

/// The bucket's id; `NoSuchBucket` if it is missing.
pub(crate) async fn bucket_id(c: &impl Db, name: &str) -> Try<i64> {
    let row = c.query_typed_opt("SELECT id FROM buckets WHERE name = $1", &[(&name, Type::TEXT)]).await?;
    Ok(row.ok_or(MetaError::NoSuchBucket)?.get(0))
}

/// Queues blobs for collection (a blob already queued keeps its time).
pub(crate) async fn queue_blobs(c: &impl Db, blobs: &[String]) -> Try<()> {
    if blobs.is_empty() {
        return Ok(());
    }
    c.execute_typed(
        "INSERT INTO gc_queue (blob_id, queued) SELECT b, $2 FROM unnest($1::text[]) AS t(b) ON CONFLICT DO NOTHING",
        &[(&blobs, Type::TEXT_ARRAY), (&now_millis(), Type::INT8)],
    )
    .await?;
    Ok(())
}

pub async fn create_bucket(c: &impl Db, b: &BucketRecord) -> Try<()> {
    let n = c
        .execute_typed(
            "INSERT INTO buckets (name, region, project, created, versioning, object_lock)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            &[
                (&b.name, Type::TEXT),
                (&b.region, Type::TEXT),
                (&b.project, Type::TEXT),
                (&b.created, Type::INT8),
                (&versioning_code(b.versioning), Type::INT4),
                (&b.object_lock, Type::BOOL),
            ],
        )
        .await?;
    if n == 0 {
        return Err(MetaError::BucketAlreadyExists.into());
    }
    // After the insert, which waited for a delete of the name in flight: in
    // READ COMMITTED this statement sees the tombstone that delete wrote.
    let held: bool = c
        .query_typed_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM bucket_tombstones
                 WHERE name = $1 AND deleted_at > {DB_NOW_MS} - $2 AND (project <> $3 OR region <> $4))"
            ),
            &[(&b.name, Type::TEXT), (&name_hold_ms(), Type::INT8), (&b.project, Type::TEXT), (&b.region, Type::TEXT)],
        )
        .await?
        .get(0);
    if held {
        return Err(MetaError::Conflict.into());
    }
    Ok(())
}

/// The database's clock in Unix milliseconds (the same for every gateway).
const DB_NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// [`BUCKET_NAME_HOLD`] in milliseconds.
fn name_hold_ms() -> i64 {
    i64::try_from(BUCKET_NAME_HOLD.as_millis()).unwrap_or(i64::MAX)
}

/// A versioning state as stored (`integer`).
pub(crate) fn versioning_code(v: coffer_types::Versioning) -> i32 {
    i32::try_from(v.code()).unwrap_or(i32::MAX)
}

/// The columns [`bucket_row`] reads.
const BUCKET_COLS: &str = "name, region, project, created, versioning, object_lock";

fn bucket_row(r: &tokio_postgres::Row) -> BucketRecord {
    BucketRecord {
        name: r.get(0),
        region: r.get(1),
        project: r.get(2),
        created: r.get(3),
        versioning: quota::versioning_of(r.get(4)),
        object_lock: r.get(5),
    }
}

pub async fn get_bucket(c: &impl Db, name: &str) -> Try<Option<BucketRecord>> {
    let sql = format!("SELECT {BUCKET_COLS} FROM buckets WHERE name = $1");
    let row = c.query_typed_opt(&sql, &[(&name, Type::TEXT)]).await?;
    Ok(row.as_ref().map(bucket_row))
}

/// A page of buckets by name: with a project, a seek on the
/// `(project, name)` index; without, on the unique index of names.
pub async fn list_buckets(c: &impl Db, q: &BucketQuery) -> Try<Vec<BucketRecord>> {
    let Some(NameRange { lower, inclusive, upper }) = q.name_range() else { return Ok(Vec::new()) };
    let sql = format!(
        "SELECT {BUCKET_COLS} FROM buckets WHERE {} AND name {} $2 {} ORDER BY name LIMIT $4",
        if q.project.is_some() { "project = $1" } else { "$1::text IS NULL" },
        if inclusive { ">=" } else { ">" },
        if upper.is_some() { "AND name < $3" } else { "AND $3::text IS NULL" },
    );
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let rows = c
        .query_typed(
            &sql,
            &[(&q.project, Type::TEXT), (&lower, Type::TEXT), (&upper, Type::TEXT), (&limit, Type::INT8)],
        )
        .await?;
    Ok(rows.iter().map(bucket_row).collect())
}

/// Locks the bucket's row (writers of the bucket wait), refuses when objects
/// or other versions remain, queues the parts of its uploads, and deletes it with its uploads,
/// configurations and quota.
pub async fn delete_bucket(c: &impl Db, name: &str) -> Try<()> {
    let row = c.query_typed_opt("SELECT id FROM buckets WHERE name = $1 FOR UPDATE", &[(&name, Type::TEXT)]).await?;
    let id: i64 = row.ok_or(MetaError::NoSuchBucket)?.get(0);
    let has_objects: bool = c
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket_id = $1)
                 OR EXISTS (SELECT 1 FROM object_versions WHERE bucket_id = $1)",
            &[(&id, Type::INT8)],
        )
        .await?
        .get(0);
    if has_objects {
        return Err(MetaError::BucketNotEmpty.into());
    }
    let parts: Vec<String> = c
        .query_typed(
            "SELECT p.blob_id FROM parts p JOIN uploads u ON p.upload_row = u.id WHERE u.bucket_id = $1",
            &[(&id, Type::INT8)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    queue_blobs(c, &parts).await?;
    c.execute_typed(
        &format!(
            "INSERT INTO bucket_tombstones (name, project, region, deleted_at)
             SELECT name, project, region, {DB_NOW_MS} FROM buckets WHERE id = $1
             ON CONFLICT (name) DO UPDATE SET project = excluded.project, region = excluded.region,
                 deleted_at = excluded.deleted_at"
        ),
        &[(&id, Type::INT8)],
    )
    .await?;
    c.execute_typed(
        &format!("DELETE FROM bucket_tombstones WHERE deleted_at <= {DB_NOW_MS} - $1"),
        &[(&name_hold_ms(), Type::INT8)],
    )
    .await?;
    c.execute_typed("DELETE FROM uploads WHERE bucket_id = $1", &[(&id, Type::INT8)]).await?;
    c.execute_typed("DELETE FROM buckets WHERE id = $1", &[(&id, Type::INT8)]).await?;
    quota::drop_bucket_quota(c, name).await
}

pub async fn get_object(c: &impl Db, bucket: &str, key: &str) -> Try<Option<ObjectRecord>> {
    // One round trip: no row when there is no bucket; one row with no
    // object when there is no object; else a row per segment in order (one
    // row for an inline object). Joins, not aggregate subqueries: measured
    // under the 4 KiB GET benchmark, starting the executor for two
    // `array_agg` subplans cost PostgreSQL more than running the query.
    let rows = c
        .query_typed(
            "SELECT o.id, o.size, o.etag, o.last_modified, o.meta, o.inline_data, o.version_id,
                    s.blob_id, s.size, s.crc64
             FROM buckets b LEFT JOIN objects o ON o.bucket_id = b.id AND o.key = $2
                  LEFT JOIN segments s ON s.object_id = o.id AND o.inline_data IS NULL
             WHERE b.name = $1 ORDER BY s.idx",
            &[(&bucket, Type::TEXT), (&key.as_bytes(), Type::BYTEA)],
        )
        .await?;
    let row = rows.first().ok_or(MetaError::NoSuchBucket)?;
    let Some(_id) = row.get::<_, Option<i64>>(0) else { return Ok(None) };
    let inline: Option<Vec<u8>> = row.get(5);
    let data = object_data_of(&rows, inline, 7)?;
    let meta: String = row.get(4);
    Ok(Some(ObjectRecord {
        key: key.to_owned(),
        version_id: row.get(6),
        size: to_u64(row.get(1)),
        etag: row.get(2),
        last_modified: row.get(3),
        meta: parse_meta(&meta)?,
        data,
    }))
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

/// The object columns a [`Current`] is read from ([`Current::read`]).
pub(crate) const CURRENT_COLS: &str = "o.id, o.etag, o.size, o.version_id, o.seq, o.meta";

impl Current {
    /// From [`CURRENT_COLS`] starting at column `at` of `r`.
    pub(crate) fn read(r: &tokio_postgres::Row, at: usize) -> Current {
        Current {
            id: r.get(at),
            etag: r.get(at + 1),
            size: r.get(at + 2),
            version_id: r.get(at + 3),
            seq: r.get(at + 4),
            meta: r.get(at + 5),
        }
    }
}

/// The current object; the caller holds the bucket's row lock `FOR UPDATE`
/// (serialising path), so it cannot change before the transaction ends.
pub(crate) async fn current_object(c: &impl Db, bid: i64, key: &str) -> Try<Option<Current>> {
    let row = c
        .query_typed_opt(
            &format!("SELECT {CURRENT_COLS} FROM objects o WHERE o.bucket_id = $1 AND o.key = $2"),
            &[(&bid, Type::INT8), (&key.as_bytes(), Type::BYTEA)],
        )
        .await?;
    Ok(row.map(|r| Current::read(&r, 0)))
}

/// Removes an object row, queueing its blobs, in one statement.
pub(crate) async fn drop_object(c: &impl Db, old: &Current) -> Try<()> {
    c.execute_typed(
        "WITH gone AS (DELETE FROM objects WHERE id = $1 RETURNING id)
         INSERT INTO gc_queue (blob_id, queued)
             SELECT s.blob_id, $2 FROM segments s WHERE s.object_id = $1 AND EXISTS (SELECT 1 FROM gone)
         ON CONFLICT DO NOTHING",
        &[(&old.id, Type::INT8), (&now_millis(), Type::INT8)],
    )
    .await?;
    Ok(())
}

/// How the totals change when an object of `size` replaces `old`.
pub(crate) fn object_delta(size: u64, old: Option<&Current>) -> Delta {
    match old {
        None => Delta { bytes: to_i64(size), objects: 1 },
        Some(o) => Delta { bytes: to_i64(size) - o.size, objects: 0 },
    }
}

/// Changes the stored headers of the current object of an unversioned
/// bucket as it is now (`which`: the latest version or the null one, there
/// the same). The bucket's row is locked `FOR KEY SHARE` (it cannot be
/// deleted meanwhile) and the object's row `FOR UPDATE` ([`lock_object`]),
/// so no overwrite commits between the read and the write back: one that
/// committed first keeps its own headers and gets the change. In a
/// versioned bucket nothing is written and the answer is [`Fast::Bounded`]:
/// the caller runs `version_ops::edit_version_meta`, which serialises.
pub async fn edit_object_meta(
    c: &impl Db,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    key: &str,
    which: &VersionSel,
    edit: &MetaEdit,
) -> Try<Fast<()>> {
    for _ in 0..RACE_TRIES {
        let (b, o) = tokio::join!(lock_bucket_shared(c, bucket), lock_object(c, bucket, key, "o.id, o.meta"),);
        let b = b?.ok_or(MetaError::NoSuchBucket)?;
        check_stamp(stamp, b.get(1), b.get(2))?;
        let (found, bounds) = o?;
        if bounds.versioned {
            return Ok(Fast::Bounded);
        }
        let (id, meta): (i64, String) = match found {
            Locked::Row(r) => (r.get(LOCKED_COLS), r.get(LOCKED_COLS + 1)),
            Locked::None if *which == VersionSel::Latest => return Err(MetaError::NoSuchKey.into()),
            Locked::None => return Err(MetaError::NoSuchVersion.into()),
            Locked::Replaced => continue,
        };
        let mut meta = parse_meta(&meta)?;
        edit.apply(&mut meta)?;
        c.execute_typed(
            "UPDATE objects SET meta = $2 WHERE id = $1",
            &[(&id, Type::INT8), (&meta_json(&meta)?, Type::TEXT)],
        )
        .await?;
        return Ok(Fast::Done(()));
    }
    Err(raced())
}

/// How often a write looks again for an object row that was replaced while
/// it waited for it, before giving up (`Unavailable`, retried by the client).
pub(crate) const RACE_TRIES: usize = 20;

/// What a write answers when it lost [`RACE_TRIES`] races in a row.
pub(crate) fn raced_error() -> MetaError {
    MetaError::Unavailable("the object kept changing under this write; retry".into())
}

fn raced() -> crate::retry::Fail {
    raced_error().into()
}

/// Locks a bucket's row `FOR KEY SHARE`: an unbounded writer's lock (see
/// `quota.rs`). It conflicts only with `FOR UPDATE` (deleting the bucket,
/// setting a quota, serialising writers), not with other writers.
/// Returns (id, project, created), or `None` when there is no such bucket.
pub(crate) async fn lock_bucket_shared(c: &impl Db, bucket: &str) -> Try<Option<tokio_postgres::Row>> {
    Ok(c.query_typed_opt(
        "SELECT id, project, created FROM buckets WHERE name = $1 FOR KEY SHARE",
        &[(&bucket, Type::TEXT)],
    )
    .await?)
}

/// What [`lock_object`] found.
pub(crate) enum Locked {
    /// The object's row, locked `FOR UPDATE`: the caller's columns start at
    /// [`LOCKED_COLS`].
    Row(tokio_postgres::Row),
    /// No object under the key (as of the statement's start).
    None,
    /// The row the statement saw was deleted (replaced) by a writer it
    /// waited for: look again with a new statement.
    Replaced,
}

/// Where the caller's columns start in a [`Locked::Row`].
pub(crate) const LOCKED_COLS: usize = 4;

/// What sends a bucket's writes down the serialising path (`quota.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// A quota of the bucket or of its project bounds it.
    pub quota: bool,
    /// Its versioning is enabled or suspended.
    pub versioned: bool,
}

impl Bounds {
    /// Whether a write that may grow a total must serialise.
    pub(crate) fn any(self) -> bool {
        self.quota || self.versioned
    }
}

/// Locks the object row under (bucket, key) `FOR UPDATE` and tells what
/// bounds the bucket ([`Bounds`]), in one statement; `cols` are expressions
/// over the object row `o`. Sent after the bucket lock on the same
/// connection (pipelined), it starts once that lock is held, so a quota or
/// versioning set before then is seen (and neither can be set before this
/// transaction ends: both lock the bucket's row `FOR UPDATE`).
pub(crate) async fn lock_object(c: &impl Db, bucket: &str, key: &str, cols: &str) -> Try<(Locked, Bounds)> {
    let sql = format!(
        "WITH bid AS MATERIALIZED (SELECT id, name, project, versioning FROM buckets WHERE name = $1),
              seen AS MATERIALIZED (SELECT o.id FROM objects o, bid WHERE o.bucket_id = bid.id AND o.key = $2),
              o AS MATERIALIZED (SELECT o.* FROM objects o, bid WHERE o.bucket_id = bid.id AND o.key = $2 FOR UPDATE OF o)
         SELECT EXISTS (SELECT 1 FROM quotas q, bid WHERE q.scope_kind = 'bucket' AND q.scope_name = bid.name)
                OR EXISTS (SELECT 1 FROM quotas q, bid WHERE q.scope_kind = 'project' AND q.scope_name = bid.project),
                EXISTS (SELECT 1 FROM bid WHERE bid.versioning <> 0),
                EXISTS (SELECT 1 FROM seen), o.id IS NOT NULL, {cols}
         FROM (SELECT 1) one LEFT JOIN o ON true"
    );
    let r = c.query_typed_one(&sql, &[(&bucket, Type::TEXT), (&key.as_bytes(), Type::BYTEA)]).await?;
    let bounds = Bounds { quota: r.get(0), versioned: r.get(1) };
    let (seen, locked): (bool, bool) = (r.get(2), r.get(3));
    let found = match (seen, locked) {
        (_, true) => Locked::Row(r),
        (false, false) => Locked::None,
        (true, false) => Locked::Replaced,
    };
    Ok((found, bounds))
}

pub(crate) fn check_condition(current: Option<&str>, cond: &WriteCondition) -> Result<(), MetaError> {
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

/// Inserts the object row and its segments as the null version of an
/// unversioned bucket.
pub(crate) async fn insert_object(c: &impl Db, bid: i64, o: &ObjectRecord) -> Try<()> {
    insert_object_as(c, bid, o, None, 0).await
}

/// Inserts the object row, as the current version with id `version_id` at
/// `seq`, and its segments (one statement).
pub(crate) async fn insert_object_as(
    c: &impl Db,
    bid: i64,
    o: &ObjectRecord,
    version_id: Option<&str>,
    seq: i64,
) -> Try<()> {
    let (inline, segs) = object_data(o);
    c.execute_typed(
        "WITH obj AS (
             INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta, inline_data, version_id, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $10, $11) RETURNING id)
         INSERT INTO segments (object_id, idx, blob_id, size, crc64)
             SELECT obj.id, (t.n - 1)::int, t.b, t.s, t.c
             FROM obj, unnest($8::text[], $9::int8[], $12::int8[]) WITH ORDINALITY AS t(b, s, c, n)",
        &[
            (&bid, Type::INT8),
            (&o.key.as_bytes(), Type::BYTEA),
            (&to_i64(o.size), Type::INT8),
            (&o.etag, Type::TEXT),
            (&o.last_modified, Type::INT8),
            (&meta_json(&o.meta)?, Type::TEXT),
            (&inline, Type::BYTEA),
            (&segs.blobs, Type::TEXT_ARRAY),
            (&segs.sizes, Type::INT8_ARRAY),
            (&version_id, Type::TEXT),
            (&seq, Type::INT8),
            (&segs.crcs, Type::INT8_ARRAY),
        ],
    )
    .await?;
    Ok(())
}

/// How one try of an unbounded write ended.
#[derive(Debug)]
pub(crate) enum Fast<T> {
    Done(T),
    /// A quota bounds the bucket, or it is versioned: the caller runs the
    /// serialising version (this try wrote nothing).
    Bounded,
    /// The row it saw was replaced by a writer it waited for, or another
    /// writer created the key first: nothing was written; try again.
    Raced,
}

/// The statement of an unbounded write that replaces or creates an object:
/// drops the old row (`$10`, may be NULL) queueing its blobs, inserts the
/// new row and its segments (`$8`, `$9`, `$14`) unless another writer
/// created the key since this one looked (`ON CONFLICT DO NOTHING`: the
/// unique index settles who created it), and adds the delta (`$12`,
/// `$13`) to this connection's totals shard. Returns how many rows it
/// inserted (0: lost the race). The insert reads `gone` to its end first,
/// so the old row is deleted before the new one is checked against the
/// index.
fn replace_sql() -> String {
    format!(
        "WITH gone AS (DELETE FROM objects WHERE id = $10 RETURNING id),
              queued AS (INSERT INTO gc_queue (blob_id, queued)
                  SELECT s.blob_id, $11 FROM segments s JOIN gone ON s.object_id = gone.id ON CONFLICT DO NOTHING),
              obj AS (INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta, inline_data)
                  SELECT $1, $2, $3, $4, $5, $6, $7 FROM (SELECT count(*) FROM gone) g
                  ON CONFLICT (bucket_id, key) DO NOTHING RETURNING id),
              seg AS (INSERT INTO segments (object_id, idx, blob_id, size, crc64)
                  SELECT obj.id, (t.n - 1)::int, t.b, t.s, t.c
                  FROM obj, unnest($8::text[], $9::int8[], $14::int8[]) WITH ORDINALITY AS t(b, s, c, n)),
              tot AS (INSERT INTO bucket_totals (bucket_id, shard, bytes, objects)
                  SELECT $1, {shard}, $12, $13 FROM obj WHERE $12 <> 0 OR $13 <> 0
                  ON CONFLICT (bucket_id, shard) DO UPDATE
                  SET bytes = bucket_totals.bytes + excluded.bytes, objects = bucket_totals.objects + excluded.objects)
         SELECT count(*) FROM obj",
        shard = quota::SHARD_OF_CONNECTION
    )
}

/// One try of a PUT (or copy) without the bucket's row lock, for a bucket
/// no quota bounds and that is not versioned. Two round trips: `BEGIN`, the bucket lock (`FOR KEY
/// SHARE`) and [`lock_object`] pipelined; then [`replace_sql`] and `COMMIT`
/// pipelined. A key with no row that another writer creates meanwhile
/// makes the insert find the conflict ([`Fast::Raced`]): the next try sees,
/// and locks, that row, so of racing `If-None-Match: *` writers exactly one
/// wins.
pub(crate) async fn put_object_fast(
    pool: &deadpool_postgres::Pool,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    o: &ObjectRecord,
    cond: &WriteCondition,
    stage: &mut Stage,
) -> Try<Fast<()>> {
    let sql = replace_sql();
    let tx = PipeTx::new(pool.get().await?);
    let c = tx.client();
    let (begin, b, found) = tokio::join!(
        c.batch_execute("BEGIN"),
        lock_bucket_shared(c, bucket),
        lock_object(c, bucket, &o.key, CURRENT_COLS),
    );
    begin?;
    let b = b?.ok_or(MetaError::NoSuchBucket)?;
    check_stamp(stamp, b.get(1), b.get(2))?;
    let bid: i64 = b.get(0);
    let (found, bounds) = found?;
    if bounds.any() {
        return Ok(Fast::Bounded);
    }
    let old = match found {
        Locked::Row(r) => Some(Current::read(&r, LOCKED_COLS)),
        Locked::None => None,
        Locked::Replaced => return Ok(Fast::Raced),
    };
    check_condition(old.as_ref().map(|o| o.etag.as_str()), cond)?;
    let d = object_delta(o.size, old.as_ref());
    let (inline, segs) = object_data(o);
    let (key, size, meta, old_id, now) =
        (o.key.as_bytes(), to_i64(o.size), meta_json(&o.meta)?, old.as_ref().map(|o| o.id), now_millis());
    let params: [(&(dyn ToSql + Sync), Type); 14] = [
        (&bid, Type::INT8),
        (&key, Type::BYTEA),
        (&size, Type::INT8),
        (&o.etag, Type::TEXT),
        (&o.last_modified, Type::INT8),
        (&meta, Type::TEXT),
        (&inline, Type::BYTEA),
        (&segs.blobs, Type::TEXT_ARRAY),
        (&segs.sizes, Type::INT8_ARRAY),
        (&old_id, Type::INT8),
        (&now, Type::INT8),
        (&d.bytes, Type::INT8),
        (&d.objects, Type::INT8),
        (&segs.crcs, Type::INT8_ARRAY),
    ];
    *stage = Stage::Commit;
    let (w, commit) = tokio::join!(c.query_typed_one(&sql, &params), c.batch_execute("COMMIT"));
    tx.sent_commit();
    let inserted: i64 = w?.get(0);
    commit?;
    Ok(if inserted == 1 { Fast::Done(()) } else { Fast::Raced })
}

/// PUT under a quota or in a versioned bucket: the serialising path (see
/// `quota.rs`); a versioned write is `version_ops::write_version`'s.
pub async fn put_object(
    c: &impl Db,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    o: &ObjectRecord,
    cond: &WriteCondition,
) -> Try<Written> {
    let b = lock_bucket(c, bucket).await?;
    check_stamp(stamp, &b.project, b.created)?;
    if b.versioning.is_versioned() {
        return crate::version_ops::write_version(c, &b, o, cond, Delta::default()).await;
    }
    let old = current_object(c, b.id, &o.key).await?;
    check_condition(old.as_ref().map(|o| o.etag.as_str()), cond)?;
    let d = object_delta(o.size, old.as_ref());
    quota::check_quotas(c, &b, d).await?;
    if let Some(old) = &old {
        drop_object(c, old).await?;
    }
    insert_object(c, b.id, o).await?;
    quota::apply(c, b.id, d).await?;
    Ok(None)
}

/// Whether stored headers (`o.meta`) name no lock, as SQL: no retention
/// and no legal hold. Conservative: the words anywhere (a user's header
/// named so) count too, which only sends the delete down the serialising
/// path, where the headers are parsed and the lock checked.
const UNLOCKED: &str = "position('\"retention\"' IN o.meta) = 0 AND position('\"legal_hold\"' IN o.meta) = 0";

/// One try of a delete of the object under `key` in an unversioned
/// bucket, without the bucket's row lock (a delete never grows a total, so
/// no quota is checked): one statement, in its own implicit transaction,
/// that locks the bucket's row `FOR KEY SHARE`, deletes the object's row,
/// queues its blobs and subtracts it from this connection's totals shard.
///
/// It writes nothing, and answers [`Fast::Bounded`] (the caller then runs
/// `version_ops::delete_version`, which serialises), when the bucket is
/// versioned (a delete there makes a marker or moves versions) or when the
/// object's headers name a lock (checked in Rust, at the caller's time).
/// Whether the bucket is versioned is read from the statement's snapshot,
/// so, as in `put_batch.rs`, a bucket row locked here that is not the
/// snapshot's (`xmin` differs: `set_versioning` or `set_quota` committed
/// while this waited) makes the try [`Fast::Raced`], nothing written.
pub(crate) async fn delete_object_fast(
    pool: &deadpool_postgres::Pool,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    key: &str,
    stage: &mut Stage,
) -> Try<Fast<bool>> {
    let sql = format!(
        "WITH seen_b AS MATERIALIZED (SELECT xmin AS x FROM buckets WHERE name = $1),
              bid AS MATERIALIZED (SELECT id, project, created, versioning, xmin AS x FROM buckets
                  WHERE name = $1 FOR KEY SHARE),
              stamped AS MATERIALIZED (SELECT bid.* FROM bid
                  WHERE $4::text IS NULL OR (bid.project = $4 AND bid.created = $5)),
              ok AS MATERIALIZED (SELECT s.id FROM stamped s, seen_b WHERE s.x = seen_b.x AND s.versioning = 0),
              seen AS MATERIALIZED (SELECT o.id, {UNLOCKED} AS unlocked FROM objects o, ok
                  WHERE o.bucket_id = ok.id AND o.key = $2),
              gone AS (DELETE FROM objects o USING ok WHERE o.bucket_id = ok.id AND o.key = $2 AND {UNLOCKED}
                       RETURNING o.id, o.size, o.bucket_id),
              queued AS (INSERT INTO gc_queue (blob_id, queued)
                  SELECT s.blob_id, $3 FROM segments s JOIN gone ON s.object_id = gone.id ON CONFLICT DO NOTHING),
              tot AS (INSERT INTO bucket_totals (bucket_id, shard, bytes, objects)
                  SELECT gone.bucket_id, {shard}, -gone.size, -1 FROM gone
                  ON CONFLICT (bucket_id, shard) DO UPDATE
                  SET bytes = bucket_totals.bytes + excluded.bytes, objects = bucket_totals.objects + excluded.objects)
         SELECT EXISTS (SELECT 1 FROM bid), EXISTS (SELECT 1 FROM stamped),
                EXISTS (SELECT 1 FROM stamped s, seen_b WHERE s.x = seen_b.x),
                EXISTS (SELECT 1 FROM stamped WHERE versioning <> 0),
                EXISTS (SELECT 1 FROM seen), EXISTS (SELECT 1 FROM seen WHERE NOT unlocked),
                (SELECT count(*) FROM gone)",
        shard = quota::SHARD_OF_CONNECTION
    );
    let (key, now) = (key.as_bytes(), now_millis());
    let (sp, sc) = (stamp.map(|s| s.project.as_str()), stamp.map(|s| s.created));
    let params: [(&(dyn ToSql + Sync), Type); 5] =
        [(&bucket, Type::TEXT), (&key, Type::BYTEA), (&now, Type::INT8), (&sp, Type::TEXT), (&sc, Type::INT8)];
    let c = pool.get().await?;
    // One statement, its own transaction: sending it is committing it.
    *stage = Stage::Commit;
    let r = c.query_typed_one(&sql, &params).await?;
    let (exists, stamped, fresh, versioned): (bool, bool, bool, bool) = (r.get(0), r.get(1), r.get(2), r.get(3));
    let (seen, locked, deleted): (bool, bool, i64) = (r.get(4), r.get(5), r.get(6));
    if !exists || !stamped {
        return Err(MetaError::NoSuchBucket.into());
    }
    Ok(if !fresh {
        Fast::Raced
    } else if versioned || locked {
        Fast::Bounded
    } else if deleted == 1 {
        Fast::Done(true)
    } else if !seen {
        Fast::Done(false)
    } else {
        // The row it saw was replaced by a writer it waited for.
        Fast::Raced
    })
}

/// Sets or removes a configuration document; with `if_current`, only if
/// the stored one is still that (`Some(None)`: none). The bucket's row is
/// locked `FOR NO KEY UPDATE`, so two conditional edits take turns (object
/// writers holding it `FOR KEY SHARE` do not wait; serialising writers,
/// holding it `FOR UPDATE`, do).
pub async fn set_bucket_config(
    c: &impl Db,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    name: &str,
    if_current: Option<Option<&str>>,
    value: Option<&str>,
) -> Try<()> {
    let bid = locked_bucket_id(c, bucket, stamp, "FOR NO KEY UPDATE").await?;
    if let Some(want) = if_current {
        let stored = c
            .query_typed_opt(
                "SELECT value FROM bucket_configs WHERE bucket_id = $1 AND name = $2",
                &[(&bid, Type::INT8), (&name, Type::TEXT)],
            )
            .await?
            .map(|r| r.get::<_, String>(0));
        if stored.as_deref() != want {
            return Err(MetaError::PreconditionFailed.into());
        }
    }
    match value {
        Some(v) => {
            c.execute_typed(
                "INSERT INTO bucket_configs (bucket_id, name, value) VALUES ($1, $2, $3)
                 ON CONFLICT (bucket_id, name) DO UPDATE SET value = excluded.value",
                &[(&bid, Type::INT8), (&name, Type::TEXT), (&v, Type::TEXT)],
            )
            .await?
        }
        None => {
            c.execute_typed(
                "DELETE FROM bucket_configs WHERE bucket_id = $1 AND name = $2",
                &[(&bid, Type::INT8), (&name, Type::TEXT)],
            )
            .await?
        }
    };
    Ok(())
}

pub async fn get_bucket_config(c: &impl Db, bucket: &str, name: &str) -> Try<Option<String>> {
    let row = c
        .query_typed_opt(
            "SELECT b.id, c.value FROM buckets b LEFT JOIN bucket_configs c ON c.bucket_id = b.id AND c.name = $2
             WHERE b.name = $1",
            &[(&bucket, Type::TEXT), (&name, Type::TEXT)],
        )
        .await?;
    Ok(row.ok_or(MetaError::NoSuchBucket)?.get(1))
}
