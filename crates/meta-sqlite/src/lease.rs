//! Named leases (one process at a time runs a background job).

use crate::ops::R;
use crate::sql_err;
use coffer_types::UnixMillis;
use rusqlite::{params, Connection};

/// Takes or renews a lease in one statement; whether `holder` holds it.
pub fn acquire_lease(c: &Connection, name: &str, holder: &str, now: UnixMillis, until: UnixMillis) -> R<bool> {
    let n = c
        .prepare_cached(
            "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
             WHERE leases.holder = excluded.holder OR leases.until <= ?3",
        )
        .map_err(sql_err)?
        .execute(params![name, holder, now, until])
        .map_err(sql_err)?;
    Ok(n == 1)
}

pub fn get_job_state(c: &Connection, name: &str) -> R<Option<String>> {
    use rusqlite::OptionalExtension as _;
    c.prepare_cached("SELECT value FROM job_state WHERE name = ?1")
        .map_err(sql_err)?
        .query_row([name], |r| r.get(0))
        .optional()
        .map_err(sql_err)
}

pub fn set_job_state(c: &Connection, name: &str, value: Option<&str>) -> R<()> {
    match value {
        Some(v) => c
            .prepare_cached(
                "INSERT INTO job_state (name, value, updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated",
            )
            .map_err(sql_err)?
            .execute(params![name, v, coffer_types::now_millis()]),
        None => c.prepare_cached("DELETE FROM job_state WHERE name = ?1").map_err(sql_err)?.execute([name]),
    }
    .map_err(sql_err)?;
    Ok(())
}

/// Every job state whose name starts with `prefix`, in name order: a range
/// seek on the primary key (TEXT compares bytewise).
pub fn job_states(c: &Connection, prefix: &str) -> R<Vec<(String, String, UnixMillis)>> {
    let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
    let rows: Vec<(String, String, UnixMillis)> = match coffer_meta::listing::text_prefix_end(prefix) {
        Some(end) => c
            .prepare_cached("SELECT name, value, updated FROM job_state WHERE name >= ?1 AND name < ?2 ORDER BY name")
            .map_err(sql_err)?
            .query_map(params![prefix, end], row)
            .map_err(sql_err)?
            .collect::<Result<_, _>>(),
        None => c
            .prepare_cached("SELECT name, value, updated FROM job_state WHERE name >= ?1 ORDER BY name")
            .map_err(sql_err)?
            .query_map([prefix], row)
            .map_err(sql_err)?
            .collect::<Result<_, _>>(),
    }
    .map_err(sql_err)?;
    Ok(rows.into_iter().filter(|(name, ..)| name.starts_with(prefix)).collect())
}

pub fn release_lease(c: &Connection, name: &str, holder: &str) -> R<()> {
    c.prepare_cached("DELETE FROM leases WHERE name = ?1 AND holder = ?2")
        .map_err(sql_err)?
        .execute(params![name, holder])
        .map_err(sql_err)?;
    Ok(())
}
