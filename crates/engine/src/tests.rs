//! Engine tests over the real SQLite and filesystem stores.

use crate::*;
use bytes::Bytes;
use coffer_blob::FsBlobStore;
use coffer_meta::{ObjectData, ObjectMeta, WriteCondition};
use coffer_meta_sqlite::SqliteMetaStore;
use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use std::time::Duration;

mod bitrot;
mod bucket_views;
mod large_bodies;
mod pins;
mod versioning;

const NEW_BKT: NewBucket =
    NewBucket { name: "bkt", location: None, region: "us-east-1", project: "p", ownership: None, object_lock: false };

struct Fixture {
    engine: Engine,
    dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    fixture_with_meta().0
}

/// A fixture and its metadata store (to read what listings cost).
fn fixture_with_meta() -> (Fixture, std::sync::Arc<SqliteMetaStore>) {
    let dir = tempfile::tempdir().unwrap();
    let meta = std::sync::Arc::new(SqliteMetaStore::open(dir.path().join("meta.db")).unwrap());
    let blobs = FsBlobStore::open(dir.path().join("blobs")).unwrap();
    let cfg = EngineConfig { inline_max: 1024, min_part_size: 100, ..Default::default() };
    (Fixture { engine: Engine::new(meta.clone(), std::sync::Arc::new(blobs), cfg), dir }, meta)
}

impl Fixture {
    fn blob_files(&self) -> usize {
        walk(&self.dir.path().join("blobs/v1")) + walk(&self.dir.path().join("blobs/tmp"))
    }
}

fn walk(p: &std::path::Path) -> usize {
    std::fs::read_dir(p)
        .map(|rd| rd.map(|e| e.unwrap().path()).map(|p| if p.is_dir() { walk(&p) } else { 1 }).sum())
        .unwrap_or(0)
}

fn body(data: Vec<u8>) -> Body {
    // Deliver in uneven pieces.
    let pieces: Vec<Result<Bytes, BoxError>> = data.chunks(777).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures::stream::iter(pieces).boxed()
}

fn put(bucket: &str, key: &str, data: &[u8]) -> PutInput {
    PutInput {
        bucket: bucket.into(),
        key: key.into(),
        len: Some(data.len() as u64),
        body: body(data.to_vec()),
        check: BodyCheck::default(),
        meta: ObjectMeta::default(),
        condition: WriteCondition::None,
        stamp: None,
    }
}

async fn read(e: &Engine, bucket: &str, key: &str) -> Vec<u8> {
    let out = e.get_object(GetInput { bucket: bucket.into(), key: key.into(), ..Default::default() }).await.unwrap();
    let chunks: Vec<Bytes> = out.body.try_collect().await.unwrap();
    chunks.concat()
}

/// A plain copy of `bkt/src_key`'s current version to `bkt/dst_key`
/// (tests change the fields they are about).
fn copy_input(src_key: &str, dst_key: &str) -> CopyInput {
    CopyInput {
        source_pin: None,
        writer: None,
        lock: (None, false),
        src_version: None,
        src_bucket: "bkt".into(),
        src_key: src_key.into(),
        dst_bucket: "bkt".into(),
        dst_key: dst_key.into(),
        directive: MetadataDirective::Copy,
        source_conditions: Conditions::default(),
        acl: None,
        tags: None,
        condition: WriteCondition::None,
        checksum: None,
        dst_stamp: None,
    }
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect()
}

#[tokio::test]
async fn put_get_inline_and_blob() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    for (key, n) in [("small", 10), ("edge", 1024), ("big", 300_000)] {
        let d = data(n, 1);
        let put_out = f.engine.put_object(put("bkt", key, &d)).await.unwrap();
        let (etag, checksum) = (put_out.etag, put_out.checksum);
        assert_eq!(etag.as_str(), hex::encode(Md5::digest(&d)));
        // Without a requested algorithm, CRC64NVME is computed and stored.
        let want = coffer_types::checksum::to_base64(&coffer_types::checksum::checksum(
            coffer_types::ChecksumAlgorithm::Crc64Nvme,
            &d,
        ));
        assert_eq!((checksum.algorithm.as_str(), checksum.value.as_str()), ("CRC64NVME", want.as_str()));
        assert_eq!(read(&f.engine, "bkt", key).await, d);
    }
    assert_eq!(f.blob_files(), 1, "only the object above inline_max is a blob");
    let out = f
        .engine
        .get_object(GetInput {
            bucket: "bkt".into(),
            key: "big".into(),
            range: Some(coffer_types::ByteRange::Suffix(5)),
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<Bytes> = out.body.try_collect().await.unwrap();
    assert_eq!(got.concat(), data(300_000, 1)[299_995..]);
}

#[tokio::test]
async fn bad_digest_and_short_body_store_nothing() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    for n in [10usize, 100_000] {
        let mut input = put("bkt", "k", &data(n, 2));
        input.check.md5 = Some([0; 16]);
        assert!(matches!(f.engine.put_object(input).await, Err(EngineError::BadDigest)));
        let mut short = put("bkt", "k", &data(n, 2));
        short.len = short.len.map(|l| l + 1);
        assert!(matches!(f.engine.put_object(short).await, Err(EngineError::IncompleteBody { .. })));
        let mut sha = put("bkt", "k", &data(n, 2));
        sha.check.sha256 = Some([1; 32]);
        assert!(matches!(f.engine.put_object(sha).await, Err(EngineError::Sha256Mismatch)));
    }
    // A body stream that fails midway (client disconnect).
    let failing: Body =
        futures::stream::iter(vec![Ok(Bytes::from(vec![0u8; 5000])), Err::<Bytes, BoxError>("reset".into())]).boxed();
    let mut input = put("bkt", "k", &[]);
    input.len = Some(100_000);
    input.body = failing;
    assert!(matches!(f.engine.put_object(input).await, Err(EngineError::Body(_))));
    assert_eq!(f.blob_files(), 0);
    assert!(matches!(
        f.engine.get_object(GetInput { bucket: "bkt".into(), key: "k".into(), ..Default::default() }).await,
        Err(EngineError::NoSuchKey)
    ));
}

#[tokio::test]
async fn overwrite_and_delete_reclaim_blobs() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    f.engine.put_object(put("bkt", "k", &data(5000, 1))).await.unwrap();
    f.engine.put_object(put("bkt", "k", &data(6000, 2))).await.unwrap();
    assert_eq!(f.blob_files(), 2, "the old blob stays through the grace period");
    assert_eq!(f.engine.collect_garbage(Duration::ZERO).await.unwrap(), 1);
    assert_eq!(f.blob_files(), 1);
    assert_eq!(read(&f.engine, "bkt", "k").await, data(6000, 2));
    f.engine.delete_object("bkt", "k").await.unwrap();
    f.engine.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(f.blob_files(), 0);
}

/// A collector killed while holding a claimed batch: the GC loop leaves the
/// batch to its claim, a single node's start-up recovery takes it over.
#[tokio::test]
async fn startup_takes_over_claims_of_a_killed_collector() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    f.engine.put_object(put("bkt", "k", &data(5000, 1))).await.unwrap();
    f.engine.delete_object("bkt", "k").await.unwrap();
    let now = coffer_types::now_millis();
    let claimed = f.engine.meta().gc_claim(i64::MAX, 10, now, now + 600_000).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(f.engine.collect_garbage(Duration::ZERO).await.unwrap(), 0, "the claim holds");
    assert_eq!(f.blob_files(), 1);
    let r = f.engine.reclaim_at_startup(Duration::ZERO).await.unwrap();
    assert_eq!(r.queued_deleted, 1);
    assert_eq!(f.blob_files(), 0);
    assert!(f.engine.meta().gc_pending(i64::MAX, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn startup_reclaims_orphans_and_temp_files() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    f.engine.put_object(put("bkt", "keep", &data(5000, 1))).await.unwrap();
    // An orphan: a committed blob whose metadata commit never happened.
    let mut w = f.engine.blobs.create().await.unwrap();
    w.write(Bytes::from(data(3000, 3))).await.unwrap();
    w.commit().await.unwrap();
    // A temp file of a writer that died.
    let mut t = f.engine.blobs.create().await.unwrap();
    t.write(Bytes::from(data(3000, 3))).await.unwrap();
    std::mem::forget(t);
    assert_eq!(f.blob_files(), 3);
    let r = f.engine.reclaim_at_startup(Duration::ZERO).await.unwrap();
    assert_eq!(r, ReclaimReport { queued_deleted: 0, orphans_deleted: 1, temp_deleted: 1 });
    assert_eq!(f.blob_files(), 1);
    assert_eq!(read(&f.engine, "bkt", "keep").await, data(5000, 1));
}

/// Two gateways on one database and blob store: one sweeps orphans at a
/// time (the other finds the lease held and skips), and orphans younger than
/// the minimum age (maybe another gateway's write in flight) are left.
#[tokio::test]
async fn orphan_sweep_runs_on_one_gateway_at_a_time_and_spares_young_blobs() {
    let f = fixture();
    let peer = Engine::new(f.engine.meta().clone(), f.engine.blobs.clone(), EngineConfig::default());
    let mut w = f.engine.blobs.create().await.unwrap();
    w.write(Bytes::from(data(3000, 3))).await.unwrap();
    w.commit().await.unwrap();
    assert_eq!(f.engine.sweep_orphans(Duration::from_secs(3600)).await.unwrap(), Some(0), "too young");
    assert_eq!(f.blob_files(), 1);
    let now = coffer_types::now_millis();
    assert!(f.engine.meta().acquire_lease(SWEEP_LEASE, "another-gateway", now, now + 60_000).await.unwrap());
    assert_eq!(peer.sweep_orphans(Duration::ZERO).await.unwrap(), None, "the lease is held elsewhere");
    assert_eq!(f.blob_files(), 1);
    f.engine.meta().release_lease(SWEEP_LEASE, "another-gateway").await.unwrap();
    assert_eq!(peer.sweep_orphans(Duration::ZERO).await.unwrap(), Some(1));
    assert_eq!(f.blob_files(), 0);
    assert!(f.engine.sweep_orphans(Duration::ZERO).await.unwrap().is_some(), "the sweep gave its lease back");
}

#[tokio::test]
async fn multipart_complete_references_part_blobs() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let id = f
        .engine
        .create_upload("bkt", "mp", ObjectMeta { content_type: Some("a/b".into()), ..Default::default() })
        .await
        .unwrap();
    let parts: Vec<Vec<u8>> = vec![data(150, 1), data(120, 2), data(7, 3)];
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as u32 + 1;
        let etag = f
            .engine
            .upload_part("bkt", "mp", &id, n, Some(p.len() as u64), body(p.clone()), &BodyCheck::default())
            .await
            .unwrap();
        done.push(CompletedPart { part_number: n, etag: etag.0.quoted(), checksum: None });
    }
    let files_before = f.blob_files();
    // An expected object checksum that does not match refuses the completion
    // and leaves the upload in place; the right one completes it.
    let whole = coffer_types::checksum::checksum(coffer_types::ChecksumAlgorithm::Crc64Nvme, &parts.concat());
    let wrong = Some((coffer_types::ChecksumAlgorithm::Crc64Nvme, "AAAAAAAAAAA=".to_owned()));
    let r = f.engine.complete_upload("bkt", "mp", &id, &done, WriteCondition::None, wrong).await;
    assert!(matches!(r, Err(EngineError::ChecksumMismatch(_))), "{r:?}");
    let right = Some((coffer_types::ChecksumAlgorithm::Crc64Nvme, coffer_types::checksum::to_base64(&whole)));
    let done_ = f.engine.complete_upload("bkt", "mp", &id, &done, WriteCondition::None, right).await.unwrap();
    let (etag, sum) = (done_.etag, done_.checksum);
    assert!(etag.as_str().ends_with("-3"));
    // No algorithm requested: every part computed CRC64NVME, so the object
    // gets the full-object CRC64NVME, equal to the CRC of all its bytes.
    let whole = coffer_types::checksum::checksum(coffer_types::ChecksumAlgorithm::Crc64Nvme, &parts.concat());
    let sum = sum.expect("full-object checksum");
    assert_eq!((sum.kind.as_str(), sum.value), ("FULL_OBJECT", coffer_types::checksum::to_base64(&whole)));
    assert_eq!(f.blob_files(), files_before, "completion copies no data");
    assert_eq!(read(&f.engine, "bkt", "mp").await, parts.concat());
    // Ranged read across the part boundary.
    let out = f
        .engine
        .get_object(GetInput {
            bucket: "bkt".into(),
            key: "mp".into(),
            range: Some(coffer_types::ByteRange::FromTo(140, 160)),
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<Bytes> = out.body.try_collect().await.unwrap();
    assert_eq!(got.concat(), parts.concat()[140..=160]);
    assert_eq!(out.object.meta.content_type.as_deref(), Some("a/b"));
    // ?partNumber=2 serves exactly part 2 and tells the part count.
    let get_part = |key: &str, n: u32| GetInput {
        bucket: "bkt".into(),
        key: key.into(),
        part_number: Some(n),
        ..Default::default()
    };
    let out = f.engine.get_object(get_part("mp", 2)).await.unwrap();
    assert_eq!(out.parts_count, Some(3));
    let got: Vec<Bytes> = out.body.try_collect().await.unwrap();
    assert_eq!(got.concat(), parts[1]);
    assert!(matches!(f.engine.get_object(get_part("mp", 4)).await, Err(EngineError::InvalidPart(4))));
    f.engine.put_object(put("bkt", "single", &data(50, 1))).await.unwrap();
    let whole = f.engine.get_object(get_part("single", 1)).await.unwrap();
    assert_eq!((whole.range, whole.parts_count), (None, None));
    assert!(matches!(f.engine.get_object(get_part("single", 2)).await, Err(EngineError::InvalidPart(2))));
}

#[tokio::test]
async fn multipart_rejections() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let id = f.engine.create_upload("bkt", "mp", ObjectMeta::default()).await.unwrap();
    let small =
        f.engine.upload_part("bkt", "mp", &id, 1, Some(10), body(data(10, 1)), &BodyCheck::default()).await.unwrap();
    let other =
        f.engine.upload_part("bkt", "mp", &id, 2, Some(10), body(data(10, 2)), &BodyCheck::default()).await.unwrap();
    let cp = |n: u32, e: &(coffer_types::ETag, coffer_meta::StoredChecksum)| CompletedPart {
        part_number: n,
        etag: e.0.quoted(),
        checksum: None,
    };
    let r =
        f.engine.complete_upload("bkt", "mp", &id, &[cp(1, &small), cp(2, &other)], WriteCondition::None, None).await;
    assert!(matches!(r, Err(EngineError::EntityTooSmall(1))));
    let r =
        f.engine.complete_upload("bkt", "mp", &id, &[cp(2, &other), cp(1, &small)], WriteCondition::None, None).await;
    assert!(matches!(r, Err(EngineError::InvalidPartOrder)));
    let r = f.engine.complete_upload("bkt", "mp", &id, &[cp(1, &other)], WriteCondition::None, None).await;
    assert!(matches!(r, Err(EngineError::InvalidPart(1))));
    let r = f.engine.complete_upload("bkt", "mp", &id, &[cp(3, &other)], WriteCondition::None, None).await;
    assert!(matches!(r, Err(EngineError::InvalidPart(3))));
    let r = f.engine.upload_part("bkt", "mp", "nope", 1, Some(1), body(vec![1]), &BodyCheck::default()).await;
    assert!(matches!(r, Err(EngineError::NoSuchUpload)));
    let r = f.engine.upload_part("bkt", "mp", &id, 10_001, Some(1), body(vec![1]), &BodyCheck::default()).await;
    assert!(matches!(r, Err(EngineError::InvalidArgument(_))));
    // A part number listed twice counts once, with its last entry.
    let again =
        f.engine.upload_part("bkt", "mp", &id, 2, Some(10), body(data(10, 7)), &BodyCheck::default()).await.unwrap();
    let r =
        f.engine.complete_upload("bkt", "mp", &id, &[cp(2, &other), cp(2, &again)], WriteCondition::None, None).await;
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(read(&f.engine, "bkt", "mp").await, data(10, 7));
    let id = f.engine.create_upload("bkt", "mp", ObjectMeta::default()).await.unwrap();
    let other =
        f.engine.upload_part("bkt", "mp", &id, 2, Some(10), body(data(10, 2)), &BodyCheck::default()).await.unwrap();
    // A single small part is fine (the last part has no minimum).
    f.engine.complete_upload("bkt", "mp", &id, &[cp(2, &other)], WriteCondition::None, None).await.unwrap();
    f.engine.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(f.blob_files(), 1, "the unused part was collected");
}

#[tokio::test]
async fn copy_object_rules() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    f.engine.put_object(put("bkt", "src", &data(4000, 9))).await.unwrap();
    let input = copy_input("src", "dst");
    f.engine.copy_object(input.clone()).await.unwrap();
    assert_eq!(read(&f.engine, "bkt", "dst").await, data(4000, 9));
    let mut onto_self = input.clone();
    onto_self.dst_key = "src".into();
    assert!(matches!(f.engine.copy_object(onto_self.clone()).await, Err(EngineError::InvalidRequest(_))));
    onto_self.directive =
        MetadataDirective::Replace(Box::new(ObjectMeta { content_type: Some("x/y".into()), ..Default::default() }));
    f.engine.copy_object(onto_self).await.unwrap();
    assert_eq!(read(&f.engine, "bkt", "src").await, data(4000, 9));
    let mut cond = input.clone();
    cond.source_conditions.if_match = Some("\"nope\"".into());
    assert!(matches!(f.engine.copy_object(cond).await, Err(EngineError::PreconditionFailed)));

    // If-None-Match / If-Match on the destination hold for a copy as for a
    // PUT: the existing destination is left alone and no blob is left over.
    f.engine.put_object(put("bkt", "dst", b"keep me")).await.unwrap();
    let blobs_before = f.blob_files();
    for condition in [WriteCondition::IfAbsent, WriteCondition::IfETag("nope".into())] {
        let c = CopyInput { condition, ..input.clone() };
        assert!(matches!(f.engine.copy_object(c).await, Err(EngineError::PreconditionFailed)));
    }
    let absent = CopyInput { dst_key: "absent".into(), condition: WriteCondition::IfPresent, ..input.clone() };
    assert!(f.engine.copy_object(absent).await.is_err(), "If-Match: * onto no object");
    assert_eq!(read(&f.engine, "bkt", "dst").await, b"keep me");
    assert_eq!(f.blob_files(), blobs_before);
    let fresh = CopyInput { dst_key: "fresh".into(), condition: WriteCondition::IfAbsent, ..input.clone() };
    f.engine.copy_object(fresh).await.unwrap();
    assert_eq!(read(&f.engine, "bkt", "fresh").await, data(4000, 9));

    // x-amz-checksum-algorithm picks the copy's checksum algorithm.
    let crc = CopyInput { dst_key: "crc".into(), checksum: Some(coffer_types::ChecksumAlgorithm::Crc32c), ..input };
    f.engine.copy_object(crc).await.unwrap();
    let rec = f.engine.meta().get_object("bkt", "crc").await.unwrap().unwrap();
    let want = coffer_types::checksum::to_base64(&coffer_types::checksum::checksum(
        coffer_types::ChecksumAlgorithm::Crc32c,
        &data(4000, 9),
    ));
    let got = rec.meta.checksum.unwrap();
    assert_eq!((got.algorithm.as_str(), got.value.as_str()), ("CRC32C", want.as_str()));
}

#[tokio::test]
async fn canned_acls_of_buckets_and_objects() {
    use coffer_types::CannedAcl;
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    assert_eq!(f.engine.bucket_acl("bkt").await.unwrap(), CannedAcl::Private);
    // ACLs are set through their method, which checks them, never as a raw document.
    let raw = f.engine.set_bucket_config("bkt", None, coffer_types::BucketConfigKind::Acl, Some("public-read".into()));
    assert!(matches!(raw.await, Err(EngineError::InvalidArgument(_))));
    // A bucket without an Object Ownership setting has ACLs disabled.
    assert!(matches!(
        f.engine.set_bucket_acl("bkt", None, CannedAcl::PublicReadWrite).await,
        Err(EngineError::AclNotSupported)
    ));
    f.engine
        .set_bucket_ownership("bkt", None, Some(coffer_types::ObjectOwnership::BucketOwnerPreferred))
        .await
        .unwrap();
    f.engine.set_bucket_acl("bkt", None, CannedAcl::PublicReadWrite).await.unwrap();
    assert_eq!(f.engine.bucket_acl("bkt").await.unwrap(), CannedAcl::PublicReadWrite);
    f.engine.set_bucket_acl("bkt", None, CannedAcl::Private).await.unwrap();
    assert_eq!(f.engine.bucket_acl("bkt").await.unwrap(), CannedAcl::Private);
    assert!(matches!(f.engine.bucket_acl("nope").await, Err(EngineError::NoSuchBucket)));

    f.engine.put_object(put("bkt", "big", &data(200_000, 4))).await.unwrap();
    assert_eq!(f.engine.object_acl("bkt", "big", None).await.unwrap(), CannedAcl::Private);
    f.engine.set_object_acl("bkt", None, "big", None, CannedAcl::PublicRead).await.unwrap();
    assert_eq!(f.engine.object_acl("bkt", "big", None).await.unwrap(), CannedAcl::PublicRead);
    // The data is untouched and still readable after the GC ran.
    f.engine.collect_garbage(std::time::Duration::ZERO).await.unwrap();
    assert_eq!(read(&f.engine, "bkt", "big").await, data(200_000, 4));
    assert!(matches!(
        f.engine.set_object_acl("bkt", None, "none", None, CannedAcl::PublicRead).await,
        Err(EngineError::NoSuchKey)
    ));
    // A copy takes the ACL its request names, never the source's.
    f.engine.copy_object(copy_input("big", "copy")).await.unwrap();
    assert_eq!(f.engine.object_acl("bkt", "copy", None).await.unwrap(), CannedAcl::Private);
}

/// Listing pages, followed marker to marker, equal a naive model's answer.
#[tokio::test]
async fn listing_matches_model() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let alphabet = ["a", "bkt", "/", "-", "é"];
    let mut state = 12345u64;
    let mut rnd = |n: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    let mut keys = std::collections::BTreeSet::new();
    while keys.len() < 300 {
        let len = 1 + rnd(6);
        let k: String = (0..len).map(|_| alphabet[rnd(alphabet.len())]).collect();
        keys.insert(k);
    }
    for k in &keys {
        let mut input = put("bkt", k, b"x");
        input.meta = ObjectMeta::default();
        f.engine.put_object(input).await.unwrap();
    }
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for prefix in ["", "a", "a/", "é", "zz"] {
        for delim in [None, Some("/"), Some("-/"), Some("a")] {
            // The model: every entry (key or common prefix) in order.
            let mut model: Vec<(bool, String)> = Vec::new();
            for k in sorted.iter().filter(|k| k.starts_with(prefix)) {
                let rest = &k[prefix.len()..];
                match delim.and_then(|d| rest.find(d).map(|i| k[..prefix.len() + i + d.len()].to_string())) {
                    Some(cp) => {
                        if model.last() != Some(&(true, cp.clone())) {
                            model.push((true, cp));
                        }
                    }
                    None => model.push((false, k.to_string())),
                }
            }
            for page_size in [1usize, 7, 1000] {
                let mut got: Vec<(bool, String)> = Vec::new();
                let mut after = None;
                loop {
                    let p = ListParams {
                        prefix: prefix.into(),
                        delimiter: delim.map(Into::into),
                        after: after.clone(),
                        max_keys: page_size,
                    };
                    let page = f.engine.list_objects("bkt", &p).await.unwrap();
                    let mut entries: Vec<(bool, String)> =
                        page.objects.iter().map(|o| (false, o.key.clone())).collect();
                    entries.extend(page.common_prefixes.iter().map(|c| (true, c.clone())));
                    entries.sort_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
                    assert!(entries.len() <= page_size);
                    got.extend(entries);
                    if !page.is_truncated {
                        break;
                    }
                    after = page.last.clone();
                    assert!(after.is_some());
                }
                assert_eq!(got, model, "prefix {prefix:?} delimiter {delim:?} page {page_size}");
            }
        }
    }
    let _ = ObjectData::Inline(Bytes::new());
}

/// 100k keys in 100 "folders": full listings, delimiter listings and prefix
/// listings are complete and ordered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_100k_keys() {
    let (f, meta) = fixture_with_meta();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let n = 100_000usize;
    let mut tasks = Vec::new();
    for t in 0..250usize {
        let e = f.engine.clone();
        tasks.push(tokio::spawn(async move {
            for i in (t..n).step_by(250) {
                e.put_object(put("bkt", &format!("d{:02}/k{i:06}", i % 100), b"x")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let p = ListParams { after: after.clone(), max_keys: 1000, ..Default::default() };
        let page = f.engine.list_objects("bkt", &p).await.unwrap();
        all.extend(page.objects.into_iter().map(|o| o.key));
        if !page.is_truncated {
            break;
        }
        after = page.last;
    }
    assert_eq!(all.len(), n);
    assert!(all.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()));
    let p = ListParams { delimiter: Some("/".into()), max_keys: 1000, ..Default::default() };
    let (_, rows_before) = meta.list_reads();
    let page = f.engine.list_objects("bkt", &p).await.unwrap();
    assert_eq!(page.common_prefixes.len(), 100);
    assert!(page.objects.is_empty() && !page.is_truncated);
    // One row per folder, not the 100k keys below them.
    let rows = meta.list_reads().1 - rows_before;
    assert!(rows <= 101, "the delimiter page over 100 folders of 1,000 keys read {rows} rows");
    // Pages of 10 folders: NextMarker is the folder, each folder comes once.
    let mut folders = Vec::new();
    let mut after = None;
    loop {
        let p = ListParams { delimiter: Some("/".into()), max_keys: 10, after: after.clone(), ..Default::default() };
        let page = f.engine.list_objects("bkt", &p).await.unwrap();
        folders.extend(page.common_prefixes.iter().cloned());
        if !page.is_truncated {
            break;
        }
        after = page.last;
        assert!(after.as_deref().is_some_and(|a| a.ends_with('/')));
    }
    assert_eq!(folders, (0..100).map(|i| format!("d{i:02}/")).collect::<Vec<_>>());
    let p = ListParams { prefix: "d42/".into(), max_keys: 1000, ..Default::default() };
    let page = f.engine.list_objects("bkt", &p).await.unwrap();
    assert_eq!(page.objects.len(), 1000);
    assert!(page.objects.iter().all(|o| o.key.starts_with("d42/")));
}

/// Requested checksums are verified (given up front or after the body) and
/// stored; a mismatch stores nothing.
#[tokio::test]
async fn checksums_verified_and_stored() {
    use coffer_types::checksum::{checksum, ChecksumAlgorithm};
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    for n in [10usize, 100_000] {
        let d = data(n, 4);
        for algorithm in ChecksumAlgorithm::ALL {
            let mut input = put("bkt", "c", &d);
            input.check.checksum =
                Some(ChecksumCheck { algorithm, expected: Some(ExpectedChecksum::Given(checksum(algorithm, &d))) });
            let stored = f.engine.put_object(input).await.unwrap().checksum;
            assert_eq!(stored.algorithm, algorithm.as_str());
            let o = f
                .engine
                .get_object(GetInput { bucket: "bkt".into(), key: "c".into(), head: true, ..Default::default() })
                .await
                .unwrap();
            assert_eq!(o.object.meta.checksum, Some(stored));
            let mut bad = put("bkt", "bad", &d);
            bad.check.checksum = Some(ChecksumCheck {
                algorithm,
                expected: Some(ExpectedChecksum::Given(checksum(algorithm, b"other"))),
            });
            assert!(matches!(f.engine.put_object(bad).await, Err(EngineError::ChecksumMismatch(a)) if a == algorithm));
        }
        // A value known only after the body (trailer).
        let late = checksum(ChecksumAlgorithm::Crc32, &d);
        let mut input = put("bkt", "late", &d);
        input.check.checksum = Some(ChecksumCheck {
            algorithm: ChecksumAlgorithm::Crc32,
            expected: Some(ExpectedChecksum::AfterBody(std::sync::Arc::new(move || Some(late.clone())))),
        });
        f.engine.put_object(input).await.unwrap();
        let mut missing = put("bkt", "bad", &d);
        missing.check.checksum = Some(ChecksumCheck {
            algorithm: ChecksumAlgorithm::Crc32,
            expected: Some(ExpectedChecksum::AfterBody(std::sync::Arc::new(|| None))),
        });
        assert!(matches!(f.engine.put_object(missing).await, Err(EngineError::InvalidRequest(_))));
    }
    assert!(matches!(
        f.engine.get_object(GetInput { bucket: "bkt".into(), key: "bad".into(), ..Default::default() }).await,
        Err(EngineError::NoSuchKey)
    ));
    assert_eq!(walk(&f.dir.path().join("blobs/tmp")), 0);
}

#[tokio::test]
async fn quota_refusals_store_nothing_and_leave_no_blob() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let scope = coffer_meta::QuotaScope::Bucket("bkt".into());
    let quota = coffer_meta::Quota { max_bytes: Some(5000), max_objects: None };
    f.engine.meta().set_quota(&scope, quota).await.unwrap();
    f.engine.put_object(put("bkt", "a", &data(3000, 1))).await.unwrap();
    assert_eq!(f.blob_files(), 1);
    let e = f.engine.put_object(put("bkt", "b", &data(3000, 2))).await.unwrap_err();
    assert!(matches!(e, EngineError::QuotaExceeded(coffer_meta::QuotaScope::Bucket(ref b)) if b == "bkt"), "{e:?}");
    assert_eq!(f.blob_files(), 1, "the refused object's blob is gone");
    assert!(matches!(
        f.engine.get_object(GetInput { bucket: "bkt".into(), key: "b".into(), ..Default::default() }).await,
        Err(EngineError::NoSuchKey)
    ));
    // Replacing with a smaller object is always allowed.
    f.engine.put_object(put("bkt", "a", &data(2500, 3))).await.unwrap();
    let totals = f.engine.meta().bucket_totals("bkt").await.unwrap();
    assert_eq!((totals.bytes, totals.objects), (2500, 1));
}

/// Completions of one upload racing (from several gateways): one makes the
/// object; each other one either finds the upload gone and the object its
/// parts make (a success, as a retry is) or NoSuchUpload. None answers
/// InvalidPart because the winner took the parts from under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_completions_answer_as_retries() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    for round in 0..10 {
        let key = format!("mp{round}");
        let id = f.engine.create_upload("bkt", &key, ObjectMeta::default()).await.unwrap();
        let mut done = Vec::new();
        for (n, p) in [(1u32, data(150, 1)), (2, data(9, 2))] {
            let etag = f
                .engine
                .upload_part("bkt", &key, &id, n, Some(p.len() as u64), body(p), &BodyCheck::default())
                .await
                .unwrap();
            done.push(CompletedPart { part_number: n, etag: etag.0.quoted(), checksum: None });
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(6));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (engine, key, id, done, barrier) =
                    (f.engine.clone(), key.clone(), id.clone(), done.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    engine.complete_upload("bkt", &key, &id, &done, WriteCondition::None, None).await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(EngineError::NoSuchUpload) => {}
                Err(e) => panic!("round {round}: a racing completion answered {e:?}"),
            }
        }
        assert!(ok >= 1, "round {round}");
        assert_eq!(read(&f.engine, "bkt", &key).await, [data(150, 1), data(9, 2)].concat());
    }
}

#[tokio::test]
async fn puts_into_a_missing_bucket_store_nothing() {
    let f = fixture();
    // Inline-sized (no look-up before the body) and blob-sized (looked up first).
    for size in [10, 5000] {
        let r = f.engine.put_object(put("nope", "k", &vec![7u8; size])).await;
        assert!(matches!(r, Err(EngineError::NoSuchBucket)), "{size} B: {r:?}");
    }
    assert_eq!(f.blob_files(), 0);
}
