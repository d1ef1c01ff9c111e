//! Client-side SigV2, for tests: the `Authorization` value of a request and
//! the query of a presigned URL. The server side never calls these.

use http::HeaderMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::canonical::{canonical_resource, string_to_sign};
use super::{header_string_to_sign, signature};

/// Everything but the unreserved `A-Za-z0-9-._~` is encoded in query values.
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Client side, for tests: the `Authorization` header value
/// (`AWS <access key>:<signature>`) of a request with these headers.
///
/// `headers` must already hold the date to send: `Date`, or `x-amz-date`
/// (then signed among the `x-amz-*` headers, with an empty date line).
/// `raw_path` is the path as sent, percent-encoded; for a virtual-hosted
/// request put `/bucket` in front, as the server's canonical resource does.
pub fn sign_header(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    access_key: &str,
    secret: &str,
) -> String {
    let sts = header_string_to_sign(method, raw_path, raw_query, headers);
    format!("AWS {access_key}:{}", signature(secret, &sts))
}

/// Client side, for tests: a presigned URL's query string, `raw_query` kept
/// and followed by `AWSAccessKeyId`, `Expires` and `Signature` (URL-encoded).
///
/// No header is signed. `raw_path` is as for [`sign_header`].
pub fn presign_query(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    access_key: &str,
    secret: &str,
    expires_unix: i64,
) -> String {
    let expires = expires_unix.to_string();
    let resource = canonical_resource(None, raw_path, raw_query);
    let sts = string_to_sign(method, &HeaderMap::new(), expires.as_bytes(), false, &resource);
    let signature = signature(secret, &sts);
    let mut query = raw_query.to_owned();
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str("AWSAccessKeyId=");
    query.extend(utf8_percent_encode(access_key, QUERY_SET));
    query.push_str("&Expires=");
    query.push_str(&expires);
    query.push_str("&Signature=");
    query.extend(utf8_percent_encode(&signature, QUERY_SET));
    query
}
