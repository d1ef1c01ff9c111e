//! `coffer_migrate::migrate` on a real PostgreSQL server (`scripts/with-postgres`):
//! every record written to SQLite through the traits reads back the same
//! from PostgreSQL through the traits; a non-empty target is refused; a
//! failure midway leaves the target empty and a second run succeeds.

mod common;

use coffer_meta::*;
use coffer_meta_postgres::testing::TestSchema;
use coffer_meta_sqlite::SqliteMetaStore;
use coffer_migrate::{migrate, tables::TABLES, Budget, MigrateError, Options};
use common::{fill, snapshot, Snapshot, T0};
use std::path::PathBuf;

/// A SQLite store filled with every kind of record (closed again), and what
/// it held.
async fn filled_sqlite() -> (tempfile::TempDir, PathBuf, Snapshot) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let store = SqliteMetaStore::open(&path).unwrap();
    fill(&store).await;
    let snap = snapshot(&store).await;
    drop(store);
    (dir, path, snap)
}

/// Pages of two rows (and at most 4 KiB): every table is read over many
/// pages, composite keys included.
fn small_pages(path: PathBuf, schema: &TestSchema) -> Options {
    Options {
        sqlite: path,
        postgres: schema.config(),
        budget: Budget { rows: 2, bytes: 4096 },
        tls: Default::default(),
    }
}

/// Rows per table in the schema, straight from PostgreSQL.
async fn pg_counts(schema: &TestSchema) -> Vec<(&'static str, i64)> {
    let (client, conn) = schema.config().connect(tokio_postgres::NoTls).await.unwrap();
    let driver = tokio::spawn(conn);
    let mut out = vec![];
    for t in TABLES {
        let n: i64 = client.query_one(&format!("SELECT count(*) FROM {}", t.name), &[]).await.unwrap().get(0);
        out.push((t.name, n));
    }
    drop(client);
    let _ = driver.await;
    out
}

fn assert_same(after: &Snapshot, before: &Snapshot) {
    assert_eq!(after.projects, before.projects, "projects");
    assert_eq!(after.users, before.users, "users");
    assert_eq!(after.keys, before.keys, "access keys");
    assert_eq!(after.buckets, before.buckets, "buckets");
    assert_eq!(after.configs, before.configs, "bucket configurations");
    assert_eq!(after.totals, before.totals, "stored totals");
    assert_eq!(after.quotas, before.quotas, "quotas");
    assert_eq!(after.objects.len(), before.objects.len(), "objects");
    for (a, b) in after.objects.iter().zip(&before.objects) {
        assert_eq!(a, b, "object {}", b.1.key);
    }
    assert_eq!(after.versions, before.versions, "versions");
    assert_eq!(after.uploads, before.uploads, "uploads and parts");
    assert_eq!(after.gc, before.gc, "garbage queue");
    assert_eq!(after.refs, before.refs, "blobs referred to, with their checksums");
    assert_eq!(after.usage, before.usage, "usage");
    assert_eq!(after.signin, before.signin, "sign-in failures");
    assert_eq!(after.generations, before.generations, "session generations");
    assert_eq!(after.jobs, before.jobs, "background jobs' states");
    assert_eq!(after, before);
}

#[tokio::test]
async fn every_record_reads_back_the_same_from_postgres() {
    let Some(schema) = TestSchema::new("every_record_reads_back_the_same_from_postgres").await else { return };
    let (_dir, path, before) = filled_sqlite().await;
    // The fixture holds what it should (else equality proves little).
    assert_eq!((before.projects.len(), before.users.len(), before.keys.len()), (2, 2, 3));
    assert_eq!((before.buckets.len(), before.objects.len(), before.uploads[0].2.len()), (5, 15, 2));
    assert_eq!(before.configs.iter().filter(|c| c.2.is_some()).count(), 4, "three of a bucket, one of a project");
    assert_eq!(before.gc.len(), 3, "two overwritten versions' blobs");
    // Segments, older versions' segments and parts; three without a checksum.
    assert_eq!(before.refs.len(), 9, "{:?}", before.refs);
    assert_eq!(before.refs.iter().filter(|r| r.crc64.is_none()).count(), 3, "{:?}", before.refs);
    assert!(before.refs.windows(2).all(|w| w[0].blob < w[1].blob), "in blob id order");
    assert!(before.usage.iter().any(|u| u.byte_hours > 0.0), "metered storage");
    assert_eq!(before.generations.iter().map(|g| g.1).collect::<Vec<_>>(), [2, 1]);
    assert!(before.keys.iter().any(|k| k.last_used.is_some() && k.project.is_empty()));
    assert!(
        before.jobs[0].1.as_ref().is_some_and(|v| v.contains('ü')) && before.jobs[1].1.is_none(),
        "{:?}",
        before.jobs
    );
    let versions: Vec<_> = before.versions.iter().filter(|v| v.0 == "versioned").collect();
    assert_eq!(versions.len(), 6, "doc: marker, two versions, null; gone: marker; later: null");
    assert_eq!(versions.iter().filter(|v| v.2.as_ref().is_some_and(|r| r.delete_marker)).count(), 2);
    assert!(versions.iter().any(|v| v.2.as_ref().is_some_and(|r| r.object.meta.legal_hold)));

    let mut pages = 0;
    let report = migrate(&small_pages(path.clone(), &schema), |_, _| pages += 1).await.unwrap();
    assert!(pages > 30, "paged: {pages}");
    assert_eq!(report.tables.len(), TABLES.len());
    for (t, s, p) in &report.tables {
        assert_eq!(s, p, "{t}");
    }
    let objects = report.tables.iter().find(|t| t.0 == "objects").unwrap();
    assert_eq!(objects.1, 15);
    let names = report.tables.iter().find(|t| t.0 == "project_names").unwrap();
    assert_eq!(names.1, 3, "the deleted project's name too");
    let older = report.tables.iter().find(|t| t.0 == "object_versions").unwrap();
    assert_eq!(older.1, 5, "everything but the current versions");
    let jobs = report.tables.iter().find(|t| t.0 == "job_state").unwrap();
    assert_eq!(jobs.1, 1, "the deleted job's state is gone");
    let photos = report.buckets.iter().find(|b| b.0 == "photos").unwrap();
    assert_eq!((photos.1, photos.2, photos.3), (4, 65_536 + 3 + (5 << 20) + 1234, 1));
    let text = report.to_string();
    assert!(text.contains("objects") && text.contains("photos"), "{text}");

    let pg = schema.store(2).await;
    assert_same(&snapshot(&pg).await, &before);

    // The deleted project's name is taken on PostgreSQL too.
    let gone = ProjectRecord { name: "gone".into(), created: T0 + 9 };
    assert!(matches!(pg.create_project(gone).await, Err(MetaError::AlreadyExists)));
    // The claim on one queued blob came along: only the other two are handed out.
    assert_eq!(pg.gc_claim(i64::MAX, 10, T0 + 600, T0 + 1200).await.unwrap().len(), 2);
    // The stopped server's lease came along: in force until it runs out.
    assert!(!pg.acquire_lease("orphan-sweep", "gateway", T0 + 1, T0 + 2).await.unwrap());
    assert!(pg.acquire_lease("orphan-sweep", "gateway", T0 + 60_001, T0 + 120_000).await.unwrap());
    // New rows get fresh ids (the identity sequences moved past the copied ones).
    let b = BucketRecord {
        name: "after".into(),
        region: "us-east-1".into(),
        project: "acme".into(),
        created: T0,
        ..Default::default()
    };
    pg.create_bucket(b).await.unwrap();
    let o = ObjectRecord {
        version_id: Some(coffer_types::new_version_id()),
        key: "k".into(),
        size: 1,
        etag: "\"e\"".into(),
        last_modified: T0,
        meta: ObjectMeta::default(),
        data: ObjectData::Inline(bytes::Bytes::from_static(b"x")),
    };
    pg.put_object("after", o.clone(), WriteCondition::None).await.unwrap();
    // A versioned bucket goes on where it stood: its next version is the
    // newest, its locked version stays locked.
    pg.set_versioning("versioned", None, VersioningChange::Set(coffer_types::Versioning::Enabled)).await.unwrap();
    let id = pg.put_object("versioned", o, WriteCondition::None).await.unwrap().unwrap().unwrap();
    let q = VersionListQuery { prefix: "k".into(), limit: 10, ..Default::default() };
    match &pg.list_versions("versioned", &q).await.unwrap()[..] {
        [VersionEntry::Version(v)] => assert!(v.latest && v.version_id.as_deref() == Some(id.as_str())),
        other => panic!("{other:?}"),
    }
    let doc = VersionListQuery { prefix: "doc".into(), limit: 10, ..Default::default() };
    let listed = pg.list_versions("versioned", &doc).await.unwrap();
    // Newest first: the marker, the last version, the held one, the null one.
    let VersionEntry::Version(held) = &listed[2] else { panic!("{listed:?}") };
    let target = DeleteTarget::Version(held.version_id.clone());
    let r = pg.delete_version("versioned", None, "doc", &target, LockCheck { now: T0, bypass_governance: false }).await;
    assert!(matches!(r, Err(MetaError::ObjectLocked(_))), "{r:?}");
    let u = UploadRecord { upload_id: "upload-2".into(), key: "k".into(), initiated: T0, meta: ObjectMeta::default() };
    pg.create_upload("after", u).await.unwrap();
    pg.record_signin_failure(&["addr:x".into()], T0, 0).await.unwrap();
    assert_eq!(pg.list_buckets(&BucketQuery { limit: 1000, ..Default::default() }).await.unwrap().len(), 6);
}

#[tokio::test]
async fn a_target_with_data_is_refused_and_left_alone() {
    let Some(schema) = TestSchema::new("a_target_with_data_is_refused_and_left_alone").await else { return };
    let (_dir, path, _) = filled_sqlite().await;
    migrate(&small_pages(path.clone(), &schema), |_, _| {}).await.unwrap();
    let counts = pg_counts(&schema).await;
    let e = migrate(&small_pages(path.clone(), &schema), |_, _| {}).await.unwrap_err();
    assert!(matches!(e, MigrateError::TargetNotEmpty("projects")), "{e}");
    assert!(e.to_string().contains("already holds Coffer data"), "{e}");
    assert_eq!(pg_counts(&schema).await, counts, "nothing added");

    // One row anywhere is enough: a deployment that only made a key.
    let Some(other) = TestSchema::new("a_target_with_data_is_refused_and_left_alone 2").await else { return };
    let store = other.store(1).await;
    let key = AccessKeyRecord {
        access_key: "AKONLY".into(),
        sealed_secret: "v1:x".into(),
        project: OPERATOR_PROJECT.into(),
        user: "operator".into(),
        region: String::new(),
        status: KeyStatus::Active,
        created: T0,
        expires: None,
        last_used: None,
    };
    store.create_access_key(key).await.unwrap();
    let e = migrate(&small_pages(path, &other), |_, _| {}).await.unwrap_err();
    assert!(matches!(e, MigrateError::TargetNotEmpty("access_keys")), "{e}");
    assert!(store.list_buckets(&BucketQuery { limit: 1000, ..Default::default() }).await.unwrap().is_empty());
    assert_eq!(store.list_access_keys(OPERATOR_PROJECT, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_failure_midway_leaves_the_target_empty_and_a_second_run_succeeds() {
    let Some(schema) = TestSchema::new("a_failure_midway_leaves_the_target_empty").await else { return };
    let (_dir, path, before) = filled_sqlite().await;
    // A segment of no object: SQLite enforces foreign keys per connection
    // (this one is told not to), PostgreSQL always. `segments` comes after
    // projects, users, keys, quotas, buckets, configs and objects.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.pragma_update(None, "foreign_keys", false).unwrap();
    let orphan = "INSERT INTO segments (object_id, idx, blob_id, size) VALUES (999999, 0, 'deadbeef', 1)";
    raw.execute(orphan, []).unwrap();
    let e = migrate(&small_pages(path.clone(), &schema), |_, _| {}).await.unwrap_err();
    assert!(matches!(e, MigrateError::Target(_)), "{e:?}");
    assert!(e.to_string().contains("foreign key"), "{e}");
    for (table, n) in pg_counts(&schema).await {
        assert_eq!(n, 0, "{table} is empty after the failed run");
    }

    // A value PostgreSQL's column cannot hold is refused by name, also
    // leaving nothing.
    raw.execute("DELETE FROM segments WHERE object_id = 999999", []).unwrap();
    raw.execute("UPDATE users SET root = 2 WHERE name = 'root'", []).unwrap();
    let e = migrate(&small_pages(path.clone(), &schema), |_, _| {}).await.unwrap_err();
    assert!(matches!(e, MigrateError::BadValue { table: "users", column: "root", .. }), "{e}");
    assert!(pg_counts(&schema).await.iter().all(|(_, n)| *n == 0));

    raw.execute("UPDATE users SET root = 1 WHERE name = 'root'", []).unwrap();
    drop(raw);
    migrate(&small_pages(path, &schema), |_, _| {}).await.unwrap();
    assert_same(&snapshot(&schema.store(1).await).await, &before);
}

/// The source's version and columns are checked before PostgreSQL is
/// reached (no server needed).
#[tokio::test]
async fn an_unknown_source_schema_is_refused() {
    let (_dir, path, _) = filled_sqlite().await;
    let nowhere: tokio_postgres::Config = "host=/nonexistent dbname=none".parse().unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.pragma_update(None, "user_version", 14).unwrap();
    let e = migrate(&Options::new(&path, nowhere.clone()), |_, _| {}).await.unwrap_err();
    assert!(matches!(e, MigrateError::SourceVersion { found: 14, expected: 15 }), "{e}");
    raw.pragma_update(None, "user_version", 15).unwrap();
    raw.execute_batch("ALTER TABLE objects ADD COLUMN surprise TEXT").unwrap();
    let e = migrate(&Options::new(&path, nowhere.clone()), |_, _| {}).await.unwrap_err();
    assert!(matches!(e, MigrateError::Schema(_)) && e.to_string().contains("surprise"), "{e}");
    raw.execute_batch("ALTER TABLE objects DROP COLUMN surprise; CREATE TABLE extra (x)").unwrap();
    let e = migrate(&Options::new(&path, nowhere.clone()), |_, _| {}).await.unwrap_err();
    assert!(e.to_string().contains("extra"), "{e}");
    let e = migrate(&Options::new(_dir.path().join("missing.db"), nowhere), |_, _| {}).await.unwrap_err();
    assert!(matches!(e, MigrateError::OpenSource { .. }), "{e}");
}

/// What a crash leaves (`meta.db` with its `-wal` and `-shm`, the WAL not
/// checkpointed) is read whole by the read-only connection.
#[tokio::test]
async fn a_crash_image_with_its_wal_is_read_whole() {
    let Some(schema) = TestSchema::new("a_crash_image_with_its_wal_is_read_whole").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetaStore::open(dir.path().join("meta.db")).unwrap();
    fill(&store).await;
    let before = snapshot(&store).await;
    let image = tempfile::tempdir().unwrap();
    for f in ["meta.db", "meta.db-wal", "meta.db-shm"] {
        std::fs::copy(dir.path().join(f), image.path().join(f)).unwrap();
    }
    drop(store);
    let wal = std::fs::metadata(image.path().join("meta.db-wal")).unwrap().len();
    assert!(wal > 0, "the image has a WAL to read");
    migrate(&small_pages(image.path().join("meta.db"), &schema), |_, _| {}).await.unwrap();
    assert_same(&snapshot(&schema.store(1).await).await, &before);
}
