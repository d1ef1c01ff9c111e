//! Schema v12: every blob's CRC-64/NVME beside the rows that refer to it,
//! as SQLite's v15: `crc64` on `segments`, `version_segments` and `parts`,
//! the u64 stored as its `bigint` bit pattern (`v as i64`, read back with
//! `as u64`); NULL for rows written before (their blobs are checked by
//! size only). Adding a nullable column with no default rewrites nothing.
//!
//! The three tables' `blob_id` become `COLLATE "C"`, so their blob
//! indexes (v1's `segments_by_blob`, `parts_by_blob`, v10's
//! `version_segments_by_blob`) are in bytewise order, whatever the
//! database's collation: `MetaStore::blob_refs` (the scrubber's walk, in
//! blob id order) is a range seek on each of them. Only the indexes are
//! rebuilt (a change of collation alone leaves the rows as they are);
//! equality look-ups (`blobs_known`, the batched PUT's re-run check) are
//! unchanged, and comparisons with `gc_queue.blob_id` (default collation)
//! take the `"C"` side's.
//!
//! And `job_state`, as SQLite's v15: a background job's state that every
//! gateway sees (the scrubber's place in its pass), `updated` in Unix
//! milliseconds. Its names are `COLLATE "C"` like the blob ids.

/// Up: v11 to v12.
pub const UP: &str = r#"
ALTER TABLE segments ADD COLUMN crc64 BIGINT, ALTER COLUMN blob_id TYPE TEXT COLLATE "C";
ALTER TABLE version_segments ADD COLUMN crc64 BIGINT, ALTER COLUMN blob_id TYPE TEXT COLLATE "C";
ALTER TABLE parts ADD COLUMN crc64 BIGINT, ALTER COLUMN blob_id TYPE TEXT COLLATE "C";
CREATE TABLE job_state (
    name TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL,
    updated BIGINT NOT NULL
);
"#;

/// Down: v12 to v11. The checksums and the jobs' states are forgotten; the
/// blob ids go back to the database's collation.
pub const DOWN: &str = r#"
DROP TABLE job_state;
ALTER TABLE parts DROP COLUMN crc64, ALTER COLUMN blob_id TYPE TEXT;
ALTER TABLE version_segments DROP COLUMN crc64, ALTER COLUMN blob_id TYPE TEXT;
ALTER TABLE segments DROP COLUMN crc64, ALTER COLUMN blob_id TYPE TEXT;
"#;
