//! Which IAM actions the viewer may perform on which users of its project.
//!
//! The rule is the IAM API's (`crates/admin/src/iam/access.rs`): the
//! project's root user may do everything in its project; an IAM user may
//! perform `iam:<Action>` when its identity policies allow it on the target
//! user's ARN (`arn:aws:iam::{project}:user{path}{name}`) and deny it
//! nowhere, and may never act on the root user. The decision itself is
//! [`coffer_iam::authz::decide`], with the global condition keys every
//! front-end sets (and `iam:PolicyARN` where IAM sets it).
//!
//! The actions are the ones the AWS console calls for the same change, so a
//! policy written for AWS behaves the same here.

use crate::session::Viewer;
use crate::{Cx, Inner};
use coffer_iam::authz::{decide, global_context, Access};
use coffer_iam::{user_arn, Principal, UserPrincipal};
use coffer_meta::UserRecord;
use std::net::SocketAddr;

pub(crate) const LIST_USERS: &str = "iam:ListUsers";
pub(crate) const CREATE_USER: &str = "iam:CreateUser";
pub(crate) const DELETE_USER: &str = "iam:DeleteUser";
pub(crate) const ATTACH_USER_POLICY: &str = "iam:AttachUserPolicy";
pub(crate) const DETACH_USER_POLICY: &str = "iam:DetachUserPolicy";
pub(crate) const PUT_USER_POLICY: &str = "iam:PutUserPolicy";
pub(crate) const DELETE_USER_POLICY: &str = "iam:DeleteUserPolicy";
pub(crate) const LIST_USER_POLICIES: &str = "iam:ListUserPolicies";
pub(crate) const LIST_ATTACHED_USER_POLICIES: &str = "iam:ListAttachedUserPolicies";
pub(crate) const LIST_ACCESS_KEYS: &str = "iam:ListAccessKeys";
pub(crate) const DELETE_ACCESS_KEY: &str = "iam:DeleteAccessKey";
pub(crate) const GET_LOGIN_PROFILE: &str = "iam:GetLoginProfile";
pub(crate) const CREATE_LOGIN_PROFILE: &str = "iam:CreateLoginProfile";
pub(crate) const UPDATE_LOGIN_PROFILE: &str = "iam:UpdateLoginProfile";
pub(crate) const DELETE_LOGIN_PROFILE: &str = "iam:DeleteLoginProfile";

/// One action a change needs, with the `iam:PolicyARN` it carries, if any.
pub(crate) type Need = (&'static str, Option<&'static str>);

/// A refused action, as the page words it.
#[derive(Debug)]
pub(crate) struct Denied {
    pub action: &'static str,
    pub resource: String,
}

impl Denied {
    pub fn message(&self) -> String {
        if self.resource.ends_with(":root") {
            return "Only the project's root user can manage the root user.".into();
        }
        format!("Your policy does not allow {} on {}.", self.action, self.resource)
    }
}

/// The viewer's IAM permissions over the users of its project.
pub(crate) struct Gate<'a> {
    principal: &'a Principal,
    user: &'a UserPrincipal,
    peer: Option<SocketAddr>,
    secure: bool,
}

impl<'a> Gate<'a> {
    /// `None` for the operator (users belong to projects).
    pub fn new(inner: &Inner, cx: &Cx, v: &'a Viewer) -> Option<Gate<'a>> {
        match &v.principal {
            Principal::User(user) => {
                Some(Gate { principal: &v.principal, user, peer: cx.peer, secure: inner.cfg.secure_cookies })
            }
            _ => None,
        }
    }

    /// The viewer's project.
    pub fn project(&self) -> &'a str {
        &self.user.project
    }

    /// Whether `u` is the signed-in user itself.
    pub fn is_me(&self, u: &UserRecord) -> bool {
        u.project == self.user.project && u.name == self.user.user
    }

    /// The ARN of user `u` of the viewer's project (`...:root` for the root user).
    pub fn arn_of(&self, u: &UserRecord) -> String {
        if u.root {
            format!("arn:aws:iam::{}:root", self.project())
        } else {
            user_arn(self.project(), &u.path, &u.name)
        }
    }

    /// The IAM API's decision for `action` on `resource`.
    pub fn allows(&self, action: &str, resource: &str, policy_arn: Option<&str>) -> bool {
        if self.user.root {
            return true;
        }
        let mut context = global_context(self.principal, self.peer, self.secure);
        if let Some(arn) = policy_arn {
            context.insert("iam:PolicyARN", arn);
        }
        let access =
            Access { action, resource, bucket_owner: None, bucket_policy: None, acl_grants: false, context: &context };
        decide(self.principal, &access)
    }

    /// [`Gate::allows`] on user `u` of the viewer's project: never on the
    /// root user for an IAM user.
    pub fn allows_on(&self, action: &str, u: &UserRecord, policy_arn: Option<&str>) -> bool {
        if self.user.root {
            return u.project == self.user.project;
        }
        u.project == self.user.project && !u.root && self.allows(action, &self.arn_of(u), policy_arn)
    }

    /// The first of `needs` refused on `resource`, if any.
    pub fn first_denied(&self, resource: &str, needs: &[Need]) -> Option<Denied> {
        needs
            .iter()
            .find(|(action, arn)| !self.allows(action, resource, *arn))
            .map(|(action, _)| Denied { action, resource: resource.to_owned() })
    }

    /// The first of `needs` refused on user `u`, if any.
    pub fn first_denied_on(&self, u: &UserRecord, needs: &[Need]) -> Option<Denied> {
        needs
            .iter()
            .find(|(action, arn)| !self.allows_on(action, u, *arn))
            .map(|(action, _)| Denied { action, resource: self.arn_of(u) })
    }
}
