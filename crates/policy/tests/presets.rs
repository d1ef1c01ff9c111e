//! The built-in identity policies.

use coffer_policy::{Context, Decision, Policy, Preset, PrincipalId, Request};
use Decision::{Allow, NotApplicable as NA};

const BUCKET: &str = "arn:aws:s3:::b";
const OBJECT: &str = "arn:aws:s3:::b/photos/cat.jpg";

/// (action, resource) -> (full-access, read-only, read-object-only, write-only)
const TABLE: &[(&str, &str, [Decision; 4])] = &[
    ("s3:ListAllMyBuckets", "*", [Allow, Allow, NA, NA]),
    ("s3:CreateBucket", BUCKET, [Allow, NA, NA, NA]),
    ("s3:DeleteBucket", BUCKET, [Allow, NA, NA, NA]),
    ("s3:ListBucket", BUCKET, [Allow, Allow, NA, NA]),
    ("s3:ListBucketVersions", BUCKET, [Allow, Allow, NA, NA]),
    ("s3:ListBucketMultipartUploads", BUCKET, [Allow, Allow, NA, NA]),
    ("s3:GetBucketLocation", BUCKET, [Allow, Allow, NA, NA]),
    ("s3:GetBucketPolicy", BUCKET, [Allow, Allow, NA, NA]),
    ("s3:PutBucketPolicy", BUCKET, [Allow, NA, NA, NA]),
    ("s3:GetBucketVersioning", BUCKET, [Allow, Allow, NA, NA]),
    ("s3:GetObject", OBJECT, [Allow, Allow, Allow, NA]),
    ("s3:GetObjectVersion", OBJECT, [Allow, Allow, Allow, NA]),
    ("s3:GetObjectAcl", OBJECT, [Allow, Allow, Allow, NA]),
    ("s3:GetObjectTagging", OBJECT, [Allow, Allow, Allow, NA]),
    ("s3:PutObject", OBJECT, [Allow, NA, NA, Allow]),
    ("s3:PutObjectAcl", OBJECT, [Allow, NA, NA, Allow]),
    ("s3:PutObjectTagging", OBJECT, [Allow, NA, NA, NA]),
    ("s3:AbortMultipartUpload", OBJECT, [Allow, NA, NA, Allow]),
    ("s3:ListMultipartUploadParts", OBJECT, [Allow, Allow, NA, Allow]),
    ("s3:DeleteObject", OBJECT, [Allow, NA, NA, NA]),
    ("s3:DeleteObjectVersion", OBJECT, [Allow, NA, NA, NA]),
    ("iam:CreateUser", "arn:aws:iam::acme:user/bob", [NA, NA, NA, NA]),
];

#[test]
fn each_preset_grants_what_its_table_says() {
    let who = PrincipalId::User { account: "acme".into(), name: "alice".into() };
    let context = Context::new();
    for (i, preset) in Preset::ALL.into_iter().enumerate() {
        let policy = preset.policy();
        for (action, resource, expected) in TABLE {
            let req = Request { principal: &who, action, resource, context: &context };
            assert_eq!(policy.evaluate(&req), expected[i], "{} {action} on {resource}", preset.name());
        }
    }
}

#[test]
fn names_and_arns_round_trip() {
    let expected = [
        (Preset::FullAccess, "full-access", "arn:aws:iam::aws:policy/AmazonS3FullAccess"),
        (Preset::ReadOnly, "read-only", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"),
        (Preset::ReadObjectOnly, "read-object-only", "arn:aws:iam::coffer:policy/S3ReadObjectOnly"),
        (Preset::WriteOnly, "write-only", "arn:aws:iam::coffer:policy/S3WriteOnly"),
    ];
    assert_eq!(Preset::ALL, expected.map(|(p, _, _)| p));
    for (preset, name, arn) in expected {
        assert_eq!((preset.name(), preset.arn()), (name, arn));
        assert_eq!(Preset::from_name(name), Some(preset));
        assert_eq!(Preset::from_name(arn), Some(preset));
    }
    for unknown in ["", "Full-Access", "admin", "arn:aws:iam::aws:policy/AdministratorAccess"] {
        assert_eq!(Preset::from_name(unknown), None, "{unknown}");
    }
}

#[test]
fn documents_are_valid_identity_policies() {
    for preset in Preset::ALL {
        let parsed = Policy::parse_identity(preset.document()).unwrap_or_else(|e| panic!("{}: {e}", preset.name()));
        assert_eq!(parsed.statements_len(), preset.policy().statements_len());
        assert!(serde_json::from_str::<serde_json::Value>(preset.document()).is_ok());
    }
}
