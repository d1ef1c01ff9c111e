//! Schema v7: small inline objects stay in the table's own rows.
//!
//! An object of up to `inline_max` bytes is stored in `objects.inline_data`.
//! With PostgreSQL's defaults, a row over about 2 KiB is "toasted": the
//! server first tries to compress the bytes (object data seldom compresses:
//! wasted CPU on every PUT), then moves them to the TOAST table, a second
//! heap insert and a second index insert per PUT, and a second lookup per
//! GET. Measured under the 4 KiB PUT benchmark, the TOAST path was a visible
//! part of the server's CPU (`pglz_compress`, `heap_toast_insert_or_update`).
//!
//! `toast_tuple_target = 8160` keeps rows of up to a page in the heap (a
//! 4 KiB object is one row, one page write); `STORAGE EXTERNAL` stores larger
//! values out of line without trying to compress them. Listings do not read
//! the heap (v6's index carries what they show), so wider rows cost them
//! nothing. Neither setting rewrites the table: they apply to rows written
//! from now on.

/// Up: v6 to v7.
pub const UP: &str = r#"
ALTER TABLE objects ALTER COLUMN inline_data SET STORAGE EXTERNAL;
ALTER TABLE objects SET (toast_tuple_target = 8160);
"#;

/// Down: v7 to v6.
pub const DOWN: &str = r#"
ALTER TABLE objects RESET (toast_tuple_target);
ALTER TABLE objects ALTER COLUMN inline_data SET STORAGE EXTENDED;
"#;
