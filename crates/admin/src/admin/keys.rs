//! Access keys: created (the only answer with the secret), listed, read,
//! activated or deactivated, deleted. A project root sees only its own
//! project's keys: any other key is `404 NoSuchKey`, so key ids of other
//! projects cannot be probed. Operator keys are managed with the server's
//! configuration, not through this API.

use super::errors::{ApiError, Code};
use super::json::{CreatedKeyJson, KeyJson};
use super::{Caller, Ctx, Reply};
use coffer_iam::NewKey;
use coffer_meta::{AccessKeyRecord, OPERATOR_PROJECT};

pub(crate) async fn create(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    let (body, expires) = super::bodies::new_key(&ctx.req.body)?;
    let req = NewKey { project: project.to_owned(), user: body.user, region: body.region, expires };
    let created = ctx.svc.iam().create_key(&req).await?;
    let k = &created.record;
    Reply::json(
        201,
        &CreatedKeyJson {
            access_key: k.access_key.clone(),
            secret_key: created.secret.clone(),
            project: k.project.clone(),
            user: k.user.clone(),
            region: k.region.clone(),
            status: k.status.as_str(),
            created: crate::timefmt::rfc3339(k.created),
            expires: k.expires.map(crate::timefmt::rfc3339),
        },
    )
}

/// The project's keys, or one user's (`?user=`); never a secret.
pub(crate) async fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    let user = ctx.query("user")?;
    let keys = ctx.svc.iam().list_keys(project, user.as_deref()).await?;
    Reply::ok(&keys.iter().map(KeyJson::from).collect::<Vec<_>>())
}

/// The key named in the path, if the caller may see it.
async fn visible_key(ctx: &Ctx<'_>) -> Result<AccessKeyRecord, ApiError> {
    let id = ctx.param("access_key");
    let k = ctx.svc.iam().key(id).await?;
    match &ctx.caller {
        Caller::Root(own) if &k.project != own => {
            Err(ApiError::new(Code::NoSuchKey, format!("access key {id} does not exist")))
        }
        _ => Ok(k),
    }
}

/// Refuses changes to the operator's own keys.
fn not_operator_key(k: &AccessKeyRecord) -> Result<(), ApiError> {
    if k.project == OPERATOR_PROJECT {
        return Err(ApiError::denied("Operator keys are managed with the server's configuration."));
    }
    Ok(())
}

pub(crate) async fn get(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let k = visible_key(ctx).await?;
    Reply::ok(&KeyJson::from(&k))
}

/// Sets the status (`Active` or `Inactive`); effective from the next request.
pub(crate) async fn update(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let status = super::bodies::key_status(&ctx.req.body)?;
    let k = visible_key(ctx).await?;
    not_operator_key(&k)?;
    ctx.svc.iam().set_key_status(&k.access_key, status).await?;
    let k = ctx.svc.iam().key(&k.access_key).await?;
    Reply::ok(&KeyJson::from(&k))
}

pub(crate) async fn delete(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let k = visible_key(ctx).await?;
    not_operator_key(&k)?;
    ctx.svc.iam().delete_key(&k.access_key).await?;
    Reply::no_content()
}
