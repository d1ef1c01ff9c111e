//! POST object: browser form uploads (`multipart/form-data` to a bucket URL).
//!
//! - [`form`]: reads the fields before the file and hands the file over as a stream;
//! - [`signature`]: the SigV4 or SigV2 signature of the policy;
//! - [`policy`]: the policy document and its conditions.
//!
//! The S3 layer above checks, in this order: the form shape, the signature
//! (against the key's secret), the policy's expiry and conditions; only then
//! is the file streamed into storage, bounded by `content-length-range`.

pub mod form;
pub mod policy;
pub mod signature;

pub use form::{FileField, FormFields};
pub use policy::PostPolicy;
pub use signature::PostSignature;

#[cfg(test)]
mod tests;
