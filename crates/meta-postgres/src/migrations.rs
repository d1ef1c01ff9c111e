//! Versioned schema migrations, each with an `up` and a `down` script, both
//! tested (`migrations/tests.rs`, against a real server).
//!
//! The version lives in the one-row table `coffer_schema`. Gateways may start
//! at once: [`migrate`] takes a session advisory lock (keyed by the schema
//! it migrates) around reading the version and applying steps, so one
//! gateway migrates and the others find the work done. Every step runs in its
//! own transaction (PostgreSQL's DDL is transactional), so a crash leaves the
//! schema at a version, never between two. Nothing else in the store issues
//! DDL: no table is ever created or dropped per bucket or per request.
//!
//! Never edit a released migration: add a new one.

use tokio_postgres::Client;

#[cfg(test)]
mod tests;
mod v1;
mod v10;
mod v11;
mod v12;
mod v2;
mod v3;
mod v4;
mod v5;
mod v6;
mod v7;
mod v8;
mod v9;

/// One schema step.
pub struct Migration {
    pub version: u32,
    pub up: &'static str,
    pub down: &'static str,
}

/// Every migration in order.
pub const MIGRATIONS: &[Migration] = &[
    // v1: the whole schema of SQLite's v7 (tenancy, console state). See `v1.rs`.
    Migration { version: 1, up: v1::UP, down: v1::DOWN },
    // v2: claims on the garbage queue (one collector per blob). See `v2.rs`.
    Migration { version: 2, up: v2::UP, down: v2::DOWN },
    // v3: named leases (one gateway at a time runs a background job). See `v3.rs`.
    Migration { version: 3, up: v3::UP, down: v3::DOWN },
    // v4: buckets indexed by (project, name) for paged per-project listings. See `v4.rs`.
    Migration { version: 4, up: v4::UP, down: v4::DOWN },
    // v5: stored totals in counter shards (`bucket_totals`). See `v5.rs`.
    Migration { version: 5, up: v5::UP, down: v5::DOWN },
    // v6: the unique (bucket_id, key) index carries what listings show. See `v6.rs`.
    Migration { version: 6, up: v6::UP, down: v6::DOWN },
    // v7: inline objects of up to a page stay in their rows, uncompressed. See `v7.rs`.
    Migration { version: 7, up: v7::UP, down: v7::DOWN },
    // v8: deleted buckets' names held for their last owner a while. See `v8.rs`.
    Migration { version: 8, up: v8::UP, down: v8::DOWN },
    // v9: settings of a project as a whole (Block Public Access). See `v9.rs`.
    Migration { version: 9, up: v9::UP, down: v9::DOWN },
    // v10: versioning and object lock: older versions beside current objects. See `v10.rs`.
    Migration { version: 10, up: v10::UP, down: v10::DOWN },
    // v11: project names are never reused (deleted projects' names kept). See `v11.rs`.
    Migration { version: 11, up: v11::UP, down: v11::DOWN },
    // v12: each blob's CRC-64/NVME beside its segments and parts; blob ids in bytewise order. See `v12.rs`.
    Migration { version: 12, up: v12::UP, down: v12::DOWN },
];

/// The newest schema version.
pub const LATEST: u32 = 12;

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database schema version {0} is newer than this coffer ({LATEST}); upgrade coffer")]
    TooNew(u32),
    #[error("migrating the schema: {0}")]
    Db(#[from] tokio_postgres::Error),
}

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS coffer_schema (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    version INTEGER NOT NULL
);
INSERT INTO coffer_schema (version) VALUES (0) ON CONFLICT DO NOTHING;";

/// The schema version of the database `client` reaches (0: none).
pub async fn current(client: &Client) -> Result<u32, MigrateError> {
    let exists: bool = client.query_typed_one("SELECT to_regclass('coffer_schema') IS NOT NULL", &[]).await?.get(0);
    if !exists {
        return Ok(0);
    }
    let v: i32 = client.query_typed_one("SELECT version FROM coffer_schema", &[]).await?.get(0);
    Ok(u32::try_from(v).unwrap_or(0))
}

/// Moves the schema up or down to `target`, one migration per transaction,
/// holding the migration lock throughout.
pub async fn migrate(client: &mut Client, target: u32) -> Result<(), MigrateError> {
    client.batch_execute("SELECT pg_advisory_lock(hashtext('coffer-migrate:' || current_schema()))").await?;
    let result = steps(client, target).await;
    let unlock =
        client.batch_execute("SELECT pg_advisory_unlock(hashtext('coffer-migrate:' || current_schema()))").await;
    result?;
    unlock?;
    Ok(())
}

async fn steps(client: &mut Client, target: u32) -> Result<(), MigrateError> {
    let mut v = current(client).await?;
    if v > LATEST {
        return Err(MigrateError::TooNew(v));
    }
    let target = target.min(LATEST);
    if v == 0 && target > 0 {
        client.batch_execute(VERSION_TABLE).await?;
    }
    while v < target {
        let m = &MIGRATIONS[v as usize];
        let tx = client.transaction().await?;
        tx.batch_execute(m.up).await?;
        tx.batch_execute(&format!("UPDATE coffer_schema SET version = {}", m.version)).await?;
        tx.commit().await?;
        v = m.version;
    }
    while v > target {
        let m = &MIGRATIONS[v as usize - 1];
        let tx = client.transaction().await?;
        tx.batch_execute(m.down).await?;
        tx.batch_execute(&format!("UPDATE coffer_schema SET version = {}", m.version - 1)).await?;
        tx.commit().await?;
        v = m.version - 1;
    }
    if target == 0 {
        client.batch_execute("DROP TABLE IF EXISTS coffer_schema").await?;
    }
    Ok(())
}
