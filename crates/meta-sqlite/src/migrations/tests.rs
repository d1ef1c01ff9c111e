//! Migration tests: every step up and down, schemas restored exactly, data
//! carried across upgrades.

use super::*;

fn tables(c: &Connection) -> Vec<String> {
    let mut st = c.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").unwrap();
    st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
}

/// Every table and index with its columns (name, type, not null, default,
/// primary key position), in name order.
fn schema(c: &Connection) -> Vec<String> {
    let mut st = c
        .prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    let objects: Vec<(String, String, String)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect();
    let mut out = Vec::new();
    for (kind, name, table) in objects {
        let info = if kind == "table" { "table_info" } else { "index_info" };
        let mut cols = c.prepare(&format!("SELECT * FROM pragma_{info}(?1)")).unwrap();
        let n = cols.column_count();
        let rows: Vec<String> = cols
            .query_map([&name], |r| {
                let mut v = Vec::new();
                for i in 0..n {
                    v.push(format!("{:?}", r.get_ref(i)?));
                }
                Ok(v.join(","))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        out.push(format!("{kind} {name} on {table}: {}", rows.join(" | ")));
    }
    out
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn up_down_up() {
    let mut c = Connection::open_in_memory().unwrap();
    migrate(&mut c, LATEST).unwrap();
    assert_eq!(current(&c).unwrap(), LATEST);
    let after_up = tables(&c);
    assert!(after_up.contains(&"objects".to_string()));
    migrate(&mut c, 0).unwrap();
    assert_eq!(current(&c).unwrap(), 0);
    assert!(tables(&c).is_empty());
    migrate(&mut c, LATEST).unwrap();
    assert_eq!(tables(&c), after_up);
}

/// Each step down restores exactly the schema of the version below.
#[test]
fn each_down_restores_the_previous_schema() {
    for v in 0..LATEST {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c, v).unwrap();
        let before = schema(&c);
        migrate(&mut c, v + 1).unwrap();
        let up = schema(&c);
        assert_ne!(before, up, "v{} changes the schema", v + 1);
        migrate(&mut c, v).unwrap();
        assert_eq!(schema(&c), before, "down from v{} restores v{v}", v + 1);
        migrate(&mut c, v + 1).unwrap();
        assert_eq!(schema(&c), up, "v{} again after its down", v + 1);
    }
}

#[test]
fn versions_are_consecutive() {
    for (i, m) in MIGRATIONS.iter().enumerate() {
        assert_eq!(m.version as usize, i + 1);
    }
    assert_eq!(MIGRATIONS.len() as u32, LATEST);
}

#[test]
fn refuses_newer_schema() {
    let mut c = Connection::open_in_memory().unwrap();
    c.pragma_update(None, "user_version", LATEST + 1).unwrap();
    assert!(migrate(&mut c, LATEST).is_err());
}

/// A v1 database with a part upgrades to v2 keeping the part (checksum NULL).
#[test]
fn v1_data_survives_upgrade() {
    let mut c = Connection::open_in_memory().unwrap();
    migrate(&mut c, 1).unwrap();
    c.execute_batch(
        "INSERT INTO buckets (id, name, region, created) VALUES (1, 'b', 'r', 1);
         INSERT INTO uploads (id, bucket_id, upload_id, key, initiated, meta) VALUES (1, 1, 'u', X'6B', 1, '{}');
         INSERT INTO parts (upload_row, part_number, size, etag, last_modified, blob_id) VALUES (1, 1, 5, 'e', 1, 'x');",
    )
    .unwrap();
    migrate(&mut c, LATEST).unwrap();
    let (n, sum): (i64, Option<String>) =
        c.query_row("SELECT part_number, checksum FROM parts", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!((n, sum), (1, None));
    migrate(&mut c, 1).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM parts"), 1, "down migration keeps the data");
}

/// v3 data: two buckets (one with objects and an upload in progress), the
/// operator's credential.
fn v3_with_data() -> Connection {
    let mut c = Connection::open_in_memory().unwrap();
    migrate(&mut c, 3).unwrap();
    c.execute_batch(
        "INSERT INTO buckets (id, name, region, created) VALUES (1, 'full', 'r', 1), (2, 'empty', 'r', 2);
         INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta) VALUES
             (1, X'61', 5, 'e', 1, '{}'), (1, X'62', 7, 'e', 1, '{}');
         INSERT INTO uploads (id, bucket_id, upload_id, key, initiated, meta) VALUES (1, 1, 'u', X'63', 1, '{}');
         INSERT INTO parts (upload_row, part_number, size, etag, last_modified, blob_id) VALUES
             (1, 1, 3, 'e', 1, 'x'), (1, 2, 4, 'e', 1, 'y');
         INSERT INTO bucket_configs (bucket_id, name, value) VALUES (1, 'cors', '<c/>');
         INSERT INTO credentials (access_key, secret_key, principal, created) VALUES ('AK', 'SK', 'operator', 3);",
    )
    .unwrap();
    c
}

#[test]
fn v3_data_survives_upgrade_to_v4() {
    let mut c = v3_with_data();
    let before = coffer_types::now_millis();
    migrate(&mut c, 4).unwrap();
    let after = coffer_types::now_millis();
    let mut st = c.prepare("SELECT name, project, bytes, objects, metered_until FROM buckets ORDER BY id").unwrap();
    let rows: Vec<(String, String, i64, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0].0[..], "full");
    assert_eq!((&rows[0].1[..], rows[0].2, rows[0].3), ("", 5 + 7 + 3 + 4, 2), "objects and parts are counted");
    assert_eq!((&rows[1].0[..], &rows[1].1[..], rows[1].2, rows[1].3), ("empty", "", 0, 0));
    for r in &rows {
        assert!((before - 1000..=after + 1000).contains(&r.4), "metered from the upgrade on: {}", r.4);
    }
    let key: (String, String, String, String, String, String, i64, Option<i64>, Option<i64>) = c
        .query_row(
            "SELECT access_key, sealed_secret, project, user, region, status, created, expires, last_used FROM access_keys",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?)),
        )
        .unwrap();
    assert_eq!(
        key,
        ("AK".into(), "plain:SK".into(), "".into(), "operator".into(), "".into(), "Active".into(), 3, None, None)
    );
    assert!(!tables(&c).contains(&"credentials".to_string()));
    assert_eq!(count(&c, "SELECT count(*) FROM bucket_configs"), 1);
    assert_eq!(count(&c, "SELECT count(*) FROM parts"), 2);
}

#[test]
fn v4_downgrade_keeps_plain_operator_keys_only() {
    let mut c = v3_with_data();
    migrate(&mut c, 4).unwrap();
    c.execute_batch(
        "INSERT INTO projects (name, created) VALUES ('p', 1);
         INSERT INTO access_keys (access_key, sealed_secret, project, user, region, status, created) VALUES
             ('SEALED', 'v1:xxxx', '', 'operator', '', 'Active', 4),
             ('PROJ', 'plain:nope', 'p', 'root', 'r', 'Active', 5);
         INSERT INTO usage_hourly (project, bucket, hour, req_get) VALUES ('p', 'full', 3600, 1);",
    )
    .unwrap();
    migrate(&mut c, 3).unwrap();
    let creds: Vec<(String, String, String, i64)> = c
        .prepare("SELECT access_key, secret_key, principal, created FROM credentials")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(creds, [("AK".to_string(), "SK".to_string(), "operator".to_string(), 3)]);
    assert_eq!(count(&c, "SELECT count(*) FROM objects"), 2);
    assert_eq!(count(&c, "SELECT count(*) FROM parts"), 2);
    assert_eq!(count(&c, "SELECT count(*) FROM pragma_table_info('buckets')"), 4, "id, name, region, created");
    // And up again: the operator key is back, totals recomputed.
    migrate(&mut c, 4).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM access_keys"), 1);
    assert_eq!(count(&c, "SELECT bytes FROM buckets WHERE name = 'full'"), 19);
}

/// v4 data: a project with its root user, an IAM user with policies, keys.
fn v4_with_data() -> Connection {
    let mut c = v3_with_data();
    migrate(&mut c, 4).unwrap();
    c.execute_batch(
        "INSERT INTO projects (name, created) VALUES ('p', 1);
         INSERT INTO users (project, name, root, created, inline_policies, attached) VALUES
             ('p', 'root', 1, 1, '{}', '[]'),
             ('p', 'alice', 0, 2, '{\"x\":\"{}\"}', '[\"read-only\"]');
         INSERT INTO access_keys (access_key, sealed_secret, project, user, region, status, created) VALUES
             ('AKA', 'v1:x', 'p', 'alice', 'r', 'Active', 3);",
    )
    .unwrap();
    c
}

type UserRow = (String, String, i64, i64, String, String, String, String);

fn user_rows(c: &Connection) -> Vec<UserRow> {
    c.prepare("SELECT project, name, root, created, inline_policies, attached, path, id FROM users ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn v4_users_get_the_root_path_and_distinct_ids_in_v5() {
    let mut c = v4_with_data();
    migrate(&mut c, 5).unwrap();
    let rows = user_rows(&c);
    assert_eq!(rows.len(), 2);
    let (alice, root) = (&rows[0], &rows[1]);
    assert_eq!(
        (&alice.0[..], &alice.1[..], alice.2, alice.3, &alice.4[..], &alice.5[..], &alice.6[..]),
        ("p", "alice", 0, 2, "{\"x\":\"{}\"}", "[\"read-only\"]", "/")
    );
    assert_eq!((&root.1[..], root.2, &root.6[..]), ("root", 1, "/"));
    for r in &rows {
        assert!(r.7.len() == 21 && r.7.starts_with("AIDA"), "id {:?}", r.7);
        assert!(r.7.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "id {:?}", r.7);
    }
    assert_ne!(alice.7, root.7, "every user its own id");
    assert_eq!(count(&c, "SELECT count(*) FROM access_keys WHERE user = 'alice'"), 1);
    // A new row without a path gets '/'.
    c.execute_batch(
        "INSERT INTO users (project, name, root, created, inline_policies, attached) VALUES ('p', 'b', 0, 4, '{}', '[]')",
    )
    .unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM users WHERE name = 'b' AND path = '/'"), 1);
}

#[test]
fn v5_downgrade_keeps_users_and_keys() {
    let mut c = v4_with_data();
    migrate(&mut c, 5).unwrap();
    c.execute("UPDATE users SET path = '/s3-tests/' WHERE name = 'alice'", []).unwrap();
    migrate(&mut c, 4).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM users"), 2);
    assert_eq!(count(&c, "SELECT count(*) FROM pragma_table_info('users')"), 6, "the v4 columns");
    assert_eq!(count(&c, "SELECT count(*) FROM access_keys WHERE user = 'alice'"), 1);
    assert_eq!(count(&c, "SELECT count(*) FROM users WHERE attached = '[\"read-only\"]'"), 1);
    migrate(&mut c, 5).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM users WHERE path = '/'"), 2, "the path was not kept");
}

#[test]
fn v5_users_have_no_password_in_v6() {
    let mut c = v4_with_data();
    migrate(&mut c, 5).unwrap();
    let v5_rows = user_rows(&c);
    migrate(&mut c, 6).unwrap();
    assert_eq!(user_rows(&c), v5_rows, "every v5 column kept");
    assert_eq!(count(&c, "SELECT count(*) FROM users WHERE password_hash IS NULL"), 2);
    assert_eq!(count(&c, "SELECT count(*) FROM access_keys WHERE user = 'alice'"), 1);
}

#[test]
fn v6_downgrade_drops_hashes_keeps_users_and_keys() {
    let mut c = v4_with_data();
    migrate(&mut c, 6).unwrap();
    c.execute("UPDATE users SET password_hash = '$argon2id$v=19$x' WHERE name = 'alice'", []).unwrap();
    let v6_rows = user_rows(&c);
    migrate(&mut c, 5).unwrap();
    assert_eq!(user_rows(&c), v6_rows, "users unchanged but for the hash");
    assert_eq!(count(&c, "SELECT count(*) FROM pragma_table_info('users')"), 8, "the v5 columns");
    assert_eq!(count(&c, "SELECT count(*) FROM access_keys WHERE user = 'alice'"), 1);
    migrate(&mut c, 6).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM users WHERE password_hash IS NULL"), 2, "the hash was not kept");
}

#[test]
fn v6_data_survives_v7_and_its_downgrade() {
    let mut c = v4_with_data();
    migrate(&mut c, 6).unwrap();
    c.execute("UPDATE users SET password_hash = '$argon2id$v=19$x' WHERE name = 'alice'", []).unwrap();
    let v6_rows = user_rows(&c);
    migrate(&mut c, 7).unwrap();
    assert_eq!(user_rows(&c), v6_rows, "users unchanged");
    assert_eq!(count(&c, "SELECT count(*) FROM signin_failures"), 0);
    assert_eq!(count(&c, "SELECT count(*) FROM console_sessions"), 0);
    c.execute_batch(
        "INSERT INTO signin_failures (scope, at) VALUES ('addr:x', 1), ('addr:x', 2);
         INSERT INTO console_sessions (principal, generation) VALUES ('user:p/AIDA', 3);",
    )
    .unwrap();
    // The throttle's count is an index search, not a scan of the table.
    let plan: String = c
        .query_row(
            "EXPLAIN QUERY PLAN SELECT count(*), min(at) FROM signin_failures WHERE scope = 'addr:x' AND at >= 0",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("USING COVERING INDEX signin_failures_by_scope"), "{plan}");
    migrate(&mut c, 6).unwrap();
    assert!(!tables(&c).contains(&"signin_failures".to_string()));
    assert!(!tables(&c).contains(&"console_sessions".to_string()));
    assert_eq!(user_rows(&c), v6_rows, "users kept by the downgrade");
    assert_eq!(count(&c, "SELECT count(*) FROM users WHERE password_hash IS NOT NULL"), 1);
    migrate(&mut c, 7).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM signin_failures"), 0, "failures were not kept");
}

fn plan(c: &Connection, sql: &str) -> String {
    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows: Vec<String> = st.query_map([], |r| r.get(3)).unwrap().map(|r| r.unwrap()).collect();
    rows.join("; ")
}

#[test]
fn v10_lists_a_projects_buckets_by_index_and_its_down_keeps_them() {
    let mut c = v4_with_data();
    migrate(&mut c, 9).unwrap();
    c.execute_batch(
        "INSERT INTO buckets (name, region, project, created) VALUES ('b2', 'r', 'p', 1), ('b1', 'r', 'p', 1), ('c', 'r', 'q', 1);",
    )
    .unwrap();
    let buckets = |c: &Connection| count(c, "SELECT count(*) FROM buckets");
    let before = buckets(&c);
    migrate(&mut c, 10).unwrap();
    assert_eq!(buckets(&c), before);
    let page = "SELECT name FROM buckets WHERE project = 'p' AND name > 'b1' ORDER BY name LIMIT 10";
    let p = plan(&c, page);
    assert!(p.contains("INDEX buckets_by_project_name (project=? AND name>?)"), "{p}");
    assert!(!p.contains("TEMP B-TREE"), "no sort: {p}");
    migrate(&mut c, 9).unwrap();
    assert_eq!(buckets(&c), before, "the down keeps every bucket");
    assert!(plan(&c, "SELECT name FROM buckets WHERE project = 'p'").contains("buckets_by_project"));
    migrate(&mut c, 10).unwrap();
}

/// v12: buckets made before Object Ownership existed keep their ACLs
/// working (`BucketOwnerPreferred`); the way down forgets every setting.
#[test]
fn v12_gives_older_buckets_ownership_preferred() {
    let mut c = v3_with_data();
    migrate(&mut c, 11).unwrap();
    migrate(&mut c, 12).unwrap();
    let q = "SELECT count(*) FROM bucket_configs WHERE name = 'ownershipControls' AND value = 'BucketOwnerPreferred'";
    assert_eq!(count(&c, q), 2, "both buckets");
    assert_eq!(count(&c, "SELECT count(*) FROM bucket_configs WHERE name = 'cors'"), 1, "other documents stay");
    migrate(&mut c, 11).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM bucket_configs WHERE name = 'ownershipControls'"), 0);
    assert_eq!(count(&c, "SELECT count(*) FROM bucket_configs"), 1);
}

/// v14: the names of projects that exist are taken from the start; the
/// way down frees every name again.
#[test]
fn v14_takes_the_names_of_existing_projects() {
    let mut c = Connection::open_in_memory().unwrap();
    migrate(&mut c, 13).unwrap();
    c.execute_batch("INSERT INTO projects (name, created) VALUES ('acme', 5), ('beta', 6);").unwrap();
    migrate(&mut c, 14).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM project_names WHERE created IN (5, 6)"), 2);
    migrate(&mut c, 13).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM projects"), 2, "projects stay");
    assert!(!tables(&c).contains(&"project_names".to_owned()));
}

/// v15: the checksum columns start NULL on the rows there were; the way
/// down drops them and keeps the rows.
#[test]
fn v15_adds_checksums_to_blob_rows() {
    let mut c = Connection::open_in_memory().unwrap();
    migrate(&mut c, 14).unwrap();
    c.execute_batch(
        "INSERT INTO buckets (id, name, region, project, created) VALUES (1, 'b', 'r', 'p', 1);
         INSERT INTO objects (id, bucket_id, key, size, etag, last_modified, meta) VALUES (1, 1, X'6b', 3, 'e', 1, '{}');
         INSERT INTO segments (object_id, idx, blob_id, size) VALUES (1, 0, 'aa', 3);",
    )
    .unwrap();
    migrate(&mut c, 15).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM segments WHERE crc64 IS NULL"), 1);
    c.execute_batch("UPDATE segments SET crc64 = -5").unwrap();
    migrate(&mut c, 14).unwrap();
    assert_eq!(count(&c, "SELECT count(*) FROM segments"), 1, "rows stay");
    assert!(c.prepare("SELECT crc64 FROM segments").is_err(), "the column is gone");
    assert!(!tables(&c).contains(&"job_state".to_owned()));
}

/// Tools beside a server open only this build's schema, and change nothing.
#[test]
fn tools_open_only_this_schema_and_never_migrate() {
    use coffer_meta::MetaError;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("meta.db");
    let r = crate::SqliteMetaStore::open_existing(&p);
    assert!(matches!(r, Err(MetaError::SchemaMismatch { found: 0, .. })), "{:?}", r.err());
    assert!(!p.exists(), "no database is made");
    migrate(&mut Connection::open(&p).unwrap(), 14).unwrap();
    let r = crate::SqliteMetaStore::open_existing(&p);
    assert!(matches!(r, Err(MetaError::SchemaMismatch { found: 14, expected: LATEST })), "{:?}", r.err());
    let v: u32 = Connection::open(&p).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 14, "not migrated");
    drop(crate::SqliteMetaStore::open(&p).unwrap());
    assert!(crate::SqliteMetaStore::open_existing(&p).is_ok());
}
