//! Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
//! GetBucketLocation.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_engine::EngineError;
use coffer_s3_proto::time_fmt::iso8601_millis;
use coffer_s3_proto::xml::{
    self, BucketEntry, Buckets, CreateBucketConfiguration, ListAllMyBucketsResult, LocationConstraint, Owner, NS,
};
use coffer_s3_proto::S3Error;
use http::{HeaderValue, Response, StatusCode};

pub(crate) fn owner(ctx: &Ctx) -> Owner {
    let id = ctx.access_key.clone().unwrap_or_default();
    Owner { id: id.clone(), display_name: id }
}

pub(crate) async fn list_buckets(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    // Optional pagination: max-buckets, continuation-token (the last name
    // returned, base64url), prefix.
    let max = ctx.query_num::<usize>("max-buckets")?.map(|m| m.clamp(1, 10_000));
    let prefix = ctx.query.get("prefix").map(str::to_owned);
    let after = match ctx.query.get("continuation-token") {
        None => None,
        Some(t) => Some(crate::list::token_decode(t)?),
    };
    let mut buckets: Vec<_> = s
        .engine
        .list_buckets()
        .await
        .map_err(from_engine)?
        .into_iter()
        .filter(|b| prefix.as_deref().is_none_or(|p| b.name.starts_with(p)))
        .filter(|b| after.as_deref().is_none_or(|a| b.name.as_str() > a))
        .collect();
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
    let location = if doc.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        xml::parse::<CreateBucketConfiguration>(&doc)?.location_constraint
    };
    match s.engine.create_bucket(ctx.bucket(), location.as_deref()).await {
        Ok(()) => {
            if let Some(a) = acl {
                s.engine.set_bucket_acl(ctx.bucket(), a).await.map_err(from_engine)?;
            }
        }
        // In us-east-1, S3 answers 200 to re-creating a bucket you own (and
        // leaves it untouched); elsewhere 409 BucketAlreadyOwnedByYou.
        Err(EngineError::BucketAlreadyExists) if s.engine.config().region == "us-east-1" => {}
        Err(e) => return Err(from_engine(e)),
    }
    let mut r = respond::status(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&format!("/{}", ctx.bucket())) {
        r.headers_mut().insert("location", v);
    }
    Ok(r)
}

pub(crate) async fn head(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let b = s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
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
pub(crate) async fn probe(s: &S3Service, ctx: &Ctx, sub: &str) -> Result<Response<ResBody>, S3Error> {
    s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
    Ok(respond::xml(coffer_s3_proto::probes::bucket_probe(sub)?))
}
