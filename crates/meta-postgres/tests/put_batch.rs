//! PUTs written together (`put_batch.rs`): many at once, mixed (inline and
//! with blobs, new keys and one key overwritten by all, a missing bucket, a
//! stale stamp, a bucket under a quota), each gets its own answer and the
//! store ends exact: every object whole, totals equal to the objects, each
//! replaced blob queued once and no current blob queued.

use coffer_meta::*;
use coffer_meta_postgres::testing::TestDatabase;
use coffer_meta_postgres::PgMetaStore;
use coffer_types::BlobId;
use std::collections::HashSet;
use std::sync::Arc;

/// A CRC-64/NVME that needs all 64 bits (the batched statement's array of them).
fn crc_of(size: u64) -> u64 {
    size.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1 << 63
}

fn record(key: &str, size: u64, blob: Option<BlobId>) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size,
        etag: format!("e{size}"),
        last_modified: 1,
        meta: ObjectMeta::default(),
        data: match blob {
            Some(blob) => ObjectData::Segments(vec![Segment { blob, size, crc64: Some(crc_of(size)) }]),
            None => ObjectData::Inline(bytes::Bytes::from(vec![b'x'; size as usize])),
        },
    }
}

fn bucket(name: &str, project: &str, created: i64) -> BucketRecord {
    BucketRecord { name: name.into(), region: "r".into(), project: project.into(), created, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_puts_at_once_each_get_their_answer_and_the_store_stays_exact() {
    let Some(db) = TestDatabase::new("put_batch::many").await else { return };
    let store = Arc::new(PgMetaStore::connect_config(db.config(), 4).await.unwrap());
    store.create_bucket(bucket("b", "p", 1)).await.unwrap();
    store.create_bucket(bucket("q", "p", 1)).await.unwrap();
    store.set_quota(&QuotaScope::Bucket("q".into()), Quota { max_bytes: None, max_objects: Some(3) }).await.unwrap();
    let stale = BucketStamp { project: "p".into(), created: 999 };

    for round in 0..5u64 {
        let mut tasks = Vec::new();
        let mut same_blobs = Vec::new();
        for i in 0..48u64 {
            let s = store.clone();
            // Every third with a blob, the others inline; 1..=7 bytes.
            let blob = (i % 3 == 0).then(BlobId::random);
            let size = 1 + (i + round) % 7;
            let (target, key, stamp) = match i % 8 {
                // All of these write one key.
                0 | 1 => ("b", "same".to_owned(), None),
                2 => ("missing", format!("m{i}"), None),
                3 => ("b", format!("stale{round}-{i}"), Some(stale.clone())),
                4 => ("q", format!("q{round}-{i}"), None),
                _ => ("b", format!("k{round}-{i}"), None),
            };
            if key == "same" {
                same_blobs.extend(blob.clone());
            }
            let rec = record(&key, size, blob);
            tasks.push(tokio::spawn(async move {
                let r = s.put_object_as(target, stamp.as_ref(), rec.clone(), WriteCondition::None).await;
                (target, rec, stamp.is_some(), r)
            }));
        }
        let mut quota_stored = 0;
        for t in tasks {
            let (target, rec, stamped, r) = t.await.unwrap();
            match (target, stamped) {
                ("missing", _) | (_, true) => assert!(matches!(r, Err(MetaError::NoSuchBucket)), "{r:?}"),
                ("q", _) => match r {
                    Ok(_) => quota_stored += 1,
                    Err(MetaError::QuotaExceeded(_)) => {}
                    Err(e) => panic!("{e:?}"),
                },
                _ => {
                    r.unwrap();
                    if rec.key != "same" {
                        assert_eq!(store.get_object("b", &rec.key).await.unwrap(), Some(rec), "round {round}");
                    }
                }
            }
        }
        if round == 0 {
            assert_eq!(quota_stored, 3, "the quota of 3 objects holds");
        } else {
            assert_eq!(quota_stored, 0, "the bucket is full");
        }
        // The key everyone wrote holds one of their objects, whole; of the
        // blobs written to it, only that object's is not queued.
        let current = store.get_object("b", "same").await.unwrap().unwrap();
        let queued: HashSet<BlobId> = store.gc_pending(i64::MAX, 100_000).await.unwrap().into_iter().collect();
        if let ObjectData::Segments(segs) = &current.data {
            assert!(!queued.contains(&segs[0].blob), "the current object's blob is queued for deletion");
        }
        for b in &same_blobs {
            let is_current = matches!(&current.data, ObjectData::Segments(s) if &s[0].blob == b);
            assert_eq!(queued.contains(b), !is_current, "blob {b:?} (current: {is_current})");
        }
    }

    // The totals are the objects'.
    for name in ["b", "q"] {
        let listed = store.list_objects(name, &ListQuery { limit: 1000, ..Default::default() }).await.unwrap();
        let (mut bytes, mut objects) = (0, 0);
        for e in &listed {
            if let ListEntry::Object(o) = e {
                bytes += o.size;
                objects += 1;
            }
        }
        assert_eq!(store.bucket_totals(name).await.unwrap(), StoredTotals { bytes, objects }, "{name}");
    }
    let (statements, rows) = store.put_batches();
    assert!(rows > statements, "no statement carried more than one PUT ({statements} statements, {rows} rows)");
    println!("{rows} PUTs in {statements} statements");
}
