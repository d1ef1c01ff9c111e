//! Evaluation: wildcards, NotAction/NotResource, explicit deny, policy variables.

mod support;

use coffer_policy::{Context, Decision, PrincipalId};
use serde_json::{json, Value};
use support::{alice, ctx, decide, decide_as, identity};
use Decision::{Allow, Deny, NotApplicable as NA};

fn allow(action: Value, resource: Value) -> coffer_policy::Policy {
    identity(json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": action, "Resource": resource}}))
}

#[test]
fn action_and_resource_wildcards() {
    // (policy action, policy resource, request action, request resource, expected)
    let cases: &[(&str, &str, &str, &str, Decision)] = &[
        ("s3:GetObject", "*", "s3:GetObject", "arn:aws:s3:::b/k", Allow),
        ("s3:getobject", "*", "s3:GetObject", "arn:aws:s3:::b/k", Allow),
        ("S3:GETOBJECT", "*", "s3:getobject", "arn:aws:s3:::b/k", Allow),
        ("s3:GetObject", "*", "s3:PutObject", "arn:aws:s3:::b/k", NA),
        ("s3:Get*", "*", "s3:GetObjectAcl", "arn:aws:s3:::b/k", Allow),
        ("s3:Get*", "*", "s3:PutObject", "arn:aws:s3:::b/k", NA),
        ("s3:*Object", "*", "s3:PutObject", "arn:aws:s3:::b/k", Allow),
        ("s3:*Object", "*", "s3:GetObjectAcl", "arn:aws:s3:::b/k", NA),
        ("s3:Get?bject", "*", "s3:GetObject", "arn:aws:s3:::b/k", Allow),
        ("s3:*", "*", "s3:ListAllMyBuckets", "*", Allow),
        ("*", "*", "s3:DeleteBucket", "arn:aws:s3:::b", Allow),
        ("iam:*", "*", "s3:GetObject", "arn:aws:s3:::b/k", NA),
        ("iam:GetUser", "*", "s3:GetObject", "arn:aws:s3:::b/k", NA),
        ("s3:GetObject", "arn:aws:s3:::b/*", "s3:GetObject", "arn:aws:s3:::b/a/b/c.txt", Allow),
        ("s3:GetObject", "arn:aws:s3:::b/*", "s3:GetObject", "arn:aws:s3:::b", NA),
        ("s3:GetObject", "arn:aws:s3:::b/*", "s3:GetObject", "arn:aws:s3:::bb/k", NA),
        ("s3:GetObject", "arn:aws:s3:::*/*", "s3:GetObject", "arn:aws:s3:::any/deep/key", Allow),
        ("s3:GetObject", "arn:aws:s3:::b/Photos/*", "s3:GetObject", "arn:aws:s3:::b/photos/x", NA),
        ("s3:GetObject", "arn:aws:s3:::b/Photos/*", "s3:GetObject", "arn:aws:s3:::b/Photos/x", Allow),
        ("s3:GetObject", "arn:aws:s3:::b/file?.txt", "s3:GetObject", "arn:aws:s3:::b/file1.txt", Allow),
        ("s3:GetObject", "arn:aws:s3:::b/file?.txt", "s3:GetObject", "arn:aws:s3:::b/file10.txt", NA),
        ("s3:GetObject", "arn:aws:s3:::b/file?.txt", "s3:GetObject", "arn:aws:s3:::b/file.txt", NA),
        ("s3:ListBucket", "arn:aws:s3:::b", "s3:ListBucket", "arn:aws:s3:::b", Allow),
        ("s3:ListBucket", "arn:aws:s3:::b", "s3:ListBucket", "arn:aws:s3:::b/", NA),
        // A request on no particular resource: "*" and "arn:aws:s3:::*" cover it, object patterns do not.
        ("s3:ListAllMyBuckets", "*", "s3:ListAllMyBuckets", "*", Allow),
        ("s3:ListAllMyBuckets", "arn:aws:s3:::*", "s3:ListAllMyBuckets", "*", Allow),
        ("s3:ListAllMyBuckets", "arn:aws:s3:::*/*", "s3:ListAllMyBuckets", "*", NA),
        ("s3:ListAllMyBuckets", "arn:aws:s3:::b", "s3:ListAllMyBuckets", "*", NA),
    ];
    for (p_action, p_resource, action, resource, want) in cases {
        let p = allow(json!(p_action), json!(p_resource));
        assert_eq!(decide(&p, action, resource), *want, "{p_action} on {p_resource} vs {action} on {resource}");
    }
}

#[test]
fn any_listed_action_or_resource_matches() {
    let p = allow(json!(["s3:GetObject", "s3:PutObject"]), json!(["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]));
    assert_eq!(decide(&p, "s3:PutObject", "arn:aws:s3:::b/k"), Allow);
    assert_eq!(decide(&p, "s3:GetObject", "arn:aws:s3:::a/k"), Allow);
    assert_eq!(decide(&p, "s3:DeleteObject", "arn:aws:s3:::a/k"), NA);
    assert_eq!(decide(&p, "s3:GetObject", "arn:aws:s3:::c/k"), NA);
}

#[test]
fn star_heavy_resource_patterns_evaluate_quickly() {
    let pattern = format!("arn:aws:s3:::b/{}x", "*a".repeat(50));
    let p = allow(json!("s3:GetObject"), json!(pattern));
    let resource = format!("arn:aws:s3:::b/{}", "a".repeat(10_000));
    let started = std::time::Instant::now();
    assert_eq!(decide(&p, "s3:GetObject", &resource), NA);
    assert_eq!(decide(&p, "s3:GetObject", &format!("{resource}x")), Allow);
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[test]
fn not_action_applies_to_every_other_action() {
    let p = identity(
        json!({"Statement": {"Effect": "Allow", "NotAction": ["s3:Delete*", "s3:PutBucketPolicy"], "Resource": "*"}}),
    );
    assert_eq!(decide(&p, "s3:GetObject", "arn:aws:s3:::b/k"), Allow);
    assert_eq!(decide(&p, "s3:PutObject", "arn:aws:s3:::b/k"), Allow);
    assert_eq!(decide(&p, "s3:DeleteObject", "arn:aws:s3:::b/k"), NA);
    assert_eq!(decide(&p, "s3:deletebucket", "arn:aws:s3:::b"), NA);
    assert_eq!(decide(&p, "s3:PutBucketPolicy", "arn:aws:s3:::b"), NA);
}

#[test]
fn not_resource_applies_to_every_other_resource() {
    let p = identity(json!({"Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::public", "arn:aws:s3:::public/*"]}
    ]}));
    assert_eq!(decide(&p, "s3:GetObject", "arn:aws:s3:::public/k"), Allow);
    assert_eq!(decide(&p, "s3:ListBucket", "arn:aws:s3:::public"), Allow);
    assert_eq!(decide(&p, "s3:GetObject", "arn:aws:s3:::private/k"), Deny);
    assert_eq!(decide(&p, "s3:ListAllMyBuckets", "*"), Deny);
}

#[test]
fn explicit_deny_wins_whatever_the_order() {
    let allow_all = json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"});
    let deny_delete = json!({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"});
    for statements in [json!([allow_all, deny_delete]), json!([deny_delete, allow_all])] {
        let p = identity(json!({"Statement": statements}));
        assert_eq!(decide(&p, "s3:DeleteObject", "arn:aws:s3:::b/k"), Deny);
        assert_eq!(decide(&p, "s3:DeleteObject", "arn:aws:s3:::c/k"), Allow);
        assert_eq!(decide(&p, "s3:GetObject", "arn:aws:s3:::b/k"), Allow);
    }
    let deny_only = identity(json!({"Statement": deny_delete}));
    assert_eq!(decide(&deny_only, "s3:GetObject", "arn:aws:s3:::b/k"), NA);
    assert_eq!(decide(&deny_only, "s3:DeleteObject", "arn:aws:s3:::b/k"), Deny);
}

#[test]
fn identity_policies_ignore_the_principal() {
    let p = allow(json!("s3:GetObject"), json!("*"));
    for who in [PrincipalId::Anonymous, PrincipalId::Root { account: "x".into() }, alice()] {
        assert_eq!(decide_as(&p, &who, "s3:GetObject", "arn:aws:s3:::b/k", &Context::new()), Allow, "{who:?}");
    }
}

fn home_folder_policy(version: Option<&str>) -> coffer_policy::Policy {
    let mut doc = json!({"Statement": [
        {
            "Sid": "ListOwnHome",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "home/${aws:username}/"]}}
        },
        {"Sid": "UseOwnHome", "Effect": "Allow", "Action": "s3:*Object", "Resource": "arn:aws:s3:::b/home/${aws:username}/*"}
    ]});
    if let Some(v) = version {
        doc["Version"] = json!(v);
    }
    identity(doc)
}

#[test]
fn home_folder_policy_with_variables() {
    let p = home_folder_policy(Some("2012-10-17"));
    let as_alice = |action: &str, resource: &str, extra: &[(&str, &str)]| {
        let mut pairs = vec![("aws:username", "alice")];
        pairs.extend_from_slice(extra);
        decide_as(&p, &alice(), action, resource, &ctx(&pairs))
    };
    assert_eq!(as_alice("s3:ListBucket", "arn:aws:s3:::b", &[("s3:prefix", "home/alice/")]), Allow);
    assert_eq!(as_alice("s3:ListBucket", "arn:aws:s3:::b", &[("s3:prefix", "home/alice/photos/")]), Allow);
    assert_eq!(as_alice("s3:ListBucket", "arn:aws:s3:::b", &[("s3:prefix", "home/bob/")]), NA);
    assert_eq!(as_alice("s3:ListBucket", "arn:aws:s3:::b", &[("s3:prefix", "home/")]), NA);
    assert_eq!(as_alice("s3:ListBucket", "arn:aws:s3:::b", &[]), NA);
    assert_eq!(as_alice("s3:GetObject", "arn:aws:s3:::b/home/alice/notes.txt", &[]), Allow);
    assert_eq!(as_alice("s3:PutObject", "arn:aws:s3:::b/home/alice/a/b", &[]), Allow);
    assert_eq!(as_alice("s3:GetObject", "arn:aws:s3:::b/home/bob/notes.txt", &[]), NA);
    assert_eq!(as_alice("s3:GetObjectAcl", "arn:aws:s3:::b/home/alice/notes.txt", &[]), NA);
    // Without the key, the variable cannot be replaced: nothing matches, not even the literal text.
    let none = Context::new();
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/home/alice/x", &none), NA);
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/home/${aws:username}/x", &none), NA);
    let listing = ctx(&[("s3:prefix", "home/${aws:username}/")]);
    assert_eq!(decide_as(&p, &alice(), "s3:ListBucket", "arn:aws:s3:::b", &listing), NA);
}

#[test]
fn variables_are_literal_text_before_version_2012() {
    for version in [Some("2008-10-17"), None] {
        let p = home_folder_policy(version);
        let c = ctx(&[("aws:username", "alice")]);
        assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/home/alice/x", &c), NA, "{version:?}");
        assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/home/${aws:username}/x", &c), Allow);
    }
}

#[test]
fn variable_escapes_defaults_and_literal_substitution() {
    let p = allow(json!("s3:GetObject"), json!(["arn:aws:s3:::b/${*}", "arn:aws:s3:::b/${aws:username, 'public'}/*"]));
    let none = Context::new();
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/*", &none), Allow);
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/x", &none), NA);
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/public/x", &none), Allow);
    let c = ctx(&[("aws:username", "alice")]);
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/public/x", &c), NA);
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/alice/x", &c), Allow);
    // A value holding wildcards is substituted literally.
    let starry = ctx(&[("aws:username", "*")]);
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/bob/x", &starry), NA);
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/*/x", &starry), Allow);
}

#[test]
fn not_resource_with_an_unreplaceable_variable_does_not_apply() {
    let p = identity(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/home/${aws:username}/*"
    }}));
    let none = Context::new();
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/x", &none), NA);
    let c = ctx(&[("aws:username", "alice")]);
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/x", &c), Deny);
    assert_eq!(decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/home/alice/x", &c), NA);
}
