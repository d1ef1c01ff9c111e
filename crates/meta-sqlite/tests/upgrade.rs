//! A v3 database file opened by this version: upgraded in place, its data
//! served through the traits.

use coffer_meta::*;
use coffer_meta_sqlite::{migrations, SqliteMetaStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_file_opens_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    {
        let mut c = rusqlite::Connection::open(&path).unwrap();
        migrations::migrate(&mut c, 3).unwrap();
        c.execute_batch(
            "INSERT INTO buckets (id, name, region, created) VALUES (1, 'b', 'r', 1);
             INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta, inline_data)
                 VALUES (1, X'6B', 3, 'e', 1, '{}', X'616263');
             INSERT INTO uploads (id, bucket_id, upload_id, key, initiated, meta) VALUES (1, 1, 'u', X'6D', 1, '{}');
             INSERT INTO parts (upload_row, part_number, size, etag, last_modified, blob_id)
                 VALUES (1, 1, 4, 'e', 1, '0123456789abcdef0123456789abcdef');
             INSERT INTO credentials (access_key, secret_key, principal, created) VALUES ('AK', 'SK', 'operator', 3);",
        )
        .unwrap();
    }
    let s = SqliteMetaStore::open(&path).unwrap();
    let b = s.get_bucket("b").await.unwrap().unwrap();
    assert_eq!((b.project.as_str(), b.created), (OPERATOR_PROJECT, 1));
    assert_eq!(s.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 7, objects: 1 });
    let key = s.get_access_key("AK").await.unwrap().unwrap();
    assert_eq!(
        (key.sealed_secret.as_str(), key.user.as_str(), key.status),
        ("plain:SK", "operator", KeyStatus::Active)
    );
    assert_eq!(s.list_access_keys(OPERATOR_PROJECT, None).await.unwrap(), [key]);
    // Totals keep following writes, and metering starts at the upgrade, not
    // at the bucket's creation in 1970.
    s.abort_upload("b", "u").await.unwrap();
    assert_eq!(s.bucket_totals("b").await.unwrap(), StoredTotals { bytes: 3, objects: 1 });
    s.meter_storage(coffer_types::now_millis() + 1000).await.unwrap();
    let q = UsageQuery { project: OPERATOR_PROJECT.into(), bucket: None, from: 0, to: i64::MAX };
    let rows = s.usage(&q).await.unwrap();
    assert!(!rows.is_empty() && rows.len() <= 2, "{rows:?}");
    assert!(rows.iter().map(|r| r.byte_hours).sum::<f64>() < 0.01);
}

/// A v4 file with users: served with the root path, and renames work on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v4_users_open_with_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    {
        let mut c = rusqlite::Connection::open(&path).unwrap();
        migrations::migrate(&mut c, 4).unwrap();
        c.execute_batch(
            "INSERT INTO projects (name, created) VALUES ('p', 1);
             INSERT INTO users (project, name, root, created, inline_policies, attached)
                 VALUES ('p', 'alice', 0, 2, '{}', '[\"read-only\"]');
             INSERT INTO access_keys (access_key, sealed_secret, project, user, region, status, created)
                 VALUES ('AKA', 'v1:x', 'p', 'alice', 'r', 'Active', 3);",
        )
        .unwrap();
    }
    let s = SqliteMetaStore::open(&path).unwrap();
    let alice = s.get_user("p", "alice").await.unwrap().unwrap();
    assert_eq!(alice.path, DEFAULT_USER_PATH);
    assert!(alice.id.starts_with("AIDA"));
    s.rename_user("p", "alice", Some("bob"), Some("/ops/")).await.unwrap();
    let bob = s.get_user("p", "bob").await.unwrap().unwrap();
    assert_eq!((bob.path.as_str(), bob.id.as_str(), bob.created), ("/ops/", alice.id.as_str(), 2));
    assert_eq!(s.get_access_key("AKA").await.unwrap().unwrap().user, "bob");
}
