//! Schema v8: deleted buckets' names, held for a while.
//!
//! `bucket_tombstones` keeps, for [`coffer_meta::BUCKET_NAME_HOLD`], the
//! project and region of a bucket just deleted: a bucket of the same name
//! made by another project or in another region meanwhile is refused, so a
//! gateway's short-lived view of the old bucket can never stand for a new
//! owner's. Times are the database's clock (every gateway reads the same
//! one). Rows older than the hold are dropped as buckets are deleted.

/// Up: v7 to v8.
pub const UP: &str = r#"
CREATE TABLE bucket_tombstones (
    name TEXT COLLATE "C" PRIMARY KEY,
    project TEXT COLLATE "C" NOT NULL,
    region TEXT NOT NULL,
    deleted_at BIGINT NOT NULL
);
"#;

/// Down: v8 to v7. Names held now are free at once.
pub const DOWN: &str = r#"
DROP TABLE bucket_tombstones;
"#;
