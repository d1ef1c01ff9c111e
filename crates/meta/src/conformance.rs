//! The conformance suite every [`MetaStore`] + [`IdentityStore`]
//! implementation must pass.
//!
//! An implementation's test file calls [`crate::meta_conformance_tests!`] with an
//! async factory returning `(Arc<dyn Store>, guard)`, or `Option` of that
//! when the backend may be missing where the tests run (the factory says why
//! and the test returns without checking anything); the guard (a temp dir, a
//! schema) lives as long as the test. Each case becomes one named test. Cases
//! that need only the metadata take `Arc<dyn MetaStore>` (the macro upcasts);
//! identity cases take `Arc<dyn Store>`.
//!
//! Objects, buckets and multipart are here; tags in `object_meta.rs`;
//! versions, delete markers and locked versions in `versions.rs`; bucket ownership, stored totals
//! and quotas in `totals.rs`; hourly usage in `usage.rs`; projects, users and
//! keys in `identity.rs`; blobs' checksums and the scrubber's walk in `blob_refs.rs`; the console's sign-in throttle and session
//! generations in `console.rs` (with their own macro,
//! [`crate::console_conformance_tests!`], which also runs cases over two
//! handles of one database); races between two handles of one database (two
//! gateways) in `two_handles.rs` ([`crate::two_handle_conformance_tests!`]);
//! delimiter listings and bucket pages in `listing.rs`, whose cases at scale
//! (1,000 folders, rows read per page) have their own macro,
//! [`crate::listing_scale_tests!`].

mod blob_refs;
mod console;
mod identity;
mod listing;
mod multipart_races;
mod object_meta;
mod totals;
mod two_handles;
mod unbounded_races;
mod usage;
mod versions;

pub use blob_refs::*;
pub use console::*;
pub use identity::*;
pub use listing::*;
pub use multipart_races::*;
pub use object_meta::*;
pub use totals::*;
pub use two_handles::*;
pub use unbounded_races::*;
pub use usage::*;
pub use versions::*;

use crate::*;
use bytes::Bytes;
use coffer_types::BlobId;
use std::sync::Arc;

/// Generates one `#[tokio::test]` per conformance case.
#[macro_export]
macro_rules! meta_conformance_tests {
    ($make:path) => {
        $crate::meta_conformance_tests!(@cases $make,
            buckets, objects_roundtrip, overwrite_queues_old_blobs, listing_order_and_bounds,
            conditional_writes, multipart_lifecycle, delete_bucket_rules, gc_queue_and_orphans,
            ping, concurrent_conditional_creates, bucket_configs, object_acl_update, object_tags_update, project_configs, stamped_writes_need_the_same_bucket, deleted_bucket_names_are_held, bucket_config_compare_and_set,
            bucket_project_roundtrip, stored_totals_follow_writes, quota_enforced, quota_under_concurrency,
            usage_records, usage_saturates, meter_storage_splits_hours,
            projects_crud, users_crud, user_paths_and_ids_roundtrip, rename_user_moves_keys, user_password_hash,
            access_keys_crud, complete_refuses_replaced_part_blob, complete_races_put_part, gc_claims, leases,
            delimiter_listings, bucket_pages, versioning_states, versioned_writes_keep_versions,
            delete_markers_and_version_deletes, suspended_writes_replace_the_null_version, version_listings,
            locked_versions, version_meta_edits, versioned_multipart, concurrent_versioned_writes,
            blob_checksums_and_refs, job_states);
    };
    (@cases $make:path, $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $crate::conformance::Made::made($make().await) else { return };
                $crate::conformance::$case(store).await;
            }
        )*
    };
}

/// What a factory of the generated tests returns: a store (or two) with its
/// guard, or `None` when the backend is not available where the tests run.
pub trait Made {
    type Out;
    fn made(self) -> Option<Self::Out>;
}

impl<G> Made for (Arc<dyn Store>, G) {
    type Out = Self;
    fn made(self) -> Option<Self> {
        Some(self)
    }
}

impl<G> Made for Option<(Arc<dyn Store>, G)> {
    type Out = (Arc<dyn Store>, G);
    fn made(self) -> Option<Self::Out> {
        self
    }
}

impl<G> Made for (Arc<dyn Store>, Arc<dyn Store>, G) {
    type Out = Self;
    fn made(self) -> Option<Self> {
        Some(self)
    }
}

impl<G> Made for Option<(Arc<dyn Store>, Arc<dyn Store>, G)> {
    type Out = (Arc<dyn Store>, Arc<dyn Store>, G);
    fn made(self) -> Option<Self::Out> {
        self
    }
}

/// An operator bucket.
fn bucket(name: &str) -> BucketRecord {
    bucket_in(name, OPERATOR_PROJECT)
}

fn bucket_in(name: &str, project: &str) -> BucketRecord {
    BucketRecord {
        name: name.into(),
        region: "us-east-1".into(),
        project: project.into(),
        created: 1,
        ..Default::default()
    }
}

fn blobs(n: usize) -> Vec<BlobId> {
    (0..n).map(|_| BlobId::random()).collect()
}

fn inline(key: &str, body: &'static [u8]) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size: body.len() as u64,
        etag: format!("etag-{key}"),
        last_modified: 1000,
        meta: ObjectMeta::default(),
        data: ObjectData::Inline(Bytes::from_static(body)),
    }
}

/// An inline object of `size` bytes.
fn sized(key: &str, size: usize) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size: size as u64,
        etag: format!("etag-{key}-{size}"),
        last_modified: 1000,
        meta: ObjectMeta::default(),
        data: ObjectData::Inline(Bytes::from(vec![b'x'; size])),
    }
}

fn segmented(key: &str, segs: &[BlobId]) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: key.into(),
        size: 10 * segs.len() as u64,
        etag: "e".into(),
        last_modified: 1000,
        meta: ObjectMeta::default(),
        data: ObjectData::Segments(segs.iter().map(|b| Segment { blob: b.clone(), size: 10, crc64: None }).collect()),
    }
}

async fn queued(s: &dyn MetaStore) -> Vec<BlobId> {
    let mut v = s.gc_pending(i64::MAX, 10_000).await.unwrap();
    v.sort();
    v
}

pub async fn buckets(s: Arc<dyn MetaStore>) {
    assert!(s.get_bucket("b1").await.unwrap().is_none());
    s.create_bucket(bucket("b2")).await.unwrap();
    s.create_bucket(bucket("b1")).await.unwrap();
    assert!(matches!(s.create_bucket(bucket("b1")).await, Err(MetaError::BucketAlreadyExists)));
    assert_eq!(s.get_bucket("b1").await.unwrap(), Some(bucket("b1")));
    let names: Vec<_> = s
        .list_buckets(&BucketQuery { limit: 10, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["b1", "b2"]);
    s.delete_bucket("b1").await.unwrap();
    assert!(matches!(s.delete_bucket("b1").await, Err(MetaError::NoSuchBucket)));
    assert!(s.get_bucket("b1").await.unwrap().is_none());
}

pub async fn objects_roundtrip(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let mut o = inline("a/b c", b"hello");
    o.meta.content_type = Some("text/plain".into());
    o.meta.user.insert("colour".into(), "blue".into());
    s.put_object("b", o.clone(), WriteCondition::None).await.unwrap();
    assert_eq!(s.get_object("b", "a/b c").await.unwrap(), Some(o));
    let seg = segmented("big", &blobs(3));
    s.put_object("b", seg.clone(), WriteCondition::None).await.unwrap();
    assert_eq!(s.get_object("b", "big").await.unwrap(), Some(seg));
    assert!(s.delete_object("b", "a/b c").await.unwrap());
    assert!(!s.delete_object("b", "a/b c").await.unwrap());
    assert!(s.get_object("b", "a/b c").await.unwrap().is_none());
    assert!(matches!(
        s.put_object("nope", inline("k", b"x"), WriteCondition::None).await.map(drop),
        Err(MetaError::NoSuchBucket)
    ));
}

pub async fn object_acl_update(s: Arc<dyn MetaStore>) {
    use coffer_types::CannedAcl;
    s.create_bucket(bucket("b")).await.unwrap();
    let ids = blobs(2);
    let mut seg = segmented("big", &ids);
    seg.meta.content_type = Some("image/png".into());
    s.put_object("b", seg.clone(), WriteCondition::None).await.unwrap();
    s.set_object_acl("b", None, "big", Some(CannedAcl::PublicRead)).await.unwrap();
    let got = s.get_object("b", "big").await.unwrap().unwrap();
    let mut want = seg.meta.clone();
    want.acl = Some(CannedAcl::PublicRead);
    assert_eq!(got.meta, want);
    assert_eq!((got.etag, got.size, got.last_modified, got.data), (seg.etag, seg.size, seg.last_modified, seg.data));
    // The data stays referenced: nothing was queued for collection.
    assert!(s.gc_pending(i64::MAX, 100).await.unwrap().is_empty());
    assert_eq!(s.blobs_known(&ids).await.unwrap().len(), 2);
    s.set_object_acl("b", None, "big", None).await.unwrap();
    assert_eq!(s.get_object("b", "big").await.unwrap().unwrap().meta, seg.meta, "back to private");

    // An overwrite that commits between a caller's read and its ACL change
    // keeps its own headers: the ACL write takes nothing from the old version
    // (a stale copy of V1's headers on V2 served V2's bytes with V1's checksum).
    let v1 = s.get_object("b", "big").await.unwrap().unwrap();
    let mut v2 = inline("big", b"version two");
    v2.meta.content_type = Some("text/plain".into());
    v2.meta.checksum =
        Some(StoredChecksum { algorithm: "CRC32".into(), value: "v2sum".into(), kind: "FULL_OBJECT".into() });
    s.put_object("b", v2.clone(), WriteCondition::None).await.unwrap();
    assert_ne!(v1.meta, v2.meta);
    s.set_object_acl("b", None, "big", Some(CannedAcl::PublicRead)).await.unwrap();
    let got = s.get_object("b", "big").await.unwrap().unwrap();
    let mut want = v2.meta.clone();
    want.acl = Some(CannedAcl::PublicRead);
    assert_eq!((got.meta, got.etag), (want, v2.etag));

    assert!(matches!(s.set_object_acl("b", None, "missing", None).await, Err(MetaError::NoSuchKey)));
    assert!(matches!(s.set_object_acl("nope", None, "big", None).await, Err(MetaError::NoSuchBucket)));
}

/// A write stamped with the bucket it was authorized against is refused
/// once that bucket is gone, even when a bucket of the same name (another
/// project's, or the same project's made again) stands in its place.
pub async fn stamped_writes_need_the_same_bucket(s: Arc<dyn MetaStore>) {
    use coffer_types::CannedAcl;
    let old = BucketRecord { created: 10, ..bucket_in("b", "alpha") };
    s.create_bucket(old.clone()).await.unwrap();
    let stamp = old.stamp();
    s.put_object_as("b", Some(&stamp), inline("k", b"first"), WriteCondition::None).await.unwrap();
    s.set_bucket_config_as("b", Some(&stamp), "policy", Some("{}".into())).await.unwrap();
    s.set_object_acl("b", Some(&stamp), "k", Some(CannedAcl::PublicRead)).await.unwrap();
    assert!(s.delete_object("b", "k").await.unwrap());
    s.delete_bucket("b").await.unwrap();

    for new in [
        BucketRecord { created: 30, ..bucket_in("b", "alpha") },
        BucketRecord { created: 20, ..bucket_in("b", "beta") },
    ] {
        if new.project != "alpha" {
            // Another project may take the name once the hold is over.
            tokio::time::sleep(BUCKET_NAME_HOLD + std::time::Duration::from_millis(100)).await;
        }
        s.create_bucket(new.clone()).await.unwrap();
        s.put_object("b", inline("k", b"theirs"), WriteCondition::None).await.unwrap();
        let r = s.put_object_as("b", Some(&stamp), inline("k", b"stale"), WriteCondition::None).await.map(drop);
        assert!(matches!(r, Err(MetaError::NoSuchBucket)), "{r:?}");
        let r = s.put_object_as("b", Some(&stamp), inline("other", b"stale"), WriteCondition::None).await.map(drop);
        assert!(matches!(r, Err(MetaError::NoSuchBucket)), "{r:?}");
        let r = s.set_bucket_config_as("b", Some(&stamp), "policy", Some("{}".into())).await;
        assert!(matches!(r, Err(MetaError::NoSuchBucket)), "{r:?}");
        let r = s.set_object_acl("b", Some(&stamp), "k", Some(CannedAcl::PublicRead)).await;
        assert!(matches!(r, Err(MetaError::NoSuchBucket)), "{r:?}");
        // Nothing of the stale writes is there.
        let got = s.get_object("b", "k").await.unwrap().unwrap();
        assert_eq!((got.size, got.meta.acl), (6, None));
        assert!(s.get_object("b", "other").await.unwrap().is_none());
        assert_eq!(s.get_bucket_config("b", "policy").await.unwrap(), None);
        // The new bucket's own stamp works.
        s.put_object_as("b", Some(&new.stamp()), inline("k2", b"ok"), WriteCondition::None).await.unwrap();
        for k in ["k", "k2"] {
            s.delete_object("b", k).await.unwrap();
        }
        s.delete_bucket("b").await.unwrap();
    }
    let r = s.put_object_as("b", Some(&stamp), inline("k", b"stale"), WriteCondition::None).await.map(drop);
    assert!(matches!(r, Err(MetaError::NoSuchBucket)), "no bucket at all: {r:?}");
}

/// A deleted bucket's name is held for its project and region for
/// [`BUCKET_NAME_HOLD`]: others are refused (`Conflict`, nothing made)
/// until then, its owner may make it again at once, and after the hold
/// anyone may.
pub async fn deleted_bucket_names_are_held(s: Arc<dyn MetaStore>) {
    let hold = BUCKET_NAME_HOLD;
    let started = std::time::Instant::now();
    s.create_bucket(bucket_in("h", "p1")).await.unwrap();
    s.delete_bucket("h").await.unwrap();
    let other_project = bucket_in("h", "p2");
    let other_region = BucketRecord { region: "eu-west-1".into(), ..bucket_in("h", "p1") };
    for b in [&other_project, &other_region] {
        let r = s.create_bucket(b.clone()).await;
        assert!(matches!(r, Err(MetaError::Conflict)), "{b:?}: {r:?}");
        assert!(r.unwrap_err().is_retryable());
        assert_eq!(s.get_bucket("h").await.unwrap(), None, "a refused create made nothing");
    }
    // Its owner, in its region, at once (and the hold starts again).
    s.create_bucket(BucketRecord { created: 2, ..bucket_in("h", "p1") }).await.unwrap();
    s.delete_bucket("h").await.unwrap();
    let deleted = std::time::Instant::now();
    // Another name is not held.
    s.create_bucket(bucket_in("other", "p2")).await.unwrap();
    assert!(started.elapsed() < hold, "the test ran too slowly to check the hold");
    let r = s.create_bucket(other_project.clone()).await;
    assert!(matches!(r, Err(MetaError::Conflict)), "{r:?}");
    tokio::time::sleep((hold + std::time::Duration::from_millis(100)).saturating_sub(deleted.elapsed())).await;
    s.create_bucket(other_project.clone()).await.unwrap();
    assert_eq!(s.get_bucket("h").await.unwrap(), Some(other_project));
}

/// A configuration written over the value it was computed from is refused
/// once that value changed, and writes nothing.
pub async fn bucket_config_compare_and_set(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    s.set_bucket_config_if("b", None, "policy", Some(None), Some("v1".into())).await.unwrap();
    let r = s.set_bucket_config_if("b", None, "policy", Some(None), Some("again".into())).await;
    assert!(matches!(r, Err(MetaError::PreconditionFailed)), "it is set now: {r:?}");
    s.set_bucket_config("b", "policy", Some("v2".into())).await.unwrap();
    let r = s.set_bucket_config_if("b", None, "policy", Some(Some("v1")), Some("stale".into())).await;
    assert!(matches!(r, Err(MetaError::PreconditionFailed)), "{r:?}");
    assert_eq!(s.get_bucket_config("b", "policy").await.unwrap().as_deref(), Some("v2"));
    s.set_bucket_config_if("b", None, "policy", Some(Some("v2")), None).await.unwrap();
    assert_eq!(s.get_bucket_config("b", "policy").await.unwrap(), None);
    let r = s.set_bucket_config_if("nope", None, "policy", Some(None), None).await;
    assert!(matches!(r, Err(MetaError::NoSuchBucket)), "{r:?}");
}

pub async fn overwrite_queues_old_blobs(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let first = blobs(2);
    s.put_object("b", segmented("k", &first), WriteCondition::None).await.unwrap();
    assert!(queued(&*s).await.is_empty());
    let second = blobs(1);
    s.put_object("b", segmented("k", &second), WriteCondition::None).await.unwrap();
    let mut want = first.clone();
    want.sort();
    assert_eq!(queued(&*s).await, want);
    s.put_object("b", inline("k", b"tiny"), WriteCondition::None).await.unwrap();
    let mut want2 = [first, second.clone()].concat();
    want2.sort();
    assert_eq!(queued(&*s).await, want2);
    s.gc_forget(&want2).await.unwrap();
    s.put_object("b", segmented("k", &second[..0]), WriteCondition::None).await.unwrap();
    assert!(queued(&*s).await.is_empty());
    let third = blobs(1);
    s.put_object("b", segmented("k2", &third), WriteCondition::None).await.unwrap();
    s.delete_object("b", "k2").await.unwrap();
    assert_eq!(queued(&*s).await, third);
}

pub async fn listing_order_and_bounds(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    s.create_bucket(bucket("other")).await.unwrap();
    // Bytewise order: upper-case < lower-case, '/' (0x2f) < '0', and é (0xc3 0xa9) after 'z'.
    let keys = ["a", "a/1", "a/2", "a0", "B", "z", "é", "a/\u{10FFFF}x"];
    for k in keys {
        s.put_object("b", inline(k, b"x"), WriteCondition::None).await.unwrap();
    }
    s.put_object("other", inline("a/9", b"x"), WriteCondition::None).await.unwrap();
    let list = |prefix: &str, start: ListStart, limit| {
        let s = s.clone();
        let q = ListQuery { prefix: prefix.into(), delimiter: None, start, limit };
        async move { s.list_objects("b", &q).await.unwrap().iter().map(|o| o.key().to_owned()).collect::<Vec<_>>() }
    };
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(list("", ListStart::Unbounded, 100).await, sorted);
    assert_eq!(list("", ListStart::Unbounded, 2).await, sorted[..2]);
    assert_eq!(list("a/", ListStart::Unbounded, 100).await, ["a/1", "a/2", "a/\u{10FFFF}x"]);
    assert_eq!(list("a/", ListStart::After(b"a/1".to_vec()), 100).await, ["a/2", "a/\u{10FFFF}x"]);
    assert_eq!(list("", ListStart::AtOrAfter(b"a/2".to_vec()), 2).await, ["a/2", "a/\u{10FFFF}x"]);
    // A start bound that is not UTF-8: the successor of "a/" is "a0".
    assert_eq!(list("", ListStart::AtOrAfter(b"a0".to_vec()), 1).await, ["a0"]);
    assert_eq!(list("", ListStart::AtOrAfter(vec![b'a', b'/', 0xff]), 1).await, ["a0"]);
    assert_eq!(list("zz", ListStart::Unbounded, 10).await, Vec::<String>::new());
    let listed =
        s.list_objects("b", &ListQuery { prefix: "z".into(), ..Default::default() }.with_limit(5)).await.unwrap();
    let summary = listed[0].clone().into_object().unwrap();
    assert_eq!((summary.size, summary.etag.as_str(), summary.last_modified), (1, "etag-z", 1000));
}

impl ListQuery {
    /// This query with another limit (test convenience).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

pub async fn conditional_writes(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    s.put_object("b", inline("k", b"1"), WriteCondition::IfAbsent).await.unwrap();
    assert!(matches!(
        s.put_object("b", inline("k", b"2"), WriteCondition::IfAbsent).await.map(drop),
        Err(MetaError::PreconditionFailed)
    ));
    assert!(matches!(
        s.put_object("b", inline("k", b"2"), WriteCondition::IfETag("nope".into())).await.map(drop),
        Err(MetaError::PreconditionFailed)
    ));
    s.put_object("b", inline("k", b"3"), WriteCondition::IfETag("etag-k".into())).await.unwrap();
    assert_eq!(s.get_object("b", "k").await.unwrap().unwrap().data, ObjectData::Inline(Bytes::from_static(b"3")));
    assert!(matches!(
        s.put_object("b", inline("new", b"2"), WriteCondition::IfETag("etag-new".into())).await.map(drop),
        Err(MetaError::NoSuchKey)
    ));
    assert!(matches!(
        s.put_object("b", inline("new", b"2"), WriteCondition::IfPresent).await.map(drop),
        Err(MetaError::NoSuchKey)
    ));
    s.put_object("b", inline("k", b"4"), WriteCondition::IfPresent).await.unwrap();
    assert!(matches!(
        s.put_object("b", inline("k", b"5"), WriteCondition::IfNotETag("etag-k".into())).await.map(drop),
        Err(MetaError::PreconditionFailed)
    ));
    s.put_object("b", inline("k", b"5"), WriteCondition::IfNotETag("other".into())).await.unwrap();
    s.put_object("b", inline("new", b"6"), WriteCondition::IfNotETag("etag-new".into())).await.unwrap();
}

pub async fn concurrent_conditional_creates(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut o = inline("race", b"x");
            o.etag = format!("w{i}");
            s.put_object("b", o, WriteCondition::IfAbsent).await.is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += t.await.unwrap() as usize;
    }
    assert_eq!(wins, 1, "exactly one conditional creator must win");
}

pub async fn multipart_lifecycle(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let up = |id: &str, key: &str| UploadRecord {
        upload_id: id.into(),
        key: key.into(),
        initiated: 5,
        meta: ObjectMeta { content_type: Some("x/y".into()), ..Default::default() },
    };
    for (id, key) in [("u2", "k"), ("u1", "k"), ("u3", "a")] {
        s.create_upload("b", up(id, key)).await.unwrap();
    }
    assert_eq!(s.get_upload("b", "u1").await.unwrap(), Some(up("u1", "k")));
    let ids = |v: Vec<UploadRecord>| v.into_iter().map(|u| u.upload_id).collect::<Vec<_>>();
    let all = UploadListQuery { limit: 100, ..Default::default() };
    assert_eq!(ids(s.list_uploads("b", &all).await.unwrap()), ["u3", "u1", "u2"]);
    let after = UploadListQuery {
        key_marker: Some("k".into()),
        upload_id_marker: Some("u1".into()),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(ids(s.list_uploads("b", &after).await.unwrap()), ["u2"]);
    let pfx = UploadListQuery { prefix: "a".into(), limit: 100, ..Default::default() };
    assert_eq!(ids(s.list_uploads("b", &pfx).await.unwrap()), ["u3"]);

    let b = blobs(4);
    let part = |n: u32, blob: &BlobId| PartRecord {
        part_number: n,
        size: 10,
        etag: format!("p{n}"),
        last_modified: 7,
        blob: blob.clone(),
        crc64: None,
        checksum: (n == 1).then(|| StoredChecksum {
            algorithm: "CRC32".into(),
            value: "AAAAAA==".into(),
            kind: "FULL_OBJECT".into(),
        }),
    };
    s.put_part("b", "u1", part(2, &b[0])).await.unwrap();
    s.put_part("b", "u1", part(1, &b[1])).await.unwrap();
    s.put_part("b", "u1", part(2, &b[2])).await.unwrap(); // replaces b[0]
    s.put_part("b", "u1", part(3, &b[3])).await.unwrap();
    assert_eq!(queued(&*s).await, vec![b[0].clone()]);
    let parts = s.list_parts("b", "u1", 0, 100).await.unwrap();
    assert_eq!(parts.iter().map(|p| p.part_number).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(parts[1].blob, b[2]);
    assert_eq!(parts[0], part(1, &b[1]), "part 1 with its checksum round-trips");
    assert_eq!(parts[1].checksum, None);
    assert_eq!(s.list_parts("b", "u1", 1, 1).await.unwrap()[0].part_number, 2);
    assert!(matches!(s.put_part("b", "nope", part(1, &b[0])).await, Err(MetaError::NoSuchUpload)));

    // Complete with parts 1 and 2: part 3's blob is queued, the upload is gone.
    s.gc_forget(&[b[0].clone()]).await.unwrap();
    let obj = segmented("k", &[b[1].clone(), b[2].clone()]);
    s.complete_upload("b", "u1", obj.clone(), WriteCondition::None).await.unwrap();
    assert_eq!(s.get_object("b", "k").await.unwrap(), Some(obj));
    assert_eq!(queued(&*s).await, vec![b[3].clone()]);
    assert!(s.get_upload("b", "u1").await.unwrap().is_none());
    assert!(matches!(
        s.complete_upload("b", "u1", segmented("k", &[]), WriteCondition::None).await.map(drop),
        Err(MetaError::NoSuchUpload)
    ));
    let known = s.blobs_known(&b).await.unwrap();
    assert!(known.contains(&b[1]) && known.contains(&b[2]) && known.contains(&b[3]));
    assert!(!known.contains(&b[0]));

    // Abort queues the parts.
    let c = blobs(1);
    s.put_part("b", "u2", part(1, &c[0])).await.unwrap();
    s.abort_upload("b", "u2").await.unwrap();
    assert!(queued(&*s).await.contains(&c[0]));
    assert!(matches!(s.abort_upload("b", "u2").await, Err(MetaError::NoSuchUpload)));
}

pub async fn delete_bucket_rules(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    s.put_object("b", inline("k", b"x"), WriteCondition::None).await.unwrap();
    assert!(matches!(s.delete_bucket("b").await, Err(MetaError::BucketNotEmpty)));
    s.delete_object("b", "k").await.unwrap();
    let up = UploadRecord { upload_id: "u".into(), key: "k".into(), initiated: 1, meta: ObjectMeta::default() };
    s.create_upload("b", up).await.unwrap();
    let b = blobs(1);
    let part = PartRecord {
        part_number: 1,
        size: 1,
        etag: "e".into(),
        last_modified: 1,
        blob: b[0].clone(),
        crc64: None,
        checksum: None,
    };
    s.put_part("b", "u", part).await.unwrap();
    s.delete_bucket("b").await.unwrap();
    assert_eq!(queued(&*s).await, b);
    // A recreated bucket starts empty.
    s.create_bucket(bucket("b")).await.unwrap();
    assert!(s.list_uploads("b", &UploadListQuery { limit: 10, ..Default::default() }).await.unwrap().is_empty());
}

pub async fn gc_queue_and_orphans(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let b = blobs(3);
    s.put_object("b", segmented("k", &b[..1]), WriteCondition::None).await.unwrap();
    s.delete_object("b", "k").await.unwrap();
    // Queued before "now" is pending; a cut-off in the past excludes it.
    assert_eq!(s.gc_pending(0, 10).await.unwrap(), Vec::<BlobId>::new());
    assert_eq!(queued(&*s).await, b[..1]);
    let known = s.blobs_known(&b).await.unwrap();
    assert!(known.contains(&b[0]), "queued blobs are still known");
    assert!(!known.contains(&b[1]) && !known.contains(&b[2]));
    s.gc_forget(&b[..1]).await.unwrap();
    assert!(queued(&*s).await.is_empty());
    assert!(s.blobs_known(&b).await.unwrap().is_empty());
}

/// Claims hand each queued blob to one collector until the claim runs out;
/// `gc_pending` still sees claimed blobs, `gc_forget` ends them.
pub async fn gc_claims(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let b = blobs(3);
    for (i, blob) in b.iter().enumerate() {
        s.put_object("b", segmented(&format!("k{i}"), std::slice::from_ref(blob)), WriteCondition::None).await.unwrap();
        s.delete_object("b", &format!("k{i}")).await.unwrap();
    }
    let mut first = s.gc_claim(i64::MAX, 2, 1000, 5000).await.unwrap();
    assert_eq!(first.len(), 2);
    let second = s.gc_claim(i64::MAX, 10, 2000, 6000).await.unwrap();
    assert_eq!(second.len(), 1, "claimed blobs are not handed out again");
    assert!(!first.contains(&second[0]));
    assert!(s.gc_claim(i64::MAX, 10, 4999, 9000).await.unwrap().is_empty(), "every claim still holds");
    assert_eq!(queued(&*s).await.len(), 3, "gc_pending ignores claims");
    // The first collector died: its claim runs out at 5000.
    let mut again = s.gc_claim(i64::MAX, 10, 5000, 9000).await.unwrap();
    again.sort();
    first.sort();
    assert_eq!(again, first);
    s.gc_forget(&again).await.unwrap();
    assert!(s.gc_claim(i64::MAX, 10, 100_000, 200_000).await.unwrap() == second, "only the unforgotten blob");
    // A cut-off before the queue time hands out nothing.
    assert!(s.gc_claim(0, 10, 300_000, 400_000).await.unwrap().is_empty());
}

/// One holder at a time; renewal by the holder; a run-out or released
/// lease passes to another; releasing someone else's lease does nothing.
pub async fn leases(s: Arc<dyn MetaStore>) {
    assert!(s.acquire_lease("sweep", "gw-a", 1_000, 5_000).await.unwrap(), "a free lease is taken");
    assert!(!s.acquire_lease("sweep", "gw-b", 4_999, 9_000).await.unwrap(), "held until 5000");
    assert!(s.acquire_lease("other", "gw-b", 4_999, 9_000).await.unwrap(), "names are independent");
    assert!(s.acquire_lease("sweep", "gw-a", 4_000, 8_000).await.unwrap(), "the holder renews");
    assert!(!s.acquire_lease("sweep", "gw-b", 7_999, 9_000).await.unwrap(), "the renewal holds");
    s.release_lease("sweep", "gw-b").await.unwrap();
    assert!(!s.acquire_lease("sweep", "gw-b", 7_999, 9_000).await.unwrap(), "only the holder releases");
    assert!(s.acquire_lease("sweep", "gw-b", 8_000, 12_000).await.unwrap(), "a run-out lease passes on");
    assert!(!s.acquire_lease("sweep", "gw-a", 8_001, 12_000).await.unwrap());
    s.release_lease("sweep", "gw-b").await.unwrap();
    assert!(s.acquire_lease("sweep", "gw-a", 8_002, 12_000).await.unwrap(), "a released lease is free");
}

pub async fn ping(s: Arc<dyn MetaStore>) {
    s.ping().await.unwrap();
}

pub async fn bucket_configs(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    assert_eq!(s.get_bucket_config("b", "cors").await.unwrap(), None);
    s.set_bucket_config("b", "cors", Some("<CORSConfiguration/>".into())).await.unwrap();
    s.set_bucket_config("b", "policy", Some("{}".into())).await.unwrap();
    assert_eq!(s.get_bucket_config("b", "cors").await.unwrap().as_deref(), Some("<CORSConfiguration/>"));
    s.set_bucket_config("b", "cors", Some("v2".into())).await.unwrap();
    assert_eq!(s.get_bucket_config("b", "cors").await.unwrap().as_deref(), Some("v2"));
    s.set_bucket_config("b", "cors", None).await.unwrap();
    assert_eq!(s.get_bucket_config("b", "cors").await.unwrap(), None);
    assert_eq!(s.get_bucket_config("b", "policy").await.unwrap().as_deref(), Some("{}"));
    assert!(matches!(s.get_bucket_config("nope", "cors").await, Err(MetaError::NoSuchBucket)));
    assert!(matches!(s.set_bucket_config("nope", "cors", None).await, Err(MetaError::NoSuchBucket)));
    // A deleted and recreated bucket starts without configuration.
    s.delete_bucket("b").await.unwrap();
    s.create_bucket(bucket("b")).await.unwrap();
    assert_eq!(s.get_bucket_config("b", "policy").await.unwrap(), None);
}
