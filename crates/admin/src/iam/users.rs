//! CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser.
//!
//! Users have an IAM path (`/` unless given) that shows in their ARN,
//! `arn:aws:iam::{project}:user{path}{name}`, and selects them in ListUsers
//! (`PathPrefix`, a plain string prefix). UpdateUser renames and/or moves a
//! user; its id, policies and access keys stay with it. The root user is not
//! an IAM user: ListUsers leaves it out, UpdateUser refuses it, and GetUser
//! on it (or GetUser by the root user without `UserName`) answers with the
//! root ARN `arn:aws:iam::{project}:root`, as AWS does for an account's root.

use super::errors::{ApiError, Code};
use super::form::page;
use super::xml::Xml;
use super::Call;
use crate::timefmt::iso_seconds;
use coffer_iam::names::{self, ROOT_USER};
use coffer_iam::user_arn;
use coffer_meta::{UserRecord, DEFAULT_USER_PATH};

/// `<User>` (or `<member>`) with the user's fields.
fn write_user(x: &mut Xml, call: &Call<'_>, tag: &str, u: &UserRecord) {
    x.open(tag);
    if u.root {
        x.elem("UserId", call.project());
    } else {
        x.elem("Path", &u.path);
    }
    x.elem("UserName", &u.name).elem("Arn", &call.user_arn(u));
    if !u.root {
        x.elem("UserId", &u.id);
    }
    x.elem("CreateDate", &iso_seconds(u.created)).close(tag);
}

/// An optional parameter; empty counts as absent.
fn optional<'a>(call: &'a Call<'_>, param: &str) -> Option<&'a str> {
    call.form.get(param).filter(|v| !v.is_empty())
}

pub(crate) async fn create(call: &Call<'_>) -> Result<String, ApiError> {
    let name = call.form.required("UserName")?;
    let path = optional(call, "Path").unwrap_or(DEFAULT_USER_PATH);
    names::check_path(path)?;
    call.authorize(&user_arn(call.project(), path, name), &[])?;
    let u = call.svc.iam().create_user_with_path(call.project(), name, path).await?;
    let mut x = Xml::new();
    write_user(&mut x, call, "User", &u);
    Ok(x.finish())
}

pub(crate) async fn get(call: &Call<'_>) -> Result<String, ApiError> {
    let name = call.target_user();
    call.authorize_user(name).await?;
    let u = call.svc.iam().user(call.project(), name).await?;
    let mut x = Xml::new();
    write_user(&mut x, call, "User", &u);
    Ok(x.finish())
}

/// Users whose path starts with `PathPrefix` (default `/`), ordered by
/// name regardless of case, as IAM lists them.
pub(crate) async fn list(call: &Call<'_>) -> Result<String, ApiError> {
    let prefix = optional(call, "PathPrefix").unwrap_or(DEFAULT_USER_PATH);
    names::check_path_prefix(prefix)?;
    call.authorize(&format!("arn:aws:iam::{}:user{prefix}*", call.project()), &[])?;
    let (max, marker) = call.form.paging()?;
    let users: Vec<UserRecord> = call
        .svc
        .iam()
        .list_users(call.project())
        .await?
        .into_iter()
        .filter(|u| !u.root && u.path.starts_with(prefix))
        .collect();
    let (users, next) = page(users, |u| u.name.to_ascii_lowercase(), max, marker);
    let mut x = Xml::new();
    x.open("Users");
    for u in &users {
        write_user(&mut x, call, "member", u);
    }
    x.close("Users").paging(next.as_deref());
    Ok(x.finish())
}

/// Renames (`NewUserName`) and/or moves (`NewPath`) a user. As on AWS, an
/// IAM user needs `iam:UpdateUser` on the user's ARN and on its new one.
pub(crate) async fn update(call: &Call<'_>) -> Result<(), ApiError> {
    let name = call.form.required("UserName")?;
    let new_name = optional(call, "NewUserName");
    let new_path = optional(call, "NewPath");
    call.authorize_user(name).await?;
    if !call.caller.root && (new_name.is_some() || new_path.is_some()) {
        let u = call.svc.iam().user(call.project(), name).await?;
        let path = new_path.unwrap_or(&u.path);
        call.authorize(&user_arn(call.project(), path, new_name.unwrap_or(&u.name)), &[])?;
    }
    call.svc.iam().update_user(call.project(), name, new_name, new_path).await?;
    Ok(())
}

pub(crate) async fn delete(call: &Call<'_>) -> Result<(), ApiError> {
    let name = call.form.required("UserName")?;
    call.authorize_user(name).await?;
    if name == ROOT_USER {
        return Err(ApiError::new(Code::DeleteConflict, "The root user is deleted with its project."));
    }
    Ok(call.svc.iam().delete_user(call.project(), name, false).await?)
}
