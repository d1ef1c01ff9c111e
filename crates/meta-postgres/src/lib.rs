//! [`PgMetaStore`]: the [`MetaStore`] and [`IdentityStore`] on PostgreSQL,
//! for many stateless gateways sharing one database.
//!
//! Semantics are those of `coffer-meta-sqlite` (the reference), checked by
//! the same conformance suites, plus cases that run two store handles on one
//! database at once. Start reading at [`PgMetaStore::connect`], then
//! `retry.rs` (what is retried and when), `quota.rs` (the locking rules),
//! `ops.rs`.
//!
//! - **Transactions.** Every write is one READ COMMITTED transaction. A PUT,
//!   copy or delete in a bucket that no quota bounds (and that is not
//!   versioned) locks the bucket's row
//!   only `FOR KEY SHARE` (writers of one bucket do not wait for one
//!   another; deleting the bucket or setting a quota waits for them), locks
//!   the object row it replaces (`FOR UPDATE`), settles a key with no row on
//!   the unique index (`INSERT … ON CONFLICT DO NOTHING`, then look again),
//!   and adds its change of the stored totals to a counter shard of the
//!   bucket. A write under a quota, and every multipart write, locks the
//!   bucket's row `FOR UPDATE` (then, when it grows a total of a project
//!   with a quota, that quota's row: one fixed order, so no deadlock), so
//!   quota checks and completions see a state nobody else changes before
//!   they commit. See `quota.rs` for the rules.
//! - **Versions** (`version_ops.rs`): an `objects` row is its key's current
//!   version, every other version and delete marker an `object_versions`
//!   row (schema v10). Every write, delete and header edit in a versioned
//!   bucket takes the serialising path, as a write under a quota does; the
//!   unbounded paths see the bucket's versioning after its lock is held
//!   (or check that its row did not change) and hand such writes over
//!   (`quota.rs`). A version listing reads one snapshot (a read-only
//!   REPEATABLE READ transaction).
//! - **Retries.** Serialization failures, deadlocks and lost connections are
//!   retried a few times within about a second, then answered with
//!   [`MetaError::Unavailable`] (S3: `503 SlowDown` with `Retry-After`). A
//!   connection lost while committing is not replayed (its outcome is
//!   unknown). See `retry.rs`.
//! - **Keys** are `bytea`, compared bytewise; listings are range seeks on the
//!   `(bucket_id, key)` index (`key >= $1 AND key < $2`, never `LIKE`). A
//!   delimiter listing jumps past each common prefix with a new seek at the
//!   prefix's byte successor (a loose index scan, `coffer_meta::listing`),
//!   so the keys under a folder are not read one by one; PostgreSQL walks it
//!   in one recursive statement, so a page is one round trip however many
//!   folders it holds (`list_ops.rs`).
//! - **Schema** versions with up and down scripts ([`migrations`]), applied
//!   under an advisory lock so gateways starting together migrate once. No DDL
//!   happens anywhere else.
//! - **Pool.** A bounded [`deadpool_postgres`] pool, its size a constructor
//!   parameter, filled at start (warm). Connections that broke are dropped
//!   when handed back.
//! - **Prepared statements, cached per connection** ([`stmt`]): a
//!   connection prepares a statement the first time it runs it and then
//!   sends only Bind and Execute, so the server neither parses nor plans it
//!   again (that was half of its CPU under small PUTs and GETs). A
//!   connection that lost its statements (`26000`, e.g. behind a pooler
//!   without prepared-statement support) empties its cache and the try is
//!   repeated. Behind PgBouncer use session mode, or transaction mode with
//!   `max_prepared_statements` set (PgBouncer 1.21 and later).
//! - **Round trips.** Statements that do not depend on one another's results
//!   go out pipelined on one connection (`tokio::join!` of `query_typed`
//!   calls; the server runs them in order). An unbounded PUT (or copy) sends
//!   `BEGIN`, the bucket lock and the object lock (with the quota look-up)
//!   in one round trip, then one statement that drops the old row, queues
//!   its blobs, inserts the new row and its segments and adds to the totals
//!   shard, with `COMMIT`, in a second: 5 statements in 2 round trips (it
//!   was 7 to 8 statements, each its own round trip). An unbounded delete is
//!   `BEGIN`, one statement and `COMMIT` in one round trip (it was 6).
//!   These transactions are `retry::PipeTx`: dropped before their `COMMIT`
//!   went out, they send `ROLLBACK` before the connection is pooled again.
//! - **Migrations** take a session advisory lock: run them over a direct
//!   connection (or a session-mode pooler), not a transaction-mode one.
//! - **TLS** is not built yet: connect over a Unix socket or a trusted network.

mod gc_ops;
mod identity;
mod identity_ops;
mod lease;
mod list_ops;
pub mod migrations;
mod ops;
mod put_batch;
mod quota;
mod retry;
mod segments;
mod stmt;
pub mod testing;
pub mod tls;
mod upload_ops;
mod usage_ops;
mod version_ops;

use async_trait::async_trait;
use coffer_meta::*;
use coffer_types::{BlobId, UnixMillis};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use retry::{pipelined, reading, writing};
use std::collections::HashSet;
use std::ops::Bound;
use std::time::Duration;

pub use tls::{PgTls, TlsSetupError};
pub use tokio_postgres::Config;

/// How long a caller waits for a free pooled connection before the try
/// fails (and is retried, then answered `Unavailable`).
const POOL_WAIT: Duration = Duration::from_millis(500);
/// Run on every new connection. Every statement here is prepared once per
/// connection (`stmt.rs`) and its parameters are keys, not shapes: one plan
/// serves every run. Left to choose, the server planned the batched PUT
/// (`put_batch.rs`) afresh for every run (each batch's arrays new to it):
/// planning was a third of its CPU under the 4 KiB PUT benchmark. A session
/// setting (not a startup option), so that poolers in front pass it.
const GENERIC_PLANS: &str = "SET plan_cache_mode = force_generic_plan";

/// How long opening one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL-backed metadata store. Cheap to share (`Arc`); each
/// handle has its own pool.
pub struct PgMetaStore {
    pool: Pool,
    list_reads: std::sync::Arc<listing::ListReads>,
    /// PUTs waiting to be written together (`put_batch.rs`).
    batcher: put_batch::PutBatcher,
}

/// A failure while connecting, with every cause in its chain (a pool's
/// "error performing TLS handshake" says why only in its source).
fn setup_error(what: &str, e: impl std::error::Error) -> MetaError {
    let mut text = format!("{what}: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    MetaError::Unavailable(text)
}

impl PgMetaStore {
    /// Connects to `url` (`postgres://user@host:port/db` or key=value
    /// form), migrates the schema to the latest version, and fills a pool
    /// of `pool_size` connections (at least 1).
    /// With `sslmode=require`, TLS verified against the system's roots.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self, MetaError> {
        Self::connect_with(url, pool_size, &PgTls::default()).await
    }

    /// [`PgMetaStore::connect`], with `sslmode=require` verifying against `tls`'s roots.
    pub async fn connect_with(url: &str, pool_size: usize, tls: &PgTls) -> Result<Self, MetaError> {
        let config: Config = url.parse().map_err(|e| setup_error("bad PostgreSQL URL", e))?;
        Self::connect_config_with(config, pool_size, tls).await
    }

    /// [`PgMetaStore::connect`] with a parsed configuration.
    pub async fn connect_config(config: Config, pool_size: usize) -> Result<Self, MetaError> {
        Self::connect_config_with(config, pool_size, &PgTls::default()).await
    }

    /// [`PgMetaStore::connect_with`] with a parsed configuration.
    pub async fn connect_config_with(config: Config, pool_size: usize, tls: &PgTls) -> Result<Self, MetaError> {
        Self::connect_inner(config, pool_size, tls, true).await
    }

    /// [`PgMetaStore::connect_with`] without migrating: `SchemaMismatch`
    /// unless the schema is this build's. For tools that run beside the
    /// gateways (`coffer scrub`, `coffer master-key rotate`).
    pub async fn connect_existing(url: &str, pool_size: usize, tls: &PgTls) -> Result<Self, MetaError> {
        let config: Config = url.parse().map_err(|e| setup_error("bad PostgreSQL URL", e))?;
        Self::connect_inner(config, pool_size, tls, false).await
    }

    async fn connect_inner(
        mut config: Config,
        pool_size: usize,
        tls: &PgTls,
        migrate: bool,
    ) -> Result<Self, MetaError> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("coffer");
        }
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            let connector = tls.connector().map_err(|e| MetaError::Backend(Box::new(e)))?;
            Manager::from_config(config, connector, manager_config)
        } else {
            Manager::from_config(config, tokio_postgres::NoTls, manager_config)
        };
        let size = pool_size.max(1);
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .post_create(deadpool_postgres::Hook::async_fn(|client, _| {
                Box::pin(async move {
                    client.batch_execute(GENERIC_PLANS).await.map_err(deadpool_postgres::HookError::Backend)
                })
            }))
            .build()
            .map_err(|e| setup_error("building the connection pool", e))?;
        {
            let mut conn = pool.get().await.map_err(|e| setup_error("connecting to PostgreSQL", e))?;
            if migrate {
                migrations::migrate(&mut conn, migrations::LATEST).await.map_err(|e| match e {
                    migrations::MigrateError::TooNew(_) => MetaError::Corrupt(e.to_string()),
                    other => setup_error("migrating", other),
                })?;
            } else {
                let found =
                    migrations::current(&conn).await.map_err(|e| setup_error("reading the schema version", e))?;
                if found != migrations::LATEST {
                    return Err(MetaError::SchemaMismatch { found, expected: migrations::LATEST });
                }
            }
        }
        // Warm: open every connection now rather than on the first requests.
        let conns = futures_join(&pool, size).await?;
        drop(conns);
        Ok(PgMetaStore { pool, list_reads: Default::default(), batcher: put_batch::PutBatcher::new() })
    }

    /// (statements, rows) of the PUTs this handle wrote together
    /// (`put_batch.rs`): test hook.
    pub fn put_batches(&self) -> (u64, u64) {
        self.batcher.sent()
    }

    /// (connections open, connections idle) of this handle's pool.
    pub fn pool_status(&self) -> (usize, usize) {
        let s = self.pool.status();
        (s.size, s.available)
    }

    /// (range reads, rows read) by this handle's object listings: what a
    /// listing costs, for the cost tests.
    pub fn list_reads(&self) -> (u64, u64) {
        self.list_reads.get()
    }

    /// Makes every connection of the pool report its statistics
    /// (`pg_stat_force_next_flush`), so that `pg_stat_user_indexes` shows
    /// what this handle has read so far (test hook of the cost tests).
    pub async fn flush_statistics(&self) -> Result<(), MetaError> {
        let size = self.pool.status().max_size;
        let conns = futures_join(&self.pool, size).await?;
        for c in &conns {
            c.batch_execute("SELECT pg_stat_force_next_flush()")
                .await
                .map_err(|e| setup_error("flushing statistics", e))?;
        }
        Ok(())
    }
}

impl PgMetaStore {
    /// (statements cached by this handle's connections, statements the
    /// server holds prepared for them): test hook of [`stmt`].
    pub async fn prepared_statements(&self) -> Result<(usize, usize), MetaError> {
        let conns = futures_join(&self.pool, self.pool.status().max_size).await?;
        let (mut cached, mut held) = (0, 0);
        for c in &conns {
            cached += c.statement_cache.size();
            let rows = c
                .simple_query("SELECT count(*) FROM pg_prepared_statements")
                .await
                .map_err(|e| setup_error("counting prepared statements", e))?;
            held += rows
                .iter()
                .find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse::<usize>().ok()),
                    _ => None,
                })
                .unwrap_or(0);
        }
        Ok((cached, held))
    }

    /// Drops the server's prepared statements on every pooled connection
    /// behind the caches' back, as a pooler moving sessions would: test
    /// hook of [`stmt`]'s recovery.
    pub async fn deallocate_behind_caches(&self) -> Result<(), MetaError> {
        let conns = futures_join(&self.pool, self.pool.status().max_size).await?;
        for c in &conns {
            c.batch_execute("DEALLOCATE ALL").await.map_err(|e| setup_error("deallocating", e))?;
        }
        Ok(())
    }
}

/// Takes `n` connections at once (so the pool opens them all).
async fn futures_join(pool: &Pool, n: usize) -> Result<Vec<deadpool_postgres::Object>, MetaError> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let pool = pool.clone();
        tasks.spawn(async move { pool.get().await });
    }
    let mut conns = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        let conn = r.map_err(|e| setup_error("warming the pool", e))?;
        conns.push(conn.map_err(|e| setup_error("warming the pool", e))?);
    }
    Ok(conns)
}

#[async_trait]
impl MetaStore for PgMetaStore {
    async fn create_bucket(&self, bucket: BucketRecord) -> Result<(), MetaError> {
        writing!(self, |tx| ops::create_bucket(tx, &bucket))
    }
    async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>, MetaError> {
        reading!(self, |c| ops::get_bucket(c, name))
    }
    async fn list_buckets(&self, query: &BucketQuery) -> Result<Vec<BucketRecord>, MetaError> {
        reading!(self, |c| ops::list_buckets(c, query))
    }
    async fn delete_bucket(&self, name: &str) -> Result<(), MetaError> {
        writing!(self, |tx| ops::delete_bucket(tx, name))
    }
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>, MetaError> {
        reading!(self, |c| ops::get_object(c, bucket, key))
    }
    async fn put_object_as(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        object: ObjectRecord,
        cond: WriteCondition,
    ) -> Result<Written, MetaError> {
        // The batched and unbounded writes never write in a versioned
        // bucket (they answer `Bounded`): only the serialising path does.
        if cond == WriteCondition::None {
            match self.batcher.put(&self.pool, bucket, stamp, &object).await {
                put_batch::Verdict::Done => return Ok(None),
                put_batch::Verdict::NoBucket => return Err(MetaError::NoSuchBucket),
                put_batch::Verdict::Bounded => {
                    return writing!(self, |tx| ops::put_object(tx, bucket, stamp, &object, &cond));
                }
                // On its own, below.
                put_batch::Verdict::Again => {}
            }
        }
        for _ in 0..ops::RACE_TRIES {
            let fast = if cond == WriteCondition::None {
                match put_batch::put_alone(&self.pool, bucket, stamp, &object).await? {
                    put_batch::Verdict::Done => ops::Fast::Done(()),
                    put_batch::Verdict::NoBucket => return Err(MetaError::NoSuchBucket),
                    put_batch::Verdict::Bounded => ops::Fast::Bounded,
                    put_batch::Verdict::Again => ops::Fast::Raced,
                }
            } else {
                pipelined!(|stage| ops::put_object_fast(&self.pool, bucket, stamp, &object, &cond, stage))?
            };
            match fast {
                ops::Fast::Done(()) => return Ok(None),
                ops::Fast::Bounded => {
                    return writing!(self, |tx| ops::put_object(tx, bucket, stamp, &object, &cond));
                }
                ops::Fast::Raced => {}
            }
        }
        Err(ops::raced_error())
    }
    async fn set_versioning(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        change: VersioningChange,
    ) -> Result<(), MetaError> {
        writing!(self, |tx| version_ops::set_versioning(tx, bucket, stamp, change))
    }
    async fn get_version(
        &self,
        bucket: &str,
        key: &str,
        which: &VersionSel,
    ) -> Result<Option<VersionRecord>, MetaError> {
        reading!(self, |c| version_ops::get_version(c, bucket, key, which))
    }
    async fn edit_object_meta(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        which: &VersionSel,
        edit: MetaEdit,
    ) -> Result<(), MetaError> {
        // The current object of an unversioned bucket (the latest and the
        // null version there) is edited without the bucket's row lock;
        // anything else serialises.
        if !matches!(which, VersionSel::Id(Some(_))) {
            match writing!(self, |tx| ops::edit_object_meta(tx, bucket, stamp, key, which, &edit))? {
                ops::Fast::Done(()) => return Ok(()),
                ops::Fast::Bounded | ops::Fast::Raced => {}
            }
        }
        writing!(self, |tx| version_ops::edit_version_meta(tx, bucket, stamp, key, which, &edit))
    }
    async fn delete_version(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        target: &DeleteTarget,
        lock: LockCheck,
    ) -> Result<Deleted, MetaError> {
        // The object of an unversioned bucket goes by the unbounded delete
        // unless its headers name a lock; anything else serialises.
        if matches!(target, DeleteTarget::Current { .. } | DeleteTarget::Version(None)) {
            let mut raced = 0;
            loop {
                match pipelined!(|stage| ops::delete_object_fast(&self.pool, bucket, stamp, key, stage))? {
                    ops::Fast::Done(found) => return Ok(Deleted { found, ..Default::default() }),
                    ops::Fast::Bounded => break,
                    ops::Fast::Raced => {
                        raced += 1;
                        if raced == ops::RACE_TRIES {
                            return Err(ops::raced_error());
                        }
                    }
                }
            }
        }
        writing!(self, |tx| version_ops::delete_version(tx, bucket, stamp, key, target, lock))
    }
    async fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<Vec<ListEntry>, MetaError> {
        let reads = &*self.list_reads;
        reading!(self, |c| list_ops::list_objects(c, reads, bucket, query))
    }
    async fn list_versions(&self, bucket: &str, query: &VersionListQuery) -> Result<Vec<VersionEntry>, MetaError> {
        pipelined!(|_stage| version_ops::list_versions(&self.pool, bucket, query))
    }
    async fn create_upload(&self, bucket: &str, upload: UploadRecord) -> Result<(), MetaError> {
        writing!(self, |tx| upload_ops::create_upload(tx, bucket, &upload))
    }
    async fn get_upload(&self, bucket: &str, upload_id: &str) -> Result<Option<UploadRecord>, MetaError> {
        reading!(self, |c| upload_ops::get_upload(c, bucket, upload_id))
    }
    async fn put_part(&self, bucket: &str, upload_id: &str, part: PartRecord) -> Result<(), MetaError> {
        writing!(self, |tx| upload_ops::put_part(tx, bucket, upload_id, &part))
    }
    async fn list_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<Vec<PartRecord>, MetaError> {
        reading!(self, |c| upload_ops::list_parts(c, bucket, upload_id, after, limit))
    }
    async fn list_uploads(&self, bucket: &str, query: &UploadListQuery) -> Result<Vec<UploadRecord>, MetaError> {
        reading!(self, |c| upload_ops::list_uploads(c, bucket, query))
    }
    async fn complete_upload(
        &self,
        bucket: &str,
        upload_id: &str,
        object: ObjectRecord,
        cond: WriteCondition,
    ) -> Result<Written, MetaError> {
        writing!(self, |tx| upload_ops::complete_upload(tx, bucket, upload_id, &object, &cond))
    }
    async fn abort_upload(&self, bucket: &str, upload_id: &str) -> Result<(), MetaError> {
        writing!(self, |tx| upload_ops::abort_upload(tx, bucket, upload_id))
    }
    async fn gc_pending(&self, queued_before: UnixMillis, limit: usize) -> Result<Vec<BlobId>, MetaError> {
        reading!(self, |c| gc_ops::gc_pending(c, queued_before, limit))
    }
    async fn gc_claim(
        &self,
        queued_before: UnixMillis,
        limit: usize,
        now: UnixMillis,
        claim_until: UnixMillis,
    ) -> Result<Vec<BlobId>, MetaError> {
        writing!(self, |tx| gc_ops::gc_claim(tx, queued_before, limit, now, claim_until))
    }
    async fn gc_forget(&self, blobs: &[BlobId]) -> Result<(), MetaError> {
        writing!(self, |tx| gc_ops::gc_forget(tx, blobs))
    }
    async fn blobs_known(&self, blobs: &[BlobId]) -> Result<HashSet<BlobId>, MetaError> {
        reading!(self, |c| gc_ops::blobs_known(c, blobs))
    }
    async fn blob_refs(&self, start: Bound<&BlobId>, limit: usize) -> Result<Vec<BlobRef>, MetaError> {
        reading!(self, |c| segments::blob_refs(c, start, limit))
    }
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<bool, MetaError> {
        writing!(self, |tx| lease::acquire_lease(tx, name, holder, now, until))
    }
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), MetaError> {
        writing!(self, |tx| lease::release_lease(tx, name, holder))
    }
    async fn get_job_state(&self, name: &str) -> Result<Option<String>, MetaError> {
        reading!(self, |c| lease::get_job_state(c, name))
    }
    async fn set_job_state(&self, name: &str, value: Option<&str>) -> Result<(), MetaError> {
        writing!(self, |tx| lease::set_job_state(tx, name, value))
    }
    async fn job_states(&self, prefix: &str) -> Result<Vec<(String, String, UnixMillis)>, MetaError> {
        reading!(self, |c| lease::job_states(c, prefix))
    }
    async fn set_bucket_config_if(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        name: &str,
        if_current: Option<Option<&str>>,
        value: Option<String>,
    ) -> Result<(), MetaError> {
        writing!(self, |tx| ops::set_bucket_config(tx, bucket, stamp, name, if_current, value.as_deref()))
    }
    async fn get_bucket_config(&self, bucket: &str, name: &str) -> Result<Option<String>, MetaError> {
        reading!(self, |c| ops::get_bucket_config(c, bucket, name))
    }
    async fn set_project_config(&self, project: &str, name: &str, value: Option<String>) -> Result<(), MetaError> {
        writing!(self, |tx| quota::set_project_config(tx, project, name, value.as_deref()))
    }
    async fn get_project_config(&self, project: &str, name: &str) -> Result<Option<String>, MetaError> {
        reading!(self, |c| quota::get_project_config(c, project, name))
    }
    async fn bucket_totals(&self, bucket: &str) -> Result<StoredTotals, MetaError> {
        reading!(self, |c| quota::bucket_totals(c, bucket))
    }
    async fn project_totals(&self, project: &str) -> Result<StoredTotals, MetaError> {
        reading!(self, |c| quota::project_totals(c, project))
    }
    async fn set_quota(&self, scope: &QuotaScope, quota: Quota) -> Result<(), MetaError> {
        writing!(self, |tx| quota::set_quota(tx, scope, &quota))
    }
    async fn get_quota(&self, scope: &QuotaScope) -> Result<Quota, MetaError> {
        reading!(self, |c| quota::get_quota(c, scope))
    }
    async fn add_usage(&self, deltas: &[UsageDelta]) -> Result<(), MetaError> {
        writing!(self, |tx| usage_ops::add_usage(tx, deltas))
    }
    async fn meter_storage(&self, now: UnixMillis) -> Result<(), MetaError> {
        writing!(self, |tx| usage_ops::meter_storage(tx, now))
    }
    async fn usage(&self, query: &UsageQuery) -> Result<Vec<UsageRecord>, MetaError> {
        reading!(self, |c| usage_ops::usage(c, query))
    }
    async fn ping(&self) -> Result<(), MetaError> {
        reading!(self, |c| async move {
            c.query_typed("SELECT 1", &[]).await?;
            Ok(())
        })
    }
}
