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
//! servers to a new key. A file that does not parse, or that holds none of
//! the keys in use (the wrong file put in place: taking it would leave every
//! stored secret unreadable), is logged and ignored. Each server reports the
//! keys it holds in the metadata (`keyring_presence.rs`), so the command
//! knows when every running server has taken a change.

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

/// The keys of a keyring's text, the one that seals first; a key written
/// twice counts once (where it first appears). A leading UTF-8 byte-order
/// mark (some editors write one) is skipped. Errors name the line, never
/// its content.
pub fn parse_keys(text: &str, origin: &str) -> anyhow::Result<Vec<KeyBytes>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
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
        if !keys.contains(&bytes) {
            keys.push(bytes);
        }
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

/// Replaces the key file with `keys` (a key per line) atomically (see
/// [`write_atomic`]). A symbolic link is followed: the file it points to is
/// replaced, in that file's directory, and the link stays. The replaced
/// file's owner and group are kept (so the server's user can still read it
/// when root rewrites it), and its mode, at most 0640; a new file is 0600.
pub fn write_keys(path: &Path, keys: &[KeyBytes]) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let target = resolve(path)?;
    let was = std::fs::metadata(&target).ok();
    let mode = was.as_ref().map_or(0o600, |m| m.mode() & 0o640);
    let owner = was.map(|m| (m.uid(), m.gid()));
    write_atomic(&target, &keys_text(keys), mode, owner)
        .with_context(|| format!("writing the master key file {}", target.display()))
}

/// The file `path` names, through any symbolic links (`path` itself when
/// nothing is there yet).
pub fn resolve(path: &Path) -> anyhow::Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::fs::symlink_metadata(path).is_err() => {
            Ok(path.to_path_buf())
        }
        Err(e) => Err(e).with_context(|| format!("resolving {}", path.display())),
    }
}

/// The directory `path` is in.
pub fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Temp files of [`write_atomic`] are `.<name>.<unique>.writing`.
const TEMP_SUFFIX: &str = ".writing";

/// Writes `text` to `path` (no symbolic link) atomically: a temp file of a
/// name of its own in the same directory (made 0600, given `owner` if
/// another, written, given `mode`, synced), renamed over `path`, the
/// directory synced. A reader sees the old file or the new, never a part.
pub fn write_atomic(path: &Path, text: &str, mode: u32, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let dir = dir_of(path);
    let name = path.file_name().ok_or_else(|| std::io::Error::other("the file has no name"))?.to_string_lossy();
    let unique = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
    let tmp = dir.join(format!(".{name}.{unique}{TEMP_SUFFIX}"));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        let made = f.metadata()?;
        if let Some((uid, gid)) = owner.filter(|o| *o != (made.uid(), made.gid())) {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        }
        f.write_all(text.as_bytes())?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Removes the temp files a [`write_atomic`] of `path` that died left
/// (keys are in them). Only while no other writer of `path` can run.
pub fn remove_leftover_temps(path: &Path) {
    let Some(name) = path.file_name().map(|n| format!(".{}.", n.to_string_lossy())) else { return };
    let Ok(entries) = std::fs::read_dir(dir_of(path)) else { return };
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        if f.starts_with(&name) && f.ends_with(TEMP_SUFFIX) {
            let _ = std::fs::remove_file(e.path());
        }
    }
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
            if was == now {
                return;
            }
            if !now.iter().any(|id| was.contains(id)) {
                // Another deployment's key, or an old one put back: every
                // secret sealed under the keys in use would stop opening.
                tracing::error!(path = %path.display(), keys = %ids_text(&now), in_use = %ids_text(&was), "the master key file holds none of the keys in use: ignored, keeping the keys in use (a rotation keeps the old key in the file until everything is re-sealed; to change keys otherwise, restart the server)");
                return;
            }
            iam.set_keyring(ring);
            tracing::info!(path = %path.display(), keys = %ids_text(&now), was = %ids_text(&was), "master keys reloaded: sealing under the first");
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
    fn a_key_written_twice_counts_once_and_a_bom_is_skipped() {
        let (a, b) = (B64.encode([1u8; 32]), B64.encode([2u8; 32]));
        let keys = parse_keys(&format!("\u{feff}{a}\n{b}\n{a}\n{b}\n"), "f").unwrap();
        assert_eq!(keys, vec![[1u8; 32], [2u8; 32]], "first occurrences, in order");
        let (ring, _) = load(&MasterKeySource::Value(format!("\u{feff}# note\n{b}\n{b}\n"))).unwrap();
        assert_eq!(ring.ids(), vec![MasterKey::from_bytes(&[2u8; 32]).id()]);
        // A mark anywhere else is not skipped.
        assert!(parse_keys(&format!("{a}\n\u{feff}{b}\n"), "f").is_err());
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

    #[test]
    fn a_rewrite_keeps_the_mode_at_most_0640() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        write_keys(&path, &[[1u8; 32]]).unwrap();
        for (was, kept) in [(0o640, 0o640), (0o644, 0o640), (0o400, 0o400), (0o4755, 0o640), (0o600, 0o600)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(was)).unwrap();
            write_keys(&path, &[[2u8; 32], [1u8; 32]]).unwrap();
            assert_eq!(mode(&path), kept, "{was:o}");
        }
        assert_eq!(read_keys(&path).unwrap(), vec![[2u8; 32], [1u8; 32]]);
    }

    #[test]
    fn a_symbolic_link_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (etc, data) = (dir.path().join("etc"), dir.path().join("data"));
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        let target = etc.join("coffer.key");
        write_keys(&target, &[[1u8; 32]]).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = data.join("master.key");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_keys(&link, &[[2u8; 32], [1u8; 32]]).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "still a link");
        assert_eq!(std::fs::read_link(&link).unwrap(), target);
        assert_eq!(read_keys(&target).unwrap(), vec![[2u8; 32], [1u8; 32]]);
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o640);
        let names = |d: &Path| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>();
        assert_eq!(names(&data), vec![std::ffi::OsString::from("master.key")], "nothing written beside the link");
        assert_eq!(names(&etc), vec![std::ffi::OsString::from("coffer.key")]);
        assert_eq!(resolve(&link).unwrap(), std::fs::canonicalize(&target).unwrap());
        // A dangling link is an error, not a file made beside it.
        std::fs::remove_file(&target).unwrap();
        assert!(write_keys(&link, &[[3u8; 32]]).is_err());
        assert!(!target.exists());
    }

    #[test]
    fn temp_files_have_names_of_their_own_and_leftovers_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        write_keys(&path, &[[1u8; 32]]).unwrap();
        let (left, other) = (dir.path().join(".master.key.1-ab.writing"), dir.path().join(".other.key.1-ab.writing"));
        std::fs::write(&left, "x").unwrap();
        std::fs::write(&other, "x").unwrap();
        write_keys(&path, &[[2u8; 32]]).unwrap();
        assert!(left.exists(), "another writer's may be in use");
        remove_leftover_temps(&path);
        assert!(!left.exists() && other.exists() && path.exists());
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
        // A file holding none of the keys in use is refused; one sharing a
        // key is taken.
        write_keys(&path, &[[3u8; 32], [4u8; 32]]).unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(iam.keyring_ids(), vec![id(2)], "an unrelated keyring is refused");
        write_keys(&path, &[[3u8; 32], [2u8; 32]]).unwrap();
        wait_for(vec![id(3), id(2)]).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("stops with the server").unwrap();
    }
}
