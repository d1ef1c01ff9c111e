//! Schema v5: IAM paths and stable user ids.
//!
//! - `users` gains `path`, the IAM path (`/` for existing users).
//! - `users` gains `id`, IAM's unique id of the user, kept across renames
//!   (before v5 it was derived from the name, so it changed with it).
//!   Existing users get a random one here: `AIDA` and 17 hex digits (the
//!   identity layer draws new ones from `A-Z2-7`; both are opaque).

/// Up: v4 to v5.
pub const UP: &str = r#"
ALTER TABLE users ADD COLUMN path TEXT NOT NULL DEFAULT '/';
ALTER TABLE users ADD COLUMN id TEXT NOT NULL DEFAULT '';
UPDATE users SET id = 'AIDA' || substr(hex(randomblob(9)), 1, 17);
"#;

/// Down: v5 to v4. Paths and ids are dropped; users and keys stay.
pub const DOWN: &str = r#"
ALTER TABLE users DROP COLUMN id;
ALTER TABLE users DROP COLUMN path;
"#;
