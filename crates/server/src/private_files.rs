//! The data directory is private to the server's user: every directory in
//! it is 0700 and every file 0600, since `meta.db` holds inline objects and
//! password hashes and the blobs hold everyone's data.
//!
//! Three layers keep it so: the process umask is 0077 from start (SQLite
//! creates its `-wal` and `-shm` files itself, and so does anything else);
//! the stores create their files with explicit modes (`FsBlobStore`,
//! `SqliteMetaStore`); and at start [`tighten`] walks the data directory once
//! and takes group and other permissions off whatever an older version (or
//! an operator's copy) left readable.

use std::io;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

/// The mode of every directory under the data directory.
pub(crate) const DIR_MODE: u32 = 0o700;
/// The mode of every file under the data directory.
pub(crate) const FILE_MODE: u32 = 0o600;

/// The entries of the data directory the server makes, which are followed
/// when they are symbolic links.
pub(crate) const OWN_ENTRIES: &[&str] = &["blobs", "meta.db", "meta.db-wal", "meta.db-shm", "master.key", "LOCK"];

/// Files and directories the process creates from now on get no group or
/// other permissions.
pub(crate) fn restrict_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates the data directory (and missing parents) with mode 0700.
pub(crate) fn create_dir(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(path)
}

/// Takes group and other permissions off the data directory and everything
/// below it. The data directory itself and the server's own entries in it
/// ([`OWN_ENTRIES`]) may be symbolic links (a data directory or a blob store
/// on another disk) and are followed; any other link is left alone, never
/// followed. Returns how many paths were changed. A path that cannot be
/// changed is logged and skipped.
pub(crate) fn tighten(root: &Path) -> io::Result<usize> {
    let mut changed = 0;
    let mut stack = vec![(std::fs::canonicalize(root)?, 0usize)];
    while let Some((path, depth)) = stack.pop() {
        let meta = if depth == 0 { std::fs::metadata(&path) } else { std::fs::symlink_metadata(&path) };
        let meta = match meta {
            Ok(m) => m,
            // Removed while we walk (a temp file committed or dropped).
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let ft = meta.file_type();
        let want = if ft.is_dir() {
            DIR_MODE
        } else if ft.is_file() {
            FILE_MODE
        } else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o7777;
        // Only ever remove permissions: owner bits the file lacks stay off
        // (a read-only file stays read-only), except that a directory must
        // stay traversable by its owner.
        let target = if ft.is_dir() { (mode & want) | DIR_MODE } else { mode & want };
        if target != mode {
            match std::fs::set_permissions(&path, std::fs::Permissions::from_mode(target)) {
                Ok(()) => changed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not make a data file private"),
            }
        }
        if ft.is_dir() {
            match std::fs::read_dir(&path) {
                Ok(entries) => {
                    for entry in entries {
                        let entry = entry?.path();
                        let own = depth == 0
                            && entry.file_name().and_then(|n| n.to_str()).is_some_and(|n| OWN_ENTRIES.contains(&n));
                        // An own entry that is a link: walk its target as if it were here.
                        let entry = if own { std::fs::canonicalize(&entry).unwrap_or(entry) } else { entry };
                        stack.push((entry, depth + 1));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn open_modes_are_tightened_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join("blobs/v1/ab")).unwrap();
        std::fs::write(root.join("meta.db"), b"x").unwrap();
        std::fs::write(root.join("blobs/v1/ab/abcd"), b"y").unwrap();
        std::fs::write(root.join("readonly"), b"z").unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"o").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        for (p, m) in [
            (root.clone(), 0o755),
            (root.join("blobs"), 0o755),
            (root.join("blobs/v1"), 0o775),
            (root.join("blobs/v1/ab"), 0o755),
            (root.join("meta.db"), 0o644),
            (root.join("blobs/v1/ab/abcd"), 0o666),
            (root.join("readonly"), 0o444),
            (outside.clone(), 0o644),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
        }
        assert_eq!(tighten(&root).unwrap(), 7);
        for d in ["", "blobs", "blobs/v1", "blobs/v1/ab"] {
            assert_eq!(mode(&root.join(d)), 0o700, "{d}");
        }
        assert_eq!(mode(&root.join("meta.db")), 0o600);
        assert_eq!(mode(&root.join("blobs/v1/ab/abcd")), 0o600);
        assert_eq!(mode(&root.join("readonly")), 0o400, "never adds a permission to a file");
        assert_eq!(mode(&outside), 0o644, "a symbolic link is not followed");
        assert_eq!(tighten(&root).unwrap(), 0, "nothing left to change");
    }

    #[test]
    fn a_linked_data_dir_and_blob_store_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let disk2 = dir.path().join("disk2");
        std::fs::create_dir_all(real.join("x")).unwrap();
        std::fs::create_dir_all(disk2.join("v1")).unwrap();
        std::fs::write(disk2.join("v1/blob"), b"b").unwrap();
        std::fs::write(real.join("meta.db"), b"m").unwrap();
        std::os::unix::fs::symlink(&disk2, real.join("blobs")).unwrap();
        let root = dir.path().join("data");
        std::os::unix::fs::symlink(&real, &root).unwrap();
        for p in [&real, &disk2, &disk2.join("v1"), &real.join("x")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for p in [disk2.join("v1/blob"), real.join("meta.db")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(tighten(&root).unwrap(), 6);
        for d in [&real, &disk2, &disk2.join("v1"), &real.join("x")] {
            assert_eq!(mode(d), 0o700, "{}", d.display());
        }
        assert_eq!(mode(&disk2.join("v1/blob")), 0o600);
        assert_eq!(mode(&real.join("meta.db")), 0o600);
    }
}
