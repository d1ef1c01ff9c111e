//! A project's users and their permissions. `PUT .../policy` replaces all
//! of a user's policies with one preset or one document (stored as the
//! inline policy `custom`); the root user's permissions are fixed.
//! `PUT .../password` sets or removes a console password.

use super::errors::{ApiError, Code};
use super::json::{NewUserBody, PasswordBody, PolicyBody, PolicyJson, UserJson};
use super::{Ctx, Reply};
use coffer_iam::Permissions;
use coffer_meta::DEFAULT_USER_PATH;
use coffer_policy::Preset;

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
    let body: PolicyBody = ctx.json()?;
    let perms = match (body.preset, body.document) {
        (Some(name), None) => Permissions::Preset(Preset::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
            ApiError::new(Code::UnknownPreset, format!("unknown preset {name:?}; known: {}", known.join(", ")))
        })?),
        (None, Some(serde_json::Value::String(text))) => Permissions::Document(text),
        (None, Some(doc @ serde_json::Value::Object(_))) => Permissions::Document(doc.to_string()),
        (None, Some(_)) => {
            return Err(ApiError::new(Code::MalformedPolicy, "document must be a JSON object or its text"));
        }
        _ => return Err(ApiError::new(Code::InvalidArgument, "give exactly one of \"preset\" and \"document\"")),
    };
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
    let shape =
        || ApiError::new(Code::MalformedJson, r#"the request body must be {"password": "..."} or {"password": null}"#);
    // An object first: serde would also take a struct from an array.
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&ctx.req.body).map_err(|_| shape())?;
    let body: PasswordBody = serde_json::from_value(object.into()).map_err(|_| shape())?;
    let password = body.password.ok_or_else(shape)?;
    ctx.svc.iam().project(project).await?;
    ctx.svc.iam().set_password(project, ctx.param("user"), password.as_deref()).await?;
    Reply::no_content()
}
