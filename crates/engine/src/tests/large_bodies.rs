//! Bodies large enough for the hashing and writing pipelines to run beside
//! the request (several steps queued, jobs in flight when the body ends or
//! fails): the digests are those of the whole body, and every refusal
//! leaves nothing behind.

use super::{data, fixture, put, read, NEW_BKT};
use crate::*;
use bytes::Bytes;
use coffer_meta::ObjectMeta;
use coffer_types::checksum::{checksum, ChecksumAlgorithm};
use futures::StreamExt;
use md5::{Digest, Md5};
use sha2::Sha256;

/// 5 MiB and a bit: twenty hashing steps and a partial one.
const LEN: usize = 5 * 1024 * 1024 + 4093;

/// `data` as a body of pieces of odd sizes, as a socket delivers them.
fn odd_pieces(data: &[u8]) -> Body {
    let mut pieces = Vec::new();
    let all = Bytes::copy_from_slice(data);
    let (mut at, mut n) = (0, 0);
    while at < all.len() {
        let size = [65_536, 1, 4093, 300_007, 17][n % 5];
        let end = (at + size).min(all.len());
        pieces.push(Ok::<_, BoxError>(all.slice(at..end)));
        (at, n) = (end, n + 1);
    }
    futures::stream::iter(pieces).boxed()
}

fn large_put(key: &str, d: &[u8]) -> PutInput {
    PutInput { body: odd_pieces(d), ..put("bkt", key, d) }
}

async fn missing(f: &super::Fixture, key: &str) -> bool {
    let got = f.engine.get_object(GetInput { bucket: "bkt".into(), key: key.into(), ..Default::default() }).await;
    matches!(got, Err(EngineError::NoSuchKey))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_put_digests_are_those_of_the_whole_body() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let d = data(LEN, 9);
    let mut input = large_put("big", &d);
    input.check.md5 = Some(Md5::digest(&d).into());
    input.check.sha256 = Some(Sha256::digest(&d).into());
    let crc = checksum(ChecksumAlgorithm::Crc32c, &d);
    input.check.checksum = Some(ChecksumCheck {
        algorithm: ChecksumAlgorithm::Crc32c,
        expected: Some(ExpectedChecksum::Given(crc.clone())),
    });
    let out = f.engine.put_object(input).await.unwrap();
    let (etag, stored) = (out.etag, out.checksum);
    assert_eq!(etag.as_str(), hex::encode(Md5::digest(&d)));
    assert_eq!(stored.value, coffer_types::checksum::to_base64(&crc));
    assert_eq!(read(&f.engine, "bkt", "big").await, d);
    assert_eq!(f.blob_files(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_puts_with_a_wrong_digest_fail_and_leave_nothing() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let d = data(LEN, 3);
    // The right digests of a body that differs in its last byte only.
    let mut other = d.clone();
    if let Some(last) = other.last_mut() {
        *last ^= 1;
    }
    let mut md5 = large_put("k", &d);
    md5.check.md5 = Some(Md5::digest(&other).into());
    assert!(matches!(f.engine.put_object(md5).await, Err(EngineError::BadDigest)));
    let mut sha = large_put("k", &d);
    sha.check.sha256 = Some(Sha256::digest(&other).into());
    assert!(matches!(f.engine.put_object(sha).await, Err(EngineError::Sha256Mismatch)));
    for algorithm in [ChecksumAlgorithm::Crc32, ChecksumAlgorithm::Crc64Nvme, ChecksumAlgorithm::Sha256] {
        let mut sum = large_put("k", &d);
        let wrong = ExpectedChecksum::Given(checksum(algorithm, &other));
        sum.check.checksum = Some(ChecksumCheck { algorithm, expected: Some(wrong) });
        assert!(matches!(f.engine.put_object(sum).await, Err(EngineError::ChecksumMismatch(a)) if a == algorithm));
    }
    // A part as well.
    let id = f.engine.create_upload("bkt", "k", ObjectMeta::default()).await.unwrap();
    let check = BodyCheck { md5: Some(Md5::digest(&other).into()), ..Default::default() };
    let part = f.engine.upload_part("bkt", "k", &id, 1, Some(LEN as u64), odd_pieces(&d), &check).await;
    assert!(matches!(part, Err(EngineError::BadDigest)), "{part:?}");
    assert!(missing(&f, "k").await);
    assert_eq!(f.blob_files(), 0, "no blob, committed or temporary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_body_failing_midway_leaves_nothing() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let d = Bytes::from(data(LEN, 5));
    // Several MiB arrive (jobs are hashing and writing them), then the
    // connection drops.
    let mut pieces: Vec<Result<Bytes, BoxError>> = d.chunks(65_536).take(60).map(|c| Ok(d.slice_ref(c))).collect();
    pieces.push(Err("connection reset".into()));
    let mut input = put("bkt", "k", &[]);
    input.len = Some(LEN as u64);
    input.body = futures::stream::iter(pieces).boxed();
    assert!(matches!(f.engine.put_object(input).await, Err(EngineError::Body(_))));
    assert!(missing(&f, "k").await);
    assert_eq!(f.blob_files(), 0, "no blob, committed or temporary");
    // And a body longer than declared, refused once it passes the length.
    let mut long = large_put("k", &d);
    long.len = Some(LEN as u64 - 1);
    assert!(matches!(f.engine.put_object(long).await, Err(EngineError::IncompleteBody { .. })));
    assert!(missing(&f, "k").await);
    assert_eq!(f.blob_files(), 0);
}
