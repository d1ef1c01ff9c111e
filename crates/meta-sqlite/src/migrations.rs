//! Versioned schema migrations, tracked in `PRAGMA user_version`.
//!
//! Each migration has an `up` and a `down` script; both are tested. Never edit a
//! released migration: add a new one.

use rusqlite::Connection;

#[cfg(test)]
mod tests;
mod v10;
mod v11;
mod v12;
mod v13;
mod v14;
mod v15;
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
    Migration {
        version: 1,
        up: r#"
CREATE TABLE buckets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    bucket_id INTEGER NOT NULL REFERENCES buckets(id),
    key BLOB NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    meta TEXT NOT NULL,
    inline_data BLOB,
    UNIQUE (bucket_id, key)
);
CREATE TABLE segments (
    object_id INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (object_id, idx)
) WITHOUT ROWID;
CREATE INDEX segments_by_blob ON segments (blob_id);
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    bucket_id INTEGER NOT NULL REFERENCES buckets(id),
    upload_id TEXT NOT NULL UNIQUE,
    key BLOB NOT NULL,
    initiated INTEGER NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX uploads_by_key ON uploads (bucket_id, key, upload_id);
CREATE TABLE parts (
    upload_row INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    PRIMARY KEY (upload_row, part_number)
) WITHOUT ROWID;
CREATE INDEX parts_by_blob ON parts (blob_id);
CREATE TABLE gc_queue (
    blob_id TEXT PRIMARY KEY,
    queued INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX gc_by_time ON gc_queue (queued);
CREATE TABLE credentials (
    access_key TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL,
    principal TEXT NOT NULL,
    created INTEGER NOT NULL
);
"#,
        down: r#"
DROP TABLE credentials;
DROP TABLE gc_queue;
DROP TABLE parts;
DROP TABLE uploads;
DROP TABLE segments;
DROP TABLE objects;
DROP TABLE buckets;
"#,
    },
    // v2: each multipart part keeps its S3 checksum (JSON: algorithm, value,
    // kind), so completion can build the object's composite or full checksum.
    Migration {
        version: 2,
        up: "ALTER TABLE parts ADD COLUMN checksum TEXT;",
        down: "ALTER TABLE parts DROP COLUMN checksum;",
    },
    // v3: named per-bucket configuration documents (CORS, and later policies).
    Migration {
        version: 3,
        up: "CREATE TABLE bucket_configs (
    bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (bucket_id, name)
) WITHOUT ROWID;",
        down: "DROP TABLE bucket_configs;",
    },
    // v4: tenancy. Buckets get an owning project and stored totals; projects,
    // users, access keys (replacing the operator's `credentials`), quotas and
    // hourly usage. See `v4.rs`.
    Migration { version: 4, up: v4::UP, down: v4::DOWN },
    // v5: users get an IAM path and a stable id (kept across renames). See `v5.rs`.
    Migration { version: 5, up: v5::UP, down: v5::DOWN },
    // v6: users get a console password hash (NULL: none). See `v6.rs`.
    Migration { version: 6, up: v6::UP, down: v6::DOWN },
    // v7: the console's shared state: failed sign-ins (throttle) and session
    // generations (sign-out). See `v7.rs`.
    Migration { version: 7, up: v7::UP, down: v7::DOWN },
    // v8: claims on the garbage queue (one collector per blob). See `v8.rs`.
    Migration { version: 8, up: v8::UP, down: v8::DOWN },
    // v9: named leases (one process at a time runs a background job). See `v9.rs`.
    Migration { version: 9, up: v9::UP, down: v9::DOWN },
    // v10: buckets indexed by (project, name) for paged per-project listings. See `v10.rs`.
    Migration { version: 10, up: v10::UP, down: v10::DOWN },
    // v11: deleted buckets' names held for their last owner a while. See `v11.rs`.
    Migration { version: 11, up: v11::UP, down: v11::DOWN },
    // v12: settings of a project as a whole (Block Public Access). See `v12.rs`.
    Migration { version: 12, up: v12::UP, down: v12::DOWN },
    // v13: versioning and object lock: older versions beside current objects. See `v13.rs`.
    Migration { version: 13, up: v13::UP, down: v13::DOWN },
    // v14: project names are never reused (deleted projects' names kept). See `v14.rs`.
    Migration { version: 14, up: v14::UP, down: v14::DOWN },
    // v15: each blob's CRC-64/NVME beside the rows that refer to it. See `v15.rs`.
    Migration { version: 15, up: v15::UP, down: v15::DOWN },
];

/// The newest schema version.
pub const LATEST: u32 = 15;

/// The schema version of `conn`.
pub fn current(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Moves the schema up or down to `target`, one migration per transaction.
pub fn migrate(conn: &mut Connection, target: u32) -> rusqlite::Result<()> {
    let mut v = current(conn)?;
    if v > LATEST {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {v} is newer than this coffer ({LATEST}); upgrade coffer"
        )));
    }
    while v < target {
        let m = &MIGRATIONS[v as usize];
        let tx = conn.transaction()?;
        tx.execute_batch(m.up)?;
        tx.pragma_update(None, "user_version", m.version)?;
        tx.commit()?;
        v = m.version;
    }
    while v > target {
        let m = &MIGRATIONS[v as usize - 1];
        let tx = conn.transaction()?;
        tx.execute_batch(m.down)?;
        tx.pragma_update(None, "user_version", m.version - 1)?;
        tx.commit()?;
        v = m.version - 1;
    }
    Ok(())
}
