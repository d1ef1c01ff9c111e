//! Failure classification and the bounded retry loop every operation runs in.
//!
//! An operation is a closure-free `async` block that borrows one pooled
//! connection (reads) or one READ COMMITTED transaction (writes). What can
//! fail is a [`Fail`]: a domain answer ([`MetaError`], never retried), a
//! database error, or the pool failing to hand out a connection.
//!
//! Retried (a few times, about a second in all, with short growing sleeps):
//! - serialization failures (`40001`) and deadlocks (`40P01`), wherever they
//!   come from: the server has rolled the transaction back;
//! - a lost or refused connection, or a server shutting down or starting
//!   (`08***`, `57P01`–`57P03`, `53300`), and a pool that cannot connect,
//!   *before* the `COMMIT` was sent. A connection lost during `COMMIT` leaves
//!   the outcome unknown, so that one is not retried: it becomes
//!   [`MetaError::Unavailable`] at once, and the client's retry decides.
//!
//! What is still failing when the budget is spent becomes
//! [`MetaError::Unavailable`] ("retry later"). A transaction is never left
//! half-applied: every write runs in one transaction, rolled back on any
//! error (dropping an uncommitted `tokio_postgres::Transaction` rolls it back).

use coffer_meta::MetaError;
use std::time::Duration;
use tokio::time::Instant;

/// At most this many tries of one operation.
pub(crate) const MAX_TRIES: u32 = 5;
/// No new try starts after this long since the first.
pub(crate) const BUDGET: Duration = Duration::from_millis(1000);

/// Why one try of an operation failed.
#[derive(Debug)]
pub(crate) enum Fail {
    /// A definite answer of the store (no such bucket, quota, ...).
    Meta(MetaError),
    /// The database failed the statement (or the connection).
    Db(tokio_postgres::Error),
    /// The pool could not hand out a connection.
    Pool(String),
}

impl From<MetaError> for Fail {
    fn from(e: MetaError) -> Self {
        Fail::Meta(e)
    }
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<deadpool_postgres::PoolError> for Fail {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Fail::Pool(e.to_string())
    }
}

/// The result type of one try.
pub(crate) type Try<T> = Result<T, Fail>;

/// How a failure should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The server rolled back (serialization failure, deadlock): retry.
    RolledBack,
    /// No connection, or it broke: retry only if COMMIT was not sent.
    Connection,
    /// Anything else: answer now.
    Final,
}

/// SQLSTATE codes after which the transaction is known to be rolled back
/// and a new try may win (a statement the connection lost ran nothing, and
/// [`crate::stmt`] has emptied the connection's cache).
fn rolled_back(code: &str) -> bool {
    matches!(code, "40001" | "40P01" | crate::stmt::STATEMENT_GONE)
}

/// SQLSTATE codes of a server that cannot serve now (shutting down,
/// starting, out of connection slots) or of a broken connection.
fn unavailable(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

pub(crate) fn kind(f: &Fail) -> Kind {
    match f {
        Fail::Meta(_) => Kind::Final,
        Fail::Pool(_) => Kind::Connection,
        Fail::Db(e) => db_kind(e),
    }
}

fn db_kind(e: &tokio_postgres::Error) -> Kind {
    match e.code() {
        Some(c) if rolled_back(c.code()) => Kind::RolledBack,
        Some(c) if unavailable(c.code()) => Kind::Connection,
        Some(_) => Kind::Final,
        // No SQLSTATE: an I/O error, a closed connection, a timeout.
        None if e.is_closed() || std::error::Error::source(e).is_some() => Kind::Connection,
        None => Kind::Final,
    }
}

/// The caller's error for a failure that will not be retried.
pub(crate) fn to_meta(f: Fail) -> MetaError {
    match f {
        Fail::Meta(e) => e,
        Fail::Pool(e) => MetaError::Unavailable(format!("no database connection: {e}")),
        Fail::Db(e) => {
            let text = describe(&e);
            match (e.code().map(|c| c.code()), db_kind(&e)) {
                // disk_full: nothing was written.
                (Some("53100"), _) => MetaError::NoSpace,
                (_, Kind::Final) => MetaError::backend(DbError(text)),
                _ => MetaError::Unavailable(text),
            }
        }
    }
}

/// The server's own message and SQLSTATE when there is one (the driver's
/// `Display` says only "db error"), else the driver's error and its cause.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} ({})", d.message(), d.code().code()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// A database error kept as text (the driver's error is not `Sync`-friendly
/// to box once its connection is gone; its message is what is logged).
#[derive(Debug, thiserror::Error)]
#[error("postgres: {0}")]
pub(crate) struct DbError(pub String);

/// Where a failed try stood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Before COMMIT was sent (or a read): nothing took effect.
    Work,
    /// While committing: the outcome may be unknown.
    Commit,
}

/// Whether another try should follow a failure of `kind` at `stage`.
pub(crate) fn should_retry(kind: Kind, stage: Stage) -> bool {
    match kind {
        Kind::RolledBack => true,
        Kind::Connection => stage == Stage::Work,
        Kind::Final => false,
    }
}

/// Tracks the tries of one operation: how many, and since when.
pub(crate) struct Backoff {
    started: Instant,
    tries: u32,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff { started: Instant::now(), tries: 0 }
    }

    /// After a retryable failure: sleeps a little and returns `true` if
    /// another try fits the budget, else `false`.
    pub(crate) async fn again(&mut self) -> bool {
        self.tries += 1;
        if self.tries >= MAX_TRIES {
            return false;
        }
        // 10, 40, 90, 160 ms, with a little jitter so racing gateways part.
        let base = 10 * u64::from(self.tries * self.tries);
        let jitter = u64::from(self.started.elapsed().subsec_nanos() % 7);
        let sleep = Duration::from_millis(base + jitter);
        if self.started.elapsed() + sleep > BUDGET {
            return false;
        }
        tokio::time::sleep(sleep).await;
        true
    }
}

/// The error once the retries are spent: `Unavailable` for what is
/// transient, the failure's own error otherwise.
pub(crate) fn give_up(f: Fail, stage: Stage) -> MetaError {
    match (kind(&f), stage) {
        (Kind::RolledBack, _) => MetaError::Unavailable("database kept refusing the transaction (contention)".into()),
        (Kind::Connection, Stage::Commit) => {
            MetaError::Unavailable("database connection lost while committing; outcome unknown".into())
        }
        _ => to_meta(f),
    }
}

/// Runs a read (no transaction) with retries: `$body` is an async
/// expression using `$c: &deadpool_postgres::ClientWrapper`, yielding `Try<T>`.
macro_rules! reading {
    ($store:expr, |$c:ident| $body:expr) => {{
        let mut backoff = $crate::retry::Backoff::new();
        loop {
            let attempt: $crate::retry::Try<_> = async {
                let conn = $store.pool.get().await?;
                let $c: &deadpool_postgres::ClientWrapper = &conn;
                $body.await
            }
            .await;
            match attempt {
                Ok(v) => break Ok(v),
                Err(f) => {
                    let k = $crate::retry::kind(&f);
                    tracing::debug!(kind = ?k, failure = ?f, "metadata read failed");
                    if !($crate::retry::should_retry(k, $crate::retry::Stage::Work) && backoff.again().await) {
                        break Err($crate::retry::give_up(f, $crate::retry::Stage::Work));
                    }
                }
            }
        }
    }};
}

/// Runs a write in one READ COMMITTED transaction with retries: `$body` is
/// an async expression using `$tx: &deadpool_postgres::Transaction`, yielding
/// `Try<T>`; the transaction commits only if it is `Ok`.
macro_rules! writing {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut backoff = $crate::retry::Backoff::new();
        loop {
            let mut stage = $crate::retry::Stage::Work;
            let attempt: $crate::retry::Try<_> = async {
                let mut conn = $store.pool.get().await?;
                let tx = conn.transaction().await?;
                let out = {
                    let $tx: &deadpool_postgres::Transaction<'_> = &tx;
                    $body.await?
                };
                stage = $crate::retry::Stage::Commit;
                tx.commit().await?;
                Ok(out)
            }
            .await;
            match attempt {
                Ok(v) => break Ok(v),
                Err(f) => {
                    let k = $crate::retry::kind(&f);
                    tracing::debug!(kind = ?k, ?stage, failure = ?f, "metadata transaction failed");
                    if !($crate::retry::should_retry(k, stage) && backoff.again().await) {
                        break Err($crate::retry::give_up(f, stage));
                    }
                }
            }
        }
    }};
}

/// A transaction whose `BEGIN` goes out pipelined with its first
/// statements and whose `COMMIT` goes out with its last one, saving the two
/// round trips a [`tokio_postgres::Transaction`] spends on them. Until
/// [`PipeTx::sent_commit`], dropping it (an error, or the caller's future
/// cancelled) sends `ROLLBACK` from a spawned task before the connection
/// goes back to the pool, so no pooled connection is ever left inside a
/// transaction.
pub(crate) struct PipeTx {
    conn: Option<deadpool_postgres::Object>,
}

impl PipeTx {
    pub(crate) fn new(conn: deadpool_postgres::Object) -> Self {
        PipeTx { conn: Some(conn) }
    }

    pub(crate) fn client(&self) -> &deadpool_postgres::ClientWrapper {
        self.conn.as_ref().expect("connection held until dropped")
    }

    /// The transaction ended on the server (its `COMMIT` was answered, or
    /// failed with the connection): hand the connection back as it is.
    pub(crate) fn sent_commit(mut self) {
        self.conn.take();
    }
}

impl Drop for PipeTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            tokio::spawn(async move {
                if let Err(e) = conn.batch_execute("ROLLBACK").await {
                    tracing::debug!(error = %e, "rolling back a pipelined transaction");
                }
            });
        }
    }
}

/// Runs a pipelined write with retries: `$body` is an async expression
/// using `$stage: &mut Stage` (set to [`Stage::Commit`] before the round
/// trip that carries `COMMIT`), yielding `Try<T>`.
macro_rules! pipelined {
    (|$stage:ident| $body:expr) => {{
        let mut backoff = $crate::retry::Backoff::new();
        loop {
            let mut stage = $crate::retry::Stage::Work;
            let attempt: $crate::retry::Try<_> = {
                let $stage = &mut stage;
                $body.await
            };
            match attempt {
                Ok(v) => break Ok(v),
                Err(f) => {
                    let k = $crate::retry::kind(&f);
                    tracing::debug!(kind = ?k, ?stage, failure = ?f, "metadata transaction failed");
                    if !($crate::retry::should_retry(k, stage) && backoff.again().await) {
                        break Err($crate::retry::give_up(f, stage));
                    }
                }
            }
        }
    }};
}

pub(crate) use {pipelined, reading, writing};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rolled_back_failures_retry_after_commit() {
        assert!(should_retry(Kind::RolledBack, Stage::Commit));
        assert!(should_retry(Kind::RolledBack, Stage::Work));
        assert!(should_retry(Kind::Connection, Stage::Work));
        assert!(!should_retry(Kind::Connection, Stage::Commit), "a commit whose outcome is unknown is not replayed");
        assert!(!should_retry(Kind::Final, Stage::Work));
    }

    #[test]
    fn codes() {
        assert!(rolled_back("40001") && rolled_back("40P01"));
        assert!(!rolled_back("23505"));
        assert!(unavailable("08006") && unavailable("57P01") && unavailable("53300"));
        assert!(!unavailable("42P01"));
        assert_eq!(kind(&Fail::Meta(MetaError::NoSuchBucket)), Kind::Final);
        assert_eq!(kind(&Fail::Pool("timeout".into())), Kind::Connection);
        assert!(matches!(to_meta(Fail::Pool("x".into())), MetaError::Unavailable(_)));
    }

    #[tokio::test]
    async fn backoff_is_bounded_in_tries_and_time() {
        let mut b = Backoff::new();
        let mut n = 1;
        while b.again().await {
            n += 1;
        }
        assert!(n <= MAX_TRIES as usize, "{n} tries");
        assert!(n >= 3, "a few tries fit the budget: {n}");
    }
}
