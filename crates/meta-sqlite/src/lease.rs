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

pub fn release_lease(c: &Connection, name: &str, holder: &str) -> R<()> {
    c.prepare_cached("DELETE FROM leases WHERE name = ?1 AND holder = ?2")
        .map_err(sql_err)?
        .execute(params![name, holder])
        .map_err(sql_err)?;
    Ok(())
}
