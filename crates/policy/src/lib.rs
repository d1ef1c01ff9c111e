//! The AWS IAM policy language, as Coffer uses it: parsing, validating and evaluating identity
//! policies (attached to users) and S3 bucket policies. Pure: no I/O, no async.
//!
//! - [`Policy::parse_identity`] and [`Policy::parse_bucket`] turn a JSON document into a [`Policy`]
//!   or a [`PolicyError`] whose message tells the user which statement and element are wrong
//!   (`document`, `element`, `principal`, `condition`).
//! - [`Policy::evaluate`] decides a [`Request`]: who ([`PrincipalId`]), which action, which resource,
//!   and the condition keys in its [`Context`] (`eval`).
//! - Wildcards (`*`, `?`) are matched by `matching`; policy variables (`${aws:username}`) are replaced
//!   by `template`.
//! - [`presets`] holds the built-in identity policies users can be given by name.
//!
//! Actions match case-insensitively, resources and condition values case-sensitively (except the
//! `IgnoreCase` operators and `Bool`). A policy decides alone; combining the decisions of several
//! policies (an explicit deny anywhere wins) is the caller's job.
//!
//! ```
//! use coffer_policy::{Context, Decision, Policy, PrincipalId, Request};
//!
//! let policy = Policy::parse_identity(r#"{
//!     "Version": "2012-10-17",
//!     "Statement": [{
//!         "Effect": "Allow",
//!         "Action": "s3:*Object",
//!         "Resource": "arn:aws:s3:::shared/home/${aws:username}/*"
//!     }]
//! }"#)?;
//! let alice = PrincipalId::User { account: "acme".into(), name: "alice".into() };
//! let context = Context::new().with("aws:username", "alice");
//! let request = |resource| Request { principal: &alice, action: "s3:GetObject", resource, context: &context };
//! assert_eq!(policy.evaluate(&request("arn:aws:s3:::shared/home/alice/notes.txt")), Decision::Allow);
//! assert_eq!(policy.evaluate(&request("arn:aws:s3:::shared/home/bob/notes.txt")), Decision::NotApplicable);
//! # Ok::<(), coffer_policy::PolicyError>(())
//! ```

mod condition;
mod context;
mod document;
mod element;
mod error;
mod eval;
mod matching;
pub mod presets;
mod principal;
mod template;

pub use context::{Context, PrincipalId, Request};
pub use error::{PolicyError, StatementRef};
pub use matching::wildcard_match;
pub use presets::Preset;

/// The largest policy document accepted, in bytes (20 KiB, the S3 bucket policy limit).
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// The outcome of evaluating a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// An applying statement allows the request, and none denies it.
    Allow,
    /// An applying statement explicitly denies the request.
    Deny,
    /// No statement applies.
    NotApplicable,
}

/// Which kind of document a policy is; it decides which elements are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to a user: no `Principal`; the user is the principal.
    Identity,
    /// Attached to a bucket: every statement names its principals.
    Bucket,
}

/// The policy language version a document declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    /// `2012-10-17`: the current version, the only one with policy variables.
    V2012_10_17,
    /// `2008-10-17`: the old version; `${...}` is plain text.
    V2008_10_17,
}

/// A parsed, validated policy document.
#[derive(Clone, Debug)]
pub struct Policy {
    kind: PolicyKind,
    version: Option<PolicyVersion>,
    id: Option<String>,
    statements: Vec<document::Statement>,
}

impl Policy {
    /// Parses an identity policy (attached to a user): no `Principal`/`NotPrincipal` allowed, `Resource`
    /// or `NotResource` required in every statement.
    pub fn parse_identity(text: &str) -> Result<Policy, PolicyError> {
        document::parse(text, PolicyKind::Identity, "")
    }

    /// Parses a bucket policy for `bucket`: every statement needs `Principal` or `NotPrincipal`, and every
    /// resource must be the bucket (`arn:aws:s3:::bucket`) or inside it (`arn:aws:s3:::bucket/...`,
    /// wildcards allowed after the `/`); anything else is [`PolicyError::InvalidResource`].
    pub fn parse_bucket(text: &str, bucket: &str) -> Result<Policy, PolicyError> {
        document::parse(text, PolicyKind::Bucket, bucket)
    }

    /// Whether this is an identity or a bucket policy.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The declared `Version`, if any.
    pub fn version(&self) -> Option<PolicyVersion> {
        self.version
    }

    /// The document's `Id`, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The number of statements.
    pub fn statements_len(&self) -> usize {
        self.statements.len()
    }

    /// Whether a condition of some statement reads a key starting with
    /// `prefix` (case ignored), e.g. `s3:ExistingObjectTag/`: the caller then
    /// owes the context those keys, which can cost a read.
    pub fn reads_condition_key(&self, prefix: &str) -> bool {
        self.statements.iter().any(|s| s.condition.reads_key_prefix(prefix))
    }

    /// Whether a bucket policy makes its bucket public, as S3's policy status
    /// says it: some statement allows everyone (`Principal: "*"`) without a
    /// condition pinning the requester to fixed sources or accounts
    /// (source address, VPC, account, organization, ...).
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(public_grant)
    }

    /// The policy without the statements that make it public: what S3's
    /// RestrictPublicBuckets leaves in force for principals outside the
    /// bucket's account. Denies and grants to named principals stay.
    pub fn without_public_grants(&self) -> Policy {
        let mut p = self.clone();
        p.statements.retain(|s| !public_grant(s));
        p
    }
}

impl Policy {
    /// The policy with its denies only (grants it may not give: on an
    /// object another project owns).
    pub fn without_grants(&self) -> Policy {
        let mut p = self.clone();
        p.statements.retain(|s| s.effect == document::Effect::Deny);
        p
    }
}

/// An Allow to everyone (`Principal: "*"`) that no condition pins to fixed requesters.
fn public_grant(s: &document::Statement) -> bool {
    s.effect == document::Effect::Allow
        && matches!(&s.principal, Some((p, false)) if p.names_everyone())
        && !s.condition.pins_the_requester()
}
