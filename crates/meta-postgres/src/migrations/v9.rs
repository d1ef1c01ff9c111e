//! Schema v9: settings of a project as a whole (its Block Public Access
//! switches), one document per (project, name), like `bucket_configs` for a
//! bucket. Kept whether or not the project exists, as its quota is (the
//! identity layer checks that), and deleted with the project.
//!
//! And Object Ownership: a bucket without an `ownershipControls` document
//! now has ACLs disabled, so every bucket made before gets
//! `BucketOwnerPreferred`, which keeps its ACLs working as they did.

/// Up: v8 to v9.
pub const UP: &str = r#"
CREATE TABLE project_configs (
    project TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (project, name)
);
INSERT INTO bucket_configs (bucket_id, name, value)
    SELECT id, 'ownershipControls', 'BucketOwnerPreferred' FROM buckets
    ON CONFLICT DO NOTHING;
"#;

/// Down: v9 to v8. Projects lose their settings; buckets their Object
/// Ownership (v8 knows none: ACLs work everywhere).
pub const DOWN: &str = r#"
DROP TABLE project_configs;
DELETE FROM bucket_configs WHERE name = 'ownershipControls';
"#;
