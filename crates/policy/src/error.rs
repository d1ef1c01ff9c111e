//! The errors [`crate::Policy::parse_identity`] and [`crate::Policy::parse_bucket`] report.
//!
//! Their messages are shown to API users (as `MalformedPolicyDocument` or `MalformedPolicy`), so each
//! names the statement, the element and what is wrong with it.

use std::fmt;

/// Which statement of a document an error is about: its 1-based position in `Statement` and its `Sid`,
/// when it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRef {
    /// 1-based position of the statement in the document's `Statement` element.
    pub index: usize,
    /// The statement's `Sid`, when it has a valid one.
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Statement {}", self.index)?;
        if let Some(sid) = &self.sid {
            write!(f, " (Sid {sid:?})")?;
        }
        Ok(())
    }
}

/// Why a policy document was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The document is larger than [`crate::MAX_POLICY_BYTES`].
    #[error("policy document is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge {
        /// The document's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The document is not JSON.
    #[error("policy document is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// Something is wrong outside the statements: the top level, `Version`, `Id` or `Statement` itself.
    #[error("policy document: {element}: {reason}")]
    Document {
        /// The element at fault, e.g. `Version`.
        element: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Something is wrong inside one statement.
    #[error("{statement}: {element}: {reason}")]
    Statement {
        /// The statement at fault.
        statement: StatementRef,
        /// The element at fault, e.g. `Action` or `Condition.StringLike.s3:prefix`.
        element: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A bucket policy names a resource outside its bucket.
    #[error(
        "Policy has invalid resource: {statement}: {element} {resource:?} can name neither bucket {bucket:?} \
         (\"arn:aws:s3:::{bucket}\") nor anything inside it (\"arn:aws:s3:::{bucket}/...\")"
    )]
    InvalidResource {
        /// The statement at fault.
        statement: StatementRef,
        /// `Resource` or `NotResource`.
        element: &'static str,
        /// The offending resource as written.
        resource: String,
        /// The bucket the policy is for.
        bucket: String,
    },
}
