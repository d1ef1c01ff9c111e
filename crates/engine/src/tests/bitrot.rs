//! Bitrot over the real stores: a flipped byte in a stored blob is never
//! served as the object, on whole, ranged and multipart reads; the scrubber
//! names corrupt and missing blobs and nothing else.

use super::*;
use coffer_meta::MetaStore;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// The file of the blob whose id is `id` (or the only blob, if `None`).
fn blob_file(f: &Fixture, id: Option<&str>) -> PathBuf {
    fn all(p: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(p).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                all(&p, out)
            } else {
                out.push(p)
            }
        }
    }
    let mut files = Vec::new();
    all(&f.dir.path().join("blobs/v1"), &mut files);
    files.retain(|p| id.is_none_or(|id| p.to_string_lossy().contains(id)));
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

fn flip(path: &std::path::Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// Every chunk of a GET until its body ends or fails.
async fn get_all(e: &Engine, input: GetInput) -> Result<(Vec<u8>, Option<EngineError>), EngineError> {
    let out = e.get_object(input).await?;
    let mut body = out.body;
    let mut got = Vec::new();
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => got.extend_from_slice(&c),
            Err(err) => return Ok((got, Some(crate::bitrot::unbox(err)))),
        }
    }
    Ok((got, None))
}

fn get(key: &str) -> GetInput {
    GetInput { bucket: "bkt".into(), key: key.into(), ..Default::default() }
}

fn ranged(key: &str, a: u64, b: u64) -> GetInput {
    GetInput { range: Some(coffer_types::ByteRange::FromTo(a, b)), ..get(key) }
}

async fn scrub(e: &Engine) -> ScrubReport {
    e.scrub(&ScrubOptions { rate: None, page: 2 }).await.unwrap()
}

#[tokio::test]
async fn a_small_rotten_object_is_a_clean_error_before_any_byte() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let bytes = data(3000, 1);
    f.engine.put_object(put("bkt", "k", &bytes)).await.unwrap();
    assert_eq!(read(&f.engine, "bkt", "k").await, bytes);
    let clean = scrub(&f.engine).await;
    assert_eq!((clean.blobs, clean.bytes, clean.unverified), (1, 3000, 0));
    assert!(clean.clean() && clean.complete);

    flip(&blob_file(&f, None), 1234);
    let r = get_all(&f.engine, get("k")).await;
    assert!(matches!(r, Err(EngineError::Corrupt(_))), "refused before the answer starts");
    let r = get_all(&f.engine, ranged("k", 0, 9)).await;
    assert!(matches!(r, Err(EngineError::Corrupt(_))), "a range of a small blob checks all of it");
    assert_eq!(f.engine.stats().corrupt_reads.load(Ordering::Relaxed), 2);
    // A copy of it is refused too: rot does not spread.
    let r = f.engine.copy_object(copy_input("k", "copy")).await;
    assert!(matches!(r, Err(EngineError::Corrupt(_))), "{:?}", r.err());

    let found = scrub(&f.engine).await;
    assert_eq!((found.blobs, found.corrupt_count, found.missing_count), (1, 1, 0));
    assert_eq!(found.corrupt.len(), 1);
    assert!(blob_file(&f, None).to_string_lossy().contains(found.corrupt[0].as_str()));
}

#[tokio::test]
async fn a_large_rotten_blob_never_completes_its_body() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let size = (crate::bitrot::VERIFY_AHEAD as usize) * 2 + 333;
    let bytes = data(size, 2);
    f.engine.put_object(put("bkt", "big", &bytes)).await.unwrap();
    let (good, err) = get_all(&f.engine, get("big")).await.unwrap();
    assert!(err.is_none() && good == bytes);
    // The last byte flipped: everything before the held-back chunk may have
    // gone out, never the whole body.
    flip(&blob_file(&f, None), size - 1);
    let (got, err) = get_all(&f.engine, get("big")).await.unwrap();
    assert!(matches!(err, Some(EngineError::Corrupt(_))), "{err:?}");
    assert!(got.len() < size, "the body ends short");
    assert_eq!(got[..], bytes[..got.len()], "what was sent is a prefix of the object");
    assert_eq!(scrub(&f.engine).await.corrupt_count, 1);
}

#[tokio::test]
async fn multipart_parts_keep_their_checksums_and_each_is_checked() {
    let (f, meta) = fixture_with_meta();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let id = f.engine.create_upload("bkt", "mp", ObjectMeta::default()).await.unwrap();
    let parts = [data(150, 3), data(120, 4)];
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as u32 + 1;
        let len = Some(p.len() as u64);
        let etag =
            f.engine.upload_part("bkt", "mp", &id, n, len, body(p.clone()), &BodyCheck::default()).await.unwrap();
        done.push(CompletedPart { part_number: n, etag: etag.0.quoted(), checksum: None });
    }
    // Parts of an upload in progress are scrubbed too.
    assert_eq!(scrub(&f.engine).await.blobs, 2);
    f.engine.complete_upload("bkt", "mp", &id, &done, WriteCondition::None, None).await.unwrap();
    let rec = meta.get_object("bkt", "mp").await.unwrap().unwrap();
    let ObjectData::Segments(segs) = rec.data else { panic!("parts are blobs") };
    assert!(segs.iter().all(|s| s.crc64.is_some()), "the parts' checksums became the object's");
    let second = segs[1].blob.as_str().to_owned();
    flip(&blob_file(&f, Some(&second)), 7);
    let (got, err) = get_all(&f.engine, get("mp")).await.unwrap();
    assert!(matches!(err, Some(EngineError::Corrupt(_))), "{err:?}");
    assert!(got.len() < 270);
    // A range within the good first part is still served.
    let (got, err) = get_all(&f.engine, ranged("mp", 0, 99)).await.unwrap();
    assert!(err.is_none() && got == parts[0][..100]);
    let found = scrub(&f.engine).await;
    assert_eq!((found.blobs, found.corrupt_count), (2, 1));
    assert_eq!(found.corrupt[0].as_str(), second);
}

#[tokio::test]
async fn missing_blobs_are_named_and_collected_ones_are_not() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    f.engine.put_object(put("bkt", "gone", &data(2000, 5))).await.unwrap();
    std::fs::remove_file(blob_file(&f, None)).unwrap();
    let found = scrub(&f.engine).await;
    assert_eq!((found.blobs, found.missing_count, found.corrupt_count), (1, 1, 0));
    // Deleted through S3: its blob is no longer referred to, nothing to report.
    f.engine.delete_object("bkt", "gone").await.unwrap();
    let found = scrub(&f.engine).await;
    assert_eq!((found.blobs, found.missing_count), (0, 0));
    assert_eq!(f.engine.stats().scrub.missing.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn one_gateway_scrubs_at_a_time_and_a_pass_resumes_where_it_got_to() {
    let (f, meta) = fixture_with_meta();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    for i in 0..5 {
        f.engine.put_object(put("bkt", &format!("k{i}"), &data(2000, i))).await.unwrap();
    }
    let opts = ScrubOptions { rate: None, page: 2 };
    let week = Duration::from_secs(7 * 86_400);
    let now = coffer_types::now_millis();
    assert!(meta.acquire_lease(SCRUB_LEASE, "another-gateway", now, now + 60_000).await.unwrap());
    assert!(f.engine.scrub_if_due(week, &opts).await.unwrap().is_none(), "another gateway's pass is running");
    // `coffer scrub` by hand runs whatever the lease.
    assert_eq!(f.engine.scrub(&opts).await.unwrap().blobs, 5);
    meta.release_lease(SCRUB_LEASE, "another-gateway").await.unwrap();

    // A pass cut off after its second blob (a restart, on any gateway)
    // resumes after it.
    let mut ids: Vec<String> = meta
        .blob_refs(std::ops::Bound::Unbounded, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.blob.as_str().to_owned())
        .collect();
    ids.sort();
    let state = format!(r#"{{"pass":{{"started":1,"after":"{}"}}}}"#, ids[1]);
    meta.set_job_state(SCRUB_LEASE, Some(&state)).await.unwrap();
    let resumed = f.engine.scrub_if_due(week, &opts).await.unwrap().expect("a pass under way is due");
    assert!(resumed.complete && resumed.blobs == 3, "{resumed:?}");
    assert_eq!(f.engine.stats().scrub.passes.load(Ordering::Relaxed), 1);
    // Ended: the next is due a week later, whichever gateway asks.
    assert!(f.engine.scrub_if_due(week, &opts).await.unwrap().is_none());
    let full = f.engine.scrub_if_due(Duration::ZERO, &opts).await.unwrap().expect("due at once");
    assert_eq!((full.blobs, full.complete), (5, true));
    let stored = meta.get_job_state(SCRUB_LEASE).await.unwrap().unwrap();
    assert!(stored.contains("\"ended\"") && stored.contains("\"pass\":null"), "{stored}");
}

#[tokio::test]
async fn copies_of_rotten_sources_fail_as_the_servers_error() {
    let (f, _meta) = fixture_with_meta();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    let size = 3 * (1 << 20) + 7;
    f.engine.put_object(put("bkt", "src", &data(size, 9))).await.unwrap();
    flip(&blob_file(&f, None), size - 10);
    // A whole copy: the source streams into the new blob and fails its check
    // at the end; nothing is stored, and the error is the server's (500).
    let r = f.engine.copy_object(copy_input("src", "dst")).await;
    assert!(matches!(r, Err(EngineError::Corrupt(_))), "{:?}", r.err());
    assert!(matches!(f.engine.get_object(get("dst")).await, Err(EngineError::NoSuchKey)));
    // A ranged part copy away from the flipped byte checks the whole source
    // blob (at most `VERIFY_COPY`), so the rot is not copied under a fresh checksum.
    let id = f.engine.create_upload("bkt", "mp", ObjectMeta::default()).await.unwrap();
    let src = SourceRef { bucket: "bkt".into(), key: "src".into(), ..Default::default() };
    let range = Some(coffer_types::ByteRange::FromTo(0, 1 << 20));
    let r = f.engine.upload_part_copy("bkt", "mp", &id, 1, &src, range, &Conditions::default()).await;
    assert!(matches!(r, Err(EngineError::Corrupt(_))), "{:?}", r.err());
    assert_eq!(f.blob_files(), 1, "no part was kept");
}
