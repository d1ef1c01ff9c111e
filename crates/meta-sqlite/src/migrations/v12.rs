//! Schema v12: settings of a project as a whole (its Block Public Access
//! switches), one document per (project, name), like `bucket_configs` for a
//! bucket. Kept whether or not the project exists, as its quota is (the
//! identity layer checks that), and deleted with the project.
//!
//! And Object Ownership: a bucket without an `ownershipControls` document
//! now has ACLs disabled, so every bucket made before gets
//! `BucketOwnerPreferred`, which keeps its ACLs working as they did.

/// Up: v11 to v12.
pub const UP: &str = r#"
CREATE TABLE project_configs (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (project, name)
) WITHOUT ROWID;
INSERT OR IGNORE INTO bucket_configs (bucket_id, name, value)
    SELECT id, 'ownershipControls', 'BucketOwnerPreferred' FROM buckets;
"#;

/// Down: v12 to v11. Projects lose their settings; buckets their Object
/// Ownership (v11 knows none: ACLs work everywhere).
pub const DOWN: &str = r#"
DROP TABLE project_configs;
DELETE FROM bucket_configs WHERE name = 'ownershipControls';
"#;
