//! Schema v6: console passwords.
//!
//! - `users` gains `password_hash`, the PHC string of the user's console
//!   password (`$argon2id$...`, made by the identity layer; never the
//!   password). NULL: no console sign-in, which is what every existing user
//!   gets.

/// Up: v5 to v6.
pub const UP: &str = r#"
ALTER TABLE users ADD COLUMN password_hash TEXT;
"#;

/// Down: v6 to v5. The hashes are dropped (users can no longer sign in to
/// the console); users and keys stay.
pub const DOWN: &str = r#"
ALTER TABLE users DROP COLUMN password_hash;
"#;
