//! Schema v3: named leases.
//!
//! `leases` holds at most one holder per name until a time (Unix millis)
//! ([`coffer_meta::MetaStore::acquire_lease`]): background jobs that every
//! gateway runs (the orphan sweep) take one first, so one gateway at a time
//! does the work and a gateway that died lets its lease run out.

/// Up: v2 to v3.
pub const UP: &str = r#"
CREATE TABLE leases (
    name TEXT COLLATE "C" PRIMARY KEY,
    holder TEXT NOT NULL,
    until BIGINT NOT NULL
);
"#;

/// Down: v3 to v2. Leases in force are dropped: the next job takes them anew.
pub const DOWN: &str = r#"
DROP TABLE leases;
"#;
