//! Unconditional PUTs (and copies) without quota, written **several per
//! statement**: the PUTs that wait together are sent as one statement
//! (group commit), so PostgreSQL starts one executor, handles one round of
//! messages and flushes one commit for all of them.
//!
//! Measured under the 4 KiB PUT benchmark, PostgreSQL's CPU went mostly to
//! what surrounds a statement (binding it, starting its executor, the
//! messages, the commit) rather than to the rows it writes: a PUT in five
//! statements (`BEGIN`, bucket lock, object lock; the write, `COMMIT`) did
//! 1,470 a second, in one statement 1,900, several per statement 2,700.
//!
//! **Who sends.** A PUT queues its row and then either waits for its answer
//! or, when one of [`SLOTS`] is free, takes the queued rows (at most
//! [`MAX_ROWS`], one per object key) and sends them itself, in a task of
//! their own so that a caller who gives up does not cancel the others'
//! write. A PUT alone waits for nothing: it takes its own row at once.
//!
//! **What one row gets**, decided per row inside the statement: written;
//! already written by an earlier run of this statement (its blobs are
//! stored); no bucket; a stamp of another bucket; bounded by a quota or
//! versioned (a versioned bucket's writes all serialise, see `quota.rs`:
//! this statement never writes there); or raced (nothing of that row written; the caller then sends it alone,
//! [`put_alone`], until it is not). Rows of one statement do not wait for
//! one another's verdicts.
//!
//! What the statement must still guarantee, and how:
//! - **The quota and the versioning are read after the bucket's lock is
//!   held.** A statement reads with the snapshot it started with, even
//!   after waiting for a lock, so it could miss a quota, or versioning,
//!   committed while it waited. `set_quota` and `set_versioning` therefore
//!   rewrite the bucket rows they change (under their `FOR UPDATE` lock,
//!   see `quota.rs`): a row version locked here that is not the one of the
//!   statement's snapshot (`xmin` differs) means something committed on
//!   the bucket meanwhile, and the row is raced, nothing of it written;
//!   the next try's snapshot sees it.
//! - **The old row is the one replaced.** As in `ops::lock_object`, an
//!   object row that was deleted by a writer this one waited for is
//!   noticed (seen in the snapshot, not lockable) and the row is raced.
//! - **Racing creators of one key**: the unique index settles them
//!   (`ON CONFLICT DO NOTHING`: no row inserted, nothing else written,
//!   raced; the next try sees and locks the winner's row).
//! - **A stamp that no longer matches** (the bucket was deleted and made
//!   again since the request was authorized) writes nothing.
//!
//! **Tried again.** The statement is its own commit, so a connection lost
//! while it runs leaves its outcome unknown. It is retried anyway (as
//! `Stage::Work`), because a second run of the same PUT is harmless:
//! - with blobs, it finds them already stored (in the current object's
//!   segments; in an older version's, when versioning was enabled since
//!   and a later write kept the first run's object as a version; or
//!   queued for collection because a later write replaced them) and
//!   answers `Done` without writing. Blob ids are random and
//!   new for every PUT (the engine writes every object's bytes to new
//!   blobs; a copy writes them again), so only an earlier run of this one
//!   can have stored them. Without this check, the second run would replace the first one's
//!   row and queue the blobs that the new row names: the object would lose
//!   its data after the grace period;
//! - inline, it writes the same row again (totals unchanged) or, if another
//!   writer replaced the first run's row meanwhile, replaces theirs: a PUT
//!   concurrent with theirs, so last-writer-wins either way.
//!
//! **No deadlock between statements.** Bucket rows are locked in name
//! order, object rows in (bucket, key) order, and new rows are inserted in
//! (bucket, key) order, after every lock is held and before any row is
//! deleted; so a statement only ever waits for one that is ahead of it in
//! the same order. (PostgreSQL's deadlock detector, and the retry of a
//! rolled-back statement, remain behind this.)

use crate::ops::{meta_json, to_i64};
use crate::quota;
use crate::retry::{pipelined, Stage, Try};
use crate::segments::SegArrays;
use crate::stmt::Db;
use coffer_meta::*;
use coffer_types::now_millis;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, Semaphore};
use tokio_postgres::types::{ToSql, Type};

/// Statements of batched PUTs in flight at once, per store handle.
/// Two: measured under the 4 KiB PUT benchmark (16 clients, one
/// gateway), two slots made larger batches and more PUTs per second than
/// four (2,400–2,870 against 2,300–2,400).
pub(crate) const SLOTS: usize = 2;
/// Rows per statement at most.
pub(crate) const MAX_ROWS: usize = 32;

/// What one row of a batch came to.
#[derive(Debug)]
pub(crate) enum Verdict {
    Done,
    NoBucket,
    /// The bucket is bounded by a quota, or versioned: nothing written.
    Bounded,
    /// Nothing of this row was written (it raced, or the statement failed):
    /// the caller writes it on its own.
    Again,
}

/// One PUT of a batch.
struct Row {
    bucket: String,
    stamp: Option<BucketStamp>,
    object: ObjectRecord,
}

struct Job {
    row: Row,
    reply: oneshot::Sender<Verdict>,
}

/// The queue of PUTs waiting to be sent, and the send slots.
pub(crate) struct PutBatcher {
    queue: Mutex<Vec<Job>>,
    slots: Arc<Semaphore>,
    /// (statements sent, rows in them): for tests.
    sent: Arc<(AtomicU64, AtomicU64)>,
}

impl PutBatcher {
    pub(crate) fn new() -> Self {
        PutBatcher { queue: Mutex::new(Vec::new()), slots: Arc::new(Semaphore::new(SLOTS)), sent: Default::default() }
    }

    /// (statements sent, rows in them) so far.
    pub(crate) fn sent(&self) -> (u64, u64) {
        (self.sent.0.load(Ordering::Relaxed), self.sent.1.load(Ordering::Relaxed))
    }

    /// Writes one PUT with whatever others are waiting (see the module docs).
    pub(crate) async fn put(
        &self,
        pool: &deadpool_postgres::Pool,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        object: &ObjectRecord,
    ) -> Verdict {
        let (tx, mut rx) = oneshot::channel();
        let row = Row { bucket: bucket.to_owned(), stamp: stamp.cloned(), object: object.clone() };
        let job = Job { row, reply: tx };
        self.lock().push(job);
        loop {
            tokio::select! {
                biased;
                r = &mut rx => return r.unwrap_or(Verdict::Again),
                permit = self.slots.clone().acquire_owned() => {
                    let Ok(permit) = permit else { return Verdict::Again };
                    let batch = self.take();
                    if batch.is_empty() {
                        // Another sender took this PUT's row.
                        drop(permit);
                        return rx.await.unwrap_or(Verdict::Again);
                    }
                    let pool = pool.clone();
                    self.sent.0.fetch_add(1, Ordering::Relaxed);
                    self.sent.1.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    tokio::spawn(async move {
                        let _slot = permit;
                        send(&pool, batch).await;
                    });
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Up to [`MAX_ROWS`] queued jobs, one per (bucket, key), oldest first.
    fn take(&self) -> Vec<Job> {
        let mut q = self.lock();
        let mut seen = HashSet::new();
        let mut batch = Vec::new();
        let mut rest = Vec::new();
        for job in q.drain(..) {
            if batch.len() < MAX_ROWS && seen.insert((job.row.bucket.clone(), job.row.object.key.clone())) {
                batch.push(job);
            } else {
                rest.push(job);
            }
        }
        *q = rest;
        batch
    }
}

/// Sends one batch and answers every row (`Again` for all if the
/// statement failed after its retries).
async fn send(pool: &deadpool_postgres::Pool, mut batch: Vec<Job>) {
    batch.sort_by(|a, b| (&a.row.bucket, &a.row.object.key).cmp(&(&b.row.bucket, &b.row.object.key)));
    let (rows, replies): (Vec<Row>, Vec<_>) = batch.into_iter().map(|j| (j.row, j.reply)).unzip();
    let verdicts = match pipelined!(|stage| run(pool, &rows, stage)) {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(error = %e, rows = rows.len(), "a batch of PUTs failed; each is tried on its own");
            Vec::new()
        }
    };
    let mut verdicts = verdicts.into_iter();
    for reply in replies {
        let _ = reply.send(verdicts.next().unwrap_or(Verdict::Again));
    }
}

/// One PUT sent alone (a batch of one), with the statement's retries:
/// what a row that raced in a batch, or failed with it, is written by.
pub(crate) async fn put_alone(
    pool: &deadpool_postgres::Pool,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    object: &ObjectRecord,
) -> Result<Verdict, MetaError> {
    let row = [Row { bucket: bucket.to_owned(), stamp: stamp.cloned(), object: object.clone() }];
    let mut verdicts = pipelined!(|stage| run(pool, &row, stage))?;
    Ok(verdicts.pop().unwrap_or(Verdict::Again))
}

/// The rows as arrays, in the batch's order (`n` = 1, 2, ...); segments
/// (blob, size, CRC-64/NVME) flattened with the number of their row.
/// Borrowed from the rows: an inline object's bytes are not copied on
/// their way to the statement.
#[derive(Default)]
struct Arrays<'a> {
    buckets: Vec<&'a str>,
    keys: Vec<&'a [u8]>,
    sizes: Vec<i64>,
    etags: Vec<&'a str>,
    modified: Vec<i64>,
    metas: Vec<String>,
    inline: Vec<Option<&'a [u8]>>,
    stamp_projects: Vec<Option<&'a str>>,
    stamp_created: Vec<Option<i64>>,
    segs: SegArrays<'a>,
    seg_rows: Vec<i32>,
}

fn arrays(batch: &[Row]) -> Try<Arrays<'_>> {
    let mut a = Arrays::default();
    for (i, j) in batch.iter().enumerate() {
        let o = &j.object;
        a.buckets.push(&j.bucket);
        a.keys.push(o.key.as_bytes());
        a.sizes.push(to_i64(o.size));
        a.etags.push(&o.etag);
        a.modified.push(o.last_modified);
        a.metas.push(meta_json(&o.meta)?);
        a.stamp_projects.push(j.stamp.as_ref().map(|s| s.project.as_str()));
        a.stamp_created.push(j.stamp.as_ref().map(|s| s.created));
        match &o.data {
            ObjectData::Inline(b) => a.inline.push(Some(b)),
            ObjectData::Segments(segs) => {
                a.inline.push(None);
                for s in segs {
                    a.segs.push(s);
                    a.seg_rows.push(i32::try_from(i + 1).unwrap_or(i32::MAX));
                }
            }
        }
    }
    Ok(a)
}

/// The batch's statement, built once (it is sent with every batch).
fn batch_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(build_batch_sql)
}

fn build_batch_sql() -> String {
    format!(
        "WITH r AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::bytea[], $3::int8[], $4::text[], $5::int8[],
                  $6::text[], $7::bytea[], $8::text[], $9::int8[])
                  WITH ORDINALITY AS r(bucket, key, size, etag, lm, meta, inline, sp, sc, n)),
              sg AS MATERIALIZED (SELECT * FROM unnest($10::text[], $11::int8[], $12::int4[], $14::int8[])
                  WITH ORDINALITY AS s(blob, size, rn, crc, i)),
              seen_b AS MATERIALIZED (SELECT name, xmin AS x FROM buckets WHERE name = ANY($1)),
              b AS MATERIALIZED (SELECT id, name, project, created, versioning, xmin AS x FROM buckets
                  WHERE name = ANY($1) ORDER BY name FOR KEY SHARE),
              seen AS MATERIALIZED (SELECT r.n FROM r JOIN b ON b.name = r.bucket
                  JOIN objects o ON o.bucket_id = b.id AND o.key = r.key),
              cur AS MATERIALIZED (SELECT r.n, o.id, o.size FROM r JOIN b ON b.name = r.bucket
                  JOIN objects o ON o.bucket_id = b.id AND o.key = r.key ORDER BY b.id, o.key FOR UPDATE OF o),
              v AS MATERIALIZED (SELECT r.n, CASE
                  WHEN b.id IS NULL THEN CASE WHEN sb.name IS NOT NULL THEN 'raced' ELSE 'nobucket' END
                  WHEN EXISTS (SELECT 1 FROM sg JOIN cur c ON c.n = sg.rn
                                   JOIN segments x ON x.object_id = c.id AND x.blob_id = sg.blob WHERE sg.rn = r.n)
                      OR EXISTS (SELECT 1 FROM sg JOIN gc_queue g ON g.blob_id = sg.blob WHERE sg.rn = r.n)
                      OR EXISTS (SELECT 1 FROM sg JOIN version_segments y ON y.blob_id = sg.blob WHERE sg.rn = r.n)
                      THEN 'already'
                  WHEN sb.name IS NULL OR NOT (sb.x = b.x) THEN 'raced'
                  WHEN r.sp IS NOT NULL AND (b.project <> r.sp OR b.created <> r.sc) THEN 'replaced'
                  WHEN b.versioning <> 0
                      OR EXISTS (SELECT 1 FROM quotas q WHERE q.scope_kind = 'bucket' AND q.scope_name = b.name)
                      OR EXISTS (SELECT 1 FROM quotas q WHERE q.scope_kind = 'project' AND q.scope_name = b.project)
                      THEN 'bounded'
                  WHEN EXISTS (SELECT 1 FROM seen WHERE seen.n = r.n)
                      AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.n = r.n) THEN 'raced'
                  ELSE 'go' END AS verdict
                  FROM r LEFT JOIN b ON b.name = r.bucket LEFT JOIN seen_b sb ON sb.name = r.bucket),
              gone AS (DELETE FROM objects o USING cur, v
                  WHERE v.n = cur.n AND v.verdict = 'go' AND o.id = cur.id RETURNING o.id),
              queued AS (INSERT INTO gc_queue (blob_id, queued)
                  SELECT s.blob_id, $13 FROM segments s JOIN gone ON s.object_id = gone.id ON CONFLICT DO NOTHING),
              ins AS MATERIALIZED (SELECT b.id AS bucket_id, r.* FROM r JOIN v ON v.n = r.n AND v.verdict = 'go'
                  JOIN b ON b.name = r.bucket, (SELECT count(*) FROM gone) g),
              obj AS (INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta, inline_data)
                  SELECT bucket_id, key, size, etag, lm, meta, inline FROM ins ORDER BY bucket_id, key
                  ON CONFLICT (bucket_id, key) DO NOTHING RETURNING id, bucket_id, key),
              objn AS MATERIALIZED (SELECT obj.id, obj.bucket_id, ins.n, ins.size FROM obj
                  JOIN ins ON ins.bucket_id = obj.bucket_id AND ins.key = obj.key),
              seg AS (INSERT INTO segments (object_id, idx, blob_id, size, crc64)
                  SELECT objn.id, (row_number() OVER (PARTITION BY sg.rn ORDER BY sg.i) - 1)::int, sg.blob, sg.size,
                         sg.crc
                  FROM objn JOIN sg ON sg.rn = objn.n),
              d AS (SELECT objn.bucket_id, sum(objn.size - coalesce(c.size, 0))::int8 AS bytes,
                           sum(CASE WHEN c.id IS NULL THEN 1 ELSE 0 END)::int8 AS objects
                    FROM objn LEFT JOIN cur c ON c.n = objn.n GROUP BY objn.bucket_id),
              tot AS (INSERT INTO bucket_totals (bucket_id, shard, bytes, objects)
                  SELECT bucket_id, {shard}, bytes, objects FROM d WHERE bytes <> 0 OR objects <> 0
                  ON CONFLICT (bucket_id, shard) DO UPDATE
                  SET bytes = bucket_totals.bytes + excluded.bytes, objects = bucket_totals.objects + excluded.objects)
         SELECT v.n, v.verdict, EXISTS (SELECT 1 FROM objn WHERE objn.n = v.n) FROM v ORDER BY v.n",
        shard = quota::SHARD_OF_CONNECTION
    )
}

/// One try of the batch's statement; a verdict per row, in order.
async fn run(pool: &deadpool_postgres::Pool, batch: &[Row], stage: &mut Stage) -> Try<Vec<Verdict>> {
    let a = arrays(batch)?;
    let c = pool.get().await?;
    let now = now_millis();
    let params: [(&(dyn ToSql + Sync), Type); 14] = [
        (&a.buckets, Type::TEXT_ARRAY),
        (&a.keys, Type::BYTEA_ARRAY),
        (&a.sizes, Type::INT8_ARRAY),
        (&a.etags, Type::TEXT_ARRAY),
        (&a.modified, Type::INT8_ARRAY),
        (&a.metas, Type::TEXT_ARRAY),
        (&a.inline, Type::BYTEA_ARRAY),
        (&a.stamp_projects, Type::TEXT_ARRAY),
        (&a.stamp_created, Type::INT8_ARRAY),
        (&a.segs.blobs, Type::TEXT_ARRAY),
        (&a.segs.sizes, Type::INT8_ARRAY),
        (&a.seg_rows, Type::INT4_ARRAY),
        (&now, Type::INT8),
        (&a.segs.crcs, Type::INT8_ARRAY),
    ];
    // Its own commit, yet safe to run again ("Tried again" above).
    *stage = Stage::Work;
    let rows = c.query_typed(batch_sql(), &params).await?;
    let mut out = Vec::with_capacity(batch.len());
    for r in &rows {
        let (verdict, inserted): (&str, bool) = (r.get(1), r.get(2));
        out.push(match verdict {
            "go" if inserted => Verdict::Done,
            "already" => Verdict::Done,
            "nobucket" | "replaced" => Verdict::NoBucket,
            "bounded" => Verdict::Bounded,
            _ => Verdict::Again,
        });
    }
    if out.len() != batch.len() {
        return Err(MetaError::Corrupt(format!("a batch of {} PUTs answered {} rows", batch.len(), out.len())).into());
    }
    Ok(out)
}
