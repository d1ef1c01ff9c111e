//! [`SqliteMetaStore`]: the [`MetaStore`] and [`IdentityStore`] on embedded
//! SQLite, Coffer's single-node default.
//!
//! - One writer thread owns the only write connection and applies queued
//!   mutations in batches: every mutation in a batch runs in its own savepoint
//!   inside one transaction, and one `COMMIT` (one WAL fsync, `synchronous=FULL`)
//!   makes the whole batch durable — group commit. Callers are answered only
//!   after that commit.
//! - Reads run on a small pool of read-only connections in blocking threads;
//!   WAL lets them proceed while the writer commits.
//! - The schema is versioned with `PRAGMA user_version` ([`migrations`]).
//! - Keys are stored as BLOBs so SQLite orders them bytewise (`memcmp`).
//! - Each bucket row keeps its stored totals, changed and checked against
//!   quotas inside the same savepoint as the write (`quota.rs`).
//!
//! The SQL lives in plain functions on a connection: `ops` (buckets, objects,
//! garbage queue, configurations), `upload_ops`, `quota`, `usage_ops` and
//! `identity_ops`; `identity` wires the latter to [`IdentityStore`].

pub mod backup;
mod identity;
mod identity_ops;
mod lease;
pub mod migrations;
mod ops;
mod pool;
mod quota;
mod upload_ops;
mod usage_ops;
mod version_ops;
mod writer;

use async_trait::async_trait;
use coffer_meta::*;
use coffer_types::{BlobId, UnixMillis};
use std::collections::HashSet;
use std::path::Path;

/// The SQLite-backed metadata store.
pub struct SqliteMetaStore {
    writer: writer::Writer,
    readers: pool::Readers,
    list_reads: std::sync::Arc<listing::ListReads>,
}

/// How many read connections the pool keeps.
const READERS: usize = 4;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

fn sql_err(e: rusqlite::Error) -> MetaError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::DiskFull {
            return MetaError::NoSpace;
        }
    }
    MetaError::backend(e)
}

/// Creates an empty database file (a valid empty SQLite database) readable
/// and writable by this user only, unless the file exists.
fn create_private(path: &Path) -> Result<(), MetaError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(MetaError::backend(e)),
    }
}

fn open_conn(path: &Path) -> Result<rusqlite::Connection, MetaError> {
    let conn = rusqlite::Connection::open(path).map_err(sql_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(sql_err)?;
    // Every operation's statements stay prepared (rusqlite keeps 16 by default).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;").map_err(sql_err)?;
    Ok(conn)
}

impl SqliteMetaStore {
    /// Opens (creating and migrating as needed) the database at `path`.
    /// A new database file is created with mode 0600 first: SQLite gives its
    /// `-wal` and `-shm` files the database file's mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, MetaError> {
        let path = path.as_ref();
        create_private(path)?;
        let mut conn = open_conn(path)?;
        migrations::migrate(&mut conn, migrations::LATEST).map_err(sql_err)?;
        Self::serve(path, conn)
    }

    /// Opens an existing database without migrating it: `SchemaMismatch`
    /// unless its schema is this build's. For tools that run beside a
    /// server (`coffer scrub`, `coffer master-key rotate`), which must
    /// never change the schema under it.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, MetaError> {
        let path = path.as_ref();
        let expected = migrations::LATEST;
        if !path.is_file() {
            return Err(MetaError::SchemaMismatch { found: 0, expected });
        }
        let conn = open_conn(path)?;
        let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql_err)?;
        if found != expected {
            return Err(MetaError::SchemaMismatch { found, expected });
        }
        Self::serve(path, conn)
    }

    /// The store over `conn` (its writer) and a pool of readers.
    fn serve(path: &Path, conn: rusqlite::Connection) -> Result<Self, MetaError> {
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = open_conn(path)?;
            r.execute_batch("PRAGMA query_only=ON;").map_err(sql_err)?;
            readers.push(r);
        }
        Ok(SqliteMetaStore {
            writer: writer::Writer::start(conn),
            readers: pool::Readers::new(readers),
            list_reads: Default::default(),
        })
    }
}

impl SqliteMetaStore {
    /// (jobs applied, commits made) since open: their ratio is how many
    /// writes share each fsync.
    pub fn write_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.writer.stats.jobs.load(Relaxed), self.writer.stats.commits.load(Relaxed))
    }

    /// (range reads, rows read) by object listings since open: what a
    /// listing costs, for the cost tests.
    pub fn list_reads(&self) -> (u64, u64) {
        self.list_reads.get()
    }
}

#[async_trait]
impl MetaStore for SqliteMetaStore {
    async fn create_bucket(&self, bucket: BucketRecord) -> Result<(), MetaError> {
        self.writer.run(move |c| ops::create_bucket(c, &bucket)).await
    }
    async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>, MetaError> {
        let name = name.to_owned();
        self.readers.point(move |c| ops::get_bucket(c, &name)).await
    }
    async fn list_buckets(&self, query: &BucketQuery) -> Result<Vec<BucketRecord>, MetaError> {
        let q = query.clone();
        self.readers.run(move |c| ops::list_buckets(c, &q)).await
    }
    async fn delete_bucket(&self, name: &str) -> Result<(), MetaError> {
        let name = name.to_owned();
        self.writer.run(move |c| ops::delete_bucket(c, &name)).await
    }
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>, MetaError> {
        let (b, k) = (bucket.to_owned(), key.to_owned());
        self.readers.point(move |c| ops::get_object(c, &b, &k)).await
    }
    async fn put_object_as(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        object: ObjectRecord,
        cond: WriteCondition,
    ) -> Result<Written, MetaError> {
        let (b, stamp) = (bucket.to_owned(), stamp.cloned());
        self.writer.run(move |c| ops::put_object(c, &b, stamp.as_ref(), &object, &cond)).await
    }
    async fn set_versioning(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        change: VersioningChange,
    ) -> Result<(), MetaError> {
        let (b, stamp) = (bucket.to_owned(), stamp.cloned());
        self.writer.run(move |c| version_ops::set_versioning(c, &b, stamp.as_ref(), change)).await
    }
    async fn get_version(
        &self,
        bucket: &str,
        key: &str,
        which: &VersionSel,
    ) -> Result<Option<VersionRecord>, MetaError> {
        let (b, k, w) = (bucket.to_owned(), key.to_owned(), which.clone());
        // Point lookups (at most three indexed reads), as `get_object`.
        self.readers.point(move |c| version_ops::get_version(c, &b, &k, &w)).await
    }
    async fn delete_version(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        target: &DeleteTarget,
        lock: LockCheck,
    ) -> Result<Deleted, MetaError> {
        let (b, k, stamp, t) = (bucket.to_owned(), key.to_owned(), stamp.cloned(), target.clone());
        self.writer.run(move |c| version_ops::delete_version(c, &b, stamp.as_ref(), &k, &t, lock)).await
    }
    async fn list_versions(&self, bucket: &str, query: &VersionListQuery) -> Result<Vec<VersionEntry>, MetaError> {
        let (b, q) = (bucket.to_owned(), query.clone());
        self.readers.run(move |c| version_ops::list_versions(c, &b, &q)).await
    }
    async fn edit_object_meta(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        which: &VersionSel,
        edit: MetaEdit,
    ) -> Result<(), MetaError> {
        let (b, k, stamp, w) = (bucket.to_owned(), key.to_owned(), stamp.cloned(), which.clone());
        self.writer.run(move |c| version_ops::edit_version_meta(c, &b, stamp.as_ref(), &k, &w, &edit)).await
    }
    async fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<Vec<ListEntry>, MetaError> {
        let (b, q, reads) = (bucket.to_owned(), query.clone(), self.list_reads.clone());
        self.readers.run(move |c| ops::list_objects(c, &reads, &b, &q)).await
    }
    async fn create_upload(&self, bucket: &str, upload: UploadRecord) -> Result<(), MetaError> {
        let b = bucket.to_owned();
        self.writer.run(move |c| upload_ops::create_upload(c, &b, &upload)).await
    }
    async fn get_upload(&self, bucket: &str, upload_id: &str) -> Result<Option<UploadRecord>, MetaError> {
        let (b, u) = (bucket.to_owned(), upload_id.to_owned());
        self.readers.point(move |c| upload_ops::get_upload(c, &b, &u)).await
    }
    async fn put_part(&self, bucket: &str, upload_id: &str, part: PartRecord) -> Result<(), MetaError> {
        let (b, u) = (bucket.to_owned(), upload_id.to_owned());
        self.writer.run(move |c| upload_ops::put_part(c, &b, &u, &part)).await
    }
    async fn list_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<Vec<PartRecord>, MetaError> {
        let (b, u) = (bucket.to_owned(), upload_id.to_owned());
        self.readers.run(move |c| upload_ops::list_parts(c, &b, &u, after, limit)).await
    }
    async fn list_uploads(&self, bucket: &str, query: &UploadListQuery) -> Result<Vec<UploadRecord>, MetaError> {
        let (b, q) = (bucket.to_owned(), query.clone());
        self.readers.run(move |c| upload_ops::list_uploads(c, &b, &q)).await
    }
    async fn complete_upload(
        &self,
        bucket: &str,
        upload_id: &str,
        object: ObjectRecord,
        cond: WriteCondition,
    ) -> Result<Written, MetaError> {
        let (b, u) = (bucket.to_owned(), upload_id.to_owned());
        self.writer.run(move |c| upload_ops::complete_upload(c, &b, &u, &object, &cond)).await
    }
    async fn abort_upload(&self, bucket: &str, upload_id: &str) -> Result<(), MetaError> {
        let (b, u) = (bucket.to_owned(), upload_id.to_owned());
        self.writer.run(move |c| upload_ops::abort_upload(c, &b, &u)).await
    }
    async fn gc_pending(&self, queued_before: UnixMillis, limit: usize) -> Result<Vec<BlobId>, MetaError> {
        self.readers.run(move |c| ops::gc_pending(c, queued_before, limit)).await
    }
    async fn gc_claim(
        &self,
        queued_before: UnixMillis,
        limit: usize,
        now: UnixMillis,
        claim_until: UnixMillis,
    ) -> Result<Vec<BlobId>, MetaError> {
        self.writer.run(move |c| ops::gc_claim(c, queued_before, limit, now, claim_until)).await
    }
    async fn gc_forget(&self, blobs: &[BlobId]) -> Result<(), MetaError> {
        let blobs = blobs.to_vec();
        self.writer.run(move |c| ops::gc_forget(c, &blobs)).await
    }
    async fn blobs_known(&self, blobs: &[BlobId]) -> Result<HashSet<BlobId>, MetaError> {
        let blobs = blobs.to_vec();
        self.readers.run(move |c| ops::blobs_known(c, &blobs)).await
    }
    async fn blob_refs(&self, start: std::ops::Bound<&BlobId>, limit: usize) -> Result<Vec<BlobRef>, MetaError> {
        let start = start.cloned();
        self.readers.run(move |c| ops::blob_refs(c, start.as_ref(), limit)).await
    }
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<bool, MetaError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.writer.run(move |c| lease::acquire_lease(c, &name, &holder, now, until)).await
    }
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), MetaError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.writer.run(move |c| lease::release_lease(c, &name, &holder)).await
    }
    async fn get_job_state(&self, name: &str) -> Result<Option<String>, MetaError> {
        let name = name.to_owned();
        self.readers.run(move |c| lease::get_job_state(c, &name)).await
    }
    async fn set_job_state(&self, name: &str, value: Option<&str>) -> Result<(), MetaError> {
        let (name, value) = (name.to_owned(), value.map(str::to_owned));
        self.writer.run(move |c| lease::set_job_state(c, &name, value.as_deref())).await
    }
    async fn job_states(&self, prefix: &str) -> Result<Vec<(String, String, UnixMillis)>, MetaError> {
        let prefix = prefix.to_owned();
        self.readers.run(move |c| lease::job_states(c, &prefix)).await
    }
    async fn set_bucket_config_if(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        name: &str,
        if_current: Option<Option<&str>>,
        value: Option<String>,
    ) -> Result<(), MetaError> {
        let (b, n, stamp) = (bucket.to_owned(), name.to_owned(), stamp.cloned());
        let current = if_current.map(|c| c.map(str::to_owned));
        self.writer
            .run(move |c| {
                let cond = current.as_ref().map(Option::as_deref);
                ops::set_bucket_config(c, &b, stamp.as_ref(), &n, cond, value.as_deref())
            })
            .await
    }
    async fn get_bucket_config(&self, bucket: &str, name: &str) -> Result<Option<String>, MetaError> {
        let (b, n) = (bucket.to_owned(), name.to_owned());
        self.readers.point(move |c| ops::get_bucket_config(c, &b, &n)).await
    }
    async fn set_project_config(&self, project: &str, name: &str, value: Option<String>) -> Result<(), MetaError> {
        let (p, n) = (project.to_owned(), name.to_owned());
        self.writer.run(move |c| quota::set_project_config(c, &p, &n, value.as_deref())).await
    }
    async fn get_project_config(&self, project: &str, name: &str) -> Result<Option<String>, MetaError> {
        let (p, n) = (project.to_owned(), name.to_owned());
        self.readers.point(move |c| quota::get_project_config(c, &p, &n)).await
    }
    async fn bucket_totals(&self, bucket: &str) -> Result<StoredTotals, MetaError> {
        let b = bucket.to_owned();
        self.readers.point(move |c| quota::bucket_totals(c, &b)).await
    }
    async fn project_totals(&self, project: &str) -> Result<StoredTotals, MetaError> {
        let p = project.to_owned();
        self.readers.run(move |c| quota::project_totals(c, &p)).await
    }
    async fn set_quota(&self, scope: &QuotaScope, quota: Quota) -> Result<(), MetaError> {
        let scope = scope.clone();
        self.writer.run(move |c| quota::set_quota(c, &scope, &quota)).await
    }
    async fn get_quota(&self, scope: &QuotaScope) -> Result<Quota, MetaError> {
        let scope = scope.clone();
        self.readers.point(move |c| quota::get_quota(c, &scope)).await
    }
    async fn add_usage(&self, deltas: &[UsageDelta]) -> Result<(), MetaError> {
        let deltas = deltas.to_vec();
        self.writer.run(move |c| usage_ops::add_usage(c, &deltas)).await
    }
    async fn meter_storage(&self, now: UnixMillis) -> Result<(), MetaError> {
        self.writer.run(move |c| usage_ops::meter_storage(c, now)).await
    }
    async fn usage(&self, query: &UsageQuery) -> Result<Vec<UsageRecord>, MetaError> {
        let q = query.clone();
        self.readers.run(move |c| usage_ops::usage(c, &q)).await
    }
    async fn ping(&self) -> Result<(), MetaError> {
        self.readers.run(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(sql_err)).await
    }
}
