//! The master keys that seal access-key secrets (and console sessions) at
//! rest.
//!
//! Taken, in order, from `COFFER_MASTER_KEY`, from `--master-key-file`, or
//! from `master.key` in the data directory, which is created on first start
//! (0600, written and synced before use) holding one new key. Either holds a
//! **keyring**: one key per line (base64 of 32 bytes), blank lines and lines
//! starting with `#` ignored. The first key seals; every key opens. Losing
//! the file makes every stored secret unreadable; keep a copy with the
//! backups of the metadata.
//!
//! A server whose keys come from a file re-reads it every second
//! ([`watch`]) and takes a changed keyring without restarting: this is how
//! `coffer master-key rotate` (`master_key_rotate.rs`) moves running
//! servers to a new key. A file that does not parse is logged and ignored.

use anyhow::Context as _;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use coffer_iam::seal::{KeyId, Keyring, MasterKey};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the keys come from.
#[derive(Clone, Debug)]
pub enum MasterKeySource {
    /// Base64 text given directly (from the environment), a key per line.
    Value(String),
    /// A file holding the base64 text, a key per line; created (with one new
    /// key) if it does not exist.
    File(PathBuf),
}

/// How often a server re-reads its key file.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);
/// A changed file is read again after this long and taken only if it reads
/// the same: a file being written in place is not taken half-written.
const SETTLE: Duration = Duration::from_millis(200);

/// One master key's 32 bytes.
pub type KeyBytes = [u8; 32];

/// The keys of a keyring's text, the one that seals first. Errors name the
/// line, never its content.
pub fn parse_keys(text: &str, origin: &str) -> anyhow::Result<Vec<KeyBytes>> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let raw = B64.decode(line).ok();
        let Some(bytes) = raw.and_then(|r| KeyBytes::try_from(r).ok()) else {
            anyhow::bail!("{origin}, line {}: a master key must be base64 of 32 bytes", n + 1);
        };
        keys.push(bytes);
    }
    anyhow::ensure!(!keys.is_empty(), "{origin}: no master key in it");
    Ok(keys)
}

/// The keyring of `keys` (non-empty, as [`parse_keys`] gives them).
pub fn keyring(keys: &[KeyBytes]) -> anyhow::Result<Keyring> {
    Keyring::new(keys.iter().map(MasterKey::from_bytes).collect()).context("the master keys")
}

/// The ids of `keys`, comma-separated, the one that seals first (for logs).
pub fn ids_text(ids: &[KeyId]) -> String {
    ids.iter().map(KeyId::to_string).collect::<Vec<_>>().join(",")
}

/// A key file's text: a key per line.
pub fn keys_text(keys: &[KeyBytes]) -> String {
    keys.iter().map(|k| B64.encode(k) + "\n").collect()
}

/// Reads and parses a key file.
pub fn read_keys(path: &Path) -> anyhow::Result<Vec<KeyBytes>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the master key {}", path.display()))?;
    parse_keys(&text, &path.display().to_string())
}

/// Loads the keyring, creating the file (one new key) on first start; says
/// whether it was created.
pub fn load(source: &MasterKeySource) -> anyhow::Result<(Keyring, bool)> {
    match source {
        MasterKeySource::Value(v) => Ok((keyring(&parse_keys(v, "COFFER_MASTER_KEY")?)?, false)),
        MasterKeySource::File(path) => match std::fs::read_to_string(path) {
            Ok(text) => Ok((keyring(&parse_keys(&text, &path.display().to_string())?)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((create(path)?, true)),
            Err(e) => Err(e).with_context(|| format!("reading the master key {}", path.display())),
        },
    }
}

fn create(path: &Path) -> anyhow::Result<Keyring> {
    let bytes = MasterKey::generate().map_err(|e| anyhow::anyhow!("generating the master key: {e}"))?;
    let text = B64.encode(bytes);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the master key {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    let key = MasterKey::from_bytes(&bytes);
    tracing::info!(path = %path.display(), key_id = %key.id(), "master key created; back it up with the metadata");
    Ok(Keyring::from(key))
}

/// Replaces the key file with `keys` (a key per line) atomically: a temp
/// file in the same directory (0600, with the replaced file's owner and
/// group, so the server's user can still read it when root rewrites it),
/// synced, renamed over the file, the directory synced. A reader sees the
/// old file or the new, never a part.
pub fn write_keys(path: &Path, keys: &[KeyBytes]) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().context("the master key file has no name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.writing"));
    let owner = std::fs::metadata(path).ok().map(|m| (m.uid(), m.gid()));
    // Left by a run that died between creating and renaming it.
    let _ = std::fs::remove_file(&tmp);
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        let made = f.metadata()?;
        if let Some((uid, gid)) = owner.filter(|o| *o != (made.uid(), made.gid())) {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        }
        f.write_all(keys_text(keys).as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing the master key file {}", path.display()))
}

/// Re-reads the key file at `path` every `every` until `stop` turns true
/// (or its sender goes): when the keys in it change, `iam` takes the new
/// keyring and the key ids are logged (never the keys). A file that cannot
/// be read or parsed is logged once per change and ignored: the keyring in
/// use stays.
pub async fn watch(iam: coffer_iam::Iam, path: PathBuf, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut last: Option<Vec<u8>> = None;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
            _ = tick.tick() => reload(&iam, &path, &mut last).await,
        }
    }
}

/// One look at the key file (see [`watch`]).
async fn reload(iam: &coffer_iam::Iam, path: &Path, last: &mut Option<Vec<u8>>) {
    let read = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) => {
            if last.as_deref() != Some(b"") {
                tracing::warn!(path = %path.display(), error = %e, "the master key file cannot be read: keeping the keys in use");
                *last = Some(Vec::new());
            }
            return;
        }
    };
    if last.as_deref() == Some(read.as_slice()) {
        return;
    }
    tokio::time::sleep(SETTLE).await;
    if tokio::fs::read(path).await.ok().as_deref() != Some(read.as_slice()) {
        // Still being written: the next look takes it.
        return;
    }
    let parsed = std::str::from_utf8(&read)
        .map_err(|_| anyhow::anyhow!("{}: not text", path.display()))
        .and_then(|text| parse_keys(text, &path.display().to_string()))
        .and_then(|keys| keyring(&keys));
    *last = Some(read);
    match parsed {
        Err(e) => {
            tracing::error!(path = %path.display(), error = %format!("{e:#}"), "the master key file does not parse: keeping the keys in use");
        }
        Ok(ring) => {
            let (was, now) = (iam.keyring_ids(), ring.ids());
            if was != now {
                iam.set_keyring(ring);
                tracing::info!(path = %path.display(), keys = %ids_text(&now), was = %ids_text(&was), "master keys reloaded: sealing under the first");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn created_once_with_0600_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let src = MasterKeySource::File(path.clone());
        let (k1, created) = load(&src).unwrap();
        assert!(created);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(read_keys(&path).unwrap().len(), 1, "one key, one line");
        let (k2, created) = load(&src).unwrap();
        assert!(!created);
        assert_eq!(k1.ids(), k2.ids());
        let sealed = k1.seal("AK", "s").unwrap();
        assert_eq!(k2.open("AK", &sealed).unwrap(), "s");
    }

    #[test]
    fn values_must_be_32_bytes_of_base64() {
        assert!(load(&MasterKeySource::Value(B64.encode([1u8; 32]))).is_ok());
        assert!(load(&MasterKeySource::Value(B64.encode([1u8; 16]))).is_err());
        assert!(load(&MasterKeySource::Value("not base64!".into())).is_err());
        assert!(load(&MasterKeySource::Value("# only a comment\n\n".into())).is_err());
    }

    #[test]
    fn a_file_may_hold_a_keyring_first_key_sealing() {
        let (a, b) = (B64.encode([1u8; 32]), B64.encode([2u8; 32]));
        let text = format!("# rotated 2026-01-01\n{a}\n\n  {b}  \n");
        let keys = parse_keys(&text, "f").unwrap();
        assert_eq!(keys, vec![[1u8; 32], [2u8; 32]]);
        let (ring, _) = load(&MasterKeySource::Value(text)).unwrap();
        assert_eq!(ring.ids(), vec![MasterKey::from_bytes(&[1u8; 32]).id(), MasterKey::from_bytes(&[2u8; 32]).id()]);
        // An error names the line, never what is on it.
        let secretish = B64.encode([3u8; 31]);
        let e = parse_keys(&format!("{a}\n{secretish}\n"), "f").unwrap_err().to_string();
        assert!(e.contains("line 2") && !e.contains(&secretish), "{e}");
        assert_eq!(parse_keys(&keys_text(&keys), "f").unwrap(), keys);
    }

    #[test]
    fn written_atomically_private_and_replacing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        write_keys(&path, &[[1u8; 32]]).unwrap();
        write_keys(&path, &[[2u8; 32], [1u8; 32]]).unwrap();
        assert_eq!(read_keys(&path).unwrap(), vec![[2u8; 32], [1u8; 32]]);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("master.key")], "no temp file left");
        // Root rewriting the file of the server's user leaves it that user's.
        use std::os::unix::fs::MetadataExt as _;
        if std::fs::metadata(&path).unwrap().uid() == 0 {
            std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
            write_keys(&path, &[[3u8; 32]]).unwrap();
            let m = std::fs::metadata(&path).unwrap();
            assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (65534, 65534, 0o600));
        }
    }

    #[tokio::test]
    async fn a_running_server_takes_a_changed_file_and_ignores_a_broken_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        write_keys(&path, &[[1u8; 32]]).unwrap();
        let store = std::sync::Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("m.db")).unwrap());
        let iam = coffer_iam::Iam::new(store, MasterKey::from_bytes(&[1u8; 32]), vec!["r".into()]);
        let (stop, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(watch(iam.clone(), path.clone(), Duration::from_millis(50), rx));
        let wait_for = |want: Vec<KeyId>| {
            let iam = iam.clone();
            async move {
                for _ in 0..100 {
                    if iam.keyring_ids() == want {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                panic!("keyring {:?}, wanted {want:?}", iam.keyring_ids());
            }
        };
        let id = |b: u8| MasterKey::from_bytes(&[b; 32]).id();
        write_keys(&path, &[[2u8; 32], [1u8; 32]]).unwrap();
        wait_for(vec![id(2), id(1)]).await;
        std::fs::write(&path, "not a key\n").unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(iam.keyring_ids(), vec![id(2), id(1)], "a broken file is ignored");
        std::fs::remove_file(&path).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(iam.keyring_ids(), vec![id(2), id(1)], "a missing file too");
        write_keys(&path, &[[2u8; 32]]).unwrap();
        wait_for(vec![id(2)]).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("stops with the server").unwrap();
    }
}
