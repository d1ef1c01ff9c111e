//! `coffer master-key`: rotating the master key while servers serve
//! (`rotate`), naming keys (`id`, `generate`), and the keys each running
//! server holds (`servers`).
//!
//! `rotate --new-key-file NEW`:
//! 1. takes `<key file>.lock` (one rotation at a time), reads the key file
//!    the servers read (`--master-key-file`, default `DATA_DIR/master.key`,
//!    through any symbolic link) and NEW (one key, in no other role there);
//! 2. opens the metadata store as a second process beside the servers (no
//!    data-directory lock, no blobs, no migration), and refuses unless some
//!    running server reports its keys there (`keyring_presence.rs`) or
//!    `--servers-stopped` says none runs;
//! 3. rewrites the key file atomically as NEW followed by the old keys:
//!    servers re-read it within a second ([`crate::master_key::watch`]), and
//!    from then on seal under NEW and open under both;
//! 4. waits (at most `--reload-wait-secs`) until every running server
//!    reports NEW first, else stops there naming those that do not; then
//!    re-seals every stored secret under NEW ([`coffer_iam::Iam::reseal_all`],
//!    each write a compare-and-set), pass after pass until one finds nothing
//!    to do, each pass after checking the servers again;
//! 5. unless `--keep-old`: checks the servers once more and that the file is
//!    still what this run wrote, writes each old key to
//!    `<key file>.retired-<id>` (older metadata backups need it), and
//!    rewrites the file with NEW alone.
//!
//! On PostgreSQL each gateway reads its own copy of the key file, so step 3
//! is the operator's (the new key put first in every copy) and the command
//! refuses to run until its copy has it; step 4 then tells whether every
//! gateway did (docs/operations.md).
//!
//! If some secret opens under none of the keys, the file keeps the old keys
//! and the command fails, naming those access keys; run it again with the
//! same NEW to finish. Console sessions sealed under the old key end when
//! the old key is dropped (their users sign in again).

use crate::keyring_presence::{self, Live};
use crate::master_key::{self, ids_text, KeyBytes};
use crate::stores::MetaLocation;
use anyhow::Context as _;
use coffer_iam::seal::{KeyId, MasterKey};
use coffer_iam::ResealReport;
use std::path::{Path, PathBuf};
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
    /// Print the master keys each running server holds (the sealing one
    /// first), as they report them in the metadata.
    Servers(MetaArgs),
}

/// Where the servers' metadata is.
#[derive(clap::Args, Debug, Clone)]
pub struct MetaArgs {
    /// The data directory: its `meta.db` is the metadata unless --meta is
    /// given (and for `rotate`, its `master.key` the key file unless
    /// --master-key-file is given).
    #[arg(long, env = "COFFER_DATA_DIR", default_value = "./coffer-data")]
    pub data_dir: PathBuf,
    /// The metadata store, as the servers are given it (default:
    /// sqlite://DATA_DIR/meta.db).
    #[arg(long, env = "COFFER_META", value_parser = MetaLocation::parse)]
    pub meta: Option<MetaLocation>,
    /// CA certificates (PEM) PostgreSQL's certificate must chain to with
    /// `sslmode=require`; default: the system's roots.
    #[arg(long, env = "COFFER_META_CA_FILE")]
    pub meta_ca_file: Option<PathBuf>,
}

impl MetaArgs {
    fn location(&self) -> MetaLocation {
        self.meta.clone().unwrap_or_else(|| MetaLocation::Sqlite(self.data_dir.join("meta.db")))
    }

    /// The metadata store, opened beside any running server: no
    /// data-directory lock, no blobs, never a new database or a migration.
    async fn open(&self) -> anyhow::Result<Arc<dyn coffer_meta::Store>> {
        crate::stores::open_meta_beside(&self.location(), self.meta_ca_file.clone()).await
    }
}

/// `coffer master-key rotate`.
#[derive(clap::Args, Debug)]
pub struct RotateArgs {
    /// A file holding the new key: base64 of 32 bytes (`coffer master-key
    /// generate --out FILE` makes one).
    #[arg(long)]
    pub new_key_file: PathBuf,
    #[command(flatten)]
    pub at: MetaArgs,
    /// The key file the servers read (`coffer server --master-key-file`).
    #[arg(long, env = "COFFER_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// At most this many seconds to wait for every running server to take
    /// the rewritten key file (they re-read it every second and report the
    /// keys they hold in the metadata).
    #[arg(long, default_value_t = 30)]
    pub reload_wait_secs: u64,
    /// No server runs on this metadata: rotate although none reports its
    /// keys. A server that does report still has to take the new key.
    #[arg(long)]
    pub servers_stopped: bool,
    /// Leave the old keys in the key file after re-sealing (to drop them
    /// later, once every gateway's copy holds the new key).
    #[arg(long)]
    pub keep_old: bool,
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    /// The key file rewritten (through any symbolic link).
    pub key_file: PathBuf,
    /// The key everything is sealed under now.
    pub new: KeyId,
    /// The keys it replaced, dropped from the file unless `kept_old`.
    pub old: Vec<KeyId>,
    pub kept_old: bool,
    /// Where the dropped keys were written (`<key file>.retired-<id>`).
    pub retired: Vec<PathBuf>,
    /// A rotation to the same key was begun before (the file already had
    /// it first, with old keys after it): this run finished it.
    pub resumed: bool,
    /// The running servers that took the new key (none: `--servers-stopped`).
    pub servers: Vec<Live>,
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
             under the new key ({} passes)\n  running servers on the new key: {}\n",
            if self.resumed { " (a rotation begun earlier, finished)" } else { "" },
            self.new,
            first.seen(),
            resealed,
            first.already_current,
            self.passes.len(),
            self.servers.len(),
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
                "  {}: {} only; old keys {old} dropped from it, and kept in {} (metadata backups from before \
                 need them). Keep a copy of the new key with your backups. Console sessions signed in before \
                 the rotation have ended: sign in again.\n",
                self.key_file.display(),
                self.new,
                self.retired.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            );
        }
        out
    }
}

/// Runs a `coffer master-key` command, printing its result.
pub fn run(cmd: MasterKeyCommand) -> anyhow::Result<()> {
    let runtime =
        || tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime");
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
        MasterKeyCommand::Servers(at) => runtime()?.block_on(async {
            let servers = keyring_presence::live(at.open().await?.as_ref()).await?;
            for s in &servers {
                println!("{}", s.describe());
            }
            if servers.is_empty() {
                eprintln!("no running server reports its master keys in {}", at.location().display());
            }
            Ok(())
        }),
        MasterKeyCommand::Rotate(args) => {
            let rotated = runtime()?.block_on(rotate(&args))?;
            print!("{}", rotated.summary());
            Ok(())
        }
    }
}

/// Creates `path` (0600, must not exist) holding one key.
fn write_new(path: &Path, key: &KeyBytes) -> anyhow::Result<()> {
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

/// `path` with `suffix` added to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Takes `<key file>.lock` exclusively, for as long as the file returned is
/// open; refuses if another rotation holds it.
fn lock(key_file: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = beside(key_file, ".lock");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(f),
        Err(rustix::io::Errno::WOULDBLOCK) => anyhow::bail!(
            "another `coffer master-key rotate` of {} is running (it holds {}): let it finish",
            key_file.display(),
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Rotates the master key (see the module's documentation).
pub async fn rotate(args: &RotateArgs) -> anyhow::Result<Rotated> {
    if std::env::var("COFFER_MASTER_KEY").is_ok_and(|v| !v.is_empty()) {
        anyhow::bail!(
            "COFFER_MASTER_KEY is set: servers taking their key from the environment do not re-read it. Rotate a \
             key file (--master-key-file), or unset COFFER_MASTER_KEY here"
        );
    }
    let given = args.master_key_file.clone().unwrap_or_else(|| args.at.data_dir.join("master.key"));
    // Through any symbolic link: the file the servers read is replaced,
    // and the lock and the retired keys are beside it.
    let key_file =
        std::fs::canonicalize(&given).with_context(|| format!("reading the master key file {}", given.display()))?;
    let _lock = lock(&key_file)?;
    master_key::remove_leftover_temps(&key_file);
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
    let old_keys = if resumed { &current[1..] } else { &current[..] };
    if old_keys.contains(&new) {
        anyhow::bail!(
            "{new_id} is already in {} after the first key: it is an old key, not a new one. Generate a new key \
             (`coffer master-key generate`), or, to make it the sealing key again, put it first in the file \
             yourself and run this again",
            key_file.display()
        );
    }
    if old_keys.iter().any(|k| MasterKey::from_bytes(k).id() == new_id) {
        anyhow::bail!(
            "the new key's id {new_id} is also another key's in {} (one chance in 4 billion): sealed values \
             name their key by id, so generate another new key",
            key_file.display()
        );
    }
    if args.at.meta.as_ref().is_some_and(MetaLocation::is_shared) && !resumed {
        // Other gateways read their own copies: rewriting this one would
        // leave them unable to open what is re-sealed.
        anyhow::bail!(
            "on PostgreSQL every gateway reads its own copy of the key file: first put the new key ({new_id}) first \
             and the old keys after it in every copy (this one included), wait for `coffer master-key servers` to \
             show it first on every gateway, then run this again (docs/operations.md, \"Rotating the master key\")"
        );
    }
    let mut ring: Vec<KeyBytes> = vec![new];
    ring.extend_from_slice(old_keys);
    let old: Vec<KeyId> = old_keys.iter().map(|k| MasterKey::from_bytes(k).id()).collect();

    // The store first: nothing is rewritten unless it opens and the servers
    // (or --servers-stopped) say it is theirs.
    let store = args.at.open().await?;
    if keyring_presence::live(store.as_ref()).await?.is_empty() && !args.servers_stopped {
        anyhow::bail!(
            "no running server reports its master keys in {}: if no server runs on it, give --servers-stopped; \
             otherwise this is not the servers' metadata (check --data-dir and --meta: a meta.db left in the data \
             directory after `coffer migrate` is not), or they run a Coffer older than this one. Nothing was \
             changed",
            args.at.location().display()
        );
    }
    let iam =
        coffer_iam::Iam::new(store.clone(), master_key::keyring(&ring)?, Vec::new()).with_resolve_ttl(Duration::ZERO);
    if !resumed {
        master_key::write_keys(&key_file, &ring)?;
    }
    let wait = Duration::from_secs(args.reload_wait_secs);
    eprintln!(
        "{}: now {} (first seals); waiting at most {}s for running servers to take it",
        key_file.display(),
        ids_text(&iam.keyring_ids()),
        wait.as_secs()
    );
    let check = |stage: &'static str| all_servers_on(store.as_ref(), new_id, wait, &key_file, &ring, stage);
    let servers = check("Nothing was re-sealed").await?;
    eprintln!("running servers sealing under {new_id}: {}", servers.len());

    let mut passes = Vec::new();
    loop {
        // Everyone seals under the new key before the pass begins, so a
        // pass that finds nothing leaves nothing under the old key.
        check("Re-sealing stopped").await?;
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
    let mut retired = Vec::new();
    if !args.keep_old {
        let servers = check("The old keys were not dropped").await?;
        retired = drop_old_keys(&key_file, &ring)?;
        eprintln!("old keys dropped; running servers sealing under {new_id}: {}", servers.len());
    }
    Ok(Rotated { key_file, new: new_id, old, kept_old: args.keep_old, retired, resumed, servers, passes })
}

/// Every running server's report, once all of them seal under `new`
/// (waiting at most `wait`); else an error naming the others, saying that
/// the key file holds `ring` and what was not done (`stage`).
async fn all_servers_on(
    store: &dyn coffer_meta::Store,
    new: KeyId,
    wait: Duration,
    key_file: &Path,
    ring: &[KeyBytes],
    stage: &str,
) -> anyhow::Result<Vec<Live>> {
    match keyring_presence::wait_until_all_seal_under(store, new, wait).await? {
        Ok(servers) => Ok(servers),
        Err(lagging) => anyhow::bail!(
            "{} running servers do not seal under {new} after {}s: {}. {stage}; {} holds {} (the new key first). A \
             gateway reading another copy of the key file needs the new key first there too; one whose key comes \
             from COFFER_MASTER_KEY needs a restart with a key file. Then run this again with the same \
             --new-key-file to finish",
            lagging.len(),
            wait.as_secs(),
            lagging.iter().map(Live::describe).collect::<Vec<_>>().join("; "),
            key_file.display(),
            ids_text(&ring.iter().map(|k| MasterKey::from_bytes(k).id()).collect::<Vec<_>>()),
        ),
    }
}

/// The last step: if the key file still holds `ring` (what this run wrote
/// or found), each old key is written to `<key file>.retired-<id>` (0600,
/// the key file's owner), then the file is rewritten with the new key
/// (`ring[0]`) alone. Returns the retired keys' files.
fn drop_old_keys(key_file: &Path, ring: &[KeyBytes]) -> anyhow::Result<Vec<PathBuf>> {
    use std::os::unix::fs::MetadataExt as _;
    let now = master_key::read_keys(key_file)?;
    if now != ring {
        anyhow::bail!(
            "{} changed while this rotation ran (it holds {}, not {}): the old keys were not dropped and the file \
             is left as it is. Look at who changed it, then run this again",
            key_file.display(),
            ids_text(&now.iter().map(|k| MasterKey::from_bytes(k).id()).collect::<Vec<_>>()),
            ids_text(&ring.iter().map(|k| MasterKey::from_bytes(k).id()).collect::<Vec<_>>()),
        );
    }
    let owner = std::fs::metadata(key_file).ok().map(|m| (m.uid(), m.gid()));
    let new_id = MasterKey::from_bytes(&ring[0]).id();
    let when =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let mut retired = Vec::new();
    for key in &ring[1..] {
        let id = MasterKey::from_bytes(key).id();
        let path = beside(key_file, &format!(".retired-{id}"));
        if std::fs::symlink_metadata(&path).is_ok() {
            // Kept by an earlier run that stopped before the rewrite.
            let same = master_key::read_keys(&path).is_ok_and(|k| k == [*key]);
            anyhow::ensure!(
                same,
                "{} exists and does not hold key {id} alone: move it away, then run this again",
                path.display()
            );
        } else {
            let text = format!(
                "# Master key {id}, retired by `coffer master-key rotate` at {when}: {new_id} replaced it.\n# \
                 Nothing stored since is sealed under it, but metadata backups made before need it.\n{}",
                master_key::keys_text(std::slice::from_ref(key))
            );
            master_key::write_atomic(&path, &text, 0o600, owner)
                .with_context(|| format!("keeping the old key in {}", path.display()))?;
        }
        retired.push(path);
    }
    master_key::write_keys(key_file, &ring[..1])?;
    Ok(retired)
}

#[cfg(test)]
mod tests;
