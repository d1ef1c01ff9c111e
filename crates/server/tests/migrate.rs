//! `coffer migrate` end to end, on the built binary and a real PostgreSQL
//! server (`scripts/with-postgres`): data written through S3 to a server on
//! SQLite, the server stopped, the binary run; then read through the
//! PostgreSQL store, and served again by `coffer server --meta`
//! from PostgreSQL with the old blob directory and the old keys.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use coffer_meta::{BucketQuery, IdentityStore, ListQuery, MetaStore};
use coffer_meta_postgres::testing::TestDatabase;
use common::admin::Key;
use common::{pattern, TestServer};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_coffer");
const BUCKET: &str = "migrated";

/// The objects written: an inline one, a one-blob one, a two-part multipart
/// one (each part its own blob), and an empty one.
fn objects() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("small.txt", pattern(1000, 1)),
        ("dir/ünï code/blob.bin", pattern(300 << 10, 2)),
        ("empty", vec![]),
        ("multipart.bin", [pattern(5 << 20, 3), pattern(1 << 20, 4)].concat()),
    ]
}

/// Writes a project, its root key, a bucket and the objects; returns the key.
async fn write_data(s: &TestServer) -> Key {
    s.admin("POST", "/projects", Some(json!({"name": "acme"}))).await;
    let root = s.new_key("acme", None, None).await;
    let c = s.client_with(&root.ak, &root.sk);
    c.create_bucket().bucket(BUCKET).send().await.unwrap();
    for (key, data) in objects() {
        if key == "multipart.bin" {
            let up = c.create_multipart_upload().bucket(BUCKET).key(key).send().await.unwrap();
            let id = up.upload_id().unwrap();
            let mut parts = vec![];
            for (i, chunk) in [&data[..5 << 20], &data[5 << 20..]].iter().enumerate() {
                let n = i as i32 + 1;
                let p = c
                    .upload_part()
                    .bucket(BUCKET)
                    .key(key)
                    .upload_id(id)
                    .part_number(n)
                    .body(ByteStream::from(chunk.to_vec()))
                    .send()
                    .await
                    .unwrap();
                parts.push(CompletedPart::builder().part_number(n).e_tag(p.e_tag().unwrap()).build());
            }
            let done = CompletedMultipartUpload::builder().set_parts(Some(parts)).build();
            c.complete_multipart_upload()
                .bucket(BUCKET)
                .key(key)
                .upload_id(id)
                .multipart_upload(done)
                .send()
                .await
                .unwrap();
        } else {
            c.put_object().bucket(BUCKET).key(key).body(ByteStream::from(data)).send().await.unwrap();
        }
    }
    // An upload left in progress, and an overwrite (its old blob queued for GC).
    c.create_multipart_upload().bucket(BUCKET).key("unfinished").send().await.unwrap();
    c.put_object().bucket(BUCKET).key("small.txt").body(ByteStream::from(pattern(1000, 1))).send().await.unwrap();
    root
}

/// A `postgresql://` URL of `db` (what `--meta` takes), from the one
/// `scripts/with-postgres` exports for its `postgres` database.
fn url_of(db: &TestDatabase) -> String {
    let server = std::env::var("COFFER_TEST_POSTGRES_URI").expect("run under scripts/with-postgres");
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{}", db.config().get_dbname().unwrap())
}

fn migrate_cmd(data_dir: &Path, url: &str) -> Output {
    Command::new(BIN)
        .args(["migrate", "--data-dir"])
        .arg(data_dir)
        .args(["--to", url])
        .env_remove("COFFER_META")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn migrate_copies_what_a_server_wrote_and_never_runs_beside_one() {
    let Some(db) = TestDatabase::new("migrate_copies_what_a_server_wrote").await else { return };
    let url = url_of(&db);
    let s = TestServer::start().await;
    let root = write_data(&s).await;
    let data_dir = s.dir.path().join("data");

    // Beside a live server: refused before anything is read or written.
    let out = migrate_cmd(&data_dir, &url);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("another coffer server is using the data directory"), "{}", text(&out.stderr));

    let dir = s.stop().await;
    let out = migrate_cmd(&data_dir, &url);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("objects") && stdout.contains(BUCKET) && stdout.contains("verified"), "{stdout}");
    assert!(stdout.contains("--blobs fs://") && stdout.contains("master.key"), "{stdout}");

    // A second run finds the data there and refuses.
    let again = migrate_cmd(&data_dir, &url);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already holds Coffer data"), "{}", text(&again.stderr));

    // Everything reads the same through both stores.
    let pg = coffer_meta_postgres::PgMetaStore::connect_config(db.config(), 2).await.unwrap();
    let sqlite = coffer_meta_sqlite::SqliteMetaStore::open(data_dir.join("meta.db")).unwrap();
    let every = BucketQuery { limit: 1000, ..Default::default() };
    assert_eq!(pg.list_buckets(&every).await.unwrap(), sqlite.list_buckets(&every).await.unwrap());
    let q = ListQuery { limit: 100, ..Default::default() };
    let listed = pg.list_objects(BUCKET, &q).await.unwrap();
    assert_eq!(listed, sqlite.list_objects(BUCKET, &q).await.unwrap());
    assert_eq!(listed.len(), objects().len());
    for o in &listed {
        assert_eq!(pg.get_object(BUCKET, o.key()).await.unwrap(), sqlite.get_object(BUCKET, o.key()).await.unwrap());
    }
    let key = pg.get_access_key(&root.ak).await.unwrap().expect("the project key came along");
    assert_eq!(Some(key), sqlite.get_access_key(&root.ak).await.unwrap(), "sealed secret and all");
    assert_eq!(pg.get_access_key(common::AK).await.unwrap(), sqlite.get_access_key(common::AK).await.unwrap());
    assert_eq!(pg.bucket_totals(BUCKET).await.unwrap(), sqlite.bucket_totals(BUCKET).await.unwrap());
    assert_eq!(
        pg.gc_pending(i64::MAX, 100).await.unwrap().len(),
        sqlite.gc_pending(i64::MAX, 100).await.unwrap().len()
    );
    drop(dir);
}

/// A free TCP port on the loopback interface.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Kills the server process when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_migrated_deployment_serves_every_object_and_key_from_postgres() {
    let Some(db) = TestDatabase::new("a_migrated_deployment_serves").await else { return };
    let url = url_of(&db);
    let s = TestServer::start().await;
    let root = write_data(&s).await;
    let old = s.stop().await;
    let data_dir = old.path().join("data");
    let out = migrate_cmd(&data_dir, &url);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The new deployment: metadata in PostgreSQL, the old blob directory,
    // the old master key, a fresh (empty) data directory of its own.
    let new_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .arg("server")
        .arg("--data-dir")
        .arg(new_dir.path())
        .args(["--meta", &url])
        .arg("--blobs")
        .arg(format!("fs://{}", data_dir.join("blobs").display()))
        .arg("--master-key-file")
        .arg(data_dir.join("master.key"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--no-console"])
        .env_remove("COFFER_MASTER_KEY")
        .env("COFFER_ROOT_ACCESS_KEY", "AKNEWOPERATOR")
        .env("COFFER_ROOT_SECRET_KEY", "new-operator-secret-0123456789")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Child(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let ready = format!("{endpoint}/_coffer/health/ready");
    let mut up = false;
    for _ in 0..100 {
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("the server on PostgreSQL exited: {status}");
        }
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let req = "GET /_coffer/health/ready HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n";
            if s.write_all(req.as_bytes()).await.is_ok() {
                let mut buf = vec![];
                let _ = s.read_to_end(&mut buf).await;
                if buf.starts_with(b"HTTP/1.1 200") {
                    up = true;
                    break;
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server on PostgreSQL answers {ready}");

    // The old keys sign in: the project's root key and the old operator key.
    for (ak, sk) in [(root.ak.as_str(), root.sk.as_str()), (common::AK, common::SK)] {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_sdk_s3::config::Region::new(common::REGION))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(ak, sk, None, None, "test"))
            .force_path_style(true)
            .build();
        let c = aws_sdk_s3::Client::from_conf(conf);
        for (key, data) in objects() {
            let got = c.get_object().bucket(BUCKET).key(key).send().await.unwrap();
            let body = got.body.collect().await.unwrap().into_bytes();
            assert!(body[..] == data[..], "{key}: {} bytes back, {} written", body.len(), data.len());
        }
        let listed = c.list_objects_v2().bucket(BUCKET).send().await.unwrap();
        assert_eq!(listed.contents().len(), objects().len());
        let uploads = c.list_multipart_uploads().bucket(BUCKET).send().await.unwrap();
        assert_eq!(uploads.uploads().len(), 1, "the upload in progress came along");
    }
}
