//! The authorization class of each operation: the IAM action a policy must
//! allow, and whether it applies to the bucket or to an object in it
//! (`arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`).
//!
//! Operations that act on two resources (CopyObject and UploadPartCopy read
//! a source too; DeleteObjects deletes each listed key) name the action for
//! the addressed resource here; the HTTP layer checks the others.

use crate::router::Operation;

/// What a policy must allow for an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// The IAM action, e.g. `s3:GetObject`.
    pub action: &'static str,
    /// The resource is `bucket/key`, not the bucket.
    pub on_object: bool,
}

const fn bucket(action: &'static str) -> Option<Permission> {
    Some(Permission { action, on_object: false })
}

const fn object(action: &'static str) -> Option<Permission> {
    Some(Permission { action, on_object: true })
}

impl Operation {
    /// The permission the operation needs. `None`: no authorization
    /// (CORS preflights answer from the CORS rules; unimplemented
    /// operations fail anyway). ListBuckets needs `s3:ListAllMyBuckets`
    /// on `*`, which callers special-case.
    pub fn permission(self) -> Option<Permission> {
        use Operation::*;
        match self {
            ListBuckets => bucket("s3:ListAllMyBuckets"),
            CreateBucket => bucket("s3:CreateBucket"),
            DeleteBucket => bucket("s3:DeleteBucket"),
            HeadBucket | ListObjects | ListObjectsV2 => bucket("s3:ListBucket"),
            ListObjectVersions => bucket("s3:ListBucketVersions"),
            GetBucketLocation => bucket("s3:GetBucketLocation"),
            ListMultipartUploads => bucket("s3:ListBucketMultipartUploads"),
            GetBucketAcl => bucket("s3:GetBucketAcl"),
            PutBucketAcl => bucket("s3:PutBucketAcl"),
            GetBucketCors => bucket("s3:GetBucketCORS"),
            PutBucketCors | DeleteBucketCors => bucket("s3:PutBucketCORS"),
            GetBucketPolicy => bucket("s3:GetBucketPolicy"),
            PutBucketPolicy => bucket("s3:PutBucketPolicy"),
            DeleteBucketPolicy => bucket("s3:DeleteBucketPolicy"),
            GetBucketConfig(sub) => bucket(probe_action(sub)),
            // Each key is checked for s3:DeleteObject by the handler.
            DeleteObjects => object("s3:DeleteObject"),
            PutObject
            | PostObject
            | CopyObject
            | CreateMultipartUpload
            | UploadPart
            | UploadPartCopy
            | CompleteMultipartUpload => object("s3:PutObject"),
            PutObjectAcl => object("s3:PutObjectAcl"),
            GetObjectAcl => object("s3:GetObjectAcl"),
            GetObject | HeadObject => object("s3:GetObject"),
            GetObjectTagging => object("s3:GetObjectTagging"),
            DeleteObject => object("s3:DeleteObject"),
            AbortMultipartUpload => object("s3:AbortMultipartUpload"),
            ListParts => object("s3:ListMultipartUploadParts"),
            CorsPreflight | NotImplemented(_) => None,
        }
    }
}

/// The read action of a probed bucket configuration.
fn probe_action(sub: &str) -> &'static str {
    match sub {
        "accelerate" => "s3:GetAccelerateConfiguration",
        "analytics" => "s3:GetAnalyticsConfiguration",
        "cors" => "s3:GetBucketCORS",
        "encryption" => "s3:GetEncryptionConfiguration",
        "intelligent-tiering" => "s3:GetIntelligentTieringConfiguration",
        "inventory" => "s3:GetInventoryConfiguration",
        "lifecycle" => "s3:GetLifecycleConfiguration",
        "logging" => "s3:GetBucketLogging",
        "metrics" => "s3:GetMetricsConfiguration",
        "notification" => "s3:GetBucketNotification",
        "object-lock" => "s3:GetBucketObjectLockConfiguration",
        "ownershipControls" => "s3:GetBucketOwnershipControls",
        "policyStatus" => "s3:GetBucketPolicyStatus",
        "publicAccessBlock" => "s3:GetBucketPublicAccessBlock",
        "replication" => "s3:GetReplicationConfiguration",
        "requestPayment" => "s3:GetBucketRequestPayment",
        "tagging" => "s3:GetBucketTagging",
        "versioning" => "s3:GetBucketVersioning",
        "website" => "s3:GetBucketWebsite",
        _ => "s3:GetBucketConfiguration",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::{route, Query};

    /// Request lines to the action the AWS authorization reference lists for them.
    #[test]
    fn documented_actions() {
        let cases: &[(&str, &str, bool, &str, bool)] = &[
            ("GET", "/", false, "s3:ListAllMyBuckets", false),
            ("PUT", "/b", false, "s3:CreateBucket", false),
            ("HEAD", "/b", false, "s3:ListBucket", false),
            ("GET", "/b?list-type=2", false, "s3:ListBucket", false),
            ("GET", "/b?uploads", false, "s3:ListBucketMultipartUploads", false),
            ("GET", "/b?policy", false, "s3:GetBucketPolicy", false),
            ("PUT", "/b?policy", false, "s3:PutBucketPolicy", false),
            ("DELETE", "/b?policy", false, "s3:DeleteBucketPolicy", false),
            ("DELETE", "/b?cors", false, "s3:PutBucketCORS", false),
            ("GET", "/b?versioning", false, "s3:GetBucketVersioning", false),
            ("GET", "/b/k", false, "s3:GetObject", true),
            ("HEAD", "/b/k", false, "s3:GetObject", true),
            ("PUT", "/b/k", true, "s3:PutObject", true),
            ("PUT", "/b/k?partNumber=1&uploadId=u", false, "s3:PutObject", true),
            ("DELETE", "/b/k?uploadId=u", false, "s3:AbortMultipartUpload", true),
            ("GET", "/b/k?uploadId=u", false, "s3:ListMultipartUploadParts", true),
            ("PUT", "/b/k?acl", false, "s3:PutObjectAcl", true),
            ("POST", "/b?delete", false, "s3:DeleteObject", true),
        ];
        for (method, target, copy, action, on_object) in cases {
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let op = route(method, path, &Query::parse(query), *copy).unwrap().op;
            let p = op.permission().unwrap();
            assert_eq!((p.action, p.on_object), (*action, *on_object), "{method} {target}");
        }
        assert_eq!(Operation::CorsPreflight.permission(), None);
    }
}
