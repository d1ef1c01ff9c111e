//! Statements prepared once per connection and reused ([`Db`]).
//!
//! Measured with `pg_stat_statements` and `perf` under the 4 KiB PUT/GET
//! benchmark: when every statement went out unnamed (`query_typed`), about
//! half of the server's CPU was parsing, analysing and planning the same few
//! statements again and again. Each connection now prepares a statement the
//! first time it runs it (that run goes out unnamed, the preparation beside
//! it) and keeps it in the pool connection's [`StatementCache`]; later runs
//! send only Bind and Execute, and the server reuses the plan. Pipelining is
//! unchanged: a statement sends everything in its first poll, cached or not
//! (see `run!`).
//!
//! Every statement text in this crate is a constant or is built from
//! constants, so the cache per connection is bounded by the code.
//!
//! A connection whose statements vanished under it (a pooler that moves
//! sessions between server connections, or `DISCARD ALL`) answers
//! `26000 prepared statement does not exist`: the cache is emptied and the
//! failure is retried like a rolled-back transaction (nothing ran). Behind
//! PgBouncer, use session mode or a version with `max_prepared_statements`
//! (1.21 and later), which keeps protocol-level statements working in
//! transaction mode.

use deadpool_postgres::{ClientWrapper, StatementCache, Transaction};
use std::future::Future;
use std::task::Poll;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Error, Row};

/// One parameter with its declared type.
pub(crate) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// SQLSTATE of a named statement the server does not know.
pub(crate) const STATEMENT_GONE: &str = "26000";

/// Runs `$sql` with the cached statement when the connection has it, else
/// unnamed (`$unnamed`) while the statement is prepared beside it for next
/// time. Either way everything the statement sends goes out in the first
/// poll, so statements pipelined with `tokio::join!` reach the server in
/// the order written (the quota path relies on it: its totals are read
/// after the bucket's lock is taken). Waiting for a preparation before
/// executing would let a later statement overtake this one.
macro_rules! run {
    ($self:ident, $sql:ident, $params:ident, $named:ident, $unnamed:ident) => {{
        let (c, cache) = $self.parts();
        let types: Vec<Type> = $params.iter().map(|(_, t)| t.clone()).collect();
        let mut prep = std::pin::pin!(cache.prepare_typed(c, $sql, &types));
        let first = std::future::poll_fn(|cx| Poll::Ready(prep.as_mut().poll(cx))).await;
        let r = match first {
            Poll::Ready(Ok(st)) => c.$named(&st, &values($params)).await,
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => {
                let (prepared, r) = tokio::join!(prep, c.$unnamed($sql, $params));
                if let Err(e) = prepared {
                    tracing::debug!(error = %e, "preparing a statement for reuse failed");
                }
                r
            }
        };
        forget_if_gone($self, r)
    }};
}

/// A connection (or a transaction on one) with its statement cache. The
/// methods mirror `tokio_postgres::GenericClient`'s typed ones.
pub(crate) trait Db: Sync {
    /// The connection and its cache.
    fn parts(&self) -> (&Client, &StatementCache);

    fn query_typed<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send + 'a {
        async move { run!(self, sql, params, query, query_typed) }
    }

    fn query_typed_opt<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send + 'a {
        async move { run!(self, sql, params, query_opt, query_typed_opt) }
    }

    fn query_typed_one<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Row, Error>> + Send + 'a {
        async move { run!(self, sql, params, query_one, query_typed_one) }
    }

    fn execute_typed<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<u64, Error>> + Send + 'a {
        async move { run!(self, sql, params, execute, execute_typed) }
    }

    /// Simple-protocol statements (`BEGIN`, `COMMIT`, ...): nothing cached.
    fn batch_execute<'a>(&'a self, sql: &'a str) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        self.parts().0.batch_execute(sql)
    }
}

fn values<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|(v, _)| *v).collect()
}

/// Empties the connection's cache when the server lost its statements.
fn forget_if_gone<T, D: Db + ?Sized>(db: &D, r: Result<T, Error>) -> Result<T, Error> {
    if let Err(e) = &r {
        if e.code().is_some_and(|c| c.code() == STATEMENT_GONE) {
            tracing::warn!("the database connection lost its prepared statements; preparing them again");
            db.parts().1.clear();
        }
    }
    r
}

impl Db for ClientWrapper {
    fn parts(&self) -> (&Client, &StatementCache) {
        (self, &self.statement_cache)
    }
}

impl Db for Transaction<'_> {
    fn parts(&self) -> (&Client, &StatementCache) {
        (self.client(), &self.statement_cache)
    }
}
