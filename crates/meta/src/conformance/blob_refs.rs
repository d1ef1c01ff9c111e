//! Conformance cases for what the scrubber relies on: every blob's
//! CRC-64/NVME round trips with the rows that refer to it (segments, older
//! versions' segments, parts), and [`MetaStore::blob_refs`] walks every
//! referred blob once, in id order, page by page; background jobs'
//! shared states ([`MetaStore::get_job_state`], listed by prefix with
//! [`MetaStore::job_states`]).

use super::{bucket, queued};
use crate::*;
use coffer_types::{BlobId, UnixMillis, Versioning};
use std::ops::Bound;
use std::sync::Arc;

fn seg(blob: &BlobId, size: u64, crc64: Option<u64>) -> Segment {
    Segment { blob: blob.clone(), size, crc64 }
}

fn object(key: &str, segs: Vec<Segment>) -> ObjectRecord {
    ObjectRecord {
        version_id: Some(coffer_types::new_version_id()),
        key: key.into(),
        size: segs.iter().map(|s| s.size).sum(),
        etag: "e".into(),
        last_modified: 1000,
        meta: ObjectMeta::default(),
        data: ObjectData::Segments(segs),
    }
}

async fn all_refs(s: &dyn MetaStore, page: usize) -> Vec<BlobRef> {
    let mut out: Vec<BlobRef> = Vec::new();
    loop {
        let start = match out.last() {
            Some(r) => Bound::Excluded(&r.blob),
            None => Bound::Unbounded,
        };
        let got = s.blob_refs(start, page).await.unwrap();
        assert!(got.len() <= page, "a page holds at most its limit");
        let done = got.len() < page;
        out.extend(got);
        if done {
            return out;
        }
    }
}

pub async fn blob_checksums_and_refs(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    s.set_versioning("b", None, VersioningChange::Set(Versioning::Enabled)).await.unwrap();
    let mut ids: Vec<BlobId> = (0..5).map(|_| BlobId::random()).collect();
    ids.sort();
    // Values that need all 64 bits, and a row of a blob written before checksums.
    let (c0, c1, c2, c3) = (Some(u64::MAX), None, Some(1u64 << 63), Some(7));
    let first = object("k", vec![seg(&ids[0], 10, c0), seg(&ids[1], 4, c1)]);
    let old_id = first.version_id.clone();
    s.put_object("b", first.clone(), WriteCondition::None).await.unwrap();
    let got = s.get_object("b", "k").await.unwrap().unwrap();
    assert_eq!(got.data, first.data, "segments keep their checksums");
    // Overwritten: the first version's segments move to the older versions.
    s.put_object("b", object("k", vec![seg(&ids[2], 3, c2)]), WriteCondition::None).await.unwrap();
    let old = s.get_version("b", "k", &VersionSel::Id(old_id.clone())).await.unwrap().unwrap();
    assert_eq!(old.object.data, first.data, "an older version keeps its checksums");
    // An upload's part keeps its checksum.
    let up = UploadRecord { upload_id: "u".into(), key: "p".into(), initiated: 1, meta: ObjectMeta::default() };
    s.create_upload("b", up).await.unwrap();
    let part = PartRecord {
        part_number: 1,
        size: 6,
        etag: "e".into(),
        last_modified: 1,
        blob: ids[3].clone(),
        crc64: c3,
        checksum: None,
    };
    s.put_part("b", "u", part.clone()).await.unwrap();
    let parts = s.list_parts("b", "u", 0, 10).await.unwrap();
    assert_eq!(parts, vec![part]);

    let want = vec![
        BlobRef { blob: ids[0].clone(), size: 10, crc64: c0 },
        BlobRef { blob: ids[1].clone(), size: 4, crc64: c1 },
        BlobRef { blob: ids[2].clone(), size: 3, crc64: c2 },
        BlobRef { blob: ids[3].clone(), size: 6, crc64: c3 },
    ];
    for page in [1, 2, 3, 100] {
        assert_eq!(all_refs(&*s, page).await, want, "pages of {page}");
    }
    let one = s.blob_refs(Bound::Included(&ids[2]), 1).await.unwrap();
    assert_eq!(one, vec![want[2].clone()], "Included starts at the blob itself");
    let none = s.blob_refs(Bound::Included(&ids[4]), 1).await.unwrap();
    assert!(none.is_empty(), "a blob nothing refers to is not listed");

    // Deleted for good: its blobs are queued for collection, no longer referred to.
    let gone = DeleteTarget::Version(old_id);
    s.delete_version("b", None, "k", &gone, LockCheck::default()).await.unwrap();
    s.abort_upload("b", "u").await.unwrap();
    assert_eq!(all_refs(&*s, 2).await, vec![want[2].clone()]);
    let mut q = queued(&*s).await;
    q.retain(|b| b != &ids[2]);
    assert_eq!(q, vec![ids[0].clone(), ids[1].clone(), ids[3].clone()]);
}

pub async fn job_states(s: Arc<dyn MetaStore>) {
    assert_eq!(s.get_job_state("scrub").await.unwrap(), None);
    s.set_job_state("scrub", Some(r#"{"after":"ab"}"#)).await.unwrap();
    s.set_job_state("other", Some("x")).await.unwrap();
    s.set_job_state("scrub", Some(r#"{"after":"cd"}"#)).await.unwrap();
    assert_eq!(s.get_job_state("scrub").await.unwrap().as_deref(), Some(r#"{"after":"cd"}"#));
    s.set_job_state("scrub", None).await.unwrap();
    assert_eq!(s.get_job_state("scrub").await.unwrap(), None);
    assert_eq!(s.get_job_state("other").await.unwrap().as_deref(), Some("x"), "each job has its own");

    // Listed by prefix, bytewise, with when each was last written.
    let before = coffer_types::now_millis();
    for name in ["keyring:b", "keyring:a", "keyring;", "keyring", "keyrinG:z", "keyring:\u{10FFFF}", "é1", "ê"] {
        s.set_job_state(name, Some(&format!("v-{name}"))).await.unwrap();
    }
    let after = coffer_types::now_millis();
    let names = |got: &[(String, String, UnixMillis)]| got.iter().map(|g| g.0.clone()).collect::<Vec<_>>();
    let got = s.job_states("keyring:").await.unwrap();
    assert_eq!(names(&got), ["keyring:a", "keyring:b", "keyring:\u{10FFFF}"]);
    for (name, value, updated) in &got {
        assert_eq!(value, &format!("v-{name}"));
        assert!((before..=after).contains(updated), "{updated} not in {before}..={after}");
    }
    assert_eq!(names(&s.job_states("é").await.unwrap()), ["é1"]);
    assert_eq!(names(&s.job_states("keyring:\u{10FFFF}").await.unwrap()), ["keyring:\u{10FFFF}"]);
    assert!(s.job_states("nothing").await.unwrap().is_empty());
    let all = names(&s.job_states("").await.unwrap());
    let mut sorted = all.clone();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!((all.len(), &all), (9, &sorted), "everything, bytewise");
    s.set_job_state("keyring:a", None).await.unwrap();
    assert_eq!(names(&s.job_states("keyring:").await.unwrap()), ["keyring:b", "keyring:\u{10FFFF}"]);
}
