//! The one-statement PUT (`put_batch.rs`): a second run of the same PUT (its
//! first reply lost with the connection) changes nothing, and a quota set
//! while a PUT waits for the bucket's lock is seen by that PUT.

use coffer_meta::*;
use coffer_meta_postgres::testing::TestDatabase;
use coffer_meta_postgres::PgMetaStore;
use coffer_types::BlobId;
use std::collections::HashSet;
use std::time::Duration;

fn with_blob(key: &str, blob: BlobId, size: u64) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size,
        etag: format!("e{size}"),
        last_modified: 1,
        meta: ObjectMeta::default(),
        data: ObjectData::Segments(vec![Segment { blob, size, crc64: Some(u64::MAX - size) }]),
    }
}

fn inline(key: &str, size: usize) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size: size as u64,
        etag: "i".into(),
        last_modified: 1,
        meta: ObjectMeta::default(),
        data: ObjectData::Inline(bytes::Bytes::from(vec![b'x'; size])),
    }
}

fn blobs_of(o: &ObjectRecord) -> Vec<BlobId> {
    match &o.data {
        ObjectData::Segments(s) => s.iter().map(|s| s.blob.clone()).collect(),
        ObjectData::Inline(_) => Vec::new(),
    }
}

async fn queued(store: &PgMetaStore) -> HashSet<BlobId> {
    store.gc_pending(i64::MAX, 1000).await.unwrap().into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_put_run_again_changes_nothing() {
    let Some(db) = TestDatabase::new("put_rerun::run_again").await else { return };
    let store = PgMetaStore::connect_config(db.config(), 2).await.unwrap();
    store
        .create_bucket(BucketRecord {
            name: "b".into(),
            region: "r".into(),
            project: "p".into(),
            created: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let (b1, b2) = (BlobId::random(), BlobId::random());
    let first = with_blob("k", b1.clone(), 10);

    // Run twice while it is current: still one object, its blob not queued.
    store.put_object("b", first.clone(), WriteCondition::None).await.unwrap();
    store.put_object("b", first.clone(), WriteCondition::None).await.unwrap();
    assert_eq!(blobs_of(&store.get_object("b", "k").await.unwrap().unwrap()), vec![b1.clone()]);
    assert!(queued(&store).await.is_empty(), "the current object's blob was queued for deletion");
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 10, objects: 1 });

    // Replaced by another PUT, then run again: the other one stays current.
    store.put_object("b", with_blob("k", b2.clone(), 20), WriteCondition::None).await.unwrap();
    store.put_object("b", first, WriteCondition::None).await.unwrap();
    assert_eq!(blobs_of(&store.get_object("b", "k").await.unwrap().unwrap()), vec![b2.clone()]);
    assert_eq!(queued(&store).await, HashSet::from([b1]));
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 20, objects: 1 });

    // Inline: a second run rewrites the same row; totals unchanged.
    store.put_object("b", inline("i", 7), WriteCondition::None).await.unwrap();
    store.put_object("b", inline("i", 7), WriteCondition::None).await.unwrap();
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 27, objects: 2 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_set_while_a_put_waits_for_the_bucket_is_seen() {
    let Some(db) = TestDatabase::new("put_rerun::quota_while_waiting").await else { return };
    let store = PgMetaStore::connect_config(db.config(), 2).await.unwrap();
    store
        .create_bucket(BucketRecord {
            name: "b".into(),
            region: "r".into(),
            project: "p".into(),
            created: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    store.put_object("b", inline("old", 5), WriteCondition::None).await.unwrap();

    // Another session does what set_quota does, holding its lock a while:
    // lock the bucket's row, rewrite it, write the quota (1 object: full).
    let (mut client, conn) = db.config().connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let tx = client.transaction().await.unwrap();
    tx.batch_execute(
        "SELECT id FROM buckets WHERE name = 'b' FOR UPDATE;
         UPDATE buckets SET created = created WHERE name = 'b';
         INSERT INTO quotas (scope_kind, scope_name, max_bytes, max_objects) VALUES ('bucket', 'b', NULL, 1);",
    )
    .await
    .unwrap();
    let put = tokio::spawn({
        let store = PgMetaStore::connect_config(db.config(), 1).await.unwrap();
        async move { store.put_object("b", inline("new", 5), WriteCondition::None).await }
    });
    // The PUT is sent and waits for the lock (its snapshot has no quota).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!put.is_finished(), "the PUT did not wait for the bucket's lock");
    tx.commit().await.unwrap();
    let r = put.await.unwrap();
    assert!(matches!(r, Err(MetaError::QuotaExceeded(QuotaScope::Bucket(_)))), "{r:?}");
    assert!(store.get_object("b", "new").await.unwrap().is_none());
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 5, objects: 1 });
}
