//! Lost connections and an unreachable server: retried within about a
//! second, then `MetaError::Unavailable` with nothing half-written, and
//! service resumes by itself once the server is back. Each test has a
//! database of its own (it cuts that database's connections).

use coffer_meta::*;
use coffer_meta_postgres::testing::TestDatabase;
use coffer_meta_postgres::PgMetaStore;
use std::time::{Duration, Instant};

fn bucket(name: &str) -> BucketRecord {
    BucketRecord {
        name: name.into(),
        region: "us-east-1".into(),
        project: "p".into(),
        created: 1,
        ..Default::default()
    }
}

fn object(key: &str) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size: 1,
        etag: "e".into(),
        last_modified: 1,
        meta: ObjectMeta::default(),
        data: ObjectData::Inline(bytes::Bytes::from_static(b"x")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_connections_are_retried_transparently() {
    let Some(db) = TestDatabase::new("outage::cut_connections").await else { return };
    let store = PgMetaStore::connect_config(db.config(), 3).await.unwrap();
    store.create_bucket(bucket("b")).await.unwrap();
    for i in 0..5 {
        // Every pooled connection dies; the next calls reconnect.
        db.cut_connections().await;
        store.put_object("b", object(&format!("k{i}")), WriteCondition::IfAbsent).await.unwrap();
        assert!(store.get_object("b", &format!("k{i}")).await.unwrap().is_some());
    }
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 5, objects: 5 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable_within_about_a_second_then_resumes() {
    let Some(db) = TestDatabase::new("outage::unreachable").await else { return };
    let store = PgMetaStore::connect_config(db.config(), 2).await.unwrap();
    store.create_bucket(bucket("b")).await.unwrap();
    db.set_reachable(false).await;

    let started = Instant::now();
    let r = store.put_object("b", object("k"), WriteCondition::None).await;
    let took = started.elapsed();
    assert!(matches!(r, Err(MetaError::Unavailable(_))), "{r:?}");
    assert!(r.as_ref().err().is_some_and(MetaError::is_retryable));
    assert!(took < Duration::from_millis(1500), "gave up after {took:?}");
    assert!(took >= Duration::from_millis(50), "retried before giving up: {took:?}");
    assert!(matches!(store.get_bucket("b").await, Err(MetaError::Unavailable(_))));
    assert!(matches!(store.ping().await, Err(MetaError::Unavailable(_))));

    db.set_reachable(true).await;
    store.ping().await.unwrap();
    assert!(store.get_object("b", "k").await.unwrap().is_none(), "the refused write left nothing");
    store.put_object("b", object("k"), WriteCondition::None).await.unwrap();
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 1, objects: 1 });
}

#[tokio::test]
async fn no_server_at_start_is_unavailable() {
    // Needs no server, but is skipped (saying so) with the others.
    let Some(db) = TestDatabase::new("outage::no_server").await else { return };
    drop(db);
    let mut config = coffer_meta_postgres::Config::new();
    config.host("/nonexistent-coffer-socket-dir").port(5432).user("coffer").dbname("coffer");
    let r = PgMetaStore::connect_config(config, 1).await;
    assert!(matches!(r, Err(MetaError::Unavailable(_))), "{:?}", r.err());
}
