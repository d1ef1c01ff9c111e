use super::*;
use crate::router::{route, Query};
use std::collections::HashSet;

/// The request line of each operation as the AWS S3 API reference shows it
/// (path style: `/bkt` for the bucket, `/bkt/k` for the object), and the
/// IAM action the service authorization reference lists for it.
/// `copy`: with `x-amz-copy-source`.
const DOCUMENTED: &[(&str, &str, bool, Operation, &str)] = {
    use Operation::*;
    &[
        ("GET", "/", false, ListBuckets, "s3:ListAllMyBuckets"),
        ("PUT", "/bkt", false, CreateBucket, "s3:CreateBucket"),
        ("DELETE", "/bkt", false, DeleteBucket, "s3:DeleteBucket"),
        ("HEAD", "/bkt", false, HeadBucket, "s3:ListBucket"),
        ("GET", "/bkt?location", false, GetBucketLocation, "s3:GetBucketLocation"),
        ("GET", "/bkt?delimiter=%2F&marker=a&max-keys=2&prefix=p", false, ListObjects, "s3:ListBucket"),
        ("GET", "/bkt?list-type=2&continuation-token=t&fetch-owner=true", false, ListObjectsV2, "s3:ListBucket"),
        ("GET", "/bkt?versions&key-marker=a&version-id-marker=v", false, ListObjectVersions, "s3:ListBucketVersions"),
        ("GET", "/bkt?uploads&upload-id-marker=u", false, ListMultipartUploads, "s3:ListBucketMultipartUploads"),
        ("POST", "/bkt?delete", false, DeleteObjects, "s3:DeleteObject"),
        ("POST", "/bkt", false, PostObject, "s3:PutObject"),
        ("GET", "/bkt?acl", false, GetBucketAcl, "s3:GetBucketAcl"),
        ("PUT", "/bkt?acl", false, PutBucketAcl, "s3:PutBucketAcl"),
        ("GET", "/bkt?cors", false, GetBucketCors, "s3:GetBucketCORS"),
        ("PUT", "/bkt?cors", false, PutBucketCors, "s3:PutBucketCORS"),
        ("DELETE", "/bkt?cors", false, DeleteBucketCors, "s3:PutBucketCORS"),
        ("GET", "/bkt?policy", false, GetBucketPolicy, "s3:GetBucketPolicy"),
        ("PUT", "/bkt?policy", false, PutBucketPolicy, "s3:PutBucketPolicy"),
        ("DELETE", "/bkt?policy", false, DeleteBucketPolicy, "s3:DeleteBucketPolicy"),
        ("GET", "/bkt?policyStatus", false, GetBucketPolicyStatus, "s3:GetBucketPolicyStatus"),
        ("GET", "/bkt?accelerate", false, GetBucketAccelerateConfiguration, "s3:GetAccelerateConfiguration"),
        ("GET", "/bkt?analytics", false, ListBucketAnalyticsConfigurations, "s3:GetAnalyticsConfiguration"),
        ("GET", "/bkt?encryption", false, GetBucketEncryption, "s3:GetEncryptionConfiguration"),
        (
            "GET",
            "/bkt?intelligent-tiering",
            false,
            ListBucketIntelligentTieringConfigurations,
            "s3:GetIntelligentTieringConfiguration",
        ),
        ("GET", "/bkt?inventory", false, ListBucketInventoryConfigurations, "s3:GetInventoryConfiguration"),
        ("GET", "/bkt?lifecycle", false, GetBucketLifecycleConfiguration, "s3:GetLifecycleConfiguration"),
        ("GET", "/bkt?logging", false, GetBucketLogging, "s3:GetBucketLogging"),
        ("GET", "/bkt?metrics", false, ListBucketMetricsConfigurations, "s3:GetMetricsConfiguration"),
        ("GET", "/bkt?notification", false, GetBucketNotificationConfiguration, "s3:GetBucketNotification"),
        ("GET", "/bkt?object-lock", false, GetObjectLockConfiguration, "s3:GetBucketObjectLockConfiguration"),
        ("GET", "/bkt?ownershipControls", false, GetBucketOwnershipControls, "s3:GetBucketOwnershipControls"),
        ("PUT", "/bkt?ownershipControls", false, PutBucketOwnershipControls, "s3:PutBucketOwnershipControls"),
        ("DELETE", "/bkt?ownershipControls", false, DeleteBucketOwnershipControls, "s3:PutBucketOwnershipControls"),
        ("GET", "/bkt?publicAccessBlock", false, GetPublicAccessBlock, "s3:GetBucketPublicAccessBlock"),
        ("PUT", "/bkt?publicAccessBlock", false, PutPublicAccessBlock, "s3:PutBucketPublicAccessBlock"),
        ("DELETE", "/bkt?publicAccessBlock", false, DeletePublicAccessBlock, "s3:PutBucketPublicAccessBlock"),
        ("GET", "/bkt?replication", false, GetBucketReplication, "s3:GetReplicationConfiguration"),
        ("GET", "/bkt?requestPayment", false, GetBucketRequestPayment, "s3:GetBucketRequestPayment"),
        ("GET", "/bkt?tagging", false, GetBucketTagging, "s3:GetBucketTagging"),
        ("PUT", "/bkt?tagging", false, PutBucketTagging, "s3:PutBucketTagging"),
        ("DELETE", "/bkt?tagging", false, DeleteBucketTagging, "s3:PutBucketTagging"),
        ("GET", "/bkt?versioning", false, GetBucketVersioning, "s3:GetBucketVersioning"),
        ("PUT", "/bkt?versioning", false, PutBucketVersioning, "s3:PutBucketVersioning"),
        ("GET", "/bkt?website", false, GetBucketWebsite, "s3:GetBucketWebsite"),
        ("PUT", "/bkt/k", false, PutObject, "s3:PutObject"),
        ("PUT", "/bkt/k", true, CopyObject, "s3:PutObject"),
        ("GET", "/bkt/k?partNumber=1&response-content-type=a", false, GetObject, "s3:GetObject"),
        ("HEAD", "/bkt/k?versionId=null", false, HeadObject, "s3:GetObject"),
        ("DELETE", "/bkt/k?versionId=null", false, DeleteObject, "s3:DeleteObject"),
        ("GET", "/bkt/k?acl", false, GetObjectAcl, "s3:GetObjectAcl"),
        ("GET", "/bkt/k?attributes", false, GetObjectAttributes, "s3:GetObjectAttributes"),
        ("PUT", "/bkt/k?acl", false, PutObjectAcl, "s3:PutObjectAcl"),
        ("GET", "/bkt/k?tagging&versionId=null", false, GetObjectTagging, "s3:GetObjectTagging"),
        ("GET", "/bkt/k?retention", false, GetObjectRetention, "s3:GetObjectRetention"),
        ("PUT", "/bkt/k?retention&versionId=null", false, PutObjectRetention, "s3:PutObjectRetention"),
        ("GET", "/bkt/k?legal-hold", false, GetObjectLegalHold, "s3:GetObjectLegalHold"),
        ("PUT", "/bkt/k?legal-hold", false, PutObjectLegalHold, "s3:PutObjectLegalHold"),
        ("PUT", "/bkt?object-lock", false, PutObjectLockConfiguration, "s3:PutBucketObjectLockConfiguration"),
        ("PUT", "/bkt?lifecycle", false, PutBucketLifecycleConfiguration, "s3:PutLifecycleConfiguration"),
        ("DELETE", "/bkt?lifecycle", false, DeleteBucketLifecycle, "s3:PutLifecycleConfiguration"),
        ("PUT", "/bkt/k?tagging", false, PutObjectTagging, "s3:PutObjectTagging"),
        ("DELETE", "/bkt/k?tagging", false, DeleteObjectTagging, "s3:DeleteObjectTagging"),
        ("POST", "/bkt/k?uploads", false, CreateMultipartUpload, "s3:PutObject"),
        ("PUT", "/bkt/k?partNumber=2&uploadId=u", false, UploadPart, "s3:PutObject"),
        ("PUT", "/bkt/k?partNumber=2&uploadId=u", true, UploadPartCopy, "s3:PutObject"),
        ("POST", "/bkt/k?uploadId=u", false, CompleteMultipartUpload, "s3:PutObject"),
        ("DELETE", "/bkt/k?uploadId=u", false, AbortMultipartUpload, "s3:AbortMultipartUpload"),
        ("GET", "/bkt/k?uploadId=u&max-parts=2", false, ListParts, "s3:ListMultipartUploadParts"),
    ]
};

fn routed(method: &str, line: &str, copy: bool) -> Result<Operation, crate::S3ErrorCode> {
    let (path, query) = line.split_once('?').unwrap_or((line, ""));
    route(method, path, &Query::parse(query), copy).map(|r| r.op).map_err(|e| e.code)
}

#[test]
fn every_operation_routes_from_its_documented_request_line() {
    let mut seen = HashSet::new();
    for (method, line, copy, op, action) in DOCUMENTED {
        assert_eq!(routed(method, line, *copy), Ok(*op), "{method} {line}");
        assert_eq!(op.permission().map(|p| p.action), Some(*action), "{op:?}");
        let spec = op.spec().unwrap();
        let on_object = line.trim_start_matches('/').contains('/');
        assert_eq!(
            spec.permission.on_object,
            on_object || *op == Operation::DeleteObjects || *op == Operation::PostObject
        );
        seen.insert(*op);
    }
    for spec in OPERATIONS {
        assert!(seen.contains(&spec.op), "{} has no documented request line here", spec.name);
        assert_eq!(format!("{:?}", spec.op), spec.name);
    }
}

#[test]
fn the_table_is_unambiguous_and_signed() {
    for (i, a) in OPERATIONS.iter().enumerate() {
        for b in &OPERATIONS[i + 1..] {
            let same = a.method == b.method && a.target == b.target && a.select == b.select && a.copy == b.copy;
            assert!(!same, "{} and {} have the same request line", a.name, b.name);
        }
        for sel in a.select {
            let name = sel.split_once('=').map_or(*sel, |(n, _)| n);
            assert!(SUB_RESOURCES.contains(&name) || QUALIFIERS.contains(&name), "{}: {name}", a.name);
        }
    }
    // SigV2 signs every sub-resource and qualifier but list-type (see the router's test).
    for name in SUB_RESOURCES.iter().chain(&QUALIFIERS[..1]) {
        assert!(crate::sigv2::SUB_RESOURCES.contains(name), "{name}");
    }
}

#[test]
fn sub_resources_are_never_ignored() {
    use Operation::*;
    // Before the table these were DeleteBucket, PutObject and HeadObject.
    assert_eq!(routed("DELETE", "/bkt?uploads", false), Ok(NotImplemented("uploads")));
    assert_eq!(routed("PUT", "/bkt/k?uploads", false), Ok(NotImplemented("uploads")));
    assert_eq!(routed("HEAD", "/bkt/k?acl", false), Ok(NotImplemented("acl")));
    assert_eq!(routed("PUT", "/bkt?website", false), Ok(NotImplemented("website")));
    assert_eq!(routed("GET", "/bkt/k?restore", false), Ok(NotImplemented("restore")));
    assert_eq!(routed("PUT", "/bkt/k?attributes", false), Ok(NotImplemented("attributes")));
    assert_eq!(routed("GET", "/bkt/k?acl&uploadId=u", false), Ok(NotImplemented("acl")));
    assert_eq!(routed("POST", "/bkt/k", false), Err(crate::S3ErrorCode::MethodNotAllowed));
    assert_eq!(routed("PATCH", "/bkt?acl", false), Err(crate::S3ErrorCode::MethodNotAllowed));
    assert_eq!(routed("PUT", "/?acl", false), Err(crate::S3ErrorCode::MethodNotAllowed));
    // A qualifier alone selects nothing.
    assert_eq!(routed("PUT", "/bkt/k?partNumber=3", false), Ok(PutObject));
    assert_eq!(routed("GET", "/bkt?list-type=1", false), Ok(ListObjects));
}

#[test]
fn traits_classes_and_grants() {
    use Operation::*;
    let writes: Vec<_> = OPERATIONS.iter().filter(|s| s.traits.contains(&Trait::WritesObject)).map(|s| s.op).collect();
    assert_eq!(writes, [PostObject, PutObject, CopyObject, CreateMultipartUpload]);
    assert_eq!(GetBucketWebsite.probed(), Some("website"));
    assert_eq!(GetBucketVersioning.probed(), None);
    let after: Vec<_> =
        OPERATIONS.iter().filter(|s| s.traits.contains(&Trait::AuthorizedAfterBody)).map(|s| s.op).collect();
    assert_eq!(after, [PutObjectTagging]);
    assert_eq!(GetBucketPolicy.probed(), None);
    for spec in OPERATIONS.iter().filter(|s| s.traits.contains(&Trait::Probe)) {
        match crate::probes::bucket_probe(spec.select[0]) {
            Ok(doc) => assert!(doc.starts_with("<?xml"), "{}", spec.name),
            Err(e) => assert_eq!(e.status(), 404, "{}: {e}", spec.name),
        }
    }
    assert_eq!(
        (HeadObject.class(), ListParts.class(), AbortMultipartUpload.class()),
        (Class::Get, Class::List, Class::Delete)
    );
    assert_eq!((GetBucketAcl.class(), CorsPreflight.class()), (Class::Other, Class::Other));
    assert_eq!(
        (ListObjectsV2.acl_grant(), UploadPart.acl_grant(), CopyObject.acl_grant()),
        (AclGrant::Read, AclGrant::Write, AclGrant::None)
    );
    assert_eq!((CorsPreflight.permission(), NotImplemented("x").permission()), (None, None));
    assert_eq!((GetBucketVersioning.name(), NotImplemented("select").name()), ("GetBucketVersioning", "select"));
}

/// A request naming a version needs the version's action (the
/// authorization reference's `*Version*` actions), for every operation
/// that takes `versionId`.
#[test]
fn versioned_requests_need_the_version_actions() {
    use Operation::*;
    let cases = [
        (GetObject, "s3:GetObjectVersion"),
        (HeadObject, "s3:GetObjectVersion"),
        (DeleteObject, "s3:DeleteObjectVersion"),
        (GetObjectAttributes, "s3:GetObjectVersionAttributes"),
        (GetObjectAcl, "s3:GetObjectVersionAcl"),
        (PutObjectAcl, "s3:PutObjectVersionAcl"),
        (GetObjectTagging, "s3:GetObjectVersionTagging"),
        (PutObjectTagging, "s3:PutObjectVersionTagging"),
        (DeleteObjectTagging, "s3:DeleteObjectVersionTagging"),
    ];
    for (op, action) in cases {
        let p = op.permission().unwrap();
        assert_eq!((p.action_for(true), p.action_for(false) != action), (action, true), "{op:?}");
    }
    let unversioned = OPERATIONS.iter().filter(|s| s.permission.version_action.is_none()).count();
    assert_eq!(unversioned, OPERATIONS.len() - cases.len());
}
