//! The shared MetaStore conformance suites against a real PostgreSQL server
//! (`COFFER_TEST_POSTGRES_URL`, set by `scripts/with-postgres`), each test
//! in a schema of its own. Without a server every test prints why it is
//! skipped, or fails when `COFFER_REQUIRE_POSTGRES=1` (the test command).

use coffer_meta::{console_conformance_tests, meta_conformance_tests, two_handle_conformance_tests, Store};
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
