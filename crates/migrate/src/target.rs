//! The PostgreSQL side: migrated to the current schema, then everything is
//! written in one transaction that first locks every table and finds them
//! empty.

use crate::source::quote;
use crate::tables::{Kind, Table, POSTGRES_ONLY, POSTGRES_VERSION, TABLES};
use crate::value::Value;
use crate::MigrateError;
use std::collections::{BTreeMap, BTreeSet};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Transaction};

/// Connects and moves the schema to the current version (the store's own
/// migration, under its advisory lock), then checks it is the one known.
pub async fn connect(config: &Config, tls: &coffer_meta_postgres::PgTls) -> Result<Client, MigrateError> {
    let mut config = config.clone();
    if config.get_application_name().is_none() {
        config.application_name("coffer-migrate");
    }
    // With sslmode=require: encrypted and verified, as the server's pool is.
    let mut client = if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        let (client, conn) = config.connect(tls.connector()?).await.map_err(MigrateError::Connect)?;
        tokio::spawn(async move {
            // The connection's end is reported by the next statement sent.
            let _ = conn.await;
        });
        client
    } else {
        let (client, conn) = config.connect(NoTls).await.map_err(MigrateError::Connect)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    };
    coffer_meta_postgres::migrations::migrate(&mut client, POSTGRES_VERSION).await?;
    let version = coffer_meta_postgres::migrations::current(&client).await?;
    if version != POSTGRES_VERSION {
        return Err(MigrateError::Schema(format!(
            "PostgreSQL schema is at version {version} after migrating, expected {POSTGRES_VERSION}"
        )));
    }
    Ok(client)
}

/// Locks every table against other writers for the transaction (a gateway
/// started on the database meanwhile waits), then refuses unless all are
/// empty.
pub async fn lock_and_check_empty(tx: &Transaction<'_>) -> Result<(), MigrateError> {
    let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    tx.batch_execute(&format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", names.join(", "))).await?;
    for t in TABLES {
        let any: bool = tx.query_one(&format!("SELECT EXISTS (SELECT 1 FROM {})", t.name), &[]).await?.get(0);
        if any {
            return Err(MigrateError::TargetNotEmpty(t.name));
        }
    }
    Ok(())
}

fn pg_type(kind: Kind) -> (Type, &'static str) {
    match kind {
        Kind::Int8 => (Type::INT8, "bigint"),
        Kind::Int4 => (Type::INT4, "integer"),
        Kind::Bool => (Type::BOOL, "boolean"),
        Kind::Text => (Type::TEXT, "text"),
        Kind::Bytes => (Type::BYTEA, "bytea"),
        Kind::Float8 => (Type::FLOAT8, "double precision"),
    }
}

/// The schema's tables are exactly those known, with exactly the columns
/// and types known.
pub async fn check_schema(tx: &Transaction<'_>) -> Result<(), MigrateError> {
    let rows = tx
        .query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> 'coffer_schema'",
            &[],
        )
        .await?;
    let mut found: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in rows {
        let table: String = r.get(0);
        if !POSTGRES_ONLY.contains(&table.as_str()) {
            found.entry(table).or_default().insert((r.get(1), r.get(2)));
        }
    }
    let want: BTreeMap<String, BTreeSet<(String, String)>> = TABLES
        .iter()
        .map(|t| {
            let cols = t.columns.iter().map(|c| (c.postgres.to_owned(), pg_type(c.kind).1.to_owned())).collect();
            (t.name.to_owned(), cols)
        })
        .collect();
    if found != want {
        let diff: Vec<_> = found.iter().filter(|(t, c)| want.get(*t) != Some(c)).map(|(t, _)| t).collect();
        let missing: Vec<_> = want.keys().filter(|t| !found.contains_key(*t)).collect();
        return Err(MigrateError::Schema(format!(
            "PostgreSQL tables differ from what this coffer writes: {diff:?}, missing {missing:?}"
        )));
    }
    Ok(())
}

/// A `COPY … FROM STDIN (FORMAT binary)` into one table; rows go in as
/// they are read.
pub struct TableCopy {
    writer: std::pin::Pin<Box<BinaryCopyInWriter>>,
}

impl TableCopy {
    /// Starts the copy of `table` (explicit ids included: COPY writes
    /// identity columns as given).
    pub async fn start(tx: &Transaction<'_>, table: &Table) -> Result<TableCopy, MigrateError> {
        let cols: Vec<String> = table.columns.iter().map(|c| quote(c.postgres)).collect();
        let types: Vec<Type> = table.columns.iter().map(|c| pg_type(c.kind).0).collect();
        let sql = format!("COPY {} ({}) FROM STDIN (FORMAT binary)", table.name, cols.join(", "));
        let sink = tx.copy_in(&sql).await?;
        Ok(TableCopy { writer: Box::pin(BinaryCopyInWriter::new(sink, &types)) })
    }

    /// Sends rows.
    pub async fn write(&mut self, rows: &[Vec<Value>]) -> Result<(), MigrateError> {
        for row in rows {
            let refs: Vec<&(dyn ToSql + Sync)> = row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            self.writer.as_mut().write(&refs).await?;
        }
        Ok(())
    }

    /// Ends the copy; the number of rows PostgreSQL took.
    pub async fn finish(mut self) -> Result<u64, MigrateError> {
        Ok(self.writer.as_mut().finish().await?)
    }
}

/// Moves an identity column's sequence past the copied ids, so the next row
/// the store makes gets a fresh one.
pub async fn advance_identity(tx: &Transaction<'_>, table: &Table) -> Result<(), MigrateError> {
    if let Some(col) = table.identity {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{t}', '{col}'), max({col})) FROM {t} HAVING count(*) > 0",
            t = table.name
        );
        tx.batch_execute(&sql).await?;
    }
    Ok(())
}

/// The number of rows in `table`.
pub async fn count(tx: &Transaction<'_>, table: &Table) -> Result<u64, MigrateError> {
    let n: i64 = tx.query_one(&format!("SELECT count(*) FROM {}", table.name), &[]).await?.get(0);
    Ok(n as u64)
}

/// Runs a read returning rows of (text, bigints...), for the checks.
pub async fn aggregate(tx: &Transaction<'_>, sql: &str) -> Result<Vec<(String, Vec<i64>)>, MigrateError> {
    let rows = tx.query(sql, &[]).await?;
    Ok(rows.iter().map(|r| (r.get(0), (1..r.len()).map(|i| r.get::<_, i64>(i)).collect())).collect())
}
