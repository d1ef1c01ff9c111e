#![no_main]
//! Fuzzes SigV4 authentication: `coffer_s3_proto::sigv4::parse` on arbitrary
//! `Authorization`, `x-amz-date`, `Date` and `x-amz-content-sha256` header
//! values and query strings, then, whenever it returns `Some`,
//! `AuthRequest::verify` with a fixed secret, region and clock.
//!
//! Three modes, picked by the first input byte:
//! - free-form: each header and the query string is absent, arbitrary bytes,
//!   or built from a SigV4 template whose fields are each either plausible or
//!   arbitrary (so the fuzzer gets past the first checks quickly);
//! - header-signed: a request signed by `sigv4::sign_request` (arbitrary
//!   method, path, query, extra headers, payload hash, clock within the
//!   allowed skew), optionally tampered with one change afterwards;
//! - presigned: a URL from `sigv4::presign_query` (arbitrary method, path,
//!   query, expiry and clock within the validity window), optionally tampered.
//!
//! Checked: no panic anywhere; an untampered request signed by our own client
//! parses and verifies, with the right access key and payload mode; for a
//! streaming payload, chunks signed by `chunk_signer_for` decode with the
//! `ChunkSigner` that `verify` returns.

use bytes::Bytes;
use coffer_s3_proto::chunked::{decode, encode_signed_chunks};
use coffer_s3_proto::sigv4::{
    chunk_signer_for, parse, presign_query, sign_request, PayloadMode, SignedRequest, Verified, EMPTY_SHA256,
    STREAMING_PAYLOAD, UNSIGNED_PAYLOAD,
};
use coffer_s3_proto::S3Error;
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

const SECRET: &str = "fuzz/Secret+Key0123456789";
const REGION: &str = "us-east-1";
/// The server's clock: 2024-01-01T00:00:00Z.
const NOW: i64 = 1_704_067_200;
const NOW_AMZ: &str = "20240101T000000Z";
const NOW_DATE: &str = "20240101";
const ACCESS_KEY: &str = "AKIAFUZZEXAMPLE";

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS"];
const CONTENT_SHA256: &[&str] = &[
    UNSIGNED_PAYLOAD,
    STREAMING_PAYLOAD,
    EMPTY_SHA256,
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
];
/// Extra header names a signed request may carry.
const EXTRA_HEADERS: &[&str] = &["content-type", "x-amz-meta-a", "x-amz-meta-b", "x-amz-copy-source", "range", "date"];

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

/// Either `good` or an arbitrary string.
fn pick(u: &mut Unstructured, good: &str) -> ArbResult<String> {
    Ok(if u.arbitrary()? { good.to_owned() } else { u.arbitrary()? })
}

fn method(u: &mut Unstructured) -> ArbResult<String> {
    Ok(if u.ratio(7, 8)? { u.choose(METHODS)?.to_string() } else { u.arbitrary()? })
}

/// An access key that survives the `Authorization` syntax (no `,`, `=`, blanks).
fn access_key(u: &mut Unstructured) -> ArbResult<String> {
    let s: String = u.arbitrary()?;
    let s: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    Ok(if s.is_empty() { ACCESS_KEY.to_owned() } else { s })
}

/// Whether the query string names an authentication parameter of its own
/// (after percent-decoding), which legitimately makes a signed request fail.
fn query_has_auth(raw_query: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(raw_query).decode_utf8_lossy();
    decoded.contains("X-Amz-") || decoded.contains("AWSAccessKeyId")
}

/// Sets `name` to `value` if `value` can be a header value.
fn set(headers: &mut HeaderMap, name: &str, value: &[u8]) {
    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
        headers.insert(n, v);
    }
}

/// A header value: absent (None), arbitrary bytes, or the template's output.
fn header_choice(u: &mut Unstructured, template: impl FnOnce(&mut Unstructured) -> ArbResult<String>) -> ArbResult<Option<Vec<u8>>> {
    Ok(match u.int_in_range(0..=2u8)? {
        0 => None,
        1 => Some(u.arbitrary::<Vec<u8>>()?),
        _ => Some(template(u)?.into_bytes()),
    })
}

/// An `x-amz-date` value near the server's clock, or an arbitrary string.
fn amz_date_value(u: &mut Unstructured) -> ArbResult<String> {
    if u.arbitrary()? {
        let delta = i64::from(u.arbitrary::<i16>()?) * 60;
        let t = now() + time::Duration::seconds(delta);
        Ok(format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ))
    } else {
        pick(u, NOW_AMZ)
    }
}

fn hex_signature(u: &mut Unstructured) -> ArbResult<String> {
    let sig: [u8; 32] = u.arbitrary()?;
    Ok(sig.iter().map(|b| format!("{b:02x}")).collect())
}

fn authorization_template(u: &mut Unstructured) -> ArbResult<String> {
    let algorithm = pick(u, "AWS4-HMAC-SHA256")?;
    let ak = pick(u, ACCESS_KEY)?;
    let date = pick(u, NOW_DATE)?;
    let region = pick(u, REGION)?;
    let service = pick(u, "s3")?;
    let terminator = pick(u, "aws4_request")?;
    let signed = pick(u, "host;x-amz-content-sha256;x-amz-date")?;
    let good_sig = hex_signature(u)?;
    let sig = pick(u, &good_sig)?;
    let sep = pick(u, ", ")?;
    Ok(format!(
        "{algorithm} Credential={ak}/{date}/{region}/{service}/{terminator}{sep}SignedHeaders={signed}{sep}Signature={sig}"
    ))
}

fn presigned_query_template(u: &mut Unstructured) -> ArbResult<String> {
    let algorithm = pick(u, "AWS4-HMAC-SHA256")?;
    let ak = pick(u, ACCESS_KEY)?;
    let date = pick(u, NOW_DATE)?;
    let region = pick(u, REGION)?;
    let amz = amz_date_value(u)?;
    let expires = if u.arbitrary()? { u.arbitrary::<i64>()?.to_string() } else { pick(u, "3600")? };
    let signed = pick(u, "host")?;
    let good_sig = hex_signature(u)?;
    let sig = pick(u, &good_sig)?;
    let extra: String = if u.arbitrary()? { u.arbitrary()? } else { String::new() };
    Ok(format!(
        "{extra}&X-Amz-Algorithm={algorithm}&X-Amz-Credential={ak}%2F{date}%2F{region}%2Fs3%2Faws4_request\
         &X-Amz-Date={amz}&X-Amz-Expires={expires}&X-Amz-SignedHeaders={signed}&X-Amz-Signature={sig}"
    ))
}

type Verification = Result<Verified, S3Error>;

/// Parses and, on `Some`, verifies against our region (and, if the request
/// names another, against that one too, to get past the scope check).
/// Returns the parse error, `None` for anonymous, or the verification result
/// against `REGION`.
fn parse_and_verify(req: &SignedRequest) -> Result<Option<Verification>, S3Error> {
    let Some(auth) = parse(req)? else { return Ok(None) };
    let _ = (auth.access_key(), auth.is_presigned(), auth.content_sha256());
    if auth.region() != REGION {
        let _ = auth.verify(req, SECRET, auth.region(), now());
    }
    Ok(Some(auth.verify(req, SECRET, REGION, now())))
}

/// The verification of a request that must verify.
fn must_verify(result: Result<Option<Verification>, S3Error>, what: &str) -> Verified {
    match result {
        Err(e) => panic!("{what} failed to parse: {e:?}"),
        Ok(None) => panic!("{what} parsed as anonymous"),
        Ok(Some(Err(e))) => panic!("{what} failed to verify: {e:?}"),
        Ok(Some(Ok(v))) => v,
    }
}

/// A request without a `host` header never verifies: `host` must be signed.
fn must_refuse_hostless(result: &Result<Option<Verification>, S3Error>) {
    if let Ok(Some(Ok(v))) = result {
        panic!("a request without a host header verified as {}", v.access_key);
    }
}

fn free_form(u: &mut Unstructured) -> ArbResult<()> {
    let method = method(u)?;
    let path: String = u.arbitrary()?;
    let query: String = match u.int_in_range(0..=2u8)? {
        0 => String::new(),
        1 => u.arbitrary()?,
        _ => presigned_query_template(u)?,
    };
    let mut headers = HeaderMap::new();
    set(&mut headers, "host", b"example.com");
    if let Some(v) = header_choice(u, authorization_template)? {
        set(&mut headers, "authorization", &v);
    }
    if let Some(v) = header_choice(u, amz_date_value)? {
        set(&mut headers, "x-amz-date", &v);
    }
    if let Some(v) = header_choice(u, |u| pick(u, "Mon, 01 Jan 2024 00:00:00 GMT"))? {
        set(&mut headers, "date", &v);
    }
    if let Some(v) = header_choice(u, |u| Ok(u.choose(CONTENT_SHA256)?.to_string()))? {
        set(&mut headers, "x-amz-content-sha256", &v);
    }
    let req = SignedRequest { method: &method, raw_path: &path, raw_query: &query, headers: &headers };
    let _ = parse_and_verify(&req);
    Ok(())
}

/// Checks that `data` signed in chunks by the client side of a streaming
/// upload (`headers`) decodes with the server side's `ChunkSigner`.
fn streaming_round_trip(u: &mut Unstructured, headers: &HeaderMap, payload: PayloadMode) -> ArbResult<()> {
    let PayloadMode::StreamingSigned(server_signer) = payload else {
        panic!("a streaming request verified as {payload:?}");
    };
    let client_signer = chunk_signer_for(headers, SECRET).expect("chunk_signer_for refused a signed request");
    let chunk_size = usize::from(u.arbitrary::<u8>()?);
    let data: Vec<u8> = u.arbitrary()?;
    let body = Bytes::from(encode_signed_chunks(&data, chunk_size, client_signer));
    let stream = decode(
        futures::stream::iter([Ok::<_, std::convert::Infallible>(body)]),
        Some(server_signer),
        Some(data.len() as u64),
    );
    let out: Vec<Result<Bytes, _>> = futures::executor::block_on(stream.collect());
    let mut got = Vec::new();
    for item in out {
        got.extend_from_slice(&item.expect("a chunked body signed by our client was refused"));
    }
    assert!(got == data, "a chunked body signed by our client decoded to other bytes");
    Ok(())
}

fn header_signed(u: &mut Unstructured) -> ArbResult<()> {
    let method = method(u)?;
    let path: String = u.arbitrary()?;
    let query: String = if u.arbitrary()? { u.arbitrary()? } else { String::new() };
    let ak = access_key(u)?;
    let payload_hash: String = match u.int_in_range(0..=3u8)? {
        0 => UNSIGNED_PAYLOAD.to_owned(),
        1 => STREAMING_PAYLOAD.to_owned(),
        2 => hex_signature(u)?,
        _ => u.arbitrary()?,
    };
    let valid_hash = payload_hash == UNSIGNED_PAYLOAD
        || payload_hash == STREAMING_PAYLOAD
        || (payload_hash.len() == 64 && payload_hash.bytes().all(|b| b.is_ascii_hexdigit()));
    let delta = i64::from(u.arbitrary::<i16>()?) % 901;
    let mut headers = HeaderMap::new();
    let host: String = pick(u, "example.com:9000")?;
    set(&mut headers, "host", host.as_bytes());
    for _ in 0..u.int_in_range(0..=3u8)? {
        let name = u.choose(EXTRA_HEADERS)?;
        let value: Vec<u8> = u.arbitrary()?;
        set(&mut headers, name, &value);
    }
    let signed_at = now() + time::Duration::seconds(delta);
    sign_request(&method, &path, &query, &mut headers, &payload_hash, &ak, SECRET, REGION, signed_at);
    // An arbitrary host may not be a header value; without one the request cannot verify.
    let has_host = headers.contains_key("host");

    let tamper = u.int_in_range(0..=7u8)?;
    let mut method = method;
    let mut path = path;
    match tamper {
        1 => method.push('X'),
        2 => path.push('x'),
        3 => set(&mut headers, "host", b"evil.example"),
        4 => {
            let v: Vec<u8> = u.arbitrary()?;
            set(&mut headers, "authorization", &v);
        }
        5 => {
            let v = amz_date_value(u)?;
            set(&mut headers, "x-amz-date", v.as_bytes());
        }
        _ => {}
    }
    let oracle = tamper == 0 || tamper > 5;
    let req = SignedRequest { method: &method, raw_path: &path, raw_query: &query, headers: &headers };
    let result = parse_and_verify(&req);
    if !has_host {
        must_refuse_hostless(&result);
    } else if oracle && valid_hash && !query_has_auth(&query) {
        let verified = must_verify(result, "a request signed by sign_request");
        assert_eq!(verified.access_key, ak);
        match (payload_hash.as_str(), verified.payload) {
            (UNSIGNED_PAYLOAD, PayloadMode::Unsigned) => {}
            (STREAMING_PAYLOAD, payload) => streaming_round_trip(u, &headers, payload)?,
            (hash, PayloadMode::Sha256(h)) => {
                let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(hex, hash.to_ascii_lowercase());
            }
            (hash, payload) => panic!("payload hash {hash:?} verified as {payload:?}"),
        }
    }
    Ok(())
}

fn presigned(u: &mut Unstructured) -> ArbResult<()> {
    let method = method(u)?;
    let path: String = u.arbitrary()?;
    let query: String = if u.arbitrary()? { u.arbitrary()? } else { String::new() };
    let ak = access_key(u)?;
    let host: String = pick(u, "example.com")?;
    let expires = 1 + u64::from(u.arbitrary::<u32>()? % 604_800);
    // Signed at most `expires` seconds ago and at most 15 minutes ahead.
    let span = expires as i64 + 900;
    let delta = 900 - (i64::from(u.arbitrary::<u32>()?) % (span + 1));
    let signed_at = now() + time::Duration::seconds(delta);
    let mut full_query = presign_query(&method, &path, &query, &host, &ak, SECRET, REGION, signed_at, expires);
    let mut headers = HeaderMap::new();
    set(&mut headers, "host", host.as_bytes());
    let has_host = headers.contains_key("host");

    let tamper = u.int_in_range(0..=5u8)?;
    match tamper {
        1 => {
            let extra: String = u.arbitrary()?;
            full_query.push('&');
            full_query.push_str(&extra);
        }
        2 => set(&mut headers, "host", b"evil.example"),
        3 => {
            let v = header_choice(u, authorization_template)?.unwrap_or_default();
            set(&mut headers, "authorization", &v);
        }
        _ => {}
    }
    let oracle = tamper == 0 || tamper > 3;
    let req = SignedRequest { method: &method, raw_path: &path, raw_query: &full_query, headers: &headers };
    let result = parse_and_verify(&req);
    if !has_host {
        must_refuse_hostless(&result);
    } else if oracle && !query_has_auth(&query) {
        let verified = must_verify(result, "a presigned URL");
        assert_eq!(verified.access_key, ak);
        assert!(matches!(verified.payload, PayloadMode::Unsigned), "presigned payload is {:?}", verified.payload);
    }
    Ok(())
}

fn one(u: &mut Unstructured) -> ArbResult<()> {
    match u.int_in_range(0..=2u8)? {
        0 => free_form(u),
        1 => header_signed(u),
        _ => presigned(u),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = one(&mut Unstructured::new(data));
});
