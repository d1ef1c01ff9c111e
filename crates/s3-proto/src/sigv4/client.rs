//! Client-side SigV4: signing a request's headers, presigning a URL, and
//! seeding the chunk signer of a streaming upload. Used by our benchmark and
//! tests; the server side never calls these.

use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;

use super::canonical::{canonical_query, canonical_uri, encode_component, string_to_sign, CanonicalParts};
use super::crypto::{hmac_sha256, parse_hex32, signing_key};
use super::parse::{amz_date, parse_credential, split_authorization};
use super::{ALGORITHM, UNSIGNED_PAYLOAD};
use crate::chunked::ChunkSigner;

/// `date/region/s3/aws4_request` for the date of an `x-amz-date` value.
fn s3_scope(amz: &str, region: &str) -> String {
    format!("{}/{region}/s3/aws4_request", amz.get(..8).unwrap_or(amz))
}

/// Client side (used by our benchmark and tests): adds x-amz-date, x-amz-content-sha256 (= payload_hash, e.g. hex sha256 or "UNSIGNED-PAYLOAD") and Authorization to `headers` (host header must already be present), signing all given headers.
///
/// An existing `Authorization` is replaced. A value that cannot be a header
/// (control characters in `payload_hash` or `access_key`) is left out, and the
/// server will then refuse the request.
#[allow(clippy::too_many_arguments)]
pub fn sign_request(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &mut HeaderMap,
    payload_hash: &str,
    access_key: &str,
    secret: &str,
    region: &str,
    now: OffsetDateTime,
) {
    let amz = amz_date(now);
    headers.remove(AUTHORIZATION);
    if let Ok(v) = HeaderValue::from_str(&amz) {
        headers.insert("x-amz-date", v);
    }
    if let Ok(v) = HeaderValue::from_str(payload_hash) {
        headers.insert("x-amz-content-sha256", v);
    }
    let mut names: Vec<String> = headers.keys().map(|k| k.as_str().to_owned()).collect();
    names.sort();

    let scope = s3_scope(&amz, region);
    let uri = canonical_uri(raw_path);
    let query = canonical_query(raw_query, false);
    let parts = CanonicalParts { method, uri: &uri, query: &query, headers, signed_headers: &names, payload_hash };
    let sts = string_to_sign(&amz, &scope, &parts.canonical_request());
    let key = signing_key(secret, amz.get(..8).unwrap_or(&amz), region, "s3");
    let signature = hex::encode(hmac_sha256(&key, sts.as_bytes()));
    let auth =
        format!("{ALGORITHM} Credential={access_key}/{scope},SignedHeaders={},Signature={signature}", names.join(";"));
    if let Ok(v) = HeaderValue::from_str(&auth) {
        headers.insert(AUTHORIZATION, v);
    }
}

/// Client side: a presigned URL's query string (existing raw_query params kept), X-Amz-Expires = expires_secs.
///
/// Only `host` is signed and the payload is `UNSIGNED-PAYLOAD`. The
/// authentication parameters come after `raw_query`, `X-Amz-Signature` last.
#[allow(clippy::too_many_arguments)]
pub fn presign_query(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    host: &str,
    access_key: &str,
    secret: &str,
    region: &str,
    now: OffsetDateTime,
    expires_secs: u64,
) -> String {
    let amz = amz_date(now);
    let scope = s3_scope(&amz, region);
    let mut query = raw_query.to_owned();
    let mut add = |k: &str, v: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(k);
        query.push('=');
        query.push_str(&encode_component(v.as_bytes()));
    };
    add("X-Amz-Algorithm", ALGORITHM);
    add("X-Amz-Credential", &format!("{access_key}/{scope}"));
    add("X-Amz-Date", &amz);
    add("X-Amz-Expires", &expires_secs.to_string());
    add("X-Amz-SignedHeaders", "host");

    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(host) {
        headers.insert(HOST, v);
    }
    let names = ["host".to_owned()];
    let uri = canonical_uri(raw_path);
    let canonical_q = canonical_query(&query, false);
    let parts = CanonicalParts {
        method,
        uri: &uri,
        query: &canonical_q,
        headers: &headers,
        signed_headers: &names,
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let sts = string_to_sign(&amz, &scope, &parts.canonical_request());
    let key = signing_key(secret, amz.get(..8).unwrap_or(&amz), region, "s3");
    let signature = hex::encode(hmac_sha256(&key, sts.as_bytes()));
    query.push_str("&X-Amz-Signature=");
    query.push_str(&signature);
    query
}

/// Client side: the chunk signer of a streaming upload whose headers
/// [`sign_request`] signed with `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`; its seed
/// is the request's signature. `None` if `headers` carry no SigV4
/// `Authorization` or no `x-amz-date`.
pub fn chunk_signer_for(headers: &HeaderMap, secret: &str) -> Option<ChunkSigner> {
    let auth = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let parts = split_authorization(auth).ok()?;
    let cred = parse_credential(parts.credential).ok()?;
    let seed = parse_hex32(parts.signature)?;
    let amz = headers.get("x-amz-date")?.to_str().ok()?;
    let key = signing_key(secret, cred.date, cred.region, cred.service);
    let scope = format!("{}/{}/{}/aws4_request", cred.date, cred.region, cred.service);
    Some(ChunkSigner::new(key, amz, &scope, seed))
}
