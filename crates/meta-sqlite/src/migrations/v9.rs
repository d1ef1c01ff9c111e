//! Schema v9: named leases.
//!
//! `leases` holds at most one holder per name until a time (Unix millis)
//! ([`coffer_meta::MetaStore::acquire_lease`]): background jobs that several
//! processes run on one database (the orphan sweep) take one first, so one
//! runs at a time and a holder that died lets the lease run out.

/// Up: v8 to v9.
pub const UP: &str = r#"
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Down: v9 to v8. Leases in force are dropped: the next job takes them anew.
pub const DOWN: &str = r#"
DROP TABLE leases;
"#;
