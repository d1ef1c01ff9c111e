//! [`RadosConfig`]: where the blobs live, parsed from a `rados://` URL.

use std::path::PathBuf;
use std::time::Duration;

/// How to reach the pool that holds the blobs.
///
/// Written as a URL (`--blobs rados://…`):
///
/// ```text
/// rados://POOL?conf=/etc/ceph/ceph.conf&user=admin&keyring=PATH&namespace=NS&stripe_mib=4&timeout_secs=30
/// ```
///
/// Every parameter is optional and may be given once; an unknown or repeated
/// parameter is an error that names it. Values are percent-decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RadosConfig {
    /// The RADOS pool (the URL's host part; required). It must exist: the
    /// store never creates pools.
    pub pool: String,
    /// `conf`: the Ceph configuration file naming the monitors (and usually
    /// the keyring). Default `/etc/ceph/ceph.conf`.
    pub conf: PathBuf,
    /// `user`: the cephx user, without `client.`. Default `admin`. It needs
    /// `osd 'allow rw pool=POOL'` (plus `namespace=NS` to confine it) and
    /// `mon 'allow r'`.
    pub user: String,
    /// `keyring`: a keyring file holding the user's key, when the
    /// configuration file does not name one. Default: none.
    pub keyring: Option<PathBuf>,
    /// `namespace`: the RADOS namespace of every object of this store, so
    /// one pool can serve several stores (or tests). Default: the pool's
    /// default namespace (empty).
    pub namespace: String,
    /// `stripe_mib`: the size of each RADOS object a blob is cut into, in
    /// MiB, 1 to 64. Default 4. A store reads the stripe size of each blob
    /// from its head, so changing it affects only new blobs. (In code the
    /// field is in bytes and may be any size from 4 KiB, for tests.)
    pub stripe_size: u64,
    /// `timeout_secs`: how long librados may wait for the monitors at
    /// connect and for any single operation (`client_mount_timeout`,
    /// `rados_osd_op_timeout`, `rados_mon_op_timeout`), 1 to 3600. Default
    /// 30. An operation that runs out fails with
    /// [`coffer_blob::BlobError::Unavailable`].
    pub timeout: Duration,
}

/// The default stripe size: 4 MiB.
pub const DEFAULT_STRIPE: u64 = 4 << 20;
/// The smallest stripe size allowed in code (tests): 4 KiB.
pub const MIN_STRIPE: u64 = 4 << 10;
/// The largest stripe size: 64 MiB (RADOS' default object size limit is 128 MiB).
pub const MAX_STRIPE: u64 = 64 << 20;

/// A `rados://` URL that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RadosConfigError {
    #[error("a RADOS blob store URL starts with rados:// (got {0:?})")]
    Scheme(String),
    #[error("the RADOS blob store URL names no pool (rados://POOL?...)")]
    NoPool,
    #[error("the RADOS blob store URL has a path after the pool ({0:?}); the pool is the only part before '?'")]
    Path(String),
    #[error(
        "unknown RADOS blob store parameter {0:?} (known: conf, user, keyring, namespace, stripe_mib, timeout_secs)"
    )]
    UnknownParameter(String),
    #[error("RADOS blob store parameter {0:?} given twice")]
    Repeated(String),
    #[error("RADOS blob store parameter {name:?}: {why}")]
    BadValue { name: String, why: String },
}

impl Default for RadosConfig {
    fn default() -> Self {
        RadosConfig {
            pool: String::new(),
            conf: PathBuf::from("/etc/ceph/ceph.conf"),
            user: "admin".into(),
            keyring: None,
            namespace: String::new(),
            stripe_size: DEFAULT_STRIPE,
            timeout: Duration::from_secs(30),
        }
    }
}

fn decode(s: &str, name: &str) -> Result<String, RadosConfigError> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| RadosConfigError::BadValue { name: name.into(), why: "not UTF-8 once percent-decoded".into() })
}

fn number(name: &str, value: &str, min: u64, max: u64) -> Result<u64, RadosConfigError> {
    let bad = || RadosConfigError::BadValue {
        name: name.into(),
        why: format!("{value:?} is not a number from {min} to {max}"),
    };
    let n: u64 = value.parse().map_err(|_| bad())?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(bad())
    }
}

impl RadosConfig {
    /// Parses `rados://POOL?param=value&...` (see [`RadosConfig`]).
    pub fn from_url(url: &str) -> Result<Self, RadosConfigError> {
        let rest = url.strip_prefix("rados://").ok_or_else(|| RadosConfigError::Scheme(url.into()))?;
        let (pool, query) = match rest.split_once('?') {
            Some((p, q)) => (p, q),
            None => (rest, ""),
        };
        // A trailing slash after the pool is harmless; anything more is not.
        let pool = pool.strip_suffix('/').unwrap_or(pool);
        if pool.contains('/') {
            return Err(RadosConfigError::Path(pool.into()));
        }
        let pool = decode(pool, "pool")?;
        if pool.is_empty() {
            return Err(RadosConfigError::NoPool);
        }
        let mut cfg = RadosConfig { pool, ..RadosConfig::default() };
        let mut seen: Vec<String> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name, name)?;
            let value = decode(value, &name)?;
            if seen.contains(&name) {
                return Err(RadosConfigError::Repeated(name));
            }
            let nonempty = |v: &str| {
                if v.is_empty() {
                    Err(RadosConfigError::BadValue { name: name.clone(), why: "empty".into() })
                } else {
                    Ok(v.to_owned())
                }
            };
            match name.as_str() {
                "conf" => cfg.conf = PathBuf::from(nonempty(&value)?),
                "user" => {
                    let user = nonempty(&value)?;
                    if user.starts_with("client.") {
                        return Err(RadosConfigError::BadValue {
                            name,
                            why: "give the user without \"client.\" (e.g. user=admin)".into(),
                        });
                    }
                    cfg.user = user;
                }
                "keyring" => cfg.keyring = Some(PathBuf::from(nonempty(&value)?)),
                "namespace" => cfg.namespace = value,
                "stripe_mib" => cfg.stripe_size = number(&name, &value, 1, MAX_STRIPE >> 20)? << 20,
                "timeout_secs" => cfg.timeout = Duration::from_secs(number(&name, &value, 1, 3600)?),
                _ => return Err(RadosConfigError::UnknownParameter(name)),
            }
            seen.push(name);
        }
        Ok(cfg)
    }
}

impl std::str::FromStr for RadosConfig {
    type Err = RadosConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RadosConfig::from_url(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = RadosConfig::from_url("rados://blobs").unwrap();
        assert_eq!(c, RadosConfig { pool: "blobs".into(), ..RadosConfig::default() });
        assert_eq!(c.conf, PathBuf::from("/etc/ceph/ceph.conf"));
        assert_eq!((c.user.as_str(), c.namespace.as_str(), c.stripe_size), ("admin", "", 4 << 20));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(RadosConfig::from_url("rados://blobs/?").unwrap().pool, "blobs");
    }

    #[test]
    fn every_parameter() {
        let c: RadosConfig = "rados://coffer-data?conf=/etc/ceph/prod.conf&user=coffer&keyring=/etc/ceph/k%20ring\
            &namespace=gw%2Fa&stripe_mib=8&timeout_secs=5"
            .parse()
            .unwrap();
        assert_eq!(
            c,
            RadosConfig {
                pool: "coffer-data".into(),
                conf: "/etc/ceph/prod.conf".into(),
                user: "coffer".into(),
                keyring: Some("/etc/ceph/k ring".into()),
                namespace: "gw/a".into(),
                stripe_size: 8 << 20,
                timeout: Duration::from_secs(5),
            }
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        use RadosConfigError as E;
        let err = |u: &str| RadosConfig::from_url(u).unwrap_err();
        assert_eq!(err("ceph://p"), E::Scheme("ceph://p".into()));
        assert_eq!(err("rados://"), E::NoPool);
        assert_eq!(err("rados://?conf=/x"), E::NoPool);
        assert_eq!(err("rados://p/extra"), E::Path("p/extra".into()));
        assert_eq!(err("rados://p?stripe=4"), E::UnknownParameter("stripe".into()));
        assert!(err("rados://p?pool=q").to_string().contains("\"pool\""));
        assert_eq!(err("rados://p?user=a&user=b"), E::Repeated("user".into()));
        for bad in ["stripe_mib=0", "stripe_mib=65", "stripe_mib=four", "timeout_secs=0", "timeout_secs=-1"] {
            let name = bad.split('=').next().unwrap();
            assert!(matches!(err(&format!("rados://p?{bad}")), E::BadValue { name: n, .. } if n == name), "{bad}");
        }
        assert!(matches!(err("rados://p?user=client.admin"), E::BadValue { .. }));
        assert!(matches!(err("rados://p?conf="), E::BadValue { .. }));
        assert!(matches!(err("rados://p?conf=%ff"), E::BadValue { .. }));
    }
}
