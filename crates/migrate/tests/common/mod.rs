//! A SQLite store filled through the traits with every kind of record, and
//! a snapshot of everything a store holds, read back through the traits.

#![allow(dead_code)]

use bytes::Bytes;
use coffer_meta::*;
use coffer_types::{new_version_id, BlobId, CannedAcl, LockMode, Retention, Versioning};
use std::collections::{BTreeMap, BTreeSet};

pub const PROJECTS: &[&str] = &[OPERATOR_PROJECT, "acme", "beta"];
pub const BUCKETS: &[&str] = &["photos", "logs", "empty", "versioned", "locked"];
pub const CONFIGS: &[&str] = &["acl", "policy", "cors"];
pub const SCOPES: &[&str] = &["addr:192.0.2.7", "acct:192.0.2.7/acme/alice", "addr:2001:db8::/64"];
pub const PRINCIPALS: &[&str] = &["user:acme/AIDAALICE0000000000", "operator:AKOPERATOR"];
/// Background jobs whose shared state is read back (the second's is deleted).
pub const JOBS: &[&str] = &["scrub", "finished"];
pub const T0: i64 = 1_700_000_000_123;

fn checksum(algorithm: &str, value: &str, kind: &str) -> StoredChecksum {
    StoredChecksum { algorithm: algorithm.into(), value: value.into(), kind: kind.into() }
}

fn full_meta() -> ObjectMeta {
    ObjectMeta {
        content_type: Some("image/png".into()),
        content_encoding: Some("gzip".into()),
        content_disposition: Some("attachment; filename=\"ü.png\"".into()),
        content_language: Some("de-CH".into()),
        cache_control: Some("max-age=60".into()),
        expires: Some("Wed, 21 Oct 2037 07:28:00 GMT".into()),
        user: BTreeMap::from([("colour".into(), "blau".into()), ("x".into(), "".into())]),
        checksum: Some(checksum("CRC64NVME", "AAAAAAAAAAA=", "FULL_OBJECT")),
        part_checksums: vec!["AAAAAAAAAAA=".into(), "AAAAAAAAAAE=".into()],
        acl: Some(CannedAcl::PublicRead),
        owner: Some("writer-project".into()),
        tags: coffer_types::TagSet::parse_header("project=blue%20sky&é=").unwrap(),
        retention: None,
        legal_hold: false,
    }
}

/// A CRC-64/NVME for a blob of `size` bytes, all 64 bits in use; none for
/// 777 bytes (a blob written before the stores kept checksums).
pub fn crc_of(size: u64) -> Option<u64> {
    if size == 777 {
        None
    } else {
        Some(size.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1 << 63)
    }
}

/// Every byte value, so inline data is compared exactly.
pub fn all_bytes(n: usize) -> Bytes {
    (0..n).map(|i| (i * 7 % 256) as u8).collect::<Vec<u8>>().into()
}

/// Fills `s` with projects, users (policies, paths, password hashes), keys
/// (operator's, sealed, inactive, expiring, used), quotas, buckets with every
/// configuration, inline and segmented objects (odd keys, every header),
/// a multipart upload with parts, queued (one claimed) garbage, versioned
/// buckets (older versions, delete markers, null versions, locked
/// versions; [`fill_versions`]), usage, sign-in failures, session
/// generations, a lease and a background job's state.
pub async fn fill<S: MetaStore + IdentityStore>(s: &S) {
    for (i, p) in ["acme", "beta", "gone"].iter().enumerate() {
        s.create_project(ProjectRecord { name: (*p).into(), created: T0 + i as i64 }).await.unwrap();
    }
    // A deleted project's name stays taken.
    s.delete_project("gone").await.unwrap();
    let mut alice = UserRecord {
        project: "acme".into(),
        name: "alice".into(),
        id: "AIDAALICE0000000000".into(),
        path: "/eng/".into(),
        root: false,
        created: T0 + 10,
        inline_policies: BTreeMap::from([(
            "read".into(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
                .into(),
        )]),
        attached: BTreeSet::from(["read-only".into(), "full-access".into()]),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into()),
    };
    s.create_user(alice.clone()).await.unwrap();
    alice.name = "root".into();
    alice.id = "AIDAROOT00000000000".into();
    alice.root = true;
    alice.path = "/".into();
    alice.inline_policies.clear();
    alice.attached.clear();
    alice.password_hash = None;
    s.create_user(alice).await.unwrap();
    let key = |access_key: &str, project: &str, user: &str, region: &str| AccessKeyRecord {
        access_key: access_key.into(),
        sealed_secret: format!("v1:{}", BlobId::random().as_str()),
        project: project.into(),
        user: user.into(),
        region: region.into(),
        status: KeyStatus::Active,
        created: T0 + 20,
        expires: None,
        last_used: None,
    };
    s.create_access_key(key("AKOPERATOR", OPERATOR_PROJECT, "operator", "")).await.unwrap();
    s.create_access_key(key("AKALICE", "acme", "alice", "us-east-1")).await.unwrap();
    let mut expiring = key("AKEXPIRING", "acme", "root", "eu-west-1");
    expiring.expires = Some(T0 + 86_400_000);
    s.create_access_key(expiring).await.unwrap();
    s.set_access_key_status("AKALICE", KeyStatus::Inactive).await.unwrap();
    s.touch_access_key("AKOPERATOR", T0 + 30).await.unwrap();

    s.set_quota(&QuotaScope::Project("acme".into()), Quota { max_bytes: Some(1 << 40), max_objects: None })
        .await
        .unwrap();

    for (i, (name, project, region)) in
        [("photos", "acme", "us-east-1"), ("logs", "beta", "eu-west-1"), ("empty", "acme", "us-east-1")]
            .iter()
            .enumerate()
    {
        let b = BucketRecord {
            name: (*name).into(),
            region: (*region).into(),
            project: (*project).into(),
            created: T0 + 100 + i as i64,
            ..Default::default()
        };
        s.create_bucket(b).await.unwrap();
    }
    s.set_quota(&QuotaScope::Bucket("photos".into()), Quota { max_bytes: None, max_objects: Some(1000) })
        .await
        .unwrap();
    s.set_bucket_config("photos", "acl", Some("public-read".into())).await.unwrap();
    s.set_project_config(PROJECTS[1], "publicAccessBlock", Some("BlockPublicAcls,IgnorePublicAcls".into()))
        .await
        .unwrap();
    s.set_bucket_config("photos", "policy", Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into())).await.unwrap();
    s.set_bucket_config("photos", "cors", Some("<CORSConfiguration><CORSRule/></CORSConfiguration>".into()))
        .await
        .unwrap();

    let object = |key: &str, data: ObjectData, size: u64| ObjectRecord {
        version_id: None,
        key: key.into(),
        size,
        etag: format!("\"{}\"", &BlobId::random().as_str()[..32]),
        last_modified: T0 + 200,
        meta: full_meta(),
        data,
    };
    let inline = all_bytes(65_536);
    let put = |b: &'static str, o: ObjectRecord| async move { s.put_object(b, o, WriteCondition::None).await.unwrap() };
    put("photos", object("inline/all-bytes", ObjectData::Inline(inline), 65_536)).await;
    put("photos", object("empty-object", ObjectData::Inline(Bytes::new()), 0)).await;
    put("photos", object("dir/ünïcödé \u{1}\t%2F..//key", ObjectData::Inline(Bytes::from_static(b"\0\xff\0")), 3))
        .await;
    let segs = |sizes: &[u64]| {
        ObjectData::Segments(
            sizes.iter().map(|&size| Segment { blob: BlobId::random(), size, crc64: crc_of(size) }).collect(),
        )
    };
    put("photos", object("big/two-segments", segs(&[5 << 20, 1234]), (5 << 20) + 1234)).await;
    let mut plain = object("logs/2024/01.log", segs(&[777]), 777);
    plain.meta = ObjectMeta::default();
    put("logs", plain).await;
    for i in 0..7 {
        put("logs", object(&format!("many/{i:03}"), ObjectData::Inline(all_bytes(i * 10)), (i * 10) as u64)).await;
    }
    // Overwritten twice: its first two versions' blobs are queued for GC.
    for sizes in [&[11u64][..], &[22, 33], &[44]] {
        put("logs", object("overwritten", segs(sizes), sizes.iter().sum())).await;
    }
    let claimed = s.gc_claim(i64::MAX, 1, T0 + 300, T0 + 900).await.unwrap();
    assert_eq!(claimed.len(), 1, "one queued blob claimed");
    fill_versions(s).await;

    let upload = UploadRecord {
        upload_id: "upload-1".into(),
        key: "big/in-progress".into(),
        initiated: T0 + 400,
        meta: full_meta(),
    };
    s.create_upload("photos", upload).await.unwrap();
    for (n, sum) in [(1u32, Some(checksum("CRC32C", "yZRlqg==", "COMPOSITE"))), (3, None)] {
        let part = PartRecord {
            part_number: n,
            size: 5 << 20,
            etag: format!("\"part{n}\""),
            last_modified: T0 + 410 + i64::from(n),
            blob: BlobId::random(),
            crc64: if n == 1 { Some(1 << 63) } else { None },
            checksum: sum,
        };
        s.put_part("photos", "upload-1", part).await.unwrap();
    }

    let hour = (T0 / 1000) / 3600 * 3600;
    let usage = |project: &str, bucket: &str, hour: i64, get: u64| UsageDelta {
        project: project.into(),
        bucket: bucket.into(),
        hour,
        requests: RequestCounts { get, put: 2, list: 3, delete: 4, other: 5 },
        bytes_in: 1 << 33,
        bytes_out: u64::MAX / 4,
    };
    s.add_usage(&[
        usage("acme", "photos", hour, 1),
        usage("acme", "photos", hour + 3600, 7),
        usage("beta", "logs", hour, 9),
    ])
    .await
    .unwrap();
    s.meter_storage(T0 + 3_600_000).await.unwrap();

    let scopes: Vec<String> = SCOPES[..2].iter().map(|s| (*s).to_owned()).collect();
    s.record_signin_failure(&scopes, T0 + 500, 0).await.unwrap();
    s.record_signin_failure(&scopes[..1], T0 + 501, 0).await.unwrap();
    s.record_signin_failure(&[SCOPES[2].to_owned()], T0 + 502, 0).await.unwrap();
    s.end_sessions(PRINCIPALS[0]).await.unwrap();
    s.end_sessions(PRINCIPALS[0]).await.unwrap();
    s.end_sessions(PRINCIPALS[1]).await.unwrap();
    assert!(s.acquire_lease("orphan-sweep", "old-server", T0, T0 + 60_000).await.unwrap());
    s.set_job_state(JOBS[0], Some(r#"{"after":"ab\u00e9","pass":"ü"}"#)).await.unwrap();
    s.set_job_state(JOBS[1], Some("done")).await.unwrap();
    s.set_job_state(JOBS[1], None).await.unwrap();
}

/// Two versioned buckets. `versioned` (project beta): `doc` written before
/// versioning (its null version), then twice with versioning enabled (one
/// of them under retention and a legal hold, with blobs) and deleted (a
/// delete marker on top); `gone`, a delete marker alone; then versioning
/// suspended and `later` written (a current null version beside older
/// ones). `locked`, made with object lock: one version in COMPLIANCE.
pub async fn fill_versions<S: MetaStore>(s: &S) {
    let at = |name: &str, created: i64| BucketRecord {
        name: name.into(),
        region: "eu-west-1".into(),
        project: "beta".into(),
        created,
        ..Default::default()
    };
    s.create_bucket(at("versioned", T0 + 110)).await.unwrap();
    let locked = BucketRecord { versioning: Versioning::Enabled, object_lock: true, ..at("locked", T0 + 111) };
    s.create_bucket(locked).await.unwrap();
    let version = |key: &str, data: ObjectData, size: u64| ObjectRecord {
        version_id: Some(new_version_id()),
        key: key.into(),
        size,
        etag: format!("\"{}\"", &BlobId::random().as_str()[..32]),
        last_modified: T0 + 600,
        meta: ObjectMeta::default(),
        data,
    };
    let put = |b: &'static str, o: ObjectRecord| async move { s.put_object(b, o, WriteCondition::None).await.unwrap() };
    assert_eq!(put("versioned", version("doc", ObjectData::Inline(all_bytes(100)), 100)).await, None);
    s.set_versioning("versioned", None, VersioningChange::Set(Versioning::Enabled)).await.unwrap();
    let segs = vec![
        Segment { blob: BlobId::random(), size: 300, crc64: Some(u64::MAX) },
        Segment { blob: BlobId::random(), size: 33, crc64: None },
    ];
    let mut held = version("doc", ObjectData::Segments(segs), 333);
    held.meta = full_meta();
    held.meta.retention = Some(Retention { mode: LockMode::Governance, until: T0 + 86_400_000 });
    held.meta.legal_hold = true;
    assert!(matches!(put("versioned", held).await, Some(Some(_))));
    put("versioned", version("doc", ObjectData::Inline(Bytes::from_static(b"v2")), 2)).await;
    assert!(s.delete_object("versioned", "doc").await.unwrap());
    s.delete_object("versioned", "gone").await.unwrap();
    s.set_versioning("versioned", None, VersioningChange::Set(Versioning::Suspended)).await.unwrap();
    assert_eq!(put("versioned", version("later", ObjectData::Inline(all_bytes(7)), 7)).await, Some(None));
    let kept = ObjectData::Segments(vec![Segment { blob: BlobId::random(), size: 5, crc64: Some(0) }]);
    let mut kept = version("k", kept, 5);
    kept.meta.retention = Some(Retention { mode: LockMode::Compliance, until: T0 + 86_400_000 });
    put("locked", kept).await;
}

/// Everything a store holds, as the traits answer.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub projects: Vec<ProjectRecord>,
    pub users: Vec<UserRecord>,
    pub keys: Vec<AccessKeyRecord>,
    pub buckets: Vec<BucketRecord>,
    pub configs: Vec<(String, String, Option<String>)>,
    pub totals: Vec<(String, StoredTotals)>,
    pub quotas: Vec<(QuotaScope, Quota)>,
    pub objects: Vec<(String, ObjectRecord)>,
    /// Per bucket, every entry of its version listing, each with the
    /// version as read by its id.
    pub versions: Vec<(String, VersionEntry, Option<VersionRecord>)>,
    pub uploads: Vec<(String, UploadRecord, Vec<PartRecord>)>,
    pub gc: Vec<BlobId>,
    /// Every blob rows refer to, walked with `blob_refs` in pages of 3.
    pub refs: Vec<BlobRef>,
    pub usage: Vec<UsageRecord>,
    pub signin: Vec<(String, SigninFailures)>,
    pub generations: Vec<(String, u64)>,
    /// Per job of [`JOBS`], its stored state.
    pub jobs: Vec<(String, Option<String>)>,
}

pub async fn snapshot<S: MetaStore + IdentityStore>(s: &S) -> Snapshot {
    let projects = s.list_projects().await.unwrap();
    let (mut users, mut keys, mut quotas, mut totals, mut usage) = (vec![], vec![], vec![], vec![], vec![]);
    let mut project_configs = vec![];
    for p in PROJECTS {
        users.extend(s.list_users(p).await.unwrap());
        keys.extend(s.list_access_keys(p, None).await.unwrap());
        quotas.push((QuotaScope::Project((*p).into()), s.get_quota(&QuotaScope::Project((*p).into())).await.unwrap()));
        totals.push((format!("project {p}"), s.project_totals(p).await.unwrap()));
        let q = UsageQuery { project: (*p).into(), bucket: None, from: 0, to: i64::MAX };
        usage.extend(s.usage(&q).await.unwrap());
        let setting = s.get_project_config(p, "publicAccessBlock").await.unwrap();
        project_configs.push((format!("project {p}"), "publicAccessBlock".to_string(), setting));
    }
    for k in &mut keys {
        // Through get_access_key too: the same record.
        assert_eq!(Some(k.clone()), s.get_access_key(&k.access_key).await.unwrap());
    }
    let buckets = s.list_buckets(&BucketQuery { limit: 1000, ..Default::default() }).await.unwrap();
    let (mut configs, mut objects, mut uploads, mut versions) = (project_configs, vec![], vec![], vec![]);
    for b in BUCKETS {
        for c in CONFIGS {
            configs.push(((*b).into(), (*c).into(), s.get_bucket_config(b, c).await.unwrap()));
        }
        totals.push((format!("bucket {b}"), s.bucket_totals(b).await.unwrap()));
        quotas.push((QuotaScope::Bucket((*b).into()), s.get_quota(&QuotaScope::Bucket((*b).into())).await.unwrap()));
        let listed = s.list_objects(b, &ListQuery { limit: 1000, ..Default::default() }).await.unwrap();
        for o in listed.into_iter().map(|e| e.into_object().expect("no delimiter: objects only")) {
            let rec = s.get_object(b, &o.key).await.unwrap().expect("listed object is there");
            assert_eq!((rec.size, &rec.etag, rec.last_modified), (o.size, &o.etag, o.last_modified));
            objects.push(((*b).to_owned(), rec));
        }
        let q = VersionListQuery { limit: 1000, ..Default::default() };
        for e in s.list_versions(b, &q).await.unwrap() {
            let read = match &e {
                VersionEntry::Version(v) => {
                    let which = VersionSel::Id(v.version_id.clone());
                    Some(s.get_version(b, &v.key, &which).await.unwrap().expect("a listed version is there"))
                }
                VersionEntry::CommonPrefix(_) => None,
            };
            versions.push(((*b).to_owned(), e, read));
        }
        let q = UploadListQuery { limit: 1000, ..Default::default() };
        for u in s.list_uploads(b, &q).await.unwrap() {
            assert_eq!(Some(u.clone()), s.get_upload(b, &u.upload_id).await.unwrap());
            let parts = s.list_parts(b, &u.upload_id, 0, 1000).await.unwrap();
            uploads.push(((*b).to_owned(), u, parts));
        }
    }
    let mut gc = s.gc_pending(i64::MAX, 1000).await.unwrap();
    gc.sort();
    let mut refs: Vec<BlobRef> = Vec::new();
    loop {
        let start = refs.last().map_or(std::ops::Bound::Unbounded, |r| std::ops::Bound::Excluded(&r.blob));
        let page = s.blob_refs(start, 3).await.unwrap();
        let done = page.len() < 3;
        refs.extend(page);
        if done {
            break;
        }
    }
    let mut signin = vec![];
    for sc in SCOPES {
        signin.push(((*sc).to_owned(), s.signin_failures(sc, 0).await.unwrap()));
    }
    let mut generations = vec![];
    for p in PRINCIPALS {
        generations.push(((*p).to_owned(), s.session_generation(p).await.unwrap()));
    }
    let mut jobs = vec![];
    for j in JOBS {
        jobs.push(((*j).to_owned(), s.get_job_state(j).await.unwrap()));
    }
    Snapshot {
        projects,
        users,
        keys,
        buckets,
        configs,
        totals,
        quotas,
        objects,
        versions,
        uploads,
        gc,
        refs,
        usage,
        signin,
        generations,
        jobs,
    }
}
