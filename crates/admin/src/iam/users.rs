//! CreateUser, GetUser, ListUsers, DeleteUser.
//!
//! Every user's path is `/` (paths are not stored). The root user is not an
//! IAM user: ListUsers leaves it out, and GetUser on it (or GetUser by the
//! root user without `UserName`) answers with the root ARN
//! `arn:aws:iam::{project}:root`, as AWS does for an account's root.

use super::errors::{ApiError, Code};
use super::form::page;
use super::xml::Xml;
use super::Call;
use crate::timefmt::iso_seconds;
use coffer_iam::names::ROOT_USER;
use coffer_meta::UserRecord;
use sha2::{Digest, Sha256};

/// A stable id for a user: `AIDA` + 17 characters derived from its project,
/// name and creation time (a user re-created under the same name gets a new id).
pub(crate) fn user_id(u: &UserRecord) -> String {
    derived_id("AIDA", &format!("{}/{}/{}", u.project, u.name, u.created))
}

/// `prefix` + 17 characters of `A-Z2-7` derived from `seed`.
pub(crate) fn derived_id(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(seed.as_bytes());
    let tail: String = digest.iter().take(17).map(|b| ALPHABET[usize::from(b % 32)] as char).collect();
    format!("{prefix}{tail}")
}

/// `<User>` (or `<member>`) with the user's fields.
fn write_user(x: &mut Xml, call: &Call<'_>, tag: &str, u: &UserRecord) {
    x.open(tag);
    if u.root {
        x.elem("UserId", call.project());
    } else {
        x.elem("Path", "/");
    }
    x.elem("UserName", &u.name).elem("Arn", &call.user_arn(&u.name));
    if !u.root {
        x.elem("UserId", &user_id(u));
    }
    x.elem("CreateDate", &iso_seconds(u.created)).close(tag);
}

/// `Path`, if given, must be `/`.
fn check_path(call: &Call<'_>, param: &str) -> Result<(), ApiError> {
    match call.form.get(param) {
        None | Some("/") | Some("") => Ok(()),
        Some(p) => {
            Err(ApiError::new(Code::InvalidInput, format!("{param} {p:?} is not supported: every user's path is /")))
        }
    }
}

pub(crate) async fn create(call: &Call<'_>) -> Result<String, ApiError> {
    let name = call.form.required("UserName")?;
    check_path(call, "Path")?;
    call.authorize_user(name)?;
    let u = call.svc.iam().create_user(call.project(), name).await?;
    let mut x = Xml::new();
    write_user(&mut x, call, "User", &u);
    Ok(x.finish())
}

pub(crate) async fn get(call: &Call<'_>) -> Result<String, ApiError> {
    let name = call.target_user();
    call.authorize_user(name)?;
    let u = call.svc.iam().user(call.project(), name).await?;
    let mut x = Xml::new();
    write_user(&mut x, call, "User", &u);
    Ok(x.finish())
}

pub(crate) async fn list(call: &Call<'_>) -> Result<String, ApiError> {
    call.authorize(&format!("arn:aws:iam::{}:user/*", call.project()), &[])?;
    let (max, marker) = call.form.paging()?;
    let prefix = call.form.get("PathPrefix").unwrap_or("/");
    let users: Vec<UserRecord> = call
        .svc
        .iam()
        .list_users(call.project())
        .await?
        .into_iter()
        .filter(|u| !u.root && "/".starts_with(prefix))
        .collect();
    let (users, next) = page(users, |u| u.name.clone(), max, marker);
    let mut x = Xml::new();
    x.open("Users");
    for u in &users {
        write_user(&mut x, call, "member", u);
    }
    x.close("Users").paging(next.as_deref());
    Ok(x.finish())
}

pub(crate) async fn delete(call: &Call<'_>) -> Result<(), ApiError> {
    let name = call.form.required("UserName")?;
    call.authorize_user(name)?;
    if name == ROOT_USER {
        return Err(ApiError::new(Code::DeleteConflict, "The root user is deleted with its project."));
    }
    Ok(call.svc.iam().delete_user(call.project(), name, false).await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn derived_ids_look_like_aws_ids() {
        let a = super::derived_id("AIDA", "p/alice/1");
        assert_eq!(a.len(), 21);
        assert!(a.starts_with("AIDA") && a.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(a, super::derived_id("AIDA", "p/alice/1"));
        assert_ne!(a, super::derived_id("AIDA", "p/alice/2"));
    }
}
