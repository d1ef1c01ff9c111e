//! Schema v4: buckets indexed by (project, name).
//!
//! A project's bucket listing ([`coffer_meta::MetaStore::list_buckets`]
//! with a project) is a seek on this index, already in name order (`name`
//! is `COLLATE "C"`), one page at a time; v1's index on `project` alone
//! (which a project's stored totals also use) is replaced, since this one
//! serves both.

/// Up: v3 to v4.
pub const UP: &str = r#"
DROP INDEX buckets_by_project;
CREATE INDEX buckets_by_project_name ON buckets (project, name);
"#;

/// Down: v4 to v3.
pub const DOWN: &str = r#"
DROP INDEX buckets_by_project_name;
CREATE INDEX buckets_by_project ON buckets (project);
"#;
