//! Parse and validation errors: each rule, with the message naming the statement and element.

mod support;

use coffer_policy::{Policy, PolicyError, PolicyKind, PolicyVersion, MAX_POLICY_BYTES};
use serde_json::{json, Value};

/// Where an error points: the statement (1-based) if any, and the element.
fn location(e: &PolicyError) -> (Option<usize>, String) {
    match e {
        PolicyError::TooLarge { .. } => (None, "size".into()),
        PolicyError::Json(_) => (None, "json".into()),
        PolicyError::Document { element, .. } => (None, element.clone()),
        PolicyError::Statement { statement, element, .. } => (Some(statement.index), element.clone()),
        PolicyError::InvalidResource { statement, element, .. } => (Some(statement.index), (*element).into()),
    }
}

fn stmt(extra: Value) -> Value {
    let mut s = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            s.as_object_mut().unwrap().remove(k);
        } else {
            s[k] = v.clone();
        }
    }
    s
}

fn doc(statement: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

#[test]
fn identity_policy_errors() {
    let cases: Vec<(&str, String, Option<usize>, &str, &str)> = vec![
        ("not json", "{".into(), None, "json", "not valid JSON"),
        ("array document", "[]".into(), None, "top level", "JSON object"),
        (
            "unknown top-level key",
            json!({"Statement": [stmt(json!({}))], "Foo": 1}).to_string(),
            None,
            "Foo",
            "unknown element",
        ),
        (
            "bad version",
            json!({"Version": "2010-01-01", "Statement": [stmt(json!({}))]}).to_string(),
            None,
            "Version",
            "2010-01-01",
        ),
        (
            "numeric version",
            json!({"Version": 2012, "Statement": [stmt(json!({}))]}).to_string(),
            None,
            "Version",
            "not supported",
        ),
        ("id not string", json!({"Id": 5, "Statement": [stmt(json!({}))]}).to_string(), None, "Id", "must be a string"),
        ("no statement", json!({"Version": "2012-10-17"}).to_string(), None, "Statement", "missing"),
        ("empty statements", json!({"Statement": []}).to_string(), None, "Statement", "empty"),
        ("statement not object", json!({"Statement": ["x"]}).to_string(), Some(1), "Statement", "JSON object"),
        ("sid not string", doc(stmt(json!({"Sid": 1}))).to_string(), Some(1), "Sid", "must be a string"),
        (
            "unknown statement key",
            doc(stmt(json!({"Actions": "s3:*"}))).to_string(),
            Some(1),
            "Actions",
            "unknown element",
        ),
        ("no effect", doc(stmt(json!({"Effect": null}))).to_string(), Some(1), "Effect", "missing"),
        (
            "lowercase effect",
            doc(stmt(json!({"Effect": "allow"}))).to_string(),
            Some(1),
            "Effect",
            "\"Allow\" or \"Deny\"",
        ),
        ("effect not string", doc(stmt(json!({"Effect": true}))).to_string(), Some(1), "Effect", "found true"),
        ("no action", doc(stmt(json!({"Action": null}))).to_string(), Some(1), "Action", "Action or NotAction"),
        (
            "action and notaction",
            doc(stmt(json!({"NotAction": "s3:PutObject"}))).to_string(),
            Some(1),
            "Action",
            "cannot both",
        ),
        ("empty action list", doc(stmt(json!({"Action": []}))).to_string(), Some(1), "Action", "array is empty"),
        (
            "non-string action",
            doc(stmt(json!({"Action": ["s3:GetObject", 3]}))).to_string(),
            Some(1),
            "Action",
            "found 3",
        ),
        (
            "action without service",
            doc(stmt(json!({"Action": "GetObject"}))).to_string(),
            Some(1),
            "Action",
            "\"GetObject\" is not an action",
        ),
        ("action with empty name", doc(stmt(json!({"Action": "s3:"}))).to_string(), Some(1), "Action", "not an action"),
        (
            "bad notaction",
            doc(stmt(json!({"Action": null, "NotAction": "s3 Get"}))).to_string(),
            Some(1),
            "NotAction",
            "not an action",
        ),
        (
            "no resource",
            doc(stmt(json!({"Resource": null}))).to_string(),
            Some(1),
            "Resource",
            "Resource or NotResource",
        ),
        (
            "resource and notresource",
            doc(stmt(json!({"NotResource": "*"}))).to_string(),
            Some(1),
            "Resource",
            "cannot both",
        ),
        (
            "resource not an arn",
            doc(stmt(json!({"Resource": "bucket/key"}))).to_string(),
            Some(1),
            "Resource",
            "not a resource",
        ),
        ("short arn", doc(stmt(json!({"Resource": "arn:aws:s3"}))).to_string(), Some(1), "Resource", "not a resource"),
        ("empty resource list", doc(stmt(json!({"Resource": []}))).to_string(), Some(1), "Resource", "array is empty"),
        (
            "bad notresource",
            doc(stmt(json!({"Resource": null, "NotResource": 7}))).to_string(),
            Some(1),
            "NotResource",
            "found 7",
        ),
        (
            "unterminated variable",
            doc(stmt(json!({"Resource": "arn:aws:s3:::b/${aws:username"}))).to_string(),
            Some(1),
            "Resource",
            "no closing",
        ),
        (
            "principal in identity policy",
            doc(stmt(json!({"Principal": "*"}))).to_string(),
            Some(1),
            "Principal",
            "should not specify a principal",
        ),
        (
            "notprincipal in identity policy",
            doc(stmt(json!({"NotPrincipal": {"AWS": "acme"}}))).to_string(),
            Some(1),
            "NotPrincipal",
            "should not specify a principal",
        ),
        (
            "condition not object",
            doc(stmt(json!({"Condition": "x"}))).to_string(),
            Some(1),
            "Condition",
            "object of condition operators",
        ),
        (
            "unknown operator",
            doc(stmt(json!({"Condition": {"StringEqual": {"s3:prefix": "a"}}}))).to_string(),
            Some(1),
            "Condition.StringEqual",
            "unknown condition operator",
        ),
        (
            "unknown set qualifier",
            doc(stmt(json!({"Condition": {"ForSome:StringEquals": {"s3:prefix": "a"}}}))).to_string(),
            Some(1),
            "Condition.ForSome:StringEquals",
            "unknown condition operator",
        ),
        (
            "null with ifexists",
            doc(stmt(json!({"Condition": {"NullIfExists": {"s3:prefix": "true"}}}))).to_string(),
            Some(1),
            "Condition.NullIfExists",
            "Null takes neither",
        ),
        (
            "operator without keys",
            doc(stmt(json!({"Condition": {"StringEquals": {}}}))).to_string(),
            Some(1),
            "Condition.StringEquals",
            "non-empty object",
        ),
        (
            "operator value not object",
            doc(stmt(json!({"Condition": {"StringEquals": "s3:prefix"}}))).to_string(),
            Some(1),
            "Condition.StringEquals",
            "non-empty object",
        ),
        (
            "key without vendor",
            doc(stmt(json!({"Condition": {"StringEquals": {"prefix": "a"}}}))).to_string(),
            Some(1),
            "Condition.StringEquals.prefix",
            "vendor:name",
        ),
        (
            "empty value list",
            doc(stmt(json!({"Condition": {"StringEquals": {"s3:prefix": []}}}))).to_string(),
            Some(1),
            "Condition.StringEquals.s3:prefix",
            "array is empty",
        ),
        (
            "null value",
            doc(stmt(json!({"Condition": {"StringEquals": {"s3:prefix": null}}}))).to_string(),
            Some(1),
            "Condition.StringEquals.s3:prefix",
            "found null",
        ),
        (
            "bad number",
            doc(stmt(json!({"Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}}))).to_string(),
            Some(1),
            "Condition.NumericLessThan.s3:max-keys",
            "\"ten\" is not a number",
        ),
        (
            "bad date",
            doc(stmt(json!({"Condition": {"DateGreaterThan": {"aws:CurrentTime": "2026-02-30"}}}))).to_string(),
            Some(1),
            "Condition.DateGreaterThan.aws:CurrentTime",
            "not a date",
        ),
        (
            "bad bool",
            doc(stmt(json!({"Condition": {"Bool": {"aws:SecureTransport": "yes"}}}))).to_string(),
            Some(1),
            "Condition.Bool.aws:SecureTransport",
            "\"true\" or \"false\"",
        ),
        (
            "bad null",
            doc(stmt(json!({"Condition": {"Null": {"aws:username": 1}}}))).to_string(),
            Some(1),
            "Condition.Null.aws:username",
            "\"true\" or \"false\"",
        ),
        (
            "bad cidr",
            doc(stmt(json!({"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}))).to_string(),
            Some(1),
            "Condition.IpAddress.aws:SourceIp",
            "CIDR",
        ),
        (
            "bad variable in condition",
            doc(stmt(json!({"Condition": {"StringLike": {"s3:prefix": "${}"}}}))).to_string(),
            Some(1),
            "Condition.StringLike.s3:prefix",
            "needs a key name",
        ),
    ];
    for (name, text, statement, element, fragment) in cases {
        let e = Policy::parse_identity(&text).expect_err(name);
        assert_eq!(location(&e), (statement, element.to_owned()), "{name}: {e}");
        let message = e.to_string();
        assert!(message.contains(fragment), "{name}: {message:?} lacks {fragment:?}");
        if let Some(i) = statement {
            assert!(message.starts_with(&format!("Statement {i}: {element}: ")), "{name}: {message:?}");
        }
    }
}

#[test]
fn messages_name_the_statement_by_position_and_sid() {
    let text = json!({"Version": "2012-10-17", "Statement": [
        stmt(json!({"Sid": "One"})),
        stmt(json!({"Sid": "Two", "Action": "s3"})),
    ]})
    .to_string();
    let e = Policy::parse_identity(&text).unwrap_err();
    let PolicyError::Statement { statement, .. } = &e else { panic!("{e:?}") };
    assert_eq!((statement.index, statement.sid.as_deref()), (2, Some("Two")));
    assert!(e.to_string().starts_with("Statement 2 (Sid \"Two\"): Action: \"s3\" is not an action"), "{e}");
}

#[test]
fn a_single_statement_object_is_accepted() {
    let p = Policy::parse_identity(&json!({"Statement": stmt(json!({}))}).to_string()).unwrap();
    assert_eq!(p.statements_len(), 1);
    assert_eq!(p.version(), None);
    assert_eq!(p.kind(), PolicyKind::Identity);
}

#[test]
fn accessors_report_the_document() {
    let text = json!({"Version": "2008-10-17", "Id": "mine", "Statement": [stmt(json!({})), stmt(json!({}))]});
    let p = Policy::parse_identity(&text.to_string()).unwrap();
    assert_eq!((p.statements_len(), p.version(), p.id()), (2, Some(PolicyVersion::V2008_10_17), Some("mine")));
}

#[test]
fn variables_are_only_syntax_in_version_2012() {
    let bad_variable = |version: Option<&str>| {
        let mut d = json!({"Statement": [stmt(json!({"Resource": "arn:aws:s3:::b/${aws:username"}))]});
        if let Some(v) = version {
            d["Version"] = json!(v);
        }
        Policy::parse_identity(&d.to_string())
    };
    assert!(bad_variable(Some("2012-10-17")).is_err());
    assert!(bad_variable(Some("2008-10-17")).is_ok());
    assert!(bad_variable(None).is_ok());
}

#[test]
fn document_size_limit() {
    let base = json!({"Version": "2012-10-17", "Statement": [stmt(json!({}))]}).to_string();
    let pad = |total: usize| format!("{base}{}", " ".repeat(total - base.len()));
    assert!(Policy::parse_identity(&pad(MAX_POLICY_BYTES)).is_ok());
    let e = Policy::parse_identity(&pad(MAX_POLICY_BYTES + 1)).unwrap_err();
    assert!(matches!(e, PolicyError::TooLarge { size: 20481, limit: 20480 }), "{e:?}");
    assert!(e.to_string().contains("20481"), "{e}");
    assert!(Policy::parse_bucket(&pad(MAX_POLICY_BYTES + 1), "b").is_err());
}

#[test]
fn bucket_policy_errors() {
    let principal = json!({"Principal": "*"});
    let with = |extra: Value| {
        let mut s = stmt(principal.clone());
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                s.as_object_mut().unwrap().remove(k);
            } else {
                s[k] = v.clone();
            }
        }
        doc(s).to_string()
    };
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "no principal",
            with(json!({"Principal": null, "Resource": "arn:aws:s3:::b/*"})),
            "Principal",
            "missing required field Principal",
        ),
        (
            "both principals",
            with(json!({"NotPrincipal": "*", "Resource": "arn:aws:s3:::b/*"})),
            "Principal",
            "cannot both",
        ),
        (
            "string principal",
            with(json!({"Principal": "acme", "Resource": "arn:aws:s3:::b/*"})),
            "Principal",
            "Invalid principal in policy",
        ),
        (
            "unknown principal type",
            with(json!({"Principal": {"User": "x"}, "Resource": "arn:aws:s3:::b/*"})),
            "Principal",
            "unknown principal type",
        ),
        (
            "wildcard in principal arn",
            with(json!({"Principal": {"AWS": "arn:aws:iam::acme:user/*"}, "Resource": "arn:aws:s3:::b/*"})),
            "Principal",
            "wildcards are not allowed",
        ),
        (
            "bad notprincipal",
            with(
                json!({"Effect": "Deny", "Principal": null, "NotPrincipal": {"AWS": "ACME"}, "Resource": "arn:aws:s3:::b/*"}),
            ),
            "NotPrincipal",
            "lowercase letters",
        ),
        ("other bucket", with(json!({"Resource": "arn:aws:s3:::other/*"})), "Resource", "Policy has invalid resource"),
        (
            "wildcard naming other buckets",
            with(json!({"Resource": "arn:aws:s3:::c*"})),
            "Resource",
            "Policy has invalid resource",
        ),
        (
            "wildcard inside another bucket",
            with(json!({"Resource": "arn:aws:s3:::bb/*"})),
            "Resource",
            "Policy has invalid resource",
        ),
        ("bucket prefix of name", with(json!({"Resource": "arn:aws:s3:::b2"})), "Resource", "\"arn:aws:s3:::b2\""),
        (
            "one bad among good",
            with(json!({"Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::c/*"]})),
            "Resource",
            "arn:aws:s3:::c/*",
        ),
        (
            "other service",
            with(json!({"Resource": "arn:aws:iam::acme:user/b"})),
            "Resource",
            "Policy has invalid resource",
        ),
        (
            "notresource checked too",
            with(json!({"Resource": null, "NotResource": "arn:aws:s3:::c"})),
            "NotResource",
            "Policy has invalid resource",
        ),
    ];
    for (name, text, element, fragment) in cases {
        let e = Policy::parse_bucket(&text, "b").expect_err(name);
        assert_eq!(location(&e), (Some(1), element.to_owned()), "{name}: {e}");
        assert!(e.to_string().contains(fragment), "{name}: {e}");
    }
}

#[test]
fn bucket_policy_resources_inside_the_bucket_are_accepted() {
    for resource in [
        json!("arn:aws:s3:::b"),
        json!("arn:aws:s3:::b/*"),
        json!("arn:aws:s3:::b/"),
        json!("arn:aws:s3:::b/photos/?.jpg"),
        json!("arn:aws:s3:::b/home/${aws:username}/*"),
        json!(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]),
    ] {
        let d = doc(
            json!({"Effect": "Deny", "Principal": {"AWS": ["acme", "arn:aws:iam::x:root"]}, "Action": "s3:*", "Resource": resource}),
        );
        let p = Policy::parse_bucket(&d.to_string(), "b").unwrap_or_else(|e| panic!("{resource}: {e}"));
        assert_eq!(p.kind(), PolicyKind::Bucket);
    }
}

#[test]
fn policy_is_clone_debug_send_sync() {
    fn check<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
    fn check_error<T: std::error::Error + Send + Sync + 'static>() {}
    check::<Policy>();
    check_error::<PolicyError>();
}

#[test]
fn not_principal_only_with_deny() {
    let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::x:root"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}"#;
    let e = coffer_policy::Policy::parse_bucket(allow, "b").unwrap_err().to_string();
    assert!(e.contains("NotPrincipal may only be used with"), "{e}");
    let deny = allow.replace("\"Allow\"", "\"Deny\"");
    coffer_policy::Policy::parse_bucket(&deny, "b").unwrap();
}

#[test]
fn bucket_policy_wildcards_that_can_name_the_bucket_are_accepted() {
    for resource in ["*", "arn:aws:s3:::*", "arn:aws:s3:::*/*", "arn:aws:s3:::b*", "arn:aws:s3:::?", "arn:aws:s3:::b/*"]
    {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"{resource}"}}]}}"#
        );
        coffer_policy::Policy::parse_bucket(&text, "b").unwrap_or_else(|e| panic!("{resource}: {e}"));
    }
}
