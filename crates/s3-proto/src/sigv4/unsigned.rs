//! "Signed means signed": which request headers a SigV4 signature must cover.
//!
//! A header the signature does not cover can be added or changed by anyone
//! who holds the request, above all the holder of a presigned URL. S3 acts
//! on `x-amz-*` headers (`x-amz-copy-source` turns a PutObject into a
//! CopyObject, `x-amz-acl` publishes an object), so every `x-amz-*` header
//! present, and `host`, must be among the signed headers. Otherwise the
//! request is refused as AWS refuses it: 403 `AccessDenied`, "There were
//! headers present in the request which were not signed", with the names in
//! a `HeadersNotSigned` element (comma and space separated, as AWS lists them).
//!
//! The exemptions, and why each is safe:
//! - `x-amz-content-sha256`, always: its value is the last line of the
//!   canonical request (the payload hash), so the signature covers it whether
//!   or not `SignedHeaders` names it. On a presigned URL (signed over
//!   `UNSIGNED-PAYLOAD`) any other value fails the signature, which is what
//!   AWS answers too (`SignatureDoesNotMatch`, not `HeadersNotSigned`).
//! - `x-amz-user-agent` and `x-amz-checksum-mode`, on presigned URLs only:
//!   AWS's own SDKs leave them out of a presigned URL's signature (the Rust
//!   SDK's `aws-sigv4` does so explicitly) while telling the caller to send
//!   them, so AWS accepts them unsigned there. Neither changes what the
//!   request does: one is informational, the other only adds the stored
//!   checksum to a GetObject answer.
//!
//! Everything else is checked, including `x-amz-date` on a presigned URL
//! (the URL's own `X-Amz-Date` is the one that counts) and
//! `x-amz-security-token`. Headers outside `x-amz-*` (`content-type`,
//! `range`, `content-md5`, ...) are the client's business, as on AWS for
//! header auth; S3's own operation-changing headers all start with `x-amz-`.
//! Checksums sent as `aws-chunked` trailers are not headers and are bound by
//! the chunk and trailer signatures instead.

use http::HeaderMap;

use crate::error::{S3Error, S3ErrorCode};

/// The message AWS gives.
pub const HEADERS_NOT_SIGNED: &str = "There were headers present in the request which were not signed";

/// `x-amz-*` headers that may be absent from `SignedHeaders` in every request.
const ALWAYS_EXEMPT: &[&str] = &["x-amz-content-sha256"];

/// `x-amz-*` headers that may also be absent from a presigned URL's `X-Amz-SignedHeaders`.
const PRESIGNED_EXEMPT: &[&str] = &["x-amz-checksum-mode", "x-amz-user-agent"];

/// The headers of `headers` that must be signed but are not in `signed`
/// (lower-case, sorted), sorted. `host` is required, signed and present: a
/// request without one (HTTP/1.0 allows it) would verify against a signature
/// over an empty host, which covers no endpoint at all.
pub(crate) fn unsigned_headers<'h>(headers: &'h HeaderMap, signed: &[String], presigned: bool) -> Vec<&'h str> {
    let is_signed = |name: &str| signed.binary_search_by(|s| s.as_str().cmp(name)).is_ok();
    let exempt = |name: &str| ALWAYS_EXEMPT.contains(&name) || (presigned && PRESIGNED_EXEMPT.contains(&name));
    let mut missing: Vec<&str> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|n| n.starts_with("x-amz-") && !exempt(n) && !is_signed(n))
        .collect();
    if !is_signed("host") || !headers.contains_key(http::header::HOST) {
        missing.push("host");
    }
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// Ok when every header that must be signed is; else the `AccessDenied` AWS gives.
pub(crate) fn check(headers: &HeaderMap, signed: &[String], presigned: bool) -> Result<(), S3Error> {
    let missing = unsigned_headers(headers, signed, presigned);
    if missing.is_empty() {
        return Ok(());
    }
    Err(S3Error::with_message(S3ErrorCode::AccessDenied, HEADERS_NOT_SIGNED)
        .with_extra("HeadersNotSigned", missing.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for n in names {
            h.append(http::HeaderName::from_bytes(n.as_bytes()).unwrap(), "v".parse().unwrap());
        }
        h
    }

    fn signed(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn every_amz_header_and_host_must_be_signed() {
        let h = headers(&["host", "x-amz-date", "x-amz-acl", "X-Amz-Copy-Source", "content-type", "range"]);
        let s = signed(&["host", "x-amz-date"]);
        assert_eq!(unsigned_headers(&h, &s, false), ["x-amz-acl", "x-amz-copy-source"]);
        assert_eq!(unsigned_headers(&h, &s, true), ["x-amz-acl", "x-amz-copy-source"]);
        let e = check(&h, &s, true).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (S3ErrorCode::AccessDenied, HEADERS_NOT_SIGNED));
        assert_eq!(e.extra, [("HeadersNotSigned", "x-amz-acl, x-amz-copy-source".to_owned())]);
        // Headers outside x-amz-* may stay unsigned.
        let all = signed(&["host", "x-amz-date", "x-amz-acl", "x-amz-copy-source"]);
        assert!(check(&h, &all, false).is_ok());
        // `host` must be signed, present or not.
        assert_eq!(unsigned_headers(&headers(&["host"]), &signed(&["x-amz-date"]), false), ["host"]);
        assert_eq!(unsigned_headers(&HeaderMap::new(), &signed(&["range"]), true), ["host"]);
        // Signed but absent: a signature over an empty host covers nothing.
        assert_eq!(unsigned_headers(&HeaderMap::new(), &signed(&["host"]), true), ["host"]);
        assert_eq!(unsigned_headers(&HeaderMap::new(), &signed(&["host", "x-amz-date"]), false), ["host"]);
        // A repeated header is named once.
        let h = headers(&["host", "x-amz-meta-a", "x-amz-meta-a"]);
        assert_eq!(unsigned_headers(&h, &signed(&["host"]), false), ["x-amz-meta-a"]);
    }

    #[test]
    fn exemptions_are_exactly_the_documented_ones() {
        let h = headers(&["host", "x-amz-content-sha256", "x-amz-user-agent", "x-amz-checksum-mode", "x-amz-date"]);
        let s = signed(&["host"]);
        assert_eq!(unsigned_headers(&h, &s, true), ["x-amz-date"]);
        assert_eq!(unsigned_headers(&h, &s, false), ["x-amz-checksum-mode", "x-amz-date", "x-amz-user-agent"]);
        // Near-misses of the exempt names are not exempt; `x-amzn-*` is not `x-amz-*`.
        let h = headers(&["host", "x-amz-content-sha2566", "x-amz-checksum-crc32", "x-amzn-trace-id"]);
        assert_eq!(unsigned_headers(&h, &s, true), ["x-amz-checksum-crc32", "x-amz-content-sha2566"]);
    }
}
