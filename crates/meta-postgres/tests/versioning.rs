//! Versioning and the unbounded paths (`quota.rs`, `put_batch.rs`): once
//! `set_versioning` has returned, no batched PUT, conditional PUT or
//! delete of the bucket writes unversioned, even one that was already
//! waiting for the bucket's row; a batched PUT run again after versioning
//! was enabled still finds its blobs and writes nothing.

use coffer_meta::*;
use coffer_meta_postgres::testing::TestDatabase;
use coffer_meta_postgres::PgMetaStore;
use coffer_types::{new_version_id, BlobId, Versioning};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn bucket(name: &str) -> BucketRecord {
    BucketRecord { name: name.into(), region: "r".into(), project: "p".into(), created: 1, ..Default::default() }
}

fn object(key: &str, size: u64, blob: Option<BlobId>) -> ObjectRecord {
    ObjectRecord {
        version_id: Some(new_version_id()),
        key: key.into(),
        size,
        etag: format!("e{size}"),
        last_modified: 1,
        meta: ObjectMeta::default(),
        data: match blob {
            Some(blob) => ObjectData::Segments(vec![Segment { blob, size, crc64: Some(!size) }]),
            None => ObjectData::Inline(bytes::Bytes::from(vec![b'x'; size as usize])),
        },
    }
}

/// Every version of `b`: (key, id, delete marker, size).
async fn versions(s: &PgMetaStore, b: &str) -> Vec<(String, Option<String>, bool, u64)> {
    let q = VersionListQuery { limit: 100_000, ..Default::default() };
    let mut out = Vec::new();
    for e in s.list_versions(b, &q).await.unwrap() {
        if let VersionEntry::Version(v) = e {
            out.push((v.key, v.version_id, v.delete_marker, v.size));
        }
    }
    out
}

/// What `set_versioning` does, by another session that holds its lock a
/// while: the bucket's row locked, then rewritten with versioning on.
async fn enable_slowly(db: &TestDatabase) -> (tokio_postgres::Client, tokio::task::JoinHandle<()>) {
    let (client, conn) = db.config().connect(tokio_postgres::NoTls).await.unwrap();
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    client
        .batch_execute(
            "BEGIN;
             SELECT id FROM buckets WHERE name = 'b' FOR UPDATE;
             UPDATE buckets SET versioning = 1 WHERE name = 'b';",
        )
        .await
        .unwrap();
    (client, driver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_waiting_while_versioning_is_enabled_write_versions() {
    let Some(db) = TestDatabase::new("versioning::waiting").await else { return };
    let store = Arc::new(PgMetaStore::connect_config(db.config(), 4).await.unwrap());
    store.create_bucket(bucket("b")).await.unwrap();
    for key in ["batched", "conditional", "deleted"] {
        store.put_object("b", object(key, 3, None), WriteCondition::None).await.unwrap();
    }
    let (client, driver) = enable_slowly(&db).await;
    let s = store.clone();
    let batched =
        tokio::spawn(async move { s.put_object("b", object("batched", 5, None), WriteCondition::None).await });
    let s = store.clone();
    let conditional = tokio::spawn(async move {
        s.put_object("b", object("conditional", 5, None), WriteCondition::IfETag("e3".into())).await
    });
    let s = store.clone();
    let deleted = tokio::spawn(async move {
        let marker = DeleteTarget::Current { marker: new_version_id() };
        s.delete_version("b", None, "deleted", &marker, LockCheck::default()).await
    });
    // Each is sent and waits for the bucket's lock (its snapshot unversioned).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!batched.is_finished() && !conditional.is_finished() && !deleted.is_finished(), "nothing waited");
    client.batch_execute("COMMIT").await.unwrap();
    drop(client);
    let _ = driver.await;

    let w = batched.await.unwrap().unwrap();
    assert!(matches!(w, Some(Some(_))), "the batched PUT wrote a version: {w:?}");
    let w = conditional.await.unwrap().unwrap();
    assert!(matches!(w, Some(Some(_))), "the conditional PUT wrote a version: {w:?}");
    let d = deleted.await.unwrap().unwrap();
    assert!(d.delete_marker && matches!(d.version_id, Some(Some(_))), "the delete made a marker: {d:?}");
    // Each key kept its null version under the new one.
    let all = versions(&store, "b").await;
    assert_eq!(all.len(), 6, "{all:?}");
    assert_eq!(all.iter().filter(|v| v.1.is_none()).count(), 3, "{all:?}");
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 19, objects: 5 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_run_again_after_versioning_was_enabled_changes_nothing() {
    let Some(db) = TestDatabase::new("versioning::rerun").await else { return };
    let store = PgMetaStore::connect_config(db.config(), 2).await.unwrap();
    store.create_bucket(bucket("b")).await.unwrap();
    let first = object("k", 10, Some(BlobId::random()));
    assert_eq!(store.put_object("b", first.clone(), WriteCondition::None).await.unwrap(), None);
    store.set_versioning("b", None, VersioningChange::Set(Versioning::Enabled)).await.unwrap();
    store.put_object("b", object("k", 20, Some(BlobId::random())), WriteCondition::None).await.unwrap();
    // The first PUT again (its reply lost): its blobs are an older
    // version's now; a second version naming them would lose its data
    // once either is deleted.
    store.put_object("b", first.clone(), WriteCondition::None).await.unwrap();
    assert_eq!(versions(&store, "b").await.len(), 2);
    // Moved aside as the null version, its segments kept their checksums.
    let null = store.get_version("b", "k", &VersionSel::Id(None)).await.unwrap().unwrap();
    assert_eq!(null.object.data, first.data);
    assert_eq!(store.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 30, objects: 2 });
    assert!(store.gc_pending(i64::MAX, 10).await.unwrap().is_empty());
}

/// Writers of two handles (two gateways) on one key and on keys of their
/// own, while versioning is enabled once they are under way: every write
/// that started after `set_versioning` returned is a version; every
/// version a write reported is kept; the unversioned writes left at most
/// the one null version; the totals are the versions'.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_racing_set_versioning_keep_every_version() {
    let Some(db) = TestDatabase::new("versioning::race").await else { return };
    let a = Arc::new(PgMetaStore::connect_config(db.config(), 4).await.unwrap());
    let b = Arc::new(PgMetaStore::connect_config(db.config(), 4).await.unwrap());
    a.create_bucket(bucket("b")).await.unwrap();
    let enabled = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16usize {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let enabled = enabled.clone();
        tasks.spawn(async move {
            // (key, version reported, started after set_versioning returned)
            let mut written = Vec::new();
            for n in 0..30usize {
                let after = enabled.load(Ordering::SeqCst);
                let key = if n % 2 == 0 { "k".to_owned() } else { format!("w{i:02}-{n:02}") };
                // `Unavailable` asks for a retry (a gateway answers 503 SlowDown
                // and the client sends the request again): so does this writer.
                let w = loop {
                    let tried = match (i + n) % 4 {
                        0 => {
                            let target = DeleteTarget::Current { marker: new_version_id() };
                            s.delete_version("b", None, &key, &target, LockCheck::default()).await.map(|d| d.version_id)
                        }
                        1 => s.put_object("b", object(&key, 2, None), WriteCondition::IfAbsent).await,
                        _ => s.put_object("b", object(&key, 3, Some(BlobId::random())), WriteCondition::None).await,
                    };
                    match tried {
                        Err(MetaError::Unavailable(_)) => tokio::time::sleep(Duration::from_millis(5)).await,
                        other => break other,
                    }
                };
                let w = match w {
                    Ok(w) => w,
                    Err(MetaError::PreconditionFailed) if (i + n) % 4 == 1 => continue,
                    Err(e) => panic!("{e:?}"),
                };
                if after {
                    assert!(
                        matches!(w, Some(Some(_))),
                        "a write after set_versioning returned was not a version: {w:?}"
                    );
                }
                written.push((key, w));
            }
            written
        });
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    a.set_versioning("b", None, VersioningChange::Set(Versioning::Enabled)).await.unwrap();
    enabled.store(true, Ordering::SeqCst);
    let mut reported = Vec::new();
    while let Some(r) = tasks.join_next().await {
        reported.extend(r.unwrap());
    }
    assert!(reported.iter().any(|w| w.1.is_none()), "some writes ran before versioning: the race was not run");
    let all = versions(&a, "b").await;
    for (key, w) in &reported {
        if let Some(Some(id)) = w {
            assert!(all.iter().any(|v| &v.0 == key && v.1.as_deref() == Some(id.as_str())), "{key} {id} is gone");
        }
    }
    let nulls = all.iter().filter(|v| v.0 == "k" && v.1.is_none()).count();
    assert!(nulls <= 1, "{nulls} null versions of one key");
    let versioned = reported.iter().filter(|w| matches!(w.1, Some(Some(_)))).count();
    assert!(all.len() >= versioned && all.len() <= versioned + reported.len(), "{} {versioned}", all.len());
    let kept: Vec<_> = all.iter().filter(|v| !v.2).collect();
    let totals = StoredTotals { bytes: kept.iter().map(|v| v.3).sum(), objects: kept.len() as u64 };
    assert_eq!(a.bucket_totals("b").await.unwrap(), totals);
    // The blobs of every version are known; none is queued.
    let queued = a.gc_pending(i64::MAX, 100_000).await.unwrap();
    for blob in &queued {
        assert!(a.blobs_known(std::slice::from_ref(blob)).await.unwrap().contains(blob));
    }
    for (key, id, marker, _) in &all {
        let v = a.get_version("b", key, &VersionSel::Id(id.clone())).await.unwrap().unwrap();
        assert_eq!(v.delete_marker, *marker);
        for blob in v.object.data.blobs() {
            assert!(!queued.contains(blob), "{key}: a kept version's blob is queued");
        }
    }
}
