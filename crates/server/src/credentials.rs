//! The operator's root credential: taken from the environment when given,
//! otherwise generated on first start and printed once on stdout. Its
//! secret is stored sealed under the master key, like every other.
//!
//! `operator.json` in the data directory records the root access key id (never
//! the secret) so later starts know one exists.

use anyhow::Context as _;
use coffer_iam::Iam;
use rand::distributions::Alphanumeric;
use rand::Rng;
use std::path::Path;

/// Access key id and secret of the operator.
#[derive(Clone)]
pub struct RootCredential {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for RootCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCredential")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Marker {
    access_key: String,
}

fn random(n: usize, upper: bool) -> String {
    let s: String = rand::thread_rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect();
    if upper {
        s.to_ascii_uppercase()
    } else {
        s
    }
}

/// Makes sure the operator credential exists; returns it and whether it was
/// generated now (the secret of an earlier generated one is not retrievable).
pub async fn ensure_root_credential(
    iam: &Iam,
    data_dir: &Path,
    given: Option<RootCredential>,
) -> anyhow::Result<(RootCredential, bool)> {
    let marker_path = data_dir.join("operator.json");
    if let Some(c) = given {
        iam.put_operator_key(&c.access_key, &c.secret_key).await?;
        write_marker(&marker_path, &c.access_key)?;
        return Ok((c, false));
    }
    if let Ok(text) = std::fs::read_to_string(&marker_path) {
        let m: Marker = serde_json::from_str(&text).context("reading operator.json")?;
        if let Some(secret) = iam.operator_secret(&m.access_key).await? {
            return Ok((RootCredential { access_key: m.access_key, secret_key: secret }, false));
        }
    }
    let c = RootCredential { access_key: format!("CO{}", random(18, true)), secret_key: random(40, false) };
    iam.put_operator_key(&c.access_key, &c.secret_key).await?;
    write_marker(&marker_path, &c.access_key)?;
    Ok((c, true))
}

fn write_marker(path: &Path, access_key: &str) -> anyhow::Result<()> {
    let text = serde_json::to_string(&Marker { access_key: access_key.to_owned() })?;
    let tmp = path.with_extension("json.tmp");
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(text.as_bytes())?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}
