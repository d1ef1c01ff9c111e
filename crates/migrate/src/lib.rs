//! `coffer migrate`: copies a deployment's metadata from SQLite
//! (`coffer-meta-sqlite`'s `meta.db`) to PostgreSQL (`coffer-meta-postgres`).
//! Blobs are not copied: the new deployment is given the old blob directory.
//!
//! The copy is SQL to SQL, table by table ([`tables::TABLES`]), not through
//! the store traits: every column goes over as it is stored (sealed secrets,
//! password hashes, timestamps, stored totals, inline bytes, row ids), and
//! rows stream in pages of bounded rows and bytes, so memory does not grow
//! with the database.
//!
//! Invariants:
//! - **All or nothing.** Everything is written in one PostgreSQL transaction
//!   that begins by locking every table and finding them all empty; the
//!   checks run inside it; any error (a refused value, a constraint, a lost
//!   connection, a failed check) rolls it back, leaving the target as empty
//!   as it was (its schema migrated). So a failed migration is simply run
//!   again; there is nothing to resume.
//! - **One snapshot.** SQLite is opened read-only and read in one read
//!   transaction. The caller must also hold the data directory's lock
//!   (`coffer migrate` takes the server's `LOCK` exclusively), so no server
//!   writes to it meanwhile.
//! - **Known schemas only.** The SQLite schema must be at version
//!   [`tables::SQLITE_VERSION`] and the PostgreSQL one (migrated first by the
//!   store's own migration) at [`tables::POSTGRES_VERSION`], and both
//!   catalogues must list exactly the tables and columns of
//!   [`tables::TABLES`]: a column the copier does not know stops it.
//! - **Refuses a non-empty target**, whatever it holds; there is no force.

mod source;
pub mod tables;
mod target;
mod value;
mod verify;

pub use source::Budget;
pub use tokio_postgres::Config as PgConfig;
pub use verify::Report;

use std::path::PathBuf;

/// Why a migration failed. Nothing was committed to PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("opening the SQLite database {path}: {source}")]
    OpenSource { path: PathBuf, source: rusqlite::Error },
    #[error(
        "the SQLite database is at schema version {found}; this coffer migrates version {expected} only \
         (start this version's `coffer server` on it once to upgrade it, then migrate)"
    )]
    SourceVersion { found: u32, expected: u32 },
    #[error("reading SQLite: {0}")]
    Source(#[from] rusqlite::Error),
    #[error("the schemas are not the ones this coffer knows: {0}")]
    Schema(String),
    #[error("connecting to PostgreSQL: {}", pg_message(.0))]
    Connect(tokio_postgres::Error),
    #[error("PostgreSQL TLS: {0}")]
    Tls(#[from] coffer_meta_postgres::TlsSetupError),
    #[error("migrating the PostgreSQL schema: {0}")]
    TargetSchema(#[from] coffer_meta_postgres::migrations::MigrateError),
    #[error("writing PostgreSQL: {}", pg_message(.0))]
    Target(#[from] tokio_postgres::Error),
    #[error("the PostgreSQL database already holds Coffer data (table {0} is not empty); migrate into an empty one")]
    TargetNotEmpty(&'static str),
    #[error("table {table}, row with key {row}: column {column}: {problem}")]
    BadValue { table: &'static str, column: &'static str, row: String, problem: String },
    #[error("the copy does not match its source: {0}")]
    Verify(String),
}

/// The server's own words (`db error` alone says nothing): message, detail,
/// and the table and constraint concerned.
fn pg_message(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else { return e.to_string() };
    let mut out = db.message().to_owned();
    if let Some(detail) = db.detail() {
        out.push_str(&format!(" ({detail})"));
    }
    if let Some(c) = db.constraint() {
        out.push_str(&format!(" [constraint {c}]"));
    }
    out
}

/// What to migrate where.
#[derive(Clone, Debug)]
pub struct Options {
    /// The SQLite database file (`DATA_DIR/meta.db`); opened read-only.
    pub sqlite: PathBuf,
    /// The PostgreSQL database (any libpq URL or key=value string, parsed).
    pub postgres: tokio_postgres::Config,
    /// How many rows and bytes a page may hold.
    pub budget: Budget,
    /// The roots PostgreSQL's certificate must chain to (`sslmode=require`).
    pub tls: coffer_meta_postgres::PgTls,
}

/// Pages of 5,000 rows or 8 MiB, whichever fills first (an object row holds
/// at most 64 KiB of inline data).
pub const DEFAULT_BUDGET: Budget = Budget { rows: 5_000, bytes: 8 << 20 };

impl Options {
    /// Options with the default page budget.
    pub fn new(sqlite: impl Into<PathBuf>, postgres: tokio_postgres::Config) -> Options {
        Options { sqlite: sqlite.into(), postgres, budget: DEFAULT_BUDGET, tls: Default::default() }
    }
}

/// Copies everything, checks it, commits. `progress` is called after each
/// page with the table's name and the rows copied into it so far.
pub async fn migrate(opts: &Options, mut progress: impl FnMut(&str, u64)) -> Result<Report, MigrateError> {
    let source = source::Source::open(&opts.sqlite)?;
    let mut client = target::connect(&opts.postgres, &opts.tls).await?;
    let tx = client.transaction().await?;
    target::check_schema(&tx).await?;
    target::lock_and_check_empty(&tx).await?;
    for table in tables::TABLES {
        let mut copy = target::TableCopy::start(&tx, table).await?;
        let (mut after, mut sent) = (None, 0u64);
        loop {
            let page = source.page(table, after.as_deref(), opts.budget)?;
            copy.write(&page.rows).await?;
            sent += page.rows.len() as u64;
            progress(table.name, sent);
            match page.last_key {
                Some(key) => after = Some(key),
                None => break,
            }
        }
        let taken = copy.finish().await?;
        if taken != sent {
            return Err(MigrateError::Verify(format!("{}: {sent} rows sent, PostgreSQL took {taken}", table.name)));
        }
        target::advance_identity(&tx, table).await?;
    }
    let report = verify::verify(&source, &tx).await?;
    tx.commit().await?;
    Ok(report)
}
