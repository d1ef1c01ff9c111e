//! The AWS IAM query API for a project's users.
//!
//! A request is a form-encoded `POST /` (`Action=CreateUser&UserName=bob&...`)
//! signed with SigV4 for the service `iam` (any scope region). The caller
//! acts in its own project only:
//! - the project's root user may call every action;
//! - an IAM user may call an action when its identity policies allow
//!   `iam:<Action>` on the target user's ARN `arn:aws:iam::{project}:user{path}{name}`
//!   (`.../user/bob`, `.../user/team/bob`) and deny it nowhere; it may never
//!   act on the root user;
//! - the operator is refused: it manages projects through the admin API.
//!
//! Users and keys of other projects do not exist for the caller
//! (`NoSuchEntity`). See [`actions`] for the actions served.

mod access;
mod actions;
pub(crate) mod errors;
pub(crate) mod form;
mod keys;
mod policies;
mod users;
mod xml;

use crate::body::BodyError;
use crate::{respond, ControlService, Incoming};
use bytes::Bytes;
use coffer_iam::Principal;
use errors::{ApiError, Code};
use http::Response;
use http_body_util::Full;

pub(crate) use access::Call;

/// Handles one IAM API request; gives the `Action` it parsed (for the audit log).
pub(crate) async fn handle(svc: &ControlService, req: &Incoming) -> (Response<Full<Bytes>>, Option<String>) {
    let mut action = None;
    let result = run(svc, req, &mut action).await;
    let resp = match result {
        Ok(result) => {
            let name = action.clone().unwrap_or_default();
            respond(200, "text/xml", xml::response(&name, result.as_deref(), &req.id))
        }
        Err(e) => {
            tracing::debug!(request_id = %req.id, action = ?action, code = e.code.as_str(), message = %e.message, "IAM call refused");
            error_response(&e, &req.id)
        }
    };
    (resp, action)
}

/// Parses, authenticates, authorizes and runs the call; gives the inner XML
/// of its `<{Action}Result>` (`None` for actions without one).
async fn run(
    svc: &ControlService,
    req: &Incoming,
    action_out: &mut Option<String>,
) -> Result<Option<String>, ApiError> {
    let form = form::Form::parse(&req.body)?;
    // What the request asks for, as parsed (also when it is refused below).
    *action_out = form.get("Action").filter(|a| !a.is_empty()).map(str::to_owned);
    let principal = crate::auth::authenticate(svc.iam(), &req.parts, &req.body, "iam").await?;
    let caller = match principal {
        Principal::User(u) => u,
        Principal::Operator { .. } => {
            return Err(ApiError::new(
                Code::AccessDenied,
                "The operator manages projects through the admin API (/_coffer/admin/v1); \
                 the IAM API is for the users of a project.",
            ))
        }
        Principal::Anonymous => {
            return Err(ApiError::new(Code::MissingAuthenticationToken, "Request is missing Authentication Token"))
        }
    };
    let action = match form.get("Action") {
        None | Some("") => return Err(ApiError::new(Code::MissingAction, "Missing Action")),
        Some(a) => a.to_owned(),
    };
    *action_out = Some(action.clone());
    let call = Call { svc, caller: &caller, form: &form, action: &action, host: req.host(), peer: req.peer };
    actions::run(&call).await
}

/// The `ErrorResponse` of `e`.
fn error_response(e: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let mut resp = respond(e.code.status(), "text/xml", xml::error(e, request_id));
    if e.code == Code::ServiceUnavailable {
        resp.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    }
    resp
}

/// The answer to a body that could not be read.
pub(crate) fn body_error(e: &BodyError, request_id: &str) -> Response<Full<Bytes>> {
    error_response(&ApiError::from(e), request_id)
}
