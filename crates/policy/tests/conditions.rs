//! Every condition operator, positive and negative, with missing keys, IfExists and set qualifiers.

mod support;

use coffer_policy::Decision;
use serde_json::{json, Value};
use support::{alice, ctx, decide_as, identity};

/// Whether an Allow statement with `condition` applies to a request with context `pairs`.
fn holds(condition: &Value, pairs: &[(&str, &str)]) -> bool {
    let p = identity(json!({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": condition
    }}));
    decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/k", &ctx(pairs)) == Decision::Allow
}

/// One case: operator, key, policy values, request context, expected outcome.
type Row<'a> = (&'a str, &'a str, Value, &'a [(&'a str, &'a str)], bool);

/// Runs the rows.
fn check(rows: &[Row<'_>]) {
    for (op, key, values, pairs, want) in rows {
        let condition = json!({ *op: { *key: values } });
        assert_eq!(holds(&condition, pairs), *want, "{condition} with {pairs:?}");
    }
}

const NONE: &[(&str, &str)] = &[];

#[test]
fn string_operators() {
    let k = "s3:prefix";
    check(&[
        ("StringEquals", k, json!("a/"), &[(k, "a/")], true),
        ("StringEquals", k, json!("a/"), &[(k, "b/")], false),
        ("StringEquals", k, json!("a/"), &[(k, "A/")], false),
        ("StringEquals", k, json!("a/"), NONE, false),
        ("StringEquals", k, json!(["x/", "a/"]), &[(k, "a/")], true),
        ("StringEquals", k, json!("a*"), &[(k, "abc")], false),
        ("StringEquals", k, json!("a*"), &[(k, "a*")], true),
        ("StringNotEquals", k, json!("a/"), &[(k, "a/")], false),
        ("StringNotEquals", k, json!("a/"), &[(k, "b/")], true),
        ("StringNotEquals", k, json!(["a/", "b/"]), &[(k, "b/")], false),
        ("StringNotEquals", k, json!("a/"), NONE, true),
        ("StringEqualsIgnoreCase", k, json!("Hello"), &[(k, "hELLO")], true),
        ("StringEqualsIgnoreCase", k, json!("Hello"), &[(k, "hell")], false),
        ("StringEqualsIgnoreCase", k, json!("Hello"), NONE, false),
        ("StringNotEqualsIgnoreCase", k, json!("Hello"), &[(k, "HELLO")], false),
        ("StringNotEqualsIgnoreCase", k, json!("Hello"), &[(k, "other")], true),
        ("StringNotEqualsIgnoreCase", k, json!("Hello"), NONE, true),
        ("StringLike", k, json!("home/*"), &[(k, "home/a/b")], true),
        ("StringLike", k, json!("home/*"), &[(k, "Home/a")], false),
        ("StringLike", k, json!("home/?"), &[(k, "home/ab")], false),
        ("StringLike", k, json!("home/*"), NONE, false),
        ("StringNotLike", k, json!("home/*"), &[(k, "home/a")], false),
        ("StringNotLike", k, json!("home/*"), &[(k, "tmp/a")], true),
        ("StringNotLike", k, json!("home/*"), NONE, true),
    ]);
}

#[test]
fn numeric_operators() {
    let k = "s3:max-keys";
    check(&[
        ("NumericEquals", k, json!("10"), &[(k, "10")], true),
        ("NumericEquals", k, json!(10), &[(k, "10.0")], true),
        ("NumericEquals", k, json!("10"), &[(k, "11")], false),
        ("NumericEquals", k, json!("10"), &[(k, "ten")], false),
        ("NumericEquals", k, json!("10"), NONE, false),
        ("NumericNotEquals", k, json!("10"), &[(k, "10")], false),
        ("NumericNotEquals", k, json!("10"), &[(k, "11")], true),
        ("NumericNotEquals", k, json!("10"), NONE, true),
        ("NumericLessThan", k, json!("10"), &[(k, "9")], true),
        ("NumericLessThan", k, json!("10"), &[(k, "10")], false),
        ("NumericLessThan", k, json!("10"), NONE, false),
        ("NumericLessThanEquals", k, json!("10"), &[(k, "10")], true),
        ("NumericLessThanEquals", k, json!("10"), &[(k, "10.5")], false),
        ("NumericGreaterThan", k, json!("10"), &[(k, "11")], true),
        ("NumericGreaterThan", k, json!("10"), &[(k, "10")], false),
        ("NumericGreaterThan", k, json!(-1.5), &[(k, "-1")], true),
        ("NumericGreaterThanEquals", k, json!("10"), &[(k, "10")], true),
        ("NumericGreaterThanEquals", k, json!("10"), &[(k, "9")], false),
        ("NumericGreaterThanEquals", k, json!("10"), NONE, false),
    ]);
}

#[test]
fn date_operators() {
    let (k, e) = ("aws:CurrentTime", "aws:EpochTime");
    let at = "2026-01-01T00:00:00Z";
    let (before, after) = ("2025-12-31T23:59:59Z", "2026-01-01T00:00:01Z");
    check(&[
        ("DateEquals", k, json!(at), &[(k, at)], true),
        ("DateEquals", k, json!(at), &[(k, "2026-01-01T01:00:00+01:00")], true),
        ("DateEquals", e, json!(at), &[(e, "1767225600")], true),
        ("DateEquals", k, json!(1767225600), &[(k, at)], true),
        ("DateEquals", k, json!(at), &[(k, after)], false),
        ("DateEquals", k, json!(at), &[(k, "not a date")], false),
        ("DateEquals", k, json!(at), NONE, false),
        ("DateNotEquals", k, json!(at), &[(k, at)], false),
        ("DateNotEquals", k, json!(at), &[(k, after)], true),
        ("DateNotEquals", k, json!(at), NONE, true),
        ("DateLessThan", k, json!(at), &[(k, before)], true),
        ("DateLessThan", k, json!(at), &[(k, at)], false),
        ("DateLessThan", k, json!(at), NONE, false),
        ("DateLessThanEquals", k, json!(at), &[(k, at)], true),
        ("DateLessThanEquals", k, json!(at), &[(k, after)], false),
        ("DateGreaterThan", k, json!(at), &[(k, after)], true),
        ("DateGreaterThan", k, json!(at), &[(k, at)], false),
        ("DateGreaterThan", e, json!("2026-01-01"), &[(e, "1767225601")], true),
        ("DateGreaterThanEquals", k, json!(at), &[(k, at)], true),
        ("DateGreaterThanEquals", k, json!(at), &[(k, before)], false),
        ("DateGreaterThanEquals", k, json!(at), NONE, false),
    ]);
}

#[test]
fn bool_operator() {
    let k = "aws:SecureTransport";
    check(&[
        ("Bool", k, json!("true"), &[(k, "true")], true),
        ("Bool", k, json!(true), &[(k, "TRUE")], true),
        ("Bool", k, json!("True"), &[(k, "false")], false),
        ("Bool", k, json!("true"), &[(k, "yes")], false),
        ("Bool", k, json!("true"), NONE, false),
        ("Bool", k, json!("false"), &[(k, "false")], true),
        ("Bool", k, json!(false), &[(k, "true")], false),
        ("Bool", k, json!("false"), NONE, false),
    ]);
}

#[test]
fn ip_address_operators() {
    let k = "aws:SourceIp";
    check(&[
        ("IpAddress", k, json!("10.0.0.0/8"), &[(k, "10.1.2.3")], true),
        ("IpAddress", k, json!("10.0.0.0/8"), &[(k, "192.168.0.1")], false),
        ("IpAddress", k, json!("10.0.0.0/8"), &[(k, "not-an-ip")], false),
        ("IpAddress", k, json!("10.0.0.0/8"), NONE, false),
        ("IpAddress", k, json!("203.0.113.7"), &[(k, "203.0.113.7")], true),
        ("IpAddress", k, json!("203.0.113.7"), &[(k, "203.0.113.8")], false),
        ("IpAddress", k, json!("2001:db8::/32"), &[(k, "2001:db8:ffff::5")], true),
        ("IpAddress", k, json!("2001:db8::/32"), &[(k, "2001:db9::5")], false),
        ("IpAddress", k, json!("2001:db8::/32"), &[(k, "10.0.0.1")], false),
        ("IpAddress", k, json!("2001:db8::1"), &[(k, "2001:db8::1")], true),
        ("IpAddress", k, json!(["10.0.0.0/8", "2001:db8::/32"]), &[(k, "2001:db8::1")], true),
        ("NotIpAddress", k, json!("10.0.0.0/8"), &[(k, "10.1.2.3")], false),
        ("NotIpAddress", k, json!("10.0.0.0/8"), &[(k, "8.8.8.8")], true),
        ("NotIpAddress", k, json!(["10.0.0.0/8", "192.168.0.0/16"]), &[(k, "192.168.4.4")], false),
        ("NotIpAddress", k, json!("2001:db8::/32"), &[(k, "2001:db9::1")], true),
        ("NotIpAddress", k, json!("10.0.0.0/8"), NONE, true),
    ]);
}

#[test]
fn null_operator() {
    let k = "aws:username";
    check(&[
        ("Null", k, json!("true"), NONE, true),
        ("Null", k, json!("true"), &[(k, "alice")], false),
        ("Null", k, json!(false), &[(k, "alice")], true),
        ("Null", k, json!("false"), NONE, false),
    ]);
}

#[test]
fn arn_operators() {
    let k = "aws:SourceArn";
    let arn = "arn:aws:s3:::bucket/key";
    check(&[
        ("ArnEquals", k, json!(arn), &[(k, arn)], true),
        ("ArnEquals", k, json!("arn:aws:s3:::bucket/*"), &[(k, arn)], true),
        ("ArnEquals", k, json!(arn), &[(k, "arn:aws:s3:::bucket/KEY")], false),
        ("ArnEquals", k, json!(arn), NONE, false),
        ("ArnLike", k, json!("arn:aws:s3:::bucket/*"), &[(k, arn)], true),
        ("ArnLike", k, json!("arn:aws:s3:::other/*"), &[(k, arn)], false),
        ("ArnLike", k, json!("arn:aws:iam::*:user/*"), &[(k, "arn:aws:iam::acme:user/bob")], true),
        ("ArnLike", k, json!("arn:aws:iam::*:user/*"), &[(k, "arn:aws:iam::a:b:user/bob")], false),
        ("ArnLike", k, json!("arn:aws:s3:::bucket/*"), &[(k, "not-an-arn")], false),
        ("ArnLike", k, json!("arn:aws:s3:::bucket/*"), NONE, false),
        ("ArnNotEquals", k, json!(arn), &[(k, arn)], false),
        ("ArnNotEquals", k, json!(arn), &[(k, "arn:aws:s3:::other/key")], true),
        ("ArnNotEquals", k, json!(arn), NONE, true),
        ("ArnNotLike", k, json!("arn:aws:s3:::bucket/*"), &[(k, arn)], false),
        ("ArnNotLike", k, json!("arn:aws:s3:::bucket/*"), &[(k, "arn:aws:s3:::other/key")], true),
        ("ArnNotLike", k, json!("arn:aws:s3:::bucket/*"), NONE, true),
    ]);
}

#[test]
fn if_exists_passes_on_a_missing_key_only() {
    check(&[
        ("StringEqualsIfExists", "s3:prefix", json!("a"), NONE, true),
        ("StringEqualsIfExists", "s3:prefix", json!("a"), &[("s3:prefix", "b")], false),
        ("StringEqualsIfExists", "s3:prefix", json!("a"), &[("s3:prefix", "a")], true),
        ("StringNotLikeIfExists", "s3:prefix", json!("a*"), &[("s3:prefix", "ab")], false),
        ("StringNotLikeIfExists", "s3:prefix", json!("a*"), NONE, true),
        ("NumericLessThanIfExists", "s3:max-keys", json!(10), NONE, true),
        ("NumericLessThanIfExists", "s3:max-keys", json!(10), &[("s3:max-keys", "100")], false),
        ("DateLessThanIfExists", "aws:CurrentTime", json!("2026-01-01"), NONE, true),
        ("BoolIfExists", "aws:SecureTransport", json!(true), NONE, true),
        ("BoolIfExists", "aws:SecureTransport", json!(true), &[("aws:SecureTransport", "false")], false),
        ("IpAddressIfExists", "aws:SourceIp", json!("10.0.0.0/8"), NONE, true),
        ("NotIpAddressIfExists", "aws:SourceIp", json!("10.0.0.0/8"), &[("aws:SourceIp", "10.0.0.1")], false),
        ("ArnLikeIfExists", "aws:SourceArn", json!("arn:aws:s3:::b/*"), NONE, true),
        ("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", json!("a"), NONE, true),
    ]);
}

#[test]
fn set_qualifiers_and_multi_valued_keys() {
    let k = "aws:TagKeys";
    let ab: &[(&str, &str)] = &[(k, "a"), (k, "b")];
    let ac: &[(&str, &str)] = &[(k, "a"), (k, "c")];
    let cd: &[(&str, &str)] = &[(k, "c"), (k, "d")];
    check(&[
        ("ForAnyValue:StringEquals", k, json!("a"), ab, true),
        ("ForAnyValue:StringEquals", k, json!("a"), cd, false),
        ("ForAnyValue:StringEquals", k, json!("a"), NONE, false),
        ("ForAnyValue:StringNotEquals", k, json!("a"), ab, true),
        ("ForAnyValue:StringNotEquals", k, json!("a"), &[(k, "a")], false),
        ("ForAnyValue:StringLike", k, json!("c*"), cd, true),
        ("ForAllValues:StringEquals", k, json!(["a", "b"]), ab, true),
        ("ForAllValues:StringEquals", k, json!(["a", "b"]), ac, false),
        ("ForAllValues:StringEquals", k, json!(["a", "b"]), NONE, true),
        ("ForAllValues:StringNotEquals", k, json!("a"), cd, true),
        ("ForAllValues:StringNotEquals", k, json!("a"), ab, false),
        ("ForAllValues:StringLike", k, json!(["a*", "b*"]), ab, true),
        ("ForAllValues:StringLike", k, json!(["a*", "b*"]), ac, false),
        // No qualifier: a positive operator needs one matching value, a negated one needs none.
        ("StringEquals", k, json!("a"), ac, true),
        ("StringEquals", k, json!("b"), ac, false),
        ("StringNotEquals", k, json!("a"), ac, false),
        ("StringNotEquals", k, json!("b"), ac, true),
    ]);
}

#[test]
fn keys_are_case_insensitive_and_everything_must_hold() {
    assert!(holds(&json!({"IpAddress": {"AWS:SourceIP": "10.0.0.0/8"}}), &[("aws:sourceip", "10.0.0.1")]));
    assert!(holds(&json!({"StringEquals": {"s3:prefix": "a"}}), &[("S3:Prefix", "a")]));
    // Two keys under one operator: both must hold.
    let two_keys = json!({"StringEquals": {"s3:prefix": "a", "s3:delimiter": "/"}});
    assert!(holds(&two_keys, &[("s3:prefix", "a"), ("s3:delimiter", "/")]));
    assert!(!holds(&two_keys, &[("s3:prefix", "a")]));
    assert!(!holds(&two_keys, &[("s3:prefix", "b"), ("s3:delimiter", "/")]));
    // Two operators: both must hold.
    let two_ops = json!({"Bool": {"aws:SecureTransport": "true"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
    assert!(holds(&two_ops, &[("aws:SecureTransport", "true"), ("aws:SourceIp", "10.9.9.9")]));
    assert!(!holds(&two_ops, &[("aws:SecureTransport", "false"), ("aws:SourceIp", "10.9.9.9")]));
    assert!(!holds(&two_ops, &[("aws:SecureTransport", "true"), ("aws:SourceIp", "11.0.0.1")]));
    // Operator names are case-insensitive too.
    assert!(holds(&json!({"stringequals": {"s3:prefix": "a"}}), &[("s3:prefix", "a")]));
}

#[test]
fn policy_variables_in_condition_values() {
    let user = ("aws:username", "alice");
    check(&[
        ("StringEquals", "s3:prefix", json!("${aws:username}/"), &[user, ("s3:prefix", "alice/")], true),
        ("StringEquals", "s3:prefix", json!("${aws:username}/"), &[user, ("s3:prefix", "bob/")], false),
        ("StringLike", "s3:prefix", json!("home/${aws:username}/*"), &[user, ("s3:prefix", "home/alice/x")], true),
        ("StringLike", "s3:prefix", json!("a${*}"), &[("s3:prefix", "a*")], true),
        ("StringLike", "s3:prefix", json!("a${*}"), &[("s3:prefix", "ab")], false),
        ("StringEqualsIgnoreCase", "s3:prefix", json!("${aws:username}"), &[user, ("s3:prefix", "ALICE")], true),
        (
            "ArnLike",
            "aws:SourceArn",
            json!("arn:aws:iam::acme:user/${aws:username}"),
            &[user, ("aws:SourceArn", "arn:aws:iam::acme:user/alice")],
            true,
        ),
        // A variable that cannot be replaced makes its condition false, negated or not.
        ("StringEquals", "s3:prefix", json!("${aws:username}/"), &[("s3:prefix", "alice/")], false),
        ("StringNotEquals", "s3:prefix", json!("${aws:username}/"), &[("s3:prefix", "bob/")], false),
        ("StringEquals", "s3:prefix", json!("${aws:username, 'guest'}/"), &[("s3:prefix", "guest/")], true),
    ]);
    // Before version 2012-10-17 the text is literal.
    let p = identity(json!({"Version": "2008-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
        "Condition": {"StringEquals": {"s3:prefix": "${aws:username}"}}
    }}));
    let decide = |pairs: &[(&str, &str)]| decide_as(&p, &alice(), "s3:ListBucket", "arn:aws:s3:::b", &ctx(pairs));
    assert_eq!(decide(&[user, ("s3:prefix", "alice")]), Decision::NotApplicable);
    assert_eq!(decide(&[user, ("s3:prefix", "${aws:username}")]), Decision::Allow);
}

#[test]
fn deny_unless_secure_transport() {
    let p = identity(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    ]}));
    let decide = |pairs: &[(&str, &str)]| decide_as(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/k", &ctx(pairs));
    assert_eq!(decide(&[("aws:SecureTransport", "true")]), Decision::Allow);
    assert_eq!(decide(&[("aws:SecureTransport", "false")]), Decision::Deny);
    assert_eq!(decide(&[]), Decision::Allow);
}

/// `Policy::reads_condition_key`: whether a caller must look up keys that cost a read.
#[test]
fn which_condition_keys_a_policy_reads() {
    let p = coffer_policy::Policy::parse_bucket(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",
        "Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"S3:ExistingObjectTag/security":"public"}}}]}"#,
        "b",
    )
    .unwrap();
    assert!(p.reads_condition_key("s3:ExistingObjectTag/"));
    assert!(!p.reads_condition_key("s3:RequestObjectTag/"));
    let plain = coffer_policy::Policy::parse_bucket(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
        "b",
    )
    .unwrap();
    assert!(!plain.reads_condition_key("s3:ExistingObjectTag/"));
}
