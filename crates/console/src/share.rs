//! Share links: presigned GET URLs of the S3 endpoint, signed with an S3 key
//! of the signed-in user in the session's region. The link carries exactly
//! that user's permissions and dies with its key: deactivating or deleting
//! the key revokes every link it signed.
//!
//! A user without a usable key gets one created for it (shown on the S3
//! keys page like any other, so it can be revoked there). The operator signs
//! with the key it signed in with.

use crate::session::{Viewer, Who};
use crate::web::PageError;
use crate::Inner;
use coffer_iam::NewKey;
use coffer_meta::KeyStatus;
use coffer_types::{now_millis, UnixMillis};
use http::StatusCode;

/// Link lifetimes offered, in seconds (SigV4 allows at most 7 days).
pub(crate) const EXPIRIES: [(u64, &str); 5] =
    [(900, "15 minutes"), (3600, "1 hour"), (43_200, "12 hours"), (86_400, "1 day"), (604_800, "7 days")];

/// Where the S3 endpoint is reached from outside, for links.
#[derive(Clone, Debug, Default)]
pub struct S3Links {
    /// `http` or `https`.
    pub scheme: String,
    /// The S3 listener's port.
    pub port: u16,
    /// Endpoint host names per region (`--region NAME=HOST,...`).
    pub region_hosts: Vec<(String, String)>,
    /// A fixed base URL (`--s3-public-url`), e.g. behind a reverse proxy.
    pub public_url: Option<String>,
}

impl S3Links {
    /// The base URL (scheme and authority, no trailing slash) of the S3
    /// endpoint of `region`, as a browser that reached the console at
    /// `console_host` would reach it.
    pub fn base(&self, region: &str, console_host: Option<&str>) -> String {
        if let Some(u) = &self.public_url {
            return u.trim_end_matches('/').to_owned();
        }
        let scheme = if self.scheme.is_empty() { "http" } else { &self.scheme };
        let default_port = if scheme == "https" { 443 } else { 80 };
        let with_port = |host: &str| {
            let has_port = if host.starts_with('[') { host.contains("]:") } else { host.contains(':') };
            if has_port || self.port == default_port {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}:{}", self.port)
            }
        };
        if let Some((_, h)) = self.region_hosts.iter().find(|(r, _)| r == region) {
            return with_port(h);
        }
        let host = console_host.map(strip_port).filter(|h| !h.is_empty()).unwrap_or("localhost");
        with_port(host)
    }
}

/// `host:port` → `host` (`[::1]:9001` → `[::1]`).
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |i| &authority[..=i]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Percent-encodes an object key for a URL path ('/' kept).
pub(crate) fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The key a link is signed with.
pub(crate) struct Signer {
    pub access_key: String,
    secret: String,
    /// The key was created for this link.
    pub created: bool,
}

/// A usable key of the viewer in `region`, valid past `until`; one is
/// created when there is none.
pub(crate) async fn signer(inner: &Inner, v: &Viewer, region: &str, until: UnixMillis) -> Result<Signer, PageError> {
    let (project, user) = match &v.session.who {
        Who::Operator { access_key } => {
            let secret = inner.iam.operator_secret(access_key).await.map_err(PageError::internal)?;
            let secret = secret.ok_or_else(|| PageError::internal("the operator key vanished"))?;
            return Ok(Signer { access_key: access_key.clone(), secret, created: false });
        }
        Who::User { project, user } => (project, user),
    };
    let keys = inner.iam.list_keys(project, Some(user)).await.map_err(PageError::internal)?;
    let now = now_millis();
    let usable = keys.into_iter().filter(|k| {
        k.status == KeyStatus::Active && k.region == region && k.expires.is_none_or(|e| e > until) && k.user == *user
    });
    for k in usable {
        match inner.iam.resolve(&k.access_key, Some(region), now).await {
            Ok(r) => return Ok(Signer { access_key: k.access_key, secret: r.secret, created: false }),
            Err(e) => tracing::debug!(key = %k.access_key, error = %e, "key not usable for a share link"),
        }
    }
    let req = NewKey { project: project.clone(), user: Some(user.clone()), region: Some(region.into()), expires: None };
    match inner.iam.create_key(&req).await {
        Ok(k) => {
            tracing::info!(%project, %user, key = %k.record.access_key, "console created a key for share links");
            Ok(Signer { access_key: k.record.access_key, secret: k.secret, created: true })
        }
        Err(coffer_iam::IamError::TooManyKeys(n)) => Err(PageError::new(
            StatusCode::CONFLICT,
            "No key to sign with",
            format!("Share links are signed with one of your S3 keys, and you have {n} keys, none usable in this region. Delete one on the S3 keys page and try again."),
        )),
        Err(e) => Err(PageError::internal(e)),
    }
}

/// A presigned GET URL of `key` in `bucket`, valid `expires` seconds.
pub(crate) fn presign(base: &str, bucket: &str, key: &str, signer: &Signer, region: &str, expires: u64) -> String {
    let host = base.split_once("://").map_or(base, |(_, rest)| rest);
    let path = format!("/{bucket}/{}", encode_key(key));
    let now = time::OffsetDateTime::now_utc();
    let query = coffer_s3_proto::sigv4::presign_query(
        "GET",
        &path,
        "",
        host,
        &signer.access_key,
        &signer.secret,
        region,
        now,
        expires,
    );
    format!("{base}{path}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases() {
        let links = S3Links { scheme: "http".into(), port: 9000, ..Default::default() };
        assert_eq!(links.base("r", Some("example.org:9001")), "http://example.org:9000");
        assert_eq!(links.base("r", Some("[::1]:9001")), "http://[::1]:9000");
        assert_eq!(links.base("r", None), "http://localhost:9000");
        let links = S3Links {
            scheme: "https".into(),
            port: 443,
            region_hosts: vec![("eu".into(), "s3.eu.example".into())],
            public_url: None,
        };
        assert_eq!(links.base("eu", Some("console.example")), "https://s3.eu.example");
        assert_eq!(links.base("us", Some("console.example:8443")), "https://console.example");
        let fixed = S3Links { public_url: Some("https://s3.example/".into()), ..links };
        assert_eq!(fixed.base("eu", None), "https://s3.example");
    }

    #[test]
    fn keys_encode_for_paths() {
        assert_eq!(encode_key("a b/c+d?é"), "a%20b/c%2Bd%3F%C3%A9");
    }
}
