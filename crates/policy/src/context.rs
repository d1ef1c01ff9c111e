//! What a policy is evaluated against: who asks ([`PrincipalId`]), for what ([`Request`]) and the
//! condition keys that describe the request ([`Context`]).

use std::collections::BTreeMap;

/// Who is asking; matched against `Principal` and `NotPrincipal` in bucket policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalId {
    /// An unauthenticated request. Only the principal `"*"` (or `{"AWS": "*"}`) matches it.
    Anonymous,
    /// A project's root user. `account` is the project name.
    Root {
        /// The project name, which plays the AWS account id.
        account: String,
    },
    /// An IAM user of a project.
    User {
        /// The project name, which plays the AWS account id.
        account: String,
        /// The user's name.
        name: String,
    },
}

/// Condition keys and their values for one request, e.g. `s3:prefix` -> `["photos/"]`,
/// `aws:SourceIp` -> `["10.0.0.1"]`, `aws:SecureTransport` -> `["true"]`, `aws:username` -> `["alice"]`.
///
/// Key names are case-insensitive; values are kept as given. A key may hold several values (a
/// multi-valued key such as `aws:TagKeys`); a key with no values counts as absent.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Lowercased key -> values.
    values: BTreeMap<String, Vec<String>>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` to `key`'s values (a second insert makes the key multi-valued).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.values.entry(key.to_ascii_lowercase()).or_default().push(value.into());
    }

    /// [`Context::insert`] as a builder.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// Replaces `key`'s values. An empty `values` makes the key absent.
    pub fn set<I, V>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        let key = key.to_ascii_lowercase();
        if values.is_empty() {
            self.values.remove(&key);
        } else {
            self.values.insert(key, values);
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.values.remove(&key.to_ascii_lowercase());
    }

    /// `key`'s values, or `None` when the key is absent. Never returns an empty slice.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values.get(&key.to_ascii_lowercase()).map(Vec::as_slice).filter(|v| !v.is_empty())
    }

    /// `key`'s value when it has exactly one (what a policy variable can be replaced with).
    pub(crate) fn single(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some([one]) => Some(one),
            _ => None,
        }
    }
}

/// The request a policy is evaluated against.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Who is asking. Only bucket policies look at it.
    pub principal: &'a PrincipalId,
    /// The action, e.g. `s3:GetObject`. Matched case-insensitively.
    pub action: &'a str,
    /// The resource ARN, e.g. `arn:aws:s3:::bucket/key` or `arn:aws:s3:::bucket`, or `*` for an action
    /// on no particular resource (`s3:ListAllMyBuckets`). Matched case-sensitively.
    pub resource: &'a str,
    /// The request's condition keys.
    pub context: &'a Context,
}
