//! Changes to one user of the viewer's project: its console password (set
//! or remove) and its deletion (with its S3 keys, after a confirmation).
//!
//! Setting a password ends the user's console sessions (they carry a
//! fingerprint of the password hash); when viewers change their own, their
//! session cookie is renewed so they stay signed in. Nobody removes their
//! own password or deletes themselves here, and the root user is deleted
//! only with its project.

use crate::session::{fingerprint, set_cookie, Viewer};
use crate::users::{self, check_new_password, find, missing, operator_refused, query_value};
use crate::users_gate::{self as gate, Gate, Need};
use crate::web::{self, chrome, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_iam::{IamError, MIN_PASSWORD_CHARS};
use coffer_meta::UserRecord;
use coffer_policy::Preset;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

#[derive(Template)]
#[template(path = "user_password.html")]
struct PasswordPage {
    chrome: Chrome,
    csrf: String,
    name: String,
    has_password: bool,
    me: bool,
    can_set: bool,
    can_remove: bool,
    min_password: usize,
    password_error: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "user_delete.html")]
struct DeletePage {
    chrome: Chrome,
    csrf: String,
    name: String,
    path: String,
    keys: usize,
    has_password: bool,
    perms: Vec<String>,
    /// Why this user cannot be deleted by the viewer (no button then).
    blocked: Option<String>,
    error: Option<String>,
}

/// Any of these opens the password page.
const PASSWORD_ACTIONS: [&str; 3] =
    [gate::CREATE_LOGIN_PROFILE, gate::UPDATE_LOGIN_PROFILE, gate::DELETE_LOGIN_PROFILE];

/// The action that sets `u`'s password: IAM's CreateLoginProfile when it has
/// none, UpdateLoginProfile when it has one.
fn set_action(u: &UserRecord) -> &'static str {
    if u.password_hash.is_some() {
        gate::UPDATE_LOGIN_PROFILE
    } else {
        gate::CREATE_LOGIN_PROFILE
    }
}

/// What went wrong with a password change: the field, or the change itself.
enum Problem {
    Field(String),
    Change(String),
}

fn render_password(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    g: &Gate<'_>,
    u: &UserRecord,
    status: StatusCode,
    problem: Option<Problem>,
) -> Response<Full<Bytes>> {
    let (password_error, error) = match problem {
        None => (None, None),
        Some(Problem::Field(e)) => (Some(e), None),
        Some(Problem::Change(e)) => (None, Some(e)),
    };
    let has_password = u.password_hash.is_some();
    let t = PasswordPage {
        chrome: chrome(inner, cx, v, "Console password"),
        csrf: v.session.csrf.clone(),
        name: u.name.clone(),
        has_password,
        me: g.is_me(u),
        can_set: g.allows_on(set_action(u), u, None),
        can_remove: has_password && !g.is_me(u) && g.allows_on(gate::DELETE_LOGIN_PROFILE, u, None),
        min_password: MIN_PASSWORD_CHARS,
        password_error,
        error,
    };
    web::page(status, &t, &cx.nonce)
}

/// `GET /users/{name}/password`: the set and remove forms.
pub(crate) async fn password_page(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let g = Gate::new(inner, cx, v).ok_or_else(operator_refused)?;
    let u = find(inner, &g, name, &PASSWORD_ACTIONS).await?;
    Ok(render_password(inner, cx, v, &g, &u, StatusCode::OK, None))
}

/// The session cookie of the viewer, renewed for its new password hash.
async fn renewed_cookie(inner: &Inner, v: &Viewer, u: &UserRecord) -> Result<HeaderValue, PageError> {
    let rec = inner.iam.user(&u.project, &u.name).await.map_err(PageError::internal)?;
    let hash = rec.password_hash.ok_or_else(|| PageError::internal("the new password hash was not stored"))?;
    let mut s = v.session.clone();
    s.fp = fingerprint(&hash);
    let sealed = s.seal(&inner.iam).map_err(PageError::internal)?;
    let left = std::time::Duration::from_millis((s.exp - coffer_types::now_millis()).max(0) as u64);
    Ok(set_cookie(&sealed, left, inner.cfg.secure_cookies))
}

/// `POST /users/{name}/password` with `password` and `password_confirm`.
pub(crate) async fn set_password(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let g = Gate::new(inner, cx, v).ok_or_else(operator_refused)?;
    let u = find(inner, &g, name, &[gate::CREATE_LOGIN_PROFILE, gate::UPDATE_LOGIN_PROFILE]).await?;
    let fail = |status, problem| render_password(inner, cx, v, &g, &u, status, Some(problem));
    if let Some(d) = g.first_denied_on(&u, &[(set_action(&u), None)]) {
        return Ok(fail(StatusCode::FORBIDDEN, Problem::Change(format!("{} Nothing was changed.", d.message()))));
    }
    let password = cx.form.get("password").unwrap_or("");
    if let Err(e) = check_new_password(password, cx.form.get("password_confirm").unwrap_or("")) {
        return Ok(fail(StatusCode::BAD_REQUEST, Problem::Field(e)));
    }
    match inner.iam.set_password(g.project(), &u.name, Some(password)).await {
        Ok(()) => {}
        Err(IamError::WeakPassword(e)) => return Ok(fail(StatusCode::BAD_REQUEST, Problem::Field(format!("{e}.")))),
        Err(IamError::NoSuchUser(_)) => return Err(missing(name)),
        Err(e) => return Err(PageError::internal(e)),
    }
    tracing::info!(project = %u.project, user = %u.name, by = %v.display(), "console set user password");
    let location = format!("/users?password={}", query_value(&u.name));
    let cookie = if g.is_me(&u) { Some(renewed_cookie(inner, v, &u).await?) } else { None };
    Ok(web::redirect(&location, cookie, &cx.nonce))
}

/// `POST /users/{name}/password/remove`.
pub(crate) async fn remove_password(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let g = Gate::new(inner, cx, v).ok_or_else(operator_refused)?;
    let u = find(inner, &g, name, &[gate::DELETE_LOGIN_PROFILE]).await?;
    if g.is_me(&u) {
        let msg = if u.root {
            "The root user's console password can be changed but not removed: without it nobody could sign in \
             to this project's console."
        } else {
            "You cannot remove your own console password: you would be signed out with no way back in. \
             Ask the project's root user."
        };
        let problem = Some(Problem::Change(msg.into()));
        return Ok(render_password(inner, cx, v, &g, &u, StatusCode::BAD_REQUEST, problem));
    }
    match inner.iam.set_password(g.project(), &u.name, None).await {
        Ok(()) | Err(IamError::NoSuchUser(_)) => {}
        Err(e) => return Err(PageError::internal(e)),
    }
    tracing::info!(project = %u.project, user = %u.name, by = %v.display(), "console removed user password");
    Ok(web::redirect(&format!("/users?nopassword={}", query_value(&u.name)), None, &cx.nonce))
}

/// What deleting `u` takes, as the AWS console does it: its keys, login
/// profile and policies go first, each with its own action, then the user.
fn delete_needs(u: &UserRecord, keys: usize) -> Vec<Need> {
    let mut needs: Vec<Need> = vec![(gate::DELETE_USER, None)];
    if keys > 0 {
        needs.push((gate::DELETE_ACCESS_KEY, None));
    }
    if u.password_hash.is_some() {
        needs.push((gate::DELETE_LOGIN_PROFILE, None));
    }
    needs.extend(
        u.attached.iter().filter_map(|n| Preset::from_name(n)).map(|p| (gate::DETACH_USER_POLICY, Some(p.arn()))),
    );
    if !u.inline_policies.is_empty() {
        needs.push((gate::DELETE_USER_POLICY, None));
    }
    needs
}

/// `u`'s key count, and why the viewer may not delete it (if so).
async fn check_delete(inner: &Inner, g: &Gate<'_>, u: &UserRecord) -> Result<(usize, Option<String>), PageError> {
    let keys = inner.iam.list_keys(g.project(), Some(&u.name)).await.map_err(PageError::internal)?.len();
    let blocked = if u.root {
        Some("The root user cannot be deleted: it is deleted with its project.".to_owned())
    } else if g.is_me(u) {
        Some("You cannot delete the user you are signed in as. Ask the project's root user.".to_owned())
    } else {
        g.first_denied_on(u, &delete_needs(u, keys)).map(|d| {
            format!(
                "{} Deleting a user also deletes its S3 keys, console password and policies, and each of \
                 these needs its own permission.",
                d.message()
            )
        })
    };
    Ok((keys, blocked))
}

/// The confirmation page; the tuple is what [`check_delete`] found.
fn render_delete(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    u: &UserRecord,
    (keys, blocked): (usize, Option<String>),
    status: StatusCode,
    error: Option<String>,
) -> Response<Full<Bytes>> {
    let t = DeletePage {
        chrome: chrome(inner, cx, v, "Delete user"),
        csrf: v.session.csrf.clone(),
        name: u.name.clone(),
        path: u.path.clone(),
        keys,
        has_password: u.password_hash.is_some(),
        perms: users::permissions_summary(u),
        blocked,
        error,
    };
    web::page(status, &t, &cx.nonce)
}

/// `GET /users/{name}/delete`: the confirmation, saying what goes with the user.
pub(crate) async fn confirm_delete(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let g = Gate::new(inner, cx, v).ok_or_else(operator_refused)?;
    let u = find(inner, &g, name, &[gate::DELETE_USER]).await?;
    let check = check_delete(inner, &g, &u).await?;
    let status = if check.1.is_some() { StatusCode::FORBIDDEN } else { StatusCode::OK };
    Ok(render_delete(inner, cx, v, &u, check, status, None))
}

/// `POST /users/{name}/delete` with `confirm={name}`: the user and its keys.
pub(crate) async fn delete(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let g = Gate::new(inner, cx, v).ok_or_else(operator_refused)?;
    let u = find(inner, &g, name, &[gate::DELETE_USER]).await?;
    let (keys, blocked) = check_delete(inner, &g, &u).await?;
    if blocked.is_some() {
        return Ok(render_delete(inner, cx, v, &u, (keys, blocked), StatusCode::FORBIDDEN, None));
    }
    if cx.form.get("confirm") != Some(u.name.as_str()) {
        let msg = "The deletion was not confirmed. Use the button below to delete the user.".to_owned();
        return Ok(render_delete(inner, cx, v, &u, (keys, None), StatusCode::BAD_REQUEST, Some(msg)));
    }
    match inner.iam.delete_user(g.project(), &u.name, true).await {
        Ok(()) => {}
        Err(IamError::NoSuchUser(_)) => return Err(missing(name)),
        Err(e @ IamError::RootUser(_)) => {
            let msg = format!("The user was not deleted: {e}.");
            return Ok(render_delete(inner, cx, v, &u, (keys, None), StatusCode::FORBIDDEN, Some(msg)));
        }
        Err(e) => return Err(PageError::internal(e)),
    }
    tracing::info!(project = %u.project, user = %u.name, keys, by = %v.display(), "console deleted user");
    Ok(web::redirect(&format!("/users?deleted={}", query_value(&u.name)), None, &cx.nonce))
}
