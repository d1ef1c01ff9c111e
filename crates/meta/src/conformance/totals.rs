//! Conformance cases for bucket ownership, stored totals and quotas.

use super::{blobs, bucket, bucket_in, queued, sized};
use crate::*;
use coffer_types::BlobId;
use std::sync::Arc;

fn part(n: u32, size: u64, blob: &BlobId) -> PartRecord {
    PartRecord {
        part_number: n,
        size,
        etag: format!("p{n}"),
        last_modified: 7,
        blob: blob.clone(),
        crc64: None,
        checksum: None,
    }
}

fn upload(id: &str, key: &str) -> UploadRecord {
    UploadRecord { upload_id: id.into(), key: key.into(), initiated: 5, meta: ObjectMeta::default() }
}

/// The object a completion makes of these parts.
fn from_parts(key: &str, parts: &[&PartRecord]) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size: parts.iter().map(|p| p.size).sum(),
        etag: format!("mp-{key}"),
        last_modified: 1000,
        meta: ObjectMeta::default(),
        data: ObjectData::Segments(
            parts.iter().map(|p| Segment { blob: p.blob.clone(), size: p.size, crc64: None }).collect(),
        ),
    }
}

fn t(bytes: u64, objects: u64) -> StoredTotals {
    StoredTotals { bytes, objects }
}

fn bucket_quota(name: &str) -> QuotaScope {
    QuotaScope::Bucket(name.into())
}

fn project_quota(name: &str) -> QuotaScope {
    QuotaScope::Project(name.into())
}

fn limits(max_bytes: Option<u64>, max_objects: Option<u64>) -> Quota {
    Quota { max_bytes, max_objects }
}

fn is_quota(r: Result<(), MetaError>, scope: QuotaScope) -> bool {
    matches!(r, Err(MetaError::QuotaExceeded(s)) if s == scope)
}

pub async fn bucket_project_roundtrip(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket_in("owned", "acme")).await.unwrap();
    s.create_bucket(bucket("ops")).await.unwrap();
    assert_eq!(s.get_bucket("owned").await.unwrap(), Some(bucket_in("owned", "acme")));
    assert_eq!(s.get_bucket("ops").await.unwrap().unwrap().project, OPERATOR_PROJECT);
    let listed: Vec<_> = s
        .list_buckets(&BucketQuery { limit: 100, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.name, b.project))
        .collect();
    assert_eq!(listed, [("ops".to_string(), "".to_string()), ("owned".to_string(), "acme".to_string())]);
    // A name is global: another project cannot take it.
    assert!(matches!(s.create_bucket(bucket_in("owned", "other")).await, Err(MetaError::BucketAlreadyExists)));
    s.put_object("owned", sized("k", 3), WriteCondition::None).await.unwrap();
    assert_eq!(s.project_totals("acme").await.unwrap(), t(3, 1));
    assert_eq!(s.project_totals(OPERATOR_PROJECT).await.unwrap(), t(0, 0));
}

pub async fn stored_totals_follow_writes(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket_in("b", "p")).await.unwrap();
    let totals = |name: &'static str| {
        let s = s.clone();
        async move { s.bucket_totals(name).await.unwrap() }
    };
    assert_eq!(totals("b").await, t(0, 0));
    assert!(matches!(s.bucket_totals("nope").await, Err(MetaError::NoSuchBucket)));

    // Objects: new keys add, overwrites replace their size, deletes remove.
    s.put_object("b", sized("a", 5), WriteCondition::None).await.unwrap();
    s.put_object("b", sized("b", 7), WriteCondition::None).await.unwrap();
    assert_eq!(totals("b").await, t(12, 2));
    s.put_object("b", sized("a", 2), WriteCondition::None).await.unwrap();
    assert_eq!(totals("b").await, t(9, 2));
    let seg = super::segmented("a", &blobs(3));
    s.put_object("b", seg, WriteCondition::None).await.unwrap();
    assert_eq!(totals("b").await, t(37, 2));
    assert!(s.put_object("b", sized("a", 1), WriteCondition::IfAbsent).await.is_err());
    assert_eq!(totals("b").await, t(37, 2), "a refused write changes nothing");
    s.set_object_acl("b", None, "a", Some(coffer_types::CannedAcl::PublicRead)).await.unwrap();
    assert_eq!(totals("b").await, t(37, 2));
    assert!(s.delete_object("b", "b").await.unwrap());
    assert!(!s.delete_object("b", "b").await.unwrap());
    assert_eq!(totals("b").await, t(30, 1));

    // Parts count as bytes (not objects) while their upload is in progress.
    let pb = blobs(6);
    s.create_upload("b", upload("u1", "m")).await.unwrap();
    let (p1, p2, p2b, p3) = (part(1, 10, &pb[0]), part(2, 10, &pb[1]), part(2, 4, &pb[2]), part(3, 10, &pb[3]));
    s.put_part("b", "u1", p1.clone()).await.unwrap();
    s.put_part("b", "u1", p2).await.unwrap();
    assert_eq!(totals("b").await, t(50, 1));
    s.put_part("b", "u1", p2b.clone()).await.unwrap();
    assert_eq!(totals("b").await, t(44, 1), "a replaced part leaves");
    s.put_part("b", "u1", p3).await.unwrap();
    assert_eq!(totals("b").await, t(54, 1));
    // Completing with parts 1 and 2: the object (14) arrives, all parts (24) leave.
    s.complete_upload("b", "u1", from_parts("m", &[&p1, &p2b]), WriteCondition::None).await.unwrap();
    assert_eq!(totals("b").await, t(44, 2));

    // A completion replacing an object: its size leaves, no object is added.
    s.create_upload("b", upload("u2", "a")).await.unwrap();
    let q1 = part(1, 10, &pb[4]);
    s.put_part("b", "u2", q1.clone()).await.unwrap();
    assert_eq!(totals("b").await, t(54, 2));
    s.complete_upload("b", "u2", from_parts("a", &[&q1]), WriteCondition::None).await.unwrap();
    assert_eq!(totals("b").await, t(24, 2));

    // Abort: the parts leave.
    s.create_upload("b", upload("u3", "z")).await.unwrap();
    s.put_part("b", "u3", part(1, 6, &pb[5])).await.unwrap();
    assert_eq!(totals("b").await, t(30, 2));
    s.abort_upload("b", "u3").await.unwrap();
    assert_eq!(totals("b").await, t(24, 2));

    // The project's totals sum its buckets.
    s.create_bucket(bucket_in("b2", "p")).await.unwrap();
    s.create_bucket(bucket_in("elsewhere", "q")).await.unwrap();
    s.put_object("b2", sized("x", 1), WriteCondition::None).await.unwrap();
    s.put_object("elsewhere", sized("x", 100), WriteCondition::None).await.unwrap();
    assert_eq!(s.project_totals("p").await.unwrap(), t(25, 3));
    assert_eq!(s.project_totals("nobody").await.unwrap(), t(0, 0));

    // Emptied, deleted with an upload in progress, recreated: zero.
    s.delete_object("b", "a").await.unwrap();
    s.delete_object("b", "m").await.unwrap();
    assert_eq!(totals("b").await, t(0, 0));
    s.create_upload("b", upload("u4", "k")).await.unwrap();
    s.put_part("b", "u4", part(1, 9, &blobs(1)[0])).await.unwrap();
    s.delete_bucket("b").await.unwrap();
    assert_eq!(s.project_totals("p").await.unwrap(), t(1, 1));
    s.create_bucket(bucket_in("b", "p")).await.unwrap();
    assert_eq!(totals("b").await, t(0, 0));
}

pub async fn quota_enforced(s: Arc<dyn MetaStore>) {
    for (name, project) in [("qb", "p"), ("qb2", "p"), ("free", "other")] {
        s.create_bucket(bucket_in(name, project)).await.unwrap();
    }
    assert_eq!(s.get_quota(&bucket_quota("qb")).await.unwrap(), Quota::default());
    assert_eq!(s.get_quota(&project_quota("p")).await.unwrap(), Quota::default());
    assert!(matches!(s.set_quota(&bucket_quota("nope"), limits(Some(1), None)).await, Err(MetaError::NoSuchBucket)));
    assert!(matches!(s.get_quota(&bucket_quota("nope")).await, Err(MetaError::NoSuchBucket)));

    // Bucket scope, objects and bytes; reaching a limit is allowed.
    let q = limits(Some(10), Some(2));
    s.set_quota(&bucket_quota("qb"), q).await.unwrap();
    assert_eq!(s.get_quota(&bucket_quota("qb")).await.unwrap(), q);
    s.put_object("qb", sized("a", 4), WriteCondition::None).await.unwrap();
    s.put_object("qb", sized("b", 4), WriteCondition::None).await.unwrap();
    assert!(is_quota(s.put_object("qb", sized("c", 1), WriteCondition::None).await.map(drop), bucket_quota("qb")));
    assert!(s.get_object("qb", "c").await.unwrap().is_none(), "nothing written on refusal");
    s.put_object("qb", sized("a", 6), WriteCondition::None).await.unwrap();
    assert_eq!(s.bucket_totals("qb").await.unwrap(), t(10, 2));
    assert!(is_quota(s.put_object("qb", sized("a", 7), WriteCondition::None).await.map(drop), bucket_quota("qb")));
    assert_eq!(s.get_object("qb", "a").await.unwrap().unwrap().size, 6, "the refused overwrite left the object");
    assert!(queued(&*s).await.is_empty());
    // Below a lowered limit, writes that do not grow a total still pass.
    s.set_quota(&bucket_quota("qb"), limits(Some(1), Some(1))).await.unwrap();
    s.put_object("qb", sized("b", 4), WriteCondition::None).await.unwrap();
    s.put_object("qb", sized("b", 1), WriteCondition::None).await.unwrap();
    assert!(is_quota(s.put_object("qb", sized("b", 2), WriteCondition::None).await.map(drop), bucket_quota("qb")));
    // Objects over their limit do not stop a write that grows bytes only.
    s.set_quota(&bucket_quota("qb"), limits(Some(100), Some(1))).await.unwrap();
    s.put_object("qb", sized("b", 3), WriteCondition::None).await.unwrap();
    assert!(s.delete_object("qb", "a").await.unwrap());
    assert_eq!(s.bucket_totals("qb").await.unwrap(), t(3, 1));

    // Parts: refused beyond the bytes; the caller keeps the refused blob.
    s.set_quota(&bucket_quota("qb"), limits(Some(23), Some(1))).await.unwrap();
    s.create_upload("qb", upload("u", "b")).await.unwrap();
    let pb = blobs(3);
    s.put_part("qb", "u", part(1, 10, &pb[0])).await.unwrap();
    s.put_part("qb", "u", part(2, 10, &pb[1])).await.unwrap();
    assert!(is_quota(s.put_part("qb", "u", part(3, 2, &pb[2])).await, bucket_quota("qb")));
    assert_eq!(s.list_parts("qb", "u", 0, 10).await.unwrap().len(), 2);
    assert!(s.blobs_known(&pb[2..]).await.unwrap().is_empty(), "the refused part is not queued");
    // Completion onto a new key is refused on objects; the upload stays.
    let (p1, p2) = (part(1, 10, &pb[0]), part(2, 10, &pb[1]));
    let refused = s.complete_upload("qb", "u", from_parts("new", &[&p1, &p2]), WriteCondition::None).await.map(drop);
    assert!(is_quota(refused, bucket_quota("qb")));
    assert!(s.get_upload("qb", "u").await.unwrap().is_some());
    assert_eq!(s.list_parts("qb", "u", 0, 10).await.unwrap().len(), 2);
    assert!(s.get_object("qb", "new").await.unwrap().is_none());
    // Onto the existing key it replaces an object: allowed.
    s.complete_upload("qb", "u", from_parts("b", &[&p1, &p2]), WriteCondition::None).await.unwrap();
    assert_eq!(s.bucket_totals("qb").await.unwrap(), t(20, 1));

    // Removal with both limits None.
    s.set_quota(&bucket_quota("qb"), Quota::default()).await.unwrap();
    assert_eq!(s.get_quota(&bucket_quota("qb")).await.unwrap(), Quota::default());
    s.put_object("qb", sized("c", 1), WriteCondition::None).await.unwrap();

    // Project scope: the sum over the project's buckets; other projects free.
    s.set_quota(&project_quota("p"), limits(Some(30), None)).await.unwrap();
    assert_eq!(s.get_quota(&project_quota("p")).await.unwrap(), limits(Some(30), None));
    s.put_object("qb2", sized("x", 9), WriteCondition::None).await.unwrap();
    assert_eq!(s.project_totals("p").await.unwrap(), t(30, 3));
    assert!(is_quota(s.put_object("qb2", sized("y", 1), WriteCondition::None).await.map(drop), project_quota("p")));
    assert!(is_quota(s.put_object("qb", sized("y", 1), WriteCondition::None).await.map(drop), project_quota("p")));
    s.put_object("free", sized("y", 60), WriteCondition::None).await.unwrap();
    // The bucket's quota is checked first.
    s.set_quota(&bucket_quota("qb2"), limits(Some(9), None)).await.unwrap();
    assert!(is_quota(s.put_object("qb2", sized("y", 1), WriteCondition::None).await.map(drop), bucket_quota("qb2")));
    // A project that the identity layer never created may still hold a quota.
    s.set_quota(&project_quota("ghost"), limits(None, Some(3))).await.unwrap();
    assert_eq!(s.get_quota(&project_quota("ghost")).await.unwrap(), limits(None, Some(3)));

    // A bucket's quota goes with the bucket.
    s.create_bucket(bucket_in("gone", "p")).await.unwrap();
    s.set_quota(&bucket_quota("gone"), limits(Some(1), Some(1))).await.unwrap();
    s.delete_bucket("gone").await.unwrap();
    s.create_bucket(bucket_in("gone", "p")).await.unwrap();
    assert_eq!(s.get_quota(&bucket_quota("gone")).await.unwrap(), Quota::default());
}

/// Runs `n` writes at once (behind a barrier); returns (successes, refusals
/// for `scope`), failing on any other error.
async fn race<F, Fut>(n: usize, scope: QuotaScope, write: F) -> (usize, usize)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), MetaError>> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (barrier, fut) = (barrier.clone(), write(i));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            fut.await
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(MetaError::QuotaExceeded(s)) if s == scope => refused += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    (ok, refused)
}

pub async fn quota_under_concurrency(s: Arc<dyn MetaStore>) {
    for (name, project) in [("objs", "p"), ("bytes", "p"), ("parts", "p"), ("d1", "q"), ("d2", "q")] {
        s.create_bucket(bucket_in(name, project)).await.unwrap();
    }
    let put = |bucket: &'static str, size: usize| {
        let s = s.clone();
        move |i: usize| {
            let s = s.clone();
            async move { s.put_object(bucket, sized(&format!("k{i:02}"), size), WriteCondition::None).await.map(drop) }
        }
    };

    s.set_quota(&bucket_quota("objs"), limits(None, Some(10))).await.unwrap();
    assert_eq!(race(40, bucket_quota("objs"), put("objs", 1)).await, (10, 30));
    assert_eq!(s.bucket_totals("objs").await.unwrap(), t(10, 10));
    let all = ListQuery { limit: 100, ..Default::default() };
    assert_eq!(s.list_objects("objs", &all).await.unwrap().len(), 10);

    s.set_quota(&bucket_quota("bytes"), limits(Some(100), None)).await.unwrap();
    assert_eq!(race(40, bucket_quota("bytes"), put("bytes", 10)).await, (10, 30));
    assert_eq!(s.bucket_totals("bytes").await.unwrap(), t(100, 10));

    // A project quota across two buckets.
    s.set_quota(&project_quota("q"), limits(None, Some(10))).await.unwrap();
    let both = |i: usize| {
        let s = s.clone();
        let bucket = if i.is_multiple_of(2) { "d1" } else { "d2" };
        async move { s.put_object(bucket, sized(&format!("k{i:02}"), 1), WriteCondition::None).await.map(drop) }
    };
    assert_eq!(race(40, project_quota("q"), both).await, (10, 30));
    assert_eq!(s.project_totals("q").await.unwrap(), t(10, 10));

    // Parts on bytes.
    s.set_quota(&bucket_quota("parts"), limits(Some(100), None)).await.unwrap();
    s.create_upload("parts", upload("u", "k")).await.unwrap();
    let pb = blobs(40);
    let put_part = |i: usize| {
        let (s, p) = (s.clone(), part(i as u32 + 1, 10, &pb[i]));
        async move { s.put_part("parts", "u", p).await }
    };
    assert_eq!(race(40, bucket_quota("parts"), put_part).await, (10, 30));
    assert_eq!(s.bucket_totals("parts").await.unwrap(), t(100, 0));
    assert_eq!(s.list_parts("parts", "u", 0, 100).await.unwrap().len(), 10);
    assert_eq!(s.blobs_known(&pb).await.unwrap().len(), 10, "refused parts are neither stored nor queued");
}
