//! Records of the tenancy model: projects, users, access keys, quotas and
//! usage. Kept by [`crate::IdentityStore`] (who may act) and
//! [`crate::MetaStore`] (quotas, stored totals and metering, which must change
//! in the same transaction as the objects they count).

use coffer_types::UnixMillis;
use std::collections::{BTreeMap, BTreeSet};

/// The project of the operator's own keys and of buckets created by the
/// operator: it has no quota and no users.
pub const OPERATOR_PROJECT: &str = "";

/// A project (tenant): owns buckets, users, keys, quotas and usage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectRecord {
    /// Unique, `[a-z0-9-]`, 1..=64 characters (checked by the identity layer).
    pub name: String,
    pub created: UnixMillis,
}

/// The IAM path of a user created without one.
pub const DEFAULT_USER_PATH: &str = "/";

/// A user of a project. Every project has one root user (created with it).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub project: String,
    /// Unique in the project (the identity layer also refuses names that
    /// differ only in case); may change ([`crate::IdentityStore::rename_user`]).
    pub name: String,
    /// IAM's unique id of the user (`AIDA...`), chosen at creation and kept
    /// across renames; opaque to the store.
    pub id: String,
    /// The IAM path (`/`, or `/division/team/`: starts and ends with `/`,
    /// checked by the identity layer), [`DEFAULT_USER_PATH`] unless given.
    pub path: String,
    /// The project's root user: full access to the project.
    pub root: bool,
    pub created: UnixMillis,
    /// Inline policy documents by policy name, as the JSON text given.
    pub inline_policies: BTreeMap<String, String>,
    /// Names of attached preset (managed) policies.
    pub attached: BTreeSet<String>,
    /// The hash of the user's console password as a PHC string
    /// (`$argon2id$...`), never the password; `None`: no console sign-in.
    /// Opaque to the store; set by [`crate::IdentityStore::set_user_password`].
    pub password_hash: Option<String>,
}

/// Like the derived one, but never prints the password hash.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("project", &self.project)
            .field("name", &self.name)
            .field("id", &self.id)
            .field("path", &self.path)
            .field("root", &self.root)
            .field("created", &self.created)
            .field("inline_policies", &self.inline_policies)
            .field("attached", &self.attached)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Whether an access key may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    /// `Active` or `Inactive`, as the IAM API spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

/// An S3 access key. The store never sees the secret in clear: the identity
/// layer seals it under the master key before it gets here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKeyRecord {
    pub access_key: String,
    /// The sealed secret (opaque text to the store).
    pub sealed_secret: String,
    /// [`OPERATOR_PROJECT`] for the operator's keys.
    pub project: String,
    pub user: String,
    /// The region the key works in; empty: every region (operator keys).
    pub region: String,
    pub status: KeyStatus,
    pub created: UnixMillis,
    pub expires: Option<UnixMillis>,
    pub last_used: Option<UnixMillis>,
}

/// What a quota applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QuotaScope {
    Project(String),
    Bucket(String),
}

/// Limits on stored bytes and objects; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    pub max_bytes: Option<u64>,
    pub max_objects: Option<u64>,
}

impl Quota {
    /// Whether adding `add_bytes`/`add_objects` to totals of `bytes`/`objects`
    /// passes a limit. Only a total that grows is checked, so shrinking
    /// writes always pass; reaching a limit exactly is allowed. Every store
    /// decides with this, in the write's own transaction.
    pub fn exceeded_by(&self, bytes: i64, objects: i64, add_bytes: i64, add_objects: i64) -> bool {
        let over = |now: i64, delta: i64, max: Option<u64>| {
            delta > 0 && max.is_some_and(|m| i128::from(now) + i128::from(delta) > i128::from(m))
        };
        over(bytes, add_bytes, self.max_bytes) || over(objects, add_objects, self.max_objects)
    }
}

/// What a bucket holds now. `bytes` counts objects and the parts of
/// multipart uploads in progress; `objects` counts objects only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoredTotals {
    pub bytes: u64,
    pub objects: u64,
}

/// Requests counted by class (billing classes are sums of these).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// GET and HEAD of objects.
    pub get: u64,
    /// PUT, POST, copy and multipart writes.
    pub put: u64,
    /// Bucket and object listings.
    pub list: u64,
    /// Deletes of objects and uploads.
    pub delete: u64,
    /// Everything else (bucket configuration, ACLs, ...).
    pub other: u64,
}

impl RequestCounts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &RequestCounts) {
        self.get = self.get.saturating_add(other.get);
        self.put = self.put.saturating_add(other.put);
        self.list = self.list.saturating_add(other.list);
        self.delete = self.delete.saturating_add(other.delete);
        self.other = self.other.saturating_add(other.other);
    }
}

/// Traffic to add to one hourly usage record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageDelta {
    pub project: String,
    pub bucket: String,
    /// Start of the hour, Unix seconds (a multiple of 3600).
    pub hour: i64,
    pub requests: RequestCounts,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// One hour of one bucket's usage.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UsageRecord {
    pub project: String,
    pub bucket: String,
    /// Start of the hour, Unix seconds.
    pub hour: i64,
    /// Stored bytes integrated over the part of the hour metered so far.
    pub byte_hours: f64,
    /// Stored bytes and objects at the last metering in this hour.
    pub bytes: u64,
    pub objects: u64,
    pub requests: RequestCounts,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// A usage query: one project, optionally one bucket, hours in `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageQuery {
    pub project: String,
    pub bucket: Option<String>,
    /// Unix seconds, inclusive.
    pub from: i64,
    /// Unix seconds, exclusive.
    pub to: i64,
}

/// Failed console sign-ins recorded under one throttling scope since some
/// time ([`crate::IdentityStore::signin_failures`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigninFailures {
    pub count: u64,
    /// When the oldest of them was recorded (`None` when there is none).
    pub oldest: Option<UnixMillis>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_is_exceeded_only_by_growing_past_a_limit() {
        let q = Quota { max_bytes: Some(100), max_objects: Some(2) };
        assert!(!q.exceeded_by(90, 1, 10, 1), "reaching the limit is allowed");
        assert!(q.exceeded_by(90, 1, 11, 0));
        assert!(q.exceeded_by(0, 2, 0, 1));
        assert!(!q.exceeded_by(500, 9, -1, 0), "shrinking is never refused");
        assert!(!q.exceeded_by(500, 1, 0, 1), "bytes over but not growing; objects within");
        assert!(!Quota::default().exceeded_by(i64::MAX, i64::MAX, i64::MAX, 1));
        let huge = Quota { max_bytes: Some(u64::MAX), max_objects: None };
        assert!(!huge.exceeded_by(i64::MAX, 0, i64::MAX, 0), "no overflow");
    }
}
