//! Schema v5: stored totals in counter shards, so writers of one bucket that
//! no quota bounds do not take turns on the bucket's row.
//!
//! `bucket_totals` holds up to 64 rows per bucket (one per server connection), each
//! a delta (bytes, objects) that writers add to. A bucket's totals are its
//! row's `bytes`/`objects` (the folded part) plus the sum of its shards. A
//! writer under a quota locks the bucket's row and folds the shards back into
//! it (`quota::lock_bucket`); see `quota.rs` for the locking rules.

/// Up: v4 to v5. Existing totals stay in the bucket rows (the folded part).
pub const UP: &str = r#"
CREATE TABLE bucket_totals (
    bucket_id BIGINT NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    shard INTEGER NOT NULL,
    bytes BIGINT NOT NULL DEFAULT 0,
    objects BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket_id, shard)
);
"#;

/// Down: v5 to v4. The shards are folded back into their bucket rows first,
/// so no total is lost.
pub const DOWN: &str = r#"
LOCK TABLE buckets, bucket_totals IN EXCLUSIVE MODE;
UPDATE buckets b SET bytes = b.bytes + t.bytes, objects = b.objects + t.objects
FROM (SELECT bucket_id, sum(bytes)::int8 AS bytes, sum(objects)::int8 AS objects
      FROM bucket_totals GROUP BY bucket_id) t
WHERE b.id = t.bucket_id;
DROP TABLE bucket_totals;
"#;
