//! Schema v2: claims on the garbage queue.
//!
//! `gc_queue.claimed_until` (Unix millis; `NULL`: unclaimed) lets one
//! collector at a time take a batch ([`coffer_meta::MetaStore::gc_claim`]):
//! rows are picked with `FOR UPDATE SKIP LOCKED` and marked claimed, so two
//! gateways collecting at once are never handed the same blob; a claim whose
//! collector died runs out and the blob is handed out again.

/// Up: v1 to v2.
pub const UP: &str = r#"
ALTER TABLE gc_queue ADD COLUMN claimed_until BIGINT;
"#;

/// Down: v2 to v1. Claims are dropped: every queued blob is unclaimed again.
pub const DOWN: &str = r#"
ALTER TABLE gc_queue DROP COLUMN claimed_until;
"#;
