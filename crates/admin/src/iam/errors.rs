//! IAM API errors: the codes AWS IAM uses, their statuses, and the mapping
//! from identity, authentication and body errors.

use crate::auth::AuthError;
use crate::body::BodyError;
use coffer_iam::{IamError, ResolveError};

macro_rules! codes {
    ($($name:ident = $status:literal;)*) => {
        /// An IAM error code with its HTTP status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Code { $($name),* }

        impl Code {
            /// The HTTP status IAM answers with.
            pub fn status(self) -> u16 { match self { $(Code::$name => $status),* } }
            /// The `<Code>` text.
            pub fn as_str(self) -> &'static str { match self { $(Code::$name => stringify!($name)),* } }
        }
    };
}

codes! {
    AccessDenied = 403;
    DeleteConflict = 409;
    EntityAlreadyExists = 409;
    IncompleteSignature = 400;
    InvalidAction = 400;
    InvalidClientTokenId = 403;
    InvalidInput = 400;
    LimitExceeded = 409;
    MalformedPolicyDocument = 400;
    MissingAction = 400;
    MissingAuthenticationToken = 403;
    NoSuchEntity = 404;
    RequestEntityTooLarge = 413;
    RequestTimeout = 408;
    ServiceFailure = 500;
    ServiceUnavailable = 503;
    SignatureDoesNotMatch = 403;
    ValidationError = 400;
}

/// A failed IAM call, rendered as an `ErrorResponse`.
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

    /// `ValidationError` for a missing required parameter, in AWS's words.
    pub fn missing(param: &str) -> Self {
        let mut member = param.to_owned();
        if let Some(first) = member.get_mut(..1) {
            first.make_ascii_lowercase();
        }
        ApiError::new(
            Code::ValidationError,
            format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
        )
    }

    /// `NoSuchEntity` for a user.
    pub fn no_user(name: &str) -> Self {
        ApiError::new(Code::NoSuchEntity, format!("The user with name {name} cannot be found."))
    }

    /// `NoSuchEntity` for an access key.
    pub fn no_key(id: &str) -> Self {
        ApiError::new(Code::NoSuchEntity, format!("The Access Key with id {id} cannot be found."))
    }

    /// `<Type>` of the error: the client's fault or ours.
    pub fn kind(&self) -> &'static str {
        if self.code.status() >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }
}

impl From<IamError> for ApiError {
    fn from(e: IamError) -> Self {
        use IamError::*;
        let msg = e.to_string();
        match e {
            NoSuchUser(name) => ApiError::no_user(&name),
            NoSuchKey(id) => ApiError::no_key(&id),
            NoSuchPolicy(name) => {
                ApiError::new(Code::NoSuchEntity, format!("The user policy with name {name} cannot be found."))
            }
            NoSuchProject(_) => ApiError::new(Code::NoSuchEntity, msg),
            UserExists(name) => {
                ApiError::new(Code::EntityAlreadyExists, format!("User with name {name} already exists."))
            }
            ProjectExists(_) => ApiError::new(Code::EntityAlreadyExists, msg),
            ProjectNotEmpty(_) | DeleteConflict(_) => ApiError::new(Code::DeleteConflict, msg),
            InvalidName(m) | InvalidPath(m) => ApiError::new(Code::ValidationError, m),
            MalformedPolicy(m) => ApiError::new(Code::MalformedPolicyDocument, m),
            UnknownPreset(p) => {
                ApiError::new(Code::NoSuchEntity, format!("Policy {p} does not exist or is not attachable."))
            }
            UnknownRegion(_) | RootUser(_) => ApiError::new(Code::InvalidInput, msg),
            // Console passwords: no IAM action sets or checks one.
            WeakPassword(m) => ApiError::new(Code::ValidationError, m),
            BadCredentials => ApiError::new(Code::AccessDenied, msg),
            TooManyKeys(n) => {
                ApiError::new(Code::LimitExceeded, format!("Cannot exceed quota for AccessKeysPerUser: {n}"))
            }
            Store(m) if m.is_retryable() => {
                tracing::warn!(error = %m, "IAM API: metadata store unavailable");
                ApiError::new(Code::ServiceUnavailable, "The service is unavailable. Please try again later.")
            }
            Sealed(_) | Store(_) => {
                tracing::error!(error = %msg, "IAM API: identity operation failed");
                ApiError::new(Code::ServiceFailure, "The request processing has failed because of an unknown error.")
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let msg = e.to_string();
        match e {
            AuthError::Unsigned => {
                ApiError::new(Code::MissingAuthenticationToken, "Request is missing Authentication Token")
            }
            AuthError::SigV2 | AuthError::Malformed(_) => ApiError::new(Code::IncompleteSignature, msg),
            AuthError::Key(ResolveError::Failed(inner)) | AuthError::Internal(inner) => inner.into(),
            AuthError::Key(_) => {
                ApiError::new(Code::InvalidClientTokenId, "The security token included in the request is invalid.")
            }
            AuthError::BadSignature(_) => ApiError::new(
                Code::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            ),
            AuthError::Skewed(_) => ApiError::new(Code::SignatureDoesNotMatch, format!("Signature expired: {msg}")),
            AuthError::PayloadMismatch => ApiError::new(Code::SignatureDoesNotMatch, msg),
        }
    }
}

impl From<&BodyError> for ApiError {
    fn from(e: &BodyError) -> Self {
        match e {
            BodyError::TooLarge(_) => ApiError::new(Code::RequestEntityTooLarge, e.to_string()),
            BodyError::TimedOut => ApiError::new(Code::RequestTimeout, e.to_string()),
            BodyError::Failed(_) => ApiError::new(Code::InvalidInput, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_meta::MetaError;

    #[test]
    fn an_unavailable_store_is_503_never_500() {
        for m in [MetaError::Unavailable("down".into()), MetaError::Conflict] {
            let e = ApiError::from(IamError::Store(m));
            assert_eq!((e.code, e.code.status(), e.kind()), (Code::ServiceUnavailable, 503, "Receiver"));
        }
        let e = ApiError::from(AuthError::Key(ResolveError::Failed(IamError::Store(MetaError::Conflict))));
        assert_eq!(e.code, Code::ServiceUnavailable);
        assert_eq!(ApiError::from(IamError::Store(MetaError::Corrupt("x".into()))).code, Code::ServiceFailure);
    }
}
