//! The actions served, by name. Each gives the inner XML of its
//! `<{Action}Result>`, or `None` when IAM documents no result element.
//!
//! | family | actions |
//! |---|---|
//! | users ([`super::users`]) | CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser |
//! | keys ([`super::keys`]) | CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey, GetAccessKeyLastUsed |
//! | policies ([`super::policies`]) | PutUserPolicy, GetUserPolicy, DeleteUserPolicy, ListUserPolicies, AttachUserPolicy, DetachUserPolicy, ListAttachedUserPolicies, ListPolicies, GetPolicy, GetPolicyVersion |
//! | not built, listed empty | ListGroups, ListGroupsForUser, ListRoles, ListOpenIDConnectProviders (Coffer has no groups, roles or identity providers; tools that clean up an account list them) |

use super::errors::{ApiError, Code};
use super::{keys, policies, users, Call};

/// Runs the call's action; `InvalidAction` if it is not one of the table above.
pub(crate) async fn run(call: &Call<'_>) -> Result<Option<String>, ApiError> {
    let result = match call.action {
        "CreateUser" => users::create(call).await?,
        "GetUser" => users::get(call).await?,
        "ListUsers" => users::list(call).await?,
        "UpdateUser" => return users::update(call).await.map(|()| None),
        "DeleteUser" => return users::delete(call).await.map(|()| None),
        "CreateAccessKey" => keys::create(call).await?,
        "ListAccessKeys" => keys::list(call).await?,
        "UpdateAccessKey" => return keys::update(call).await.map(|()| None),
        "DeleteAccessKey" => return keys::delete(call).await.map(|()| None),
        "GetAccessKeyLastUsed" => keys::last_used(call).await?,
        "PutUserPolicy" => return policies::put_inline(call).await.map(|()| None),
        "GetUserPolicy" => policies::get_inline(call).await?,
        "DeleteUserPolicy" => return policies::delete_inline(call).await.map(|()| None),
        "ListUserPolicies" => policies::list_inline(call).await?,
        "AttachUserPolicy" => return policies::attach(call).await.map(|()| None),
        "DetachUserPolicy" => return policies::detach(call).await.map(|()| None),
        "ListAttachedUserPolicies" => policies::list_attached(call).await?,
        "ListPolicies" => policies::list_managed(call).await?,
        "GetPolicy" => policies::get_managed(call).await?,
        "GetPolicyVersion" => policies::get_managed_version(call).await?,
        "ListGroups" | "ListGroupsForUser" => "<Groups/><IsTruncated>false</IsTruncated>".to_owned(),
        "ListRoles" => "<Roles/><IsTruncated>false</IsTruncated>".to_owned(),
        "ListOpenIDConnectProviders" => "<OpenIDConnectProviderList/>".to_owned(),
        other => {
            return Err(ApiError::new(
                Code::InvalidAction,
                format!("Could not find operation {other} for version 2010-05-08"),
            ))
        }
    };
    Ok(Some(result))
}
