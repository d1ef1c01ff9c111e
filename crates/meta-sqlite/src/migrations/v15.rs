//! Schema v15: every blob's CRC-64/NVME beside the rows that refer to it
//! (object segments, older versions' segments, upload parts), so reads and
//! the scrubber can tell a rotten blob from a good one. The value is the
//! u64 stored as its i64 bit pattern; rows written before keep NULL (their
//! blobs are checked by size only). And `job_state`: a background job's
//! state that every gateway sees (the scrubber's place in its pass).

/// Up: v14 to v15.
pub const UP: &str = r#"
ALTER TABLE segments ADD COLUMN crc64 INTEGER;
ALTER TABLE version_segments ADD COLUMN crc64 INTEGER;
ALTER TABLE parts ADD COLUMN crc64 INTEGER;
CREATE TABLE job_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Down: v15 to v14. The checksums and the jobs' states are forgotten.
pub const DOWN: &str = r#"
DROP TABLE job_state;
ALTER TABLE parts DROP COLUMN crc64;
ALTER TABLE version_segments DROP COLUMN crc64;
ALTER TABLE segments DROP COLUMN crc64;
"#;
