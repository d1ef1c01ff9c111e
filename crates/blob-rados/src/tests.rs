//! Tests on a real Ceph cluster (`scripts/with-ceph`): the blob conformance
//! suite and the RADOS-specific cases (stripes, ranges across stripe
//! boundaries, abandoned writers, bounded memory, the format). Each store
//! gets a namespace of its own in the pool, so tests never see one
//! another's objects.
//!
//! Without `COFFER_TEST_CEPH_CONF` the Ceph cases print `SKIPPED` and why,
//! and pass; with `COFFER_REQUIRE_CEPH=1` they fail instead. The connection
//! failures at the end need only librados.

use super::*;
use coffer_blob::BlobWriter as _;
use rand::RngCore as _;

/// A store on the test cluster with stripes of `stripe` bytes, in a fresh
/// namespace; `None` (after saying why) when there is no cluster.
async fn store(stripe: u64) -> Option<RadosBlobStore> {
    let (conf, pool) = match (std::env::var("COFFER_TEST_CEPH_CONF"), std::env::var("COFFER_TEST_CEPH_POOL")) {
        (Ok(c), Ok(p)) => (c, p),
        _ => {
            let why = "COFFER_TEST_CEPH_CONF/COFFER_TEST_CEPH_POOL are not set (run under scripts/with-ceph)";
            if std::env::var("COFFER_REQUIRE_CEPH").as_deref() == Ok("1") {
                panic!("COFFER_REQUIRE_CEPH=1 but {why}");
            }
            eprintln!("SKIPPED: {why}");
            return None;
        }
    };
    let mut ns = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut ns);
    let namespace: String = ns.iter().map(|b| format!("{b:02x}")).collect();
    let cfg = RadosConfig {
        pool,
        conf: conf.into(),
        namespace: format!("coffer-test-{namespace}"),
        stripe_size: stripe,
        timeout: Duration::from_secs(30),
        ..RadosConfig::default()
    };
    Some(RadosBlobStore::connect(&cfg).await.expect("connect to the test cluster"))
}

async fn make() -> Option<(Arc<dyn BlobStore>, ())> {
    // 1 MiB stripes: the suite's 1 MiB and 3 MiB blobs span several.
    store(1 << 20).await.map(|s| (Arc::new(s) as Arc<dyn BlobStore>, ()))
}

coffer_blob::blob_conformance_tests!(make);

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + seed as usize) % 251) as u8).collect()
}

async fn read_all(s: &RadosBlobStore, id: &BlobId, off: u64, len: u64) -> Vec<u8> {
    let chunks: Vec<Bytes> = s.read(id, off, len).await.unwrap().try_collect().await.unwrap();
    chunks.concat()
}

/// The sizes of stripes 0.. of `id` (up to the first missing one).
async fn stripe_sizes(s: &RadosBlobStore, id: &BlobId) -> Vec<u64> {
    let mut sizes = Vec::new();
    while let Ok((size, _)) = s.pool.stat(&stripe_name(id, sizes.len() as u64)).await {
        sizes.push(size);
    }
    sizes
}

async fn exists(s: &RadosBlobStore, name: &str) -> bool {
    match s.pool.stat(name).await {
        Ok(_) => true,
        Err(Errno(ENOENT)) => false,
        Err(e) => panic!("stat {name}: {e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mib_blob_spans_stripes_and_ranges_cross_their_boundaries() {
    let Some(s) = store(4 << 20).await else { return };
    const MIB: usize = 1 << 20;
    let data = pattern(20 * MIB + 123, 7);
    let mut w = s.start().await.unwrap();
    // Odd-sized pieces, so batches and stripes never line up with them.
    for piece in data.chunks(100_003) {
        w.write(Bytes::copy_from_slice(piece)).await.unwrap();
    }
    let peak = w.peak_buffered();
    let id = Box::new(w).commit().await.unwrap();
    // Memory: never more than two write batches, far less than a stripe
    // and the blob.
    assert!(peak <= 2 * writer::WRITE_BATCH, "peak {peak}");
    assert!((peak as u64) < s.stripe_size(), "peak {peak}");
    let four = 4 * MIB as u64;
    assert_eq!(stripe_sizes(&s, &id).await, vec![four, four, four, four, four, 123]);
    assert_eq!(s.head(&id).await.unwrap(), Head { len: data.len() as u64, stripe: four });
    assert_eq!(read_all(&s, &id, 0, data.len() as u64).await, data);
    let m = MIB as u64;
    for (off, len) in [
        (four - 10, 20),            // across the first boundary
        (four - 1, 1),              // the last byte of stripe 0
        (four, 1),                  // the first of stripe 1
        (3 * m + m / 2, 5 * m),     // over a whole stripe and two boundaries
        (2 * four - 5, four + 10),  // two boundaries, a stripe in between
        (20 * m, 123),              // the short last stripe
        (data.len() as u64 - 1, 1), // the last byte
        (four * 3, 0),              // nothing
    ] {
        let (o, l) = (off as usize, len as usize);
        assert_eq!(read_all(&s, &id, off, len).await, data[o..o + l], "range {off}+{len}");
    }
    // Past the end: an error, not a short read.
    let past: Result<Vec<Bytes>, _> = s.read(&id, data.len() as u64 - 1, 2).await.unwrap().try_collect().await;
    assert!(past.is_err());
    // Deleting removes the head and every stripe.
    s.delete(&id).await.unwrap();
    assert!(!exists(&s, &head_name(&id)).await);
    assert!(stripe_sizes(&s, &id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ranged_read_reads_only_the_stripes_it_covers() {
    let Some(s) = store(64 << 10).await else { return };
    let data = pattern(10 * (64 << 10), 3);
    let mut w = s.start().await.unwrap();
    w.write(Bytes::from(data.clone())).await.unwrap();
    let id = Box::new(w).commit().await.unwrap();
    // Remove stripes 0 and 9: a read of stripes 3..=5 does not notice.
    s.pool.remove(&stripe_name(&id, 0)).await.unwrap();
    s.pool.remove(&stripe_name(&id, 9)).await.unwrap();
    let (off, len) = (3 * (64 << 10) + 5, 2 * (64 << 10));
    assert_eq!(read_all(&s, &id, off as u64, len as u64).await, data[off..off + len]);
    // A read that needs a missing stripe fails.
    let r: Result<Vec<Bytes>, _> = s.read(&id, 0, 10).await.unwrap().try_collect().await;
    assert!(r.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_writers_stripes_are_removed_by_clean_temp() {
    let Some(s) = store(4 << 20).await else { return };
    // A crashed writer: 9 MiB sent (stripes 0, 1, 2), no head, never dropped.
    let mut crashed = s.start().await.unwrap();
    crashed.write(Bytes::from(pattern(9 << 20, 1))).await.unwrap();
    let crashed_id = crashed.id().clone();
    // Settle its last write: a crashed process's writes have all landed or not.
    crashed.flush().await.unwrap();
    crashed.settle().await.unwrap();
    std::mem::forget(crashed);
    // A committed blob and a live writer beside it.
    let mut w = s.start().await.unwrap();
    w.write(Bytes::from(pattern(5 << 20, 2))).await.unwrap();
    let kept = Box::new(w).commit().await.unwrap();
    let mut live = s.start().await.unwrap();
    live.write(Bytes::from(pattern(100, 3))).await.unwrap();
    assert_eq!(stripe_sizes(&s, &crashed_id).await.len(), 3);

    // Too young for an hour-old cut-off: nothing is touched.
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    assert_eq!(s.clean_temp(hour_ago).await.unwrap(), 0);
    assert_eq!(stripe_sizes(&s, &crashed_id).await.len(), 3);

    // A cut-off in the future: both head-less writers are abandoned.
    let later = SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(s.clean_temp(later).await.unwrap(), 2);
    assert!(stripe_sizes(&s, &crashed_id).await.is_empty());
    // A tombstone head fences the live writer: its next write or its commit
    // fails, and nothing becomes visible.
    assert!(exists(&s, &head_name(&crashed_id)).await, "tombstone kept");
    let live_id = live.id().clone();
    let refused = match live.write(Bytes::from(pattern(3 << 20, 4))).await {
        Err(_) => true,
        Ok(()) => Box::new(live).commit().await.is_err(),
    };
    assert!(refused, "a reclaimed writer cannot commit");
    assert!(matches!(s.read(&live_id, 0, 0).await, Err(BlobError::NotFound(_))));
    // The committed blob is untouched and listed; tombstones are not listed.
    assert_eq!(read_all(&s, &kept, 0, 5 << 20).await, pattern(5 << 20, 2));
    let page = s.list(later, None, 100).await.unwrap();
    assert_eq!(page.ids, vec![kept.clone()]);
    // A later pass removes the tombstones whose stripes are gone.
    assert_eq!(s.clean_temp(later).await.unwrap(), 0);
    assert!(!exists(&s, &head_name(&crashed_id)).await, "tombstone removed");
    assert!(!exists(&s, &head_name(&live_id)).await, "tombstone removed");
    assert!(stripe_sizes(&s, &live_id).await.is_empty(), "the fenced writer left nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_crashed_deletes_and_cleaners_leave_is_found_through_stripe_0() {
    let Some(s) = store(64 << 10).await else { return };
    let later = SystemTime::now() + Duration::from_secs(3600);
    let put = |n: usize| {
        let s = s.clone();
        async move {
            let mut w = s.start().await.unwrap();
            w.write(Bytes::from(pattern(n, 6))).await.unwrap();
            Box::new(w).commit().await.unwrap()
        }
    };
    // A delete that crashed after removing the head and the last stripes.
    let half_deleted = put(5 * (64 << 10)).await;
    s.pool.remove(&head_name(&half_deleted)).await.unwrap();
    for n in [4, 3] {
        s.pool.remove(&stripe_name(&half_deleted, n)).await.unwrap();
    }
    assert!(matches!(s.read(&half_deleted, 0, 1).await, Err(BlobError::NotFound(_))));
    s.delete(&half_deleted).await.unwrap();
    // A cleaner that crashed after claiming a blob (tombstone) and removing
    // some stripes.
    let half_cleaned = put(3 * (64 << 10)).await;
    s.pool.remove(&head_name(&half_cleaned)).await.unwrap();
    s.pool.write(&head_name(&half_cleaned), Guard::CreateExclusive, Vec::new(), Some(0)).await.unwrap();
    s.pool.remove(&stripe_name(&half_cleaned, 2)).await.unwrap();
    // A committed blob beside them is untouched.
    let kept = put(100).await;

    assert_eq!(s.clean_temp(later).await.unwrap(), 1, "the half-deleted blob is reclaimed");
    assert!(stripe_sizes(&s, &half_deleted).await.is_empty());
    assert!(stripe_sizes(&s, &half_cleaned).await.is_empty(), "the claimed blob's removal is finished");
    // Tombstones go on the next pass; the committed blob stays.
    s.clean_temp(later).await.unwrap();
    for id in [&half_deleted, &half_cleaned] {
        assert!(!exists(&s, &head_name(id)).await, "tombstone removed");
    }
    assert_eq!(read_all(&s, &kept, 0, 100).await, pattern(100, 6));
    let page = s.list(later, None, 10).await.unwrap();
    assert_eq!((page.ids, page.next.is_none()), (vec![kept], true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_writer_removes_its_stripes() {
    let Some(s) = store(1 << 20).await else { return };
    let mut w = s.start().await.unwrap();
    w.write(Bytes::from(pattern(3 << 20, 5))).await.unwrap();
    let id = w.id().clone();
    drop(w);
    // The removes are queued without waiting; poll until they have landed.
    for _ in 0..100 {
        if stripe_sizes(&s, &id).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("a dropped writer's stripes are still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_pieces_keep_the_writer_within_two_batches() {
    let Some(s) = store(8 << 20).await else { return };
    let mut w = s.start().await.unwrap();
    let piece = Bytes::from(pattern(4096, 9));
    for _ in 0..(24 << 20) / 4096 {
        w.write(piece.clone()).await.unwrap();
    }
    assert!(w.peak_buffered() <= 2 * writer::WRITE_BATCH, "peak {}", w.peak_buffered());
    let id = Box::new(w).commit().await.unwrap();
    assert_eq!(stripe_sizes(&s, &id).await, vec![8 << 20; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_of_another_format_version_are_refused() {
    let Some(s) = store(1 << 20).await else { return };
    let id = BlobId::random();
    let head = Bytes::from_static(b"coffer-rados-blob 2 5 1048576\n");
    s.pool.write(&head_name(&id), Guard::CreateExclusive, vec![head], None).await.unwrap();
    assert!(matches!(s.read(&id, 0, 1).await, Err(BlobError::Format(_))));
    // Objects that are not ours are not listed.
    s.pool.write("not-a-blob", Guard::CreateExclusive, vec![Bytes::from_static(b"x")], None).await.unwrap();
    let later = SystemTime::now() + Duration::from_secs(3600);
    let page = s.list(later, None, 10).await.unwrap();
    assert_eq!(page.ids, vec![id], "the head is listed (its version is checked when read)");
}

/// Resumes a stopped process when dropped (even when the test fails).
struct Resume(i32);

impl Drop for Resume {
    fn drop(&mut self) {
        // SAFETY: sends a signal to a process id; no memory is involved.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_stalled_osd_is_unavailable_after_the_timeout_and_blocks_no_runtime_thread() {
    let Some(quick) = store(1 << 20).await else { return };
    let Some(osd) = std::env::var("COFFER_TEST_CEPH_OSD_PID").ok().and_then(|p| p.parse::<i32>().ok()) else {
        eprintln!("SKIPPED: COFFER_TEST_CEPH_OSD_PID is not set (run under scripts/with-ceph)");
        return;
    };
    // A store on the same namespace with a 2 s operation timeout.
    let cfg = RadosConfig {
        pool: std::env::var("COFFER_TEST_CEPH_POOL").unwrap_or_default(),
        conf: std::env::var("COFFER_TEST_CEPH_CONF").unwrap_or_default().into(),
        timeout: Duration::from_secs(2),
        ..RadosConfig::default()
    };
    let s = RadosBlobStore::connect(&cfg).await.unwrap();
    let mut w = s.start().await.unwrap();
    w.write(Bytes::from_static(b"stall")).await.unwrap();
    let id = Box::new(w).commit().await.unwrap();
    drop(quick);

    // On this one-thread runtime, a ticker stops if anything blocks it.
    let ticks = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    // SAFETY: sends a signal to the test cluster's OSD; no memory is involved.
    assert_eq!(unsafe { libc::kill(osd, libc::SIGSTOP) }, 0, "stop the OSD");
    let resume = Resume(osd);
    // kill() returns before every thread of the OSD has stopped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let read = s.read(&id, 0, 5).await;
    let elapsed = started.elapsed();
    let mut w = s.create().await;
    drop(resume);
    ticker.abort();
    assert!(
        matches!(read, Err(BlobError::Unavailable(_))),
        "{:?} after {elapsed:?}",
        read.as_ref().err().map(ToString::to_string).ok_or("Ok")
    );
    assert!(matches!(w, Err(BlobError::Unavailable(_))), "{:?}", w.as_ref().err());
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(10), "{elapsed:?}");
    let ticked = ticks.load(std::sync::atomic::Ordering::Relaxed);
    assert!(ticked >= 40, "the runtime thread was blocked: {ticked} ticks in two timeouts");
    // Once the OSD runs again, so does the store.
    w = s.create().await;
    assert!(w.is_ok(), "{:?}", w.err());
    assert_eq!(read_all(&s, &id, 0, 5).await, b"stall");
}

/// A configuration file for a cluster that is not there.
fn nowhere(dir: &std::path::Path) -> RadosConfig {
    let conf = dir.join("ceph.conf");
    std::fs::write(
        &conf,
        "[global]\nmon host = 127.0.0.1:9\nauth client required = none\nlog to stderr = false\nerr to stderr = false\n",
    )
    .unwrap();
    RadosConfig { pool: "p".into(), conf, timeout: Duration::from_secs(2), ..RadosConfig::default() }
}

#[tokio::test]
async fn an_unreachable_cluster_is_unavailable_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let err = RadosBlobStore::connect(&nowhere(dir.path())).await.unwrap_err();
    assert!(matches!(err, BlobError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_missing_configuration_file_is_an_error() {
    let cfg = RadosConfig {
        pool: "p".into(),
        conf: "/nonexistent/ceph.conf".into(),
        timeout: Duration::from_secs(2),
        ..RadosConfig::default()
    };
    assert!(RadosBlobStore::connect(&cfg).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_pool_is_named() {
    let Some(s) = store(1 << 20).await else { return };
    drop(s);
    let conf = std::env::var("COFFER_TEST_CEPH_CONF").unwrap_or_default();
    let cfg = RadosConfig { pool: "no-such-pool".into(), conf: conf.into(), ..RadosConfig::default() };
    let err = RadosBlobStore::connect(&cfg).await.unwrap_err();
    assert!(err.to_string().contains("no-such-pool"), "{err}");
}

#[test]
fn errnos_map_to_blob_errors() {
    assert!(matches!(Errno(libc::ENOSPC).into_blob("w"), BlobError::NoSpace));
    assert!(matches!(Errno(libc::EDQUOT).into_blob("w"), BlobError::NoSpace));
    assert!(matches!(Errno(libc::ETIMEDOUT).into_blob("w"), BlobError::Unavailable(_)));
    assert!(matches!(Errno(libc::ESHUTDOWN).into_blob("w"), BlobError::Unavailable(_)));
    match Errno(libc::EIO).into_blob("w") {
        BlobError::Io(e) => assert_eq!(e.raw_os_error(), Some(libc::EIO)),
        other => panic!("{other:?}"),
    }
}
