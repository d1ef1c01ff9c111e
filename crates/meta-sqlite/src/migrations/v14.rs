//! Schema v14: every project name ever created, kept after its project is
//! deleted, so a name is never given to a second project. Bucket policies
//! name principals by project (`arn:aws:iam::NAME:root`) and objects another
//! project wrote record it as their owner: a new project of an old name
//! would inherit both. Filled from the projects of v13.

/// Up: v13 to v14.
pub const UP: &str = r#"
CREATE TABLE project_names (
    name TEXT PRIMARY KEY,
    created INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO project_names (name, created) SELECT name, created FROM projects;
"#;

/// Down: v14 to v13. Names of deleted projects are free again.
pub const DOWN: &str = r#"
DROP TABLE project_names;
"#;
