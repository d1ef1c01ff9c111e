//! `coffer master-key rotate` on SQLite and PostgreSQL, with and without
//! servers running, and its refusals.

use super::*;
use coffer_meta::IdentityStore as _;
use std::os::unix::fs::PermissionsExt as _;

struct Setup {
    dir: tempfile::TempDir,
    iam: coffer_iam::Iam,
    store: Arc<coffer_meta_sqlite::SqliteMetaStore>,
}

const OLD: KeyBytes = [1u8; 32];
const NEW: KeyBytes = [2u8; 32];

fn id(k: &KeyBytes) -> KeyId {
    MasterKey::from_bytes(k).id()
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("meta.db")).unwrap());
    master_key::write_keys(&dir.path().join("master.key"), &[OLD]).unwrap();
    master_key::write_keys(&dir.path().join("new.key"), &[NEW]).unwrap();
    let iam = coffer_iam::Iam::new(store.clone(), MasterKey::from_bytes(&OLD), vec!["r".into()])
        .with_resolve_ttl(Duration::ZERO);
    Setup { dir, iam, store }
}

/// A rotation with no server running.
fn args(s: &Setup) -> RotateArgs {
    RotateArgs {
        new_key_file: s.dir.path().join("new.key"),
        at: MetaArgs { data_dir: s.dir.path().to_owned(), meta: None, meta_ca_file: None },
        master_key_file: None,
        reload_wait_secs: 0,
        servers_stopped: true,
        keep_old: false,
    }
}

async fn key(iam: &coffer_iam::Iam) -> coffer_iam::CreatedKey {
    iam.create_key(&coffer_iam::NewKey { project: "p".into(), ..Default::default() }).await.unwrap()
}

/// A server on `store` following `key_file` and reporting its keys as
/// `name`, quicker than a real one; stopped (its report removed) when
/// the sender is.
async fn server(
    store: Arc<dyn coffer_meta::Store>,
    key_file: &Path,
    name: &str,
) -> (coffer_iam::Iam, tokio::sync::watch::Sender<bool>) {
    let keys = master_key::keyring(&master_key::read_keys(key_file).unwrap()).unwrap();
    let iam = coffer_iam::Iam::new(store.clone(), keys, vec!["r".into()]).with_resolve_ttl(Duration::ZERO);
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(master_key::watch(iam.clone(), key_file.to_owned(), Duration::from_millis(50), rx.clone()));
    let every = (Duration::from_millis(20), Duration::from_secs(1));
    keyring_presence::start_with(store, iam.clone(), format!("keyring:{name}"), every, rx).await.unwrap();
    (iam, stop)
}

#[tokio::test]
async fn rotates_reseals_and_drops_the_old_key() {
    let s = setup();
    s.iam.create_project("p").await.unwrap();
    let (a, b) = (key(&s.iam).await, key(&s.iam).await);
    s.iam.put_operator_key("OPS", "opsecret").await.unwrap();
    let file = s.dir.path().join("master.key");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let keep = RotateArgs { keep_old: true, ..args(&s) };
    let r = rotate(&keep).await.unwrap();
    assert_eq!((r.new, r.old.clone(), r.resumed), (id(&NEW), vec![id(&OLD)], false));
    assert_eq!(r.passes.len(), 2, "a second pass finds nothing");
    assert_eq!((r.passes[0].resealed, r.passes[1].resealed, r.passes[1].already_current), (3, 0, 3));
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW, OLD], "--keep-old");
    assert!(r.summary().contains("kept") && r.retired.is_empty(), "{}", r.summary());

    // Again with the same new key: the begun rotation is finished.
    let r = rotate(&args(&s)).await.unwrap();
    assert!(r.resumed && !r.kept_old);
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW]);
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640, "mode kept");
    assert!(r.summary().contains("dropped") && r.summary().contains("sign in again"), "{}", r.summary());
    // The old key is kept beside the file, for older backups.
    let retired = s.dir.path().join(format!("master.key.retired-{}", id(&OLD)));
    assert_eq!(r.retired, vec![std::fs::canonicalize(&retired).unwrap()]);
    assert!(r.summary().contains(&retired.display().to_string()), "{}", r.summary());
    assert_eq!(master_key::read_keys(&retired).unwrap(), vec![OLD]);
    assert_eq!(std::fs::metadata(&retired).unwrap().permissions().mode() & 0o777, 0o600);
    let e = rotate(&args(&s)).await.unwrap_err().to_string();
    assert!(e.contains("nothing to rotate"), "{e}");

    // Everything opens under the new key alone.
    s.iam.set_keyring(master_key::keyring(&[NEW]).unwrap());
    for k in [&a, &b] {
        let got = s.iam.resolve(&k.record.access_key, None, coffer_types::now_millis()).await.unwrap();
        assert_eq!(got.secret, k.secret);
    }
    assert_eq!(s.iam.operator_secret("OPS").await.unwrap().as_deref(), Some("opsecret"));
}

#[tokio::test]
async fn a_secret_that_opens_under_no_key_keeps_the_old_keys() {
    let s = setup();
    s.iam.create_project("p").await.unwrap();
    let lost = key(&s.iam).await;
    let foreign = MasterKey::from_bytes(&[9u8; 32]).seal(&lost.record.access_key, "x").unwrap();
    s.store.set_access_key_secret(&lost.record.access_key, &foreign).await.unwrap();
    key(&s.iam).await;
    let e = format!("{:#}", rotate(&args(&s)).await.unwrap_err());
    assert!(e.contains(&lost.record.access_key) && e.contains("keeps the old keys"), "{e}");
    let file = s.dir.path().join("master.key");
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW, OLD]);
    // Delete the lost key, run again: finished.
    s.iam.delete_key(&lost.record.access_key).await.unwrap();
    let r = rotate(&args(&s)).await.unwrap();
    assert!(r.resumed);
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW]);
}

/// With servers running: they take the new key before anything is
/// re-sealed; without any, only `--servers-stopped` rotates.
#[tokio::test]
async fn waits_for_running_servers_and_refuses_without_any() {
    let s = setup();
    s.iam.create_project("p").await.unwrap();
    let k = key(&s.iam).await;
    let file = s.dir.path().join("master.key");
    let live = RotateArgs { servers_stopped: false, reload_wait_secs: 10, ..args(&s) };
    let e = rotate(&live).await.unwrap_err().to_string();
    assert!(e.contains("no running server") && e.contains("--servers-stopped"), "{e}");
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![OLD], "nothing changed");

    let (running, stop) = server(s.store.clone(), &file, "one").await;
    let r = rotate(&live).await.unwrap();
    assert_eq!(r.servers.len(), 1);
    assert_eq!(r.passes[0].resealed, 1);
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW]);
    for _ in 0..100 {
        if running.keyring_ids() == vec![id(&NEW)] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(running.keyring_ids(), vec![id(&NEW)], "the server dropped the old key too");
    assert_eq!(running.resolve(&k.record.access_key, None, 0).await.unwrap().secret, k.secret);
    drop(stop);
}

/// A running server that never takes the new key stops the rotation
/// before anything is re-sealed, naming it.
#[tokio::test]
async fn a_server_that_does_not_take_the_new_key_stops_the_rotation() {
    let s = setup();
    s.iam.create_project("p").await.unwrap();
    let k = key(&s.iam).await;
    let file = s.dir.path().join("master.key");
    // It reads another copy, with the old key alone.
    let other_copy = s.dir.path().join("elsewhere.key");
    master_key::write_keys(&other_copy, &[OLD]).unwrap();
    let (_lagging, stop) = server(s.store.clone(), &other_copy, "stuck-gateway").await;
    let live = RotateArgs { servers_stopped: false, reload_wait_secs: 1, ..args(&s) };
    let e = rotate(&live).await.unwrap_err().to_string();
    assert!(e.contains("stuck-gateway") && e.contains("Nothing was re-sealed"), "{e}");
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW, OLD], "left with the new key first");
    let stored = s.store.get_access_key(&k.record.access_key).await.unwrap().unwrap();
    assert!(!master_key::keyring(&[NEW]).unwrap().is_current(&stored.sealed_secret), "not re-sealed");
    // Its copy gets the new key first: the rotation finishes.
    master_key::write_keys(&other_copy, &[NEW, OLD]).unwrap();
    let r = rotate(&live).await.unwrap();
    assert!(r.resumed && r.servers.len() == 1);
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW]);
    drop(stop);
}

/// One rotation at a time; the last write only over what this run wrote.
#[tokio::test]
async fn one_rotation_at_a_time_and_never_over_a_changed_file() {
    let s = setup();
    let file = s.dir.path().join("master.key");
    let held = lock(&file).unwrap();
    let e = rotate(&args(&s)).await.unwrap_err().to_string();
    assert!(e.contains("another `coffer master-key rotate`"), "{e}");
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![OLD], "untouched");
    drop(held);

    master_key::write_keys(&file, &[NEW, OLD]).unwrap();
    let e = drop_old_keys(&file, &[NEW, [7u8; 32]]).unwrap_err().to_string();
    assert!(e.contains("changed while this rotation ran"), "{e}");
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW, OLD], "left as it is");
    assert!(!s.dir.path().join(format!("master.key.retired-{}", id(&[7u8; 32]))).exists());
    // A retired file of another key in the way stops it too.
    let retired = s.dir.path().join(format!("master.key.retired-{}", id(&OLD)));
    std::fs::write(&retired, master_key::keys_text(&[[8u8; 32]])).unwrap();
    let e = drop_old_keys(&file, &[NEW, OLD]).unwrap_err().to_string();
    assert!(e.contains("move it away"), "{e}");
    std::fs::remove_file(&retired).unwrap();
    drop_old_keys(&file, &[NEW, OLD]).unwrap();
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW]);
    assert!(std::fs::read_to_string(&retired).unwrap().contains("# Master key"), "says what it is");
}

/// A key file reached through a symbolic link: the target is rewritten
/// (the link stays), with the lock and the retired key beside it.
#[tokio::test]
async fn a_linked_key_file_is_rotated_where_it_is() {
    let s = setup();
    let etc = s.dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    let target = etc.join("coffer.key");
    std::fs::rename(s.dir.path().join("master.key"), &target).unwrap();
    let link = s.dir.path().join("master.key");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let r = rotate(&args(&s)).await.unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(master_key::read_keys(&target).unwrap(), vec![NEW]);
    assert_eq!(r.key_file, std::fs::canonicalize(&target).unwrap());
    let mut beside: Vec<String> =
        std::fs::read_dir(&etc).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    beside.sort();
    let retired = format!("coffer.key.retired-{}", id(&OLD));
    assert_eq!(beside, ["coffer.key", "coffer.key.lock", retired.as_str()]);
}

/// `--meta postgres://…`, as gateways are given it, with two gateways
/// each reading its own copy of the key file (under
/// `scripts/with-postgres`; skipped without a server, failed instead
/// with `COFFER_REQUIRE_POSTGRES=1`, by `TestDatabase::new`).
#[tokio::test]
async fn rotates_on_postgres() {
    let Some(db) = coffer_meta_postgres::testing::TestDatabase::new("rotates_on_postgres").await else { return };
    let uri = std::env::var("COFFER_TEST_POSTGRES_URI").expect("set by scripts/with-postgres");
    let (server_uri, _) = uri.rsplit_once('/').unwrap();
    let url = format!("{server_uri}/{}", db.config().get_dbname().unwrap());
    let store = Arc::new(coffer_meta_postgres::PgMetaStore::connect_config(db.config(), 2).await.unwrap());
    let iam = coffer_iam::Iam::new(store.clone(), MasterKey::from_bytes(&OLD), vec!["r".into()])
        .with_resolve_ttl(Duration::ZERO);
    iam.create_project("p").await.unwrap();
    let k = key(&iam).await;
    iam.put_operator_key("OPS", "opsecret").await.unwrap();
    let s = setup();
    let (copy_a, copy_b) = (s.dir.path().join("a.key"), s.dir.path().join("b.key"));
    master_key::write_keys(&copy_a, &[OLD]).unwrap();
    master_key::write_keys(&copy_b, &[OLD]).unwrap();
    let (gateway_a, stop_a) = server(store.clone(), &copy_a, "gateway-a").await;
    let (_gateway_b, stop_b) = server(store.clone(), &copy_b, "gateway-b").await;
    let on_pg = RotateArgs {
        at: MetaArgs {
            meta: Some(MetaLocation::Postgres(url)),
            data_dir: s.dir.path().join("no-data-dir"),
            meta_ca_file: None,
        },
        master_key_file: Some(copy_a.clone()),
        servers_stopped: false,
        reload_wait_secs: 2,
        keep_old: true,
        ..args(&s)
    };
    // The copies must hold the new key first before anything is re-sealed.
    let e = rotate(&on_pg).await.unwrap_err().to_string();
    assert!(e.contains("every copy"), "{e}");
    assert_eq!(master_key::read_keys(&copy_a).unwrap(), vec![OLD], "untouched");
    // Steps 0 and 1 on gateway A's copy only: B is named.
    master_key::write_keys(&copy_a, &[OLD, NEW]).unwrap();
    master_key::write_keys(&copy_a, &[NEW, OLD]).unwrap();
    let e = rotate(&on_pg).await.unwrap_err().to_string();
    assert!(e.contains("gateway-b") && !e.contains("gateway-a"), "{e}");
    assert_eq!(gateway_a.keyring_ids(), vec![id(&NEW), id(&OLD)]);
    // And on B's: re-sealed, old key kept (step 2).
    master_key::write_keys(&copy_b, &[NEW, OLD]).unwrap();
    let r = rotate(&on_pg).await.unwrap();
    assert!(r.resumed && r.kept_old);
    assert_eq!(r.servers.len(), 2);
    assert_eq!(r.passes[0].resealed, 2, "{:?}", r.passes);
    assert_eq!(master_key::read_keys(&copy_a).unwrap(), vec![NEW, OLD]);
    // Step 3: every copy with the new key alone.
    master_key::write_keys(&copy_a, &[NEW]).unwrap();
    master_key::write_keys(&copy_b, &[NEW]).unwrap();
    iam.set_keyring(master_key::keyring(&[NEW]).unwrap());
    assert_eq!(iam.resolve(&k.record.access_key, None, 0).await.unwrap().secret, k.secret);
    assert_eq!(iam.operator_secret("OPS").await.unwrap().as_deref(), Some("opsecret"));
    drop((stop_a, stop_b));
}

#[tokio::test]
async fn refusals_touch_nothing() {
    let s = setup();
    let file = s.dir.path().join("master.key");
    let two = s.dir.path().join("two.key");
    master_key::write_keys(&two, &[NEW, OLD]).unwrap();
    let e = rotate(&RotateArgs { new_key_file: two, ..args(&s) }).await.unwrap_err().to_string();
    assert!(e.contains("exactly one key"), "{e}");
    let e = rotate(&RotateArgs { new_key_file: file.clone(), ..args(&s) }).await.unwrap_err().to_string();
    assert!(e.contains("nothing to rotate"), "{e}");
    let nowhere = s.dir.path().join("none");
    let at = MetaArgs { data_dir: nowhere.clone(), meta: None, meta_ca_file: None };
    let e =
        format!("{:#}", rotate(&RotateArgs { at, master_key_file: Some(file.clone()), ..args(&s) }).await.unwrap_err());
    assert!(e.contains("opening the SQLite metadata at"), "{e}");
    assert!(!nowhere.exists(), "no database made");
    // A new key that is an old one already.
    master_key::write_keys(&file, &[OLD, NEW]).unwrap();
    let e = rotate(&args(&s)).await.unwrap_err().to_string();
    assert!(e.contains("old key, not a new one"), "{e}");
    assert_eq!(master_key::read_keys(&file).unwrap(), vec![OLD, NEW], "unchanged");
    let missing = RotateArgs { master_key_file: Some(s.dir.path().join("missing.key")), ..args(&s) };
    assert!(rotate(&missing).await.is_err());
    assert!(!s.dir.path().join("missing.key").exists() && !s.dir.path().join("missing.key.lock").exists());
}
