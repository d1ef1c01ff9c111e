//! A consistent copy of a live SQLite metadata database, made while a
//! server writes it (`coffer backup`), and the check of such a copy.
//!
//! The copy is SQLite's online backup API in a single step: every page is
//! read from one snapshot (one read transaction of the WAL database) while
//! writers keep committing, so it holds exactly the writes committed before
//! it began. (A step of fewer pages starts over whenever the database
//! changes, and under steady load would never end.)

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Why a backup or its check failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists: a backup never overwrites a file")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} fails SQLite's integrity check: {report}")]
    Damaged { path: PathBuf, report: String },
    #[error("{path} is not Coffer metadata this version reads (schema {found}, this coffer {latest})")]
    NotCoffer { path: PathBuf, found: u32, latest: u32 },
    #[error("{0}: the database stayed busy; try again")]
    Busy(PathBuf),
}

/// What a copy holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub schema_version: u32,
    pub buckets: i64,
    /// Objects and bytes as the buckets' stored totals count them (every version).
    pub objects: i64,
    pub bytes: u64,
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite { path: path.to_owned(), source }
}

/// Copies the database at `from` (being written by a server, or not) into
/// the new file `out` (mode 0600), checks the copy, and says what it holds.
/// A failed copy leaves no file at `out`.
pub fn backup(from: &Path, out: &Path) -> Result<Summary, BackupError> {
    if out.exists() {
        return Err(BackupError::Exists(out.to_owned()));
    }
    let src = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql(from))?;
    // A writer may hold the database for a moment: wait rather than fail.
    src.busy_timeout(std::time::Duration::from_secs(30)).map_err(sql(from))?;
    // Beside the backup, named after it (never another file's name).
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let made = copy(&src, &partial).and_then(|()| check(&partial)).and_then(|s| publish(&partial, out).map(|()| s));
    let _ = std::fs::remove_file(&partial);
    made
}

/// Gives the checked copy its name, durably, never replacing a file made
/// meanwhile (a hard link fails if the name exists).
fn publish(partial: &Path, out: &Path) -> Result<(), BackupError> {
    fn io(path: &Path, source: std::io::Error) -> BackupError {
        BackupError::Io { path: path.to_owned(), source }
    }
    std::fs::File::open(partial).and_then(|f| f.sync_all()).map_err(|e| io(partial, e))?;
    std::fs::hard_link(partial, out).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(out.to_owned()),
        _ => io(out, e),
    })?;
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))?;
    Ok(())
}

fn copy(src: &Connection, to: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // Created private first: the metadata holds sealed secrets.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(|source| BackupError::Io { path: to.to_owned(), source })?;
    let mut dst = Connection::open(to).map_err(sql(to))?;
    {
        let b = rusqlite::backup::Backup::new(src, &mut dst).map_err(sql(to))?;
        // Every page in this one step, or nothing.
        match b.step(-1).map_err(sql(to))? {
            rusqlite::backup::StepResult::Done => {}
            _ => return Err(BackupError::Busy(to.to_owned())),
        }
    }
    // One self-contained file (no WAL beside it).
    dst.pragma_update(None, "journal_mode", "DELETE").map_err(sql(to))?;
    Ok(())
}

/// Checks a copy (SQLite's integrity check, a Coffer schema this version
/// reads) and counts what it holds.
pub fn check(path: &Path) -> Result<Summary, BackupError> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql(path))?;
    let report: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(sql(path))?;
    if report != "ok" {
        return Err(BackupError::Damaged { path: path.to_owned(), report });
    }
    let found: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql(path))?;
    let latest = crate::migrations::LATEST;
    if found == 0 || found > latest {
        return Err(BackupError::NotCoffer { path: path.to_owned(), found, latest });
    }
    let (buckets, objects, bytes): (i64, i64, i64) = c
        .query_row("SELECT count(*), coalesce(sum(objects), 0), coalesce(sum(bytes), 0) FROM buckets", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(sql(path))?;
    Ok(Summary { schema_version: found, buckets, objects, bytes: bytes.max(0) as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_a_checked_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("meta.db");
        drop(crate::SqliteMetaStore::open(&db).unwrap());
        let live = Connection::open(&db).unwrap();
        live.execute_batch(
            "INSERT INTO buckets (id, name, region, project, created, bytes, objects) VALUES (1, 'b', 'r', 'p', 1, 10, 2)",
        )
        .unwrap();
        let out = dir.path().join("meta.backup");
        let s = backup(&db, &out).unwrap();
        assert_eq!((s.schema_version, s.buckets, s.objects, s.bytes), (crate::migrations::LATEST, 1, 2, 10));
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&out).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        // Written after the backup: not in it.
        live.execute_batch("UPDATE buckets SET objects = 3").unwrap();
        assert_eq!(check(&out).unwrap().objects, 2);
        assert!(matches!(backup(&db, &out), Err(BackupError::Exists(_))));
        assert!(!dir.path().join("meta.backup.partial").exists());
        // Not Coffer's: refused by the check.
        let other = dir.path().join("other.db");
        Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        assert!(matches!(check(&other), Err(BackupError::NotCoffer { found: 0, .. })));
        std::fs::write(dir.path().join("junk"), b"not a database at all, not at all").unwrap();
        assert!(check(&dir.path().join("junk")).is_err());
    }
}
