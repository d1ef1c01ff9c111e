//! Statements are prepared once per connection and reused; a connection
//! whose statements vanished on the server recovers by itself.

use coffer_meta::*;
use coffer_meta_postgres::testing::TestDatabase;
use coffer_meta_postgres::PgMetaStore;

fn bucket(name: &str) -> BucketRecord {
    BucketRecord {
        name: name.into(),
        region: "us-east-1".into(),
        project: "p".into(),
        created: 1,
        ..Default::default()
    }
}

fn object(key: &str, body: &'static [u8]) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size: body.len() as u64,
        etag: "e".into(),
        last_modified: 1,
        meta: ObjectMeta::default(),
        data: ObjectData::Inline(bytes::Bytes::from_static(body)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_are_prepared_once_and_survive_being_dropped_on_the_server() {
    let Some(db) = TestDatabase::new("statements::prepared_once").await else { return };
    let store = PgMetaStore::connect_config(db.config(), 2).await.unwrap();
    store.create_bucket(bucket("b")).await.unwrap();
    for i in 0..20 {
        store.put_object("b", object(&format!("k{i}"), b"one"), WriteCondition::None).await.unwrap();
        assert!(store.get_object("b", &format!("k{i}")).await.unwrap().is_some());
    }
    let (cached, held) = store.prepared_statements().await.unwrap();
    assert!(cached > 0, "no statement was cached");
    assert_eq!(cached, held, "every cached statement is prepared on its server connection");
    // 20 PUTs and GETs on 2 connections prepared each statement at most once
    // per connection: the cache did not grow per call.
    let again = {
        for i in 0..20 {
            store.put_object("b", object(&format!("k{i}"), b"two"), WriteCondition::None).await.unwrap();
        }
        store.prepared_statements().await.unwrap().0
    };
    assert!(again <= cached + 4, "overwrites prepared new statements per call: {cached} then {again}");

    store.deallocate_behind_caches().await.unwrap();
    assert_eq!(store.prepared_statements().await.unwrap().1, 0);
    // Every kind of call works again: reads, pipelined writes, deletes,
    // transactions, listings.
    for i in 0..20 {
        let key = format!("k{i}");
        let got = store.get_object("b", &key).await.unwrap().expect("object");
        assert_eq!(got.data, ObjectData::Inline(bytes::Bytes::from_static(b"two")));
        store.put_object("b", object(&key, b"three"), WriteCondition::None).await.unwrap();
    }
    store.deallocate_behind_caches().await.unwrap();
    assert!(store.delete_object("b", "k0").await.unwrap());
    let listed = store.list_objects("b", &ListQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(listed.len(), 19);
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 19 * 5, objects: 19 });
    // A connection that met a lost statement prepared its statements again
    // (one not used since still holds its stale cache, and recovers on use).
    let (_, held) = store.prepared_statements().await.unwrap();
    assert!(held > 0, "no statement was prepared again after recovery");
}
