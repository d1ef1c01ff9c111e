//! Usage metering of what the console does with objects: the server hands
//! the console a [`TransferMeter`] that counts into the same hourly records
//! as S3 requests, so an upload through the console is billed like a PUT.

use crate::Inner;

/// The billing class of a console action (as the S3 operation it stands for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferKind {
    /// Object details, downloads (GetObject, HeadObject).
    Get,
    /// Uploads, parts, starting and completing multipart uploads.
    Put,
    /// A page of the object browser (ListObjectsV2).
    List,
    /// Each deleted object, aborted uploads.
    Delete,
}

/// Where console actions are counted.
pub trait TransferMeter: Send + Sync {
    /// One action on `bucket` of `project`, with the bytes received and sent.
    fn count(&self, project: &str, bucket: &str, kind: TransferKind, bytes_in: u64, bytes_out: u64);
    /// Bytes received for an action already counted.
    fn add_bytes_in(&self, project: &str, bucket: &str, bytes: u64);
    /// A sign-in ended: `ok`, `failed` (wrong credentials), `throttled`
    /// (refused before checking), or `busy` (no free password worker).
    fn sign_in(&self, _outcome: &'static str) {}
    /// A request that may change something (any method but GET and HEAD)
    /// was answered: for the audit log.
    fn action(&self, _action: &ConsoleAction) {}
}

/// A console request that may change something, as the audit log records it.
#[derive(Clone, Debug)]
pub struct ConsoleAction {
    pub method: String,
    /// The page or API path (names of projects, users, buckets or keys
    /// included; never a form's values, so no password or secret).
    pub path: String,
    pub status: u16,
    /// The signed-in principal's ARN; `None` before sign-in (a sign-in attempt).
    pub who: Option<String>,
    pub peer: Option<std::net::SocketAddr>,
    pub user_agent: Option<String>,
    pub duration: std::time::Duration,
}

impl Inner {
    /// Reports a sign-in's outcome, when the server gave the console a meter.
    pub(crate) fn sign_in(&self, outcome: &'static str) {
        if let Some(m) = &self.meter {
            m.sign_in(outcome);
        }
    }

    /// Counts one action, when the server gave the console a meter.
    pub(crate) fn count(&self, project: &str, bucket: &str, kind: TransferKind, bytes_in: u64, bytes_out: u64) {
        if let Some(m) = &self.meter {
            m.count(project, bucket, kind, bytes_in, bytes_out);
        }
    }

    /// Adds bytes received to an action already counted.
    pub(crate) fn add_bytes_in(&self, project: &str, bucket: &str, bytes: u64) {
        if let Some(m) = &self.meter {
            m.add_bytes_in(project, bucket, bytes);
        }
    }
}
