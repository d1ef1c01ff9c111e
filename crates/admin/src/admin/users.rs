//! A project's users and their permissions. `PUT .../policy` replaces all
//! of a user's policies with one preset or one document (stored as the
//! inline policy `custom`); the root user's permissions are fixed.
//! `PUT .../password` sets or removes a console password.

use super::errors::ApiError;
use super::json::{NewUserBody, PolicyJson, UserJson};
use super::{Ctx, Reply};
use coffer_meta::DEFAULT_USER_PATH;

pub(crate) async fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    let users = ctx.svc.iam().list_users(project).await?;
    Reply::ok(&users.iter().map(UserJson::from).collect::<Vec<_>>())
}

pub(crate) async fn create(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    let body: NewUserBody = ctx.json()?;
    let path = body.path.as_deref().unwrap_or(DEFAULT_USER_PATH);
    let u = ctx.svc.iam().create_user_with_path(project, &body.name, path).await?;
    Reply::json(201, &UserJson::from(&u))
}

pub(crate) async fn get(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    ctx.svc.iam().project(project).await?;
    let u = ctx.svc.iam().user(project, ctx.param("user")).await?;
    Reply::ok(&UserJson::from(&u))
}

/// Deletes the user with its keys and policies.
pub(crate) async fn delete(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    ctx.svc.iam().project(project).await?;
    ctx.svc.iam().delete_user(project, ctx.param("user"), true).await?;
    Reply::no_content()
}

pub(crate) async fn get_policy(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    ctx.svc.iam().project(project).await?;
    let u = ctx.svc.iam().user(project, ctx.param("user")).await?;
    Reply::ok(&PolicyJson::from(&u))
}

pub(crate) async fn put_policy(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    let user = ctx.param("user");
    ctx.caller.project(project)?;
    let perms = super::bodies::permissions(&ctx.req.body)?;
    ctx.svc.iam().project(project).await?;
    ctx.svc.iam().set_permissions(project, user, &perms).await?;
    let u = ctx.svc.iam().user(project, user).await?;
    Reply::ok(&PolicyJson::from(&u))
}

/// Sets (`{"password": "..."}`) or removes (`{"password": null}`) the user's
/// console password. The password is never logged nor echoed: a body that
/// does not parse gets a fixed message, not the parser's.
pub(crate) async fn put_password(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let project = ctx.param("project");
    ctx.caller.project(project)?;
    let password = super::bodies::password(&ctx.req.body)?;
    ctx.svc.iam().project(project).await?;
    ctx.svc.iam().set_password(project, ctx.param("user"), password.as_deref()).await?;
    Reply::no_content()
}
