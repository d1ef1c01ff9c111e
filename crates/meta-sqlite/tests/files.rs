//! The database files are private to the server's user (issue #11, item 6):
//! `meta.db` is created 0600 and SQLite gives its `-wal` and `-shm` files the
//! same mode, whatever the process umask.

use coffer_meta_sqlite::SqliteMetaStore;
use std::os::unix::fs::PermissionsExt as _;

#[test]
fn database_wal_and_shm_are_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("meta.db");
    let store = SqliteMetaStore::open(&db).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let p = dir.path().join(format!("meta.db{suffix}"));
        let mode = std::fs::metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", p.display());
    }
    drop(store);
    // An existing database opens as before.
    SqliteMetaStore::open(&db).unwrap();
}
