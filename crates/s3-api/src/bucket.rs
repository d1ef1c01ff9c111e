//! Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
//! GetBucketLocation.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_engine::{EngineError, NewBucket};
use coffer_s3_proto::router::Operation;
use coffer_s3_proto::time_fmt::iso8601_millis;
use coffer_s3_proto::xml::{
    self, BucketEntry, Buckets, CreateBucketConfiguration, ListAllMyBucketsResult, LocationConstraint, Owner, NS,
};
use coffer_s3_proto::{S3Error, S3ErrorCode};
use http::{HeaderValue, Response, StatusCode};

/// The owner S3 documents show: the project (its name is the canonical
/// id), or for the operator's own buckets the operator.
pub(crate) fn owner_of(project: &str) -> Owner {
    let id = if project == coffer_meta::OPERATOR_PROJECT { "coffer-operator" } else { project };
    Owner { id: id.to_owned(), display_name: id.to_owned() }
}

/// The owner of what the request addresses: the bucket's project, else the requester's.
pub(crate) fn owner(ctx: &Ctx) -> Owner {
    match (&ctx.bucket_info, ctx.principal.project()) {
        (Some(b), _) => owner_of(&b.project),
        (None, Some(p)) => owner_of(p),
        (None, None) => owner_of(coffer_meta::OPERATOR_PROJECT),
    }
}

/// The project a request acts for (the operator acts for its own).
fn acting_project(ctx: &Ctx) -> &str {
    ctx.principal.project().unwrap_or(coffer_meta::OPERATOR_PROJECT)
}

/// Buckets read per store query when ListBuckets has no `max-buckets`.
const PAGE: usize = 1000;

pub(crate) async fn list_buckets(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    // Optional pagination: max-buckets, continuation-token (the last name
    // returned, base64url), prefix.
    let max = ctx.query_num::<usize>("max-buckets")?.map(|m| m.clamp(1, 10_000));
    let prefix = ctx.query.get("prefix").map(str::to_owned);
    let after = match ctx.query.get("continuation-token") {
        None => None,
        Some(t) => Some(crate::list::token_decode(t)?),
    };
    // The operator sees every bucket; a project user its project's: a seek
    // on the store's (project, name) index, one page at a time.
    let mut q = coffer_meta::BucketQuery {
        project: ctx.principal.project().map(str::to_owned),
        prefix: prefix.clone().unwrap_or_default(),
        after,
        limit: max.map_or(PAGE, |m| m + 1),
    };
    let mut buckets = Vec::new();
    loop {
        let page = s.engine.list_buckets(&q).await.map_err(from_engine)?;
        let full = page.len() == q.limit;
        buckets.extend(page);
        match buckets.last() {
            // Without max-buckets, every bucket is answered.
            Some(last) if full && max.is_none() => q.after = Some(last.name.clone()),
            _ => break,
        }
    }
    let truncated = max.is_some_and(|m| buckets.len() > m);
    if let Some(m) = max {
        buckets.truncate(m);
    }
    let continuation_token = if truncated { buckets.last().map(|b| crate::list::token_encode(&b.name)) } else { None };
    let doc = ListAllMyBucketsResult {
        xmlns: NS,
        owner: owner(ctx),
        buckets: Buckets {
            bucket: buckets
                .into_iter()
                .map(|b| BucketEntry { name: b.name, creation_date: iso8601_millis(b.created) })
                .collect(),
        },
        continuation_token,
        prefix,
    };
    Ok(respond::xml(xml::render(&doc)?))
}

pub(crate) async fn create(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, 64 * 1024).await?;
    let acl = crate::acl::requested(&ctx.headers)?;
    // Object Ownership: BucketOwnerEnforced unless asked otherwise (S3's
    // default since 2023); a public ACL with it is refused before anything is made.
    let chosen = match ctx.header("x-amz-object-ownership") {
        Some(v) => Some(coffer_s3_proto::ownership::setting(v)?),
        None => None,
    };
    let ownership = s.engine.ownership_of_new(chosen);
    if !ownership.acls_enabled() && acl.is_some_and(coffer_engine::is_public_acl) {
        // For a bucket that exists the ACL is a re-creation's (see below).
        match s.engine.head_bucket(ctx.bucket()).await {
            Err(EngineError::NoSuchBucket) => return Err(S3ErrorCode::InvalidBucketAclWithObjectOwnership.into()),
            Err(e) => return Err(from_engine(e)),
            Ok(_) => {}
        }
    }
    let location = if doc.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        xml::parse::<CreateBucketConfiguration>(&doc)?.location_constraint
    };
    let new = NewBucket {
        name: ctx.bucket(),
        location: location.as_deref(),
        region: &ctx.region,
        project: acting_project(ctx),
        ownership: chosen,
        object_lock: lock_requested(ctx)?,
    };
    // A public ACL where the project blocks them: refused before the bucket is made.
    if acl.is_some_and(coffer_engine::is_public_acl)
        && s.engine.project_public_access_block(acting_project(ctx)).await.map_err(from_engine)?.block_public_acls
    {
        return Err(from_engine(EngineError::PublicAccessBlocked("public ACLs are blocked (BlockPublicAcls)")));
    }
    match s.engine.create_bucket(new).await {
        Ok(()) => {
            // Only this project could have deleted the bucket made just now.
            if let Some(a) = acl {
                s.engine.set_bucket_acl(ctx.bucket(), None, a).await.map_err(from_engine)?;
            }
        }
        Err(EngineError::BucketAlreadyExists) => {
            let existing = s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
            if existing.project != acting_project(ctx) {
                return Err(S3ErrorCode::BucketAlreadyExists.into());
            }
            // In us-east-1, S3 answers 200 to re-creating a bucket you own
            // and resets its ACL (to the one given, or private); elsewhere 409
            // BucketAlreadyOwnedByYou. Changing the ACL needs s3:PutBucketAcl
            // on the bucket: s3:CreateBucket alone must not publish a bucket.
            // A key of another region never reaches the bucket: 409 as well.
            if existing.region != "us-east-1" || existing.region != ctx.region {
                return Err(S3ErrorCode::BucketAlreadyOwnedByYou.into());
            }
            // Its ownership is changed with PutBucketOwnershipControls, not
            // by making it again: refused rather than ignored.
            if ctx.headers.contains_key("x-amz-object-ownership") {
                return Err(S3ErrorCode::BucketAlreadyOwnedByYou.into());
            }
            let wanted = acl.unwrap_or_default();
            if s.engine.bucket_acl(ctx.bucket()).await.map_err(from_engine)? != wanted {
                crate::authz::check_extra(s, ctx, Operation::PutBucketAcl, ctx.bucket(), None).await?;
                s.engine.set_bucket_acl(ctx.bucket(), Some(&existing.stamp()), wanted).await.map_err(from_engine)?;
            }
        }
        Err(e) => return Err(from_engine(e)),
    }
    let mut r = respond::status(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&format!("/{}", ctx.bucket())) {
        r.headers_mut().insert("location", v);
    }
    Ok(r)
}

pub(crate) async fn head(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let b = match &ctx.bucket_info {
        Some(b) => b.clone(),
        None => s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?,
    };
    let mut r = respond::status(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&b.region) {
        r.headers_mut().insert("x-amz-bucket-region", v);
    }
    Ok(r)
}

pub(crate) async fn delete(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    s.engine.delete_bucket(ctx.bucket()).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

pub(crate) async fn location(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let b = s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
    // us-east-1 is reported as an empty constraint, as S3 does.
    let region = if b.region == "us-east-1" { String::new() } else { b.region };
    Ok(respond::xml(xml::render(&LocationConstraint { xmlns: NS, region })?))
}

/// GET of a bucket configuration the bucket does not have (see `s3-proto/probes.rs`).
pub(crate) async fn probe(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
    let sub = ctx.op.and_then(Operation::probed).unwrap_or_default();
    Ok(respond::xml(coffer_s3_proto::probes::bucket_probe(sub)?))
}

/// GetBucketPolicyStatus: public when the bucket policy grants to everyone
/// without pinning the requester (`Policy::is_public`); a bucket without a
/// policy is not public.
pub(crate) async fn policy_status(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
    let public = crate::authz::bucket_policy(s, ctx.bucket()).await?.is_some_and(|p| p.is_public());
    Ok(respond::xml(coffer_s3_proto::probes::policy_status(public)))
}

/// `x-amz-bucket-object-lock-enabled`: `true` makes the bucket with object
/// lock (and versioning) on; `false` or absent, without.
pub(crate) fn lock_requested(ctx: &Ctx) -> Result<bool, S3Error> {
    match ctx.header("x-amz-bucket-object-lock-enabled").map(str::trim) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "x-amz-bucket-object-lock-enabled must be true or false",
        )),
    }
}
