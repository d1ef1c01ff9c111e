//! The admin API's request bodies, parsed and checked as far as they can be
//! without a store: one function per body shape, which the handlers call,
//! and [`parse_admin_body`], a pure entry point over all of them for tests
//! and fuzzing. Unknown fields are refused (`MalformedJson`).

use super::errors::{ApiError, Code};
use super::json::{KeyPatch, NameBody, NewKeyBody, NewUserBody, PasswordBody, PolicyBody, QuotaJson};
use coffer_iam::Permissions;
use coffer_meta::{KeyStatus, Quota};
use coffer_policy::Preset;
use coffer_types::UnixMillis;
use serde::de::DeserializeOwned;

/// `body` as `T`; a body that is not that JSON is `MalformedJson`.
pub(crate) fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(Code::MalformedJson, format!("the request body is not the expected JSON: {e}")))
}

/// `PUT .../policy`: one preset by name, or one document (an object, or its text).
pub(crate) fn permissions(body: &[u8]) -> Result<Permissions, ApiError> {
    let body: PolicyBody = json(body)?;
    match (body.preset, body.document) {
        (Some(name), None) => Ok(Permissions::Preset(Preset::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
            ApiError::new(Code::UnknownPreset, format!("unknown preset {name:?}; known: {}", known.join(", ")))
        })?)),
        (None, Some(serde_json::Value::String(text))) => Ok(Permissions::Document(text)),
        (None, Some(doc @ serde_json::Value::Object(_))) => Ok(Permissions::Document(doc.to_string())),
        (None, Some(_)) => Err(ApiError::new(Code::MalformedPolicy, "document must be a JSON object or its text")),
        _ => Err(ApiError::new(Code::InvalidArgument, "give exactly one of \"preset\" and \"document\"")),
    }
}

/// `PUT .../password`: `Some` sets, `None` (`{"password": null}`) removes.
/// A body that does not parse gets a fixed message, never the parser's,
/// which could quote the password.
pub(crate) fn password(body: &[u8]) -> Result<Option<String>, ApiError> {
    let shape =
        || ApiError::new(Code::MalformedJson, r#"the request body must be {"password": "..."} or {"password": null}"#);
    // An object first: serde would also take a struct from an array.
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).map_err(|_| shape())?;
    let body: PasswordBody = serde_json::from_value(object.into()).map_err(|_| shape())?;
    body.password.ok_or_else(shape)
}

/// `POST /projects/{p}/keys`: an empty body is all defaults; `expires` is
/// returned parsed (milliseconds).
pub(crate) fn new_key(body: &[u8]) -> Result<(NewKeyBody, Option<UnixMillis>), ApiError> {
    let body: NewKeyBody = if body.is_empty() { NewKeyBody::default() } else { json(body)? };
    let expires =
        match &body.expires {
            None => None,
            Some(t) => Some(crate::timefmt::parse(t).ok_or_else(|| {
                ApiError::new(Code::InvalidArgument, format!("expires {t:?} is not an RFC 3339 time"))
            })?),
        };
    Ok((body, expires))
}

/// `PATCH /keys/{ak}`: `Active` or `Inactive`.
pub(crate) fn key_status(body: &[u8]) -> Result<KeyStatus, ApiError> {
    let patch: KeyPatch = json(body)?;
    match patch.status.as_str() {
        "Active" => Ok(KeyStatus::Active),
        "Inactive" => Ok(KeyStatus::Inactive),
        other => Err(ApiError::new(Code::InvalidArgument, format!("status {other:?} must be Active or Inactive"))),
    }
}

/// Which admin API body [`parse_admin_body`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminBody {
    /// `POST /projects`.
    CreateProject,
    /// `POST /projects/{p}/users`.
    CreateUser,
    /// `PUT /projects/{p}/users/{u}/policy`.
    PutPolicy,
    /// `PUT /projects/{p}/users/{u}/password`.
    PutPassword,
    /// `POST /projects/{p}/keys`.
    CreateKey,
    /// `PATCH /keys/{ak}`.
    UpdateKey,
    /// `PUT /projects/{p}/quota` and `PUT /buckets/{b}/quota`.
    PutQuota,
}

impl AdminBody {
    /// Every body shape.
    pub const ALL: [AdminBody; 7] = [
        AdminBody::CreateProject,
        AdminBody::CreateUser,
        AdminBody::PutPolicy,
        AdminBody::PutPassword,
        AdminBody::CreateKey,
        AdminBody::UpdateKey,
        AdminBody::PutQuota,
    ];
}

/// A parsed admin API body, as its handler goes on to use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminRequest {
    /// A project name (not yet validated: the store's use case does that).
    Project { name: String },
    /// A user name and IAM path (validated by the use case).
    User { name: String, path: Option<String> },
    /// A preset's name.
    Preset(String),
    /// An identity policy document's text (parsed by the use case).
    PolicyDocument(String),
    /// A console password to set, or `None` to remove it.
    Password(Option<String>),
    /// A new key's owner, region and expiry (milliseconds).
    Key { user: Option<String>, region: Option<String>, expires: Option<UnixMillis> },
    /// A key's new status.
    KeyStatus(KeyStatus),
    /// A quota.
    Quota(Quota),
}

/// Why an admin API body was refused: the error code and status the API
/// answers with, and its message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AdminBodyError {
    /// The error document's `code`.
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The error document's `message`.
    pub message: String,
}

impl From<ApiError> for AdminBodyError {
    fn from(e: ApiError) -> Self {
        AdminBodyError { code: e.code.as_str(), status: e.code.status(), message: e.message }
    }
}

/// Parses `body` as the admin API does for `kind`, with every check that
/// needs no store (the handlers call the same functions).
pub fn parse_admin_body(kind: AdminBody, body: &[u8]) -> Result<AdminRequest, AdminBodyError> {
    Ok(match kind {
        AdminBody::CreateProject => AdminRequest::Project { name: json::<NameBody>(body)?.name },
        AdminBody::CreateUser => {
            let b: NewUserBody = json(body)?;
            AdminRequest::User { name: b.name, path: b.path }
        }
        AdminBody::PutPolicy => match permissions(body)? {
            Permissions::Preset(p) => AdminRequest::Preset(p.name().to_owned()),
            Permissions::Document(d) => AdminRequest::PolicyDocument(d),
        },
        AdminBody::PutPassword => AdminRequest::Password(password(body)?),
        AdminBody::CreateKey => {
            let (b, expires) = new_key(body)?;
            AdminRequest::Key { user: b.user, region: b.region, expires }
        }
        AdminBody::UpdateKey => AdminRequest::KeyStatus(key_status(body)?),
        AdminBody::PutQuota => AdminRequest::Quota(json::<QuotaJson>(body)?.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse_as_the_handlers_read_them() {
        let p = |k, b: &str| parse_admin_body(k, b.as_bytes());
        assert_eq!(
            p(AdminBody::CreateProject, r#"{"name":"acme"}"#),
            Ok(AdminRequest::Project { name: "acme".into() })
        );
        assert_eq!(p(AdminBody::CreateProject, r#"{"name":"acme","x":1}"#).unwrap_err().code, "MalformedJson");
        assert_eq!(p(AdminBody::PutPolicy, r#"{"preset":"read-only"}"#), Ok(AdminRequest::Preset("read-only".into())));
        assert_eq!(p(AdminBody::PutPolicy, r#"{"preset":"Nope"}"#).unwrap_err().code, "UnknownPreset");
        assert_eq!(
            p(AdminBody::PutPolicy, r#"{"document":{"a":1}}"#),
            Ok(AdminRequest::PolicyDocument(r#"{"a":1}"#.into()))
        );
        assert_eq!(p(AdminBody::PutPolicy, r#"{"document":[1]}"#).unwrap_err().code, "MalformedPolicy");
        assert_eq!(p(AdminBody::PutPolicy, "{}").unwrap_err().code, "InvalidArgument");
        assert_eq!(p(AdminBody::PutPassword, r#"{"password":null}"#), Ok(AdminRequest::Password(None)));
        let e = p(AdminBody::PutPassword, r#"["secret-in-an-array"]"#).unwrap_err();
        assert!(e.code == "MalformedJson" && !e.message.contains("secret"), "{e}");
        assert_eq!(p(AdminBody::CreateKey, ""), Ok(AdminRequest::Key { user: None, region: None, expires: None }));
        assert_eq!(
            p(AdminBody::CreateKey, r#"{"expires":"1970-01-01T00:00:01Z"}"#),
            Ok(AdminRequest::Key { user: None, region: None, expires: Some(1000) })
        );
        assert_eq!(p(AdminBody::CreateKey, r#"{"expires":"soon"}"#).unwrap_err().code, "InvalidArgument");
        assert_eq!(
            p(AdminBody::UpdateKey, r#"{"status":"Inactive"}"#),
            Ok(AdminRequest::KeyStatus(KeyStatus::Inactive))
        );
        assert_eq!(p(AdminBody::UpdateKey, r#"{"status":"inactive"}"#).unwrap_err().status, 400);
        assert_eq!(
            p(AdminBody::PutQuota, r#"{"max_bytes":5}"#),
            Ok(AdminRequest::Quota(Quota { max_bytes: Some(5), max_objects: None }))
        );
        assert_eq!(
            crate::parse_iam_form(b"A=x+y%21&B").unwrap(),
            vec![("A".into(), "x y!".into()), ("B".into(), String::new())]
        );
        assert_eq!(crate::parse_iam_form(b"A=%FF").unwrap_err().code, "InvalidInput");
    }
}
