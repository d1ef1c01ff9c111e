//! Schema v8: claims on the garbage queue.
//!
//! `gc_queue.claimed_until` (Unix millis; `NULL`: unclaimed) lets one
//! collector at a time take a batch ([`coffer_meta::MetaStore::gc_claim`]):
//! handles on one database file (two processes) are never handed the same
//! blob while its claim lasts; a claim whose collector died runs out and the
//! blob is handed out again.

/// Up: v7 to v8.
pub const UP: &str = r#"
ALTER TABLE gc_queue ADD COLUMN claimed_until INTEGER;
"#;

/// Down: v8 to v7. Claims are dropped: every queued blob is unclaimed again.
pub const DOWN: &str = r#"
ALTER TABLE gc_queue DROP COLUMN claimed_until;
"#;
