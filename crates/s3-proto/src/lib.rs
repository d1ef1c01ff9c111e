//! The S3 wire protocol, independent of storage and of the HTTP server.
//!
//! - [`ops`]: every operation declared once: request line, IAM action, billing class.
//! - [`router`]: a request line (method, host, path, query) to a typed [`router::Operation`].
//! - [`xml`]: request documents parsed and response documents rendered with quick-xml.
//! - [`error`]: [`error::S3Error`], every failure as S3 XML with code, status and request id.
//! - [`sigv4`]: AWS Signature Version 4 verification (header and presigned) and signing.
//! - [`sigv2`]: AWS Signature Version 2 verification (header and presigned), signing for tests.
//! - [`acl`]: canned ACLs as `AccessControlPolicy` documents, and back.
//! - [`auth`]: which of the two a request carries, if any.
//! - [`body`]: a small body read whole under a size cap, the server's idle timeout told apart.
//! - [`chunked`]: the `aws-chunked` body decoder with per-chunk signature checks.
//! - [`post`]: POST object forms: multipart fields, policy documents and their signatures.
//!
//! Architecture invariant: nothing here names a store, a database or hyper.

pub mod acl;
pub mod attributes;
pub mod auth;
pub mod body;
pub mod chunked;
pub mod cors;
pub mod error;
pub mod lifecycle;
pub mod object_lock;
pub mod ops;
pub mod ownership;
pub mod post;
pub mod probes;
pub mod public_access;
pub mod router;
pub mod sigv2;
pub mod sigv4;
pub mod tagging;
pub mod time_fmt;
pub mod unbuilt;
pub mod versioning;
pub mod xml;

pub use error::{S3Error, S3ErrorCode};
