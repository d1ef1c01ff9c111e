//! One server per data directory. Two processes on one directory would each
//! take every blob the other has written but not yet recorded for debris of
//! a crash (start-up recovery runs before the listeners bind, so a second
//! server deleted a live one's in-flight blobs and queued garbage before it
//! failed on "address in use"). The first thing a server does with its data
//! directory is take an exclusive `flock` on `LOCK` in it, held for the
//! life of the process; a second server stops there, touching nothing.
//! Servers configured to share the directory take the lock shared: any
//! number of them, but never beside one that owns it.

use anyhow::Context as _;
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// The lock file's name in the data directory.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub(crate) struct DataDirLock(#[allow(dead_code)] File);

/// Takes the data directory's lock (shared or exclusive), or fails naming the directory.
pub(crate) fn acquire(data_dir: &Path, shared: bool) -> anyhow::Result<DataDirLock> {
    acquire_dir(data_dir, shared, "data directory")
}

/// Takes the lock of `dir` (`what` names it in the error: "data directory",
/// "blob directory").
pub(crate) fn acquire_dir(data_dir: &Path, shared: bool, what: &str) -> anyhow::Result<DataDirLock> {
    let path = data_dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(crate::private_files::FILE_MODE)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let op = if shared {
        rustix::fs::FlockOperation::NonBlockingLockShared
    } else {
        rustix::fs::FlockOperation::NonBlockingLockExclusive
    };
    match rustix::fs::flock(&file, op) {
        Ok(()) => Ok(DataDirLock(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => anyhow::bail!(
            "another coffer server is using the {what} {} (it holds {}); a single node's directory serves one process, \
             and gateways on PostgreSQL share a blob directory with each other only",
            data_dir.display(),
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), false).unwrap();
        let e = acquire(dir.path(), false).unwrap_err().to_string();
        assert!(e.contains("another coffer server is using the data directory"), "{e}");
        assert!(acquire(dir.path(), true).is_err(), "nor shared beside an owner");
        drop(first);
        let shared = [acquire(dir.path(), true).unwrap(), acquire(dir.path(), true).unwrap()];
        assert!(acquire(dir.path(), false).is_err(), "no owner beside sharers");
        drop(shared);
        acquire(dir.path(), false).unwrap();
    }
}
