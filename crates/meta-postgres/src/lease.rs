//! Named leases (one gateway at a time runs a background job) and the
//! jobs' shared states (`job_state`, v12).

use crate::retry::Try;
use crate::stmt::Db;
use coffer_types::{now_millis, UnixMillis};
use tokio_postgres::types::Type;

/// Takes or renews a lease in one statement; whether `holder` holds it.
pub async fn acquire_lease(c: &impl Db, name: &str, holder: &str, now: UnixMillis, until: UnixMillis) -> Try<bool> {
    let n = c
        .execute_typed(
            "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
             WHERE leases.holder = excluded.holder OR leases.until <= $3",
            &[(&name, Type::TEXT), (&holder, Type::TEXT), (&now, Type::INT8), (&until, Type::INT8)],
        )
        .await?;
    Ok(n == 1)
}

/// A job's stored state, if any.
pub async fn get_job_state(c: &impl Db, name: &str) -> Try<Option<String>> {
    let row = c.query_typed_opt("SELECT value FROM job_state WHERE name = $1", &[(&name, Type::TEXT)]).await?;
    Ok(row.map(|r| r.get(0)))
}

/// Stores a job's state (`updated` is now), or forgets it (`None`).
pub async fn set_job_state(c: &impl Db, name: &str, value: Option<&str>) -> Try<()> {
    match value {
        Some(v) => {
            c.execute_typed(
                "INSERT INTO job_state (name, value, updated) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated",
                &[(&name, Type::TEXT), (&v, Type::TEXT), (&now_millis(), Type::INT8)],
            )
            .await?
        }
        None => c.execute_typed("DELETE FROM job_state WHERE name = $1", &[(&name, Type::TEXT)]).await?,
    };
    Ok(())
}

/// Every job state whose name starts with `prefix`, in name order: a range
/// seek on the primary key (its names are `COLLATE "C"`, bytewise).
pub async fn job_states(c: &impl Db, prefix: &str) -> Try<Vec<(String, String, UnixMillis)>> {
    let rows = match coffer_meta::listing::text_prefix_end(prefix) {
        Some(end) => {
            c.query_typed(
                "SELECT name, value, updated FROM job_state WHERE name >= $1 AND name < $2 ORDER BY name",
                &[(&prefix, Type::TEXT), (&end, Type::TEXT)],
            )
            .await?
        }
        None => {
            c.query_typed(
                "SELECT name, value, updated FROM job_state WHERE name >= $1 ORDER BY name",
                &[(&prefix, Type::TEXT)],
            )
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, i64>(2)))
        .filter(|(name, ..)| name.starts_with(prefix))
        .collect())
}

pub async fn release_lease(c: &impl Db, name: &str, holder: &str) -> Try<()> {
    c.execute_typed(
        "DELETE FROM leases WHERE name = $1 AND holder = $2",
        &[(&name, Type::TEXT), (&holder, Type::TEXT)],
    )
    .await?;
    Ok(())
}
