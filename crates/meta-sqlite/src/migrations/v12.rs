//! Schema v12: settings of a project as a whole (its Block Public Access
//! switches), one document per (project, name), like `bucket_configs` for a
//! bucket. Kept whether or not the project exists, as its quota is (the
//! identity layer checks that), and deleted with the project.

/// Up: v11 to v12.
pub const UP: &str = r#"
CREATE TABLE project_configs (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (project, name)
) WITHOUT ROWID;
"#;

/// Down: v12 to v11. Projects lose their settings.
pub const DOWN: &str = r#"
DROP TABLE project_configs;
"#;
