//! Principal and NotPrincipal in bucket policies.

mod support;

use coffer_policy::{Context, Decision, PrincipalId};
use serde_json::{json, Value};
use support::{bucket, decide_as};

fn who() -> Vec<(&'static str, PrincipalId)> {
    let user = |account: &str, name: &str| PrincipalId::User { account: account.into(), name: name.into() };
    vec![
        ("anonymous", PrincipalId::Anonymous),
        ("acme root", PrincipalId::Root { account: "acme".into() }),
        ("acme alice", user("acme", "alice")),
        ("acme bob", user("acme", "bob")),
        ("other root", PrincipalId::Root { account: "other".into() }),
        ("other alice", user("other", "alice")),
    ]
}

/// Who a statement naming `principal` applies to. NotPrincipal is only
/// valid with Deny (as on AWS), so negated statements deny.
fn matched(principal: Value, negated: bool) -> Vec<&'static str> {
    let (element, effect, hit) =
        if negated { ("NotPrincipal", "Deny", Decision::Deny) } else { ("Principal", "Allow", Decision::Allow) };
    let p = bucket(json!({"Version": "2012-10-17", "Statement": {
        "Effect": effect, element: principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"
    }}));
    who()
        .into_iter()
        .filter(|(_, id)| decide_as(&p, id, "s3:GetObject", "arn:aws:s3:::b/k", &Context::new()) == hit)
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn principal_forms() {
    let everyone = vec!["anonymous", "acme root", "acme alice", "acme bob", "other root", "other alice"];
    let acme = vec!["acme root", "acme alice", "acme bob"];
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!("*"), everyone.clone()),
        (json!({"AWS": "*"}), everyone.clone()),
        (json!({"AWS": ["*"]}), everyone.clone()),
        (json!({"AWS": "acme"}), acme.clone()),
        (json!({"AWS": "arn:aws:iam::acme:root"}), acme.clone()),
        (json!({"AWS": "arn:aws:iam::acme:user/alice"}), vec!["acme alice"]),
        (json!({"AWS": "arn:aws:iam::acme:user/team/alice"}), vec!["acme alice"]),
        (json!({"AWS": ["arn:aws:iam::acme:user/alice", "other"]}), vec!["acme alice", "other root", "other alice"]),
        (json!({"AWS": "arn:aws:iam::acme:user/carol"}), vec![]),
        (json!({"AWS": "arn:aws:iam::acme:role/admin"}), vec![]),
        (json!({"AWS": "arn:aws:sts::acme:assumed-role/admin/s"}), vec![]),
        (json!({"Service": "s3.amazonaws.com"}), vec![]),
        (json!({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}), vec![]),
        (json!({"Federated": "cognito-identity.amazonaws.com"}), vec![]),
        (json!({"Service": "s3.amazonaws.com", "AWS": "arn:aws:iam::other:root"}), vec!["other root", "other alice"]),
    ];
    for (principal, want) in cases {
        assert_eq!(matched(principal.clone(), false), want, "Principal {principal}");
    }
}

#[test]
fn not_principal_applies_to_everyone_else() {
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"AWS": "arn:aws:iam::acme:user/alice"}),
            vec!["anonymous", "acme root", "acme bob", "other root", "other alice"],
        ),
        (json!({"AWS": "acme"}), vec!["anonymous", "other root", "other alice"]),
        (json!({"AWS": "*"}), vec![]),
        (
            json!({"Service": "s3.amazonaws.com"}),
            vec!["anonymous", "acme root", "acme alice", "acme bob", "other root", "other alice"],
        ),
    ];
    for (principal, want) in cases {
        assert_eq!(matched(principal.clone(), true), want, "NotPrincipal {principal}");
    }
}

#[test]
fn deny_everyone_but_one_user() {
    let p = bucket(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "acme"}, "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]},
        {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::acme:user/alice"}, "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}
    ]}));
    let decide = |id: &PrincipalId, action: &str| decide_as(&p, id, action, "arn:aws:s3:::b/k", &Context::new());
    let ids: Vec<PrincipalId> = who().into_iter().map(|(_, id)| id).collect();
    let [anonymous, root, alice, bob, other, _] = &ids[..] else { panic!("six principals") };
    assert_eq!(decide(alice, "s3:DeleteObject"), Decision::Allow);
    assert_eq!(decide(bob, "s3:DeleteObject"), Decision::Deny);
    assert_eq!(decide(root, "s3:DeleteObject"), Decision::Deny);
    assert_eq!(decide(anonymous, "s3:DeleteObject"), Decision::Deny);
    assert_eq!(decide(bob, "s3:GetObject"), Decision::Allow);
    assert_eq!(decide(other, "s3:GetObject"), Decision::NotApplicable);
    assert_eq!(decide(anonymous, "s3:GetObject"), Decision::NotApplicable);
}
