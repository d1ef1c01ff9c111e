//! CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
//! GetAccessKeyLastUsed.
//!
//! As on AWS, `UserName` defaults to the caller, and a key named together
//! with a user must belong to that user (else `NoSuchEntity`). A new key
//! works in the region of the key that signed the call: a key works in its
//! own region only, so it must not mint one for another region (a leaked
//! key of region A would otherwise reach region B by sending CreateAccessKey
//! to B's host). Only a caller whose key has no region gets the region
//! whose S3 hosts the request was sent to, else the deployment's default.
//! The secret appears in the answer to CreateAccessKey only.

use super::errors::{ApiError, Code};
use super::form::page;
use super::xml::Xml;
use super::Call;
use crate::timefmt::iso_seconds;
use coffer_iam::{IamError, NewKey};
use coffer_meta::{AccessKeyRecord, KeyStatus};

pub(crate) async fn create(call: &Call<'_>) -> Result<String, ApiError> {
    let user = call.target_user();
    call.authorize_user(user).await?;
    let own = call.svc.iam().key(&call.caller.access_key).await?.region;
    let region = if own.is_empty() { call.key_region() } else { Some(own) };
    let req = NewKey { project: call.project().to_owned(), user: Some(user.to_owned()), region, expires: None };
    let created = call.svc.iam().create_key(&req).await?;
    let k = &created.record;
    let mut x = Xml::new();
    x.open("AccessKey")
        .elem("UserName", &k.user)
        .elem("AccessKeyId", &k.access_key)
        .elem("Status", k.status.as_str())
        .elem("SecretAccessKey", &created.secret)
        .elem("CreateDate", &iso_seconds(k.created))
        .close("AccessKey");
    Ok(x.finish())
}

pub(crate) async fn list(call: &Call<'_>) -> Result<String, ApiError> {
    let user = call.target_user();
    call.authorize_user(user).await?;
    let (max, marker) = call.form.paging()?;
    let keys = call.svc.iam().list_keys(call.project(), Some(user)).await?;
    let (keys, next) = page(keys, |k| k.access_key.clone(), max, marker);
    let mut x = Xml::new();
    x.elem("UserName", user).open("AccessKeyMetadata");
    for k in &keys {
        x.open("member")
            .elem("UserName", &k.user)
            .elem("AccessKeyId", &k.access_key)
            .elem("Status", k.status.as_str())
            .elem("CreateDate", &iso_seconds(k.created))
            .close("member");
    }
    x.close("AccessKeyMetadata").paging(next.as_deref());
    Ok(x.finish())
}

/// The key `AccessKeyId` of the target user, after authorization.
async fn owned_key(call: &Call<'_>) -> Result<AccessKeyRecord, ApiError> {
    let id = call.form.required("AccessKeyId")?;
    let user = call.target_user();
    call.authorize_user(user).await?;
    match call.svc.iam().key(id).await {
        Ok(k) if k.project == call.project() && k.user == user => Ok(k),
        Ok(_) | Err(IamError::NoSuchKey(_)) => Err(ApiError::no_key(id)),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn update(call: &Call<'_>) -> Result<(), ApiError> {
    let status = match call.form.required("Status")? {
        "Active" => KeyStatus::Active,
        "Inactive" => KeyStatus::Inactive,
        other => {
            return Err(ApiError::new(
                Code::ValidationError,
                format!("1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"),
            ))
        }
    };
    let k = owned_key(call).await?;
    Ok(call.svc.iam().set_key_status(&k.access_key, status).await?)
}

pub(crate) async fn delete(call: &Call<'_>) -> Result<(), ApiError> {
    let k = owned_key(call).await?;
    Ok(call.svc.iam().delete_key(&k.access_key).await?)
}

pub(crate) async fn last_used(call: &Call<'_>) -> Result<String, ApiError> {
    let id = call.form.required("AccessKeyId")?;
    let k = match call.svc.iam().key(id).await {
        Ok(k) if k.project == call.project() => k,
        Ok(_) | Err(IamError::NoSuchKey(_)) => return Err(ApiError::no_key(id)),
        Err(e) => return Err(e.into()),
    };
    call.authorize_user(&k.user).await?;
    let mut x = Xml::new();
    x.elem("UserName", &k.user).open("AccessKeyLastUsed");
    match k.last_used {
        Some(t) => {
            x.elem("LastUsedDate", &iso_seconds(t)).elem("ServiceName", "s3").elem("Region", &k.region);
        }
        None => {
            x.elem("ServiceName", "N/A").elem("Region", "N/A");
        }
    }
    x.close("AccessKeyLastUsed");
    Ok(x.finish())
}
