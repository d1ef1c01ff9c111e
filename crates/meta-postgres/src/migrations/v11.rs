//! Schema v11: every project name ever created, as SQLite's v14: kept after
//! its project is deleted, so a name is never given to a second project
//! (bucket policies and objects of other projects name it). The table's
//! primary key is what makes two creations of one name, or a creation
//! racing a deletion, end with one project of that name ever. Filled from
//! the projects of v10.

/// Up: v10 to v11.
pub const UP: &str = r#"
CREATE TABLE project_names (
    name TEXT PRIMARY KEY,
    created BIGINT NOT NULL
);
INSERT INTO project_names (name, created) SELECT name, created FROM projects;
"#;

/// Down: v11 to v10. Names of deleted projects are free again.
pub const DOWN: &str = r#"
DROP TABLE project_names;
"#;
