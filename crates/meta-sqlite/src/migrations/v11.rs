//! Schema v11: deleted buckets' names, held for a while.
//!
//! `bucket_tombstones` keeps, for [`coffer_meta::BUCKET_NAME_HOLD`], the
//! project and region of a bucket just deleted: a bucket of the same name
//! made by another project or in another region meanwhile is refused, so a
//! gateway's short-lived view of the old bucket can never stand for a new
//! owner's. Rows older than the hold are dropped as buckets are deleted.

/// Up: v10 to v11.
pub const UP: &str = r#"
CREATE TABLE bucket_tombstones (
    name TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    region TEXT NOT NULL,
    deleted_at INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Down: v11 to v10. Names held now are free at once.
pub const DOWN: &str = r#"
DROP TABLE bucket_tombstones;
"#;
