//! Admin API errors: a code with its status, rendered as
//! `{"error":{"code","message"},"request_id"}`, and the mappings from the
//! identity, store, authentication and body errors.

use crate::auth::AuthError;
use crate::body::BodyError;
use coffer_iam::{IamError, ResolveError};
use coffer_meta::MetaError;

macro_rules! codes {
    ($($name:ident = $status:literal;)*) => {
        /// An admin API error code with its HTTP status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Code { $($name),* }

        impl Code {
            /// The HTTP status.
            pub fn status(self) -> u16 { match self { $(Code::$name => $status),* } }
            /// The `code` text.
            pub fn as_str(self) -> &'static str { match self { $(Code::$name => stringify!($name)),* } }
            /// Every code (documented in the OpenAPI document; a test checks).
            #[cfg(test)]
            pub const ALL: &'static [Code] = &[$(Code::$name),*];
        }
    };
}

codes! {
    AccessDenied = 403;
    DeleteConflict = 409;
    InternalError = 500;
    InvalidAccessKeyId = 403;
    InvalidArgument = 400;
    InvalidName = 400;
    MalformedJson = 400;
    MalformedPolicy = 400;
    MethodNotAllowed = 405;
    NoSuchBucket = 404;
    NoSuchKey = 404;
    NoSuchPolicy = 404;
    NoSuchProject = 404;
    NoSuchUser = 404;
    NotFound = 404;
    ProjectAlreadyExists = 409;
    ProjectNotEmpty = 409;
    RequestTooLarge = 413;
    RequestTimeout = 408;
    RequestTimeTooSkewed = 403;
    RootUser = 400;
    ServiceUnavailable = 503;
    SignatureDoesNotMatch = 403;
    TooManyKeys = 409;
    UnknownPreset = 400;
    UnknownRegion = 400;
    UserAlreadyExists = 409;
    WeakPassword = 400;
    XAmzContentSHA256Mismatch = 400;
}

/// A failed admin call.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub(crate) struct ApiError {
    pub code: Code,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }

    /// `AccessDenied`.
    pub fn denied(message: impl Into<String>) -> Self {
        ApiError::new(Code::AccessDenied, message)
    }

    /// `ServiceUnavailable` (503, with `Retry-After`): the metadata store
    /// is unavailable or contended and nothing was changed; retry later.
    pub fn unavailable(detail: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "admin API: metadata store unavailable");
        ApiError::new(Code::ServiceUnavailable, "The metadata store is unavailable; nothing was changed. Retry later.")
    }

    /// `InternalError`, logged; no detail leaves the server.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "admin API: operation failed");
        ApiError::new(Code::InternalError, "We encountered an internal error. Please try again.")
    }
}

impl From<IamError> for ApiError {
    fn from(e: IamError) -> Self {
        use IamError::*;
        let code = match &e {
            NoSuchProject(_) => Code::NoSuchProject,
            NoSuchUser(_) => Code::NoSuchUser,
            NoSuchKey(_) => Code::NoSuchKey,
            NoSuchPolicy(_) => Code::NoSuchPolicy,
            ProjectExists(_) => Code::ProjectAlreadyExists,
            UserExists(_) => Code::UserAlreadyExists,
            ProjectNotEmpty(_) => Code::ProjectNotEmpty,
            DeleteConflict(_) => Code::DeleteConflict,
            InvalidName(_) => Code::InvalidName,
            InvalidPath(_) => Code::InvalidArgument,
            MalformedPolicy(_) => Code::MalformedPolicy,
            UnknownPreset(_) => Code::UnknownPreset,
            UnknownRegion(_) => Code::UnknownRegion,
            RootUser(_) => Code::RootUser,
            TooManyKeys(_) => Code::TooManyKeys,
            WeakPassword(_) => Code::WeakPassword,
            // Console sign-ins only; no admin route checks a password.
            BadCredentials => Code::AccessDenied,
            Store(m) if m.is_retryable() => return ApiError::unavailable(m),
            Sealed(_) | Store(_) => return ApiError::internal(&e),
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> Self {
        match e {
            MetaError::NoSuchBucket => ApiError::new(Code::NoSuchBucket, "The specified bucket does not exist."),
            e if e.is_retryable() => ApiError::unavailable(&e),
            e => ApiError::internal(&e),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let msg = e.to_string();
        match e {
            AuthError::Unsigned => ApiError::denied("The admin API needs requests signed with AWS Signature Version 4."),
            AuthError::SigV2 => ApiError::denied(msg),
            AuthError::Malformed(s) => ApiError::new(if s.status() == 403 { Code::AccessDenied } else { Code::InvalidArgument }, msg),
            AuthError::Key(ResolveError::Failed(inner)) | AuthError::Internal(inner) => inner.into(),
            AuthError::Key(_) => ApiError::new(Code::InvalidAccessKeyId, msg),
            AuthError::BadSignature(_) => ApiError::new(
                Code::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ),
            AuthError::Skewed(_) => ApiError::new(Code::RequestTimeTooSkewed, msg),
            AuthError::PayloadMismatch => ApiError::new(Code::XAmzContentSHA256Mismatch, msg),
        }
    }
}

impl From<&BodyError> for ApiError {
    fn from(e: &BodyError) -> Self {
        match e {
            BodyError::TooLarge(_) => ApiError::new(Code::RequestTooLarge, e.to_string()),
            BodyError::TimedOut => ApiError::new(Code::RequestTimeout, e.to_string()),
            BodyError::Failed(_) => ApiError::new(Code::InvalidArgument, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_store_is_503_never_500() {
        for m in [MetaError::Unavailable("down".into()), MetaError::Conflict] {
            assert_eq!(ApiError::from(m).code.status(), 503);
        }
        let e = ApiError::from(IamError::Store(MetaError::Unavailable("down".into())));
        assert_eq!((e.code, e.code.status()), (Code::ServiceUnavailable, 503));
        let e = ApiError::from(AuthError::Key(ResolveError::Failed(IamError::Store(MetaError::Conflict))));
        assert_eq!(e.code, Code::ServiceUnavailable);
        assert_eq!(ApiError::from(MetaError::Corrupt("x".into())).code, Code::InternalError);
    }
}
