//! Statements prepared once per connection and reused ([`Db`]).
//!
//! Measured with `pg_stat_statements` and `perf` under the 4 KiB PUT/GET
//! benchmark: when every statement went out unnamed (`query_typed`), about
//! half of the server's CPU was parsing, analysing and planning the same few
//! statements again and again. Each connection now prepares a statement the
//! first time it runs it (one extra round trip, once) and keeps it in the
//! pool connection's [`StatementCache`]; later runs send only Bind and
//! Execute, and the server reuses the plan. Pipelining is unchanged: a
//! cached statement is looked up without a round trip.
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
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Error, Row, Statement};

/// One parameter with its declared type.
pub(crate) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// SQLSTATE of a named statement the server does not know.
pub(crate) const STATEMENT_GONE: &str = "26000";

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
        async move {
            let (c, st) = self.prepared(sql, params).await?;
            forget_if_gone(self, c.query(&st, &values(params)).await)
        }
    }

    fn query_typed_opt<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send + 'a {
        async move {
            let (c, st) = self.prepared(sql, params).await?;
            forget_if_gone(self, c.query_opt(&st, &values(params)).await)
        }
    }

    fn query_typed_one<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Row, Error>> + Send + 'a {
        async move {
            let (c, st) = self.prepared(sql, params).await?;
            forget_if_gone(self, c.query_one(&st, &values(params)).await)
        }
    }

    fn execute_typed<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<u64, Error>> + Send + 'a {
        async move {
            let (c, st) = self.prepared(sql, params).await?;
            forget_if_gone(self, c.execute(&st, &values(params)).await)
        }
    }

    /// Simple-protocol statements (`BEGIN`, `COMMIT`, ...): nothing cached.
    fn batch_execute<'a>(&'a self, sql: &'a str) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        self.parts().0.batch_execute(sql)
    }

    /// The statement for `sql` with the parameters' types, from the cache or
    /// prepared now.
    fn prepared<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<(&'a Client, Statement), Error>> + Send + 'a {
        async move {
            let (c, cache) = self.parts();
            let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
            let st = forget_if_gone(self, cache.prepare_typed(c, sql, &types).await)?;
            Ok((c, st))
        }
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
