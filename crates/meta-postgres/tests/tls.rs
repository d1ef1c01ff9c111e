//! TLS to PostgreSQL (`sslmode=require`): every pooled connection is
//! encrypted and the server's certificate verified; a certificate from
//! another CA is refused before anything is sent. Runs against the TLS
//! listener `scripts/with-postgres` starts (its own CA).

use coffer_meta::*;
use coffer_meta_postgres::testing::TestDatabase;
use coffer_meta_postgres::{Config, PgMetaStore, PgTls};

struct Tls {
    db: TestDatabase,
    config: Config,
    ca: std::path::PathBuf,
    other_ca: std::path::PathBuf,
}

async fn setup(test: &str) -> Option<Tls> {
    let db = TestDatabase::new(test).await?;
    let var = |v: &str| std::env::var(v).unwrap_or_else(|_| panic!("{v} is unset: run under scripts/with-postgres"));
    let mut config: Config = var("COFFER_TEST_POSTGRES_TLS_URI").parse().unwrap();
    config.dbname(db.config().get_dbname().unwrap());
    Some(Tls {
        db,
        config,
        ca: var("COFFER_TEST_POSTGRES_CA").into(),
        other_ca: var("COFFER_TEST_POSTGRES_OTHER_CA").into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_speaks_verified_tls() {
    let Some(t) = setup("tls::the_pool_speaks_verified_tls").await else { return };
    let tls = PgTls { ca_file: Some(t.ca.clone()) };
    let store = PgMetaStore::connect_config_with(t.config.clone(), 3, &tls).await.unwrap();
    store
        .create_bucket(BucketRecord {
            name: "b".into(),
            region: "r".into(),
            project: "p".into(),
            created: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(store.get_bucket("b").await.unwrap().is_some());
    // Ask the server how the store's own connections arrived.
    let (client, conn) = t.config.connect(tls.connector().unwrap()).await.unwrap();
    tokio::spawn(conn);
    let db = t.db.config().get_dbname().unwrap().to_owned();
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
             WHERE a.datname = $1 AND a.application_name = 'coffer'",
            &[&db],
        )
        .await
        .unwrap();
    let (encrypted, all): (i64, i64) = (row.get(0), row.get(1));
    assert!(all >= 3, "the warm pool's 3 connections are there: {all}");
    assert_eq!(encrypted, all, "every connection of the store is TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused() {
    let Some(t) = setup("tls::a_certificate_from_another_ca_is_refused").await else { return };
    let tls = PgTls { ca_file: Some(t.other_ca.clone()) };
    let e = PgMetaStore::connect_config_with(t.config.clone(), 2, &tls).await.err().expect("refused");
    assert!(e.to_string().contains("certificate") || e.to_string().contains("UnknownIssuer"), "{e}");
    let missing = PgTls { ca_file: Some(t.ca.with_extension("missing")) };
    let e = PgMetaStore::connect_config_with(t.config.clone(), 2, &missing).await.err().expect("no CA file");
    assert!(e.to_string().contains("reading CA certificates"), "{e}");
}
