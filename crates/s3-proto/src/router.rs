//! Routing: a request line to a typed [`Operation`], as data.
//!
//! Path-style addressing: `/{bucket}/{key...}`. The key is everything after
//! the bucket's slash, percent-decoded once (`/b/a%2Fb` and `/b/a/b` name the
//! same key). Virtual-hosted style: `Host: {bucket}.{domain}[:port]` for a
//! configured domain, and the whole path is the key ([`bucket_from_host`]).
//!
//! The operation comes from the table in [`crate::ops`]: the method, the
//! target (service, bucket, object), the sub-resources in the query and
//! `x-amz-copy-source`. Query parameters that are not sub-resources (`x-id`,
//! `response-*`, `versionId`, ...) never change it.

use crate::error::{S3Error, S3ErrorCode};
use crate::ops::Target;
use percent_encoding::percent_decode_str;

pub use crate::ops::Operation;

/// The routed request: what to do, to which bucket and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub op: Operation,
    pub bucket: Option<String>,
    pub key: Option<String>,
}

/// Decoded query parameters in request order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string (`+` is a literal plus, as S3 clients encode).
    pub fn parse(raw: &str) -> Self {
        let dec = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        Query(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (dec(k), dec(v)),
                    None => (dec(p), String::new()),
                })
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// Splits a raw path into (bucket, key), both percent-decoded.
pub fn split_path(raw_path: &str) -> Result<(Option<String>, Option<String>), S3Error> {
    let p = raw_path.strip_prefix('/').unwrap_or(raw_path);
    if p.is_empty() {
        return Ok((None, None));
    }
    let (b, k) = match p.split_once('/') {
        Some((b, k)) => (b, Some(k)),
        None => (p, None),
    };
    let decode = |s: &str| {
        percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).map_err(|_| {
            S3Error::with_message(S3ErrorCode::InvalidArgument, "The path is not valid UTF-8 after percent-decoding.")
        })
    };
    let bucket = decode(b)?;
    let key = match k {
        Some(k) if !k.is_empty() => Some(decode(k)?),
        _ => None,
    };
    Ok((Some(bucket), key))
}

/// The bucket named by a virtual-hosted `Host` header: the labels before one
/// of `domains` (port ignored, case-insensitive). `None` for path style.
pub fn bucket_from_host(host: &str, domains: &[String]) -> Option<String> {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(']') => h,
        _ => host,
    }
    .trim_end_matches('.')
    .to_ascii_lowercase();
    domains.iter().find_map(|d| {
        let d = d.trim_end_matches('.').to_ascii_lowercase();
        let bucket = name.strip_suffix(&d)?.strip_suffix('.')?;
        (!bucket.is_empty()).then(|| bucket.to_owned())
    })
}

/// Routes a request. `copy_source` says whether `x-amz-copy-source` is present.
pub fn route(method: &str, raw_path: &str, query: &Query, copy_source: bool) -> Result<Route, S3Error> {
    route_in(None, method, raw_path, query, copy_source)
}

/// Routes a request whose bucket may come from the Host (`virtual_bucket`);
/// then the whole path is the key.
pub fn route_in(
    virtual_bucket: Option<String>,
    method: &str,
    raw_path: &str,
    query: &Query,
    copy_source: bool,
) -> Result<Route, S3Error> {
    use Operation::*;
    let (bucket, key) = match virtual_bucket {
        None => split_path(raw_path)?,
        Some(b) => {
            let k = raw_path.strip_prefix('/').unwrap_or(raw_path);
            let key = if k.is_empty() {
                None
            } else {
                Some(percent_decode_str(k).decode_utf8().map(|c| c.into_owned()).map_err(|_| {
                    S3Error::with_message(
                        S3ErrorCode::InvalidArgument,
                        "The path is not valid UTF-8 after percent-decoding.",
                    )
                })?)
            };
            (Some(b), key)
        }
    };
    if method == "OPTIONS" && bucket.is_some() {
        return Ok(Route { op: CorsPreflight, bucket, key });
    }
    let target = match (&bucket, &key) {
        (None, _) => Target::Service,
        (Some(_), None) => Target::Bucket,
        (Some(_), Some(_)) => Target::Object,
    };
    let op = select(method, target, query, copy_source)?;
    Ok(Route { op, bucket, key })
}

fn select(method: &str, target: Target, q: &Query, copy_source: bool) -> Result<Operation, S3Error> {
    if !matches!(method, "GET" | "HEAD" | "PUT" | "POST" | "DELETE") {
        return Err(S3Error::new(S3ErrorCode::MethodNotAllowed));
    }
    match crate::ops::select(method, target, &|name| q.get(name), copy_source) {
        Ok(op) => Ok(op),
        Err(Some(sub)) if target != Target::Service => Ok(Operation::NotImplemented(sub)),
        Err(_) => Err(S3Error::new(S3ErrorCode::MethodNotAllowed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation::*;

    /// Request lines as the S3 API reference shows them, and what they route to.
    #[test]
    fn routes_documented_request_lines() {
        type Case<'a> = (&'a str, &'a str, bool, Operation, Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            ("GET", "/", false, ListBuckets, None, None),
            ("PUT", "/bkt", false, CreateBucket, Some("bkt"), None),
            ("PUT", "/bkt/", false, CreateBucket, Some("bkt"), None),
            ("HEAD", "/bkt", false, HeadBucket, Some("bkt"), None),
            ("DELETE", "/bkt", false, DeleteBucket, Some("bkt"), None),
            ("GET", "/bkt?location", false, GetBucketLocation, Some("bkt"), None),
            ("GET", "/bkt?list-type=2&prefix=a&delimiter=%2F", false, ListObjectsV2, Some("bkt"), None),
            ("GET", "/bkt?prefix=a&marker=b", false, ListObjects, Some("bkt"), None),
            ("GET", "/bkt?uploads&prefix=a", false, ListMultipartUploads, Some("bkt"), None),
            ("POST", "/bkt?delete", false, DeleteObjects, Some("bkt"), None),
            ("POST", "/bkt", false, PostObject, Some("bkt"), None),
            ("PUT", "/bkt/my%20photo.jpg", false, PutObject, Some("bkt"), Some("my photo.jpg")),
            ("PUT", "/bkt/a/b/c", true, CopyObject, Some("bkt"), Some("a/b/c")),
            (
                "GET",
                "/bkt/k?x-id=GetObject&response-content-type=text%2Fplain",
                false,
                GetObject,
                Some("bkt"),
                Some("k"),
            ),
            ("HEAD", "/bkt/k", false, HeadObject, Some("bkt"), Some("k")),
            ("DELETE", "/bkt/k", false, DeleteObject, Some("bkt"), Some("k")),
            ("POST", "/bkt/k?uploads", false, CreateMultipartUpload, Some("bkt"), Some("k")),
            ("PUT", "/bkt/k?partNumber=2&uploadId=abc", false, UploadPart, Some("bkt"), Some("k")),
            ("PUT", "/bkt/k?partNumber=2&uploadId=abc", true, UploadPartCopy, Some("bkt"), Some("k")),
            ("POST", "/bkt/k?uploadId=abc", false, CompleteMultipartUpload, Some("bkt"), Some("k")),
            ("DELETE", "/bkt/k?uploadId=abc", false, AbortMultipartUpload, Some("bkt"), Some("k")),
            ("GET", "/bkt/k?uploadId=abc&max-parts=2", false, ListParts, Some("bkt"), Some("k")),
            ("GET", "/bkt?acl", false, GetBucketAcl, Some("bkt"), None),
            ("PUT", "/bkt?acl", false, PutBucketAcl, Some("bkt"), None),
            ("PUT", "/bkt/k?acl", false, PutObjectAcl, Some("bkt"), Some("k")),
            ("GET", "/bkt?versioning", false, GetBucketVersioning, Some("bkt"), None),
            ("GET", "/bkt?select", false, NotImplemented("select"), Some("bkt"), None),
            ("GET", "/bkt/k?acl", false, GetObjectAcl, Some("bkt"), Some("k")),
            ("PUT", "/bkt?cors", false, PutBucketCors, Some("bkt"), None),
            ("GET", "/bkt?cors", false, GetBucketCors, Some("bkt"), None),
            ("DELETE", "/bkt?cors", false, DeleteBucketCors, Some("bkt"), None),
            ("GET", "/bkt?versions&prefix=a", false, ListObjectVersions, Some("bkt"), None),
            ("OPTIONS", "/bkt/k", false, CorsPreflight, Some("bkt"), Some("k")),
            ("PUT", "/bkt?versioning", false, PutBucketVersioning, Some("bkt"), None),
            ("GET", "/bkt/k?tagging", false, GetObjectTagging, Some("bkt"), Some("k")),
            ("PUT", "/bkt/k?tagging", false, PutObjectTagging, Some("bkt"), Some("k")),
            ("GET", "/bkt/..%2F..%2Fetc%2Fpasswd", false, GetObject, Some("bkt"), Some("../../etc/passwd")),
            ("GET", "/bkt/a+b", false, GetObject, Some("bkt"), Some("a+b")),
            ("GET", "/bkt/%E2%82%AC", false, GetObject, Some("bkt"), Some("€")),
        ];
        for (method, line, copy, op, bucket, key) in cases {
            let (path, query) = line.split_once('?').unwrap_or((line, ""));
            let r = route(method, path, &Query::parse(query), *copy).unwrap();
            assert_eq!(r.op, *op, "{method} {line}");
            assert_eq!(r.bucket.as_deref(), *bucket, "{method} {line}");
            assert_eq!(r.key.as_deref(), *key, "{method} {line}");
        }
    }

    #[test]
    fn bad_method_and_bad_utf8() {
        assert_eq!(route("PATCH", "/bkt/k", &Query::default(), false).unwrap_err().code, S3ErrorCode::MethodNotAllowed);
        assert_eq!(route("PUT", "/", &Query::default(), false).unwrap_err().code, S3ErrorCode::MethodNotAllowed);
        assert_eq!(route("GET", "/bkt/%FF", &Query::default(), false).unwrap_err().code, S3ErrorCode::InvalidArgument);
    }

    #[test]
    fn virtual_hosted_style() {
        let domains = vec!["s3.example.com".to_string(), "localhost".to_string()];
        assert_eq!(bucket_from_host("photos.s3.example.com", &domains).as_deref(), Some("photos"));
        assert_eq!(
            bucket_from_host("my.dotted.bucket.s3.example.com:9000", &domains).as_deref(),
            Some("my.dotted.bucket")
        );
        assert_eq!(bucket_from_host("Photos.LOCALHOST:9000", &domains).as_deref(), Some("photos"));
        assert_eq!(bucket_from_host("s3.example.com", &domains), None);
        assert_eq!(bucket_from_host("127.0.0.1:9000", &domains), None);
        assert_eq!(bucket_from_host("evil-s3.example.com", &domains), None);
        let r = route_in(Some("photos".into()), "GET", "/a/b%20c.jpg", &Query::default(), false).unwrap();
        assert_eq!((r.op, r.bucket.as_deref(), r.key.as_deref()), (GetObject, Some("photos"), Some("a/b c.jpg")));
        let r = route_in(Some("photos".into()), "GET", "/", &Query::parse("list-type=2"), false).unwrap();
        assert_eq!((r.op, r.key), (ListObjectsV2, None));
        let r = route_in(Some("photos".into()), "PUT", "/", &Query::default(), false).unwrap();
        assert_eq!(r.op, CreateBucket);
    }

    /// Issue #11 item 1 (SigV2): a query parameter that changes what a
    /// request does must be covered by a SigV2 signature, or the holder of
    /// a presigned URL could append it (`&policyStatus` on a ListObjects URL).
    /// Every name that changes the route of some request must therefore be
    /// one of `sigv2::SUB_RESOURCES`; `list-type` is the one exception (it
    /// picks ListObjectsV2 over ListObjects: the same action on the same
    /// data, and no client signs it).
    #[test]
    fn every_routed_sub_resource_is_signed_by_sigv2() {
        // Every sub-resource the router knows, every one SigV2 signs, and the
        // other query parameters of the S3 API.
        let mut names: Vec<&str> = crate::ops::SUB_RESOURCES.to_vec();
        names.extend(crate::sigv2::SUB_RESOURCES);
        names.extend([
            "list-type",
            "prefix",
            "marker",
            "delimiter",
            "max-keys",
            "encoding-type",
            "continuation-token",
            "fetch-owner",
            "start-after",
            "key-marker",
            "upload-id-marker",
            "max-uploads",
            "version-id-marker",
            "max-parts",
            "part-number-marker",
            "x-id",
            "id",
            "mtime",
            "expected-bucket-owner",
            "max-buckets",
            "bucket-region",
            "optional-object-attributes",
            "uploadid",
            "ACL",
            "Location",
        ]);
        let mut changing = Vec::new();
        for method in ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"] {
            for path in ["/", "/bkt", "/bkt/", "/bkt/k"] {
                for copy in [false, true] {
                    let base = route(method, path, &Query::default(), copy).map(|r| r.op).map_err(|e| e.code);
                    for name in &names {
                        for q in [name.to_string(), format!("{name}=2")] {
                            let r = route(method, path, &Query::parse(&q), copy).map(|r| r.op).map_err(|e| e.code);
                            if r != base {
                                changing.push(*name);
                            }
                        }
                    }
                }
            }
        }
        changing.sort_unstable();
        changing.dedup();
        for name in &changing {
            assert!(
                crate::sigv2::SUB_RESOURCES.contains(name) || *name == "list-type",
                "{name} changes the operation but SigV2 does not sign it"
            );
        }
        // The check saw the router's choices (not a vacuous pass).
        for name in ["acl", "location", "uploads", "uploadId", "delete", "policyStatus", "list-type", "select"] {
            assert!(changing.contains(&name), "{name}");
        }
    }

    #[test]
    fn query_parsing() {
        let q = Query::parse("a=1&b&c=x%2By+z&a=2");
        assert_eq!(q.get("a"), Some("1"));
        assert!(q.has("b"));
        assert_eq!(q.get("b"), Some(""));
        assert_eq!(q.get("c"), Some("x+y+z"));
        assert!(!q.has("d"));
    }
}
