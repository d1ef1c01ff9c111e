//! Benchmarking as a project's IAM user instead of the operator: the key is
//! made with the `coffer` CLI (the same binary), so every request goes
//! through key resolution, the user's policy and the bucket lookup.

use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

/// Runs one CLI command as the operator and parses its JSON output.
fn cli(bin: &Path, addr: SocketAddr, access: &str, secret: &str, args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let out = Command::new(bin)
        .args(args)
        .args(["-f", "json"])
        .env("COFFER_ENDPOINT", format!("http://{addr}"))
        .env("COFFER_ACCESS_KEY", access)
        .env("COFFER_SECRET_KEY", secret)
        .output()
        .with_context(|| format!("running {} {}", bin.display(), args.join(" ")))?;
    if !out.status.success() {
        anyhow::bail!("coffer {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("parsing the output of coffer {}", args.join(" ")))
}

/// Creates project `bench`, IAM user `bench` with the full-access preset,
/// and a key for it; gives (access key, secret).
pub fn iam_user_key(bin: &Path, addr: SocketAddr, access: &str, secret: &str) -> anyhow::Result<(String, String)> {
    cli(bin, addr, access, secret, &["project", "create", "bench"])?;
    cli(bin, addr, access, secret, &["user", "create", "--project", "bench", "bench"])?;
    cli(
        bin,
        addr,
        access,
        secret,
        &["user", "policy", "set", "--project", "bench", "bench", "--preset", "full-access"],
    )?;
    let k = cli(bin, addr, access, secret, &["credentials", "create", "--project", "bench", "--user", "bench"])?;
    let field = |name: &str| {
        k[name].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no {name} in the CLI's answer: {k}"))
    };
    Ok((field("access_key")?, field("secret_key")?))
}
