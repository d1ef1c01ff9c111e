//! Where metadata and blobs live: `--meta sqlite://PATH | postgres://…` and
//! `--blobs fs://DIR | rados://POOL?…`, parsed into typed locations and
//! opened here (the only place that names concrete stores).
//!
//! A deployment is a **single node** when its metadata is SQLite: it owns
//! its directories (exclusive locks) and at start-up every unreferenced blob
//! is debris of its own crash. It is **one of many gateways** when its
//! metadata is PostgreSQL: a filesystem blob directory is locked shared
//! (gateways share it with each other, never with a single node), and only
//! blobs older than the reclaim age are taken for debris, by one gateway at
//! a time (a lease in the database).

use crate::data_lock::{self, DataDirLock};
use anyhow::Context as _;
use coffer_blob::BlobStore;
use coffer_meta::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the metadata lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaLocation {
    /// An SQLite database file (the embedded default: `DATA_DIR/meta.db`).
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://user:pass@host:port/db?…`
    /// or `host=… user=… dbname=…`), shared by every gateway.
    Postgres(String),
}

/// Where the blobs live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobLocation {
    /// A directory on a local or shared (CephFS, NFS) filesystem.
    Fs(PathBuf),
    /// A Ceph RADOS pool: `rados://POOL?conf=…&user=…` (cargo feature `rados`).
    Rados(String),
}

impl MetaLocation {
    /// `sqlite://PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a database file path, e.g. sqlite:///var/lib/coffer/meta.db".into());
            }
            Ok(MetaLocation::Sqlite(PathBuf::from(path)))
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(MetaLocation::Postgres(s.to_owned()))
        } else {
            Err(format!("{:?} is not a metadata location: use sqlite://PATH or postgres://USER@HOST/DB", redact(s)))
        }
    }

    /// Several gateways share this metadata.
    pub fn is_shared(&self) -> bool {
        matches!(self, MetaLocation::Postgres(_))
    }

    /// For logs: the location with any password blanked.
    pub fn display(&self) -> String {
        match self {
            MetaLocation::Sqlite(p) => format!("sqlite://{}", p.display()),
            MetaLocation::Postgres(url) => redact(url),
        }
    }
}

impl BlobLocation {
    /// `fs://DIR` or `rados://POOL?…`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("fs://") {
            if path.is_empty() {
                return Err("fs:// needs a directory, e.g. fs:///srv/coffer/blobs".into());
            }
            Ok(BlobLocation::Fs(PathBuf::from(path)))
        } else if s.starts_with("rados://") {
            Ok(BlobLocation::Rados(s.to_owned()))
        } else {
            Err(format!("{s:?} is not a blob location: use fs://DIR or rados://POOL?conf=/etc/ceph/ceph.conf"))
        }
    }
}

/// A password in a URL (`user:secret@`) or a `password=` pair, blanked.
pub fn redact(s: &str) -> String {
    let mut out = s.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = &out[scheme_end + 3..];
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                let (a, b) = (scheme_end + 3 + colon + 1, scheme_end + 3 + at);
                out.replace_range(a..b, "***");
            }
        }
    }
    for key in ["password=", "PASSWORD="] {
        let mut from = 0;
        while let Some(i) = out[from..].find(key) {
            let start = from + i + key.len();
            let end = out[start..].find([' ', '&']).map_or(out.len(), |e| start + e);
            out.replace_range(start..end, "***");
            from = start + 3;
        }
    }
    out
}

/// The opened stores and the directory locks held for them.
pub(crate) struct Opened {
    pub meta: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub locks: Vec<DataDirLock>,
    /// SQLite's group commit so far: (writes, commits).
    pub write_stats: Option<WriteStats>,
}

/// Reads a store's group-commit counters: (writes, commits).
pub(crate) type WriteStats = Arc<dyn Fn() -> (u64, u64) + Send + Sync>;

/// Opens the metadata and blob stores. `data_dir_lock` is the data
/// directory's lock, already held by a single node (its blob directory
/// under it needs no second one).
pub(crate) async fn open(
    meta: &MetaLocation,
    blobs: &BlobLocation,
    data_dir: &Path,
    (pool_size, pg_tls): (usize, &coffer_meta_postgres::PgTls),
    shared_data_dir: bool,
) -> anyhow::Result<Opened> {
    let mut locks = Vec::new();
    let mut write_stats: Option<WriteStats> = None;
    let meta_store: Arc<dyn Store> = match meta {
        MetaLocation::Sqlite(path) => {
            let s = Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(path).context("opening the SQLite metadata")?);
            let counted = s.clone();
            write_stats = Some(Arc::new(move || counted.write_stats()));
            s
        }
        MetaLocation::Postgres(url) => Arc::new(
            coffer_meta_postgres::PgMetaStore::connect_with(url, pool_size, pg_tls)
                .await
                .with_context(|| format!("opening the PostgreSQL metadata at {}", redact(url)))?,
        ),
    };
    let blob_store: Arc<dyn BlobStore> = match blobs {
        BlobLocation::Fs(dir) => {
            let under_data_dir = !meta.is_shared() && dir.starts_with(data_dir);
            if !under_data_dir {
                crate::private_files::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
                let shared = meta.is_shared() || shared_data_dir;
                locks.push(data_lock::acquire_dir(dir, shared, "blob directory")?);
            }
            Arc::new(
                coffer_blob::FsBlobStore::open(dir).with_context(|| format!("opening blobs in {}", dir.display()))?,
            )
        }
        BlobLocation::Rados(url) => open_rados(url).await?,
    };
    Ok(Opened { meta: meta_store, blobs: blob_store, locks, write_stats })
}

/// The metadata store, opened beside running servers by a tool (`coffer
/// scrub`, `coffer master-key rotate`): no data-directory lock, never a new
/// database, never a migration (another schema version is refused).
pub(crate) async fn open_meta_beside(meta: &MetaLocation, ca_file: Option<PathBuf>) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match meta {
        MetaLocation::Sqlite(path) => Arc::new(
            coffer_meta_sqlite::SqliteMetaStore::open_existing(path)
                .with_context(|| format!("opening the SQLite metadata at {}", path.display()))?,
        ),
        MetaLocation::Postgres(url) => {
            let tls = coffer_meta_postgres::PgTls { ca_file };
            Arc::new(
                coffer_meta_postgres::PgMetaStore::connect_existing(url, 2, &tls)
                    .await
                    .with_context(|| format!("opening the PostgreSQL metadata at {}", redact(url)))?,
            )
        }
    })
}

/// The blob store, opened beside running servers to read it: no lock.
pub(crate) async fn open_blobs_beside(blobs: &BlobLocation) -> anyhow::Result<Arc<dyn BlobStore>> {
    match blobs {
        BlobLocation::Fs(dir) => {
            anyhow::ensure!(dir.join("FORMAT").is_file(), "no blob store at {}", dir.display());
            Ok(Arc::new(
                coffer_blob::FsBlobStore::open(dir).with_context(|| format!("opening blobs in {}", dir.display()))?,
            ))
        }
        BlobLocation::Rados(url) => open_rados(url).await,
    }
}

#[cfg(feature = "rados")]
async fn open_rados(url: &str) -> anyhow::Result<Arc<dyn BlobStore>> {
    let cfg = coffer_blob_rados::RadosConfig::from_url(url)?;
    let store = coffer_blob_rados::RadosBlobStore::connect(&cfg).await.context("connecting to RADOS")?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "rados"))]
async fn open_rados(_url: &str) -> anyhow::Result<Arc<dyn BlobStore>> {
    anyhow::bail!("this coffer was built without RADOS support: build it with `--features rados` (needs librados)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(MetaLocation::parse("sqlite:///x/meta.db"), Ok(MetaLocation::Sqlite("/x/meta.db".into())));
        assert_eq!(MetaLocation::parse("sqlite://rel/meta.db"), Ok(MetaLocation::Sqlite("rel/meta.db".into())));
        assert!(MetaLocation::parse("postgres://u@h/db").unwrap().is_shared());
        assert!(MetaLocation::parse("postgresql://u@h/db").is_ok());
        assert!(MetaLocation::parse("sqlite://").is_err());
        let e = MetaLocation::parse("mysql://u:pw@h/db").unwrap_err();
        assert!(e.contains("sqlite://PATH") && !e.contains("pw"), "{e}");
        assert_eq!(BlobLocation::parse("fs:///srv/b"), Ok(BlobLocation::Fs("/srv/b".into())));
        assert_eq!(BlobLocation::parse("rados://pool?conf=/c"), Ok(BlobLocation::Rados("rados://pool?conf=/c".into())));
        assert!(BlobLocation::parse("/srv/b").is_err());
        assert!(BlobLocation::parse("fs://").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://coffer:s3cret@db:5432/coffer"), "postgres://coffer:***@db:5432/coffer");
        assert_eq!(redact("postgres://coffer@db/coffer"), "postgres://coffer@db/coffer");
        assert_eq!(
            redact("postgres://db/c?password=xyz&sslmode=require"),
            "postgres://db/c?password=***&sslmode=require"
        );
        assert_eq!(redact("host=db password=xyz user=u"), "host=db password=*** user=u");
    }
}
