//! Authorization: after authentication, before the handler. Looks up the
//! addressed bucket (a bucket of another region is a `PermanentRedirect`),
//! builds the request's condition keys, and asks
//! [`coffer_iam::authz::decide`] with the principal's policies, the bucket
//! policy and the canned ACL. A refusal is `AccessDenied`.
//!
//! A missing object is reported as missing only to whoever may list the
//! bucket (`s3:ListBucket`), as S3 does; others get `AccessDenied`.

use crate::context::{Ctx, Pin};
use crate::errors::from_engine;
use crate::S3Service;
use coffer_engine::{AccessFacts, BucketConfigKind, BucketInfo, EngineError, ReadPin};
use coffer_iam::authz::{decide, Access};
use coffer_iam::Principal;
use coffer_policy::{Context, Policy};
use coffer_s3_proto::ops::{AclGrant, Trait};
use coffer_s3_proto::router::Operation;
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use coffer_types::CannedAcl;

/// Checks the routed operation; fills `ctx.bucket_info`.
pub(crate) async fn authorize(svc: &S3Service, ctx: &mut Ctx) -> Result<(), S3Error> {
    let Some(op) = ctx.op else { return Ok(()) };
    let Some(perm) = op.permission() else { return Ok(()) };
    let operator = matches!(ctx.principal, Principal::Operator { .. });
    match op {
        Operation::ListBuckets => return check_unbound(ctx, perm.action, "*", operator),
        Operation::CreateBucket => {
            let arn = format!("arn:aws:s3:::{}", ctx.bucket());
            check_unbound(ctx, perm.action, &arn, operator)?;
            // An ACL other than private given with CreateBucket also needs
            // s3:PutBucketAcl (re-creating an existing bucket: see bucket.rs).
            if acl_requested(&ctx.headers) {
                check_unbound(ctx, "s3:PutBucketAcl", &arn, operator)?;
            }
            // So does choosing its Object Ownership.
            if ctx.headers.contains_key("x-amz-object-ownership") {
                check_unbound(ctx, "s3:PutBucketOwnershipControls", &arn, operator)?;
            }
            // And turning object lock (with versioning) on.
            if crate::bucket::lock_requested(ctx)? {
                check_unbound(ctx, "s3:PutBucketObjectLockConfiguration", &arn, operator)?;
                check_unbound(ctx, "s3:PutBucketVersioning", &arn, operator)?;
            }
            return Ok(());
        }
        _ => {}
    }
    let bucket = ctx.bucket().to_owned();
    let info = bucket_in_region(svc, ctx, &bucket).await?;
    expect_owner(ctx, "x-amz-expected-bucket-owner", &info)?;
    ctx.bucket_info = Some(info.clone());
    if operator {
        return Ok(());
    }
    // DeleteObjects is checked key by key in its handler (refusals are
    // per-key errors in a 200 answer, as on S3).
    if op == Operation::DeleteObjects {
        return Ok(());
    }
    if op.is(Trait::WritesObject) && tags_requested(op, &ctx.headers) {
        // An invalid header is the handler's InvalidTag; here it sets no key.
        ctx.request_tags = crate::tagging::requested(&ctx.headers).ok();
    }
    if op.is(Trait::AuthorizedAfterBody) {
        // The handler calls `recheck` with what the body asks for.
        return Ok(());
    }
    let key = perm.on_object.then(|| ctx.key().to_owned());
    let action = perm.action_for(ctx.version().is_some());
    ctx.list_check_if_missing = check(svc, ctx, op, action, &info, key.as_deref()).await?;
    // A form's ACL and tags are form fields, checked by the POST handler.
    if op != Operation::PostObject {
        check_write_headers(svc, ctx, op, &ctx.headers).await?;
    }
    Ok(())
}

/// Checks an operation authorized after its body (`AuthorizedAfterBody`:
/// PutObjectTagging's tags give the `s3:RequestObjectTag/…` keys), once the
/// handler has read it and set what it asks for in `ctx`.
pub(crate) async fn check_after_body(svc: &S3Service, ctx: &Ctx) -> Result<(), S3Error> {
    if matches!(ctx.principal, Principal::Operator { .. }) {
        return Ok(());
    }
    // Fails closed: an operation authorized after its body has both.
    let (Some(op), Some(info)) = (ctx.op, ctx.bucket_info.as_ref()) else { return Err(C::AccessDenied.into()) };
    let Some(perm) = op.permission() else { return Err(C::AccessDenied.into()) };
    let key = perm.on_object.then(|| ctx.key());
    check(svc, ctx, op, perm.action_for(ctx.version().is_some()), info, key).await.map(|_| ())
}

/// Whether a write's headers ask for tags: `x-amz-tagging` with a value,
/// and for a copy only with `x-amz-tagging-directive: REPLACE`.
fn tags_requested(op: Operation, headers: &http::HeaderMap) -> bool {
    let given = headers.get("x-amz-tagging").is_some_and(|v| !v.as_bytes().trim_ascii().is_empty());
    let replace = headers.get("x-amz-tagging-directive").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"REPLACE"));
    given && (op != Operation::CopyObject || replace)
}

/// Whether headers ask for an ACL that grants more than the owner's own
/// access: `x-amz-acl` other than `private`, or any `x-amz-grant-*`.
pub(crate) fn acl_requested(headers: &http::HeaderMap) -> bool {
    let canned = headers.get("x-amz-acl").is_some_and(|v| v.as_bytes().trim_ascii() != b"private");
    canned || headers.keys().any(|k| k.as_str().starts_with("x-amz-grant-"))
}

/// An ACL given with an object write (PutObject, CopyObject,
/// CreateMultipartUpload, POST) needs `s3:PutObjectAcl` on the object as
/// well as the write's own action, as on S3: otherwise a user allowed only to
/// write could publish what it writes, or (copying an object onto itself)
/// publish a private object. Tags given with it need `s3:PutObjectTagging`.
pub(crate) async fn check_write_headers(
    svc: &S3Service,
    ctx: &Ctx,
    op: Operation,
    headers: &http::HeaderMap,
) -> Result<(), S3Error> {
    if !op.is(Trait::WritesObject) {
        return Ok(());
    }
    // A canned ACL grants these as it grants the write itself (WRITE on a
    // public-read-write bucket): what is set is the new object's own, never
    // an existing object's (that is Put*Acl/Put*Tagging, which it does not grant).
    let (bucket, key) = (ctx.bucket(), Some(ctx.key()));
    if acl_requested(headers) {
        check_extra_as(svc, ctx, op, "s3:PutObjectAcl", bucket, key).await?;
    }
    if tags_requested(op, headers) {
        check_extra_as(svc, ctx, op, "s3:PutObjectTagging", bucket, key).await?;
    }
    // Locking what one writes needs the lock actions, as on S3.
    if headers.contains_key("x-amz-object-lock-mode") || headers.contains_key("x-amz-object-lock-retain-until-date") {
        check_extra_as(svc, ctx, op, "s3:PutObjectRetention", bucket, key).await?;
    }
    if headers.contains_key("x-amz-object-lock-legal-hold") {
        check_extra_as(svc, ctx, op, "s3:PutObjectLegalHold", bucket, key).await?;
    }
    Ok(())
}

/// For a read allowed without looking at the object: the handler found no
/// such key. Whoever may not list the bucket learns nothing from that.
pub(crate) async fn missing_key(svc: &S3Service, ctx: &Ctx, e: S3Error) -> S3Error {
    let Some(info) = ctx.bucket_info.as_ref() else { return e };
    match may_list(svc, ctx, info).await {
        Ok(true) => e,
        Ok(false) => C::AccessDenied.into(),
        Err(other) => other,
    }
}

async fn may_list(svc: &S3Service, ctx: &Ctx, info: &BucketInfo) -> Result<bool, S3Error> {
    let policy = guarded_policy(svc, ctx, info).await?;
    let context = condition_context(ctx);
    let arn = format!("arn:aws:s3:::{}", info.name);
    let acl = bucket_acl(svc, info).await?;
    let list = Access {
        action: "s3:ListBucket",
        resource: &arn,
        bucket_owner: Some(&info.project),
        bucket_policy: policy.as_ref(),
        acl_grants: acl_grants(Operation::ListObjects, &ctx.principal, acl) && !ignores_acl(svc, info, acl).await?,
        context: &context,
    };
    Ok(decide(&ctx.principal, &list))
}

/// Checks one more access of the request: the source of a copy, a key of a
/// multi-object delete, the ACL an object write asks for: what `op` needs
/// (its action and canned-ACL grant; `GetObject`: the source of a copy).
///
/// A copy source must be in the request's region, for everyone: a key
/// works in its own region only, and unlike AWS, Coffer's regions are
/// separate deployments of one service, so `AccessDenied`.
pub(crate) async fn check_extra(
    svc: &S3Service,
    ctx: &Ctx,
    op: Operation,
    bucket: &str,
    key: Option<&str>,
) -> Result<(), S3Error> {
    check_extra_as(svc, ctx, op, op.permission().map_or("", |p| p.action), bucket, key).await
}

/// [`check_extra`] of `action`, with the canned-ACL grant of `op`.
pub(crate) async fn check_extra_as(
    svc: &S3Service,
    ctx: &Ctx,
    op: Operation,
    action: &str,
    bucket: &str,
    key: Option<&str>,
) -> Result<(), S3Error> {
    let copy_source = op == Operation::GetObject;
    if matches!(ctx.principal, Principal::Operator { .. }) && !copy_source {
        return Ok(());
    }
    let info = match &ctx.bucket_info {
        Some(b) if b.name == bucket => b.clone(),
        _ => svc.engine.head_bucket(bucket).await.map_err(from_engine)?,
    };
    if copy_source {
        if info.region != ctx.region {
            return Err(S3Error::with_message(
                C::AccessDenied,
                "The copy source bucket is in another region; a key works only in its own region.",
            ));
        }
        expect_owner(ctx, "x-amz-source-expected-bucket-owner", &info)?;
    }
    if matches!(ctx.principal, Principal::Operator { .. }) {
        return Ok(());
    }
    check(svc, ctx, op, action, &info, key).await.map(|_| ())
}

/// `x-amz-expected-bucket-owner`: the request goes through only if the
/// bucket belongs to that owner (the project's name is its account id).
fn expect_owner(ctx: &Ctx, header: &str, info: &BucketInfo) -> Result<(), S3Error> {
    match ctx.header(header) {
        Some(expected) if expected != crate::bucket::owner_of(&info.project).id => Err(C::AccessDenied.into()),
        _ => Ok(()),
    }
}

async fn bucket_in_region(svc: &S3Service, ctx: &Ctx, bucket: &str) -> Result<BucketInfo, S3Error> {
    let info = svc.engine.head_bucket(bucket).await.map_err(from_engine)?;
    if info.region != ctx.region {
        let mut e = S3Error::new(C::PermanentRedirect).with_extra("Bucket", bucket);
        if let Some(host) = svc.regions.endpoint_of(&info.region) {
            e = e.with_extra("Endpoint", host);
        }
        return Err(e.with_header("x-amz-bucket-region", &info.region));
    }
    Ok(info)
}

/// An access that addresses no existing bucket (ListBuckets, CreateBucket).
fn check_unbound(ctx: &Ctx, action: &str, resource: &str, operator: bool) -> Result<(), S3Error> {
    if operator {
        return Ok(());
    }
    let context = condition_context(ctx);
    let access =
        Access { action, resource, bucket_owner: None, bucket_policy: None, acl_grants: false, context: &context };
    if decide(&ctx.principal, &access) {
        Ok(())
    } else {
        Err(C::AccessDenied.into())
    }
}

/// `Ok(true)`: allowed without reading the object, which may not exist;
/// the caller then owes [`missing_key`] if it does not.
async fn check(
    svc: &S3Service,
    ctx: &Ctx,
    op: Operation,
    action: &str,
    info: &BucketInfo,
    key: Option<&str>,
) -> Result<bool, S3Error> {
    let policy = guarded_policy(svc, ctx, info).await?;
    let mut context = condition_context(ctx);
    if let Some(key) = key {
        existing_tags(svc, ctx, op, policy.as_ref(), &info.name, key, &mut context).await?;
    }
    let resource = match key {
        Some(k) => format!("arn:aws:s3:::{}/{k}", info.name),
        None => format!("arn:aws:s3:::{}", info.name),
    };
    let mut access = Access {
        action,
        resource: &resource,
        bucket_owner: Some(&info.project),
        bucket_policy: policy.as_ref(),
        acl_grants: false,
        context: &context,
    };
    let version = key.and_then(|k| addressed_version(ctx, op, &info.name, k));
    // An object another project owns: its owner decides (read it first).
    if let Some(k) = key.filter(|_| op.is(Trait::OwnerDecides)) {
        if let Some((owner, acl)) = foreign_owner(svc, ctx, info, k, version.as_deref()).await? {
            let grants = owner_acl_grants(op, ctx, info, acl) && !ignores_acl(svc, info, acl).await?;
            let denies = policy.as_ref().map(Policy::without_grants);
            let owned =
                Access { bucket_owner: Some(&owner), bucket_policy: denies.as_ref(), acl_grants: grants, ..access };
            return if decide(&ctx.principal, &owned) { Ok(false) } else { Err(C::AccessDenied.into()) };
        }
    }
    let reads_object = matches!(op, Operation::GetObject | Operation::HeadObject | Operation::GetObjectAttributes);
    if decide(&ctx.principal, &access) {
        return Ok(reads_object);
    }
    // The canned ACL may still grant it: the object's for reads, the bucket's otherwise.
    let acl = if reads_object {
        // The version the request reads (without it, a source version under
        // a delete marker would look missing, and the missing-key answer
        // below would let a copy read it unauthorized).
        let k = key.unwrap_or("");
        match pinned_facts(svc, ctx, &info.name, k, version.as_deref()).await? {
            Some(facts) if svc.engine.acls_enabled(&info.name).await.map_err(from_engine)? => facts.acl,
            Some(_) => CannedAcl::Private,
            // A missing key: 404 for whoever may list the bucket, 403 for others.
            None => return if may_list(svc, ctx, info).await? { Ok(false) } else { Err(C::AccessDenied.into()) },
        }
    } else {
        bucket_acl(svc, info).await?
    };
    access.acl_grants = acl_grants(op, &ctx.principal, acl) && !ignores_acl(svc, info, acl).await?;
    if access.acl_grants && decide(&ctx.principal, &access) {
        Ok(false)
    } else {
        Err(C::AccessDenied.into())
    }
}

/// The version a check of `op` at `bucket/key` is about: a copy's source
/// check (`GetObject` within CopyObject or UploadPartCopy) reads the
/// source's `?versionId=`, even when the source is the destination's key
/// (the request's own `versionId` is not the source's); any other check
/// the request's own `versionId` on its own key.
fn addressed_version(ctx: &Ctx, op: Operation, bucket: &str, key: &str) -> Option<String> {
    let copying = matches!(ctx.op, Some(Operation::CopyObject | Operation::UploadPartCopy));
    if copying && op == Operation::GetObject {
        let src = crate::object_put::copy_source(ctx).ok()?;
        return (src.bucket == bucket && src.key == key).then_some(src.version).flatten();
    }
    (bucket == ctx.bucket() && key == ctx.key()).then(|| ctx.version().map(str::to_owned)).flatten()
}

/// The project owning the addressed version when ACLs are in force and it
/// is not the bucket's (Object Ownership), with its ACL; `None` too when
/// there is no such version (the usual checks then answer for the missing key).
async fn foreign_owner(
    svc: &S3Service,
    ctx: &Ctx,
    info: &BucketInfo,
    key: &str,
    version: Option<&str>,
) -> Result<Option<(String, CannedAcl)>, S3Error> {
    if !svc.engine.acls_enabled(&info.name).await.map_err(from_engine)? {
        return Ok(None);
    }
    Ok(match pinned_facts(svc, ctx, &info.name, key, version).await? {
        Some(AccessFacts { owner: Some(owner), acl }) if owner != info.project => Some((owner, acl)),
        _ => None,
    })
}

/// The stored owner and ACL of the addressed version (`None`: there is
/// none), pinned in `ctx`: the handler's read must find the same
/// ([`pin_for`]), or the decision made on them would serve what it never saw.
async fn pinned_facts(
    svc: &S3Service,
    ctx: &Ctx,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Result<Option<AccessFacts>, S3Error> {
    // Read once per request: a second check of the same version (the
    // owner's, then the canned ACL's; attributes' two actions) decides on
    // what the first read, and the handler's read is held to that.
    let seen = |pins: &[Pin]| {
        pins.iter()
            .find(|p| (p.bucket.as_str(), p.key.as_str(), p.version.as_deref()) == (bucket, key, version))
            .map(|p| p.seen.clone())
    };
    if let Some(pin) = seen(&ctx.pins.lock().unwrap_or_else(|p| p.into_inner())) {
        return Ok(pin.0);
    }
    let facts = match svc.engine.object_facts(bucket, key, version).await {
        Ok(f) => Some(f),
        Err(EngineError::NoSuchKey | EngineError::NoSuchVersion | EngineError::DeleteMarker { .. }) => None,
        Err(e) => return Err(from_engine(e)),
    };
    let mut pins = ctx.pins.lock().unwrap_or_else(|p| p.into_inner());
    pins.retain(|p| (p.bucket.as_str(), p.key.as_str()) != (bucket, key));
    let version = version.map(str::to_owned);
    pins.push(Pin { bucket: bucket.to_owned(), key: key.to_owned(), version, seen: ReadPin(facts.clone()) });
    Ok(facts)
}

/// What authorization decided on at `bucket/key`, if it looked at the
/// object: the handler's read (GET, HEAD, attributes, a copy's source)
/// checks it with [`ReadPin::check`].
pub(crate) fn pin_for(ctx: &Ctx, bucket: &str, key: &str) -> Option<ReadPin> {
    let pins = ctx.pins.lock().unwrap_or_else(|p| p.into_inner());
    pins.iter().rev().find(|p| (p.bucket.as_str(), p.key.as_str()) == (bucket, key)).map(|p| p.seen.clone())
}

/// What an object's canned ACL grants on an object another project owns:
/// its grants to everyone, and to the bucket's project those of
/// `bucket-owner-read` (reads) and `bucket-owner-full-control` (all).
/// The owner's own access is its own policies' (the owner has full control).
fn owner_acl_grants(op: Operation, ctx: &Ctx, info: &BucketInfo, acl: CannedAcl) -> bool {
    let bucket_project = ctx.principal.project() == Some(info.project.as_str());
    let to_bucket_owner = match acl {
        CannedAcl::BucketOwnerFullControl => true,
        CannedAcl::BucketOwnerRead => op.acl_grant() == AclGrant::Read,
        _ => false,
    };
    acl_grants(op, &ctx.principal, acl) || (bucket_project && to_bucket_owner)
}

/// The bucket policy as it applies to the requester: with
/// `RestrictPublicBuckets`, a public policy's public grants give nothing to
/// anyone outside the bucket's project (anonymous requests, other
/// projects); its denies and its grants to named principals stay.
async fn guarded_policy(svc: &S3Service, ctx: &Ctx, info: &BucketInfo) -> Result<Option<Policy>, S3Error> {
    let policy = bucket_policy(svc, &info.name).await?;
    let outsider = ctx.principal.project() != Some(info.project.as_str());
    if let Some(p) = policy.as_ref().filter(|p| outsider && p.is_public()) {
        let guard = svc.engine.effective_public_access_block(info).await.map_err(from_engine)?;
        if guard.restrict_public_buckets {
            return Ok(Some(p.without_public_grants()));
        }
    }
    Ok(policy)
}

/// Whether `IgnorePublicAcls` makes this (public) ACL grant nothing.
async fn ignores_acl(svc: &S3Service, info: &BucketInfo, acl: CannedAcl) -> Result<bool, S3Error> {
    if !coffer_engine::is_public_acl(acl) {
        return Ok(false);
    }
    let guard = svc.engine.effective_public_access_block(info).await.map_err(from_engine)?;
    Ok(guard.ignore_public_acls)
}

async fn bucket_acl(svc: &S3Service, info: &BucketInfo) -> Result<CannedAcl, S3Error> {
    svc.engine.bucket_acl(&info.name).await.map_err(from_engine)
}

/// The bucket's policy; a stored policy that no longer parses grants nothing.
pub(crate) async fn bucket_policy(svc: &S3Service, bucket: &str) -> Result<Option<Policy>, S3Error> {
    let Some(text) = svc.engine.bucket_config(bucket, BucketConfigKind::Policy).await.map_err(from_engine)? else {
        return Ok(None);
    };
    match Policy::parse_bucket(&text, bucket) {
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            tracing::warn!(bucket, error = %e, "stored bucket policy does not parse; ignored");
            Ok(None)
        }
    }
}

/// What a canned ACL grants the principal for an operation (its
/// [`AclGrant`]); `authenticated-read` grants signed principals.
fn acl_grants(op: Operation, principal: &Principal, acl: CannedAcl) -> bool {
    let signed = !matches!(principal, Principal::Anonymous);
    match op.acl_grant() {
        AclGrant::Read => acl.public_read() || (signed && acl == CannedAcl::AuthenticatedRead),
        AclGrant::Write => acl.public_write(),
        AclGrant::None => false,
    }
}

/// `s3:ExistingObjectTag/<key>`: the addressed object's tags, read only
/// when a policy that applies has a condition on them (a missing object has none).
async fn existing_tags(
    svc: &S3Service,
    ctx: &Ctx,
    op: Operation,
    bucket_policy: Option<&Policy>,
    bucket: &str,
    key: &str,
    context: &mut Context,
) -> Result<(), S3Error> {
    const PREFIX: &str = "s3:ExistingObjectTag/";
    let identity = match &ctx.principal {
        Principal::User(u) => u.policies.iter().any(|p| p.reads_condition_key(PREFIX)),
        _ => false,
    };
    if !identity && !bucket_policy.is_some_and(|p| p.reads_condition_key(PREFIX)) {
        return Ok(());
    }
    let version = addressed_version(ctx, op, bucket, key);
    let tags = match svc.engine.object_tags(bucket, key, version.as_deref()).await {
        Ok((tags, _)) => tags,
        Err(EngineError::NoSuchKey | EngineError::NoSuchVersion | EngineError::DeleteMarker { .. }) => return Ok(()),
        Err(e) => return Err(from_engine(e)),
    };
    for (k, v) in tags.iter() {
        context.insert(&format!("{PREFIX}{k}"), v);
    }
    Ok(())
}

/// The condition keys of a request, as AWS names them.
fn condition_context(ctx: &Ctx) -> Context {
    let mut c = coffer_iam::authz::global_context(&ctx.principal, ctx.peer, ctx.secure);
    if let Some((auth_type, version)) = ctx.auth_type {
        c.insert("s3:authType", auth_type);
        c.insert("s3:signatureversion", version);
    }
    if ctx.op.is_some_and(|op| op.is(Trait::Lists)) {
        for (param, key) in [("prefix", "s3:prefix"), ("delimiter", "s3:delimiter"), ("max-keys", "s3:max-keys")] {
            if let Some(v) = ctx.query.get(param) {
                c.insert(key, v);
            }
        }
    }
    if let Some(tags) = &ctx.request_tags {
        for (k, v) in tags.iter() {
            c.insert(&format!("s3:RequestObjectTag/{k}"), v);
            c.insert("s3:RequestObjectTagKeys", k);
        }
    }
    for (header, key) in [
        ("x-amz-acl", "s3:x-amz-acl"),
        ("x-amz-copy-source", "s3:x-amz-copy-source"),
        ("x-amz-metadata-directive", "s3:x-amz-metadata-directive"),
        ("x-amz-server-side-encryption", "s3:x-amz-server-side-encryption"),
        ("x-amz-content-sha256", "s3:x-amz-content-sha256"),
    ] {
        if let Some(v) = ctx.header(header) {
            c.insert(key, v);
        }
    }
    c
}
