//! `coffer backup` and `coffer restore`: the SQLite metadata copied while
//! the server serves (`coffer_meta_sqlite::backup`: one consistent
//! snapshot, checked), and put back into a new data directory.
//!
//! Blobs are files that are never rewritten: they are copied separately
//! (docs/operations.md), within the garbage-collection grace of the backup,
//! so that none the backup references has been collected yet. The master
//! key is backed up once, apart from the metadata. A deployment on
//! PostgreSQL backs its metadata up with PostgreSQL's tools (`pg_dump`);
//! these commands refuse it.

use anyhow::{bail, Context as _};
use coffer_meta_sqlite::backup::{check, Summary};
use std::path::PathBuf;

/// `coffer backup`.
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The server's data directory (its metadata is DATA_DIR/meta.db).
    #[arg(long, env = "COFFER_DATA_DIR", default_value = "./coffer-data")]
    pub data_dir: PathBuf,
    /// The metadata database, when not DATA_DIR/meta.db (`sqlite://PATH`).
    #[arg(long, env = "COFFER_META")]
    pub meta: Option<String>,
    /// The backup file to write (must not exist).
    #[arg(long)]
    pub out: PathBuf,
}

/// `coffer restore`.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// A file written by `coffer backup`.
    #[arg(long)]
    pub from: PathBuf,
    /// The new data directory: created if missing; must hold no metadata yet.
    #[arg(long)]
    pub data_dir: PathBuf,
}

fn source_path(args: &BackupArgs) -> anyhow::Result<PathBuf> {
    match args.meta.as_deref() {
        None => Ok(args.data_dir.join("meta.db")),
        Some(m) => match m.strip_prefix("sqlite://") {
            Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
            _ => bail!(
                "coffer backup copies SQLite metadata ({m:?} is not sqlite://PATH); back PostgreSQL up with pg_dump"
            ),
        },
    }
}

/// Copies the live metadata into `args.out`; says what it holds.
pub fn backup(args: &BackupArgs) -> anyhow::Result<Summary> {
    let from = source_path(args)?;
    if !from.exists() {
        bail!("no metadata at {}", from.display());
    }
    Ok(coffer_meta_sqlite::backup::backup(&from, &args.out)?)
}

/// Puts a backup into a new data directory as its metadata.
pub fn restore(args: &RestoreArgs) -> anyhow::Result<Summary> {
    let summary = check(&args.from)?;
    crate::private_files::create_dir(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    // No server may start on the directory meanwhile.
    let _lock = crate::data_lock::acquire(&args.data_dir, false)?;
    let target = args.data_dir.join("meta.db");
    for existing in [target.clone(), args.data_dir.join("meta.db-wal")] {
        if existing.exists() {
            bail!("{} exists: restore into a data directory without metadata", existing.display());
        }
    }
    let partial = args.data_dir.join("meta.db.restoring");
    let _ = std::fs::remove_file(&partial);
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        let mut from = std::fs::File::open(&args.from)?;
        std::io::copy(&mut from, &mut out)?;
        out.sync_all()?;
    }
    std::fs::rename(&partial, &target)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_restores_once_into_an_empty_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        drop(coffer_meta_sqlite::SqliteMetaStore::open(data.join("meta.db")).unwrap());
        let out = dir.path().join("meta.backup");
        let args = BackupArgs { data_dir: data.clone(), meta: None, out: out.clone() };
        let s = backup(&args).unwrap();
        let r = RestoreArgs { from: out.clone(), data_dir: dir.path().join("new") };
        assert_eq!(restore(&r).unwrap(), s);
        assert!(dir.path().join("new/meta.db").exists());
        assert!(restore(&r).unwrap_err().to_string().contains("without metadata"));
        let pg = BackupArgs { meta: Some("postgres://u@h/db".into()), ..args };
        assert!(backup(&pg).unwrap_err().to_string().contains("pg_dump"));
    }
}
