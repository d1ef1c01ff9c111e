//! The canonical request of SigV4: URI, query string and headers in the exact
//! byte form that both the client and the server hash.

use std::borrow::Cow;

use http::HeaderMap;
use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::crypto::sha256_hex;

/// Everything except the unreserved characters `A-Za-z0-9-._~` is encoded.
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// As [`QUERY_SET`], but `/` stays: the set for the canonical URI.
const PATH_SET: &AsciiSet = &QUERY_SET.remove(b'/');

/// Percent-decodes `s` (a `+` stays a `+`).
fn decode(s: &str) -> Cow<'_, [u8]> {
    percent_decode(s.as_bytes()).into()
}

/// AWS `UriEncode` of raw bytes, `/` included.
pub(crate) fn encode_component(bytes: &[u8]) -> String {
    percent_encode(bytes, QUERY_SET).to_string()
}

/// The canonical URI for S3: the path decoded once and encoded once again,
/// `/` kept. An empty path is `/`.
pub(crate) fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_owned();
    }
    percent_encode(&decode(raw_path), PATH_SET).to_string()
}

/// The path exactly as sent, for clients that sign their own encoding.
pub(crate) fn raw_uri(raw_path: &str) -> &str {
    if raw_path.is_empty() {
        "/"
    } else {
        raw_path
    }
}

/// The query parameters, percent-decoded (lossily to UTF-8), in order.
/// A parameter without `=` has an empty value; empty segments are skipped.
pub(crate) fn query_pairs(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (String::from_utf8_lossy(&decode(k)).into_owned(), String::from_utf8_lossy(&decode(v)).into_owned())
        })
        .collect()
}

/// The canonical query string: each parameter decoded and re-encoded, sorted
/// by key then value. With `skip_signature`, `X-Amz-Signature` is left out
/// (presigned URLs).
pub(crate) fn canonical_query(raw_query: &str, skip_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = decode(k);
            if skip_signature && &*k == b"X-Amz-Signature" {
                return None;
            }
            Some((encode_component(&k), encode_component(&decode(v))))
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(raw_query.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Appends `value` with leading and trailing blanks removed and every inner
/// run of spaces and tabs collapsed into a single space.
fn push_trimmed(value: &[u8], out: &mut Vec<u8>) {
    let mut first = true;
    for word in value.split(|&b| b == b' ' || b == b'\t').filter(|w| !w.is_empty()) {
        if !first {
            out.push(b' ');
        }
        out.extend_from_slice(word);
        first = false;
    }
}

/// The parts of the canonical request that do not depend on the side.
pub(crate) struct CanonicalParts<'a> {
    /// The HTTP method, as sent.
    pub method: &'a str,
    /// The canonical URI (see [`canonical_uri`] and [`raw_uri`]).
    pub uri: &'a str,
    /// The canonical query string.
    pub query: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// Signed header names, lower-case and sorted.
    pub signed_headers: &'a [String],
    /// The hashed-payload line (hex SHA-256, `UNSIGNED-PAYLOAD`, ...).
    pub payload_hash: &'a str,
}

impl CanonicalParts<'_> {
    /// The canonical request bytes:
    /// method, URI, query, headers (one per line), blank, signed headers, payload hash.
    pub(crate) fn canonical_request(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(self.method.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.uri.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.query.as_bytes());
        out.push(b'\n');
        for name in self.signed_headers {
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
            for (i, v) in self.headers.get_all(name.as_str()).iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_trimmed(v.as_bytes(), &mut out);
            }
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(self.signed_headers.join(";").as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.payload_hash.as_bytes());
        out
    }
}

/// The string to sign for a canonical request.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!("{}\n{amz_date}\n{scope}\n{}", super::ALGORITHM, sha256_hex(canonical_request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_is_decoded_then_encoded_once() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/test$file.text"), "/test%24file.text");
        assert_eq!(canonical_uri("/test%24file.text"), "/test%24file.text");
        assert_eq!(canonical_uri("/a%20b/c d+e~"), "/a%20b/c%20d%2Be~");
        assert_eq!(canonical_uri("/%e2%82%ac"), "/%E2%82%AC");
        assert_eq!(canonical_uri("/a%2Fb//c"), "/a/b//c");
        // A stray `%` is data, encoded as such.
        assert_eq!(canonical_uri("/100%"), "/100%25");
        assert_eq!(raw_uri(""), "/");
        assert_eq!(raw_uri("/a%2Fb"), "/a%2Fb");
    }

    #[test]
    fn query_is_sorted_and_reencoded() {
        assert_eq!(canonical_query("", false), "");
        assert_eq!(canonical_query("lifecycle", false), "lifecycle=");
        assert_eq!(canonical_query("prefix=J&max-keys=2", false), "max-keys=2&prefix=J");
        assert_eq!(canonical_query("b=2&a=x y&a=1&&c=%2f+", false), "a=1&a=x%20y&b=2&c=%2F%2B");
        assert_eq!(canonical_query("X-Amz-Signature=abc&X-Amz-Date=1", true), "X-Amz-Date=1");
        assert_eq!(canonical_query("X-Amz-Signature=abc", false), "X-Amz-Signature=abc");
        assert_eq!(
            query_pairs("a=%2F&b&c=1+2"),
            vec![("a".to_owned(), "/".to_owned()), ("b".to_owned(), String::new()), ("c".to_owned(), "1+2".to_owned()),]
        );
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.com".parse().unwrap());
        headers.append("x-amz-meta-a", "  one   two \t three ".parse().unwrap());
        headers.append("x-amz-meta-a", "four".parse().unwrap());
        let names = vec!["host".to_owned(), "x-amz-meta-a".to_owned(), "x-missing".to_owned()];
        let parts = CanonicalParts {
            method: "GET",
            uri: "/",
            query: "",
            headers: &headers,
            signed_headers: &names,
            payload_hash: "UNSIGNED-PAYLOAD",
        };
        assert_eq!(
            String::from_utf8(parts.canonical_request()).unwrap(),
            "GET\n/\n\nhost:example.com\nx-amz-meta-a:one two three,four\nx-missing:\n\n\
             host;x-amz-meta-a;x-missing\nUNSIGNED-PAYLOAD"
        );
    }
}
