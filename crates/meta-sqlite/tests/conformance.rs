//! The shared MetaStore conformance suite against SQLite, plus SQLite-specific
//! checks (durability across reopen, group commit under concurrency).

use coffer_meta::conformance::ListingHarness;
use coffer_meta::{
    console_conformance_tests, listing_scale_tests, meta_conformance_tests, two_handle_conformance_tests, Store,
};
use std::sync::Arc;

async fn make() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("meta.db")).unwrap();
    (Arc::new(store), dir)
}

meta_conformance_tests!(make);

/// Two handles on one database file: two gateways sharing it.
async fn make_pair() -> (Arc<dyn Store>, Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let a = coffer_meta_sqlite::SqliteMetaStore::open(&path).unwrap();
    let b = coffer_meta_sqlite::SqliteMetaStore::open(&path).unwrap();
    (Arc::new(a), Arc::new(b), dir)
}

console_conformance_tests!(make, make_pair);
two_handle_conformance_tests!(make_pair);

/// The listing cases at scale: rows inserted over a connection of their own,
/// rows read counted by the store.
struct Harness {
    store: Arc<coffer_meta_sqlite::SqliteMetaStore>,
    path: std::path::PathBuf,
}

#[async_trait::async_trait]
impl ListingHarness for Harness {
    async fn bulk_insert(&self, bucket: &str, keys: &[String]) {
        let mut c = rusqlite::Connection::open(&self.path).unwrap();
        c.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
        let meta = serde_json::to_string(&coffer_meta::ObjectMeta::default()).unwrap();
        let tx = c.transaction().unwrap();
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta, inline_data)
                     SELECT id, ?2, 1, 'e', 1000, ?3, x'78' FROM buckets WHERE name = ?1",
                )
                .unwrap();
            for k in keys {
                assert_eq!(st.execute(rusqlite::params![bucket, k.as_bytes(), meta]).unwrap(), 1);
            }
        }
        tx.commit().unwrap();
    }
    fn list_reads(&self) -> (u64, u64) {
        self.store.list_reads()
    }
    async fn index_rows_read(&self) -> Option<u64> {
        None
    }
}

async fn make_scale() -> Option<(Arc<dyn Store>, Arc<dyn ListingHarness>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let store = Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(&path).unwrap());
    Some((store.clone(), Arc::new(Harness { store, path }), dir))
}

listing_scale_tests!(make_scale);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_reopen() {
    use coffer_meta::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    {
        let s = coffer_meta_sqlite::SqliteMetaStore::open(&path).unwrap();
        s.create_bucket(BucketRecord {
            object_lock: false,
            versioning: Default::default(),
            name: "b".into(),
            region: "r".into(),
            project: "".into(),
            created: 1,
        })
        .await
        .unwrap();
    }
    let s = coffer_meta_sqlite::SqliteMetaStore::open(&path).unwrap();
    assert!(s.get_bucket("b").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_writers_all_land() {
    use coffer_meta::*;
    let (s, _g) = make().await;
    s.create_bucket(BucketRecord {
        object_lock: false,
        versioning: Default::default(),
        name: "b".into(),
        region: "r".into(),
        project: "".into(),
        created: 1,
    })
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let o = ObjectRecord {
                version_id: None,
                key: format!("k{i:04}"),
                size: 1,
                etag: "e".into(),
                last_modified: 1,
                meta: ObjectMeta::default(),
                data: ObjectData::Inline(bytes::Bytes::from_static(b"x")),
            };
            s.put_object("b", o, WriteCondition::None).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let q = ListQuery { limit: 1000, ..Default::default() };
    assert_eq!(s.list_objects("b", &q).await.unwrap().len(), 200);
}

/// Concurrent writers share commits (and so fsyncs) instead of queueing for one each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_group_committed() {
    use coffer_meta::*;
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("meta.db")).unwrap());
    s.create_bucket(BucketRecord {
        object_lock: false,
        versioning: Default::default(),
        name: "b".into(),
        region: "r".into(),
        project: "".into(),
        created: 1,
    })
    .await
    .unwrap();
    let (jobs0, commits0) = s.write_stats();
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (s, barrier) = (s.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let o = ObjectRecord {
                version_id: None,
                key: format!("k{i}"),
                size: 1,
                etag: "e".into(),
                last_modified: 1,
                meta: ObjectMeta::default(),
                data: ObjectData::Inline(bytes::Bytes::from_static(b"x")),
            };
            s.put_object("b", o, WriteCondition::None).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (jobs, commits) = s.write_stats();
    let (jobs, commits) = (jobs - jobs0, commits - commits0);
    assert_eq!(jobs, 64);
    assert!(commits * 4 <= jobs, "64 concurrent writes took {commits} commits");
}
