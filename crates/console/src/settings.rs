//! A bucket's settings as the object browser shows them: public or private
//! (and the switch), CORS rules, quota and use, and its protection
//! (versioning, object lock, Block Public Access: `protection.rs`) and
//! lifecycle rules (`lifecycle.rs`). The
//! switch adds or removes one statement of the bucket policy (Sid
//! [`PUBLIC_SID`]), leaving every other statement as it was.

use crate::authz::BucketAuthz;
use crate::session::Viewer;
use crate::web::{human_bytes, PageError};
use crate::{Cx, Inner};
use bytes::Bytes;
use coffer_engine::BucketInfo;
use coffer_iam::authz::{decide, Access};
use coffer_iam::Principal;
use coffer_meta::{Quota, QuotaScope};
use coffer_policy::{Context, Policy};
use coffer_types::{CannedAcl, PublicAccessBlock};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

/// The Sid of the statement the public switch manages.
pub(crate) const PUBLIC_SID: &str = "CofferConsolePublicRead";
pub(crate) struct CorsRow {
    pub origins: String,
    pub methods: String,
    pub headers: String,
}

pub(crate) struct Settings {
    /// Anyone may read objects (by the bucket policy or the bucket's ACL).
    pub public: bool,
    /// What makes it public, in words.
    pub public_why: String,
    /// The policy holds the console's public-read statement.
    pub console_grant: bool,
    /// The viewer may change the bucket policy.
    pub can_switch: bool,
    /// Block Public Access (the bucket's or its project's) refuses a public policy.
    pub public_blocked: bool,
    pub cors: Vec<CorsRow>,
    pub cors_error: Option<String>,
    pub used: String,
    pub objects: u64,
    pub quota: String,
    pub project_quota: String,
    pub protection: crate::protection::Protection,
    pub lifecycle: crate::lifecycle::Lifecycle,
}

fn quota_text(q: &Quota) -> String {
    match (q.max_bytes, q.max_objects) {
        (None, None) => "none".into(),
        (b, o) => {
            let b = b.map_or_else(|| "any size".to_owned(), human_bytes);
            let o = o.map_or_else(|| "any number of objects".to_owned(), |o| format!("{o} objects"));
            format!("{b}, {o}")
        }
    }
}

/// Whether an anonymous reader may GET objects of the bucket, as the S3 API
/// decides with the Block Public Access switches that apply (`guard`):
/// `RestrictPublicBuckets` leaves a public policy's public grants out for
/// anyone outside the project, `IgnorePublicAcls` makes a public ACL grant nothing.
fn anonymous_read(b: &BucketInfo, policy: Option<&Policy>, acl: CannedAcl, guard: PublicAccessBlock) -> (bool, String) {
    let restricted;
    let policy = match policy {
        Some(p) if guard.restrict_public_buckets && p.is_public() => {
            restricted = p.without_public_grants();
            Some(&restricted)
        }
        other => other,
    };
    let context = Context::new();
    let resource = format!("arn:aws:s3:::{}/any-object", b.name);
    let by_policy = Access {
        action: "s3:GetObject",
        resource: &resource,
        bucket_owner: Some(&b.project),
        bucket_policy: policy,
        acl_grants: false,
        context: &context,
    };
    if decide(&Principal::Anonymous, &by_policy) {
        return (true, "the bucket policy lets anyone read objects".into());
    }
    if matches!(acl, CannedAcl::PublicRead | CannedAcl::PublicReadWrite) && !guard.ignore_public_acls {
        return (true, "the bucket's ACL makes its listing public".into());
    }
    (false, String::new())
}

/// The settings of `b`, with the request's `authz` (its bucket policy read once).
pub(crate) async fn load(inner: &Inner, authz: &BucketAuthz<'_>, b: &BucketInfo) -> Result<Settings, PageError> {
    let engine = &inner.engine;
    let console_grant = authz.policy_text().is_some_and(|t| statements(t).iter().any(is_console_grant));
    let acl = engine.bucket_acl(&b.name).await.map_err(PageError::internal)?;
    let guard = engine.effective_public_access_block(b).await.map_err(PageError::internal)?;
    let (public, public_why) = anonymous_read(b, authz.policy(), acl, guard);
    let (mut cors, mut cors_error) = (Vec::new(), None);
    if let Some(xml) =
        engine.bucket_config(&b.name, coffer_engine::BucketConfigKind::Cors).await.map_err(PageError::internal)?
    {
        match coffer_s3_proto::cors::CorsConfiguration::parse(xml.as_bytes()) {
            Ok(c) => {
                cors = c
                    .rules
                    .into_iter()
                    .map(|r| CorsRow {
                        origins: r.allowed_origins.join(", "),
                        methods: r.allowed_methods.join(", "),
                        headers: r.allowed_headers.join(", "),
                    })
                    .collect()
            }
            Err(_) => cors_error = Some("The stored CORS configuration could not be read.".into()),
        }
    }
    let totals = engine.bucket_totals(&b.name).await.unwrap_or_default();
    let quota = engine.quota(&QuotaScope::Bucket(b.name.clone())).await.map_err(PageError::internal)?;
    let pquota = engine.quota(&QuotaScope::Project(b.project.clone())).await.map_err(PageError::internal)?;
    Ok(Settings {
        public,
        public_why,
        console_grant,
        can_switch: authz.on_bucket("s3:PutBucketPolicy"),
        public_blocked: guard.block_public_policy,
        cors,
        cors_error,
        used: human_bytes(totals.bytes),
        objects: totals.objects,
        quota: quota_text(&quota),
        project_quota: quota_text(&pquota),
        protection: crate::protection::load(inner, authz, b).await?,
        lifecycle: crate::lifecycle::load(inner, authz, b).await?,
    })
}

/// The statements of a policy document (one statement object or a list).
fn statements(text: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(text).ok().and_then(|v| v.get("Statement").cloned()) {
        Some(Value::Array(a)) => a,
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

fn is_console_grant(s: &Value) -> bool {
    s.get("Sid").and_then(Value::as_str) == Some(PUBLIC_SID)
}

/// The bucket policy after switching the public-read statement on or off;
/// `None` when no statement is left (the policy is then deleted).
pub(crate) fn switched(current: Option<&str>, bucket: &str, public: bool) -> Result<Option<String>, String> {
    let mut doc = match current {
        Some(t) => serde_json::from_str::<Value>(t).map_err(|e| format!("the stored policy is not JSON: {e}"))?,
        None => json!({ "Version": "2012-10-17", "Statement": [] }),
    };
    let mut list: Vec<Value> = current.map(statements).unwrap_or_default();
    list.retain(|s| !is_console_grant(s));
    if public {
        list.push(json!({
            "Sid": PUBLIC_SID,
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
        }));
    }
    if list.is_empty() {
        return Ok(None);
    }
    match doc.as_object_mut() {
        Some(o) => {
            o.insert("Statement".into(), Value::Array(list));
        }
        None => return Err("the stored policy is not a JSON object".into()),
    }
    let text = doc.to_string();
    Policy::parse_bucket(&text, bucket).map_err(|e| e.to_string())?;
    Ok(Some(text))
}

/// `POST /buckets/{name}/visibility` with `public=1|0`.
pub(crate) async fn set_visibility(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let b = crate::buckets::find(inner, v, name).await?;
    let public = cx.form.get("public") == Some("1");
    let authz =
        BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b).await.map_err(PageError::internal)?;
    let next = switched(authz.policy_text(), &b.name, public).map_err(|e| {
        PageError::new(StatusCode::CONFLICT, "Bucket policy not changed", format!("The switch could not apply: {e}."))
    })?;
    // Block Public Access (the bucket's or its project's) refuses a public policy.
    if public && inner.engine.effective_public_access_block(&b).await.map_err(PageError::internal)?.block_public_policy
    {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Public access is blocked",
            "Block Public Access (BlockPublicPolicy) is on for this bucket or its project: it cannot be made public.",
        ));
    }
    let action = if next.is_some() { "s3:PutBucketPolicy" } else { "s3:DeleteBucketPolicy" };
    if !authz.on_bucket(action) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            format!("Your policy does not allow changing this bucket's policy ({action})."),
        ));
    }
    // Written over the policy the switch was computed from: a policy changed
    // meanwhile (through S3, say) is not overwritten with a stale copy.
    match inner
        .engine
        .replace_bucket_config(
            &b.name,
            Some(&b.stamp()),
            coffer_engine::BucketConfigKind::Policy,
            authz.policy_text(),
            next,
        )
        .await
    {
        Ok(()) => {}
        Err(coffer_engine::EngineError::PreconditionFailed) => {
            return Err(PageError::new(
                StatusCode::CONFLICT,
                "Bucket policy not changed",
                "The bucket policy was changed meanwhile; reload the page and try again.",
            ))
        }
        Err(e) => return Err(PageError::internal(e)),
    }
    tracing::info!(bucket = %b.name, public, "console switched public read");
    let to = crate::form::href(
        &format!("/buckets/{}", b.name),
        &[("visibility", if public { "public" } else { "private" })],
    );
    Ok(crate::web::redirect(&to, None, &cx.nonce))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switch_keeps_other_statements() {
        let other = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Mine","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let on = switched(Some(other), "b", true).unwrap().unwrap();
        assert_eq!(statements(&on).len(), 2);
        assert!(statements(&on).iter().any(is_console_grant));
        let off = switched(Some(&on), "b", false).unwrap().unwrap();
        assert_eq!(statements(&off), statements(other));
        // Switching on twice keeps one grant.
        let twice = switched(Some(&on), "b", true).unwrap().unwrap();
        assert_eq!(statements(&twice).len(), 2);
        // Only the console's grant: off deletes the policy.
        let only = switched(None, "b", true).unwrap().unwrap();
        assert_eq!(switched(Some(&only), "b", false).unwrap(), None);
        assert!(switched(Some("not json"), "b", true).is_err());
    }

    #[test]
    fn public_read_is_decided_like_s3() {
        let b = BucketInfo {
            name: "b".into(),
            project: "p".into(),
            region: "r".into(),
            created: 0,
            versioning: Default::default(),
            object_lock: false,
        };
        let on = switched(None, "b", true).unwrap().unwrap();
        let p = Policy::parse_bucket(&on, "b").unwrap();
        let open = PublicAccessBlock::default();
        assert!(anonymous_read(&b, Some(&p), CannedAcl::Private, open).0);
        assert!(!anonymous_read(&b, None, CannedAcl::Private, open).0);
        assert!(anonymous_read(&b, None, CannedAcl::PublicRead, open).0);
        // Block Public Access as the S3 API applies it.
        let restrict = PublicAccessBlock { restrict_public_buckets: true, ..open };
        assert!(!anonymous_read(&b, Some(&p), CannedAcl::Private, restrict).0);
        let ignore = PublicAccessBlock { ignore_public_acls: true, ..open };
        assert!(!anonymous_read(&b, None, CannedAcl::PublicRead, ignore).0);
        assert!(anonymous_read(&b, Some(&p), CannedAcl::PublicRead, ignore).0);
    }
}
