//! Helpers shared by the integration tests.
#![allow(dead_code)] // Each test binary uses a different subset.

use coffer_policy::{Context, Decision, Policy, PrincipalId, Request};
use serde_json::Value;

/// Parses an identity policy given as JSON.
pub fn identity(doc: Value) -> Policy {
    Policy::parse_identity(&doc.to_string()).unwrap_or_else(|e| panic!("{doc}: {e}"))
}

/// Parses a bucket policy for bucket `b`.
pub fn bucket(doc: Value) -> Policy {
    Policy::parse_bucket(&doc.to_string(), "b").unwrap_or_else(|e| panic!("{doc}: {e}"))
}

/// The user alice of project acme.
pub fn alice() -> PrincipalId {
    PrincipalId::User { account: "acme".into(), name: "alice".into() }
}

/// A context from key/value pairs (a repeated key becomes multi-valued).
pub fn ctx(pairs: &[(&str, &str)]) -> Context {
    let mut c = Context::new();
    for (k, v) in pairs {
        c.insert(k, *v);
    }
    c
}

/// Evaluates as `who`.
pub fn decide_as(p: &Policy, who: &PrincipalId, action: &str, resource: &str, context: &Context) -> Decision {
    p.evaluate(&Request { principal: who, action, resource, context })
}

/// Evaluates as alice with an empty context.
pub fn decide(p: &Policy, action: &str, resource: &str) -> Decision {
    decide_as(p, &alice(), action, resource, &Context::new())
}
