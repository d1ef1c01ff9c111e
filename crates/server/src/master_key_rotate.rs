//! `coffer master-key`: rotating the master key while servers serve
//! (`rotate`), and naming keys (`id`, `generate`).
//!
//! `rotate --new-key-file NEW`:
//! 1. reads the key file the servers read (`--master-key-file`, default
//!    `DATA_DIR/master.key`) and NEW (one key);
//! 2. opens the metadata store, as a second process beside the servers (no
//!    data-directory lock, no blobs);
//! 3. rewrites the key file atomically as NEW followed by the old keys:
//!    servers re-read it within a second ([`crate::master_key::watch`]), and
//!    from then on seal under NEW and open under both;
//! 4. waits `--reload-wait-secs` for them, then re-seals every stored secret
//!    under NEW ([`coffer_iam::Iam::reseal_all`], each write a
//!    compare-and-set), pass after pass until one finds nothing to do;
//! 5. unless `--keep-old`, rewrites the file with NEW alone.
//!
//! On PostgreSQL each gateway reads its own copy of the key file, so step 3
//! is the operator's (the new key put first in every copy) and the command
//! refuses to run until its copy has it (docs/operations.md).
//!
//! If some secret opens under none of the keys, the file keeps the old keys
//! and the command fails, naming those access keys; run it again with the
//! same NEW to finish. Console sessions sealed under the old key end when
//! the old key is dropped (their users sign in again).

use crate::master_key::{self, ids_text, KeyBytes};
use crate::stores::{redact, MetaLocation};
use anyhow::Context as _;
use coffer_iam::seal::{KeyId, MasterKey};
use coffer_iam::ResealReport;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Re-sealing passes before giving up on secrets that keep changing.
const MAX_PASSES: usize = 5;

/// `coffer master-key …`.
#[derive(clap::Subcommand, Debug)]
pub enum MasterKeyCommand {
    /// Move every stored secret to a new master key while servers keep
    /// serving (see docs/operations.md, "Rotating the master key").
    Rotate(RotateArgs),
    /// Print the id of each key in a key file (the first seals).
    Id {
        /// A master key file (a base64 key per line).
        #[arg(long)]
        key_file: PathBuf,
    },
    /// Write a new random master key (base64, mode 0600) to a file that
    /// must not exist, and print its id.
    Generate {
        /// The file to create.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `coffer master-key rotate`.
#[derive(clap::Args, Debug)]
pub struct RotateArgs {
    /// A file holding the new key: base64 of 32 bytes (`coffer master-key
    /// generate --out FILE` makes one).
    #[arg(long)]
    pub new_key_file: PathBuf,
    /// The data directory; its `master.key` is the key file unless
    /// --master-key-file is given.
    #[arg(long, env = "COFFER_DATA_DIR", default_value = "./coffer-data")]
    pub data_dir: PathBuf,
    /// The key file the servers read (`coffer server --master-key-file`).
    #[arg(long, env = "COFFER_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// The metadata store, as the servers are given it (default:
    /// sqlite://DATA_DIR/meta.db).
    #[arg(long, env = "COFFER_META", value_parser = MetaLocation::parse)]
    pub meta: Option<MetaLocation>,
    /// CA certificates (PEM) PostgreSQL's certificate must chain to with
    /// `sslmode=require`; default: the system's roots.
    #[arg(long, env = "COFFER_META_CA_FILE")]
    pub meta_ca_file: Option<PathBuf>,
    /// Seconds to wait after each rewrite of the key file, for running
    /// servers (which re-read it every second) to take it.
    #[arg(long, default_value_t = 2)]
    pub reload_wait_secs: u64,
    /// Leave the old keys in the key file after re-sealing (to drop them
    /// later, once every gateway's copy holds the new key).
    #[arg(long)]
    pub keep_old: bool,
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    /// The key file rewritten.
    pub key_file: PathBuf,
    /// The key everything is sealed under now.
    pub new: KeyId,
    /// The keys it replaced, dropped from the file unless `kept_old`.
    pub old: Vec<KeyId>,
    pub kept_old: bool,
    /// A rotation to the same key was begun before (the file already had
    /// it first, with old keys after it): this run finished it.
    pub resumed: bool,
    /// One report per re-sealing pass.
    pub passes: Vec<ResealReport>,
}

impl Rotated {
    /// What to print.
    pub fn summary(&self) -> String {
        let first = self.passes.first().cloned().unwrap_or_default();
        let resealed: usize = self.passes.iter().map(|p| p.resealed).sum();
        let mut out = format!(
            "master key rotated{}: secrets are sealed under {}\n  access keys: {} seen, {} re-sealed, {} already \
             under the new key ({} passes)\n",
            if self.resumed { " (a rotation begun earlier, finished)" } else { "" },
            self.new,
            first.seen(),
            resealed,
            first.already_current,
            self.passes.len(),
        );
        let old = ids_text(&self.old);
        if self.kept_old {
            out += &format!(
                "  {}: {} first, old keys {old} kept (--keep-old); run again without --keep-old, or remove them \
                 from every copy of the file, to drop them\n",
                self.key_file.display(),
                self.new
            );
        } else {
            out += &format!(
                "  {}: {} only; old keys {old} dropped. Keep a copy of the new key with your backups. Console \
                 sessions signed in before the rotation have ended: sign in again.\n",
                self.key_file.display(),
                self.new
            );
        }
        out
    }
}

/// Runs a `coffer master-key` command, printing its result.
pub fn run(cmd: MasterKeyCommand) -> anyhow::Result<()> {
    match cmd {
        MasterKeyCommand::Id { key_file } => {
            let keys = master_key::read_keys(&key_file)?;
            for (i, k) in keys.iter().enumerate() {
                let role = if i == 0 { "seals and opens" } else { "opens" };
                println!("{}  {role}", MasterKey::from_bytes(k).id());
            }
            Ok(())
        }
        MasterKeyCommand::Generate { out } => {
            let bytes = MasterKey::generate().map_err(|e| anyhow::anyhow!("generating a key: {e}"))?;
            write_new(&out, &bytes)?;
            println!("{}", MasterKey::from_bytes(&bytes).id());
            Ok(())
        }
        MasterKeyCommand::Rotate(args) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let rotated = rt.block_on(rotate(&args))?;
            print!("{}", rotated.summary());
            Ok(())
        }
    }
}

/// Creates `path` (0600, must not exist) holding one key.
fn write_new(path: &std::path::Path, key: &KeyBytes) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist)", path.display()))?;
    f.write_all(master_key::keys_text(std::slice::from_ref(key)).as_bytes())?;
    f.sync_all().with_context(|| format!("writing {}", path.display()))
}

/// Rotates the master key (see the module's documentation).
pub async fn rotate(args: &RotateArgs) -> anyhow::Result<Rotated> {
    if std::env::var("COFFER_MASTER_KEY").is_ok_and(|v| !v.is_empty()) {
        anyhow::bail!(
            "COFFER_MASTER_KEY is set: servers taking their key from the environment do not re-read it. Rotate a \
             key file (--master-key-file), or unset COFFER_MASTER_KEY here"
        );
    }
    let key_file = args.master_key_file.clone().unwrap_or_else(|| args.data_dir.join("master.key"));
    let current = master_key::read_keys(&key_file)?;
    let new = master_key::read_keys(&args.new_key_file)?;
    let [new] = new[..] else {
        anyhow::bail!("{}: the new key file must hold exactly one key", args.new_key_file.display());
    };
    let new_id = MasterKey::from_bytes(&new).id();
    let resumed = current[0] == new;
    if resumed && current.len() == 1 {
        anyhow::bail!("{new_id} is already the master key, alone in {}: nothing to rotate", key_file.display());
    }
    if args.meta.as_ref().is_some_and(MetaLocation::is_shared) && !resumed {
        // Other gateways read their own copies: rewriting this one would
        // leave them unable to open what is re-sealed.
        anyhow::bail!(
            "on PostgreSQL every gateway reads its own copy of the key file: first put the new key ({new_id}) first \
             and the old keys after it in every copy (this one included), wait for the gateways to log \
             \"master keys reloaded\", then run this again (docs/operations.md, \"Rotating the master key\")"
        );
    }
    let mut ring: Vec<KeyBytes> = vec![new];
    ring.extend(current.iter().filter(|k| **k != new));
    let old: Vec<KeyId> = ring[1..].iter().map(|k| MasterKey::from_bytes(k).id()).collect();

    // The store first: nothing is rewritten unless it opens.
    let store = open_meta(args).await?;
    let iam = coffer_iam::Iam::new(store, master_key::keyring(&ring)?, Vec::new()).with_resolve_ttl(Duration::ZERO);
    if !resumed {
        master_key::write_keys(&key_file, &ring)?;
    }
    let wait = Duration::from_secs(args.reload_wait_secs);
    eprintln!(
        "{}: now {} (first seals); waiting {}s for servers to take it",
        key_file.display(),
        ids_text(&iam.keyring_ids()),
        wait.as_secs()
    );
    tokio::time::sleep(wait).await;

    let mut passes = Vec::new();
    loop {
        let report = iam.reseal_all().await.context("re-sealing the stored secrets")?;
        eprintln!(
            "pass {}: {} re-sealed, {} already current, {} changed meanwhile, {} failed",
            passes.len() + 1,
            report.resealed,
            report.already_current,
            report.skipped,
            report.failed.len()
        );
        let (done, failed) = (report.resealed == 0 && report.skipped == 0, report.failed.clone());
        passes.push(report);
        if !failed.is_empty() {
            anyhow::bail!(
                "{} stored secrets open under none of the keys ({}): access keys {}. The key file keeps the old \
                 keys; delete those access keys (or restore the key that sealed them into the file, after the \
                 new one), then run this again with the same --new-key-file to finish",
                failed.len(),
                ids_text(&iam.keyring_ids()),
                failed.join(", ")
            );
        }
        if done {
            break;
        }
        if passes.len() >= MAX_PASSES {
            anyhow::bail!(
                "secrets kept changing through {MAX_PASSES} passes; the key file keeps the old keys: run this again \
                 with the same --new-key-file to finish"
            );
        }
    }
    if !args.keep_old {
        master_key::write_keys(&key_file, &[new])?;
    }
    Ok(Rotated { key_file, new: new_id, old, kept_old: args.keep_old, resumed, passes })
}

/// The metadata store, opened beside any running server: no data-directory
/// lock, no blobs, and never a new SQLite database.
async fn open_meta(args: &RotateArgs) -> anyhow::Result<Arc<dyn coffer_meta::Store>> {
    let at = args.meta.clone().unwrap_or_else(|| MetaLocation::Sqlite(args.data_dir.join("meta.db")));
    Ok(match at {
        MetaLocation::Sqlite(path) => {
            anyhow::ensure!(path.is_file(), "no metadata at {} (give --data-dir or --meta)", path.display());
            Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(&path).context("opening the SQLite metadata")?)
        }
        MetaLocation::Postgres(url) => {
            let tls = coffer_meta_postgres::PgTls { ca_file: args.meta_ca_file.clone() };
            Arc::new(
                coffer_meta_postgres::PgMetaStore::connect_with(&url, 2, &tls)
                    .await
                    .with_context(|| format!("opening the PostgreSQL metadata at {}", redact(&url)))?,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_meta::IdentityStore as _;

    struct Setup {
        dir: tempfile::TempDir,
        iam: coffer_iam::Iam,
        store: Arc<coffer_meta_sqlite::SqliteMetaStore>,
    }

    const OLD: KeyBytes = [1u8; 32];
    const NEW: KeyBytes = [2u8; 32];

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("meta.db")).unwrap());
        master_key::write_keys(&dir.path().join("master.key"), &[OLD]).unwrap();
        master_key::write_keys(&dir.path().join("new.key"), &[NEW]).unwrap();
        let iam = coffer_iam::Iam::new(store.clone(), MasterKey::from_bytes(&OLD), vec!["r".into()])
            .with_resolve_ttl(Duration::ZERO);
        Setup { dir, iam, store }
    }

    fn args(s: &Setup) -> RotateArgs {
        RotateArgs {
            new_key_file: s.dir.path().join("new.key"),
            data_dir: s.dir.path().to_owned(),
            master_key_file: None,
            meta: None,
            meta_ca_file: None,
            reload_wait_secs: 0,
            keep_old: false,
        }
    }

    async fn key(iam: &coffer_iam::Iam) -> coffer_iam::CreatedKey {
        iam.create_key(&coffer_iam::NewKey { project: "p".into(), ..Default::default() }).await.unwrap()
    }

    #[tokio::test]
    async fn rotates_reseals_and_drops_the_old_key() {
        let s = setup();
        s.iam.create_project("p").await.unwrap();
        let (a, b) = (key(&s.iam).await, key(&s.iam).await);
        s.iam.put_operator_key("OPS", "opsecret").await.unwrap();
        let keep = RotateArgs { keep_old: true, ..args(&s) };
        let r = rotate(&keep).await.unwrap();
        assert_eq!(
            (r.new, r.old.clone(), r.resumed),
            (MasterKey::from_bytes(&NEW).id(), vec![MasterKey::from_bytes(&OLD).id()], false)
        );
        assert_eq!(r.passes.len(), 2, "a second pass finds nothing");
        assert_eq!((r.passes[0].resealed, r.passes[1].resealed, r.passes[1].already_current), (3, 0, 3));
        let file = s.dir.path().join("master.key");
        assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW, OLD], "--keep-old");
        assert!(r.summary().contains("kept"), "{}", r.summary());

        // Again with the same new key: the begun rotation is finished.
        let r = rotate(&args(&s)).await.unwrap();
        assert!(r.resumed && !r.kept_old);
        assert_eq!(master_key::read_keys(&file).unwrap(), vec![NEW]);
        assert!(r.summary().contains("dropped") && r.summary().contains("sign in again"), "{}", r.summary());
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

    /// `--meta postgres://…`, as gateways are given it (under
    /// `scripts/with-postgres`; skipped without a server).
    #[tokio::test]
    async fn rotates_on_postgres() {
        let Some(db) = coffer_meta_postgres::testing::TestDatabase::new("rotates_on_postgres").await else { return };
        let uri = std::env::var("COFFER_TEST_POSTGRES_URI").expect("set by scripts/with-postgres");
        let (server, _) = uri.rsplit_once('/').unwrap();
        let url = format!("{server}/{}", db.config().get_dbname().unwrap());
        let store = Arc::new(coffer_meta_postgres::PgMetaStore::connect_config(db.config(), 2).await.unwrap());
        let iam =
            coffer_iam::Iam::new(store, MasterKey::from_bytes(&OLD), vec!["r".into()]).with_resolve_ttl(Duration::ZERO);
        iam.create_project("p").await.unwrap();
        let k = key(&iam).await;
        iam.put_operator_key("OPS", "opsecret").await.unwrap();
        let s = setup();
        let gateway_file = s.dir.path().join("gateway.key");
        master_key::write_keys(&gateway_file, &[OLD]).unwrap();
        let on_pg = RotateArgs {
            meta: Some(MetaLocation::Postgres(url)),
            master_key_file: Some(gateway_file.clone()),
            data_dir: s.dir.path().join("no-data-dir"),
            ..args(&s)
        };
        // The copies must hold the new key first before anything is re-sealed.
        let e = rotate(&on_pg).await.unwrap_err().to_string();
        assert!(e.contains("every copy"), "{e}");
        assert_eq!(master_key::read_keys(&gateway_file).unwrap(), vec![OLD], "untouched");
        master_key::write_keys(&gateway_file, &[NEW, OLD]).unwrap();
        let r = rotate(&on_pg).await.unwrap();
        assert!(r.resumed);
        assert_eq!(r.passes[0].resealed, 2, "{:?}", r.passes);
        assert_eq!(master_key::read_keys(&gateway_file).unwrap(), vec![NEW]);
        iam.set_keyring(master_key::keyring(&[NEW]).unwrap());
        assert_eq!(iam.resolve(&k.record.access_key, None, 0).await.unwrap().secret, k.secret);
        assert_eq!(iam.operator_secret("OPS").await.unwrap().as_deref(), Some("opsecret"));
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
        let e = rotate(&RotateArgs { data_dir: nowhere.clone(), master_key_file: Some(file.clone()), ..args(&s) })
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("no metadata"), "{e}");
        assert!(!nowhere.exists(), "no database made");
        assert_eq!(master_key::read_keys(&file).unwrap(), vec![OLD], "unchanged");
    }
}
