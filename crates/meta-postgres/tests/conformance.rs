//! The shared MetaStore conformance suites against a real PostgreSQL server
//! (`COFFER_TEST_POSTGRES_URL`, set by `scripts/with-postgres`), each test
//! in a schema of its own. Without a server every test prints why it is
//! skipped, or fails when `COFFER_REQUIRE_POSTGRES=1` (the test command).

use coffer_meta::conformance::ListingHarness;
use coffer_meta::{
    console_conformance_tests, listing_scale_tests, meta_conformance_tests, two_handle_conformance_tests, Store,
};
use coffer_meta_postgres::testing::TestSchema;
use std::sync::Arc;

/// Connections per store handle: small, so that many tests in parallel fit
/// the server's connection limit, yet enough for the racing cases.
const POOL: usize = 4;

async fn make() -> Option<(Arc<dyn Store>, TestSchema)> {
    let schema = TestSchema::new("meta-postgres conformance").await?;
    let store = schema.store(POOL).await;
    Some((Arc::new(store), schema))
}

/// Two handles (two pools) on one schema: two gateways sharing a database.
async fn make_pair() -> Option<(Arc<dyn Store>, Arc<dyn Store>, TestSchema)> {
    let schema = TestSchema::new("meta-postgres conformance (two handles)").await?;
    let (a, b) = tokio::join!(schema.store(POOL), schema.store(POOL));
    Some((Arc::new(a), Arc::new(b), schema))
}

meta_conformance_tests!(make);
console_conformance_tests!(make, make_pair);
two_handle_conformance_tests!(make_pair);

/// The listing cases at scale: rows inserted in one statement over a
/// connection of the harness, rows read counted by the store and by the
/// server (`pg_stat_user_indexes`).
struct Harness {
    store: Arc<coffer_meta_postgres::PgMetaStore>,
    client: tokio_postgres::Client,
}

#[async_trait::async_trait]
impl ListingHarness for Harness {
    async fn bulk_insert(&self, bucket: &str, keys: &[String]) {
        let meta = serde_json::to_string(&coffer_meta::ObjectMeta::default()).unwrap();
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
        let n = self
            .client
            .execute(
                "INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta, inline_data)
                 SELECT b.id, k, 1, 'e', 1000, $3, '\\x78'::bytea FROM buckets b, unnest($2::bytea[]) k WHERE b.name = $1",
                &[&bucket, &keys, &meta],
            )
            .await
            .unwrap();
        assert_eq!(n as usize, keys.len());
        // As autovacuum would after such an insert.
        self.client.batch_execute("ANALYZE objects").await.unwrap();
    }
    fn list_reads(&self) -> (u64, u64) {
        self.store.list_reads()
    }
    async fn index_rows_read(&self) -> Option<u64> {
        self.store.flush_statistics().await.unwrap();
        self.client.batch_execute("SELECT pg_stat_clear_snapshot()").await.unwrap();
        let row = self
            .client
            .query_one(
                "SELECT idx_tup_read FROM pg_stat_user_indexes
                 WHERE schemaname = current_schema() AND indexrelname = 'objects_listing'",
                &[],
            )
            .await
            .unwrap();
        Some(row.get::<_, i64>(0) as u64)
    }
}

async fn make_scale() -> Option<(Arc<dyn Store>, Arc<dyn ListingHarness>, TestSchema)> {
    let schema = TestSchema::new("meta-postgres listing at scale").await?;
    let store = Arc::new(schema.store(POOL).await);
    let (client, conn) = schema.config().connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    Some((store.clone(), Arc::new(Harness { store, client }), schema))
}

listing_scale_tests!(make_scale);
