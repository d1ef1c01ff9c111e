//! Issue #11, item 6: the data directory is private to the server's user.
//! Directories were 0755 and `meta.db`, its WAL and the blobs 0644, so any
//! account on the host could read inline objects and password hashes.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// Every path under `root` (the root included), with its type and mode;
/// symbolic links are not followed.
fn walk(root: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        out.push((p.clone(), m.is_dir(), m.permissions().mode() & 0o7777));
        if m.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    out
}

/// Panics naming every path that is not 0700 (directories) or 0600 (files).
fn assert_private(root: &Path) {
    let open: Vec<String> = walk(root)
        .into_iter()
        .filter(|(_, dir, mode)| *mode != if *dir { 0o700 } else { 0o600 })
        .map(|(p, _, mode)| format!("{} {mode:o}", p.display()))
        .collect();
    assert!(open.is_empty(), "paths readable or writable by others: {open:#?}");
}

/// Writes an inline object and one large enough to become a blob, and
/// leaves a multipart upload open (its part is a blob too).
async fn write_objects(s: &TestServer) {
    assert_eq!(s.signed("PUT", "/files", "", &[], b"").await.status, 200);
    assert_eq!(s.signed("PUT", "/files/inline", "", &[], b"small secret").await.status, 200);
    let big = pattern(300_000, 1);
    assert_eq!(s.signed("PUT", "/files/blob", "", &[], &big).await.status, 200);
    let c = s.client();
    let up = c.create_multipart_upload().bucket("files").key("parts").send().await.unwrap();
    c.upload_part()
        .bucket("files")
        .key("parts")
        .upload_id(up.upload_id().unwrap())
        .part_number(1)
        .body(pattern(100_000, 2).into())
        .send()
        .await
        .unwrap();
}

/// A fresh data directory: everything the server creates (meta.db, its WAL
/// and SHM, master.key, operator.json, blob directories, blobs and parts)
/// is private.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_created_by_the_server_is_private() {
    let s = TestServer::start().await;
    write_objects(&s).await;
    let data = s.dir.path().join("data");
    let names: Vec<String> = walk(&data).iter().map(|(p, _, _)| p.display().to_string()).collect();
    for want in ["meta.db", "meta.db-wal", "meta.db-shm", "master.key", "blobs/FORMAT"] {
        assert!(names.iter().any(|n| n.ends_with(want)), "{want} missing from {names:#?}");
    }
    assert_private(&data);
    s.stop().await;
}

/// A data directory left open by an older version (0755 directories, 0644
/// files) is made private when the server starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_data_dir_is_made_private_at_start() {
    let s = TestServer::start().await;
    write_objects(&s).await;
    let dir = s.stop().await;
    let data = dir.path().join("data");
    for (p, is_dir, _) in walk(&data) {
        let mode = if is_dir { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let s = TestServer::start_in(dir).await;
    assert_private(&data);
    // Still the same store.
    assert_eq!(s.signed("GET", "/files/inline", "", &[], b"").await.body, b"small secret");
    assert_eq!(s.signed("GET", "/files/blob", "", &[], b"").await.body, pattern(300_000, 1));
    s.stop().await;
}
