//! The console asks the S3 API's question: [`coffer_iam::authz::decide`]
//! with the same IAM actions, resources, bucket policy and condition keys.

use crate::session::Viewer;
use crate::Cx;
use coffer_engine::{BucketInfo, Engine, EngineError};
use coffer_iam::authz::{decide, Access};
use coffer_iam::Principal;
use coffer_policy::{Context, Policy};

/// The bucket configuration entry holding the bucket policy (as in s3-api).
const POLICY_CONFIG: &str = "policy";

/// The condition keys the console knows for a request.
fn context(v: &Viewer, cx: &Cx, secure: bool) -> Context {
    coffer_iam::authz::global_context(&v.principal, cx.peer, secure)
}

/// An action that addresses no existing bucket (`s3:ListAllMyBuckets` on
/// `*`, `s3:CreateBucket` on the new bucket's ARN).
pub(crate) fn allowed_unbound(v: &Viewer, cx: &Cx, secure: bool, action: &str, resource: &str) -> bool {
    let context = context(v, cx, secure);
    let access =
        Access { action, resource, bucket_owner: None, bucket_policy: None, acl_grants: false, context: &context };
    decide(&v.principal, &access)
}

/// A bucket-level action (no canned ACL grants the ones the console uses).
pub(crate) async fn allowed_on_bucket(
    engine: &Engine,
    v: &Viewer,
    cx: &Cx,
    secure: bool,
    action: &str,
    bucket: &BucketInfo,
) -> Result<bool, EngineError> {
    if matches!(v.principal, Principal::Operator { .. }) {
        return Ok(true);
    }
    let policy = match engine.bucket_config(&bucket.name, POLICY_CONFIG).await? {
        None => None,
        Some(text) => match Policy::parse_bucket(&text, &bucket.name) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(bucket = %bucket.name, error = %e, "stored bucket policy does not parse; ignored");
                None
            }
        },
    };
    let context = context(v, cx, secure);
    let resource = format!("arn:aws:s3:::{}", bucket.name);
    let access = Access {
        action,
        resource: &resource,
        bucket_owner: Some(&bucket.project),
        bucket_policy: policy.as_ref(),
        acl_grants: false,
        context: &context,
    };
    Ok(decide(&v.principal, &access))
}

/// Whether the console shows `bucket` to the viewer at all: the operator
/// sees every bucket, a project user its own project's (as ListBuckets).
pub(crate) fn visible(v: &Viewer, bucket: &BucketInfo) -> bool {
    v.principal.project().is_none_or(|p| bucket.project == p)
}
