//! One IAM call in progress: who calls, with which parameters, and whether
//! its identity allows the action on the target.

use super::errors::{ApiError, Code};
use super::form::Form;
use crate::ControlService;
use coffer_iam::{user_arn, IamError, UserPrincipal};
use coffer_meta::{UserRecord, DEFAULT_USER_PATH};
use coffer_policy::{Context, Decision, PrincipalId, Request};
use std::net::SocketAddr;

/// An authenticated call of one action.
pub(crate) struct Call<'a> {
    pub svc: &'a ControlService,
    pub caller: &'a UserPrincipal,
    pub form: &'a Form,
    /// The action, e.g. `CreateUser`.
    pub action: &'a str,
    /// The request's host, which picks the region of new keys.
    pub host: Option<&'a str>,
    pub peer: Option<SocketAddr>,
}

impl Call<'_> {
    /// The caller's project: everything the call touches lives in it.
    pub fn project(&self) -> &str {
        &self.caller.project
    }

    /// The ARN of a user of the caller's project:
    /// `arn:aws:iam::{project}:user{path}{name}`, the root user's `...:root`.
    pub fn user_arn(&self, u: &UserRecord) -> String {
        if u.root {
            format!("arn:aws:iam::{}:root", self.project())
        } else {
            user_arn(self.project(), &u.path, &u.name)
        }
    }

    /// The user the call is about: `UserName`, or the caller itself.
    pub fn target_user(&self) -> &str {
        match self.form.get("UserName") {
            Some(u) if !u.is_empty() => u,
            _ => &self.caller.user,
        }
    }

    /// Whether the caller may perform this call's action on user `name`
    /// (found regardless of case): the root user may do everything in its
    /// project, an IAM user what its identity policies allow on the user's
    /// ARN (its path included), never anything on the root user. A missing
    /// user is checked at the path `/`; the call then answers `NoSuchEntity`.
    pub async fn authorize_user(&self, name: &str) -> Result<(), ApiError> {
        self.authorize_user_with(name, &[]).await
    }

    /// [`Call::authorize_user`] with extra condition keys (`iam:PolicyARN`).
    pub async fn authorize_user_with(&self, name: &str, extra: &[(&str, &str)]) -> Result<(), ApiError> {
        if self.caller.root {
            return Ok(());
        }
        let arn = match self.svc.iam().user(self.project(), name).await {
            Ok(u) if u.root => return Err(self.denied(&self.user_arn(&u))),
            Ok(u) => self.user_arn(&u),
            Err(IamError::NoSuchUser(_)) => user_arn(self.project(), DEFAULT_USER_PATH, name),
            Err(e) => return Err(e.into()),
        };
        self.authorize(&arn, extra)
    }

    /// Whether the caller's identity allows this call's action on `resource`.
    pub fn authorize(&self, resource: &str, extra: &[(&str, &str)]) -> Result<(), ApiError> {
        if self.caller.root {
            return Ok(());
        }
        let action = format!("iam:{}", self.action);
        let mut context = Context::new()
            .with("aws:username", self.caller.user.as_str())
            .with("aws:PrincipalAccount", self.project())
            .with("aws:PrincipalArn", self.caller.arn())
            .with("aws:PrincipalType", "User")
            .with("aws:CurrentTime", crate::timefmt::iso_seconds(coffer_types::now_millis()))
            .with("aws:EpochTime", (coffer_types::now_millis() / 1000).to_string());
        if let Some(peer) = self.peer {
            context.insert("aws:SourceIp", peer.ip().to_string());
        }
        for (k, v) in extra {
            context.insert(k, *v);
        }
        let principal = PrincipalId::User { account: self.project().to_owned(), name: self.caller.user.clone() };
        let req = Request { principal: &principal, action: &action, resource, context: &context };
        let mut allowed = false;
        for p in &self.caller.policies {
            match p.evaluate(&req) {
                Decision::Deny => return Err(self.denied(resource)),
                Decision::Allow => allowed = true,
                Decision::NotApplicable => {}
            }
        }
        if allowed {
            Ok(())
        } else {
            Err(self.denied(resource))
        }
    }

    /// `AccessDenied`, in AWS's words.
    fn denied(&self, resource: &str) -> ApiError {
        ApiError::new(
            Code::AccessDenied,
            format!(
                "User: {} is not authorized to perform: iam:{} on resource: {resource}",
                self.caller.arn(),
                self.action
            ),
        )
    }

    /// The region new keys go to: the region one of whose hosts the request
    /// was sent to (with or without its port), else the deployment's default.
    pub fn key_region(&self) -> Option<String> {
        if let Some(host) = self.host.map(str::to_ascii_lowercase) {
            let bare = strip_port(&host);
            for r in self.svc.regions() {
                if r.hosts.iter().map(|h| h.to_ascii_lowercase()).any(|h| h == host || strip_port(&h) == bare) {
                    return Some(r.name.clone());
                }
            }
        }
        self.svc.default_region().map(str::to_owned)
    }
}

/// `host` without a trailing `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') && host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..i],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_stripped() {
        assert_eq!(super::strip_port("s3.example.com:9000"), "s3.example.com");
        assert_eq!(super::strip_port("s3.example.com"), "s3.example.com");
        assert_eq!(super::strip_port("[::1]:9000"), "[::1]");
        assert_eq!(super::strip_port("[::1]"), "[::1]");
    }
}
