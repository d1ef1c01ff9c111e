//! Stored totals, quotas, and the locks writes take on a bucket's row.
//!
//! A bucket's stored totals (`bytes`: objects plus parts of uploads in
//! progress; `objects`) are its row's `bytes`/`objects` plus the sum of its
//! counter shards in `bucket_totals` (at most 64 rows per bucket;
//! schema v5). Two kinds of writers:
//!
//! - **Unbounded** (no quota of the bucket or of its project): PUT, delete,
//!   copy. They lock the bucket's row `FOR KEY SHARE` only (so they do not
//!   wait for one another; a bucket being deleted, which locks it `FOR
//!   UPDATE`, waits for them and they for it, so a stamp checked under that
//!   lock stays true until commit), lock the object row they replace (`FOR
//!   UPDATE`; a key with no row is settled by its unique index, see
//!   `ops::put_object_fast`), and add their delta to the shard of their
//!   connection ([`SHARD_OF_CONNECTION`]: the pool's connections have
//!   consecutive backend pids, so they rarely share a shard row).
//! - **Serialising** (a write under a quota, every multipart write, and
//!   every write, delete or header edit in a versioned bucket):
//!   [`lock_bucket`] locks the row `FOR UPDATE`, which waits for every
//!   unbounded writer of the bucket to commit and keeps new ones out, then
//!   reads the totals in a later statement (READ COMMITTED: it sees what
//!   they committed), checks, and adds its delta to the row itself. Writers
//!   of one such bucket take turns, so a quota check, a conditional write and
//!   a completion each see a state nobody else can change before they commit.
//!
//! Whether a write is bounded is read after its bucket lock is held
//! (`ops::put_object_fast`'s second statement), or in the same statement
//! with a check that the locked row is the snapshot's (`put_batch.rs`).
//! [`set_quota`] locks the rows of the buckets it bounds `FOR UPDATE` and
//! rewrites them before writing the quota, so it waits for the unbounded
//! writers in flight, and every write that starts after it returned (or
//! waited for it) sees the quota and serialises.
//!
//! A versioned bucket (`versioning <> 0`) is treated as a bounded one, by
//! the same checks and for the same reason: a versioned write reads the
//! key's versions, numbers the new one and moves the old one aside, which
//! only a writer that nobody else can overtake may do. So every write of a
//! versioned bucket takes turns on its row (simple, and correct; the cost
//! is that such a bucket's writers do not run side by side).
//! `version_ops::set_versioning` locks the row `FOR UPDATE` and rewrites it,
//! exactly as [`set_quota`] does, so an unbounded write in flight either
//! commits before it or sees the new state and serialises.
//!
//! A project quota spans buckets: a write that would grow a total of a
//! project with a quota also locks that quota's row, after its bucket's row
//! (the one fixed order: bucket rows, then quota row; [`set_quota`] of a
//! project locks its buckets in id order), and only then sums the project's
//! buckets, so racing writers in different buckets of one project take
//! turns too.

use crate::ops::{bucket_id, to_i64, to_u64};
use crate::retry::Try;
use crate::stmt::Db;
use coffer_meta::*;
use tokio_postgres::types::Type;

/// What a write checks and changes: the bucket's row, locked.
pub(crate) struct BucketState {
    pub id: i64,
    pub name: String,
    pub project: String,
    /// When the bucket was made (with the project: its stamp).
    pub created: i64,
    pub bytes: i64,
    pub objects: i64,
    /// The bucket's own quota, if any.
    pub quota: Option<Quota>,
    /// Its versioning state: what a write does to the versions of a key.
    pub versioning: coffer_types::Versioning,
    pub object_lock: bool,
}

/// A stored versioning code; a code no release writes reads as `Enabled`
/// (versions are kept rather than dropped).
pub(crate) fn versioning_of(code: i32) -> coffer_types::Versioning {
    coffer_types::Versioning::from_code(i64::from(code)).unwrap_or(coffer_types::Versioning::Enabled)
}

fn quota_of(max_bytes: Option<i64>, max_objects: Option<i64>, present: bool) -> Option<Quota> {
    present.then(|| Quota { max_bytes: max_bytes.map(to_u64), max_objects: max_objects.map(to_u64) })
}

/// The shard an unbounded writer adds to, as SQL: one per server connection,
/// so a bucket has at most 64 shard rows.
pub(crate) const SHARD_OF_CONNECTION: &str = "(pg_backend_pid() % 64)";

/// A bucket's totals (row plus shards) as SQL over a bucket row `b`.
const TOTALS_OF_B: &str =
    "b.bytes + coalesce((SELECT sum(t.bytes) FROM bucket_totals t WHERE t.bucket_id = b.id), 0)::int8,
     b.objects + coalesce((SELECT sum(t.objects) FROM bucket_totals t WHERE t.bucket_id = b.id), 0)::int8";

/// Locks the bucket's row `FOR UPDATE` until the transaction ends, then
/// reads its totals and quota; `NoSuchBucket` if it is missing (or was
/// deleted while waiting). The two statements go out pipelined (one round
/// trip); the second starts once the first holds the lock, so it sees what
/// the unbounded writers it waited for committed.
pub(crate) async fn lock_bucket(c: &impl Db, name: &str) -> Try<BucketState> {
    let totals = format!(
        "SELECT b.id, b.project, b.created, {TOTALS_OF_B}, q.scope_name IS NOT NULL, q.max_bytes, q.max_objects,
                b.versioning, b.object_lock
         FROM buckets b LEFT JOIN quotas q ON q.scope_kind = 'bucket' AND q.scope_name = b.name
         WHERE b.name = $1"
    );
    let params: [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 1] = [(&name, Type::TEXT)];
    let (locked, row) = tokio::join!(
        c.query_typed_opt("SELECT id FROM buckets WHERE name = $1 FOR UPDATE", &params),
        c.query_typed_opt(&totals, &params),
    );
    let id: i64 = locked?.ok_or(MetaError::NoSuchBucket)?.get(0);
    let r = row?.ok_or(MetaError::NoSuchBucket)?;
    if r.get::<_, i64>(0) != id {
        return Err(MetaError::NoSuchBucket.into());
    }
    Ok(BucketState {
        id,
        name: name.to_owned(),
        project: r.get(1),
        created: r.get(2),
        bytes: r.get(3),
        objects: r.get(4),
        quota: quota_of(r.get(6), r.get(7), r.get(5)),
        versioning: versioning_of(r.get(8)),
        object_lock: r.get(9),
    })
}

/// A change of a bucket's stored totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Delta {
    pub bytes: i64,
    pub objects: i64,
}

/// Refuses `d` when it grows a total past a limit of the bucket's quota
/// (checked first) or of its project's. Totals `d` does not grow are never
/// checked, so shrinking writes always pass (and take no project lock).
pub(crate) async fn check_quotas(c: &impl Db, b: &BucketState, d: Delta) -> Try<()> {
    if d.bytes <= 0 && d.objects <= 0 {
        return Ok(());
    }
    if let Some(q) = &b.quota {
        if q.exceeded_by(b.bytes, b.objects, d.bytes, d.objects) {
            return Err(MetaError::QuotaExceeded(QuotaScope::Bucket(b.name.clone())).into());
        }
    }
    let row = c
        .query_typed_opt(
            "SELECT max_bytes, max_objects FROM quotas WHERE scope_kind = 'project' AND scope_name = $1 FOR UPDATE",
            &[(&b.project, Type::TEXT)],
        )
        .await?;
    if let Some(r) = row {
        let q = Quota {
            max_bytes: r.get::<_, Option<i64>>(0).map(to_u64),
            max_objects: r.get::<_, Option<i64>>(1).map(to_u64),
        };
        let (bytes, objects) = project_sums(c, &b.project).await?;
        if q.exceeded_by(bytes, objects, d.bytes, d.objects) {
            return Err(MetaError::QuotaExceeded(QuotaScope::Project(b.project.clone())).into());
        }
    }
    Ok(())
}

/// Adds `d` to the stored totals in the bucket's row (the caller holds it
/// `FOR UPDATE`: [`lock_bucket`]).
pub(crate) async fn apply(c: &impl Db, bucket_id: i64, d: Delta) -> Try<()> {
    if d == Delta::default() {
        return Ok(());
    }
    c.execute_typed(
        "UPDATE buckets SET bytes = bytes + $2, objects = objects + $3 WHERE id = $1",
        &[(&bucket_id, Type::INT8), (&d.bytes, Type::INT8), (&d.objects, Type::INT8)],
    )
    .await?;
    Ok(())
}

async fn project_sums(c: &impl Db, project: &str) -> Try<(i64, i64)> {
    let r = c
        .query_typed_one(
            "SELECT coalesce((SELECT sum(bytes) FROM buckets WHERE project = $1), 0)::int8
                    + coalesce((SELECT sum(t.bytes) FROM bucket_totals t JOIN buckets b ON b.id = t.bucket_id
                                WHERE b.project = $1), 0)::int8,
                    coalesce((SELECT sum(objects) FROM buckets WHERE project = $1), 0)::int8
                    + coalesce((SELECT sum(t.objects) FROM bucket_totals t JOIN buckets b ON b.id = t.bucket_id
                                WHERE b.project = $1), 0)::int8",
            &[(&project, Type::TEXT)],
        )
        .await?;
    Ok((r.get(0), r.get(1)))
}

fn totals(bytes: i64, objects: i64) -> StoredTotals {
    StoredTotals { bytes: to_u64(bytes), objects: to_u64(objects) }
}

pub async fn bucket_totals(c: &impl Db, bucket: &str) -> Try<StoredTotals> {
    let sql = format!("SELECT {TOTALS_OF_B} FROM buckets b WHERE b.name = $1");
    let row = c.query_typed_opt(&sql, &[(&bucket, Type::TEXT)]).await?;
    let r = row.ok_or(MetaError::NoSuchBucket)?;
    Ok(totals(r.get(0), r.get(1)))
}

pub async fn project_totals(c: &impl Db, project: &str) -> Try<StoredTotals> {
    let (bytes, objects) = project_sums(c, project).await?;
    Ok(totals(bytes, objects))
}

/// The `quotas` key of a scope; a bucket scope's bucket must exist.
async fn scope_key<'a>(c: &impl Db, scope: &'a QuotaScope) -> Try<(&'static str, &'a str)> {
    Ok(match scope {
        QuotaScope::Project(p) => ("project", p.as_str()),
        QuotaScope::Bucket(b) => {
            bucket_id(c, b).await?;
            ("bucket", b.as_str())
        }
    })
}

/// Sets or removes a quota. First locks the rows of the buckets it bounds
/// `FOR UPDATE` (in id order), which waits for the unbounded writers in
/// flight there: once this commits, every new write to them sees the quota
/// and takes the serialising path (see the module docs).
pub async fn set_quota(c: &impl Db, scope: &QuotaScope, q: &Quota) -> Try<()> {
    let (kind, name) = scope_key(c, scope).await?;
    let lock = match scope {
        QuotaScope::Project(_) => "SELECT id FROM buckets WHERE project = $1 ORDER BY id FOR UPDATE",
        QuotaScope::Bucket(_) => "SELECT id FROM buckets WHERE name = $1 FOR UPDATE",
    };
    let locked = c.query_typed(lock, &[(&name, Type::TEXT)]).await?;
    if matches!(scope, QuotaScope::Bucket(_)) && locked.is_empty() {
        return Err(MetaError::NoSuchBucket.into());
    }
    // A new row version for each: a one-statement PUT that waited for the
    // lock above sees its locked row differ from its snapshot's and tries
    // again, with a snapshot that has the quota (`put_batch.rs`).
    let ids: Vec<i64> = locked.iter().map(|r| r.get(0)).collect();
    c.execute_typed("UPDATE buckets SET created = created WHERE id = ANY($1)", &[(&ids, Type::INT8_ARRAY)]).await?;
    if q.max_bytes.is_none() && q.max_objects.is_none() {
        c.execute_typed(
            "DELETE FROM quotas WHERE scope_kind = $1 AND scope_name = $2",
            &[(&kind, Type::TEXT), (&name, Type::TEXT)],
        )
        .await?;
        return Ok(());
    }
    let (mb, mo) = (q.max_bytes.map(to_i64), q.max_objects.map(to_i64));
    c.execute_typed(
        "INSERT INTO quotas (scope_kind, scope_name, max_bytes, max_objects) VALUES ($1, $2, $3, $4)
         ON CONFLICT (scope_kind, scope_name) DO UPDATE SET max_bytes = excluded.max_bytes, max_objects = excluded.max_objects",
        &[(&kind, Type::TEXT), (&name, Type::TEXT), (&mb, Type::INT8), (&mo, Type::INT8)],
    )
    .await?;
    Ok(())
}

pub async fn get_quota(c: &impl Db, scope: &QuotaScope) -> Try<Quota> {
    let (kind, name) = scope_key(c, scope).await?;
    let row = c
        .query_typed_opt(
            "SELECT max_bytes, max_objects FROM quotas WHERE scope_kind = $1 AND scope_name = $2",
            &[(&kind, Type::TEXT), (&name, Type::TEXT)],
        )
        .await?;
    Ok(row.map_or_else(Quota::default, |r| Quota {
        max_bytes: r.get::<_, Option<i64>>(0).map(to_u64),
        max_objects: r.get::<_, Option<i64>>(1).map(to_u64),
    }))
}

/// Forgets a bucket's quota (the bucket is being deleted).
pub(crate) async fn drop_bucket_quota(c: &impl Db, bucket: &str) -> Try<()> {
    c.execute_typed("DELETE FROM quotas WHERE scope_kind = 'bucket' AND scope_name = $1", &[(&bucket, Type::TEXT)])
        .await?;
    Ok(())
}

/// Sets or removes a project's named setting.
pub async fn set_project_config(c: &impl Db, project: &str, name: &str, value: Option<&str>) -> Try<()> {
    match value {
        Some(v) => {
            let sql = "INSERT INTO project_configs (project, name, value) VALUES ($1, $2, $3)
                       ON CONFLICT (project, name) DO UPDATE SET value = excluded.value";
            c.execute_typed(sql, &[(&project, Type::TEXT), (&name, Type::TEXT), (&v, Type::TEXT)]).await?
        }
        None => {
            let sql = "DELETE FROM project_configs WHERE project = $1 AND name = $2";
            c.execute_typed(sql, &[(&project, Type::TEXT), (&name, Type::TEXT)]).await?
        }
    };
    Ok(())
}

/// A project's named setting, if set.
pub async fn get_project_config(c: &impl Db, project: &str, name: &str) -> Try<Option<String>> {
    let row = c
        .query_typed_opt(
            "SELECT value FROM project_configs WHERE project = $1 AND name = $2",
            &[(&project, Type::TEXT), (&name, Type::TEXT)],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}
