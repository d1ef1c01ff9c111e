//! Conformance cases over two handles of one database: two gateways racing.
//! Each case splits its racers between the handles and starts them together
//! behind a barrier; what the trait promises must hold across handles as it
//! does within one: one winner of a conditional write, never a quota passed,
//! one object from racing completions, each metered second counted once,
//! each queued blob handed to one collector.

use super::{blobs, bucket, bucket_in, sized};
use crate::*;
use coffer_types::BlobId;
use std::collections::HashSet;
use std::sync::Arc;

/// Generates one `#[tokio::test]` per two-handle case; `$pair` is an async
/// factory returning two handles on one database and a guard (or `None`
/// when the backend is missing, see [`crate::conformance::Made`]).
#[macro_export]
macro_rules! two_handle_conformance_tests {
    ($pair:path) => {
        $crate::two_handle_conformance_tests!(@two $pair,
            two_handles_race_conditional_writes, two_handles_race_quota_bound_puts,
            two_handles_race_completions, two_handles_meter_at_once, two_handles_collect_garbage_at_once,
            two_handles_race_for_a_lease, two_handles_unbounded_writers_keep_exact_totals,
            two_handles_quota_set_while_writers_run, two_handles_conditional_creates_in_rounds,
            two_handles_bucket_deleted_under_writers);
    };
    (@two $pair:path, $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((a, b, _guard)) = $crate::conformance::Made::made($pair().await) else { return };
                $crate::conformance::$case(a, b).await;
            }
        )*
    };
}

/// Runs `n` calls of `f(handle, i)` at once, alternating handles; returns
/// their results in order.
pub(super) async fn race<T, F, Fut>(a: &Arc<dyn Store>, b: &Arc<dyn Store>, n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (barrier, fut) = (barrier.clone(), f(s, i));
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn tagged(key: &str, etag: String) -> ObjectRecord {
    let mut o = sized(key, 1);
    o.etag = etag;
    o
}

pub async fn two_handles_race_conditional_writes(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    a.create_bucket(bucket("b")).await.unwrap();
    // If-None-Match: * from 16 racers: one creates, the rest are refused.
    let results = race(&a, &b, 16, |s, i| async move {
        s.put_object("b", tagged("new", format!("w{i}")), WriteCondition::IfAbsent).await.map(drop)
    })
    .await;
    let winners: Vec<usize> = (0..16).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one conditional creator wins: {results:?}");
    for r in &results {
        assert!(matches!(r, Ok(()) | Err(MetaError::PreconditionFailed)), "{r:?}");
    }
    let stored = b.get_object("b", "new").await.unwrap().unwrap();
    assert_eq!(stored.etag, format!("w{}", winners[0]), "the winner's object is the one stored");

    // If-Match: etag from 16 racers that all read the same ETag: one replaces it.
    let seen = stored.etag.clone();
    let results = race(&a, &b, 16, |s, i| {
        let seen = seen.clone();
        async move { s.put_object("b", tagged("new", format!("m{i}")), WriteCondition::IfETag(seen)).await.map(drop) }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "exactly one compare-and-swap wins: {results:?}");
    assert_eq!(a.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 1, objects: 1 });
}

pub async fn two_handles_race_quota_bound_puts(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    a.create_bucket(bucket_in("q", "p")).await.unwrap();
    a.set_quota(&QuotaScope::Bucket("q".into()), Quota { max_bytes: None, max_objects: Some(5) }).await.unwrap();
    let results = race(&a, &b, 20, |s, i| async move {
        s.put_object("q", sized(&format!("k{i:02}"), 1), WriteCondition::None).await.map(drop)
    })
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        assert!(matches!(r, Ok(()) | Err(MetaError::QuotaExceeded(_))), "{r:?}");
    }
    assert_eq!(ok, 5, "exactly the quota's objects are stored");
    assert_eq!(b.bucket_totals("q").await.unwrap(), StoredTotals { bytes: 5, objects: 5 });
    let all = ListQuery { limit: 100, ..Default::default() };
    assert_eq!(a.list_objects("q", &all).await.unwrap().len(), 5);

    // A project quota on bytes across two buckets, one per handle.
    a.create_bucket(bucket_in("r1", "pr")).await.unwrap();
    b.create_bucket(bucket_in("r2", "pr")).await.unwrap();
    b.set_quota(&QuotaScope::Project("pr".into()), Quota { max_bytes: Some(70), max_objects: None }).await.unwrap();
    let results = race(&a, &b, 20, |s, i| async move {
        let bucket = if i % 4 < 2 { "r1" } else { "r2" };
        s.put_object(bucket, sized(&format!("k{i:02}"), 10), WriteCondition::None).await.map(drop)
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 7, "{results:?}");
    assert_eq!(a.project_totals("pr").await.unwrap(), StoredTotals { bytes: 70, objects: 7 });
}

pub async fn two_handles_race_completions(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    a.create_bucket(bucket("m")).await.unwrap();
    for round in 0..5 {
        let id = format!("u{round}");
        let upload = UploadRecord { upload_id: id.clone(), key: "k".into(), initiated: 1, meta: ObjectMeta::default() };
        a.create_upload("m", upload).await.unwrap();
        let parts = blobs(2);
        for (n, blob) in parts.iter().enumerate() {
            let part = PartRecord {
                part_number: n as u32 + 1,
                size: 10,
                etag: format!("p{n}"),
                last_modified: 1,
                blob: blob.clone(),
                crc64: None,
                checksum: None,
            };
            b.put_part("m", &id, part).await.unwrap();
        }
        let object = ObjectRecord {
            version_id: None,
            key: "k".into(),
            size: 20,
            etag: format!("mp-{round}"),
            last_modified: 1,
            meta: ObjectMeta::default(),
            data: ObjectData::Segments(
                parts.iter().map(|p| Segment { blob: p.clone(), size: 10, crc64: None }).collect(),
            ),
        };
        let results = race(&a, &b, 8, |s, _| {
            let (id, object) = (id.clone(), object.clone());
            async move { s.complete_upload("m", &id, object, WriteCondition::None).await.map(drop) }
        })
        .await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "round {round}: {results:?}");
        for r in &results {
            assert!(matches!(r, Ok(()) | Err(MetaError::NoSuchUpload)), "round {round}: {r:?}");
        }
        assert_eq!(b.get_object("m", "k").await.unwrap(), Some(object));
        assert_eq!(a.bucket_totals("m").await.unwrap(), StoredTotals { bytes: 20, objects: 1 }, "round {round}");
        let pending: HashSet<BlobId> = a.gc_pending(i64::MAX, 1000).await.unwrap().into_iter().collect();
        assert!(parts.iter().all(|p| !pending.contains(p)), "round {round}: the object's parts are not queued");
    }
}

const HOUR: UnixMillis = 3_600_000;

pub async fn two_handles_meter_at_once(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = 2000 * HOUR;
    for name in ["m1", "m2", "m3"] {
        let mut rec = bucket_in(name, "p");
        rec.created = h;
        a.create_bucket(rec).await.unwrap();
        a.put_object(name, sized("x", 3600), WriteCondition::None).await.unwrap();
    }
    // Every racer meters up to one of a few instants, in any order.
    let nows = [h + HOUR / 2, h + HOUR, h + 3 * HOUR / 2, h + 2 * HOUR];
    race(&a, &b, 16, |s, i| async move { s.meter_storage(nows[i % 4]).await.unwrap() }).await;
    // Whatever the interleaving, each bucket's two hours are counted once:
    // 3600 bytes for an hour each.
    let q = UsageQuery { project: "p".into(), bucket: None, from: 0, to: i64::MAX };
    let rows = b.usage(&q).await.unwrap();
    let hour_s = |n: i64| (h / 1000) + n * 3600;
    for name in ["m1", "m2", "m3"] {
        let mine: Vec<_> = rows.iter().filter(|r| r.bucket == name).collect();
        let total: f64 = mine.iter().map(|r| r.byte_hours).sum();
        assert_eq!(total, 7200.0, "{name}: {mine:?}");
        let first = mine.iter().find(|r| r.hour == hour_s(0)).map(|r| r.byte_hours);
        assert_eq!(first, Some(3600.0), "{name}: the first hour counted once: {mine:?}");
    }
}

pub async fn two_handles_collect_garbage_at_once(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    a.create_bucket(bucket("g")).await.unwrap();
    let queued = blobs(60);
    for chunk in queued.chunks(6) {
        let key = chunk[0].as_str().to_owned();
        a.put_object("g", super::segmented(&key, chunk), WriteCondition::None).await.unwrap();
        b.delete_object("g", &key).await.unwrap();
    }
    // Four collectors (two per handle) claim batches of 7 until none is left.
    let handed = race(&a, &b, 4, |s, _| async move {
        let mut mine = Vec::new();
        loop {
            let now = coffer_types::now_millis();
            let batch = s.gc_claim(i64::MAX, 7, now, now + 600_000).await.unwrap();
            if batch.is_empty() {
                return mine;
            }
            tokio::task::yield_now().await;
            s.gc_forget(&batch).await.unwrap();
            mine.extend(batch);
        }
    })
    .await;
    let all: Vec<BlobId> = handed.into_iter().flatten().collect();
    let unique: HashSet<&BlobId> = all.iter().collect();
    assert_eq!(all.len(), unique.len(), "a blob was handed to two collectors");
    assert_eq!(unique.len(), queued.len(), "every queued blob was handed out");
    assert!(a.gc_pending(i64::MAX, 1000).await.unwrap().is_empty());
}

/// Twenty holders on two handles race for one free lease, in eight rounds
/// each starting when the last lease ran out: exactly one wins each round.
pub async fn two_handles_race_for_a_lease(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    for round in 0..8i64 {
        let now = round * 10_000;
        let won = race(&a, &b, 20, move |s, i| async move {
            s.acquire_lease("orphan-sweep", &format!("gw-{i}"), now, now + 10_000).await.unwrap()
        })
        .await;
        assert_eq!(won.iter().filter(|w| **w).count(), 1, "round {round}: {won:?}");
    }
}
