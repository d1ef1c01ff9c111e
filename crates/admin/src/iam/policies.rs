//! Inline user policies (Put/Get/Delete/ListUserPolicies), the preset
//! policies attached by ARN (Attach/Detach/ListAttachedUserPolicies), and
//! the presets as managed policies (ListPolicies, GetPolicy,
//! GetPolicyVersion). Only the presets can be attached; they have one
//! version, `v1`. Documents are returned URL-encoded, as IAM does.

use super::errors::{ApiError, Code};
use super::form::page;
use super::xml::Xml;
use super::Call;
use crate::timefmt::iso_seconds;
use coffer_iam::IamError;
use coffer_policy::Preset;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// What IAM leaves unencoded in returned documents (RFC 3986 unreserved).
const DOC: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The creation date shown for the presets (2024-01-01T00:00:00Z).
const PRESET_DATE: i64 = 1_704_067_200_000;

/// `prefix` + 17 characters of `A-Z2-7` derived from `seed` (a preset's
/// stable `PolicyId`).
fn derived_id(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(seed.as_bytes());
    let tail: String = digest.iter().take(17).map(|b| ALPHABET[usize::from(b % 32)] as char).collect();
    format!("{prefix}{tail}")
}

/// A document as IAM returns it: percent-encoded.
fn encode_doc(doc: &str) -> String {
    utf8_percent_encode(doc, DOC).to_string()
}

/// The preset whose ARN is `arn`, else `NoSuchEntity` as IAM words it.
fn preset_by_arn(arn: &str) -> Result<Preset, ApiError> {
    Preset::ALL
        .into_iter()
        .find(|p| p.arn() == arn)
        .ok_or_else(|| ApiError::new(Code::NoSuchEntity, format!("Policy {arn} does not exist or is not attachable.")))
}

pub(crate) async fn put_inline(call: &Call<'_>) -> Result<(), ApiError> {
    let user = call.form.required("UserName")?;
    let name = call.form.required("PolicyName")?;
    let doc = call.form.required("PolicyDocument")?;
    call.authorize_user(user).await?;
    Ok(call.svc.iam().put_user_policy(call.project(), user, name, doc).await?)
}

pub(crate) async fn get_inline(call: &Call<'_>) -> Result<String, ApiError> {
    let user = call.form.required("UserName")?;
    let name = call.form.required("PolicyName")?;
    call.authorize_user(user).await?;
    let doc = call.svc.iam().user_policy(call.project(), user, name).await?;
    let mut x = Xml::new();
    x.elem("UserName", user).elem("PolicyName", name).elem("PolicyDocument", &encode_doc(&doc));
    Ok(x.finish())
}

pub(crate) async fn delete_inline(call: &Call<'_>) -> Result<(), ApiError> {
    let user = call.form.required("UserName")?;
    let name = call.form.required("PolicyName")?;
    call.authorize_user(user).await?;
    Ok(call.svc.iam().delete_user_policy(call.project(), user, name).await?)
}

pub(crate) async fn list_inline(call: &Call<'_>) -> Result<String, ApiError> {
    let user = call.form.required("UserName")?;
    call.authorize_user(user).await?;
    let (max, marker) = call.form.paging()?;
    let u = call.svc.iam().user(call.project(), user).await?;
    let (names, next) = page(u.inline_policies.into_keys().collect(), |n: &String| n.clone(), max, marker);
    let mut x = Xml::new();
    x.open("PolicyNames");
    for n in &names {
        x.elem("member", n);
    }
    x.close("PolicyNames").paging(next.as_deref());
    Ok(x.finish())
}

pub(crate) async fn attach(call: &Call<'_>) -> Result<(), ApiError> {
    let user = call.form.required("UserName")?;
    let arn = call.form.required("PolicyArn")?;
    call.authorize_user_with(user, &[("iam:PolicyARN", arn)]).await?;
    let preset = preset_by_arn(arn)?;
    Ok(call.svc.iam().attach_preset(call.project(), user, preset.name()).await?)
}

pub(crate) async fn detach(call: &Call<'_>) -> Result<(), ApiError> {
    let user = call.form.required("UserName")?;
    let arn = call.form.required("PolicyArn")?;
    call.authorize_user_with(user, &[("iam:PolicyARN", arn)]).await?;
    let preset = preset_by_arn(arn)?;
    match call.svc.iam().detach_preset(call.project(), user, preset.name()).await {
        Err(IamError::NoSuchPolicy(_)) => {
            Err(ApiError::new(Code::NoSuchEntity, format!("Policy {arn} was not found.")))
        }
        r => Ok(r?),
    }
}

pub(crate) async fn list_attached(call: &Call<'_>) -> Result<String, ApiError> {
    let user = call.form.required("UserName")?;
    call.authorize_user(user).await?;
    let (max, marker) = call.form.paging()?;
    let u = call.svc.iam().user(call.project(), user).await?;
    let presets: Vec<Preset> = u.attached.iter().filter_map(|n| Preset::from_name(n)).collect();
    let (presets, next) = page(presets, |p| managed_name(p).to_owned(), max, marker);
    let mut x = Xml::new();
    x.open("AttachedPolicies");
    for p in &presets {
        x.open("member").elem("PolicyName", managed_name(p)).elem("PolicyArn", p.arn()).close("member");
    }
    x.close("AttachedPolicies").paging(next.as_deref());
    Ok(x.finish())
}

/// `<tag>` describing a preset as a managed policy attached `count` times.
fn write_managed(x: &mut Xml, tag: &str, p: &Preset, count: usize) {
    let arn = p.arn();
    x.open(tag)
        .elem("PolicyName", managed_name(p))
        .elem("PolicyId", &derived_id("ANPA", arn))
        .elem("Arn", arn)
        .elem("Path", "/")
        .elem("DefaultVersionId", "v1")
        .elem("AttachmentCount", &count.to_string())
        .elem("PermissionsBoundaryUsageCount", "0")
        .elem("IsAttachable", "true")
        .elem("CreateDate", &iso_seconds(PRESET_DATE))
        .elem("UpdateDate", &iso_seconds(PRESET_DATE))
        .close(tag);
}

/// How many users of the caller's project have `p` attached.
async fn attachments(call: &Call<'_>, p: &Preset) -> Result<usize, ApiError> {
    let users = call.svc.iam().list_users(call.project()).await?;
    Ok(users.iter().filter(|u| u.attached.contains(p.name())).count())
}

pub(crate) async fn list_managed(call: &Call<'_>) -> Result<String, ApiError> {
    call.authorize("*", &[])?;
    let (max, marker) = call.form.paging()?;
    let scope = call.form.get("Scope").unwrap_or("All");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(ApiError::new(Code::ValidationError, format!("Scope {scope:?} must be All, AWS or Local")));
    }
    let only_attached = call.form.get("OnlyAttached") == Some("true");
    let prefix = call.form.get("PathPrefix").unwrap_or("/");
    let mut listed = Vec::new();
    if scope != "Local" && "/".starts_with(prefix) {
        for p in Preset::ALL.iter() {
            let n = attachments(call, p).await?;
            if !only_attached || n > 0 {
                listed.push((*p, n));
            }
        }
    }
    let (listed, next) = page(listed, |(p, _)| managed_name(p).to_owned(), max, marker);
    let mut x = Xml::new();
    x.open("Policies");
    for (p, n) in &listed {
        write_managed(&mut x, "member", p, *n);
    }
    x.close("Policies").paging(next.as_deref());
    Ok(x.finish())
}

pub(crate) async fn get_managed(call: &Call<'_>) -> Result<String, ApiError> {
    let arn = call.form.required("PolicyArn")?;
    call.authorize(arn, &[])?;
    let p = preset_by_arn(arn)?;
    let n = attachments(call, &p).await?;
    let mut x = Xml::new();
    write_managed(&mut x, "Policy", &p, n);
    Ok(x.finish())
}

pub(crate) async fn get_managed_version(call: &Call<'_>) -> Result<String, ApiError> {
    let arn = call.form.required("PolicyArn")?;
    let version = call.form.required("VersionId")?;
    call.authorize(arn, &[])?;
    let p = preset_by_arn(arn)?;
    if version != "v1" {
        return Err(ApiError::new(Code::NoSuchEntity, format!("Policy {arn} version {version} does not exist.")));
    }
    let mut x = Xml::new();
    x.open("PolicyVersion")
        .elem("Document", &encode_doc(p.document()))
        .elem("VersionId", "v1")
        .elem("IsDefaultVersion", "true")
        .elem("CreateDate", &iso_seconds(PRESET_DATE))
        .close("PolicyVersion");
    Ok(x.finish())
}

/// The name IAM shows for a preset: the last segment of its ARN
/// (`AmazonS3FullAccess`, `S3ReadObjectOnly`, ...).
fn managed_name(p: &Preset) -> &'static str {
    let arn = p.arn();
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn derived_ids_look_like_aws_ids() {
        let a = super::derived_id("ANPA", "arn:aws:iam::aws:policy/x");
        assert_eq!(a.len(), 21);
        assert!(a.starts_with("ANPA") && a.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(a, super::derived_id("ANPA", "arn:aws:iam::aws:policy/x"));
        assert_ne!(a, super::derived_id("ANPA", "arn:aws:iam::aws:policy/y"));
    }

    #[test]
    fn documents_are_encoded_like_iam() {
        assert_eq!(super::encode_doc("{\"a\": \"b-c_d.e~f/*\"}"), "%7B%22a%22%3A%20%22b-c_d.e~f%2F%2A%22%7D");
    }
}
