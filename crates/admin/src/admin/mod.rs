//! The operator's admin API: JSON over HTTP under [`routes::BASE`].
//!
//! Requests are signed with SigV4 like S3 requests (service `s3`, any
//! region, `x-amz-content-sha256` = the body's hex SHA-256). Who may do what:
//! - the operator: everything;
//! - a project's root user: read its own project (project, users, keys,
//!   quota, usage, buckets), set its Block Public Access switches, and manage the users, policies, console
//!   passwords and keys of its own project; not create or delete projects, not set quotas, nothing of
//!   other projects (`403`; keys of other projects look missing, `404`);
//! - IAM users: nothing (`403`);
//! - unsigned requests: only `GET /openapi.json`.
//!
//! Handlers are split by resource: [`projects`], [`users`], [`keys`],
//! [`storage`] (quotas, buckets, usage).

pub(crate) mod bodies;
mod errors;
mod json;
mod keys;
mod projects;
pub(crate) mod routes;
mod storage;
mod users;

#[cfg(test)]
mod tests;

use crate::body::BodyError;
use crate::{respond, ControlService, Incoming};
use bytes::Bytes;
use coffer_iam::Principal;
use errors::{ApiError, Code};
use http::Response;
use http_body_util::Full;
use routes::{Match, Params, RouteId};
use serde::de::DeserializeOwned;

/// The OpenAPI 3 document of this API.
pub(crate) const OPENAPI: &str = include_str!("../openapi.json");

/// Who calls the admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    Operator,
    /// The root user of this project.
    Root(String),
}

impl Caller {
    /// Only the operator may.
    pub fn operator_only(&self) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Root(_) => Err(ApiError::denied("Only the operator may do this.")),
        }
    }

    /// The operator, or the root user of `project`.
    pub fn project(&self, project: &str) -> Result<(), ApiError> {
        match self {
            Caller::Root(p) if p != project => {
                Err(ApiError::denied(format!("The root user of project {p} has no access to project {project}.")))
            }
            _ => Ok(()),
        }
    }
}

/// One authenticated admin call.
pub(crate) struct Ctx<'a> {
    pub svc: &'a ControlService,
    pub caller: Caller,
    pub params: Params,
    pub req: &'a Incoming,
}

impl Ctx<'_> {
    /// A path parameter.
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name)
    }

    /// A query parameter, percent-decoded (`+` stays `+`).
    pub fn query(&self, name: &str) -> Result<Option<String>, ApiError> {
        for pair in self.req.parts.uri.query().unwrap_or("").split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k == name {
                let v = percent_encoding::percent_decode_str(v).decode_utf8().map_err(|_| {
                    ApiError::new(Code::InvalidArgument, format!("query parameter {name} is not UTF-8"))
                })?;
                return Ok(Some(v.into_owned()));
            }
        }
        Ok(None)
    }

    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        bodies::json(&self.req.body)
    }
}

/// A successful answer: a status and, except for `204`, a JSON body.
pub(crate) struct Reply {
    status: u16,
    body: Option<Vec<u8>>,
}

impl Reply {
    /// `status` with `value` as JSON.
    pub fn json(status: u16, value: &impl serde::Serialize) -> Result<Reply, ApiError> {
        let body = serde_json::to_vec(value).map_err(|e| ApiError::internal(&e))?;
        Ok(Reply { status, body: Some(body) })
    }

    /// `200` with `value`.
    pub fn ok(value: &impl serde::Serialize) -> Result<Reply, ApiError> {
        Reply::json(200, value)
    }

    /// `204 No Content`.
    pub fn no_content() -> Result<Reply, ApiError> {
        Ok(Reply { status: 204, body: None })
    }
}

/// Handles one admin API request.
pub(crate) async fn handle(svc: &ControlService, req: &Incoming) -> Response<Full<Bytes>> {
    match run(svc, req).await {
        Ok(Reply { status, body: Some(b) }) => respond(status, "application/json", b),
        Ok(Reply { status, body: None }) => respond(status, "", Bytes::new()),
        Err(e) => error_response(&e, &req.id),
    }
}

async fn run(svc: &ControlService, req: &Incoming) -> Result<Reply, ApiError> {
    let path = req.parts.uri.path();
    let rel = path.strip_prefix(routes::BASE).filter(|r| r.starts_with('/'));
    let (id, params) = match rel.map(|r| routes::find(req.parts.method.as_str(), r)) {
        Some(Match::Found(id, params)) => (id, params),
        Some(Match::WrongMethod(allowed)) => {
            return Err(ApiError::new(
                Code::MethodNotAllowed,
                format!("{} is not allowed here; allowed: {}", req.parts.method, allowed.join(", ")),
            ))
        }
        Some(Match::NotFound) | None => {
            return Err(ApiError::new(Code::NotFound, format!("no admin API route {path}")));
        }
    };
    if id == RouteId::OpenApi {
        return Ok(Reply { status: 200, body: Some(OPENAPI.as_bytes().to_vec()) });
    }
    let caller = match crate::auth::authenticate(svc.iam(), &req.parts, &req.body, "s3").await? {
        Principal::Operator { .. } => Caller::Operator,
        Principal::User(u) if u.root => Caller::Root(u.project),
        Principal::User(_) => return Err(ApiError::denied("IAM users cannot use the admin API.")),
        Principal::Anonymous => return Err(ApiError::denied("The admin API needs signed requests.")),
    };
    let ctx = Ctx { svc, caller, params, req };
    dispatch(&ctx, id).await
}

async fn dispatch(ctx: &Ctx<'_>, id: RouteId) -> Result<Reply, ApiError> {
    use RouteId::*;
    match id {
        OpenApi => Ok(Reply { status: 200, body: Some(OPENAPI.as_bytes().to_vec()) }),
        Regions => projects::regions(ctx).await,
        ListProjects => projects::list(ctx).await,
        CreateProject => projects::create(ctx).await,
        GetProject => projects::get(ctx).await,
        DeleteProject => projects::delete(ctx).await,
        ListUsers => users::list(ctx).await,
        CreateUser => users::create(ctx).await,
        GetUser => users::get(ctx).await,
        DeleteUser => users::delete(ctx).await,
        GetPolicy => users::get_policy(ctx).await,
        PutPolicy => users::put_policy(ctx).await,
        PutPassword => users::put_password(ctx).await,
        CreateKey => keys::create(ctx).await,
        ListKeys => keys::list(ctx).await,
        GetKey => keys::get(ctx).await,
        UpdateKey => keys::update(ctx).await,
        DeleteKey => keys::delete(ctx).await,
        GetProjectQuota => storage::get_project_quota(ctx).await,
        PutProjectQuota => storage::put_project_quota(ctx).await,
        GetProjectPublicAccessBlock => storage::get_project_public_access_block(ctx).await,
        PutProjectPublicAccessBlock => storage::put_project_public_access_block(ctx).await,
        Usage => storage::usage(ctx).await,
        ListBuckets => storage::list_buckets(ctx).await,
        GetBucketQuota => storage::get_bucket_quota(ctx).await,
        PutBucketQuota => storage::put_bucket_quota(ctx).await,
    }
}

/// `{"error":{"code","message"},"request_id"}` with the code's status.
fn error_response(e: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "error": { "code": e.code.as_str(), "message": e.message },
        "request_id": request_id,
    });
    let mut resp = respond(e.code.status(), "application/json", body.to_string());
    if e.code == Code::ServiceUnavailable {
        resp.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    }
    resp
}

/// The answer to a body that could not be read.
pub(crate) fn body_error(e: &BodyError, request_id: &str) -> Response<Full<Bytes>> {
    error_response(&ApiError::from(e), request_id)
}
