//! What the identity use cases report. Front-ends (IAM API, admin API, CLI)
//! map each variant to their protocol's error.

use coffer_meta::MetaError;

/// A failed identity operation.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("project {0} does not exist")]
    NoSuchProject(String),
    #[error("user {0} does not exist")]
    NoSuchUser(String),
    #[error("access key {0} does not exist")]
    NoSuchKey(String),
    #[error("policy {0} is not set on the user")]
    NoSuchPolicy(String),
    #[error("project name {0} is taken: by a project, or by a deleted one (names are never reused)")]
    ProjectExists(String),
    #[error("user {0} already exists")]
    UserExists(String),
    #[error("project {0} still owns buckets; delete them first")]
    ProjectNotEmpty(String),
    /// The user still has keys or policies (the IAM API refuses to delete it).
    #[error("{0}")]
    DeleteConflict(String),
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// An IAM path or path prefix that breaks AWS's rules.
    #[error("invalid path: {0}")]
    InvalidPath(String),
    #[error("malformed policy document: {0}")]
    MalformedPolicy(String),
    #[error("unknown preset policy {0}")]
    UnknownPreset(String),
    #[error("region {0} is not served by this deployment")]
    UnknownRegion(String),
    /// The root user's permissions are fixed (full access to its project).
    #[error("{0}")]
    RootUser(String),
    #[error("a user may have at most {0} access keys")]
    TooManyKeys(usize),
    /// A console password too short or too long (the message says which).
    #[error("weak password: {0}")]
    WeakPassword(String),
    /// A console sign-in failed: unknown project or user, no password, or a
    /// wrong one (deliberately indistinguishable).
    #[error("the user name or password is wrong")]
    BadCredentials,
    #[error("stored secret cannot be opened: {0}")]
    Sealed(#[from] crate::seal::SealError),
    #[error(transparent)]
    Store(#[from] MetaError),
}
