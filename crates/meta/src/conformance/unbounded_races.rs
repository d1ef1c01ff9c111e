//! Two-handle races of writers that no quota bounds (a store may let them
//! write a bucket at once, as PostgreSQL does with its totals in shards):
//! totals stay exact, a quota set meanwhile holds for every write that
//! starts after it was set, conditional creates keep one winner, and a
//! bucket deleted under them leaves nothing in a namesake made again.

use super::two_handles::race;
use super::{bucket_in, segmented, sized};
use crate::*;
use coffer_types::BlobId;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Every object a listing of the bucket shows (no delimiter).
async fn listed(s: &Arc<dyn Store>, bucket: &str) -> Vec<ObjectSummary> {
    let all = ListQuery { limit: 100_000, ..Default::default() };
    let entries = s.list_objects(bucket, &all).await.unwrap();
    entries
        .into_iter()
        .map(|e| match e {
            ListEntry::Object(o) => o,
            ListEntry::CommonPrefix(p) => panic!("no delimiter, yet a common prefix {p:?}"),
        })
        .collect()
}

/// Sums what a listing of the bucket shows (size of each object, count).
async fn listed_totals(s: &Arc<dyn Store>, bucket: &str) -> StoredTotals {
    let objects = listed(s, bucket).await;
    StoredTotals { bytes: objects.iter().map(|o| o.size).sum(), objects: objects.len() as u64 }
}

/// 200 PUTs, overwrites, deletes and ACL changes on 20 keys of one bucket,
/// from two handles at once: the stored totals are exactly what is stored,
/// and every replaced or deleted segmented object's blobs are queued.
pub async fn two_handles_unbounded_writers_keep_exact_totals(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    a.create_bucket(bucket_in("t", "pt")).await.unwrap();
    let written: Arc<std::sync::Mutex<Vec<BlobId>>> = Arc::default();
    let w = written.clone();
    let results = race(&a, &b, 200, move |s, i| {
        let w = w.clone();
        async move {
            let key = format!("k{:02}", i % 20);
            match i % 5 {
                0 | 1 => s.put_object("t", sized(&key, i % 7 * 3 + 1), WriteCondition::None).await.map(drop),
                2 => {
                    let segs = super::blobs(2);
                    w.lock().unwrap().extend(segs.iter().cloned());
                    s.put_object("t", segmented(&key, &segs), WriteCondition::None).await.map(drop)
                }
                3 => s.delete_object("t", &key).await.map(|_| ()),
                _ => match s.set_object_acl("t", None, &key, None).await {
                    Err(MetaError::NoSuchKey) => Ok(()),
                    other => other,
                },
            }
        }
    })
    .await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let stored = listed_totals(&a, "t").await;
    assert_eq!(a.bucket_totals("t").await.unwrap(), stored, "bucket totals are what is stored");
    assert_eq!(b.project_totals("pt").await.unwrap(), stored, "project totals too");
    // Every segment blob written is either in a stored object or queued.
    let mut live = HashSet::new();
    for o in listed(&a, "t").await {
        let rec = a.get_object("t", &o.key).await.unwrap().unwrap();
        live.extend(rec.data.blobs().cloned());
    }
    let queued: HashSet<BlobId> = a.gc_pending(i64::MAX, 10_000).await.unwrap().into_iter().collect();
    for blob in written.lock().unwrap().iter() {
        assert!(live.contains(blob) != queued.contains(blob), "{blob:?}: stored xor queued");
    }
}

/// Writers of new keys run on both handles while a quota is set on their
/// bucket (then on their project): every write that starts after
/// `set_quota` returned is refused, and totals stay exact.
pub async fn two_handles_quota_set_while_writers_run(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    for (bucket, project, scope) in
        [("qa", "pqa", QuotaScope::Bucket("qa".into())), ("qb", "pqb", QuotaScope::Project("pqb".into()))]
    {
        a.create_bucket(bucket_in(bucket, project)).await.unwrap();
        let set = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let (set2, done2) = (set.clone(), done.clone());
        let writers = race(&a, &b, 16, move |s, i| {
            let (set, done) = (set2.clone(), done2.clone());
            async move {
                let mut late_passes = Vec::new();
                for n in 0..40 {
                    let after = set.load(Ordering::SeqCst);
                    let r = s
                        .put_object(bucket, sized(&format!("w{i:02}-{n:02}"), 2), WriteCondition::None)
                        .await
                        .map(drop);
                    done.fetch_add(1, Ordering::SeqCst);
                    match r {
                        Ok(()) if after => late_passes.push(n),
                        Ok(()) | Err(MetaError::QuotaExceeded(_)) => {}
                        Err(e) => panic!("writer {i}: {e:?}"),
                    }
                    if after && n % 4 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                late_passes
            }
        });
        let quota = async {
            while done.load(Ordering::SeqCst) < 40 {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            // Limits that the objects stored so far already reach.
            a.set_quota(&scope, Quota { max_bytes: Some(4), max_objects: Some(2) }).await.unwrap();
            set.store(true, Ordering::SeqCst);
        };
        let (passes, ()) = tokio::join!(writers, quota);
        for (i, p) in passes.iter().enumerate() {
            assert!(p.is_empty(), "{bucket}: writer {i} passed the quota after it was set: {p:?}");
        }
        let listed = listed_totals(&b, bucket).await;
        assert!(listed.objects >= 2, "{bucket}: {listed:?}");
        assert_eq!(a.bucket_totals(bucket).await.unwrap(), listed, "{bucket}");
        assert_eq!(b.project_totals(project).await.unwrap(), listed, "{bucket}");
    }
}

/// Twenty rounds of twelve `If-None-Match: *` creators of one key over two
/// handles, the key deleted between rounds: one winner each round.
pub async fn two_handles_conditional_creates_in_rounds(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    a.create_bucket(bucket_in("c", "pc")).await.unwrap();
    for round in 0..20 {
        let results = race(&a, &b, 12, move |s, i| async move {
            let mut o = sized("key", 3);
            o.etag = format!("r{round}-w{i}");
            s.put_object("c", o, WriteCondition::IfAbsent).await.map(drop)
        })
        .await;
        let winners: Vec<usize> = (0..12).filter(|i| results[*i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for r in &results {
            assert!(matches!(r, Ok(()) | Err(MetaError::PreconditionFailed)), "round {round}: {r:?}");
        }
        let stored = b.get_object("c", "key").await.unwrap().unwrap();
        assert_eq!(stored.etag, format!("r{round}-w{}", winners[0]), "round {round}");
        assert_eq!(a.bucket_totals("c").await.unwrap(), StoredTotals { bytes: 3, objects: 1 }, "round {round}");
        let (x, y) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        assert!(x.delete_object("c", "key").await.unwrap());
        assert_eq!(y.bucket_totals("c").await.unwrap(), StoredTotals::default(), "round {round}");
    }
}

/// Stamped writers (PUT then delete of their own keys) race on two handles
/// while the bucket is deleted (as soon as it is empty) and made again
/// under the same name: no write lands in the new bucket.
pub async fn two_handles_bucket_deleted_under_writers(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let old = bucket_in("d", "pd");
    a.create_bucket(old.clone()).await.unwrap();
    let stamp = old.stamp();
    let gone = Arc::new(AtomicBool::new(false));
    let g = gone.clone();
    let writers = race(&a, &b, 12, move |s, i| {
        let (stamp, gone) = (stamp.clone(), g.clone());
        async move {
            let mut n = 0u32;
            while !gone.load(Ordering::SeqCst) && n < 2000 {
                let key = format!("w{i:02}-{n}");
                n += 1;
                match s.put_object_as("d", Some(&stamp), sized(&key, 5), WriteCondition::None).await.map(drop) {
                    Ok(()) => match s.delete_object("d", &key).await {
                        Ok(_) | Err(MetaError::NoSuchBucket) => {}
                        Err(e) => panic!("{e:?}"),
                    },
                    Err(MetaError::NoSuchBucket) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
            // Once the namesake exists, old-stamp writes must all be refused.
            while !gone.load(Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            for m in 0..20 {
                let r = s.put_object_as("d", Some(&stamp), sized(&format!("late{i:02}-{m}"), 5), WriteCondition::None);
                assert!(matches!(r.await, Err(MetaError::NoSuchBucket)));
            }
        }
    });
    let deleter = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        loop {
            match a.delete_bucket("d").await {
                Ok(()) => break,
                Err(MetaError::BucketNotEmpty) => tokio::task::yield_now().await,
                Err(e) => panic!("{e:?}"),
            }
        }
        // Made again by its project at once (another would wait out the
        // name's hold): a new bucket all the same, with a stamp of its own.
        let mut again = bucket_in("d", "pd");
        again.created = 2;
        b.create_bucket(again).await.unwrap();
        gone.store(true, Ordering::SeqCst);
    };
    tokio::join!(writers, deleter);
    assert_eq!(listed_totals(&a, "d").await, StoredTotals::default(), "nothing landed in the namesake");
    assert_eq!(b.bucket_totals("d").await.unwrap(), StoredTotals::default());
    assert_eq!(a.project_totals("pd").await.unwrap(), StoredTotals::default());
}
