//! `coffer migrate`: copies a data directory's metadata (`meta.db`) into an
//! empty PostgreSQL database ([`coffer_migrate`] does the copy). Takes the
//! data directory's lock exclusively first, as a server does, so it cannot
//! run beside a server on that directory, nor a server start beside it.

use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// Rows between two progress lines of one table.
const PROGRESS_EVERY: u64 = 100_000;

/// `coffer migrate` arguments.
#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The SQLite database to copy: `sqlite://DATA_DIR/meta.db`. It is
    /// opened read-only; no server may run on DATA_DIR meanwhile.
    #[arg(long, required_unless_present = "data_dir", conflicts_with = "data_dir")]
    pub from: Option<String>,
    /// The data directory: the same as `--from sqlite://DIR/meta.db`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The PostgreSQL database to fill: `postgres://USER@HOST[:PORT]/DB` or
    /// a libpq key=value string. It must hold no Coffer data; its schema is
    /// created or brought up to date first.
    #[arg(long, env = "COFFER_META")]
    pub to: String,
    /// CA certificates (PEM) PostgreSQL's certificate must chain to with
    /// `sslmode=require`; default: the system's roots.
    #[arg(long, env = "COFFER_META_CA_FILE")]
    pub meta_ca_file: Option<PathBuf>,
}

/// The SQLite file named by `--from` or `--data-dir`.
fn sqlite_path(args: &MigrateArgs) -> anyhow::Result<PathBuf> {
    match (&args.from, &args.data_dir) {
        (_, Some(dir)) => Ok(dir.join("meta.db")),
        (Some(from), None) => match from.strip_prefix("sqlite://") {
            Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
            _ => anyhow::bail!("--from {from:?}: expected sqlite://DATA_DIR/meta.db"),
        },
        (None, None) => anyhow::bail!("give --from sqlite://DATA_DIR/meta.db or --data-dir DATA_DIR"),
    }
}

/// The PostgreSQL configuration of `--to`.
fn postgres_config(to: &str) -> anyhow::Result<coffer_migrate::PgConfig> {
    let url_like = to.starts_with("postgres://") || to.starts_with("postgresql://");
    if !url_like && !to.contains('=') {
        anyhow::bail!("--to: expected postgres://USER@HOST/DB (or a key=value connection string)");
    }
    // The parse error may quote the string, password included: not shown.
    to.parse().map_err(|_| anyhow::anyhow!("--to is not a valid PostgreSQL connection string"))
}

/// Runs the migration and prints its summary.
pub fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let sqlite = sqlite_path(&args)?;
    let postgres = postgres_config(&args.to)?;
    if !sqlite.is_file() {
        anyhow::bail!("{} does not exist", sqlite.display());
    }
    let data_dir = match sqlite.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let _lock = crate::data_lock::acquire(&data_dir, false)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let mut opts = coffer_migrate::Options::new(&sqlite, postgres);
    opts.tls = coffer_meta_postgres::PgTls { ca_file: args.meta_ca_file.clone() };
    eprintln!("migrating {} to PostgreSQL", sqlite.display());
    let mut shown = std::collections::HashMap::<String, u64>::new();
    let report = rt.block_on(coffer_migrate::migrate(&opts, |table, rows| {
        let last = shown.entry(table.to_owned()).or_default();
        if rows / PROGRESS_EVERY > *last / PROGRESS_EVERY {
            eprintln!("  {table}: {rows} rows");
            *last = rows;
        }
    }))?;
    println!("{report}");
    println!("Migrated and verified: every table's rows and every bucket's objects and bytes are equal.");
    println!("{}", next_steps(&data_dir));
    Ok(())
}

fn next_steps(data_dir: &Path) -> String {
    let blobs = std::path::absolute(data_dir.join("blobs")).unwrap_or_else(|_| data_dir.join("blobs"));
    let key = std::path::absolute(data_dir.join("master.key")).unwrap_or_else(|_| data_dir.join("master.key"));
    format!(
        "Blobs were not copied. Serve them from where they are, with the same master key (it seals the access \
         keys' secrets):\n  coffer server --meta <the PostgreSQL URL> --blobs fs://{} --master-key-file {}\n\
         (or COFFER_MASTER_KEY, if the old server was given the key that way), and the operator's credential in \
         COFFER_ROOT_ACCESS_KEY/COFFER_ROOT_SECRET_KEY (a gateway on PostgreSQL never makes one). {} is no \
         longer written to.",
        blobs.display(),
        key.display(),
        data_dir.join("meta.db").display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(from: Option<&str>, dir: Option<&str>) -> MigrateArgs {
        MigrateArgs { from: from.map(Into::into), data_dir: dir.map(Into::into), to: String::new(), meta_ca_file: None }
    }

    #[test]
    fn sources() {
        assert_eq!(
            sqlite_path(&args(Some("sqlite:///var/lib/coffer/meta.db"), None)).unwrap(),
            Path::new("/var/lib/coffer/meta.db")
        );
        assert_eq!(sqlite_path(&args(Some("sqlite://data/meta.db"), None)).unwrap(), Path::new("data/meta.db"));
        assert_eq!(sqlite_path(&args(None, Some("/d"))).unwrap(), Path::new("/d/meta.db"));
        assert!(sqlite_path(&args(Some("/d/meta.db"), None)).is_err());
        assert!(sqlite_path(&args(Some("sqlite://"), None)).is_err());
    }

    #[derive(clap::Parser)]
    struct Cmd {
        #[command(flatten)]
        args: MigrateArgs,
    }

    fn parse(argv: &[&str]) -> Result<MigrateArgs, clap::Error> {
        use clap::Parser as _;
        Cmd::try_parse_from(std::iter::once("migrate").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn arguments() {
        let a = parse(&["--data-dir", "/d", "--to", "postgres://h/db"]).unwrap();
        assert_eq!((a.data_dir.as_deref(), a.to.as_str()), (Some(Path::new("/d")), "postgres://h/db"));
        let a = parse(&["--from", "sqlite:///d/meta.db", "--to", "postgres://h/db"]).unwrap();
        assert_eq!(a.from.as_deref(), Some("sqlite:///d/meta.db"));
        assert!(parse(&["--from", "sqlite:///d/meta.db", "--data-dir", "/d", "--to", "x=y"]).is_err(), "one source");
        assert!(parse(&["--to", "postgres://h/db"]).is_err(), "a source is needed");
    }

    #[test]
    fn targets() {
        assert!(postgres_config("postgres://coffer@db.example/coffer").is_ok());
        assert!(postgres_config("postgresql://coffer:pw@db:5433/coffer").is_ok());
        assert!(postgres_config("host=/run/postgresql dbname=coffer").is_ok());
        assert!(postgres_config("sqlite://x/meta.db").is_err());
        let e = postgres_config("postgres://u:secret@h:notaport/db").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
    }
}
