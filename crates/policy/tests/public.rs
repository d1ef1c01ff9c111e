//! `Policy::is_public`: what S3's GetBucketPolicyStatus reports.

use coffer_policy::Policy;

fn policy(statements: &str) -> Policy {
    Policy::parse_bucket(&format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#), "b").unwrap()
}

const READ: &str = r#""Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*""#;

#[test]
fn a_grant_to_everyone_is_public() {
    assert!(policy(&format!(r#"{{"Effect":"Allow","Principal":"*",{READ}}}"#)).is_public());
    assert!(policy(&format!(r#"{{"Effect":"Allow","Principal":{{"AWS":"*"}},{READ}}}"#)).is_public());
}

#[test]
fn grants_to_accounts_and_denies_are_not() {
    assert!(
        !policy(&format!(r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::alpha:root"}},{READ}}}"#)).is_public()
    );
    assert!(!policy(&format!(r#"{{"Effect":"Deny","Principal":"*",{READ}}}"#)).is_public());
    assert!(!policy(&format!(r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":"arn:aws:iam::alpha:root"}},{READ}}}"#))
        .is_public());
}

#[test]
fn pinning_conditions_make_a_grant_to_everyone_non_public() {
    let with = |cond: &str| policy(&format!(r#"{{"Effect":"Allow","Principal":"*",{READ},"Condition":{cond}}}"#));
    assert!(!with(r#"{"IpAddress":{"aws:SourceIp":"10.1.0.0/16"}}"#).is_public());
    assert!(!with(r#"{"StringEquals":{"aws:SourceAccount":"alpha"}}"#).is_public());
    assert!(!with(r#"{"StringEquals":{"aws:PrincipalOrgID":"o-123"}}"#).is_public());
    // Too wide, a pattern, negated, IfExists, or a key that pins nothing: still public.
    assert!(with(r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#).is_public());
    assert!(with(r#"{"StringLike":{"aws:SourceAccount":"*"}}"#).is_public());
    assert!(with(r#"{"NotIpAddress":{"aws:SourceIp":"10.1.0.0/16"}}"#).is_public());
    assert!(with(r#"{"StringEqualsIfExists":{"aws:SourceAccount":"alpha"}}"#).is_public());
    assert!(with(r#"{"Bool":{"aws:SecureTransport":"true"}}"#).is_public());
    // A set operator holds for a missing key (an anonymous request has no
    // account), and a policy variable takes the requester's own value.
    assert!(with(r#"{"ForAllValues:StringEquals":{"aws:PrincipalAccount":"alpha"}}"#).is_public());
    assert!(with(r#"{"ForAnyValue:StringEquals":{"aws:PrincipalAccount":"alpha"}}"#).is_public());
    assert!(with(r#"{"StringEquals":{"aws:PrincipalAccount":"${aws:PrincipalAccount}"}}"#).is_public());
    // One public statement among non-public ones is enough.
    let mixed = policy(&format!(
        r#"{{"Effect":"Allow","Principal":"*",{READ},"Condition":{{"IpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}},
           {{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}}"#
    ));
    assert!(mixed.is_public());
}

/// What RestrictPublicBuckets leaves in force: denies and named grants, not public grants.
#[test]
fn without_public_grants_keeps_denies_and_named_grants() {
    let p = policy(&format!(
        r#"{{"Effect":"Allow","Principal":"*",{READ}}},
           {{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/private/*"}},
           {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::alpha:root"}},{READ}}}"#
    ));
    assert!(p.is_public());
    let kept = p.without_public_grants();
    assert!(!kept.is_public());
    assert_eq!(kept.statements_len(), 2);
}
