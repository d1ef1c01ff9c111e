//! Conformance cases for versions: a bucket's versioning state, versioned
//! writes and deletes, delete markers, the null version, version listings,
//! locked versions, and concurrent writers of one key.

use super::{blobs, bucket, inline, queued, segmented};
use crate::*;
use coffer_types::{new_version_id, LockMode, Retention, Versioning};
use std::sync::Arc;

fn with_id(mut o: ObjectRecord, id: &str) -> ObjectRecord {
    o.version_id = Some(id.to_owned());
    o
}

async fn enable(s: &dyn MetaStore, b: &str) {
    s.set_versioning(b, None, VersioningChange::Set(Versioning::Enabled)).await.unwrap();
}

/// (key, id or "null", marker?, latest?) of every version in `b`.
async fn versions(s: &dyn MetaStore, b: &str) -> Vec<(String, String, bool, bool)> {
    let q = VersionListQuery { limit: 1000, ..Default::default() };
    s.list_versions(b, &q)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            VersionEntry::Version(v) => {
                Some((v.key, v.version_id.unwrap_or_else(|| "null".into()), v.delete_marker, v.latest))
            }
            VersionEntry::CommonPrefix(_) => None,
        })
        .collect()
}

fn v(key: &str, id: &str, marker: bool, latest: bool) -> (String, String, bool, bool) {
    (key.into(), id.into(), marker, latest)
}

fn id_of(w: Written) -> String {
    w.expect("a versioned write").expect("an id, not null")
}

/// The state moves between enabled and suspended, never back to
/// unversioned; object lock needs versioning enabled and keeps it so.
pub async fn versioning_states(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    assert_eq!(s.get_bucket("b").await.unwrap().unwrap().versioning, Versioning::Unversioned);
    let lock = VersioningChange::EnableObjectLock;
    assert!(matches!(s.set_versioning("b", None, lock).await, Err(MetaError::InvalidBucketState(_))));
    enable(&*s, "b").await;
    let set = |v| VersioningChange::Set(v);
    s.set_versioning("b", None, set(Versioning::Suspended)).await.unwrap();
    assert_eq!(s.get_bucket("b").await.unwrap().unwrap().versioning, Versioning::Suspended);
    let back = s.set_versioning("b", None, set(Versioning::Unversioned)).await;
    assert!(matches!(back, Err(MetaError::InvalidBucketState(_))), "{back:?}");
    enable(&*s, "b").await;
    s.set_versioning("b", None, lock).await.unwrap();
    let b = s.get_bucket("b").await.unwrap().unwrap();
    assert!(b.object_lock && b.versioning == Versioning::Enabled);
    let suspend = s.set_versioning("b", None, set(Versioning::Suspended)).await;
    assert!(matches!(suspend, Err(MetaError::InvalidBucketState(_))), "{suspend:?}");
    // A bucket made with object lock on is enabled from its first write.
    let made = BucketRecord { versioning: Versioning::Enabled, object_lock: true, ..bucket("locked") };
    s.create_bucket(made.clone()).await.unwrap();
    assert_eq!(s.get_bucket("locked").await.unwrap().unwrap(), made);
    let other = BucketStamp { project: "p".into(), created: 5 };
    let stamped = s.set_versioning("b", Some(&other), set(Versioning::Enabled)).await;
    assert!(matches!(stamped, Err(MetaError::NoSuchBucket)));
    let missing = s.set_versioning("nope", None, set(Versioning::Enabled)).await;
    assert!(matches!(missing, Err(MetaError::NoSuchBucket)));
}

/// With versioning enabled every write keeps the one before; each version
/// is read back by its id with its own data; listings of objects show the
/// current one only; every version counts in the totals.
pub async fn versioned_writes_keep_versions(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    // Written before versioning: the null version.
    assert_eq!(s.put_object("b", inline("k", b"zero"), WriteCondition::None).await.unwrap(), None);
    enable(&*s, "b").await;
    let ids = blobs(2);
    let one = id_of(
        s.put_object("b", with_id(segmented("k", &ids[..1]), &new_version_id()), WriteCondition::None).await.unwrap(),
    );
    let two = id_of(
        s.put_object("b", with_id(segmented("k", &ids[1..]), &new_version_id()), WriteCondition::None).await.unwrap(),
    );
    assert_ne!(one, two);
    let cur = s.get_object("b", "k").await.unwrap().unwrap();
    assert_eq!((cur.version_id.as_deref(), &cur.data), (Some(two.as_str()), &segmented("k", &ids[1..]).data));
    let old = s.get_version("b", "k", &VersionSel::Id(Some(one.clone()))).await.unwrap().unwrap();
    assert_eq!(old.object.data, segmented("k", &ids[..1]).data);
    assert!(!old.latest && !old.delete_marker);
    let null = s.get_version("b", "k", &VersionSel::Id(None)).await.unwrap().unwrap();
    assert_eq!((null.object.version_id, null.object.data), (None, inline("k", b"zero").data));
    assert!(s.get_version("b", "k", &VersionSel::Id(Some(new_version_id()))).await.unwrap().is_none());
    assert_eq!(
        versions(&*s, "b").await,
        [v("k", &two, false, true), v("k", &one, false, false), v("k", "null", false, false)]
    );
    let listed = s.list_objects("b", &ListQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(s.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 24, objects: 3 });
    assert!(queued(&*s).await.is_empty(), "no version's blobs are dropped");
    // Conditions are checked against the current version.
    let cond = WriteCondition::IfETag("e".into());
    s.put_object("b", with_id(inline("k", b"x"), &new_version_id()), cond).await.unwrap();
    assert!(matches!(
        s.put_object("b", with_id(inline("k", b"x"), &new_version_id()), WriteCondition::IfAbsent).await,
        Err(MetaError::PreconditionFailed)
    ));
    assert_eq!(versions(&*s, "b").await.len(), 4);
}

/// A delete without a version id puts a delete marker on top; removing the
/// marker (or the current version) by id brings the next one back; removed
/// versions' blobs are queued; a bucket with any version left is not empty.
pub async fn delete_markers_and_version_deletes(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    enable(&*s, "b").await;
    let ids = blobs(2);
    let one = id_of(
        s.put_object("b", with_id(segmented("k", &ids[..1]), &new_version_id()), WriteCondition::None).await.unwrap(),
    );
    let two = id_of(
        s.put_object("b", with_id(segmented("k", &ids[1..]), &new_version_id()), WriteCondition::None).await.unwrap(),
    );
    let m = new_version_id();
    let d = s
        .delete_version("b", None, "k", &DeleteTarget::Current { marker: m.clone() }, LockCheck::default())
        .await
        .unwrap();
    assert_eq!(d, Deleted { found: true, version_id: Some(Some(m.clone())), delete_marker: true });
    assert!(s.get_object("b", "k").await.unwrap().is_none());
    let top = s.get_version("b", "k", &VersionSel::Latest).await.unwrap().unwrap();
    assert!(top.delete_marker && top.latest && top.object.version_id.as_deref() == Some(m.as_str()));
    assert!(s.list_objects("b", &ListQuery { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    assert_eq!(s.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 20, objects: 2 });
    assert!(matches!(s.delete_bucket("b").await, Err(MetaError::BucketNotEmpty)));
    // Removing the marker brings `two` back.
    let d =
        s.delete_version("b", None, "k", &DeleteTarget::Version(Some(m.clone())), LockCheck::default()).await.unwrap();
    assert!(d.found && d.delete_marker);
    assert_eq!(s.get_object("b", "k").await.unwrap().unwrap().version_id, Some(two.clone()));
    // Removing the current version brings `one` back, and queues `two`'s blob.
    let d = s
        .delete_version("b", None, "k", &DeleteTarget::Version(Some(two.clone())), LockCheck::default())
        .await
        .unwrap();
    assert!(d.found && !d.delete_marker);
    assert_eq!(s.get_object("b", "k").await.unwrap().unwrap().version_id, Some(one.clone()));
    assert_eq!(queued(&*s).await, ids[1..]);
    assert!(s.blobs_known(&ids[..1]).await.unwrap().contains(&ids[0]));
    let gone = s.delete_version("b", None, "k", &DeleteTarget::Version(Some(two)), LockCheck::default()).await.unwrap();
    assert!(!gone.found, "a version already removed is not found");
    // A marker over an older version keeps the older one known (its blobs).
    s.delete_object("b", "k").await.unwrap();
    assert!(s.blobs_known(&ids[..1]).await.unwrap().contains(&ids[0]));
    for e in versions(&*s, "b").await {
        let id = Some(e.1.clone()).filter(|i| i != "null");
        s.delete_version("b", None, "k", &DeleteTarget::Version(id), LockCheck::default()).await.unwrap();
    }
    assert_eq!(s.bucket_totals("b").await.unwrap(), StoredTotals::default());
    s.delete_bucket("b").await.unwrap();
}

/// Suspended, a write is the null version: it replaces the null version
/// (wherever it stands) and keeps every other one; a delete makes a null
/// delete marker.
pub async fn suspended_writes_replace_the_null_version(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let ids = blobs(3);
    s.put_object("b", segmented("k", &ids[..1]), WriteCondition::None).await.unwrap();
    enable(&*s, "b").await;
    let one = id_of(
        s.put_object("b", with_id(segmented("k", &ids[1..2]), &new_version_id()), WriteCondition::None).await.unwrap(),
    );
    s.set_versioning("b", None, VersioningChange::Set(Versioning::Suspended)).await.unwrap();
    let w =
        s.put_object("b", with_id(segmented("k", &ids[2..]), &new_version_id()), WriteCondition::None).await.unwrap();
    assert_eq!(w, Some(None), "suspended: the write is the null version");
    assert_eq!(queued(&*s).await, ids[..1], "the old null version is dropped");
    assert_eq!(versions(&*s, "b").await, [v("k", "null", false, true), v("k", &one, false, false)]);
    s.put_object("b", with_id(inline("k", b"again"), &new_version_id()), WriteCondition::None).await.unwrap();
    assert_eq!(versions(&*s, "b").await.len(), 2, "a current null version is replaced in place");
    let d = s.delete_object("b", "k").await.unwrap();
    assert!(d);
    assert_eq!(versions(&*s, "b").await, [v("k", "null", true, true), v("k", &one, false, false)]);
    assert_eq!(s.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 10, objects: 1 });
    // An unversioned bucket has the null version only.
    s.create_bucket(bucket("u")).await.unwrap();
    s.put_object("u", inline("k", b"x"), WriteCondition::None).await.unwrap();
    let other = DeleteTarget::Version(Some(new_version_id()));
    assert!(!s.delete_version("u", None, "k", &other, LockCheck::default()).await.unwrap().found);
    let null = s.delete_version("u", None, "k", &DeleteTarget::Version(None), LockCheck::default()).await.unwrap();
    assert_eq!(null, Deleted { found: true, version_id: None, delete_marker: false });
    assert!(s.get_object("u", "k").await.unwrap().is_none());
}

/// Version listings: key order, newest first, `IsLatest`, markers, paging
/// by key and version markers, delimiters; a version marker that is gone
/// resumes at its key.
pub async fn version_listings(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    enable(&*s, "b").await;
    let mut all = Vec::new();
    for key in ["a", "d/1", "d/2", "z"] {
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(id_of(
                s.put_object("b", with_id(inline(key, b"v"), &new_version_id()), WriteCondition::None).await.unwrap(),
            ));
        }
        all.extend(ids.iter().rev().enumerate().map(|(i, id)| v(key, id, false, i == 0)));
    }
    assert_eq!(versions(&*s, "b").await, all);
    // Page by 2 with the markers of each page's last version.
    let mut got = Vec::new();
    let mut q = VersionListQuery { limit: 2, ..Default::default() };
    loop {
        let page = s.list_versions("b", &q).await.unwrap();
        for e in &page {
            if let VersionEntry::Version(x) = e {
                got.push(v(&x.key, x.version_id.as_deref().unwrap(), x.delete_marker, x.latest));
                q.key_marker = x.key.clone();
                q.version_marker = Some(x.version_id.clone());
            }
        }
        if page.len() < 2 {
            break;
        }
    }
    assert_eq!(got, all);
    let folders = VersionListQuery { delimiter: Some("/".into()), limit: 100, ..Default::default() };
    let entries = s.list_versions("b", &folders).await.unwrap();
    assert_eq!(entries.len(), 7);
    assert_eq!(entries[3], VersionEntry::CommonPrefix("d/".into()));
    let under = VersionListQuery { prefix: "d/".into(), key_marker: "d/1".into(), limit: 100, ..Default::default() };
    assert_eq!(s.list_versions("b", &under).await.unwrap().len(), 3, "a key marker alone skips that key");
    let bad = VersionListQuery {
        key_marker: "a".into(),
        version_marker: Some(Some(new_version_id())),
        limit: 5,
        ..Default::default()
    };
    let resumed = s.list_versions("b", &bad).await.unwrap();
    assert_eq!(resumed.len(), 5, "a marker version that is gone resumes at its key: {resumed:?}");
    assert!(matches!(&resumed[0], VersionEntry::Version(v) if v.key == "a" && v.latest));
    assert!(matches!(s.list_versions("nope", &folders).await, Err(MetaError::NoSuchBucket)));
}

/// A locked version is not removed: retention in COMPLIANCE by no one,
/// GOVERNANCE only with the bypass, a legal hold by no one until lifted. A
/// delete marker on top is no removal and is allowed. Retention moves as
/// its mode allows; a marker's headers cannot be edited.
pub async fn locked_versions(s: Arc<dyn MetaStore>) {
    s.create_bucket(BucketRecord { versioning: Versioning::Enabled, object_lock: true, ..bucket("b") }).await.unwrap();
    let now = coffer_types::now_millis();
    let locked = |mode| {
        let mut o = with_id(segmented("k", &blobs(1)), &new_version_id());
        o.meta.retention = Some(Retention { mode, until: now + 3_600_000 });
        o
    };
    let c = id_of(s.put_object("b", locked(LockMode::Compliance), WriteCondition::None).await.unwrap());
    let g = id_of(s.put_object("b", locked(LockMode::Governance), WriteCondition::None).await.unwrap());
    let by = |id: &String| DeleteTarget::Version(Some(id.clone()));
    let check = |bypass_governance| LockCheck { now, bypass_governance };
    for bypass in [false, true] {
        let r = s.delete_version("b", None, "k", &by(&c), check(bypass)).await;
        assert!(matches!(r, Err(MetaError::ObjectLocked(_))), "{r:?}");
    }
    let r = s.delete_version("b", None, "k", &by(&g), check(false)).await;
    assert!(matches!(r, Err(MetaError::ObjectLocked(_))), "{r:?}");
    assert_eq!(versions(&*s, "b").await.len(), 2, "nothing changed");
    // Retention is kept or extended in COMPLIANCE, never shortened.
    let shorter = MetaEdit::Retention {
        retention: Some(Retention { mode: LockMode::Compliance, until: now + 1000 }),
        bypass_governance: true,
        now,
    };
    let r = s.edit_object_meta("b", None, "k", &VersionSel::Id(Some(c.clone())), shorter).await;
    assert!(matches!(r, Err(MetaError::ObjectLocked(_))), "{r:?}");
    let hold = MetaEdit::LegalHold(true);
    s.edit_object_meta("b", None, "k", &VersionSel::Id(Some(g.clone())), hold).await.unwrap();
    let r = s.delete_version("b", None, "k", &by(&g), check(true)).await;
    assert!(matches!(r, Err(MetaError::ObjectLocked(_))), "a legal hold holds against the bypass: {r:?}");
    s.edit_object_meta("b", None, "k", &VersionSel::Id(Some(g.clone())), MetaEdit::LegalHold(false)).await.unwrap();
    // A marker on top is allowed; its headers are not editable.
    let m = s
        .delete_version("b", None, "k", &DeleteTarget::Current { marker: new_version_id() }, check(false))
        .await
        .unwrap();
    let marker = VersionSel::Id(m.version_id.clone().unwrap());
    let r = s.edit_object_meta("b", None, "k", &marker, MetaEdit::LegalHold(true)).await;
    assert!(matches!(r, Err(MetaError::NoSuchKey)), "{r:?}");
    let r =
        s.edit_object_meta("b", None, "k", &VersionSel::Id(Some(new_version_id())), MetaEdit::LegalHold(true)).await;
    assert!(matches!(r, Err(MetaError::NoSuchVersion)), "{r:?}");
    // With the bypass the GOVERNANCE version goes; past its date, the other.
    s.delete_version("b", None, "k", &by(&g), check(true)).await.unwrap();
    let later = LockCheck { now: now + 3_600_001, bypass_governance: false };
    s.delete_version("b", None, "k", &by(&c), later).await.unwrap();
    assert_eq!(versions(&*s, "b").await.len(), 1, "the marker is left");
}

/// Tags and ACLs on an older version change that version only.
pub async fn version_meta_edits(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    enable(&*s, "b").await;
    let one =
        id_of(s.put_object("b", with_id(inline("k", b"1"), &new_version_id()), WriteCondition::None).await.unwrap());
    s.put_object("b", with_id(inline("k", b"2"), &new_version_id()), WriteCondition::None).await.unwrap();
    let tags = coffer_types::TagSet::from_pairs([("a".to_string(), "b".to_string())], 10).unwrap();
    let which = VersionSel::Id(Some(one.clone()));
    s.edit_object_meta("b", None, "k", &which, MetaEdit::Tags(tags.clone())).await.unwrap();
    assert_eq!(s.get_version("b", "k", &which).await.unwrap().unwrap().object.meta.tags, tags);
    assert!(s.get_object("b", "k").await.unwrap().unwrap().meta.tags.is_empty());
}

/// A completed upload in a versioned bucket is a new version; its parts
/// leave the totals as the version arrives.
pub async fn versioned_multipart(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    enable(&*s, "b").await;
    s.put_object("b", with_id(inline("k", b"first"), &new_version_id()), WriteCondition::None).await.unwrap();
    let up = UploadRecord { upload_id: "u1".into(), key: "k".into(), initiated: 1, meta: ObjectMeta::default() };
    s.create_upload("b", up).await.unwrap();
    let ids = blobs(1);
    let part = PartRecord {
        part_number: 1,
        size: 10,
        etag: "p".into(),
        last_modified: 1,
        blob: ids[0].clone(),
        crc64: None,
        checksum: None,
    };
    s.put_part("b", "u1", part).await.unwrap();
    let w = s.complete_upload("b", "u1", with_id(segmented("k", &ids), &new_version_id()), WriteCondition::None).await;
    id_of(w.unwrap());
    assert_eq!(versions(&*s, "b").await.len(), 2);
    assert_eq!(s.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 15, objects: 2 });
}

/// Writers racing on one key of a versioned bucket: every write is kept as
/// a version, exactly one is current (the newest), and deletes racing them
/// only add markers.
pub async fn concurrent_versioned_writes(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    enable(&*s, "b").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let s = s.clone();
        tasks.spawn(async move {
            if i % 4 == 3 {
                s.delete_object("b", "k").await.map(|_| ())
            } else {
                s.put_object("b", with_id(inline("k", b"v"), &new_version_id()), WriteCondition::None).await.map(drop)
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let all = versions(&*s, "b").await;
    assert_eq!(all.len(), 24, "{all:?}");
    assert_eq!(all.iter().filter(|x| x.2).count(), 6);
    assert_eq!(all.iter().filter(|x| x.3).count(), 1, "one latest");
    assert!(all[0].3, "the latest is listed first");
    let cur = s.get_object("b", "k").await.unwrap();
    assert_eq!(cur.is_some(), !all[0].2, "current unless a marker is on top");
    assert_eq!(s.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 18, objects: 18 });
}
