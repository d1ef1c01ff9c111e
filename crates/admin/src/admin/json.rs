//! The admin API's JSON shapes: request bodies (unknown fields refused) and
//! answers (times as RFC 3339 text, sizes as integers). The OpenAPI
//! document describes the same shapes.

use crate::timefmt::rfc3339;
use coffer_meta::{AccessKeyRecord, ProjectRecord, Quota, RequestCounts, UserRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /projects`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NameBody {
    pub name: String,
}

/// `POST /projects/{p}/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserBody {
    pub name: String,
    /// The IAM path (`/a/b/`); default `/`.
    pub path: Option<String>,
}

/// `PUT .../policy`: exactly one of the two.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyBody {
    pub preset: Option<String>,
    /// A policy object, or its JSON text.
    pub document: Option<serde_json::Value>,
}

/// `PUT .../password`: `{"password": "..."}` sets, `{"password": null}`
/// removes; the field is required. No `Debug`: it holds a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
    #[serde(default, deserialize_with = "present")]
    pub password: Option<Option<String>>,
}

/// A field that is present, `null` or not: `Some(None)` for `null`, while
/// `#[serde(default)]` gives `None` when it is missing.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `POST /projects/{p}/keys`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKeyBody {
    pub user: Option<String>,
    pub region: Option<String>,
    /// RFC 3339.
    pub expires: Option<String>,
}

/// `PATCH /keys/{ak}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyPatch {
    pub status: String,
}

/// A quota, in and out; a missing or null limit is unlimited.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuotaJson {
    #[serde(default)]
    pub max_bytes: Option<u64>,
    #[serde(default)]
    pub max_objects: Option<u64>,
}

impl From<Quota> for QuotaJson {
    fn from(q: Quota) -> Self {
        QuotaJson { max_bytes: q.max_bytes, max_objects: q.max_objects }
    }
}

impl From<QuotaJson> for Quota {
    fn from(q: QuotaJson) -> Self {
        Quota { max_bytes: q.max_bytes, max_objects: q.max_objects }
    }
}

/// A project's Block Public Access switches, in and out; a missing switch is off.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublicAccessBlockJson {
    #[serde(default)]
    pub block_public_acls: bool,
    #[serde(default)]
    pub ignore_public_acls: bool,
    #[serde(default)]
    pub block_public_policy: bool,
    #[serde(default)]
    pub restrict_public_buckets: bool,
}

impl From<coffer_types::PublicAccessBlock> for PublicAccessBlockJson {
    fn from(p: coffer_types::PublicAccessBlock) -> Self {
        PublicAccessBlockJson {
            block_public_acls: p.block_public_acls,
            ignore_public_acls: p.ignore_public_acls,
            block_public_policy: p.block_public_policy,
            restrict_public_buckets: p.restrict_public_buckets,
        }
    }
}

impl From<PublicAccessBlockJson> for coffer_types::PublicAccessBlock {
    fn from(p: PublicAccessBlockJson) -> Self {
        coffer_types::PublicAccessBlock {
            block_public_acls: p.block_public_acls,
            ignore_public_acls: p.ignore_public_acls,
            block_public_policy: p.block_public_policy,
            restrict_public_buckets: p.restrict_public_buckets,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct RegionJson {
    pub name: String,
    pub hosts: Vec<String>,
    pub default: bool,
}

#[derive(Serialize)]
pub(crate) struct ProjectJson {
    pub name: String,
    pub created: String,
}

impl From<&ProjectRecord> for ProjectJson {
    fn from(p: &ProjectRecord) -> Self {
        ProjectJson { name: p.name.clone(), created: rfc3339(p.created) }
    }
}

#[derive(Serialize)]
pub(crate) struct ProjectDetailJson {
    pub name: String,
    pub created: String,
    pub quota: QuotaJson,
    pub stored: StoredJson,
}

#[derive(Serialize)]
pub(crate) struct StoredJson {
    pub bytes: u64,
    pub objects: u64,
    pub buckets: u64,
}

#[derive(Serialize)]
pub(crate) struct UserJson {
    pub name: String,
    pub path: String,
    pub root: bool,
    pub created: String,
    pub presets: Vec<String>,
    pub inline_policies: Vec<String>,
    /// Whether the user has a console password (never the password or its hash).
    pub has_password: bool,
}

impl From<&UserRecord> for UserJson {
    fn from(u: &UserRecord) -> Self {
        UserJson {
            name: u.name.clone(),
            path: u.path.clone(),
            root: u.root,
            created: rfc3339(u.created),
            presets: u.attached.iter().cloned().collect(),
            inline_policies: u.inline_policies.keys().cloned().collect(),
            has_password: u.password_hash.is_some(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct PolicyJson {
    pub presets: Vec<String>,
    /// Documents by policy name, as JSON (as text if one no longer parses).
    pub inline: BTreeMap<String, serde_json::Value>,
}

impl From<&UserRecord> for PolicyJson {
    fn from(u: &UserRecord) -> Self {
        let inline = u
            .inline_policies
            .iter()
            .map(|(name, doc)| {
                let v = serde_json::from_str(doc).unwrap_or_else(|_| serde_json::Value::String(doc.clone()));
                (name.clone(), v)
            })
            .collect();
        PolicyJson { presets: u.attached.iter().cloned().collect(), inline }
    }
}

#[derive(Serialize)]
pub(crate) struct KeyJson {
    pub access_key: String,
    pub project: String,
    pub user: String,
    pub region: String,
    pub status: &'static str,
    pub created: String,
    pub last_used: Option<String>,
    pub expires: Option<String>,
}

impl From<&AccessKeyRecord> for KeyJson {
    fn from(k: &AccessKeyRecord) -> Self {
        KeyJson {
            access_key: k.access_key.clone(),
            project: k.project.clone(),
            user: k.user.clone(),
            region: k.region.clone(),
            status: k.status.as_str(),
            created: rfc3339(k.created),
            last_used: k.last_used.map(rfc3339),
            expires: k.expires.map(rfc3339),
        }
    }
}

/// A new key: the only answer that carries its secret.
#[derive(Serialize)]
pub(crate) struct CreatedKeyJson {
    pub access_key: String,
    pub secret_key: String,
    pub project: String,
    pub user: String,
    pub region: String,
    pub status: &'static str,
    pub created: String,
    pub expires: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct BucketJson {
    pub name: String,
    pub project: String,
    pub region: String,
    pub created: String,
    pub bytes: u64,
    pub objects: u64,
}

#[derive(Serialize, Default)]
pub(crate) struct RequestsJson {
    pub get: u64,
    pub put: u64,
    pub list: u64,
    pub delete: u64,
    pub other: u64,
}

impl From<RequestCounts> for RequestsJson {
    fn from(r: RequestCounts) -> Self {
        RequestsJson { get: r.get, put: r.put, list: r.list, delete: r.delete, other: r.other }
    }
}

#[derive(Serialize)]
pub(crate) struct UsageHourJson {
    pub hour: String,
    pub bucket: String,
    pub byte_hours: f64,
    pub bytes: u64,
    pub objects: u64,
    pub requests: RequestsJson,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

#[derive(Serialize)]
pub(crate) struct UsageTotalsJson {
    pub byte_hours: f64,
    pub requests: RequestsJson,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

#[derive(Serialize)]
pub(crate) struct UsageJson {
    pub project: String,
    pub bucket: Option<String>,
    pub from: String,
    pub to: String,
    pub hours: Vec<UsageHourJson>,
    pub totals: UsageTotalsJson,
}
