//! The master key that seals access-key secrets at rest.
//!
//! Taken, in order, from `COFFER_MASTER_KEY` (base64 of 32 bytes), from
//! `--master-key-file`, or from `master.key` in the data directory, which
//! is created on first start (0600, written and synced before use). The
//! file holds the base64 text. Losing it makes every stored secret
//! unreadable; keep a copy with the backups of the metadata.

use anyhow::Context as _;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use coffer_iam::seal::MasterKey;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Where the key comes from.
#[derive(Clone, Debug)]
pub enum MasterKeySource {
    /// Base64 text given directly (from the environment).
    Value(String),
    /// A file holding the base64 text; created if it does not exist.
    File(std::path::PathBuf),
}

fn decode(text: &str, origin: &str) -> anyhow::Result<MasterKey> {
    let raw = B64.decode(text.trim()).with_context(|| format!("{origin}: the master key is not base64"))?;
    let bytes: [u8; 32] = raw
        .try_into()
        .map_err(|_| anyhow::anyhow!("{origin}: the master key must be 32 bytes (base64 of 32 bytes)"))?;
    Ok(MasterKey::from_bytes(&bytes))
}

/// Loads the master key, creating the file on first start.
pub fn load(source: &MasterKeySource) -> anyhow::Result<(MasterKey, bool)> {
    match source {
        MasterKeySource::Value(v) => Ok((decode(v, "COFFER_MASTER_KEY")?, false)),
        MasterKeySource::File(path) => match std::fs::read_to_string(path) {
            Ok(text) => Ok((decode(&text, &path.display().to_string())?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((create(path)?, true)),
            Err(e) => Err(e).with_context(|| format!("reading the master key {}", path.display())),
        },
    }
}

fn create(path: &Path) -> anyhow::Result<MasterKey> {
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
    tracing::info!(path = %path.display(), "master key created; back it up with the metadata");
    Ok(MasterKey::from_bytes(&bytes))
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
        let (k2, created) = load(&src).unwrap();
        assert!(!created);
        let sealed = k1.seal("AK", "s").unwrap();
        assert_eq!(k2.open("AK", &sealed).unwrap(), "s");
    }

    #[test]
    fn values_must_be_32_bytes_of_base64() {
        assert!(load(&MasterKeySource::Value(B64.encode([1u8; 32]))).is_ok());
        assert!(load(&MasterKeySource::Value(B64.encode([1u8; 16]))).is_err());
        assert!(load(&MasterKeySource::Value("not base64!".into())).is_err());
    }
}
