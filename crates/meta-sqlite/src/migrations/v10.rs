//! Schema v10: buckets indexed by (project, name).
//!
//! A project's bucket listing ([`coffer_meta::MetaStore::list_buckets`]
//! with a project) is a seek on this index, already in name order, one page
//! at a time; v4's index on `project` alone (which stored totals of a
//! project also use) is replaced, since this one serves both.

/// Up: v9 to v10.
pub const UP: &str = r#"
DROP INDEX buckets_by_project;
CREATE INDEX buckets_by_project_name ON buckets (project, name);
"#;

/// Down: v10 to v9.
pub const DOWN: &str = r#"
DROP INDEX buckets_by_project_name;
CREATE INDEX buckets_by_project ON buckets (project);
"#;
