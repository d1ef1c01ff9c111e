//! Users of the viewer's project: the list (path, permissions, console
//! password, S3 keys) and the create form (a preset or a policy document,
//! and an optional console password). `users_edit.rs` sets and removes
//! passwords and deletes users.
//!
//! Every change is authorized as the IAM API authorizes it
//! (`users_gate.rs`): the root user manages its project, an IAM user needs
//! the `iam:` actions the AWS console would call, and nobody but the root
//! user touches the root user. Users of other projects, and users that do
//! not exist, answer 404 alike (after the permission check, as IAM does).
//! The operator manages projects, not their users.

use crate::session::Viewer;
use crate::users_gate::{self as gate, Gate, Need};
use crate::web::{self, chrome, human_time, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_iam::names::{self, ROOT_USER};
use coffer_iam::{user_arn, IamError, Permissions, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use coffer_meta::{UserRecord, DEFAULT_USER_PATH};
use coffer_policy::{Policy, Preset};
use http::{Response, StatusCode};
use http_body_util::Full;
use std::collections::HashMap;

/// A permissions choice of the create form.
pub(crate) struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
}

const CHOICES: [Choice; 6] = [
    Choice { value: "full-access", label: "Full access", hint: "every S3 action on the project's buckets" },
    Choice { value: "read-only", label: "Read only", hint: "list buckets and objects, read objects" },
    Choice { value: "read-object-only", label: "Read objects only", hint: "read objects by name; no listing" },
    Choice { value: "write-only", label: "Write only", hint: "upload objects; no reads, listings or deletes" },
    Choice { value: "none", label: "No permissions", hint: "nothing until a policy is given" },
    Choice { value: "custom", label: "Custom policy document", hint: "an IAM identity policy (JSON), below" },
];

/// The choice selected when the form is first shown.
const DEFAULT_CHOICE: &str = "read-only";

/// How the console names a preset.
pub(crate) fn preset_label(p: Preset) -> &'static str {
    match p {
        Preset::FullAccess => "Full access",
        Preset::ReadOnly => "Read only",
        Preset::ReadObjectOnly => "Read objects only",
        Preset::WriteOnly => "Write only",
    }
}

/// A user's permissions in a few words: presets by name, inline policies
/// by their name.
pub(crate) fn permissions_summary(u: &UserRecord) -> Vec<String> {
    if u.root {
        return vec!["Full access to the project (root user)".into()];
    }
    let presets =
        u.attached.iter().map(|n| Preset::from_name(n).map_or_else(|| n.clone(), |p| preset_label(p).to_owned()));
    let inline = u.inline_policies.keys().map(|n| format!("Policy “{n}”"));
    let all: Vec<String> = presets.chain(inline).collect();
    if all.is_empty() {
        vec!["No permissions".into()]
    } else {
        all
    }
}

/// `Err` with what to fix, unless `password` is acceptable and confirmed.
pub(crate) fn check_new_password(password: &str, confirm: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!("Use at least {MIN_PASSWORD_CHARS} characters."));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(format!("Use at most {MAX_PASSWORD_CHARS} characters."));
    }
    if password != confirm {
        return Err("The two passwords do not match. Type the same password twice.".into());
    }
    Ok(())
}

pub(crate) fn operator_refused() -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "Users belong to projects",
        "Users belong to a project and are managed by its root user. As the operator, use the coffer CLI.",
    )
}

pub(crate) fn missing(name: &str) -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "No such user",
        format!("There is no user named {name:?} in your project. It may have been deleted."),
    )
}

fn forbidden(d: &gate::Denied) -> PageError {
    PageError::new(StatusCode::FORBIDDEN, "Not allowed", format!("{} Nothing was changed.", d.message()))
}

/// The user named in the path, if the viewer may perform one of `any_of`
/// on it: 403 if not, 404 if there is no such user in its project (a
/// missing user is checked at the path `/`, as the IAM API does).
pub(crate) async fn find(
    inner: &Inner,
    g: &Gate<'_>,
    name: &str,
    any_of: &[&'static str],
) -> Result<UserRecord, PageError> {
    if names::check_user(name).is_err() {
        return Err(missing(name));
    }
    let (allowed, resource) = match inner.iam.user(g.project(), name).await {
        Ok(u) => {
            let ok = any_of.iter().any(|a| g.allows_on(a, &u, None));
            if ok {
                return Ok(u);
            }
            (false, g.arn_of(&u))
        }
        Err(IamError::NoSuchUser(_)) => {
            let arn = user_arn(g.project(), DEFAULT_USER_PATH, name);
            (any_of.iter().any(|a| g.allows(a, &arn, None)), arn)
        }
        Err(e) => return Err(PageError::internal(e)),
    };
    if allowed {
        return Err(missing(name));
    }
    let action = any_of.first().copied().unwrap_or(gate::LIST_USERS);
    Err(forbidden(&gate::Denied { action, resource }))
}

struct Row {
    name: String,
    path: String,
    created: String,
    root: bool,
    me: bool,
    /// `None`: the viewer's policy does not allow seeing it.
    perms: Option<Vec<String>>,
    password: Option<bool>,
    keys: Option<usize>,
    can_password: bool,
    can_delete: bool,
}

/// The create form as sent back (never the passwords), with its errors.
#[derive(Default)]
struct CreateForm {
    name: String,
    path: String,
    permissions: String,
    policy: String,
    name_error: Option<String>,
    path_error: Option<String>,
    policy_error: Option<String>,
    password_error: Option<String>,
    /// Not about one field (permission refused, bad choice).
    error: Option<String>,
}

impl CreateForm {
    fn blank() -> Self {
        CreateForm { path: DEFAULT_USER_PATH.into(), permissions: DEFAULT_CHOICE.into(), ..Default::default() }
    }

    fn has_errors(&self) -> bool {
        self.name_error.is_some()
            || self.path_error.is_some()
            || self.policy_error.is_some()
            || self.password_error.is_some()
            || self.error.is_some()
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    csrf: String,
    /// `None` for the operator.
    project: Option<String>,
    rows: Vec<Row>,
    /// IAM users listed (the root user aside).
    iam_users: usize,
    denied: Option<String>,
    notice: Option<String>,
    form: CreateForm,
    choices: &'static [Choice],
    min_password: usize,
}

fn row(g: &Gate<'_>, u: &UserRecord, keys: &HashMap<String, usize>) -> Row {
    let sees = |a: &str| g.allows_on(a, u, None);
    let perms = (u.root || (sees(gate::LIST_ATTACHED_USER_POLICIES) && sees(gate::LIST_USER_POLICIES)))
        .then(|| permissions_summary(u));
    Row {
        name: u.name.clone(),
        path: u.path.clone(),
        created: human_time(u.created),
        root: u.root,
        me: g.is_me(u),
        perms,
        password: sees(gate::GET_LOGIN_PROFILE).then_some(u.password_hash.is_some()),
        keys: sees(gate::LIST_ACCESS_KEYS).then(|| keys.get(&u.name).copied().unwrap_or(0)),
        can_password: [gate::CREATE_LOGIN_PROFILE, gate::UPDATE_LOGIN_PROFILE, gate::DELETE_LOGIN_PROFILE]
            .iter()
            .any(|a| sees(a)),
        can_delete: !u.root && !g.is_me(u) && sees(gate::DELETE_USER),
    }
}

async fn render(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    status: StatusCode,
    notice: Option<String>,
    form: CreateForm,
) -> Result<Response<Full<Bytes>>, PageError> {
    let g = Gate::new(inner, cx, v);
    let mut rows = Vec::new();
    let mut denied = None;
    if let Some(g) = &g {
        let all = format!("arn:aws:iam::{}:user/*", g.project());
        if g.allows(gate::LIST_USERS, &all, None) {
            let users = inner.iam.list_users(g.project()).await.map_err(PageError::internal)?;
            let mut keys: HashMap<String, usize> = HashMap::new();
            for k in inner.iam.list_keys(g.project(), None).await.map_err(PageError::internal)? {
                *keys.entry(k.user).or_default() += 1;
            }
            // The root user first, then IAM users by name regardless of case (as IAM lists them).
            let mut users: Vec<&UserRecord> = users.iter().collect();
            users.sort_by_key(|u| (!u.root, u.name.to_ascii_lowercase()));
            rows = users.into_iter().map(|u| row(g, u, &keys)).collect();
        } else {
            denied = Some(format!(
                "Your policy does not allow listing the project's users ({}). Ask the project's root user for access.",
                gate::LIST_USERS
            ));
        }
    }
    let t = UsersPage {
        chrome: chrome(inner, cx, v, "Users"),
        csrf: v.session.csrf.clone(),
        project: g.as_ref().map(|g| g.project().to_owned()),
        iam_users: rows.iter().filter(|r| !r.root).count(),
        rows,
        denied,
        notice,
        form,
        choices: &CHOICES,
        min_password: MIN_PASSWORD_CHARS,
    };
    Ok(web::page(status, &t, &cx.nonce))
}

/// `GET /users` (`?created=`, `?deleted=`, `?password=`, `?nopassword=` after a change).
pub(crate) async fn list(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    // Only a valid user name is echoed back.
    let echo = |k: &str| cx.query.get(k).filter(|n| names::check_user(n).is_ok());
    let notice = if let Some(n) = echo("created") {
        Some(format!("User {n} created."))
    } else if let Some(n) = echo("deleted") {
        Some(format!("User {n} deleted, with its S3 keys."))
    } else if let Some(n) = echo("password") {
        Some(format!("Console password of {n} set. Console sessions opened with the old password have ended."))
    } else {
        echo("nopassword").map(|n| {
            format!("Console password of {n} removed: {n} can no longer sign in to the console (S3 keys still work).")
        })
    };
    render(inner, cx, v, StatusCode::OK, notice, CreateForm::blank()).await
}

/// The create form's fields, validated; errors are set on `f`.
fn validate(cx: &Cx, f: &mut CreateForm) -> (Option<Permissions>, Option<String>) {
    if names::check_user(&f.name).is_err() {
        f.name_error = Some("Not a valid user name: use 1–64 letters, digits and + = , . @ _ -".into());
    } else if f.name.eq_ignore_ascii_case(ROOT_USER) {
        f.name_error = Some("\"root\" is the project's root user. Choose another name.".into());
    }
    if names::check_path(&f.path).is_err() {
        f.path_error = Some(
            "Not a valid path: it starts and ends with / and holds printable ASCII characters, no spaces \
             (up to 512), e.g. /team/."
                .into(),
        );
    }
    let perms = match f.permissions.as_str() {
        "none" => None,
        "custom" if f.policy.trim().is_empty() => {
            f.policy_error = Some("Paste a policy document, or choose one of the presets.".into());
            None
        }
        "custom" => match Policy::parse_identity(&f.policy) {
            Ok(_) => Some(Permissions::Document(f.policy.clone())),
            Err(e) => {
                let reason = e.to_string();
                f.policy_error = Some(format!("The policy document is not valid: {}.", reason.trim_end_matches('.')));
                None
            }
        },
        other => match Preset::from_name(other) {
            Some(p) => Some(Permissions::Preset(p)),
            None => {
                f.error = Some("Choose the user's permissions.".into());
                None
            }
        },
    };
    let password = cx.form.get("password").unwrap_or("");
    let confirm = cx.form.get("password_confirm").unwrap_or("");
    let password = if password.is_empty() && confirm.is_empty() {
        None
    } else {
        match check_new_password(password, confirm) {
            Ok(()) => Some(password.to_owned()),
            Err(e) => {
                f.password_error = Some(e);
                None
            }
        }
    };
    (perms, password)
}

/// Removes a user whose creation failed half-way, and reports the failure.
async fn undo(inner: &Inner, project: &str, name: &str, cause: IamError) -> PageError {
    if let Err(e) = inner.iam.delete_user(project, name, true).await {
        tracing::error!(project, user = name, error = %e, "console could not remove a half-created user");
    }
    PageError::failed(&format!("creating user {project}/{name}"), cause)
}

/// `POST /users`: a new IAM user with its permissions and, optionally, a console password.
pub(crate) async fn create(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    let g = Gate::new(inner, cx, v).ok_or_else(operator_refused)?;
    let project = g.project();
    let path = cx.form.text("path");
    let mut f = CreateForm {
        name: cx.form.text("name").to_owned(),
        path: if path.is_empty() { DEFAULT_USER_PATH.into() } else { path.to_owned() },
        permissions: cx.form.text("permissions").to_owned(),
        policy: cx.form.get("policy").unwrap_or("").to_owned(),
        ..Default::default()
    };
    let (perms, password) = validate(cx, &mut f);
    if f.has_errors() {
        return render(inner, cx, v, StatusCode::BAD_REQUEST, None, f).await;
    }
    let mut needs: Vec<Need> = vec![(gate::CREATE_USER, None)];
    match &perms {
        Some(Permissions::Preset(p)) => needs.push((gate::ATTACH_USER_POLICY, Some(p.arn()))),
        Some(Permissions::Document(_)) => needs.push((gate::PUT_USER_POLICY, None)),
        None => {}
    }
    if password.is_some() {
        needs.push((gate::CREATE_LOGIN_PROFILE, None));
    }
    if let Some(d) = g.first_denied(&user_arn(project, &f.path, &f.name), &needs) {
        f.error = Some(format!("{} Nothing was created.", d.message()));
        return render(inner, cx, v, StatusCode::FORBIDDEN, None, f).await;
    }
    let u = match inner.iam.create_user_with_path(project, &f.name, &f.path).await {
        Ok(u) => u,
        Err(IamError::UserExists(_)) => {
            f.name_error = Some("A user with this name already exists in your project (names ignore case).".into());
            return render(inner, cx, v, StatusCode::CONFLICT, None, f).await;
        }
        Err(e @ (IamError::InvalidName(_) | IamError::InvalidPath(_))) => {
            f.error = Some(format!("The user was not created: {e}."));
            return render(inner, cx, v, StatusCode::BAD_REQUEST, None, f).await;
        }
        Err(e) => return Err(PageError::internal(e)),
    };
    if let Some(p) = &perms {
        if let Err(e) = inner.iam.set_permissions(project, &u.name, p).await {
            return Err(undo(inner, project, &u.name, e).await);
        }
    }
    if let Some(pw) = &password {
        if let Err(e) = inner.iam.set_password(project, &u.name, Some(pw)).await {
            return Err(undo(inner, project, &u.name, e).await);
        }
    }
    tracing::info!(project, user = %u.name, path = %u.path, by = %v.display(), permissions = %f.permissions, password = password.is_some(), "console created user");
    Ok(web::redirect(&format!("/users?created={}", query_value(&u.name)), None, &cx.nonce))
}

/// A user name as a query value (`+` would read as a space).
pub(crate) fn query_value(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
