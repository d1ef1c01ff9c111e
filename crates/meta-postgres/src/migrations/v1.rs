//! Schema v1: everything SQLite's schema v7 holds, in one step.
//!
//! - Keys (`objects.key`, `uploads.key`) are `bytea`: PostgreSQL compares
//!   them bytewise, so the `(bucket_id, key)` index serves listings in S3's
//!   order whatever the database's collation. Names that are listed in order
//!   (buckets, projects, users, keys, upload ids) are `COLLATE "C"`.
//! - One row per object in `objects` (blob segments beside it in
//!   `segments`); no table or index is ever created per bucket.
//! - Each bucket row keeps its stored totals (`bytes`, `objects`), changed in
//!   the same transaction as every write, under that row's lock.
//! - `users.user_name`/`access_keys.user_name`: `user` is reserved in SQL.

/// Up: nothing to v1.
pub const UP: &str = r#"
CREATE TABLE buckets (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    region TEXT NOT NULL,
    project TEXT COLLATE "C" NOT NULL,
    created BIGINT NOT NULL,
    bytes BIGINT NOT NULL DEFAULT 0,
    objects BIGINT NOT NULL DEFAULT 0,
    metered_until BIGINT
);
CREATE INDEX buckets_by_project ON buckets (project);
CREATE TABLE objects (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_id BIGINT NOT NULL REFERENCES buckets (id),
    key BYTEA NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    meta TEXT NOT NULL,
    inline_data BYTEA,
    UNIQUE (bucket_id, key)
);
CREATE TABLE segments (
    object_id BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (object_id, idx)
);
CREATE INDEX segments_by_blob ON segments (blob_id);
CREATE TABLE uploads (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_id BIGINT NOT NULL REFERENCES buckets (id),
    upload_id TEXT COLLATE "C" NOT NULL UNIQUE,
    key BYTEA NOT NULL,
    initiated BIGINT NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX uploads_by_key ON uploads (bucket_id, key, upload_id);
CREATE TABLE parts (
    upload_row BIGINT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    blob_id TEXT NOT NULL,
    checksum TEXT,
    PRIMARY KEY (upload_row, part_number)
);
CREATE INDEX parts_by_blob ON parts (blob_id);
CREATE TABLE gc_queue (
    blob_id TEXT PRIMARY KEY,
    queued BIGINT NOT NULL
);
CREATE INDEX gc_by_time ON gc_queue (queued);
CREATE TABLE bucket_configs (
    bucket_id BIGINT NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (bucket_id, name)
);
CREATE TABLE projects (
    name TEXT COLLATE "C" PRIMARY KEY,
    created BIGINT NOT NULL
);
CREATE TABLE users (
    project TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    id TEXT NOT NULL,
    path TEXT NOT NULL,
    root BOOLEAN NOT NULL,
    created BIGINT NOT NULL,
    inline_policies TEXT NOT NULL,
    attached TEXT NOT NULL,
    password_hash TEXT,
    PRIMARY KEY (project, name)
);
CREATE TABLE access_keys (
    access_key TEXT COLLATE "C" PRIMARY KEY,
    sealed_secret TEXT NOT NULL,
    project TEXT COLLATE "C" NOT NULL,
    user_name TEXT COLLATE "C" NOT NULL,
    region TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created BIGINT NOT NULL,
    expires BIGINT,
    last_used BIGINT
);
CREATE INDEX access_keys_by_user ON access_keys (project, user_name, created);
CREATE TABLE quotas (
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('project', 'bucket')),
    scope_name TEXT COLLATE "C" NOT NULL,
    max_bytes BIGINT,
    max_objects BIGINT,
    PRIMARY KEY (scope_kind, scope_name)
);
CREATE TABLE usage_hourly (
    project TEXT COLLATE "C" NOT NULL,
    bucket TEXT COLLATE "C" NOT NULL,
    hour BIGINT NOT NULL,
    byte_hours DOUBLE PRECISION NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    objects BIGINT NOT NULL DEFAULT 0,
    req_get BIGINT NOT NULL DEFAULT 0,
    req_put BIGINT NOT NULL DEFAULT 0,
    req_list BIGINT NOT NULL DEFAULT 0,
    req_delete BIGINT NOT NULL DEFAULT 0,
    req_other BIGINT NOT NULL DEFAULT 0,
    bytes_in BIGINT NOT NULL DEFAULT 0,
    bytes_out BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project, bucket, hour)
);
CREATE INDEX usage_by_hour ON usage_hourly (project, hour);
CREATE TABLE signin_failures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX signin_failures_by_scope ON signin_failures (scope, at);
CREATE INDEX signin_failures_by_time ON signin_failures (at);
CREATE TABLE console_sessions (
    principal TEXT COLLATE "C" PRIMARY KEY,
    generation BIGINT NOT NULL
);
"#;

/// Down: v1 to nothing (every table, in dependency order).
pub const DOWN: &str = r#"
DROP TABLE console_sessions;
DROP TABLE signin_failures;
DROP TABLE usage_hourly;
DROP TABLE quotas;
DROP TABLE access_keys;
DROP TABLE users;
DROP TABLE projects;
DROP TABLE bucket_configs;
DROP TABLE gc_queue;
DROP TABLE parts;
DROP TABLE uploads;
DROP TABLE segments;
DROP TABLE objects;
DROP TABLE buckets;
"#;
