//! Schema v4: tenancy.
//!
//! - `buckets` gains its owning `project` (`''`, the operator's, for existing
//!   buckets), its stored totals `bytes` (objects plus parts of uploads in
//!   progress) and `objects`, kept in the same transaction as every write, and
//!   `metered_until` (millis; `NULL`: never metered, metering starts at
//!   `created`). Existing buckets get their totals computed here, and are
//!   marked metered up to the upgrade: their past was never tracked, and
//!   integrating today's size back to their creation would bill history that
//!   did not happen (and write one row per hour since).
//! - `projects`, `users`, `access_keys`, `quotas`, `usage_hourly`.
//! - The operator's `credentials` (plain secrets) move into `access_keys` with
//!   a `plain:` sealed secret, which the identity layer re-seals under the
//!   master key at start-up.

/// Up: v3 to v4.
pub const UP: &str = r#"
ALTER TABLE buckets ADD COLUMN project TEXT NOT NULL DEFAULT '';
ALTER TABLE buckets ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE buckets ADD COLUMN objects INTEGER NOT NULL DEFAULT 0;
ALTER TABLE buckets ADD COLUMN metered_until INTEGER;
CREATE INDEX buckets_by_project ON buckets (project);
UPDATE buckets SET
    objects = (SELECT count(*) FROM objects o WHERE o.bucket_id = buckets.id),
    bytes = (SELECT coalesce(sum(o.size), 0) FROM objects o WHERE o.bucket_id = buckets.id)
          + (SELECT coalesce(sum(p.size), 0) FROM parts p JOIN uploads u ON p.upload_row = u.id
             WHERE u.bucket_id = buckets.id),
    metered_until = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER); -- now, Unix millis

CREATE TABLE projects (
    name TEXT PRIMARY KEY,
    created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE users (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    root INTEGER NOT NULL,
    created INTEGER NOT NULL,
    inline_policies TEXT NOT NULL, -- JSON object: policy name -> document text
    attached TEXT NOT NULL,        -- JSON array of preset policy names
    PRIMARY KEY (project, name)
) WITHOUT ROWID;
CREATE TABLE access_keys (
    access_key TEXT PRIMARY KEY,
    sealed_secret TEXT NOT NULL,
    project TEXT NOT NULL,
    user TEXT NOT NULL,
    region TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created INTEGER NOT NULL,
    expires INTEGER,
    last_used INTEGER
);
CREATE INDEX access_keys_by_user ON access_keys (project, user, created);
CREATE TABLE quotas (
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('project', 'bucket')),
    scope_name TEXT NOT NULL,
    max_bytes INTEGER,
    max_objects INTEGER,
    PRIMARY KEY (scope_kind, scope_name)
) WITHOUT ROWID;
CREATE TABLE usage_hourly (
    project TEXT NOT NULL,
    bucket TEXT NOT NULL,
    hour INTEGER NOT NULL, -- Unix seconds, a multiple of 3600
    byte_hours REAL NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    objects INTEGER NOT NULL DEFAULT 0,
    req_get INTEGER NOT NULL DEFAULT 0,
    req_put INTEGER NOT NULL DEFAULT 0,
    req_list INTEGER NOT NULL DEFAULT 0,
    req_delete INTEGER NOT NULL DEFAULT 0,
    req_other INTEGER NOT NULL DEFAULT 0,
    bytes_in INTEGER NOT NULL DEFAULT 0,
    bytes_out INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project, bucket, hour)
) WITHOUT ROWID;
CREATE INDEX usage_by_hour ON usage_hourly (project, hour);

INSERT INTO access_keys (access_key, sealed_secret, project, user, region, status, created, expires, last_used)
    SELECT access_key, 'plain:' || secret_key, '', principal, '', 'Active', created, NULL, NULL FROM credentials;
DROP TABLE credentials;
"#;

/// Down: v4 to v3. Lossy by nature: projects, users, quotas, usage and bucket
/// ownership are dropped, and only operator keys whose secret is still
/// `plain:` (not yet re-sealed under the master key) become credentials
/// again; every other key is lost.
pub const DOWN: &str = r#"
CREATE TABLE credentials (
    access_key TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL,
    principal TEXT NOT NULL,
    created INTEGER NOT NULL
);
INSERT INTO credentials (access_key, secret_key, principal, created)
    SELECT access_key, substr(sealed_secret, 7), user, created FROM access_keys
    WHERE project = '' AND substr(sealed_secret, 1, 6) = 'plain:';

DROP TABLE usage_hourly;
DROP TABLE quotas;
DROP TABLE access_keys;
DROP TABLE users;
DROP TABLE projects;

DROP INDEX buckets_by_project;
ALTER TABLE buckets DROP COLUMN metered_until;
ALTER TABLE buckets DROP COLUMN objects;
ALTER TABLE buckets DROP COLUMN bytes;
ALTER TABLE buckets DROP COLUMN project;
"#;
