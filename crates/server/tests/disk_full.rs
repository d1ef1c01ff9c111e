//! A full disk: the data directory on a small tmpfs. Writes that do not fit
//! get a clean 507 InsufficientStorage, nothing already stored is damaged,
//! and writes succeed again once space returns: blob writes leave a reserve
//! free (5 % of the filesystem, at most 256 MiB) so the deletes that free
//! space can still be recorded in the metadata store on the same disk.
//!
//! Needs root (to mount tmpfs); without it the test says so and does nothing.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_gives_clean_error_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(dir.path())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIPPED full_disk_gives_clean_error_and_recovers: mounting a tmpfs needs root");
        return;
    }
    let _mount = Tmpfs(dir.path().to_owned());
    let s = TestServer::start_in(tempfile::tempdir_in(dir.path()).unwrap()).await;
    assert_eq!(s.signed("PUT", "/full", "", &[], b"").await.status, 200);
    let obj = pattern(1 << 20, 1);
    let mut stored = Vec::new();
    let mut refused = None;
    for i in 0..40 {
        let r = s.signed("PUT", &format!("/full/o{i}"), "", &[], &obj).await;
        if r.status == 200 {
            stored.push(i);
        } else {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("a 24 MiB disk must fill up within 40 MiB of writes");
    assert_eq!((r.status, r.code().as_deref()), (507, Some("InsufficientStorage")), "{}", r.text());
    assert!(stored.len() >= 5, "some objects fit before the disk filled: {}", stored.len());
    assert_eq!(s.blob_files().0, 0, "the refused write left no temporary data");
    // Everything acknowledged is intact; small inline objects may still fit or fail cleanly.
    for i in &stored {
        assert_eq!(s.signed("GET", &format!("/full/o{i}"), "", &[], b"").await.body, obj, "object o{i}");
    }
    let small = s.signed("PUT", "/full/small", "", &[], b"tiny").await;
    assert!(small.status == 200 || small.status == 507, "{}", small.text());
    // Free space: delete half the objects; the collector reclaims their blobs.
    for i in stored.iter().take(stored.len() / 2) {
        assert_eq!(s.signed("DELETE", &format!("/full/o{i}"), "", &[], b"").await.status, 204);
    }
    let mut recovered = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if s.signed("PUT", "/full/after", "", &[], &obj).await.status == 200 {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "writes succeed again once space returns");
    assert_eq!(s.signed("GET", "/full/after", "", &[], b"").await.body, obj);
    for i in stored.iter().skip(stored.len() / 2) {
        assert_eq!(s.signed("GET", &format!("/full/o{i}"), "", &[], b"").await.body, obj, "object o{i} after recovery");
    }
    s.stop().await;
}
