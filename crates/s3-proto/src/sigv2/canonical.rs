//! The SigV2 string to sign: the positional headers, the `x-amz-*` headers
//! and the canonicalized resource, in the exact bytes both sides HMAC.

use std::borrow::Cow;

use http::header::{CONTENT_TYPE, DATE};
use http::HeaderMap;
use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The query parameters that are part of the canonicalized resource, in
/// byte order (the order they are signed in).
///
/// The union of every list a client or server signs: AWS's own (acl,
/// lifecycle, location, logging, notification, partNumber, policy,
/// requestPayment, torrent, uploadId, uploads, versionId, versioning,
/// versions, website, the `response-*` overrides, and delete), botocore's
/// `HmacV1Auth.QSAOfInterest` (adds accelerate, analytics, cors,
/// defaultObjectAcl, inventory, metrics, object-lock, replication, restore,
/// select, select-type, storageClass, tagging), s3cmd's
/// (`sign_request_v2`: cors, delete, restore, tagging) and Ceph RGW's
/// (encryption, policyStatus, publicAccessBlock), plus every other
/// sub-resource Coffer's router gives a meaning to (attributes,
/// intelligent-tiering, legal-hold, ownershipControls, retention).
///
/// "Signed means signed": a sub-resource selects the operation, so one the
/// signature did not cover would let the holder of a presigned URL turn it
/// into another request (`&policyStatus` on a ListObjects URL). Every
/// sub-resource the router acts on is therefore in this list, and the
/// router's tests check that (`router::tests::every_routed_sub_resource_is_signed_by_sigv2`).
/// A client that sends one of them without signing it gets
/// `SignatureDoesNotMatch`: refused, never trusted. `list-type` is not a
/// sub-resource: it picks ListObjectsV2 over ListObjects, the same action
/// on the same data, and no client signs it.
pub const SUB_RESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "defaultObjectAcl",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "session",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// AWS URI encoding of a path: everything but `A-Za-z0-9-._~` and `/`.
const PATH_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// Percent-decodes `s` into (lossy) UTF-8; a `+` stays a `+`.
pub(crate) fn decode(s: &str) -> Cow<'_, str> {
    percent_decode_str(s).decode_utf8_lossy()
}

/// The query parameters, decoded, in order. A parameter without `=` has an
/// empty value; empty segments are skipped.
pub(crate) fn query_pairs(raw_query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The path decoded once and encoded again the AWS way (`/` kept), for
/// clients that sign another encoding of the key than the one they send.
pub(crate) fn reencoded_path(raw_path: &str) -> String {
    let decoded: Vec<u8> = percent_decode_str(raw_path).collect();
    percent_encode(&decoded, PATH_SET).to_string()
}

/// `CanonicalizedResource`: `/bucket` for a virtual-hosted request, the path
/// as given (`/` if empty), then the sub-resources of the query sorted by
/// name, `?a&b=v`, values decoded. An empty value is signed as the bare name.
pub(crate) fn canonical_resource(virtual_bucket: Option<&str>, path: &str, raw_query: &str) -> String {
    let mut out = resource_path(virtual_bucket, path);
    out.push_str(&sub_resources(raw_query));
    out
}

/// The path part of the canonicalized resource: `/bucket` for a
/// virtual-hosted request, then the path as given (`/` if empty).
pub(crate) fn resource_path(virtual_bucket: Option<&str>, path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 32);
    if let Some(bucket) = virtual_bucket {
        out.push('/');
        out.push_str(bucket);
    }
    out.push_str(if path.is_empty() { "/" } else { path });
    out
}

/// The sub-resource part of the canonicalized resource: `?a&b=v` sorted by
/// name (stable, so a repeated one keeps its order), or empty.
pub(crate) fn sub_resources(raw_query: &str) -> String {
    let mut subs: Vec<_> = query_pairs(raw_query).into_iter().filter(|(k, _)| SUB_RESOURCES.contains(&&**k)).collect();
    subs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (i, (k, v)) in subs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// For a resource path that names a bucket only, the other spelling of it:
/// `/bucket` for `/bucket/` and the reverse; `None` for anything else.
///
/// Clients disagree here. botocore's `HmacV1Auth` (boto3, aws CLI with
/// `signature_version = s3`) sends a path-style bucket request as `/bucket`
/// (`/bucket?location`) but signs `/bucket/` (its `auth_path`); s3cmd sends
/// and signs `/bucket/`; AWS's documentation signs `/bucket/` for a
/// virtual-hosted one. Both spellings address the same bucket operation (the
/// router gives `/bucket` and `/bucket/` the same route), so accepting either
/// signature for either grants nothing the signer did not sign.
pub(crate) fn bucket_alternative(path: &str) -> Option<String> {
    let name = path.strip_prefix('/')?;
    let bare = name.strip_suffix('/').unwrap_or(name);
    if bare.is_empty() || bare.contains('/') {
        return None;
    }
    Some(if bare.len() == name.len() { format!("/{bare}/") } else { format!("/{bare}") })
}

/// The first value of a header with surrounding blanks removed; empty if absent.
fn positional(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> &[u8] {
    headers.get(name).map(|v| v.as_bytes().trim_ascii()).unwrap_or_default()
}

/// The date line of header authentication: empty when `x-amz-date` is
/// present (it is then signed among the `x-amz-*` headers), else `Date`.
pub(crate) fn header_date_line(headers: &HeaderMap) -> &[u8] {
    if headers.contains_key("x-amz-date") {
        b""
    } else {
        positional(headers, DATE)
    }
}

/// `CanonicalizedAmzHeaders`: every `x-amz-*` header, name lower-case,
/// sorted, values trimmed and repeated values joined with `,`, one
/// `name:value\n` each. With `skip_amz_date`, `x-amz-date` is left out.
fn push_amz_headers(headers: &HeaderMap, skip_amz_date: bool, out: &mut Vec<u8>) {
    // `HeaderMap` names are lower-case already and `keys` yields each once.
    let mut names: Vec<&str> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|n| n.starts_with("x-amz-") && !(skip_amz_date && *n == "x-amz-date"))
        .collect();
    names.sort_unstable();
    for name in names {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, v) in headers.get_all(name).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(v.as_bytes().trim_ascii());
        }
        out.push(b'\n');
    }
}

/// `VERB\nContent-MD5\nContent-Type\nDate\nCanonicalizedAmzHeaders CanonicalizedResource`.
///
/// `date_line` is the `Date` value, empty, or the presigned `Expires`.
pub(crate) fn string_to_sign(
    method: &str,
    headers: &HeaderMap,
    date_line: &[u8],
    skip_amz_date: bool,
    resource: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + resource.len());
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(positional(headers, "content-md5"));
    out.push(b'\n');
    out.extend_from_slice(positional(headers, CONTENT_TYPE));
    out.push(b'\n');
    out.extend_from_slice(date_line);
    out.push(b'\n');
    push_amz_headers(headers, skip_amz_date, &mut out);
    out.extend_from_slice(resource.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_resources_are_sorted_in_byte_order() {
        let mut sorted = SUB_RESOURCES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, SUB_RESOURCES);
    }

    #[test]
    fn resource_keeps_only_sub_resources_sorted_and_decoded() {
        assert_eq!(canonical_resource(None, "", ""), "/");
        assert_eq!(canonical_resource(Some("johnsmith"), "", "prefix=photos&max-keys=50"), "/johnsmith/");
        assert_eq!(canonical_resource(Some("johnsmith"), "/", "acl"), "/johnsmith/?acl");
        assert_eq!(canonical_resource(None, "/b/k", "uploadId=abc&partNumber=3"), "/b/k?partNumber=3&uploadId=abc");
        assert_eq!(canonical_resource(None, "/b", "delete="), "/b?delete");
        assert_eq!(canonical_resource(None, "/b/k", "uploads&prefix=x"), "/b/k?uploads");
        assert_eq!(
            canonical_resource(
                None,
                "/b/k",
                "response-content-disposition=attachment%3B%20filename%3Da.txt&versionId=v1"
            ),
            "/b/k?response-content-disposition=attachment; filename=a.txt&versionId=v1"
        );
        // Names are case-sensitive; the path is kept exactly as sent.
        assert_eq!(canonical_resource(None, "/b/a%20b%2b", "ACL&Uploads"), "/b/a%20b%2b");
    }

    #[test]
    fn bucket_paths_have_two_spellings() {
        assert_eq!(bucket_alternative("/bkt").as_deref(), Some("/bkt/"));
        assert_eq!(bucket_alternative("/bkt/").as_deref(), Some("/bkt"));
        assert_eq!(bucket_alternative("/my.bucket%2D1").as_deref(), Some("/my.bucket%2D1/"));
        for not_a_bucket in ["/", "", "//", "/bkt/k", "/bkt//", "/bkt/k/", "bkt"] {
            assert_eq!(bucket_alternative(not_a_bucket), None, "{not_a_bucket}");
        }
    }

    #[test]
    fn paths_are_reencoded_the_aws_way() {
        assert_eq!(reencoded_path("/b/my file+1.txt"), "/b/my%20file%2B1.txt");
        assert_eq!(reencoded_path("/b/a%7eb%2fc"), "/b/a~b/c");
        assert_eq!(reencoded_path("/b/%C3%A9"), "/b/%C3%A9");
        assert_eq!(reencoded_path("/b/100%"), "/b/100%25");
    }

    #[test]
    fn amz_headers_are_canonicalized() {
        let mut h = HeaderMap::new();
        h.append("x-amz-meta-b", " two ".parse().unwrap());
        h.append("x-amz-meta-b", "three".parse().unwrap());
        h.append("X-Amz-Acl", "private".parse().unwrap());
        h.append("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000".parse().unwrap());
        h.append("content-type", "text/plain".parse().unwrap());
        h.append("date", "ignored".parse().unwrap());
        h.append("x-other", "ignored".parse().unwrap());
        assert_eq!(header_date_line(&h), b"");
        let sts = string_to_sign("PUT", &h, header_date_line(&h), false, "/b/k");
        assert_eq!(
            String::from_utf8(sts).unwrap(),
            "PUT\n\ntext/plain\n\nx-amz-acl:private\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n\
             x-amz-meta-b:two,three\n/b/k"
        );
        let sts = string_to_sign("PUT", &h, b"D", true, "/b/k");
        assert_eq!(
            String::from_utf8(sts).unwrap(),
            "PUT\n\ntext/plain\nD\nx-amz-acl:private\nx-amz-meta-b:two,three\n/b/k"
        );
        h.remove("x-amz-date");
        assert_eq!(header_date_line(&h), b"ignored");
    }
}
