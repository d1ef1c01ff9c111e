//! `GET /regions` and the projects: list, create, read (with quota and
//! stored totals), delete.

use super::errors::ApiError;
use super::json::{NameBody, ProjectDetailJson, ProjectJson, QuotaJson, RegionJson, StoredJson};
use super::{Caller, Ctx, Reply};
use coffer_meta::QuotaScope;

/// The regions served, the default marked.
pub(crate) async fn regions(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let default = ctx.svc.default_region();
    let list: Vec<RegionJson> = ctx
        .svc
        .regions()
        .iter()
        .map(|r| RegionJson { name: r.name.clone(), hosts: r.hosts.clone(), default: Some(r.name.as_str()) == default })
        .collect();
    Reply::ok(&list)
}

/// Every project for the operator; its own for a project root.
pub(crate) async fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let projects = ctx.svc.iam().list_projects().await?;
    let list: Vec<ProjectJson> = projects
        .iter()
        .filter(|p| match &ctx.caller {
            Caller::Operator => true,
            Caller::Root(own) => &p.name == own,
        })
        .map(ProjectJson::from)
        .collect();
    Reply::ok(&list)
}

pub(crate) async fn create(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    ctx.caller.operator_only()?;
    let body: NameBody = ctx.json()?;
    let p = ctx.svc.iam().create_project(&body.name).await?;
    Reply::json(201, &ProjectJson::from(&p))
}

pub(crate) async fn get(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = ctx.param("project");
    ctx.caller.project(name)?;
    let p = ctx.svc.iam().project(name).await?;
    let meta = ctx.svc.meta();
    let quota = meta.get_quota(&QuotaScope::Project(p.name.clone())).await?;
    let totals = meta.project_totals(&p.name).await?;
    let buckets = count_buckets(&**meta, &p.name).await?;
    Reply::ok(&ProjectDetailJson {
        name: p.name.clone(),
        created: crate::timefmt::rfc3339(p.created),
        quota: QuotaJson::from(quota),
        stored: StoredJson { bytes: totals.bytes, objects: totals.objects, buckets },
    })
}

/// Deletes a project with its users and keys; `409 ProjectNotEmpty` while it owns buckets.
pub(crate) async fn delete(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    ctx.caller.operator_only()?;
    ctx.svc.iam().delete_project(ctx.param("project")).await?;
    Reply::no_content()
}

/// How many buckets `project` owns, counted a page at a time on the store's
/// (project, name) index.
async fn count_buckets(meta: &dyn coffer_meta::MetaStore, project: &str) -> Result<u64, ApiError> {
    const PAGE: usize = 1000;
    let mut q = coffer_meta::BucketQuery::project(project, PAGE);
    let mut n = 0u64;
    loop {
        let page = meta.list_buckets(&q).await?;
        n += page.len() as u64;
        match page.last() {
            Some(last) if page.len() == PAGE => q.after = Some(last.name.clone()),
            _ => return Ok(n),
        }
    }
}
