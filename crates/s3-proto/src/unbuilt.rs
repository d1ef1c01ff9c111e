//! Requests that ask for something Coffer has not built get an explicit
//! error, never a success that did nothing: backup software that asked for
//! an object lock, or a client that asked for encryption, decides on the
//! answer.
//!
//! [`refuse`] looks at the headers (or, for POST forms, the form fields as
//! headers) that ask for a feature; [`version_id`] at a `versionId` query
//! parameter or copy-source suffix. Until versioning exists, every object is
//! its own `null` version: `versionId=null` addresses it, any other id is
//! `400 InvalidArgument`. Sub-resources that are not built are refused by
//! the router ([`crate::router::Operation::NotImplemented`]).
//!
//! ARCHITECTURE.md lists what each request header and sub-resource gets.

use crate::error::{S3Error, S3ErrorCode as C};
use crate::router::Operation;
use http::HeaderMap;

/// Storage classes AWS defines. Only `STANDARD` is built; the others are
/// `501 NotImplemented`, and a name not in this list `400 InvalidStorageClass`.
const KNOWN_STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
];

/// Headers that ask a write for a feature that is not built, whatever their
/// value (an empty value asks for nothing).
const UNBUILT_WRITE_HEADERS: &[(&str, &str)] = &[
    ("x-amz-website-redirect-location", "Website redirects"),
    ("x-amz-server-side-encryption", "Server-side encryption"),
    ("x-amz-server-side-encryption-aws-kms-key-id", "Server-side encryption"),
    ("x-amz-server-side-encryption-context", "Server-side encryption"),
    ("x-amz-server-side-encryption-bucket-key-enabled", "Server-side encryption"),
    ("x-amz-write-offset-bytes", "Appending to an object"),
];

/// SSE-C headers: refused on every operation (reads included: an object
/// that was never encrypted cannot be read "with" a customer key).
const SSE_C_PREFIXES: &[&str] =
    &["x-amz-server-side-encryption-customer-", "x-amz-copy-source-server-side-encryption-customer-"];

/// The operations that write an object's headers.
/// DeleteObject's conditions (on the ETag, modification time and size): a
/// delete that ignored them would remove what the client meant to keep.
pub const CONDITIONAL_DELETE_HEADERS: &[&str] =
    &["if-match", "x-amz-if-match-last-modified-time", "x-amz-if-match-size"];

fn writes_object(op: Operation) -> bool {
    op.is(crate::ops::Trait::WritesObject)
}

fn not_built(what: &str, header: &str) -> S3Error {
    S3Error::with_message(C::NotImplemented, format!("{what} is not implemented by this server ({header})."))
        .with_extra("Header", header)
}

/// Refuses a request whose headers ask for a feature that is not built.
pub fn refuse(op: Operation, headers: &HeaderMap) -> Result<(), S3Error> {
    let value = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("?").trim());
    for name in headers.keys() {
        let name = name.as_str();
        // One value each: a second `x-amz-storage-class` (or lock, ACL, …)
        // header must not slip past a check of the first.
        if name.starts_with("x-amz-") && !name.starts_with("x-amz-meta-") && headers.get_all(name).iter().count() > 1 {
            return Err(S3Error::with_message(
                C::InvalidArgument,
                format!("The header {name} is given more than once."),
            )
            .with_extra("ArgumentName", name));
        }
        if SSE_C_PREFIXES.iter().any(|p| name.starts_with(p)) {
            return Err(not_built("Server-side encryption with customer keys", name));
        }
    }
    if op == Operation::DeleteObject {
        for name in CONDITIONAL_DELETE_HEADERS {
            if headers.contains_key(*name) {
                return Err(not_built("Conditional deletes", name));
            }
        }
    }
    if !(writes_object(op) || op == Operation::UploadPart || op == Operation::UploadPartCopy) {
        return Ok(());
    }
    if writes_object(op) {
        for (name, what) in UNBUILT_WRITE_HEADERS {
            if value(name).is_some_and(|v| !v.is_empty()) {
                return Err(not_built(what, name));
            }
        }
        if let Some(class) = value("x-amz-storage-class") {
            if !KNOWN_STORAGE_CLASSES.contains(&class) {
                return Err(S3Error::new(C::InvalidStorageClass).with_extra("StorageClassRequested", class));
            }
            if class != "STANDARD" {
                return Err(not_built(&format!("Storage class {class}"), "x-amz-storage-class"));
            }
        }
        if let Some(d) = value("x-amz-tagging-directive") {
            if d != "COPY" && d != "REPLACE" {
                return Err(S3Error::with_message(C::InvalidArgument, "Unknown tagging directive."));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    fn code(op: Operation, pairs: &[(&str, &str)]) -> Option<C> {
        refuse(op, &headers(pairs)).err().map(|e| e.code)
    }

    #[test]
    fn every_unbuilt_write_header_is_refused_on_every_write() {
        for op in [PutObject, CopyObject, CreateMultipartUpload, PostObject] {
            for (name, _) in UNBUILT_WRITE_HEADERS {
                assert_eq!(code(op, &[(name, "x")]), Some(C::NotImplemented), "{op:?} {name}");
            }
        }
        // GET and DELETE do not carry these; nothing to refuse.
        assert_eq!(code(GetObject, &[("x-amz-tagging", "a=b")]), None);
    }

    #[test]
    fn conditional_deletes() {
        assert_eq!(code(DeleteObject, &[("if-match", "\"abc\"")]), Some(C::NotImplemented));
        assert_eq!(code(DeleteObject, &[("x-amz-if-match-size", "3")]), Some(C::NotImplemented));
        let t = [("x-amz-if-match-last-modified-time", "Wed, 01 Jan 2025 00:00:00 GMT")];
        assert_eq!(code(DeleteObject, &t), Some(C::NotImplemented));
        assert_eq!(code(DeleteObject, &[]), None);
        assert_eq!(code(GetObject, &[("if-match", "\"abc\"")]), None);
    }

    #[test]
    fn storage_classes() {
        assert_eq!(code(PutObject, &[("x-amz-storage-class", "STANDARD")]), None);
        assert_eq!(code(PutObject, &[("x-amz-storage-class", "GLACIER")]), Some(C::NotImplemented));
        assert_eq!(code(CreateMultipartUpload, &[("x-amz-storage-class", "STANDARD_IA")]), Some(C::NotImplemented));
        assert_eq!(code(CopyObject, &[("x-amz-storage-class", "COLD")]), Some(C::InvalidStorageClass));
        // A second value cannot hide behind an accepted first one.
        let twice = [("x-amz-storage-class", "STANDARD"), ("x-amz-storage-class", "GLACIER")];
        assert_eq!(code(PutObject, &twice), Some(C::InvalidArgument));
        let acl = [("x-amz-acl", "private"), ("x-amz-acl", "public-read")];
        assert_eq!(code(PutObject, &acl), Some(C::InvalidArgument));
        assert_eq!(code(PutObject, &[("x-amz-meta-a", "1"), ("x-amz-meta-a", "2")]), None);
    }

    #[test]
    fn sse_c_everywhere() {
        for op in [GetObject, HeadObject, PutObject, UploadPart, UploadPartCopy, CopyObject] {
            let h = [("x-amz-server-side-encryption-customer-algorithm", "AES256")];
            assert_eq!(code(op, &h), Some(C::NotImplemented), "{op:?}");
        }
        let h = [("x-amz-copy-source-server-side-encryption-customer-key", "k")];
        assert_eq!(code(UploadPartCopy, &h), Some(C::NotImplemented));
    }

    #[test]
    fn empty_tagging_asks_for_nothing() {
        assert_eq!(code(PutObject, &[("x-amz-tagging", "")]), None);
        assert_eq!(code(CopyObject, &[("x-amz-tagging-directive", "REPLACE")]), None);
        assert_eq!(code(CopyObject, &[("x-amz-tagging-directive", "MERGE")]), Some(C::InvalidArgument));
    }
}
