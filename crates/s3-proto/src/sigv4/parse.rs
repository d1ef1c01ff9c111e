//! Reading the SigV4 authentication of a request: the `Authorization` header
//! or the presigned-URL query parameters, and the `x-amz-date` time format.

use http::header::{AUTHORIZATION, DATE};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::canonical::query_pairs;
use super::crypto::parse_hex32;
use super::{AuthKind, AuthRequest, ContentSha256, SignedRequest, ALGORITHM, MAX_PRESIGNED_EXPIRES, UNSIGNED_PAYLOAD};
use crate::error::{S3Error, S3ErrorCode};

/// Parses auth from a request. Ok(None) = anonymous (no Authorization header and no X-Amz-Algorithm/X-Amz-Signature query).
///
/// Signature Version 2 (`Authorization: AWS ak:sig`, or `AWSAccessKeyId=` in
/// the query) is also `Ok(None)`: [`crate::sigv2`] reads it, and
/// [`crate::auth::parse`] routes between the two. Both a header and query
/// authentication is `InvalidArgument`, as on AWS.
pub fn parse(req: &SignedRequest) -> Result<Option<AuthRequest>, S3Error> {
    let query = query_pairs(req.raw_query);
    let has = |name: &str| query.iter().any(|(k, _)| k == name);
    let v4_query = has("X-Amz-Algorithm") || has("X-Amz-Signature") || has("X-Amz-Credential");
    let v2_query = has("AWSAccessKeyId");
    match req.headers.get(AUTHORIZATION) {
        Some(_) if v4_query || v2_query => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        )
        .with_extra("ArgumentName", "Authorization")),
        Some(value) if crate::sigv2::is_v2_authorization(value.as_bytes()) => Ok(None),
        Some(value) => {
            let value =
                value.to_str().map_err(|_| AuthKind::Header.malformed("The authorization header is malformed."))?;
            parse_header(value, req).map(Some)
        }
        None if v4_query => parse_query(&query, req).map(Some),
        None if v2_query => Ok(None),
        None => Ok(None),
    }
}

fn v2_not_implemented() -> S3Error {
    S3Error::with_message(S3ErrorCode::NotImplemented, "Signature Version 2 is not supported yet")
}

/// The three components of an `Authorization: AWS4-HMAC-SHA256 ...` header.
pub(crate) struct HeaderAuth<'a> {
    pub credential: &'a str,
    pub signed_headers: &'a str,
    pub signature: &'a str,
}

/// Splits an `Authorization` header value into its SigV4 components.
pub(crate) fn split_authorization(value: &str) -> Result<HeaderAuth<'_>, S3Error> {
    let value = value.trim();
    if value.starts_with("AWS ") {
        return Err(v2_not_implemented());
    }
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        if algorithm == "AWS4-ECDSA-P256-SHA256" {
            return Err(S3Error::with_message(S3ErrorCode::NotImplemented, "Signature Version 4A is not supported"));
        }
        return Err(S3Error::with_message(S3ErrorCode::InvalidArgument, "Unsupported Authorization Type")
            .with_extra("ArgumentName", "Authorization")
            .with_extra("ArgumentValue", value));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(AuthKind::Header.malformed(format!(
                "The authorization header is malformed; the authorization component \"{part}\" is malformed."
            )));
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed_headers = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => {
            Ok(HeaderAuth { credential, signed_headers, signature })
        }
        _ => Err(AuthKind::Header.malformed(
            "The authorization header is malformed; the authorization header requires three \
             components: Credential, SignedHeaders, and Signature.",
        )),
    }
}

/// `access-key/YYYYMMDD/region/service/aws4_request`.
pub(crate) struct Credential<'a> {
    pub access_key: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// Parses a credential; the error is the detail after "the Credential is mal-formed".
pub(crate) fn parse_credential(s: &str) -> Result<Credential<'_>, String> {
    let mut it = s.rsplitn(5, '/');
    let (Some(terminator), Some(service), Some(region), Some(date), Some(access_key)) =
        (it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err(
            "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".".to_owned()
        );
    };
    if terminator != "aws4_request" {
        return Err(format!("incorrect terminal \"{terminator}\". This endpoint uses \"aws4_request\"."));
    }
    // IAM clients of some suites sign with an empty region; S3 needs one.
    if access_key.is_empty() || (region.is_empty() && service == "s3") || service.is_empty() {
        return Err(
            "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".".to_owned()
        );
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "incorrect date format \"{date}\". This date in the credential must be in the format \"yyyyMMdd\"."
        ));
    }
    Ok(Credential { access_key, date, region, service })
}

/// Lower-cased, sorted, deduplicated signed header names; `None` if empty.
fn parse_signed_headers(s: &str) -> Option<Vec<String>> {
    let mut names: Vec<String> =
        s.split(';').map(str::trim).filter(|n| !n.is_empty()).map(str::to_ascii_lowercase).collect();
    names.sort();
    names.dedup();
    (!names.is_empty()).then_some(names)
}

/// The classified `x-amz-content-sha256` header and its text, if present.
fn content_header(req: &SignedRequest) -> Result<Option<(ContentSha256, String)>, S3Error> {
    let Some(v) = req.headers.get("x-amz-content-sha256") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| S3Error::with_message(S3ErrorCode::InvalidArgument, "x-amz-content-sha256 is not valid ASCII"))?;
    Ok(Some((ContentSha256::parse(s)?, s.to_owned())))
}

fn parse_header(value: &str, req: &SignedRequest) -> Result<AuthRequest, S3Error> {
    let kind = AuthKind::Header;
    let parts = split_authorization(value)?;
    let cred = parse_credential(parts.credential)
        .map_err(|m| kind.malformed(format!("The authorization header is malformed; {m}")))?;
    let signed_headers = parse_signed_headers(parts.signed_headers)
        .ok_or_else(|| kind.malformed("The authorization header is malformed; SignedHeaders is empty."))?;
    let signature = parse_hex32(parts.signature)
        .ok_or_else(|| kind.malformed("The authorization header is malformed; the Signature is not 64 hex digits."))?;

    let no_date = || {
        S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    };
    let time = if let Some(v) = req.headers.get("x-amz-date") {
        v.to_str().ok().and_then(parse_amz_date).ok_or_else(no_date)?
    } else {
        let v = req.headers.get(DATE).ok_or_else(no_date)?;
        let secs = v.to_str().ok().and_then(crate::time_fmt::parse_http_date).ok_or_else(no_date)?;
        OffsetDateTime::from_unix_timestamp(secs).map_err(|_| no_date())?
    };
    let amz_date = amz_date(time);
    check_scope_date(kind, cred.date, &amz_date)?;

    // S3 requires the header; other services (IAM, the admin API) hash the
    // body themselves: the caller supplies the hash through
    // `AuthRequest::with_payload_sha256`.
    let (content, payload_hash) = match content_header(req)? {
        Some(c) => c,
        None if cred.service != "s3" => (ContentSha256::Unsigned, String::new()),
        None => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Missing required header for this request: x-amz-content-sha256",
            ))
        }
    };
    Ok(AuthRequest {
        access_key: cred.access_key.to_owned(),
        scope_date: cred.date.to_owned(),
        region: cred.region.to_owned(),
        service: cred.service.to_owned(),
        amz_date,
        time,
        signed_headers,
        signature,
        signature_hex: parts.signature.to_owned(),
        payload_hash,
        content,
        kind,
    })
}

fn check_scope_date(kind: AuthKind, scope_date: &str, amz_date: &str) -> Result<(), S3Error> {
    if !amz_date.starts_with(scope_date) {
        let what = match kind {
            AuthKind::Header => "The authorization header is malformed",
            AuthKind::Presigned { .. } => "Error parsing the X-Amz-Credential parameter",
        };
        return Err(kind.malformed(format!(
            "{what}; Invalid credential date \"{scope_date}\". This date is not the same as X-Amz-Date: \"{}\".",
            amz_date.get(..8).unwrap_or(amz_date)
        )));
    }
    Ok(())
}

fn parse_query(query: &[(String, String)], req: &SignedRequest) -> Result<AuthRequest, S3Error> {
    let qerr = |m: &str| S3Error::with_message(S3ErrorCode::AuthorizationQueryParametersError, m);
    let get = |name: &str| query_param(query, name);
    let algorithm = get("X-Amz-Algorithm")?;
    let credential = get("X-Amz-Credential")?;
    let date = get("X-Amz-Date")?;
    let expires = get("X-Amz-Expires")?;
    let signed_headers = get("X-Amz-SignedHeaders")?;
    let signature_hex = get("X-Amz-Signature")?;
    if algorithm != ALGORITHM {
        return Err(qerr("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256\""));
    }
    // An expiry outside 1..=604800 s makes the URL unusable: refused as
    // AccessDenied (403), as S3 conformance tests expect of such URLs.
    let denied = |m: &str| S3Error::with_message(S3ErrorCode::AccessDenied, m);
    let expires: i64 = expires.parse().map_err(|_| denied("X-Amz-Expires should be a number"))?;
    if expires <= 0 {
        return Err(denied("X-Amz-Expires must be positive"));
    }
    let expires = expires as u64;
    if expires > MAX_PRESIGNED_EXPIRES {
        return Err(denied("X-Amz-Expires must be less than a week (in seconds) that is 604800"));
    }
    let kind = AuthKind::Presigned { expires };
    let cred = parse_credential(credential)
        .map_err(|m| qerr(&format!("Error parsing the X-Amz-Credential parameter; {m}")))?;
    let time = parse_amz_date(date)
        .ok_or_else(|| qerr("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""))?;
    check_scope_date(kind, cred.date, date)?;
    let signed_headers =
        parse_signed_headers(signed_headers).ok_or_else(|| qerr("X-Amz-SignedHeaders must not be empty"))?;
    let signature = parse_hex32(signature_hex).ok_or_else(|| qerr("X-Amz-Signature must be 64 hex digits"))?;
    let (content, payload_hash) =
        content_header(req)?.unwrap_or_else(|| (ContentSha256::Unsigned, UNSIGNED_PAYLOAD.to_owned()));
    Ok(AuthRequest {
        access_key: cred.access_key.to_owned(),
        scope_date: cred.date.to_owned(),
        region: cred.region.to_owned(),
        service: cred.service.to_owned(),
        amz_date: date.to_owned(),
        time,
        signed_headers,
        signature,
        signature_hex: signature_hex.to_owned(),
        payload_hash,
        content,
        kind,
    })
}

/// The single value of a presigned-URL parameter.
fn query_param<'q>(query: &'q [(String, String)], name: &str) -> Result<&'q str, S3Error> {
    let qerr = |m: &str| S3Error::with_message(S3ErrorCode::AuthorizationQueryParametersError, m);
    let mut found = query.iter().filter(|(k, _)| k == name);
    match (found.next(), found.next()) {
        (Some((_, v)), None) => Ok(v.as_str()),
        (Some(_), Some(_)) => Err(qerr(&format!("{name} must be given only once."))),
        (None, _) => Err(qerr(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, \
             X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, \
             and X-Amz-Expires parameters.",
        )),
    }
}

/// Parses the compact ISO 8601 form `YYYYMMDDTHHMMSSZ` (UTC).
pub(crate) fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let day = u8::try_from(num(6..8)?).ok()?;
    let hour = u8::try_from(num(9..11)?).ok()?;
    let minute = u8::try_from(num(11..13)?).ok()?;
    let second = u8::try_from(num(13..15)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

pub(crate) use crate::time_fmt::{amz_date, iso8601_seconds as iso8601};
