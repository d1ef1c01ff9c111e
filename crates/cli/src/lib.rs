//! The command-line client of Coffer's operator admin API
//! (`/_coffer/admin/v1`): `coffer project|user|credentials|quota|usage|region|bucket ...`.
//!
//! - [`Connection`]: where and as whom (`--endpoint`, `--access-key`,
//!   `--secret-key`, `--ca-cert`) and how to print (`-f table|json|value`).
//! - [`ClientCommand`] and its subcommands: the clap definitions.
//! - [`run`] / [`run_to_string`]: one command, one or two signed requests, the printed result.
//!
//! Every request is signed with SigV4 (service `s3`, region `us-east-1`,
//! the body's SHA-256 in `x-amz-content-sha256`), as an S3 client would.
//! HTTPS trusts only the certificates of `--ca-cert`, never the system
//! roots: pass the system bundle for a certificate from a public CA.
//!
//! Architecture invariant: this crate knows the admin API only by its wire
//! format (paths and JSON); it depends on no server crate but `s3-proto`
//! (for signing).

mod client;
mod commands;
mod render;
mod units;

use clap::{Args, Subcommand};
use std::io::Write as _;
use std::path::PathBuf;

pub use client::BASE_PATH;
pub use render::Format;
pub use units::{parse_limit_bytes, parse_limit_count, parse_size, parse_time, Limit};

// Where the admin API is, as whom to call it, and how to print the result.
//
// Every option is `global`, so it may come before or after the subcommand
// wherever this is flattened (the top-level command or each client
// command). The keys are checked when a command runs, not by clap: so this
// can be flattened into a top-level command that also has non-client
// subcommands. (A `//` comment: clap would show a doc comment as the help
// text of the command it is flattened into.)
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Connection options")]
pub struct Connection {
    /// The server's URL (http or https), e.g. http://127.0.0.1:9000.
    #[arg(long, env = "COFFER_ENDPOINT", default_value = "http://127.0.0.1:9000", global = true)]
    pub endpoint: String,
    /// The operator's access key id (required).
    #[arg(long, env = "COFFER_ACCESS_KEY", default_value = "", hide_default_value = true, global = true)]
    pub access_key: String,
    /// The operator's secret key (required).
    #[arg(
        long,
        env = "COFFER_SECRET_KEY",
        hide_env_values = true,
        default_value = "",
        hide_default_value = true,
        global = true
    )]
    pub secret_key: String,
    /// PEM CA certificate(s) to trust for an https endpoint, e.g. a
    /// self-signed development certificate. Required for https: the system
    /// roots are not used (pass /etc/ssl/certs/ca-certificates.crt for a
    /// public CA).
    #[arg(long, env = "COFFER_CA_CERT", value_name = "PEM", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// Output format: table, json (the API's answer), or value (values only, no headers).
    #[arg(short = 'f', long = "format", value_enum, default_value = "table", global = true)]
    pub format: Format,
}

/// The admin API's commands.
#[derive(Subcommand, Clone, Debug)]
pub enum ClientCommand {
    /// Projects (tenants).
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Users of a project and their policies.
    #[command(subcommand)]
    User(UserCommand),
    /// Access keys.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// Storage quotas of projects and buckets.
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// Block Public Access switches of a project (every bucket of it).
    #[command(subcommand)]
    PublicAccessBlock(PublicAccessBlockCommand),
    /// Metered usage (storage, requests, traffic) by hour.
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Regions of this deployment.
    #[command(subcommand)]
    Region(RegionCommand),
    /// Buckets and what they store.
    #[command(subcommand)]
    Bucket(BucketCommand),
}

/// `coffer project ...`
#[derive(Subcommand, Clone, Debug)]
pub enum ProjectCommand {
    /// Create a project (with its root user).
    Create {
        /// The project's name.
        name: String,
    },
    /// List the projects.
    List,
    /// Show a project: quota and what it stores.
    Show {
        /// The project's name.
        name: String,
    },
    /// Delete a project.
    Delete {
        /// The project's name.
        name: String,
    },
}

/// `coffer user ...`
#[derive(Subcommand, Clone, Debug)]
pub enum UserCommand {
    /// Create a user in a project.
    Create {
        /// The project.
        #[arg(long)]
        project: String,
        /// The user's IAM path, e.g. /team/ops/ (default /).
        #[arg(long)]
        path: Option<String>,
        /// The user's name.
        name: String,
    },
    /// List the users of a project.
    List {
        /// The project.
        #[arg(long)]
        project: String,
    },
    /// Show a user.
    Show {
        /// The project.
        #[arg(long)]
        project: String,
        /// The user's name.
        name: String,
    },
    /// Delete a user.
    Delete {
        /// The project.
        #[arg(long)]
        project: String,
        /// The user's name.
        name: String,
    },
    /// A user's policies.
    #[command(subcommand)]
    Policy(UserPolicyCommand),
    /// A user's password for the web console.
    #[command(subcommand)]
    Password(UserPasswordCommand),
}

/// `coffer user password ...`
#[derive(Subcommand, Clone, Debug)]
pub enum UserPasswordCommand {
    /// Set a user's console password, read from the first line of standard
    /// input (never from an argument: it would show in `ps` and the shell's
    /// history), e.g. `coffer user password set --project P USER < pw.txt`.
    /// 12 to 1024 characters.
    Set {
        /// The project.
        #[arg(long)]
        project: String,
        /// The user.
        user: String,
        /// Read the password from standard input: the default and only way
        /// (accepted for familiarity).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a user's console password: it can no longer sign in to the console.
    Clear {
        /// The project.
        #[arg(long)]
        project: String,
        /// The user.
        user: String,
    },
}

/// Where `coffer user password set` reads the password from: the first line
/// (without its line ending) of this process's standard input, or of the
/// given text (for tests and embedders). No `Debug`: it may hold a password.
#[derive(Clone)]
pub enum Stdin {
    Process,
    Text(String),
}

/// Where a policy comes from: exactly one of a preset or a file.
#[derive(Args, Clone, Debug)]
#[group(required = true, multiple = false)]
pub struct PolicySource {
    /// Attach a preset: full-access, read-only, read-object-only, write-only.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Set an IAM policy document (JSON) read from this file.
    #[arg(long, value_name = "POLICY.json")]
    pub file: Option<PathBuf>,
}

/// `coffer user policy ...`
#[derive(Subcommand, Clone, Debug)]
pub enum UserPolicyCommand {
    /// Attach a preset or set a policy document.
    Set {
        /// The project.
        #[arg(long)]
        project: String,
        /// The user.
        user: String,
        #[command(flatten)]
        source: PolicySource,
    },
    /// Show a user's presets and inline policies.
    Show {
        /// The project.
        #[arg(long)]
        project: String,
        /// The user.
        user: String,
    },
}

/// `coffer credentials ...`
#[derive(Subcommand, Clone, Debug)]
pub enum CredentialsCommand {
    /// Create an access key; its secret is shown this once.
    Create {
        /// The project.
        #[arg(long)]
        project: String,
        /// The user the key acts as (default: the project's root user).
        #[arg(long)]
        user: Option<String>,
        /// The region the key works in (default: the server's default region).
        #[arg(long)]
        region: Option<String>,
        /// When the key stops working: RFC 3339, or a date (midnight UTC).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        expires: Option<String>,
    },
    /// List the access keys of a project.
    List {
        /// The project.
        #[arg(long)]
        project: String,
        /// Only this user's keys.
        #[arg(long)]
        user: Option<String>,
    },
    /// Show an access key (never its secret).
    Show {
        /// The access key id.
        #[arg(id = "key_id", value_name = "ACCESS_KEY")]
        access_key: String,
    },
    /// Delete an access key.
    Delete {
        /// The access key id.
        #[arg(id = "key_id", value_name = "ACCESS_KEY")]
        access_key: String,
    },
    /// Make an access key stop working (it can be activated again).
    Deactivate {
        /// The access key id.
        #[arg(id = "key_id", value_name = "ACCESS_KEY")]
        access_key: String,
    },
    /// Make a deactivated access key work again.
    Activate {
        /// The access key id.
        #[arg(id = "key_id", value_name = "ACCESS_KEY")]
        access_key: String,
    },
}

/// What a quota applies to: exactly one of a project or a bucket.
#[derive(Args, Clone, Debug)]
#[group(required = true, multiple = false)]
pub struct QuotaTarget {
    /// A project's quota.
    #[arg(long)]
    pub project: Option<String>,
    /// A bucket's quota.
    #[arg(long)]
    pub bucket: Option<String>,
}

/// The limits to set: at least one; one left out keeps its current value.
#[derive(Args, Clone, Debug)]
#[group(required = true, multiple = true)]
pub struct QuotaLimits {
    /// Bytes stored at most: 1024, 500M, 10G, 1T (powers of 1024; 10GB is
    /// powers of 1000), or none.
    #[arg(long, value_name = "SIZE", value_parser = parse_limit_bytes)]
    pub max_bytes: Option<Limit>,
    /// Objects stored at most, or none.
    #[arg(long, value_name = "N", value_parser = parse_limit_count)]
    pub max_objects: Option<Limit>,
}

/// `coffer quota ...`
#[derive(Subcommand, Clone, Debug)]
pub enum QuotaCommand {
    /// Set a project's or a bucket's quota.
    Set {
        #[command(flatten)]
        target: QuotaTarget,
        #[command(flatten)]
        limits: QuotaLimits,
    },
    /// Show a project's or a bucket's quota.
    Show {
        #[command(flatten)]
        target: QuotaTarget,
    },
}

/// `coffer public-access-block ...`
#[derive(Subcommand, Clone, Debug)]
pub enum PublicAccessBlockCommand {
    /// Show a project's switches.
    Show {
        /// The project.
        #[arg(long)]
        project: String,
    },
    /// Set a project's switches: `--all` or `--none`, then each one named
    /// (true or false); those not named keep their current value.
    Set {
        /// The project.
        #[arg(long)]
        project: String,
        /// Every switch on: nothing in the project can be made public.
        #[arg(long, conflicts_with = "none")]
        all: bool,
        /// Every switch off.
        #[arg(long)]
        none: bool,
        /// Refuse public ACLs (and buckets made with one).
        #[arg(long, value_name = "BOOL")]
        block_public_acls: Option<bool>,
        /// Public ACLs grant nothing.
        #[arg(long, value_name = "BOOL")]
        ignore_public_acls: Option<bool>,
        /// Refuse bucket policies that make a bucket public.
        #[arg(long, value_name = "BOOL")]
        block_public_policy: Option<bool>,
        /// A public bucket policy grants nothing outside the project.
        #[arg(long, value_name = "BOOL")]
        restrict_public_buckets: Option<bool>,
    },
}

/// `coffer usage ...`
#[derive(Subcommand, Clone, Debug)]
pub enum UsageCommand {
    /// Show a project's usage by hour and bucket, with totals.
    Show {
        /// The project.
        #[arg(long)]
        project: String,
        /// Only this bucket.
        #[arg(long)]
        bucket: Option<String>,
        /// From this time: RFC 3339, or a date (midnight UTC at its start).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        from: Option<String>,
        /// Up to this time: RFC 3339, or a date (midnight UTC at its start).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        to: Option<String>,
    },
}

/// `coffer region ...`
#[derive(Subcommand, Clone, Debug)]
pub enum RegionCommand {
    /// List the regions and their hosts.
    List,
}

/// `coffer bucket ...`
#[derive(Subcommand, Clone, Debug)]
pub enum BucketCommand {
    /// List the buckets with their size and object count.
    List {
        /// Only this project's buckets.
        #[arg(long)]
        project: Option<String>,
    },
}

/// Runs a client command and gives what [`run`] prints (empty for deletes).
/// Fails with a readable message: the API's `code: message`, or what went
/// wrong on the way.
pub async fn run_to_string(conn: &Connection, cmd: ClientCommand) -> anyhow::Result<String> {
    run_to_string_with_stdin(conn, cmd, Stdin::Process).await
}

/// [`run_to_string`] with standard input taken from `stdin` (read only by
/// `coffer user password set`).
pub async fn run_to_string_with_stdin(conn: &Connection, cmd: ClientCommand, stdin: Stdin) -> anyhow::Result<String> {
    let client = client::Client::new(conn)?;
    let out = commands::execute(&client, cmd, stdin).await?;
    Ok(render::render(&out, conn.format))
}

/// Runs a client command and prints the result on stdout. The caller prints
/// an error (`Error: code: message`) and exits non-zero.
pub async fn run(conn: &Connection, cmd: ClientCommand) -> anyhow::Result<()> {
    let text = run_to_string(conn, cmd).await?;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    /// The client commands at the top level, with the connection options there.
    #[derive(Parser, Debug)]
    struct TopLevel {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        cmd: Top,
    }

    #[derive(Subcommand, Debug)]
    enum Top {
        /// A non-client command, which must not need the keys.
        Server,
        #[command(flatten)]
        Client(ClientCommand),
    }

    /// The connection options flattened into each client command instead.
    #[derive(Parser, Debug)]
    enum PerCommand {
        Project {
            #[command(flatten)]
            conn: Connection,
            #[command(subcommand)]
            cmd: ProjectCommand,
        },
    }

    fn parse(args: &[&str]) -> Result<TopLevel, clap::Error> {
        TopLevel::try_parse_from(std::iter::once("coffer").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definitions_are_valid() {
        TopLevel::command().debug_assert();
        PerCommand::command().debug_assert();
    }

    #[test]
    fn options_go_anywhere() {
        let a = parse(&["-f", "json", "--access-key", "AK", "project", "list"]).unwrap();
        let b = parse(&["project", "list", "-f", "json", "--access-key", "AK"]).unwrap();
        for p in [a, b] {
            assert_eq!(p.conn.format, Format::Json);
            assert_eq!(p.conn.access_key, "AK");
            assert!(matches!(p.cmd, Top::Client(ClientCommand::Project(ProjectCommand::List))));
        }
        assert!(matches!(parse(&["server"]).unwrap().cmd, Top::Server));
        let p = PerCommand::try_parse_from([
            "coffer",
            "project",
            "show",
            "acme",
            "--endpoint",
            "http://h:1",
            "-f",
            "value",
        ])
        .unwrap();
        let PerCommand::Project { conn, cmd } = p;
        assert_eq!(conn.endpoint, "http://h:1");
        assert_eq!(conn.format, Format::Value);
        assert!(matches!(cmd, ProjectCommand::Show { name } if name == "acme"));
    }

    #[test]
    fn key_argument_is_not_the_connection_key() {
        // The positional ACCESS_KEY must not share its id with the global --access-key.
        let p = parse(&["credentials", "delete", "AKUSER", "--access-key", "AKOP"]).unwrap();
        assert_eq!(p.conn.access_key, "AKOP");
        assert!(
            matches!(p.cmd, Top::Client(ClientCommand::Credentials(CredentialsCommand::Delete { access_key })) if access_key == "AKUSER")
        );
        let p = parse(&["--access-key", "AKOP", "credentials", "show", "AKUSER"]).unwrap();
        assert_eq!(p.conn.access_key, "AKOP");
        assert!(
            matches!(p.cmd, Top::Client(ClientCommand::Credentials(CredentialsCommand::Show { access_key })) if access_key == "AKUSER")
        );
    }

    #[test]
    fn argument_groups() {
        // Exactly one of --preset and --file.
        assert!(parse(&["user", "policy", "set", "--project", "p", "u"]).is_err());
        assert!(
            parse(&["user", "policy", "set", "--project", "p", "u", "--preset", "read-only", "--file", "x"]).is_err()
        );
        assert!(parse(&["user", "policy", "set", "--project", "p", "u", "--preset", "read-only"]).is_ok());
        // A password is never an argument.
        assert!(parse(&["user", "password", "set", "--project", "p", "u", "hunter2hunter2"]).is_err());
        assert!(parse(&["user", "password", "set", "--project", "p", "u", "--password", "x"]).is_err());
        assert!(parse(&["user", "password", "set", "--project", "p", "u", "--password-stdin"]).is_ok());
        assert!(parse(&["user", "password", "clear", "--project", "p", "u"]).is_ok());
        // Exactly one of --project and --bucket; at least one limit.
        assert!(parse(&["quota", "show"]).is_err());
        assert!(parse(&["quota", "show", "--project", "p", "--bucket", "b"]).is_err());
        assert!(parse(&["quota", "set", "--project", "p"]).is_err());
        assert!(parse(&["quota", "set", "--bucket", "b", "--max-bytes", "lots"]).is_err());
        let p = parse(&["quota", "set", "--bucket", "b", "--max-bytes", "10G", "--max-objects", "none"]).unwrap();
        match p.cmd {
            Top::Client(ClientCommand::Quota(QuotaCommand::Set { target, limits })) => {
                assert_eq!(target.bucket.as_deref(), Some("b"));
                assert_eq!(limits.max_bytes, Some(Limit(Some(10 << 30))));
                assert_eq!(limits.max_objects, Some(Limit(None)));
            }
            other => panic!("{other:?}"),
        }
        // Times are checked and normalised.
        assert!(parse(&["usage", "show", "--project", "p", "--from", "soon"]).is_err());
        let p = parse(&["usage", "show", "--project", "p", "--from", "2024-05-01"]).unwrap();
        assert!(
            matches!(p.cmd, Top::Client(ClientCommand::Usage(UsageCommand::Show { from: Some(f), .. })) if f == "2024-05-01T00:00:00Z")
        );
    }
}
