//! Schema v13: versioning and object lock.
//!
//! Buckets get their versioning state (`versioning`: 0 unversioned, 1
//! enabled, 2 suspended) and `object_lock`. An `objects` row stays each
//! key's current version and gets its `version_id` (NULL: the null
//! version, as every object written before is) and `seq`, its place among
//! its key's versions. Every other version, delete markers included, is an
//! `object_versions` row owning its blobs in `version_segments` (indexed by
//! blob, as `segments` is, for the orphan sweep). A bucket's stored totals
//! count every version.

/// Up: v12 to v13.
pub const UP: &str = r#"
ALTER TABLE buckets ADD COLUMN versioning INTEGER NOT NULL DEFAULT 0;
ALTER TABLE buckets ADD COLUMN object_lock INTEGER NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN version_id TEXT;
ALTER TABLE objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE object_versions (
    id INTEGER PRIMARY KEY,
    bucket_id INTEGER NOT NULL REFERENCES buckets(id),
    key BLOB NOT NULL,
    seq INTEGER NOT NULL,
    version_id TEXT,
    delete_marker INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    meta TEXT NOT NULL,
    inline_data BLOB
);
CREATE UNIQUE INDEX object_versions_by_key ON object_versions (bucket_id, key, seq DESC);
CREATE TABLE version_segments (
    version_row INTEGER NOT NULL REFERENCES object_versions(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (version_row, idx)
) WITHOUT ROWID;
CREATE INDEX version_segments_by_blob ON version_segments (blob_id);
"#;

/// Down: v13 to v12. Older versions and delete markers are dropped (their
/// blobs queued for collection) and the totals counted again from the
/// current objects; buckets forget versioning and object lock.
pub const DOWN: &str = r#"
INSERT OR IGNORE INTO gc_queue (blob_id, queued) SELECT blob_id, 0 FROM version_segments;
DROP TABLE version_segments;
DROP TABLE object_versions;
ALTER TABLE objects DROP COLUMN seq;
ALTER TABLE objects DROP COLUMN version_id;
ALTER TABLE buckets DROP COLUMN object_lock;
ALTER TABLE buckets DROP COLUMN versioning;
UPDATE buckets SET
    objects = (SELECT count(*) FROM objects o WHERE o.bucket_id = buckets.id),
    bytes = (SELECT coalesce(sum(o.size), 0) FROM objects o WHERE o.bucket_id = buckets.id)
        + (SELECT coalesce(sum(p.size), 0) FROM parts p JOIN uploads u ON p.upload_row = u.id WHERE u.bucket_id = buckets.id);
"#;
