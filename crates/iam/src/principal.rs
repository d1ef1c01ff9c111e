//! Who a request acts as.

use crate::Iam;
use coffer_policy::{Policy, PrincipalId};

/// The identity behind a request.
#[derive(Clone, Debug)]
pub enum Principal {
    /// The operator: every operation on every project.
    Operator { access_key: String },
    /// A user of a project.
    User(UserPrincipal),
    /// An unsigned request.
    Anonymous,
}

/// A project user with its policies, as resolved for one request.
#[derive(Clone, Debug)]
pub struct UserPrincipal {
    pub project: String,
    pub user: String,
    /// The user's IAM path (`/` for the root user), part of its ARN.
    pub path: String,
    /// The project's root user: its identity allows everything in its project.
    pub root: bool,
    pub access_key: String,
    /// Identity policies (inline and presets); empty for the root user.
    pub policies: Vec<Policy>,
}

impl Principal {
    /// The principal as bucket policies name it.
    pub fn policy_id(&self) -> PrincipalId {
        match self {
            // The operator never reaches policy evaluation; it reads as anonymous there.
            Principal::Operator { .. } | Principal::Anonymous => PrincipalId::Anonymous,
            Principal::User(u) if u.root => PrincipalId::Root { account: u.project.clone() },
            Principal::User(u) => PrincipalId::User { account: u.project.clone(), name: u.user.clone() },
        }
    }

    /// The project the principal belongs to (`None`: operator or anonymous).
    pub fn project(&self) -> Option<&str> {
        match self {
            Principal::User(u) => Some(&u.project),
            _ => None,
        }
    }

    /// The access key that signed the request, if any.
    pub fn access_key(&self) -> Option<&str> {
        match self {
            Principal::Operator { access_key } => Some(access_key),
            Principal::User(u) => Some(&u.access_key),
            Principal::Anonymous => None,
        }
    }

    /// The IAM ARN of the principal, as GetUser and logs show it.
    pub fn arn(&self) -> String {
        match self {
            Principal::Operator { .. } => "arn:aws:iam::coffer:root".into(),
            Principal::User(u) => u.arn(),
            Principal::Anonymous => "anonymous".into(),
        }
    }
}

impl UserPrincipal {
    /// `arn:aws:iam::{project}:root` for the root user, else
    /// `arn:aws:iam::{project}:user{path}{name}`, as AWS writes it.
    pub fn arn(&self) -> String {
        if self.root {
            format!("arn:aws:iam::{}:root", self.project)
        } else {
            user_arn(&self.project, &self.path, &self.user)
        }
    }
}

/// The ARN of IAM user `name` at `path` (`/a/`) in `project`:
/// `arn:aws:iam::{project}:user/a/{name}`.
pub fn user_arn(project: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{project}:user{path}{name}")
}

impl Iam {
    /// The principal of a user record as it stands now (its current
    /// policies), for front-ends that act without an access key (the
    /// console's password sessions): `access_key` is empty.
    pub fn principal_of(rec: &coffer_meta::UserRecord) -> UserPrincipal {
        UserPrincipal {
            policies: if rec.root { Vec::new() } else { Iam::policies_of(rec) },
            project: rec.project.clone(),
            user: rec.name.clone(),
            path: rec.path.clone(),
            root: rec.root,
            access_key: String::new(),
        }
    }
}
