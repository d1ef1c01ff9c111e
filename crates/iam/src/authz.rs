//! The authorization decision: may this principal perform this action on
//! this resource?
//!
//! Sources, as AWS combines them for S3:
//! - an explicit `Deny` in the principal's identity policies or in the bucket
//!   policy refuses, whatever else allows (the project root may still read,
//!   set and delete its own bucket's policy, so a bad policy can be undone);
//! - within the bucket's own project, the root user is allowed, and an IAM
//!   user is allowed by its identity policies, the bucket policy or the ACL;
//! - from another project, the requester's own identity must allow (the root
//!   user's always does) *and* the bucket policy or the ACL must grant;
//! - anonymous requests are allowed only by the bucket policy or the ACL;
//! - the operator is allowed everything.

use crate::principal::Principal;
use coffer_policy::{Context, Decision, Policy, Request};

/// One access to decide.
#[derive(Clone, Copy, Debug)]
pub struct Access<'a> {
    /// The IAM action, e.g. `s3:GetObject`.
    pub action: &'a str,
    /// The resource ARN, e.g. `arn:aws:s3:::bucket/key` (`*` for ListAllMyBuckets).
    pub resource: &'a str,
    /// The project owning the addressed bucket; `None` when the request
    /// addresses no existing bucket (ListBuckets, CreateBucket).
    pub bucket_owner: Option<&'a str>,
    /// The bucket's policy, if it has one.
    pub bucket_policy: Option<&'a Policy>,
    /// Whether the bucket's or object's canned ACL grants this access to the requester.
    pub acl_grants: bool,
    /// Condition keys of the request.
    pub context: &'a Context,
}

/// Actions the owning project's root user keeps even against an explicit deny.
const LOCKOUT_SAFE: [&str; 3] = ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"];

/// Whether `principal` may perform `access`.
pub fn decide(principal: &Principal, access: &Access<'_>) -> bool {
    let user = match principal {
        Principal::Operator { .. } => return true,
        Principal::User(u) => Some(u),
        Principal::Anonymous => None,
    };
    let id = principal.policy_id();
    let req = Request { principal: &id, action: access.action, resource: access.resource, context: access.context };
    let bucket = access.bucket_policy.map_or(Decision::NotApplicable, |p| p.evaluate(&req));
    let identity = match user {
        Some(u) if u.root => Decision::Allow,
        Some(u) => combine(u.policies.iter().map(|p| p.evaluate(&req))),
        None => Decision::NotApplicable,
    };
    let own_bucket = match (user, access.bucket_owner) {
        (Some(u), Some(owner)) => u.project == owner,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if bucket == Decision::Deny || identity == Decision::Deny {
        return own_bucket && user.is_some_and(|u| u.root) && LOCKOUT_SAFE.contains(&access.action);
    }
    let resource_grants = bucket == Decision::Allow || (access.acl_grants && access.bucket_owner.is_some());
    match user {
        None => resource_grants,
        Some(_) if own_bucket => identity == Decision::Allow || resource_grants,
        Some(_) => identity == Decision::Allow && resource_grants,
    }
}

/// Deny if any denies, else Allow if any allows.
fn combine(decisions: impl Iterator<Item = Decision>) -> Decision {
    let mut out = Decision::NotApplicable;
    for d in decisions {
        match d {
            Decision::Deny => return Decision::Deny,
            Decision::Allow => out = Decision::Allow,
            Decision::NotApplicable => {}
        }
    }
    out
}

/// The global condition keys every front-end sets for a request:
/// `aws:SourceIp`, `aws:SecureTransport`, `aws:EpochTime`,
/// `aws:CurrentTime`, and for project users `aws:PrincipalAccount`,
/// `aws:PrincipalType`, `aws:userid`, `aws:username` and `aws:PrincipalArn`.
/// Front-ends add their service's own keys (`s3:prefix`, ...).
pub fn global_context(principal: &Principal, peer: Option<std::net::SocketAddr>, secure: bool) -> Context {
    let mut c = Context::new();
    if let Some(peer) = peer {
        c.insert("aws:SourceIp", peer.ip().to_canonical().to_string());
    }
    c.insert("aws:SecureTransport", if secure { "true" } else { "false" });
    let now = time::OffsetDateTime::now_utc();
    c.insert("aws:EpochTime", now.unix_timestamp().to_string());
    if let Ok(t) = now.format(&time::format_description::well_known::Rfc3339) {
        c.insert("aws:CurrentTime", t);
    }
    if let Principal::User(u) = principal {
        c.insert("aws:PrincipalAccount", u.project.clone());
        if u.root {
            c.insert("aws:PrincipalType", "Account");
            c.insert("aws:userid", u.project.clone());
        } else {
            c.insert("aws:PrincipalType", "User");
            c.insert("aws:username", u.user.clone());
            c.insert("aws:userid", format!("{}:{}", u.project, u.user));
        }
        c.insert("aws:PrincipalArn", principal.arn());
    }
    c
}
