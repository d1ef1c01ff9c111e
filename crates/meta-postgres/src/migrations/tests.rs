//! Migration tests on a real server (skipped, saying so, without one; see
//! `crate::testing`): every step up and down, schemas restored exactly,
//! gateways migrating at once.

use super::*;
use crate::testing::TestSchema;

async fn connect(schema: &TestSchema) -> Client {
    let (client, conn) = schema.config().connect(tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

/// Every table, column (type, nullability, default, collation), index and
/// constraint of the schema, in a stable order.
async fn shape(c: &Client, schema: &str) -> Vec<String> {
    let mut out = Vec::new();
    let cols = c
        .query(
            "SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, ''),
                    coalesce(collation_name, '')
             FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
            &[&schema],
        )
        .await
        .expect("columns");
    for r in cols {
        let v: Vec<String> = (0..6).map(|i| r.get::<_, String>(i)).collect();
        out.push(format!("column {}", v.join(" ")));
    }
    let idx = c
        .query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname", &[&schema])
        .await
        .expect("indexes");
    for r in idx {
        out.push(format!("index {} {}", r.get::<_, String>(0), r.get::<_, String>(1)));
    }
    let cons = c
        .query(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
             WHERE connamespace = $1::text::regnamespace ORDER BY 1, 2",
            &[&schema],
        )
        .await
        .expect("constraints");
    for r in cons {
        out.push(format!("constraint {} {} {}", r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, String>(2)));
    }
    // How columns are stored and tables' options (v7 sets both).
    let storage = c
        .query(
            "SELECT c.relname::text, a.attname::text, a.attstorage::text, coalesce(array_to_string(c.reloptions, ','), '')
             FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid
             WHERE c.relnamespace = $1::text::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY 1, 2",
            &[&schema],
        )
        .await
        .expect("storage");
    for r in storage {
        let v: Vec<String> = (0..4).map(|i| r.get::<_, String>(i)).collect();
        out.push(format!("storage {}", v.join(" ")));
    }
    out
}

#[tokio::test]
async fn up_down_up() {
    let Some(schema) = TestSchema::new("migrations::up_down_up").await else { return };
    let mut c = connect(&schema).await;
    assert_eq!(current(&c).await.unwrap(), 0);
    let empty = shape(&c, schema.name()).await;
    assert!(empty.is_empty());
    migrate(&mut c, LATEST).await.unwrap();
    assert_eq!(current(&c).await.unwrap(), LATEST);
    let latest = shape(&c, schema.name()).await;
    assert!(latest.iter().any(|l| l.starts_with("column objects key bytea")), "{latest:?}");
    migrate(&mut c, 0).await.unwrap();
    assert_eq!(current(&c).await.unwrap(), 0);
    assert_eq!(shape(&c, schema.name()).await, empty, "rolling back everything leaves nothing");
    migrate(&mut c, LATEST).await.unwrap();
    assert_eq!(shape(&c, schema.name()).await, latest, "re-applied");
}

/// Each step down restores exactly the schema of the version below.
#[tokio::test]
async fn each_down_restores_the_previous_schema() {
    let Some(schema) = TestSchema::new("migrations::each_down").await else { return };
    let mut c = connect(&schema).await;
    for v in 0..LATEST {
        migrate(&mut c, v).await.unwrap();
        let before = shape(&c, schema.name()).await;
        migrate(&mut c, v + 1).await.unwrap();
        let up = shape(&c, schema.name()).await;
        assert_ne!(before, up, "v{} changes the schema", v + 1);
        migrate(&mut c, v).await.unwrap();
        assert_eq!(shape(&c, schema.name()).await, before, "down from v{} restores v{v}", v + 1);
        migrate(&mut c, v + 1).await.unwrap();
        assert_eq!(shape(&c, schema.name()).await, up, "v{} again after its down", v + 1);
    }
}

#[test]
fn versions_are_consecutive() {
    for (i, m) in MIGRATIONS.iter().enumerate() {
        assert_eq!(m.version as usize, i + 1);
    }
    assert_eq!(MIGRATIONS.len() as u32, LATEST);
}

#[tokio::test]
async fn refuses_newer_schema() {
    let Some(schema) = TestSchema::new("migrations::refuses_newer_schema").await else { return };
    let mut c = connect(&schema).await;
    migrate(&mut c, LATEST).await.unwrap();
    c.batch_execute(&format!("UPDATE coffer_schema SET version = {}", LATEST + 1)).await.unwrap();
    assert!(matches!(migrate(&mut c, LATEST).await, Err(MigrateError::TooNew(v)) if v == LATEST + 1));
}

/// Several gateways starting at once: the lock lets one migrate, the others
/// find the schema current; nobody fails on a table that already exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_apply_once() {
    let Some(schema) = TestSchema::new("migrations::concurrent").await else { return };
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let mut c = connect(&schema).await;
        tasks.push(tokio::spawn(async move { migrate(&mut c, LATEST).await.map_err(|e| e.to_string()) }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let c = connect(&schema).await;
    assert_eq!(current(&c).await.unwrap(), LATEST);
}

/// Data written at v1 is still there after v2 and after v2's down.
#[tokio::test]
async fn queued_blobs_survive_v2_both_ways() {
    let Some(schema) = TestSchema::new("migrations::v2_data").await else { return };
    let mut c = connect(&schema).await;
    migrate(&mut c, 1).await.unwrap();
    c.batch_execute("INSERT INTO gc_queue (blob_id, queued) VALUES ('x', 5)").await.unwrap();
    migrate(&mut c, 2).await.unwrap();
    let row = c.query_one("SELECT queued, claimed_until FROM gc_queue", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, Option<i64>>(1)), (5, None));
    migrate(&mut c, 1).await.unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM gc_queue", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
}

/// v4: a project's page of buckets is a seek on (project, name), already
/// in order; buckets survive v4 both ways.
#[tokio::test]
async fn v4_lists_a_projects_buckets_by_index_both_ways() {
    let Some(schema) = TestSchema::new("migrations::v4").await else { return };
    let mut c = connect(&schema).await;
    migrate(&mut c, 3).await.unwrap();
    c.batch_execute(
        "INSERT INTO buckets (name, region, project, created)
         SELECT 'b' || i, 'r', 'p' || (i % 50), 1 FROM generate_series(1, 5000) i;
         ANALYZE buckets;",
    )
    .await
    .unwrap();
    migrate(&mut c, 4).await.unwrap();
    let plan: Vec<String> = c
        .query("EXPLAIN SELECT name FROM buckets WHERE project = 'p7' AND name > 'b17' ORDER BY name LIMIT 10", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("buckets_by_project_name"), "{plan}");
    assert!(!plan.contains("Sort"), "already in order: {plan}");
    migrate(&mut c, 3).await.unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM buckets", &[]).await.unwrap().get(0);
    assert_eq!(n, 5000);
    migrate(&mut c, 4).await.unwrap();
}

/// v5's down folds the counter shards back into the bucket rows: no stored
/// total is lost either way.
#[tokio::test]
async fn totals_survive_v5_both_ways() {
    let Some(schema) = TestSchema::new("migrations::v5_data").await else { return };
    let mut c = connect(&schema).await;
    migrate(&mut c, 4).await.unwrap();
    c.batch_execute(
        "INSERT INTO buckets (name, region, project, created, bytes, objects) VALUES
             ('a', 'r', 'p', 1, 100, 2), ('b', 'r', 'p', 1, 7, 1)",
    )
    .await
    .unwrap();
    migrate(&mut c, 5).await.unwrap();
    c.batch_execute(
        "INSERT INTO bucket_totals (bucket_id, shard, bytes, objects)
             SELECT id, s, 10 * s, s FROM buckets, generate_series(1, 3) AS s WHERE name = 'a'",
    )
    .await
    .unwrap();
    migrate(&mut c, 4).await.unwrap();
    let rows = c.query("SELECT name, bytes, objects FROM buckets ORDER BY name", &[]).await.unwrap();
    let got: Vec<(String, i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(got, vec![("a".to_owned(), 160, 8), ("b".to_owned(), 7, 1)]);
    migrate(&mut c, 5).await.unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM bucket_totals", &[]).await.unwrap().get(0);
    assert_eq!(n, 0, "totals start folded");
}

/// v6: a listing's range read is an index-only scan of the unique index,
/// which still refuses a second row under a key; objects survive v6 both
/// ways, and the down's index is unique too.
#[tokio::test]
async fn v6_lists_from_the_index_alone_both_ways() {
    let Some(schema) = TestSchema::new("migrations::v6").await else { return };
    let mut c = connect(&schema).await;
    migrate(&mut c, 5).await.unwrap();
    c.batch_execute(
        "INSERT INTO buckets (name, region, project, created) VALUES ('b', 'r', 'p', 1);
         INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta)
         SELECT b.id, convert_to('k' || lpad(i::text, 5, '0'), 'UTF8'), i, 'e' || i, i, '{}'
         FROM buckets b, generate_series(1, 5000) i;",
    )
    .await
    .unwrap();
    migrate(&mut c, 6).await.unwrap();
    c.batch_execute("VACUUM ANALYZE objects").await.unwrap();
    let plan: Vec<String> = c
        .query(
            "EXPLAIN SELECT key, size, etag, last_modified FROM objects
             WHERE bucket_id = 1 AND key >= '\\x6b3031'::bytea AND key < '\\x6b3032'::bytea ORDER BY key LIMIT 1001",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("Index Only Scan using objects_listing"), "{plan}");
    let duplicate = "INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta)
                     VALUES (1, convert_to('k00007', 'UTF8'), 1, 'x', 1, '{}')";
    assert!(c.batch_execute(duplicate).await.is_err(), "v6 keeps keys unique");
    migrate(&mut c, 5).await.unwrap();
    assert!(c.batch_execute(duplicate).await.is_err(), "v5 keeps keys unique");
    let row = c.query_one("SELECT count(*), sum(size)::int8 FROM objects", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (5000, 5000 * 5001 / 2));
    migrate(&mut c, 6).await.unwrap();
}

/// v10's down drops older versions and delete markers, queues their blobs
/// and counts the totals again from what is left (current objects and
/// parts), folded into the bucket rows; current objects survive v10 both
/// ways, as the null version.
#[tokio::test]
async fn versions_leave_with_v10_down_and_totals_follow() {
    let Some(schema) = TestSchema::new("migrations::v10_data").await else { return };
    let mut c = connect(&schema).await;
    migrate(&mut c, 9).await.unwrap();
    c.batch_execute(
        "INSERT INTO buckets (name, region, project, created, bytes, objects) VALUES ('b', 'r', 'p', 1, 5, 1);
         INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta)
             SELECT id, '\\x6b'::bytea, 5, 'e', 1, '{}' FROM buckets;",
    )
    .await
    .unwrap();
    migrate(&mut c, 10).await.unwrap();
    let row = c.query_one("SELECT version_id, seq FROM objects", &[]).await.unwrap();
    assert_eq!((row.get::<_, Option<String>>(0), row.get::<_, i64>(1)), (None, 0), "the null version");
    let row = c.query_one("SELECT versioning, object_lock FROM buckets", &[]).await.unwrap();
    assert_eq!((row.get::<_, i32>(0), row.get::<_, bool>(1)), (0, false), "unversioned");
    // Versioning on, two older versions (one with a blob) and a marker; a
    // part in progress; the totals partly in a shard.
    c.batch_execute(
        "UPDATE buckets SET versioning = 1, bytes = 20, objects = 2;
         INSERT INTO bucket_totals (bucket_id, shard, bytes, objects) SELECT id, 3, 7, 1 FROM buckets;
         INSERT INTO object_versions (bucket_id, key, seq, version_id, delete_marker, size, etag, last_modified, meta)
             SELECT id, '\\x6b'::bytea, s, 'v' || s, s = 3, CASE WHEN s = 3 THEN 0 ELSE 11 END, 'e', 1, '{}'
             FROM buckets, generate_series(1, 3) s;
         INSERT INTO version_segments (version_row, idx, blob_id, size)
             SELECT id, 0, 'blob-of-v1', 11 FROM object_versions WHERE seq = 1;
         INSERT INTO uploads (bucket_id, upload_id, key, initiated, meta) SELECT id, 'u', '\\x6b'::bytea, 1, '{}' FROM buckets;
         INSERT INTO parts (upload_row, part_number, size, etag, last_modified, blob_id)
             SELECT id, 1, 4, 'p', 1, 'part-blob' FROM uploads;",
    )
    .await
    .unwrap();
    migrate(&mut c, 9).await.unwrap();
    let queued: Vec<String> =
        c.query("SELECT blob_id FROM gc_queue", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(queued, ["blob-of-v1"]);
    let row = c.query_one("SELECT bytes, objects FROM buckets", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (5 + 4, 1), "the object and the part");
    let shards: i64 = c.query_one("SELECT count(*) FROM bucket_totals", &[]).await.unwrap().get(0);
    assert_eq!(shards, 0, "totals folded");
    let n: i64 = c.query_one("SELECT count(*) FROM objects", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
    migrate(&mut c, 10).await.unwrap();
}

/// v10: a version listing's range read of `object_versions` (as
/// `version_ops::range` sends it, with the generic plan every statement of
/// the store gets) reads the `(bucket_id, key, seq DESC)` index alone, in
/// the listing's order.
#[tokio::test]
async fn v10_lists_versions_from_the_index_alone() {
    let Some(schema) = TestSchema::new("migrations::v10_plan").await else { return };
    let mut c = connect(&schema).await;
    migrate(&mut c, 10).await.unwrap();
    c.batch_execute(
        "INSERT INTO buckets (name, region, project, created) VALUES ('b', 'r', 'p', 1);
         INSERT INTO object_versions (bucket_id, key, seq, version_id, delete_marker, size, etag, last_modified, meta)
         SELECT b.id, convert_to('k' || lpad((i / 4)::text, 5, '0'), 'UTF8'), i % 4, 'v' || i, i % 7 = 0, i, 'e', i, '{}'
         FROM buckets b, generate_series(1, 20000) i;",
    )
    .await
    .unwrap();
    c.batch_execute("VACUUM ANALYZE object_versions").await.unwrap();
    c.batch_execute(
        "SET plan_cache_mode = force_generic_plan;
         PREPARE r(int8, bytea, int8, bool, bytea, int8) AS
             SELECT key, seq, version_id, delete_marker, size, etag, last_modified FROM object_versions
             WHERE bucket_id = $1 AND key >= $2 AND (key > $2 OR CASE WHEN $3::int8 IS NULL THEN $4 ELSE seq < $3 END)
             AND key < $5 ORDER BY key, seq DESC LIMIT $6;",
    )
    .await
    .unwrap();
    let plan: Vec<String> = c
        .query("EXPLAIN EXECUTE r(1, '\\x6b3031'::bytea, 2, false, '\\x6b3032'::bytea, 1001)", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("Index Only Scan using object_versions_by_key"), "{plan}");
    assert!(!plan.contains("Sort"), "already in order: {plan}");
}

/// Where each table's rows are on disk (a rewrite moves them).
async fn filenodes(c: &Client, tables: &[&str]) -> Vec<i64> {
    let mut out = Vec::new();
    for t in tables {
        let sql = format!("SELECT pg_relation_filenode('{t}')::int8");
        out.push(c.query_one(&sql, &[]).await.unwrap().get::<_, i64>(0));
    }
    out
}

/// v12: a CRC-64/NVME column beside segments, older versions' segments
/// and parts (NULL in the rows of before; any u64's bit pattern fits), and
/// their blob ids in bytewise order (`COLLATE "C"`) without rewriting the
/// tables; `blob_refs`'s statement (with the generic plan every statement
/// of the store gets) is a range seek on each table's blob index. Rows
/// survive v12 both ways. And `job_state` comes (its names bytewise, one
/// row a name) and goes.
#[tokio::test]
async fn v12_keeps_checksums_and_walks_blobs_by_index_both_ways() {
    let Some(schema) = TestSchema::new("migrations::v12").await else { return };
    let mut c = connect(&schema).await;
    migrate(&mut c, 11).await.unwrap();
    c.batch_execute(
        "INSERT INTO buckets (name, region, project, created) VALUES ('b', 'r', 'p', 1);
         INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta)
             SELECT id, '\\x6b'::bytea, 1, 'e', 1, '{}' FROM buckets;
         INSERT INTO object_versions (bucket_id, key, seq, version_id, delete_marker, size, etag, last_modified, meta)
             SELECT id, '\\x6b'::bytea, 1, 'v', false, 1, 'e', 1, '{}' FROM buckets;
         INSERT INTO uploads (bucket_id, upload_id, key, initiated, meta)
             SELECT id, 'u', '\\x6b'::bytea, 1, '{}' FROM buckets;
         INSERT INTO segments (object_id, idx, blob_id, size)
             SELECT o.id, i, md5('s' || i), i FROM objects o, generate_series(1, 20000) i;
         INSERT INTO version_segments (version_row, idx, blob_id, size)
             SELECT v.id, i, md5('v' || i), i FROM object_versions v, generate_series(1, 20000) i;
         INSERT INTO parts (upload_row, part_number, size, etag, last_modified, blob_id)
             SELECT u.id, i, i, 'p', 1, md5('p' || i) FROM uploads u, generate_series(1, 20000) i;",
    )
    .await
    .unwrap();
    let tables = ["segments", "version_segments", "parts"];
    let before = filenodes(&c, &tables).await;
    assert!(!has_table(&c, "job_state").await);
    migrate(&mut c, 12).await.unwrap();
    assert_eq!(filenodes(&c, &tables).await, before, "no table rewritten");
    assert!(has_table(&c, "job_state").await, "v12 adds job_state");
    let cols: Vec<(String, String, String, String)> = c
        .query(
            "SELECT column_name::text, data_type::text, is_nullable::text, coalesce(collation_name::text, '')
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'job_state' ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let col = |n: &str, t: &str, c: &str| (n.to_owned(), t.to_owned(), "NO".to_owned(), c.to_owned());
    assert_eq!(cols, [col("name", "text", "C"), col("value", "text", ""), col("updated", "bigint", "")]);
    c.batch_execute("INSERT INTO job_state (name, value, updated) VALUES ('scrub', 'x', 1)").await.unwrap();
    assert!(
        c.batch_execute("INSERT INTO job_state (name, value, updated) VALUES ('scrub', 'y', 2)").await.is_err(),
        "one row a name"
    );
    for t in tables {
        let row = c.query_one(&format!("SELECT count(*), count(crc64) FROM {t}"), &[]).await.unwrap();
        assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (20000, 0), "{t}: every row of before, unknown");
        let coll: Option<String> = c
            .query_one(
                "SELECT collation_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'blob_id'",
                &[&t],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(coll.as_deref(), Some("C"), "{t}");
    }
    c.batch_execute(
        "UPDATE segments SET crc64 = -1 WHERE idx = 1;
         UPDATE version_segments SET crc64 = -9223372036854775808 WHERE idx = 1;
         UPDATE parts SET crc64 = 7 WHERE part_number = 1;",
    )
    .await
    .unwrap();
    c.batch_execute("VACUUM ANALYZE segments, version_segments, parts").await.unwrap();
    let crc: Option<i64> = c.query_one("SELECT crc64 FROM segments WHERE idx = 1", &[]).await.unwrap().get(0);
    assert_eq!(crc.map(|v| v as u64), Some(u64::MAX), "a u64 goes in as its bit pattern and comes back");
    for op in [">=", ">"] {
        c.batch_execute(&format!(
            "SET plan_cache_mode = force_generic_plan;
             PREPARE r(text, int8) AS {};",
            crate::segments::refs_sql(op)
        ))
        .await
        .unwrap();
        let plan: Vec<String> =
            c.query("EXPLAIN EXECUTE r('8', 100)", &[]).await.unwrap().iter().map(|r| r.get::<_, String>(0)).collect();
        let plan = plan.join("\n");
        for index in ["segments_by_blob", "version_segments_by_blob", "parts_by_blob"] {
            assert!(plan.contains(&format!("Index Scan using {index}")), "{op}: {plan}");
        }
        assert!(!plan.contains("Seq Scan"), "{op}: {plan}");
        // In bytewise order from the start, each table's rows once.
        let rows = c.query("EXECUTE r('8', 100)", &[]).await.unwrap();
        let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(ids.len(), 100);
        assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0].as_str() >= "8", "{ids:?}");
        c.batch_execute("DEALLOCATE r").await.unwrap();
    }
    migrate(&mut c, 11).await.unwrap();
    for t in tables {
        let n: i64 = c.query_one(&format!("SELECT count(*) FROM {t}"), &[]).await.unwrap().get(0);
        assert_eq!(n, 20000, "{t}");
    }
    assert!(c.query("SELECT crc64 FROM segments", &[]).await.is_err(), "the column is gone");
    assert!(!has_table(&c, "job_state").await, "v12's down drops job_state");
    migrate(&mut c, 12).await.unwrap();
    assert!(has_table(&c, "job_state").await);
}

/// Whether the test schema has this table.
async fn has_table(c: &Client, table: &str) -> bool {
    c.query_one(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1)",
        &[&table],
    )
    .await
    .unwrap()
    .get(0)
}
