#![no_main]
//! Fuzzes the IAM policy language of `coffer_policy`: `Policy::parse_identity`
//! and `Policy::parse_bucket` with arbitrary text or with documents built
//! from the policy grammar (versions, principals, actions and resources with
//! wildcards and policy variables, every condition operator and common
//! condition keys, with fuzzed values), then `Policy::evaluate` against a
//! fixed set of requests (principals, actions, resources) in a fixed context.
//!
//! Checked: no panic; a document over `MAX_POLICY_BYTES` is `TooLarge`; a
//! document that parses is a JSON object, and an identity policy names no
//! principal; the result depends only on the JSON value (the compact
//! re-rendering parses to the same decisions); with every `Effect` turned into
//! `Deny` the document still parses, never allows, and denies exactly the
//! requests the original applied to (allowed or denied); with every `Effect`
//! turned into `Allow`, a document that still parses allows exactly those
//! requests; `is_public` never panics.

use coffer_policy::{Context, Decision, Policy, PolicyError, PolicyKind, PrincipalId, Request, MAX_POLICY_BYTES};
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

const BUCKET: &str = "bucket";

const ACTIONS: &[&str] = &["s3:GetObject", "s3:PutObject", "s3:ListBucket", "iam:CreateUser"];
const RESOURCES: &[&str] =
    &["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/photos/alice/cat.jpg", "arn:aws:s3:::bucket/other", "*"];

fn principals() -> &'static [PrincipalId] {
    static P: OnceLock<Vec<PrincipalId>> = OnceLock::new();
    P.get_or_init(|| {
        vec![
            PrincipalId::Anonymous,
            PrincipalId::Root { account: "acme".into() },
            PrincipalId::User { account: "acme".into(), name: "alice".into() },
        ]
    })
}

fn context() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| {
        Context::new()
            .with("aws:username", "alice")
            .with("aws:SourceIp", "10.1.2.3")
            .with("aws:SecureTransport", "true")
            .with("aws:CurrentTime", "2026-12-06T08:00:00Z")
            .with("aws:EpochTime", "1796371200")
            .with("s3:prefix", "photos/")
            .with("s3:max-keys", "100")
            .with("aws:TagKeys", "team")
            .with("aws:TagKeys", "cost")
            .with("aws:PrincipalArn", "arn:aws:iam::acme:user/alice")
    })
}

/// Every decision of `p` over the fixed requests, in a fixed order.
fn decisions(p: &Policy) -> Vec<Decision> {
    let mut out = Vec::new();
    for principal in principals() {
        for action in ACTIONS {
            for resource in RESOURCES {
                let req = Request { principal, action: *action, resource: *resource, context: context() };
                out.push(p.evaluate(&req));
            }
        }
    }
    out
}

fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    match kind {
        PolicyKind::Identity => Policy::parse_identity(text),
        PolicyKind::Bucket => Policy::parse_bucket(text, BUCKET),
    }
}

/// `doc` with every statement's `Effect` replaced by `effect`.
fn with_effect(doc: &Value, effect: &str) -> Value {
    let mut doc = doc.clone();
    match doc.get_mut("Statement") {
        Some(Value::Array(items)) => {
            for s in items {
                if let Some(e) = s.get_mut("Effect") {
                    *e = json!(effect);
                }
            }
        }
        Some(s @ Value::Object(_)) => {
            if let Some(e) = s.get_mut("Effect") {
                *e = json!(effect);
            }
        }
        _ => {}
    }
    doc
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    }
}

fn check(text: &str) {
    for kind in [PolicyKind::Identity, PolicyKind::Bucket] {
        let parsed = parse(text, kind);
        if text.len() > MAX_POLICY_BYTES {
            assert!(matches!(parsed, Err(PolicyError::TooLarge { .. })), "an oversized document was not TooLarge");
            continue;
        }
        let Ok(policy) = parsed else { continue };
        assert_eq!(policy.kind(), kind);
        assert!(policy.statements_len() >= 1, "a policy without statements");
        let doc: Value = serde_json::from_str(text).expect("a parsed policy is JSON");
        assert!(doc.is_object(), "a parsed policy is not an object");
        if kind == PolicyKind::Identity {
            assert!(
                statements(&doc).iter().all(|s| s.get("Principal").is_none() && s.get("NotPrincipal").is_none()),
                "an identity policy with a principal parsed"
            );
        } else {
            let _ = policy.is_public();
        }
        let original = decisions(&policy);

        let compact = doc.to_string();
        if compact.len() <= MAX_POLICY_BYTES {
            let again = parse(&compact, kind).expect("the compact rendering of a parsed policy did not parse");
            assert_eq!(decisions(&again), original, "the compact rendering decides differently");
        }

        let denying = with_effect(&doc, "Deny").to_string();
        if denying.len() <= MAX_POLICY_BYTES {
            let deny = parse(&denying, kind).expect("the all-Deny version of a parsed policy did not parse");
            for (d, o) in decisions(&deny).into_iter().zip(&original) {
                assert_ne!(d, Decision::Allow, "an all-Deny policy allowed");
                assert_eq!(d == Decision::Deny, *o != Decision::NotApplicable, "Deny does not mirror applicability");
            }
        }
        let allowing = with_effect(&doc, "Allow").to_string();
        if allowing.len() <= MAX_POLICY_BYTES {
            if let Ok(allow) = parse(&allowing, kind) {
                for (a, o) in decisions(&allow).into_iter().zip(&original) {
                    assert_ne!(a, Decision::Deny, "an all-Allow policy denied");
                    assert_eq!(
                        a == Decision::Allow,
                        *o != Decision::NotApplicable,
                        "Allow does not mirror applicability"
                    );
                }
            }
        }
    }
}

/// A string from `pool`, or an arbitrary one.
fn pick(u: &mut Unstructured, pool: &[&str]) -> ArbResult<Value> {
    Ok(if u.ratio(7, 8)? { json!(u.choose(pool)?) } else { json!(u.arbitrary::<String>()?) })
}

/// One string or a list of 0..=3 strings from `pool`.
fn one_or_many(u: &mut Unstructured, pool: &[&str]) -> ArbResult<Value> {
    if u.arbitrary()? {
        pick(u, pool)
    } else {
        let n = u.int_in_range(0..=3u8)?;
        Ok(Value::Array((0..n).map(|_| pick(u, pool)).collect::<ArbResult<_>>()?))
    }
}

fn statement(u: &mut Unstructured) -> ArbResult<Value> {
    const PRINCIPALS: &[&str] = &[
        "*",
        "acme",
        "arn:aws:iam::acme:root",
        "arn:aws:iam::acme:user/alice",
        "arn:aws:iam::acme:user/team/bob",
        "other",
    ];
    const ACTION_POOL: &[&str] =
        &["s3:GetObject", "s3:Get*", "s3:*", "*", "s3:?utObject", "S3:LISTBUCKET", "iam:*", "s3:", "s3:*Object*"];
    const RESOURCE_POOL: &[&str] = &[
        "*",
        "arn:aws:s3:::bucket",
        "arn:aws:s3:::bucket/*",
        "arn:aws:s3:::bucket/photos/${aws:username}/*",
        "arn:aws:s3:::bucket/${*}${?}${$}",
        "arn:aws:s3:::bucket/${aws:TagKeys}",
        "arn:aws:s3:::bucket/${aws:nope, 'dflt'}",
        "arn:aws:s3:::buck*",
        "arn:aws:s3:::other/*",
        "arn:aws:s3:::bucket/${",
    ];
    const OPERATORS: &[&str] = &[
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringLike",
        "StringNotLikeIfExists",
        "NumericLessThan",
        "NumericGreaterThanEquals",
        "DateGreaterThan",
        "DateLessThanEquals",
        "IpAddress",
        "NotIpAddress",
        "Bool",
        "Null",
        "ArnLike",
        "ArnNotEquals",
        "ForAnyValue:StringLike",
        "ForAllValues:StringEquals",
        "BinaryEquals",
    ];
    const KEYS: &[&str] = &[
        "aws:username",
        "aws:SourceIp",
        "aws:SecureTransport",
        "aws:CurrentTime",
        "aws:EpochTime",
        "s3:prefix",
        "s3:max-keys",
        "aws:TagKeys",
        "aws:PrincipalArn",
        "aws:absent",
    ];
    const VALUES: &[&str] = &[
        "alice",
        "${aws:username}",
        "10.0.0.0/8",
        "10.1.2.3",
        "::1/128",
        "10.1.2.3/33",
        "true",
        "false",
        "photos/*",
        "2026-01-01T00:00:00Z",
        "1796371200",
        "100",
        "-1.5e3",
        "team",
        "arn:aws:iam::acme:user/*",
        "",
    ];
    let mut s = Map::new();
    if u.arbitrary()? {
        s.insert("Sid".into(), pick(u, &["s1", ""])?);
    }
    s.insert("Effect".into(), pick(u, &["Allow", "Deny"])?);
    match u.int_in_range(0..=3u8)? {
        0 => {}
        1 => {
            s.insert("Principal".into(), json!("*"));
        }
        2 => {
            s.insert("Principal".into(), json!({ "AWS": one_or_many(u, PRINCIPALS)? }));
        }
        _ => {
            s.insert("NotPrincipal".into(), json!({ "AWS": one_or_many(u, PRINCIPALS)? }));
        }
    }
    let action = if u.ratio(3, 4)? { "Action" } else { "NotAction" };
    s.insert(action.into(), one_or_many(u, ACTION_POOL)?);
    let resource = if u.ratio(3, 4)? { "Resource" } else { "NotResource" };
    s.insert(resource.into(), one_or_many(u, RESOURCE_POOL)?);
    if u.arbitrary()? {
        let mut ops = Map::new();
        for _ in 0..u.int_in_range(1..=2u8)? {
            let mut keys = Map::new();
            for _ in 0..u.int_in_range(1..=2u8)? {
                let key = pick(u, KEYS)?.as_str().unwrap_or_default().to_owned();
                keys.insert(key, one_or_many(u, VALUES)?);
            }
            let op = pick(u, OPERATORS)?.as_str().unwrap_or_default().to_owned();
            ops.insert(op, Value::Object(keys));
        }
        s.insert("Condition".into(), Value::Object(ops));
    }
    Ok(Value::Object(s))
}

fn built(u: &mut Unstructured) -> ArbResult<String> {
    let mut doc = Map::new();
    if u.ratio(7, 8)? {
        doc.insert("Version".into(), pick(u, &["2012-10-17", "2008-10-17"])?);
    }
    if u.ratio(1, 8)? {
        doc.insert("Id".into(), json!("doc"));
    }
    let n = u.int_in_range(1..=3u8)?;
    let list = (0..n).map(|_| statement(u)).collect::<ArbResult<Vec<_>>>()?;
    let statement =
        if n == 1 && u.arbitrary()? { list.into_iter().next().unwrap_or_default() } else { Value::Array(list) };
    doc.insert("Statement".into(), statement);
    Ok(Value::Object(doc).to_string())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            check(text);
        }
    } else if let Ok(text) = built(&mut Unstructured::new(rest)) {
        check(&text);
    }
});
