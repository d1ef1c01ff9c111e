//! An unconditional PUT (or copy) of an object in a bucket no quota bounds,
//! as **one statement** in its own implicit transaction: one round trip,
//! one statement for the server to bind, run and commit.
//!
//! Measured under the 4 KiB PUT benchmark, PostgreSQL's CPU per PUT was
//! spent mostly around statements (binding, starting executors, waking for
//! each message) rather than in them: the two-round-trip version
//! (`BEGIN`, bucket lock, object lock; then the write and `COMMIT`) sent
//! five statements. This one does the same work in one.
//!
//! What the statement must still guarantee, and how:
//! - **The quota is read after the bucket's lock is held.** A statement
//!   reads with the snapshot it started with, even after waiting for a
//!   lock, so it could miss a quota committed while it waited. `set_quota`
//!   therefore rewrites the rows of the buckets it bounds (under its
//!   `FOR UPDATE` lock, see `quota.rs`): a row version locked here that is
//!   not the one of the statement's snapshot (`xmin` differs) means
//!   something committed on the bucket meanwhile, and the try answers
//!   [`Fast::Raced`] without writing; the next try's snapshot sees it.
//! - **The old row is the one replaced.** As in `ops::lock_object`, an
//!   object row that was deleted by a writer this one waited for is
//!   noticed (seen in the snapshot, not lockable) and the try is `Raced`.
//! - **Racing creators of one key**: the unique index settles them
//!   (`ON CONFLICT DO NOTHING`: no row inserted, nothing else written,
//!   `Raced`; the next try sees and locks the winner's row).
//! - **A stamp that no longer matches** (the bucket was deleted and made
//!   again since the request was authorized) writes nothing.
//!
//!
//! **Tried again.** The statement is its own commit, so a connection lost
//! while it runs leaves its outcome unknown. It is retried anyway (as
//! [`Stage::Work`]), because a second run of the same PUT is harmless:
//! - with blobs, it finds them already stored (in the current object's
//!   segments, or queued for collection because a later write replaced
//!   them) and answers `Done` without writing. Blob ids are random and
//!   new for every PUT (the engine writes every object's bytes to new
//!   blobs; a copy writes them again), so only an earlier run of this one
//!   can have stored them. Without this check, the second run would replace the first one's
//!   row and queue the blobs that the new row names: the object would lose
//!   its data after the grace period;
//! - inline, it writes the same row again (totals unchanged) or, if another
//!   writer replaced the first run's row meanwhile, replaces theirs: a PUT
//!   concurrent with theirs, so last-writer-wins either way.

use crate::ops::{meta_json, to_i64, Fast};
use crate::quota;
use crate::retry::{Stage, Try};
use crate::stmt::Db;
use coffer_meta::*;
use coffer_types::now_millis;
use tokio_postgres::types::{ToSql, Type};

fn put_sql() -> String {
    format!(
        "WITH seen_b AS MATERIALIZED (SELECT xmin AS x FROM buckets WHERE name = $1),
              b AS MATERIALIZED (SELECT id, name, project, created, xmin AS x FROM buckets WHERE name = $1 FOR KEY SHARE),
              seen AS MATERIALIZED (SELECT o.id FROM objects o, b WHERE o.bucket_id = b.id AND o.key = $2),
              cur AS MATERIALIZED (SELECT o.id, o.size FROM objects o, b
                  WHERE o.bucket_id = b.id AND o.key = $2 FOR UPDATE OF o),
              v AS MATERIALIZED (SELECT CASE
                  WHEN NOT EXISTS (SELECT 1 FROM b) THEN
                      CASE WHEN EXISTS (SELECT 1 FROM seen_b) THEN 'raced' ELSE 'nobucket' END
                  WHEN cardinality($8::text[]) > 0
                      AND (EXISTS (SELECT 1 FROM segments s, cur WHERE s.object_id = cur.id AND s.blob_id = ANY($8))
                           OR EXISTS (SELECT 1 FROM gc_queue g WHERE g.blob_id = ANY($8))) THEN 'already'
                  WHEN NOT EXISTS (SELECT 1 FROM seen_b) OR NOT ((SELECT x FROM seen_b) = (SELECT x FROM b)) THEN 'raced'
                  WHEN $11::text IS NOT NULL
                      AND ((SELECT project FROM b) <> $11 OR (SELECT created FROM b) <> $12) THEN 'replaced'
                  WHEN EXISTS (SELECT 1 FROM quotas q, b WHERE q.scope_kind = 'bucket' AND q.scope_name = b.name)
                      OR EXISTS (SELECT 1 FROM quotas q, b WHERE q.scope_kind = 'project' AND q.scope_name = b.project)
                      THEN 'bounded'
                  WHEN EXISTS (SELECT 1 FROM seen) AND NOT EXISTS (SELECT 1 FROM cur) THEN 'raced'
                  ELSE 'go' END AS verdict),
              gone AS (DELETE FROM objects o USING cur, v WHERE v.verdict = 'go' AND o.id = cur.id RETURNING o.id),
              queued AS (INSERT INTO gc_queue (blob_id, queued)
                  SELECT s.blob_id, $10 FROM segments s JOIN gone ON s.object_id = gone.id ON CONFLICT DO NOTHING),
              obj AS (INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta, inline_data)
                  SELECT b.id, $2, $3, $4, $5, $6, $7 FROM b, v, (SELECT count(*) FROM gone) g WHERE v.verdict = 'go'
                  ON CONFLICT (bucket_id, key) DO NOTHING RETURNING id, bucket_id),
              seg AS (INSERT INTO segments (object_id, idx, blob_id, size)
                  SELECT obj.id, (t.n - 1)::int, t.b, t.s FROM obj, unnest($8::text[], $9::int8[]) WITH ORDINALITY AS t(b, s, n)),
              d AS (SELECT obj.bucket_id, $3 - coalesce((SELECT size FROM cur), 0) AS bytes,
                           CASE WHEN EXISTS (SELECT 1 FROM cur) THEN 0 ELSE 1 END::int8 AS objects FROM obj),
              tot AS (INSERT INTO bucket_totals (bucket_id, shard, bytes, objects)
                  SELECT bucket_id, {shard}, bytes, objects FROM d WHERE bytes <> 0 OR objects <> 0
                  ON CONFLICT (bucket_id, shard) DO UPDATE
                  SET bytes = bucket_totals.bytes + excluded.bytes, objects = bucket_totals.objects + excluded.objects)
         SELECT v.verdict, (SELECT count(*) FROM obj) FROM v",
        shard = quota::SHARD_OF_CONNECTION
    )
}

/// One try of an unconditional PUT without quota, in one statement (see the
/// module docs). `Bounded`: a quota bounds the bucket and nothing was
/// written; `Raced`: nothing was written, try again.
pub(crate) async fn put_object_one(
    pool: &deadpool_postgres::Pool,
    bucket: &str,
    stamp: Option<&BucketStamp>,
    o: &ObjectRecord,
    stage: &mut Stage,
) -> Try<Fast<()>> {
    let c = pool.get().await?;
    let (inline, blobs, sizes) = crate::ops::object_data(o);
    let (key, size, meta, now) = (o.key.as_bytes(), to_i64(o.size), meta_json(&o.meta)?, now_millis());
    let (stamp_project, stamp_created) = (stamp.map(|s| s.project.as_str()), stamp.map(|s| s.created));
    let params: [(&(dyn ToSql + Sync), Type); 12] = [
        (&bucket, Type::TEXT),
        (&key, Type::BYTEA),
        (&size, Type::INT8),
        (&o.etag, Type::TEXT),
        (&o.last_modified, Type::INT8),
        (&meta, Type::TEXT),
        (&inline, Type::BYTEA),
        (&blobs, Type::TEXT_ARRAY),
        (&sizes, Type::INT8_ARRAY),
        (&now, Type::INT8),
        (&stamp_project, Type::TEXT),
        (&stamp_created, Type::INT8),
    ];
    let sql = put_sql();
    // Sending it commits it, yet a lost connection is retried: see "Tried
    // again" in the module docs.
    *stage = Stage::Work;
    let r = c.query_typed_one(&sql, &params).await?;
    let (verdict, inserted): (&str, i64) = (r.get(0), r.get(1));
    match verdict {
        "go" if inserted == 1 => Ok(Fast::Done(())),
        // An earlier try of this PUT committed (its reply was lost).
        "already" => Ok(Fast::Done(())),
        "go" | "raced" => Ok(Fast::Raced),
        "bounded" => Ok(Fast::Bounded),
        "nobucket" => Err(MetaError::NoSuchBucket.into()),
        "replaced" => Err(MetaError::NoSuchBucket.into()),
        other => Err(MetaError::Corrupt(format!("unexpected verdict {other:?} of a PUT")).into()),
    }
}
