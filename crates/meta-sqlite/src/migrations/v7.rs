//! Schema v7: state of the web console that every gateway must share.
//!
//! - `signin_failures`: one row per failed console sign-in and throttling
//!   scope (an opaque key chosen by the console: the client address, or the
//!   address and account), with its time. Counted by `(scope, at)`; rows are
//!   forgotten by time (`at`) once they leave the throttle's window.
//! - `console_sessions`: the session generation of each principal that has
//!   signed out (an opaque key chosen by the console). A session cookie
//!   carries the generation it was issued under; sign-out adds one, which
//!   ends every session issued before, on every gateway.

/// Up: v6 to v7.
pub const UP: &str = r#"
CREATE TABLE signin_failures (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX signin_failures_by_scope ON signin_failures (scope, at);
CREATE INDEX signin_failures_by_time ON signin_failures (at);
CREATE TABLE console_sessions (
    principal TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Down: v7 to v6. Failure counts and generations are dropped: throttles
/// start afresh, and cookies of signed-out sessions that have not expired
/// open again under v6 (which could not end them).
pub const DOWN: &str = r#"
DROP TABLE console_sessions;
DROP TABLE signin_failures;
"#;
