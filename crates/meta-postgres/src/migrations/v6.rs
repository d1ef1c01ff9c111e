//! Schema v6: listings read the index only.
//!
//! The unique `(bucket_id, key)` index also carries what a listing shows of
//! each object (`size`, `etag`, `last_modified`, as `INCLUDE` columns), so
//! a page of 1,000 keys is an index-only scan of a dozen index pages instead
//! of 1,000 reads of heap pages spread over the table (a bucket written over
//! time keeps neighbouring keys on unrelated pages). Measured on a bucket of
//! 10 million objects loaded in arrival order (`scripts/scale-test`), with
//! the pages outside shared buffers: one folder's 1,000 keys read 1,013
//! heap and index pages in 56 ms, and read 30 index pages in 2.3 ms with
//! this index (`EXPLAIN ANALYZE`). Heap pages changed since the last vacuum are still
//! visited (the visibility map says which). Built in the migration's
//! transaction, so writes to `objects` wait for the build: measured on 10
//! million rows on a 2-core machine, 20–35 s up and about 30 s down.

/// Up: v5 to v6. The new constraint is in place before the old one goes.
pub const UP: &str = r#"
ALTER TABLE objects ADD CONSTRAINT objects_listing UNIQUE (bucket_id, key) INCLUDE (size, etag, last_modified);
ALTER TABLE objects DROP CONSTRAINT objects_bucket_id_key_key;
"#;

/// Down: v6 to v5.
pub const DOWN: &str = r#"
ALTER TABLE objects ADD CONSTRAINT objects_bucket_id_key_key UNIQUE (bucket_id, key);
ALTER TABLE objects DROP CONSTRAINT objects_listing;
"#;
