//! Quotas (set by the operator, read by the project root too), the project's
//! Block Public Access switches (set by either), buckets with
//! their stored totals, and hourly usage.

use super::errors::{ApiError, Code};
use super::json::{BucketJson, PublicAccessBlockJson, QuotaJson, UsageHourJson, UsageJson, UsageTotalsJson};
use super::{Caller, Ctx, Reply};
use crate::timefmt;
use coffer_meta::{BucketQuery, MetaError, QuotaScope, RequestCounts, UsageQuery};
use coffer_types::PublicAccessBlock;

pub(crate) async fn get_project_quota(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    ctx.svc.iam().project(project).await?;
    let q = ctx.svc.meta().get_quota(&QuotaScope::Project(project.to_owned())).await?;
    Reply::ok(&QuotaJson::from(q))
}

pub(crate) async fn put_project_quota(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    ctx.caller.operator_only()?;
    let project = ctx.param("project");
    let q: QuotaJson = ctx.json()?;
    ctx.svc.iam().project(project).await?;
    let scope = QuotaScope::Project(project.to_owned());
    ctx.svc.meta().set_quota(&scope, q.into()).await?;
    Reply::ok(&QuotaJson::from(ctx.svc.meta().get_quota(&scope).await?))
}

async fn project_switches(ctx: &Ctx<'_>, project: &str) -> Result<PublicAccessBlock, ApiError> {
    let stored = ctx.svc.meta().get_project_config(project, PublicAccessBlock::PROJECT_SETTING).await?;
    let stored = stored.unwrap_or_default();
    PublicAccessBlock::from_stored(&stored)
        .map_err(|e| ApiError::internal(&format!("stored public access block names {e:?}")))
}

/// The project's Block Public Access switches (what applies to every bucket
/// of it, with each bucket's own). Operator or the project's root.
pub(crate) async fn get_project_public_access_block(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    ctx.svc.iam().project(project).await?;
    Reply::ok(&PublicAccessBlockJson::from(project_switches(ctx, project).await?))
}

/// Sets them; the operator or the project's root (a customer makes sure
/// nothing in its project can be made public, whatever a key holder tries).
pub(crate) async fn put_project_public_access_block(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    let p: PublicAccessBlock = ctx.json::<PublicAccessBlockJson>()?.into();
    ctx.svc.iam().project(project).await?;
    let stored = p.any().then(|| p.to_stored());
    ctx.svc.meta().set_project_config(project, PublicAccessBlock::PROJECT_SETTING, stored).await?;
    Reply::ok(&PublicAccessBlockJson::from(project_switches(ctx, project).await?))
}

/// The bucket's quota; a project root reads its own buckets' only. Another
/// project's bucket is answered as if it did not exist: the refusal must
/// not name the project that owns it.
pub(crate) async fn get_bucket_quota(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = ctx.param("bucket");
    let b = ctx.svc.meta().get_bucket(name).await?.ok_or(MetaError::NoSuchBucket)?;
    if ctx.caller.project(&b.project).is_err() {
        return Err(MetaError::NoSuchBucket.into());
    }
    let q = ctx.svc.meta().get_quota(&QuotaScope::Bucket(b.name)).await?;
    Reply::ok(&QuotaJson::from(q))
}

pub(crate) async fn put_bucket_quota(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    ctx.caller.operator_only()?;
    let q: QuotaJson = ctx.json()?;
    let scope = QuotaScope::Bucket(ctx.param("bucket").to_owned());
    ctx.svc.meta().set_quota(&scope, q.into()).await?;
    Reply::ok(&QuotaJson::from(ctx.svc.meta().get_quota(&scope).await?))
}

/// Most buckets one `?limit=` page may ask for.
const MAX_LIMIT: usize = 1000;

/// Buckets with what they store, by name (`?project=` filters, a seek on
/// the store's (project, name) index); a project root sees its own only.
/// `?after=` (a name) and `?limit=` (1 to 1000) give one page; without a
/// limit every bucket is answered, read a page at a time.
pub(crate) async fn list_buckets(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let mut project = ctx.query("project")?;
    if let Caller::Root(own) = &ctx.caller {
        match &project {
            Some(p) => ctx.caller.project(p)?,
            None => project = Some(own.clone()),
        }
    }
    let limit = match ctx.query("limit")? {
        None => None,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
            _ => {
                return Err(ApiError::new(
                    Code::InvalidArgument,
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                ))
            }
        },
    };
    let meta = ctx.svc.meta();
    let mut q =
        BucketQuery { project, after: ctx.query("after")?, limit: limit.unwrap_or(MAX_LIMIT), ..Default::default() };
    let mut listed = Vec::new();
    loop {
        let page = meta.list_buckets(&q).await?;
        let full = page.len() == q.limit;
        listed.extend(page);
        match listed.last() {
            Some(last) if full && limit.is_none() => q.after = Some(last.name.clone()),
            _ => break,
        }
    }
    let mut out = Vec::new();
    for b in listed {
        let totals = match meta.bucket_totals(&b.name).await {
            Ok(t) => t,
            // Deleted since it was listed.
            Err(MetaError::NoSuchBucket) => continue,
            Err(e) => return Err(e.into()),
        };
        out.push(BucketJson {
            created: timefmt::rfc3339(b.created),
            name: b.name,
            project: b.project,
            region: b.region,
            bytes: totals.bytes,
            objects: totals.objects,
        });
    }
    Reply::ok(&out)
}

/// A time query parameter (RFC 3339 or `YYYY-MM-DD`), as Unix seconds.
fn time_param(ctx: &Ctx<'_>, name: &str) -> Result<Option<i64>, ApiError> {
    match ctx.query(name)? {
        None => Ok(None),
        Some(v) => timefmt::parse(&v).map(|ms| Some(ms.div_euclid(1000))).ok_or_else(|| {
            ApiError::new(Code::InvalidArgument, format!("{name} {v:?} must be an RFC 3339 time or YYYY-MM-DD"))
        }),
    }
}

/// Hourly usage of a project (or one of its buckets) over `[from, to)`;
/// `from` is rounded down to its hour and defaults to 24 hours ago, `to`
/// defaults to now.
pub(crate) async fn usage(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    ctx.svc.iam().project(project).await?;
    let now = coffer_types::now_millis().div_euclid(1000);
    let from = time_param(ctx, "from")?.unwrap_or(now - 24 * 3600).div_euclid(3600) * 3600;
    let to = time_param(ctx, "to")?.unwrap_or(now);
    if from >= to {
        return Err(ApiError::new(Code::InvalidArgument, "from must be before to"));
    }
    let bucket = ctx.query("bucket")?.filter(|b| !b.is_empty());
    let query = UsageQuery { project: project.to_owned(), bucket: bucket.clone(), from, to };
    let records = ctx.svc.meta().usage(&query).await?;
    let mut requests = RequestCounts::default();
    let (mut byte_hours, mut bytes_in, mut bytes_out) = (0.0, 0u64, 0u64);
    let mut hours = Vec::with_capacity(records.len());
    for r in records {
        requests.add(&r.requests);
        byte_hours += r.byte_hours;
        bytes_in = bytes_in.saturating_add(r.bytes_in);
        bytes_out = bytes_out.saturating_add(r.bytes_out);
        hours.push(UsageHourJson {
            hour: timefmt::rfc3339(r.hour.saturating_mul(1000)),
            bucket: r.bucket,
            byte_hours: r.byte_hours,
            bytes: r.bytes,
            objects: r.objects,
            requests: r.requests.into(),
            bytes_in: r.bytes_in,
            bytes_out: r.bytes_out,
        });
    }
    Reply::ok(&UsageJson {
        project: project.to_owned(),
        bucket,
        from: timefmt::rfc3339(from.saturating_mul(1000)),
        to: timefmt::rfc3339(to.saturating_mul(1000)),
        hours,
        totals: UsageTotalsJson { byte_hours, requests: requests.into(), bytes_in, bytes_out },
    })
}
