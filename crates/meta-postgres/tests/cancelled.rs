//! Writes whose callers give up mid-transaction (a client disconnecting, a
//! timeout) leave no pooled connection inside a transaction and nothing
//! half-applied: the pipelined transactions (`retry::PipeTx`) roll back
//! when dropped before their `COMMIT`, and the one-statement writes (PUT
//! without condition or quota, delete) commit whole or not at all.

use coffer_meta::*;
use coffer_meta_postgres::testing::TestDatabase;
use coffer_meta_postgres::PgMetaStore;
use std::sync::Arc;
use std::time::Duration;

fn object(key: &str, size: usize) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size: size as u64,
        etag: "e".into(),
        last_modified: 1,
        meta: ObjectMeta::default(),
        data: ObjectData::Inline(bytes::Bytes::from(vec![b'x'; size])),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_dropped_mid_transaction_leave_no_open_transaction_and_exact_totals() {
    let Some(db) = TestDatabase::new("cancelled::dropped_writes").await else { return };
    let store = Arc::new(PgMetaStore::connect_config(db.config(), 4).await.unwrap());
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
    let (client, conn) = db.config().connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);

    let mut cancelled = 0;
    for round in 0..80u64 {
        // As many writes at once as the pool has connections, all given up
        // after 0 to ~1.5 ms: before, during or after their round trips.
        let tasks: Vec<_> = (0..4u64)
            .map(|i| {
                let s = store.clone();
                let key = format!("k{}", (round * 4 + i) % 17);
                let size = 1 + ((round + i) % 5) as usize;
                tokio::spawn(async move {
                    // Overwrites and deletes of a few keys: both pipelined paths.
                    if (round + i) % 3 == 0 {
                        s.delete_object("b", &key).await.map(|_| ())
                    } else {
                        s.put_object("b", object(&key, size), WriteCondition::None).await.map(drop)
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_micros((round * 37) % 1500)).await;
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            if t.await.is_err() {
                cancelled += 1;
            }
        }
        // Nothing uses the pool now: a connection handed back inside a
        // transaction would stay so. The rollbacks are sent from spawned
        // tasks, and a one-statement write whose caller gave up still runs
        // to its end on the server ('active'): give them a moment.
        let mut open = i64::MAX;
        for _ in 0..50 {
            let row = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()
                       AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')",
                    &[],
                )
                .await
                .unwrap();
            open = row.get(0);
            if open == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(open, 0, "round {round}: pooled connections left inside a transaction (or busy)");
    }
    assert!(cancelled > 0, "no write was cancelled mid-way; the test proves nothing");

    // Every write applied whole or not at all: the totals equal the objects.
    let listed = store.list_objects("b", &ListQuery { limit: 1000, ..Default::default() }).await.unwrap();
    let mut bytes = 0;
    let mut objects = 0;
    for e in &listed {
        if let ListEntry::Object(o) = e {
            bytes += o.size;
            objects += 1;
        }
    }
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes, objects });
    // And the pool still serves.
    store.put_object("b", object("after", 3), WriteCondition::None).await.unwrap();
    assert!(store.get_object("b", "after").await.unwrap().is_some());
    println!("{cancelled} of 320 writes cancelled mid-way; {objects} objects, totals exact, no open transaction");
}
