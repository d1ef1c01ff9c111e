//! What is copied: every table of SQLite schema v15 and the PostgreSQL table
//! (schema v12) it goes to, column by column, with the value's type on the
//! way. The two schemas are the same but for three spellings: SQLite's
//! `access_keys.user` is `user_name` (`user` is reserved in PostgreSQL),
//! flags (`users.root`, `buckets.object_lock`,
//! `object_versions.delete_marker`) are INTEGERs there and BOOLEANs here,
//! and ids are `INTEGER PRIMARY KEY` there and identity columns here.
//! Row ids go over as they are (objects', uploads', versions'), so the
//! rows that name them (segments, parts, version segments) need no
//! translation. A blob's CRC-64/NVME (`crc64`) is the u64's bit pattern in
//! a signed 64-bit integer on both sides, so it goes over as it is.
//!
//! [`crate::source::check_schema`] and [`crate::target::check_schema`]
//! compare these lists with the databases' own catalogues before anything
//! is copied, so a column added by a later migration on either side stops
//! the copy instead of being dropped.

/// The SQLite schema version this copier knows.
pub const SQLITE_VERSION: u32 = 15;
/// The PostgreSQL schema version this copier writes.
pub const POSTGRES_VERSION: u32 = 12;

/// PostgreSQL tables with no SQLite counterpart, left empty by the copy:
/// `bucket_totals` (v5) holds counter shards added to the totals in the
/// bucket rows, which the copy fills; no shards means those are the totals.
pub const POSTGRES_ONLY: &[&str] = &["bucket_totals"];

// A new migration on either side must be looked at here first.
const _: () = assert!(coffer_meta_sqlite::migrations::LATEST == SQLITE_VERSION);
const _: () = assert!(coffer_meta_postgres::migrations::LATEST == POSTGRES_VERSION);

/// How a column's value is read from SQLite and written to PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// INTEGER → BIGINT.
    Int8,
    /// INTEGER → INTEGER (32 bits; refused if it does not fit).
    Int4,
    /// INTEGER 0/1 → BOOLEAN (anything else is refused).
    Bool,
    /// TEXT → TEXT (valid UTF-8 without NUL, else refused).
    Text,
    /// BLOB (or TEXT) → BYTEA, byte for byte.
    Bytes,
    /// REAL (or INTEGER) → DOUBLE PRECISION.
    Float8,
}

/// One column: its name on each side, its kind, whether it may be NULL.
#[derive(Debug)]
pub struct Column {
    pub sqlite: &'static str,
    pub postgres: &'static str,
    pub kind: Kind,
    pub nullable: bool,
}

/// One table: its columns and the leading columns that form its primary key
/// (the copy pages through the table in that key's order).
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// How many of the first columns form the primary key.
    pub key_len: usize,
    /// An identity column whose sequence is moved past the copied ids.
    pub identity: Option<&'static str>,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { sqlite: name, postgres: name, kind, nullable: false }
}

const fn opt(name: &'static str, kind: Kind) -> Column {
    Column { sqlite: name, postgres: name, kind, nullable: true }
}

use Kind::*;

/// Every table, parents before children (foreign keys hold at each step).
pub const TABLES: &[Table] = &[
    Table { name: "projects", columns: &[col("name", Text), col("created", Int8)], key_len: 1, identity: None },
    Table { name: "project_names", columns: &[col("name", Text), col("created", Int8)], key_len: 1, identity: None },
    Table {
        name: "users",
        columns: &[
            col("project", Text),
            col("name", Text),
            col("id", Text),
            col("path", Text),
            col("root", Bool),
            col("created", Int8),
            col("inline_policies", Text),
            col("attached", Text),
            opt("password_hash", Text),
        ],
        key_len: 2,
        identity: None,
    },
    Table {
        name: "access_keys",
        columns: &[
            col("access_key", Text),
            col("sealed_secret", Text),
            col("project", Text),
            Column { sqlite: "user", postgres: "user_name", kind: Text, nullable: false },
            col("region", Text),
            col("status", Text),
            col("created", Int8),
            opt("expires", Int8),
            opt("last_used", Int8),
        ],
        key_len: 1,
        identity: None,
    },
    Table {
        name: "quotas",
        columns: &[col("scope_kind", Text), col("scope_name", Text), opt("max_bytes", Int8), opt("max_objects", Int8)],
        key_len: 2,
        identity: None,
    },
    Table {
        name: "buckets",
        columns: &[
            col("id", Int8),
            col("name", Text),
            col("region", Text),
            col("project", Text),
            col("created", Int8),
            col("bytes", Int8),
            col("objects", Int8),
            opt("metered_until", Int8),
            col("versioning", Int4),
            col("object_lock", Bool),
        ],
        key_len: 1,
        identity: Some("id"),
    },
    Table {
        name: "bucket_configs",
        columns: &[col("bucket_id", Int8), col("name", Text), col("value", Text)],
        key_len: 2,
        identity: None,
    },
    Table {
        name: "project_configs",
        columns: &[col("project", Text), col("name", Text), col("value", Text)],
        key_len: 2,
        identity: None,
    },
    Table {
        name: "objects",
        columns: &[
            col("id", Int8),
            col("bucket_id", Int8),
            col("key", Bytes),
            col("size", Int8),
            col("etag", Text),
            col("last_modified", Int8),
            col("meta", Text),
            opt("inline_data", Bytes),
            opt("version_id", Text),
            col("seq", Int8),
        ],
        key_len: 1,
        identity: Some("id"),
    },
    Table {
        name: "segments",
        columns: &[
            col("object_id", Int8),
            col("idx", Int4),
            col("blob_id", Text),
            col("size", Int8),
            opt("crc64", Int8),
        ],
        key_len: 2,
        identity: None,
    },
    Table {
        name: "object_versions",
        columns: &[
            col("id", Int8),
            col("bucket_id", Int8),
            col("key", Bytes),
            col("seq", Int8),
            opt("version_id", Text),
            col("delete_marker", Bool),
            col("size", Int8),
            col("etag", Text),
            col("last_modified", Int8),
            col("meta", Text),
            opt("inline_data", Bytes),
        ],
        key_len: 1,
        identity: Some("id"),
    },
    Table {
        name: "version_segments",
        columns: &[
            col("version_row", Int8),
            col("idx", Int4),
            col("blob_id", Text),
            col("size", Int8),
            opt("crc64", Int8),
        ],
        key_len: 2,
        identity: None,
    },
    Table {
        name: "uploads",
        columns: &[
            col("id", Int8),
            col("bucket_id", Int8),
            col("upload_id", Text),
            col("key", Bytes),
            col("initiated", Int8),
            col("meta", Text),
        ],
        key_len: 1,
        identity: Some("id"),
    },
    Table {
        name: "parts",
        columns: &[
            col("upload_row", Int8),
            col("part_number", Int4),
            col("size", Int8),
            col("etag", Text),
            col("last_modified", Int8),
            col("blob_id", Text),
            opt("checksum", Text),
            opt("crc64", Int8),
        ],
        key_len: 2,
        identity: None,
    },
    Table {
        name: "gc_queue",
        columns: &[col("blob_id", Text), col("queued", Int8), opt("claimed_until", Int8)],
        key_len: 1,
        identity: None,
    },
    Table {
        name: "usage_hourly",
        columns: &[
            col("project", Text),
            col("bucket", Text),
            col("hour", Int8),
            col("byte_hours", Float8),
            col("bytes", Int8),
            col("objects", Int8),
            col("req_get", Int8),
            col("req_put", Int8),
            col("req_list", Int8),
            col("req_delete", Int8),
            col("req_other", Int8),
            col("bytes_in", Int8),
            col("bytes_out", Int8),
        ],
        key_len: 3,
        identity: None,
    },
    Table {
        name: "signin_failures",
        columns: &[col("id", Int8), col("scope", Text), col("at", Int8)],
        key_len: 1,
        identity: Some("id"),
    },
    Table {
        name: "console_sessions",
        columns: &[col("principal", Text), col("generation", Int8)],
        key_len: 1,
        identity: None,
    },
    // A held name comes along too; its time is SQLite's clock, close
    // enough to the database's for a hold of seconds.
    Table {
        name: "bucket_tombstones",
        columns: &[col("name", Text), col("project", Text), col("region", Text), col("deleted_at", Int8)],
        key_len: 1,
        identity: None,
    },
    // A lease of the stopped server comes along and runs out on its own.
    Table {
        name: "leases",
        columns: &[col("name", Text), col("holder", Text), col("until", Int8)],
        key_len: 1,
        identity: None,
    },
    // A background job's shared state (the scrubber's place in its pass)
    // comes along, so the job goes on where it was.
    Table {
        name: "job_state",
        columns: &[col("name", Text), col("value", Text), col("updated", Int8)],
        key_len: 1,
        identity: None,
    },
];

impl Table {
    /// The primary key's columns.
    pub fn key(&self) -> &'static [Column] {
        &self.columns[..self.key_len]
    }
}
