//! Schema v10: versioning and object lock, as SQLite's v13 (the same model,
//! `coffer_meta::versions`).
//!
//! Buckets get their versioning state (`versioning`: 0 unversioned, 1
//! enabled, 2 suspended) and `object_lock`. An `objects` row stays each
//! key's current version and gets its `version_id` (NULL: the null
//! version, as every object written before is) and `seq`, its place among
//! its key's versions. Every other version, delete markers included, is an
//! `object_versions` row owning its blobs in `version_segments` (indexed by
//! blob, as `segments` is, for the orphan sweep and `blobs_known`). A
//! bucket's stored totals count every version.
//!
//! Keys are `bytea` as in `objects`. The unique `(bucket_id, key, seq
//! DESC)` index is what a version listing seeks on, newest first within a
//! key; like v6's index of `objects` it carries what a listing shows, so a
//! page of versions reads the index alone. Inline data is stored as v7
//! stores it in `objects` (rows of up to a page stay in the heap,
//! uncompressed).

/// Up: v9 to v10.
pub const UP: &str = r#"
ALTER TABLE buckets ADD COLUMN versioning INTEGER NOT NULL DEFAULT 0;
ALTER TABLE buckets ADD COLUMN object_lock BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE objects ADD COLUMN version_id TEXT;
ALTER TABLE objects ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE TABLE object_versions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_id BIGINT NOT NULL REFERENCES buckets (id),
    key BYTEA NOT NULL,
    seq BIGINT NOT NULL,
    version_id TEXT,
    delete_marker BOOLEAN NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    meta TEXT NOT NULL,
    inline_data BYTEA
);
ALTER TABLE object_versions ALTER COLUMN inline_data SET STORAGE EXTERNAL;
ALTER TABLE object_versions SET (toast_tuple_target = 8160);
CREATE UNIQUE INDEX object_versions_by_key ON object_versions (bucket_id, key, seq DESC)
    INCLUDE (version_id, delete_marker, size, etag, last_modified);
CREATE TABLE version_segments (
    version_row BIGINT NOT NULL REFERENCES object_versions (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (version_row, idx)
);
CREATE INDEX version_segments_by_blob ON version_segments (blob_id);
"#;

/// Down: v10 to v9. Older versions and delete markers are dropped (their
/// blobs queued for collection at once) and the totals counted again from
/// the current objects and the parts of uploads in progress, folded into
/// the bucket rows (no shards left); buckets forget versioning and object
/// lock. The tables are locked first, so no writer changes them between
/// the queueing and the count.
pub const DOWN: &str = r#"
LOCK TABLE buckets, bucket_totals, objects, object_versions, version_segments, uploads, parts IN EXCLUSIVE MODE;
INSERT INTO gc_queue (blob_id, queued) SELECT blob_id, 0 FROM version_segments ON CONFLICT DO NOTHING;
DROP TABLE version_segments;
DROP TABLE object_versions;
ALTER TABLE objects DROP COLUMN seq;
ALTER TABLE objects DROP COLUMN version_id;
ALTER TABLE buckets DROP COLUMN object_lock;
ALTER TABLE buckets DROP COLUMN versioning;
DELETE FROM bucket_totals;
UPDATE buckets b SET
    objects = (SELECT count(*) FROM objects o WHERE o.bucket_id = b.id),
    bytes = (SELECT coalesce(sum(o.size), 0) FROM objects o WHERE o.bucket_id = b.id)::int8
        + (SELECT coalesce(sum(p.size), 0) FROM parts p JOIN uploads u ON p.upload_row = u.id
           WHERE u.bucket_id = b.id)::int8;
"#;
