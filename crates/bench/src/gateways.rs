//! The gateways under test: one `coffer server` by default, or several
//! sharing one metadata store (PostgreSQL) and one blob store, as a
//! provider runs them behind a load balancer. The client spreads its
//! connections over them round-robin ([`crate::client::Endpoint`]).

use crate::server::Server;
use anyhow::{bail, Context as _};
use base64::Engine as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Where the gateways keep their state, from `--meta`, `--blobs`,
/// `--gateways`.
pub struct Stores<'a> {
    pub meta: Option<&'a str>,
    pub blobs: Option<&'a str>,
    pub gateways: usize,
}

impl Stores<'_> {
    /// A label for the report, e.g. `3 gateways, postgres, fs`.
    pub fn describe(&self) -> String {
        let scheme = |u: Option<&str>, default: &str| {
            u.and_then(|u| u.split("://").next()).unwrap_or(default).replace("postgresql", "postgres")
        };
        let n = self.gateways;
        let meta = scheme(self.meta, "sqlite");
        let blobs = scheme(self.blobs, "fs");
        format!("{n} gateway{}, {meta} metadata, {blobs} blobs", if n == 1 { "" } else { "s" })
    }

    fn on_postgres(&self) -> bool {
        self.meta.is_some_and(|m| m.starts_with("postgres://") || m.starts_with("postgresql://"))
    }

    /// The arguments every gateway gets besides its own data directory:
    /// the stores, and on PostgreSQL the master key they share.
    fn shared_args(&self, scratch: &Path) -> anyhow::Result<Vec<String>> {
        if self.gateways == 0 {
            bail!("--gateways must be at least 1");
        }
        if self.gateways > 1 && !self.on_postgres() {
            bail!("several gateways share one metadata store: give --meta postgres://…");
        }
        let mut args = Vec::new();
        if let Some(m) = self.meta {
            args.extend(["--meta".to_owned(), m.to_owned()]);
        }
        match self.blobs {
            Some(b) => args.extend(["--blobs".to_owned(), b.to_owned()]),
            // Gateways share blobs: a directory outside every data dir.
            None if self.gateways > 1 => {
                let dir = scratch.join("blobs");
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                args.extend(["--blobs".to_owned(), format!("fs://{}", dir.display())]);
            }
            None => {}
        }
        if self.on_postgres() {
            let key = scratch.join("master.key");
            write_master_key(&key)?;
            args.extend(["--master-key-file".to_owned(), key.display().to_string()]);
        }
        Ok(args)
    }
}

fn write_master_key(path: &Path) -> anyhow::Result<()> {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(base64::engine::general_purpose::STANDARD.encode(bytes).as_bytes())?;
    Ok(())
}

/// Starts the gateways; the first uses `data_dir` and `log_path`, the
/// others `data_dir`-2, … beside them.
#[allow(clippy::too_many_arguments)]
pub fn start(
    bin: &Path,
    stores: &Stores<'_>,
    scratch: &Path,
    data_dir: &Path,
    log_path: &Path,
    region: &str,
    access: &str,
    secret: &str,
    server_args: &[String],
) -> anyhow::Result<Vec<Server>> {
    let mut extra = stores.shared_args(scratch)?;
    extra.extend(server_args.iter().cloned());
    let mut all = Vec::with_capacity(stores.gateways);
    for i in 0..stores.gateways {
        let (dir, log) = if i == 0 {
            (data_dir.to_owned(), log_path.to_owned())
        } else {
            (scratch.join(format!("data-{}", i + 1)), scratch.join(format!("server-{}.log", i + 1)))
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        all.push(Server::start(bin, &dir, &log, region, access, secret, &extra)?);
    }
    Ok(all)
}
