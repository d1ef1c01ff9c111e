//! Test support: a throwaway schema per test on the server named by
//! `COFFER_TEST_POSTGRES_URL` (set by `scripts/with-postgres`), so tests run
//! in parallel on one server without seeing each other.
//!
//! When the variable is unset, [`TestSchema::new`] prints why the test is
//! skipped and returns `None`, unless `COFFER_REQUIRE_POSTGRES=1`, which
//! makes it panic: the test command sets it, so the PostgreSQL suite can
//! never pass there by running nothing.

use crate::{Config, PgMetaStore};
use coffer_types::BlobId;

/// The server tests use (a libpq URL or key=value string).
pub const URL_VAR: &str = "COFFER_TEST_POSTGRES_URL";
/// `1`: a missing server fails the tests instead of skipping them.
pub const REQUIRE_VAR: &str = "COFFER_REQUIRE_POSTGRES";

/// A schema of its own on the test server, dropped (with everything in it)
/// when this is dropped.
pub struct TestSchema {
    config: Config,
    name: String,
}

/// The test server's configuration, or `None` (after saying so) when no
/// server is configured. Panics when one is required but missing.
pub fn server(test: &str) -> Option<Config> {
    let url = match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
                panic!("{test}: {REQUIRE_VAR}=1 but {URL_VAR} is unset; run under scripts/with-postgres");
            }
            // Straight to stderr: the test harness does not capture it, so a
            // skip is visible even when the test "passes".
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {URL_VAR} is unset (run under scripts/with-postgres to test on PostgreSQL)"
            );
            return None;
        }
    };
    Some(url.parse().unwrap_or_else(|e| panic!("{URL_VAR} is not a PostgreSQL URL: {e}")))
}

/// Runs one administrative statement on `config`'s server.
pub async fn admin(config: &Config, sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(conn);
    let r = client.batch_execute(sql).await;
    drop(client);
    let _ = driver.await;
    r
}

/// A fresh random name for a schema or database.
fn fresh_name() -> String {
    format!("t_{}", &BlobId::random().as_str()[..16])
}

impl TestSchema {
    /// A fresh empty schema, or `None` (after saying so) when no test server
    /// is configured. Panics when one is required but missing, or when the
    /// server cannot be reached.
    pub async fn new(test: &str) -> Option<TestSchema> {
        let config = server(test)?;
        let name = fresh_name();
        admin(&config, &format!("CREATE SCHEMA {name}")).await.unwrap_or_else(|e| panic!("schema: {e}"));
        Some(TestSchema { config, name })
    }

    /// The server's configuration with this schema as the search path.
    pub fn config(&self) -> Config {
        let mut c = self.config.clone();
        c.options(format!("-c search_path={}", self.name));
        c
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A store handle on this schema (migrated) with a pool of `pool_size`.
    pub async fn store(&self, pool_size: usize) -> PgMetaStore {
        PgMetaStore::connect_config(self.config(), pool_size).await.unwrap_or_else(|e| panic!("store: {e}"))
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        drop_later(self.config.clone(), format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// Runs a clean-up statement from `Drop`, which runs inside the test's
/// runtime: on a thread with a runtime of its own. Failures are ignored
/// (the throwaway cluster goes away anyway).
fn drop_later(config: Config, sql: String) {
    let done = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        let _ = rt.block_on(admin(&config, &sql));
    });
    let _ = done.join();
}

/// A database of its own on the test server (for tests that cut its
/// connections), dropped when this is dropped.
pub struct TestDatabase {
    server: Config,
    name: String,
}

impl TestDatabase {
    /// A fresh empty database, or `None` (after saying so) without a server.
    pub async fn new(test: &str) -> Option<TestDatabase> {
        let server = server(test)?;
        let name = fresh_name();
        admin(&server, &format!("CREATE DATABASE {name}")).await.unwrap_or_else(|e| panic!("database: {e}"));
        Some(TestDatabase { server, name })
    }

    /// The database's configuration.
    pub fn config(&self) -> Config {
        let mut c = self.server.clone();
        c.dbname(&self.name);
        c
    }

    /// Refuses (or again allows) new connections to the database, and with
    /// `false` ends every connection it has: an outage, as its clients see it.
    pub async fn set_reachable(&self, reachable: bool) {
        let name = &self.name;
        let sql = if reachable {
            format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        } else {
            format!(
                "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )
        };
        admin(&self.server, &sql).await.unwrap_or_else(|e| panic!("outage: {e}"));
    }

    /// Ends every connection to the database (they may reconnect).
    pub async fn cut_connections(&self) {
        let sql = format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'", self.name);
        admin(&self.server, &sql).await.unwrap_or_else(|e| panic!("cut: {e}"));
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        drop_later(self.server.clone(), format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}
