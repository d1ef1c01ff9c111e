//! SigV4 tests: the worked examples of the AWS S3 documentation in both
//! directions (our signer reproduces them, our verifier accepts them), and
//! every way a request is refused.

mod examples;
mod parsing;
mod presigned;

use http::HeaderMap;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::canonical::{canonical_query, string_to_sign, CanonicalParts};
use super::crypto::{hmac_sha256, sha256_hex};
use super::*;
use crate::error::{S3Error, S3ErrorCode};

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";
const HOST: &str = "examplebucket.s3.amazonaws.com";
/// The time of every documented example.
const T0: OffsetDateTime = datetime!(2013-05-24 00:00:00 UTC);

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    h
}

fn request<'a>(method: &'a str, path: &'a str, query: &'a str, h: &'a HeaderMap) -> SignedRequest<'a> {
    SignedRequest { method, raw_path: path, raw_query: query, headers: h }
}

/// Parses and verifies against the documented credentials.
fn check(req: &SignedRequest, region: &str, now: OffsetDateTime) -> Result<Verified, S3Error> {
    let auth = parse(req)?.expect("the request carries authentication");
    assert_eq!(auth.access_key(), AK);
    auth.verify(req, SECRET, region, now)
}

fn code<T: std::fmt::Debug>(r: Result<T, S3Error>) -> S3ErrorCode {
    r.expect_err("the request must be refused").code
}

fn extra<'e>(e: &'e S3Error, name: &str) -> &'e str {
    e.extra.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name} in {e:?}"))
}

fn authorization(h: &HeaderMap) -> &str {
    h.get("authorization").unwrap().to_str().unwrap()
}

/// Replaces the last hex digit of the signature in `Authorization` by another.
fn tamper_signature(h: &mut HeaderMap) {
    let mut auth = authorization(h).to_owned();
    let last = auth.pop().unwrap();
    auth.push(if last == '0' { '1' } else { '0' });
    h.insert("authorization", auth.parse().unwrap());
}

// ---- Shared documented values ------------------------------------------------

const GET_SIG: &str = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
const GET_CANONICAL: &str = "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n\
x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn get_object_headers() -> HeaderMap {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
         SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature={GET_SIG}"
    );
    headers(&[
        ("host", HOST),
        ("authorization", &auth),
        ("range", "bytes=0-9"),
        ("x-amz-content-sha256", EMPTY_SHA256),
        ("x-amz-date", "20130524T000000Z"),
    ])
}

const PUT_SIG: &str = "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd";
const PUT_BODY_SHA: &str = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";

const PRESIGNED_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
