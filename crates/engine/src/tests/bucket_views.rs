//! Two engines on one store, as two gateways: what each keeps of a bucket
//! (`bucket_cache.rs`) follows a change made through the other within the
//! TTL, and a change made through itself at once.

use super::*;
use std::sync::Arc;

/// Two engines ("gateways") on one SQLite store and blob directory.
fn two_gateways(ttl: Duration) -> (Engine, Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let meta = Arc::new(SqliteMetaStore::open(dir.path().join("meta.db")).unwrap());
    let blobs = Arc::new(FsBlobStore::open(dir.path().join("blobs")).unwrap());
    let cfg = EngineConfig { inline_max: 1024, min_part_size: 100, ..Default::default() };
    let a = Engine::new(meta.clone(), blobs.clone(), cfg.clone()).with_bucket_ttl(ttl);
    let b = Engine::new(meta, blobs, cfg).with_bucket_ttl(ttl);
    (a, b, dir)
}

#[tokio::test]
async fn another_gateways_change_holds_within_the_ttl_and_ones_own_at_once() {
    let ttl = Duration::from_millis(300);
    let (a, b, _dir) = two_gateways(ttl);
    a.create_bucket(NEW_BKT).await.unwrap();
    assert_eq!(b.head_bucket("bkt").await.unwrap().project, "p");
    assert_eq!(b.bucket_config("bkt", coffer_types::BucketConfigKind::Policy).await.unwrap(), None);

    // A policy set through A: A sees it at once, B within the TTL.
    a.set_bucket_config("bkt", None, coffer_types::BucketConfigKind::Policy, Some("v1".into())).await.unwrap();
    assert_eq!(a.bucket_config("bkt", coffer_types::BucketConfigKind::Policy).await.unwrap().as_deref(), Some("v1"));
    let changed = std::time::Instant::now();
    while b.bucket_config("bkt", coffer_types::BucketConfigKind::Policy).await.unwrap().is_none() {
        assert!(changed.elapsed() < ttl + Duration::from_millis(200), "B still has the old policy");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // B kept the old one for a while: it is a cache, not a pass-through.
    assert!(changed.elapsed() >= Duration::from_millis(50), "B never kept anything");

    // Deleted through B: gone on B at once, on A within the TTL.
    b.delete_bucket("bkt").await.unwrap();
    assert!(matches!(b.head_bucket("bkt").await, Err(EngineError::NoSuchBucket)));
    let deleted = std::time::Instant::now();
    while a.head_bucket("bkt").await.is_ok() {
        assert!(deleted.elapsed() < ttl + Duration::from_millis(200), "A still sees the deleted bucket");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_write_from_a_stale_view_of_a_bucket_made_again_is_told_to_retry() {
    let (a, b, _dir) = two_gateways(Duration::from_secs(30));
    a.create_bucket(NEW_BKT).await.unwrap();
    let old = a.head_bucket("bkt").await.unwrap(); // kept by A
                                                   // B deletes the bucket and its owner makes it again at once.
    b.delete_bucket("bkt").await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await; // a new creation time
    b.create_bucket(NEW_BKT).await.unwrap();
    assert_eq!(a.head_bucket("bkt").await.unwrap(), old, "A's view is stale");

    // A write authorized on A's stale view: refused, nothing stored, retry.
    let mut p = put("bkt", "k", b"data");
    p.stamp = Some(a.head_bucket("bkt").await.unwrap().stamp());
    let r = a.put_object(p).await;
    assert!(matches!(r, Err(EngineError::Unavailable(_))), "{r:?}");
    let gone = b.get_object(GetInput { bucket: "bkt".into(), key: "k".into(), ..Default::default() }).await;
    assert!(matches!(gone, Err(EngineError::NoSuchKey)));
    // A forgot its view: the retry is authorized on the new bucket and lands.
    let new = a.head_bucket("bkt").await.unwrap();
    assert_ne!(new.created, old.created);
    let mut p = put("bkt", "k", b"data");
    p.stamp = Some(new.stamp());
    a.put_object(p).await.unwrap();

    // Another project cannot take a deleted name while views of it may last.
    b.delete_object("bkt", "k").await.unwrap();
    b.delete_bucket("bkt").await.unwrap();
    let other = NewBucket { project: "q", ..NEW_BKT };
    let r = b.create_bucket(other).await;
    assert!(matches!(r, Err(EngineError::Unavailable(_))), "{r:?}");
}
