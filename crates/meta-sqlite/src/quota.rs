//! Stored totals and quotas.
//!
//! Each bucket row keeps `bytes` (objects plus parts of uploads in progress)
//! and `objects`. Every write that changes them computes its [`Delta`] first,
//! asks [`check_quotas`] (before writing anything), then writes and
//! [`apply`]s the delta, all in the writer's savepoint. The writer thread
//! serializes writes, so the totals a check reads cannot change under it.
//!
//! Quotas live in `quotas`, keyed by (`'bucket'` | `'project'`, name). A
//! bucket's row is deleted with the bucket, a project's with the project.

use crate::ops::{bucket_id, to_i64, to_u64, R};
use crate::sql_err;
use coffer_meta::*;
use rusqlite::{params, Connection, OptionalExtension};

/// What a write checks and changes: the bucket's row.
pub(crate) struct BucketState {
    pub id: i64,
    pub name: String,
    pub project: String,
    pub bytes: i64,
    pub objects: i64,
    pub created: i64,
    pub versioning: coffer_types::Versioning,
    pub object_lock: bool,
}

/// The bucket's state, checked against `stamp` when one is given
/// (`NoSuchBucket` if it is missing or another).
pub(crate) fn stamped_state(c: &Connection, name: &str, stamp: Option<&BucketStamp>) -> R<BucketState> {
    let b = bucket_state(c, name)?;
    match stamp {
        Some(s) if s.project != b.project || s.created != b.created => Err(MetaError::NoSuchBucket),
        _ => Ok(b),
    }
}

/// The bucket's id, project and totals; `NoSuchBucket` if it is missing.
pub(crate) fn bucket_state(c: &Connection, name: &str) -> R<BucketState> {
    c.prepare_cached(
        "SELECT id, project, bytes, objects, created, versioning, object_lock FROM buckets WHERE name = ?1",
    )
    .map_err(sql_err)?
    .query_row([name], |r| {
        let code: i64 = r.get(5)?;
        Ok(BucketState {
            id: r.get(0)?,
            name: name.to_owned(),
            project: r.get(1)?,
            bytes: r.get(2)?,
            objects: r.get(3)?,
            created: r.get(4)?,
            versioning: coffer_types::Versioning::from_code(code).unwrap_or(coffer_types::Versioning::Enabled),
            object_lock: r.get(6)?,
        })
    })
    .optional()
    .map_err(sql_err)?
    .ok_or(MetaError::NoSuchBucket)
}

/// A change of a bucket's stored totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Delta {
    pub bytes: i64,
    pub objects: i64,
}

/// Refuses `d` when it grows a total past a limit of the bucket's quota
/// (checked first) or of its project's. Totals `d` does not grow are never
/// checked, so shrinking writes always pass.
pub(crate) fn check_quotas(c: &Connection, b: &BucketState, d: Delta) -> R<()> {
    if d.bytes <= 0 && d.objects <= 0 {
        return Ok(());
    }
    if let Some(q) = quota_row(c, "bucket", &b.name)? {
        if q.exceeded_by(b.bytes, b.objects, d.bytes, d.objects) {
            return Err(MetaError::QuotaExceeded(QuotaScope::Bucket(b.name.clone())));
        }
    }
    if let Some(q) = quota_row(c, "project", &b.project)? {
        let t = project_sums(c, &b.project)?;
        if q.exceeded_by(t.0, t.1, d.bytes, d.objects) {
            return Err(MetaError::QuotaExceeded(QuotaScope::Project(b.project.clone())));
        }
    }
    Ok(())
}

/// Adds `d` to the bucket's stored totals.
pub(crate) fn apply(c: &Connection, bucket_id: i64, d: Delta) -> R<()> {
    if d == Delta::default() {
        return Ok(());
    }
    c.prepare_cached("UPDATE buckets SET bytes = bytes + ?2, objects = objects + ?3 WHERE id = ?1")
        .map_err(sql_err)?
        .execute(params![bucket_id, d.bytes, d.objects])
        .map_err(sql_err)?;
    Ok(())
}

fn project_sums(c: &Connection, project: &str) -> R<(i64, i64)> {
    c.prepare_cached("SELECT coalesce(sum(bytes), 0), coalesce(sum(objects), 0) FROM buckets WHERE project = ?1")
        .map_err(sql_err)?
        .query_row([project], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err)
}

fn totals(bytes: i64, objects: i64) -> StoredTotals {
    StoredTotals { bytes: to_u64(bytes), objects: to_u64(objects) }
}

pub fn bucket_totals(c: &Connection, bucket: &str) -> R<StoredTotals> {
    let b = bucket_state(c, bucket)?;
    Ok(totals(b.bytes, b.objects))
}

pub fn project_totals(c: &Connection, project: &str) -> R<StoredTotals> {
    let (bytes, objects) = project_sums(c, project)?;
    Ok(totals(bytes, objects))
}

/// The `quotas` key of a scope; a bucket scope's bucket must exist.
fn scope_key<'a>(c: &Connection, scope: &'a QuotaScope) -> R<(&'static str, &'a str)> {
    Ok(match scope {
        QuotaScope::Project(p) => ("project", p.as_str()),
        QuotaScope::Bucket(b) => {
            bucket_id(c, b)?;
            ("bucket", b.as_str())
        }
    })
}

fn quota_row(c: &Connection, kind: &str, name: &str) -> R<Option<Quota>> {
    let row: Option<(Option<i64>, Option<i64>)> = c
        .prepare_cached("SELECT max_bytes, max_objects FROM quotas WHERE scope_kind = ?1 AND scope_name = ?2")
        .map_err(sql_err)?
        .query_row([kind, name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql_err)?;
    Ok(row.map(|(b, o)| Quota { max_bytes: b.map(to_u64), max_objects: o.map(to_u64) }))
}

pub fn set_quota(c: &Connection, scope: &QuotaScope, q: &Quota) -> R<()> {
    let (kind, name) = scope_key(c, scope)?;
    if q.max_bytes.is_none() && q.max_objects.is_none() {
        c.prepare_cached("DELETE FROM quotas WHERE scope_kind = ?1 AND scope_name = ?2")
            .map_err(sql_err)?
            .execute([kind, name])
            .map_err(sql_err)?;
        return Ok(());
    }
    c.prepare_cached(
        "INSERT OR REPLACE INTO quotas (scope_kind, scope_name, max_bytes, max_objects) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(sql_err)?
    .execute(params![kind, name, q.max_bytes.map(to_i64), q.max_objects.map(to_i64)])
    .map_err(sql_err)?;
    Ok(())
}

pub fn get_quota(c: &Connection, scope: &QuotaScope) -> R<Quota> {
    let (kind, name) = scope_key(c, scope)?;
    Ok(quota_row(c, kind, name)?.unwrap_or_default())
}

/// Forgets a bucket's quota (the bucket is being deleted).
pub(crate) fn drop_bucket_quota(c: &Connection, bucket: &str) -> R<()> {
    c.prepare_cached("DELETE FROM quotas WHERE scope_kind = 'bucket' AND scope_name = ?1")
        .map_err(sql_err)?
        .execute([bucket])
        .map_err(sql_err)?;
    Ok(())
}

/// Sets or removes a project's named setting.
pub fn set_project_config(c: &Connection, project: &str, name: &str, value: Option<&str>) -> R<()> {
    let r = match value {
        Some(v) => c
            .prepare_cached(
                "INSERT INTO project_configs (project, name, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (project, name) DO UPDATE SET value = excluded.value",
            )
            .map_err(sql_err)?
            .execute(params![project, name, v]),
        None => c
            .prepare_cached("DELETE FROM project_configs WHERE project = ?1 AND name = ?2")
            .map_err(sql_err)?
            .execute(params![project, name]),
    };
    r.map_err(sql_err)?;
    Ok(())
}

/// A project's named setting, if set.
pub fn get_project_config(c: &Connection, project: &str, name: &str) -> R<Option<String>> {
    c.prepare_cached("SELECT value FROM project_configs WHERE project = ?1 AND name = ?2")
        .map_err(sql_err)?
        .query_row(params![project, name], |r| r.get(0))
        .optional()
        .map_err(sql_err)
}
