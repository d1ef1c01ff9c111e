//! The console asks the S3 API's question: [`coffer_iam::authz::decide`]
//! with the same IAM actions, resources, bucket policy and condition keys.

use crate::session::Viewer;
use crate::Cx;
use coffer_engine::{BucketInfo, Engine, EngineError};
use coffer_iam::authz::{decide, Access};
use coffer_iam::Principal;
use coffer_policy::{Context, Policy};

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

/// A stored bucket policy parsed; one that does not parse is ignored (as
/// the S3 API does), with a warning.
fn parse_policy(text: &str, bucket: &str) -> Option<Policy> {
    match Policy::parse_bucket(text, bucket) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(%bucket, error = %e, "stored bucket policy does not parse; ignored");
            None
        }
    }
}

/// Decisions on one bucket and its objects, with the bucket policy read once
/// per request (a multi-object delete asks once per key, the settings panel
/// reuses the text).
#[derive(Clone)]
pub(crate) struct BucketAuthz<'a> {
    v: &'a Viewer,
    bucket: &'a BucketInfo,
    /// The stored policy document, as written.
    text: Option<String>,
    policy: Option<Policy>,
    context: Context,
    /// For the tags of existing objects (`s3:ExistingObjectTag/…`).
    engine: Engine,
}

impl<'a> BucketAuthz<'a> {
    pub async fn load(
        engine: &Engine,
        v: &'a Viewer,
        cx: &Cx,
        secure: bool,
        bucket: &'a BucketInfo,
    ) -> Result<BucketAuthz<'a>, EngineError> {
        let text = engine.bucket_config(&bucket.name, coffer_engine::BucketConfigKind::Policy).await?;
        let policy = text.as_deref().and_then(|t| parse_policy(t, &bucket.name));
        Ok(BucketAuthz { v, bucket, text, policy, context: context(v, cx, secure), engine: engine.clone() })
    }

    /// The bucket policy as stored, if any.
    pub fn policy_text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// The bucket policy, parsed (`None` also when it does not parse).
    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
    }

    /// Adds a condition key (e.g. `s3:prefix` for a listing).
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.context.insert(key, value);
        self
    }

    /// `action` on the bucket itself.
    pub fn on_bucket(&self, action: &str) -> bool {
        self.decide(action, &format!("arn:aws:s3:::{}", self.bucket.name))
    }

    /// `action` on the object `key`.
    pub fn on_object(&self, action: &str, key: &str) -> bool {
        self.decide(action, &format!("arn:aws:s3:::{}/{key}", self.bucket.name))
    }

    /// `action` on the existing object `key`, with its tags as the
    /// `s3:ExistingObjectTag/…` keys when a policy that applies has a
    /// condition on them (as the S3 API decides; a missing object has none).
    pub async fn on_existing_object(&self, action: &str, key: &str) -> Result<bool, EngineError> {
        self.on_existing_version(action, key, None).await
    }

    /// [`BucketAuthz::on_existing_object`] for one version of `key` (`None`:
    /// its current one): the tags are that version's, as S3 reads them for a
    /// request that names a `versionId`.
    pub async fn on_existing_version(
        &self,
        action: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<bool, EngineError> {
        const PREFIX: &str = "s3:ExistingObjectTag/";
        if !self.bucket_owner_may(action, key, version).await? {
            return Ok(false);
        }
        let identity = match &self.v.principal {
            Principal::User(u) => u.policies.iter().any(|p| p.reads_condition_key(PREFIX)),
            _ => false,
        };
        if !identity && !self.policy.as_ref().is_some_and(|p| p.reads_condition_key(PREFIX)) {
            return Ok(self.on_object(action, key));
        }
        let mut context = self.context.clone();
        match self.engine.object_tags(&self.bucket.name, key, version).await {
            Ok(tags) => {
                for (k, v) in tags.0.iter() {
                    context.insert(&format!("{PREFIX}{k}"), v);
                }
            }
            Err(
                EngineError::NoSuchKey
                | EngineError::NoSuchVersion
                | EngineError::DeleteMarker { .. }
                | EngineError::InvalidArgument(_),
            ) => {}
            Err(e) => return Err(e),
        }
        let resource = format!("arn:aws:s3:::{}/{key}", self.bucket.name);
        Ok(self.decide_with(action, &resource, &context))
    }

    /// On an object another project owns (Object Ownership, as the S3 API
    /// decides), the bucket's project may read it only with the object's
    /// `bucket-owner-read` ACL, and see or change its tags and ACL only with
    /// `bucket-owner-full-control`; deleting or overwriting it stay the
    /// bucket's. The console acts for the bucket's project.
    async fn bucket_owner_may(&self, action: &str, key: &str, version: Option<&str>) -> Result<bool, EngineError> {
        // Deleting and overwriting are the bucket's (as on S3): only reads,
        // tags and ACLs of the object are its owner's to grant.
        let owners = action.starts_with("s3:GetObject") || action.contains("Tagging") || action.contains("Acl");
        if !owners
            || matches!(self.v.principal, Principal::Operator { .. })
            || !self.engine.acls_enabled(&self.bucket.name).await?
        {
            return Ok(true);
        }
        let acl = match self.engine.object_access(&self.bucket.name, key, version).await {
            Ok((Some(owner), acl)) if owner != self.bucket.project => acl,
            Ok(_) => return Ok(true),
            Err(
                EngineError::NoSuchKey
                | EngineError::NoSuchVersion
                | EngineError::DeleteMarker { .. }
                | EngineError::InvalidArgument(_),
            ) => return Ok(true),
            Err(e) => return Err(e),
        };
        let read = matches!(action, "s3:GetObject" | "s3:GetObjectVersion");
        Ok(match acl {
            coffer_types::CannedAcl::BucketOwnerFullControl => true,
            coffer_types::CannedAcl::BucketOwnerRead => read,
            _ => false,
        })
    }

    fn decide(&self, action: &str, resource: &str) -> bool {
        self.decide_with(action, resource, &self.context)
    }

    fn decide_with(&self, action: &str, resource: &str, context: &Context) -> bool {
        if matches!(self.v.principal, Principal::Operator { .. }) {
            return true;
        }
        let access = Access {
            action,
            resource,
            bucket_owner: Some(&self.bucket.project),
            bucket_policy: self.policy.as_ref(),
            acl_grants: false,
            context,
        };
        decide(&self.v.principal, &access)
    }
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
    Ok(BucketAuthz::load(engine, v, cx, secure, bucket).await?.on_bucket(action))
}

/// Whether the console shows `bucket` to the viewer at all: the operator
/// sees every bucket, a project user its own project's (as ListBuckets).
pub(crate) fn visible(v: &Viewer, bucket: &BucketInfo) -> bool {
    v.principal.project().is_none_or(|p| bucket.project == p)
}
