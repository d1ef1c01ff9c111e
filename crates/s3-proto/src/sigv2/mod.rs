//! AWS Signature Version 2 for S3: server-side verification of
//! `Authorization: AWS <access key>:<signature>` and of presigned URLs
//! (`AWSAccessKeyId`, `Expires`, `Signature` in the query), and client-side
//! signing for tests.
//!
//! As for SigV4, [`parse`] reads the authentication without any secret, so
//! the caller can look the access key up, then [`V2Auth::verify`] checks the
//! clock and the signature, `base64(HMAC-SHA1(secret, StringToSign))`.
//! A SigV2 signature covers no body, so nothing is left to check afterwards.

mod canonical;
mod client;
#[cfg(test)]
mod tests;

use http::header::{AUTHORIZATION, DATE};
use http::HeaderMap;
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::{S3Error, S3ErrorCode};
use crate::sigv4::{SignedRequest, MAX_SKEW};

pub use canonical::SUB_RESOURCES;
pub use client::{presign_query, sign_header};

use canonical::{
    bucket_alternative, canonical_resource, header_date_line, query_pairs, reencoded_path, resource_path,
    string_to_sign, sub_resources,
};

/// A parsed but not yet verified SigV2 authentication.
#[derive(Clone, Debug)]
pub struct V2Auth {
    access_key: String,
    /// The signature as sent (base64).
    signature: String,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// The `Authorization` header, dated by `x-amz-date` (`amz_date`) or `Date`.
    Header { time: OffsetDateTime, date: String, amz_date: bool },
    /// Presigned URL parameters: valid until `expires` (Unix seconds), sent as `expires_raw`.
    Presigned { expires: i64, expires_raw: String },
}

/// Whether an `Authorization` value is SigV2 (`AWS` then a space).
pub(crate) fn is_v2_authorization(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    v == b"AWS" || v.starts_with(b"AWS ")
}

/// The authentication mechanisms a request carries, of either version.
pub(crate) struct Mechanisms {
    /// `Authorization: AWS ...`.
    pub v2_header: bool,
    /// Any other `Authorization` header.
    pub other_header: bool,
    /// `X-Amz-Algorithm`, `X-Amz-Credential` or `X-Amz-Signature` in the query.
    pub v4_query: bool,
    /// `AWSAccessKeyId` or `Signature` in the query.
    pub v2_query: bool,
}

impl Mechanisms {
    pub(crate) fn of(req: &SignedRequest) -> Self {
        let header = req.headers.get(AUTHORIZATION);
        let v2_header = header.is_some_and(|v| is_v2_authorization(v.as_bytes()));
        let pairs = query_pairs(req.raw_query);
        let has = |names: &[&str]| pairs.iter().any(|(k, _)| names.contains(&&**k));
        Mechanisms {
            v2_header,
            other_header: header.is_some() && !v2_header,
            v4_query: has(&["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"]),
            v2_query: has(&["AWSAccessKeyId", "Signature"]),
        }
    }

    /// How many mechanisms are present: more than one is refused.
    pub(crate) fn count(&self) -> usize {
        [self.v2_header, self.other_header, self.v4_query, self.v2_query].into_iter().filter(|&b| b).count()
    }
}

/// The error for a request that authenticates in more than one way.
pub(crate) fn only_one_mechanism() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidArgument,
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
         Signature query string parameter or the Authorization header should be specified",
    )
    .with_extra("ArgumentName", "Authorization")
}

/// Ok(None) when the request carries no SigV2 auth.
///
/// SigV2 together with another mechanism (SigV4 or a second SigV2 form) is
/// `InvalidArgument`. A malformed `Authorization: AWS ...` is
/// `InvalidArgument`; a missing or unreadable date, or incomplete presigned
/// parameters, `AccessDenied`, as on AWS.
pub fn parse(req: &SignedRequest) -> Result<Option<V2Auth>, S3Error> {
    let present = Mechanisms::of(req);
    if !present.v2_header && !present.v2_query {
        return Ok(None);
    }
    if present.count() > 1 {
        return Err(only_one_mechanism());
    }
    if present.v2_header {
        parse_header(req).map(Some)
    } else {
        parse_query(req).map(Some)
    }
}

fn parse_header(req: &SignedRequest) -> Result<V2Auth, S3Error> {
    let raw = req.headers.get(AUTHORIZATION).map(|v| v.as_bytes()).unwrap_or_default();
    let invalid = || {
        S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
        )
        .with_extra("ArgumentName", "Authorization")
        .with_extra("ArgumentValue", String::from_utf8_lossy(raw))
    };
    let value = std::str::from_utf8(raw).map_err(|_| invalid())?.trim();
    let rest = value.strip_prefix("AWS").unwrap_or_default().trim_start();
    let (access_key, signature) = rest.split_once(':').ok_or_else(invalid)?;
    let bad = |s: &str| s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == ':');
    if bad(access_key) || bad(signature) {
        return Err(invalid());
    }

    let no_date = || {
        S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    };
    let (value, amz_date) = match (req.headers.get("x-amz-date"), req.headers.get(DATE)) {
        (Some(v), _) => (v, true),
        (None, Some(v)) => (v, false),
        (None, None) => return Err(no_date()),
    };
    let date = value.to_str().map_err(|_| no_date())?.trim();
    // A date before 1970 is not a valid request date (AccessDenied, as S3),
    // unlike a merely old or future one (RequestTimeTooSkewed).
    let time = parse_date(date).filter(|t| t.unix_timestamp() >= 0).ok_or_else(no_date)?;
    Ok(V2Auth {
        access_key: access_key.to_owned(),
        signature: signature.to_owned(),
        kind: Kind::Header { time, date: date.to_owned(), amz_date },
    })
}

fn parse_query(req: &SignedRequest) -> Result<V2Auth, S3Error> {
    let pairs = query_pairs(req.raw_query);
    let missing = || {
        S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        )
    };
    let get = |name: &'static str| -> Result<&str, S3Error> {
        let mut found = pairs.iter().filter(|(k, _)| k == name);
        match (found.next(), found.next()) {
            (Some((_, v)), None) if !v.is_empty() => Ok(v),
            (Some(_), Some(_)) => Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("The query parameter {name} must be given only once"),
            )
            .with_extra("ArgumentName", name)),
            _ => Err(missing()),
        }
    };
    let access_key = get("AWSAccessKeyId")?;
    let signature = get("Signature")?;
    let expires_raw = get("Expires")?;
    let expires = expires_raw.parse::<i64>().map_err(|_| {
        S3Error::with_message(
            S3ErrorCode::AccessDenied,
            format!("Invalid date (should be seconds since epoch): {expires_raw}"),
        )
    })?;
    Ok(V2Auth {
        access_key: access_key.to_owned(),
        signature: signature.to_owned(),
        kind: Kind::Presigned { expires, expires_raw: expires_raw.to_owned() },
    })
}

impl V2Auth {
    /// The access key id the request claims.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// Whether this came from presigned URL query parameters.
    pub fn is_presigned(&self) -> bool {
        matches!(self.kind, Kind::Presigned { .. })
    }

    /// Verifies against the secret.
    ///
    /// `virtual_bucket`: Some(bucket) when the request was virtual-hosted
    /// (bucket in the Host), so the canonical resource is "/bucket" + path.
    ///
    /// Clock checks first: header auth dated within [`MAX_SKEW`] of `now`
    /// (else `RequestTimeTooSkewed`), presigned URLs not past `Expires`
    /// (else `AccessDenied`). Then the signature, over the path exactly as
    /// sent and, failing that, over the path decoded and encoded again the
    /// AWS way, and for a request that names a bucket only over its other
    /// spelling (`/bucket` or `/bucket/`, see `canonical::bucket_alternative`);
    /// with `x-amz-date`, also in the form of AWS's own delete example (its
    /// value on the date line, not among the `x-amz-*` headers). Every form
    /// covers the same sub-resources and `x-amz-*` headers: the request's.
    /// A mismatch is `SignatureDoesNotMatch` with the string to sign of the
    /// path as sent.
    pub fn verify(
        &self,
        req: &SignedRequest,
        secret: &str,
        virtual_bucket: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), S3Error> {
        self.check_time(now)?;

        let subs = sub_resources(req.raw_query);
        let mut paths = vec![resource_path(virtual_bucket, req.raw_path)];
        let reencoded = reencoded_path(req.raw_path);
        if !req.raw_path.is_empty() && reencoded != req.raw_path {
            paths.push(resource_path(virtual_bucket, &reencoded));
        }
        let alternatives: Vec<String> = paths.iter().filter_map(|p| bucket_alternative(p)).collect();
        paths.extend(alternatives);
        let resources: Vec<String> = paths.into_iter().map(|p| p + &subs).collect();

        let date_line = match &self.kind {
            Kind::Header { .. } => header_date_line(req.headers),
            Kind::Presigned { expires_raw, .. } => expires_raw.as_bytes(),
        };
        let first = string_to_sign(req.method, req.headers, date_line, false, &resources[0]);
        if self.matches(secret, &first) {
            return Ok(());
        }
        for resource in &resources[1..] {
            if self.matches(secret, &string_to_sign(req.method, req.headers, date_line, false, resource)) {
                return Ok(());
            }
        }
        if let Kind::Header { date, amz_date: true, .. } = &self.kind {
            for resource in &resources {
                let legacy = string_to_sign(req.method, req.headers, date.as_bytes(), true, resource);
                if self.matches(secret, &legacy) {
                    return Ok(());
                }
            }
        }
        Err(self.mismatch(&first))
    }

    /// Whether the signature sent is that of `sts`, compared in constant time.
    fn matches(&self, secret: &str, sts: &[u8]) -> bool {
        let expected = signature(secret, sts);
        let (a, b) = (expected.as_bytes(), self.signature.as_bytes());
        // The length of a valid signature (28) is public; only the content is compared blind.
        if a.len() != b.len() {
            return false;
        }
        let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
        std::hint::black_box(diff) == 0
    }

    /// Clock skew for header auth, expiry for presigned URLs.
    fn check_time(&self, now: OffsetDateTime) -> Result<(), S3Error> {
        match &self.kind {
            Kind::Header { time, date, .. } => {
                if (*time - now).abs() > MAX_SKEW {
                    return Err(S3Error::new(S3ErrorCode::RequestTimeTooSkewed)
                        .with_extra("RequestTime", date.clone())
                        .with_extra("ServerTime", iso8601(now))
                        .with_extra("MaxAllowedSkewMilliseconds", MAX_SKEW.whole_milliseconds().to_string()));
                }
            }
            Kind::Presigned { expires, expires_raw } => {
                if now.unix_timestamp() > *expires {
                    let at = OffsetDateTime::from_unix_timestamp(*expires)
                        .map(iso8601)
                        .unwrap_or_else(|_| expires_raw.clone());
                    return Err(S3Error::with_message(S3ErrorCode::AccessDenied, "Request has expired")
                        .with_extra("Expires", at)
                        .with_extra("ServerTime", iso8601(now)));
                }
            }
        }
        Ok(())
    }

    /// `SignatureDoesNotMatch` with the details AWS gives to debug a client.
    fn mismatch(&self, sts: &[u8]) -> S3Error {
        S3Error::new(S3ErrorCode::SignatureDoesNotMatch)
            .with_extra("AWSAccessKeyId", self.access_key.clone())
            .with_extra("StringToSign", String::from_utf8_lossy(sts))
            .with_extra("SignatureProvided", self.signature.clone())
            .with_extra("StringToSignBytes", spaced_hex(sts))
    }
}

/// `base64(HMAC-SHA1(secret, sts))`.
fn signature(secret: &str, sts: &[u8]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(sts);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Parses a request date: RFC 1123 (`GMT` or a numeric zone such as
/// `+0000`), the other HTTP date forms, ISO 8601 (`2007-03-27T19:36:42Z`)
/// or the compact `20070327T193642Z`.
fn parse_date(s: &str) -> Option<OffsetDateTime> {
    if let Some(secs) = crate::time_fmt::parse_http_date(s) {
        return OffsetDateTime::from_unix_timestamp(secs).ok();
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc2822).or_else(|_| OffsetDateTime::parse(s, &Rfc3339)) {
        return Some(t);
    }
    let compact = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(s, compact).ok().map(PrimitiveDateTime::assume_utc)
}

use crate::time_fmt::iso8601_seconds as iso8601;

/// Bytes as space-separated hex pairs, as in AWS's `StringToSignBytes`.
fn spaced_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// The string to sign of header authentication (the client's view of
/// `raw_path`, i.e. with the bucket when virtual-hosted).
fn header_string_to_sign(method: &str, raw_path: &str, raw_query: &str, headers: &HeaderMap) -> Vec<u8> {
    string_to_sign(method, headers, header_date_line(headers), false, &canonical_resource(None, raw_path, raw_query))
}
