//! Stored totals, quotas, and the lock every write that changes them takes.
//!
//! Each bucket row keeps `bytes` (objects plus parts of uploads in progress)
//! and `objects`. A write that changes them first locks the bucket's row
//! ([`lock_bucket`], `SELECT … FOR UPDATE`): writers of one bucket take turns
//! (READ COMMITTED: each later statement sees what the previous holder
//! committed), so a conditional write, a quota check and a completion each
//! see a state nobody else can change before they commit.
//!
//! A project quota spans buckets: a write that would grow a total of a
//! project with a quota also locks that quota's row, after its bucket's row
//! (the one fixed order: bucket, then project quota; no transaction ever
//! locks two buckets), and only then sums the project's buckets, so racing
//! writers in different buckets of one project take turns too.

use crate::ops::{bucket_id, to_i64, to_u64};
use crate::retry::Try;
use coffer_meta::*;
use tokio_postgres::types::Type;
use tokio_postgres::GenericClient;

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
}

fn quota_of(max_bytes: Option<i64>, max_objects: Option<i64>, present: bool) -> Option<Quota> {
    present.then(|| Quota { max_bytes: max_bytes.map(to_u64), max_objects: max_objects.map(to_u64) })
}

/// Locks the bucket's row until the transaction ends and reads its totals
/// and quota; `NoSuchBucket` if it is missing (or was deleted while waiting).
pub(crate) async fn lock_bucket(c: &impl GenericClient, name: &str) -> Try<BucketState> {
    let row = c
        .query_typed_opt(
            "SELECT b.id, b.project, b.bytes, b.objects, q.scope_name IS NOT NULL, q.max_bytes, q.max_objects, b.created
             FROM buckets b LEFT JOIN quotas q ON q.scope_kind = 'bucket' AND q.scope_name = b.name
             WHERE b.name = $1 FOR UPDATE OF b",
            &[(&name, Type::TEXT)],
        )
        .await?;
    let r = row.ok_or(MetaError::NoSuchBucket)?;
    Ok(BucketState {
        id: r.get(0),
        name: name.to_owned(),
        project: r.get(1),
        created: r.get(7),
        bytes: r.get(2),
        objects: r.get(3),
        quota: quota_of(r.get(5), r.get(6), r.get(4)),
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
pub(crate) async fn check_quotas(c: &impl GenericClient, b: &BucketState, d: Delta) -> Try<()> {
    if d.bytes <= 0 && d.objects <= 0 {
        return Ok(());
    }
    if let Some(q) = &b.quota {
        if exceeds(q, b.bytes, b.objects, d) {
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
        if exceeds(&q, bytes, objects, d) {
            return Err(MetaError::QuotaExceeded(QuotaScope::Project(b.project.clone())).into());
        }
    }
    Ok(())
}

fn exceeds(q: &Quota, bytes: i64, objects: i64, d: Delta) -> bool {
    let over = |now: i64, delta: i64, max: Option<u64>| {
        delta > 0 && max.is_some_and(|m| i128::from(now) + i128::from(delta) > i128::from(m))
    };
    over(bytes, d.bytes, q.max_bytes) || over(objects, d.objects, q.max_objects)
}

/// Adds `d` to the bucket's stored totals.
pub(crate) async fn apply(c: &impl GenericClient, bucket_id: i64, d: Delta) -> Try<()> {
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

async fn project_sums(c: &impl GenericClient, project: &str) -> Try<(i64, i64)> {
    let r = c
        .query_typed_one(
            "SELECT coalesce(sum(bytes), 0)::int8, coalesce(sum(objects), 0)::int8 FROM buckets WHERE project = $1",
            &[(&project, Type::TEXT)],
        )
        .await?;
    Ok((r.get(0), r.get(1)))
}

fn totals(bytes: i64, objects: i64) -> StoredTotals {
    StoredTotals { bytes: to_u64(bytes), objects: to_u64(objects) }
}

pub async fn bucket_totals(c: &impl GenericClient, bucket: &str) -> Try<StoredTotals> {
    let row = c.query_typed_opt("SELECT bytes, objects FROM buckets WHERE name = $1", &[(&bucket, Type::TEXT)]).await?;
    let r = row.ok_or(MetaError::NoSuchBucket)?;
    Ok(totals(r.get(0), r.get(1)))
}

pub async fn project_totals(c: &impl GenericClient, project: &str) -> Try<StoredTotals> {
    let (bytes, objects) = project_sums(c, project).await?;
    Ok(totals(bytes, objects))
}

/// The `quotas` key of a scope; a bucket scope's bucket must exist.
async fn scope_key<'a>(c: &impl GenericClient, scope: &'a QuotaScope) -> Try<(&'static str, &'a str)> {
    Ok(match scope {
        QuotaScope::Project(p) => ("project", p.as_str()),
        QuotaScope::Bucket(b) => {
            bucket_id(c, b).await?;
            ("bucket", b.as_str())
        }
    })
}

pub async fn set_quota(c: &impl GenericClient, scope: &QuotaScope, q: &Quota) -> Try<()> {
    let (kind, name) = scope_key(c, scope).await?;
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

pub async fn get_quota(c: &impl GenericClient, scope: &QuotaScope) -> Try<Quota> {
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
pub(crate) async fn drop_bucket_quota(c: &impl GenericClient, bucket: &str) -> Try<()> {
    c.execute_typed("DELETE FROM quotas WHERE scope_kind = 'bucket' AND scope_name = $1", &[(&bucket, Type::TEXT)])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceeds_only_when_growing_past_a_limit() {
        let q = Quota { max_bytes: Some(100), max_objects: Some(2) };
        let d = |bytes, objects| Delta { bytes, objects };
        assert!(!exceeds(&q, 90, 1, d(10, 1)), "reaching the limit is allowed");
        assert!(exceeds(&q, 90, 1, d(11, 0)));
        assert!(exceeds(&q, 0, 2, d(0, 1)));
        assert!(!exceeds(&q, 500, 9, d(-1, 0)), "shrinking is never refused");
        let huge = Quota { max_bytes: Some(u64::MAX), max_objects: None };
        assert!(!exceeds(&huge, i64::MAX, 0, d(i64::MAX, 0)), "no overflow");
    }
}
