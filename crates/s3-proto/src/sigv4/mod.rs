//! AWS Signature Version 4 for S3: server-side verification of the
//! `Authorization` header and of presigned URLs, and client-side signing.
//!
//! Verification happens in two steps: [`parse`] reads the authentication
//! from the request (no secret needed, so the caller can look the access key
//! up), then [`AuthRequest::verify`] checks scope, clock and signature against
//! the secret and says how the body must be checked ([`PayloadMode`]).
//! Nothing is cached across requests: the signing key is derived every time,
//! so a revoked key stops working at once.

mod canonical;
mod client;
pub(crate) mod crypto;
pub(crate) mod parse;
#[cfg(test)]
mod tests;
mod unsigned;

use time::OffsetDateTime;

use crate::chunked::ChunkSigner;
use crate::error::{S3Error, S3ErrorCode};

pub use client::{chunk_signer_for, presign_query, sign_request};
pub use crypto::signing_key;
pub use parse::parse;
pub use unsigned::HEADERS_NOT_SIGNED;

use canonical::{canonical_query, canonical_uri, raw_uri, string_to_sign, CanonicalParts};

/// The only signing algorithm supported: `AWS4-HMAC-SHA256`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// `x-amz-content-sha256` for a body that is not covered by the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `x-amz-content-sha256` for an `aws-chunked` body with chunk signatures.
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// `x-amz-content-sha256` for an `aws-chunked` body with an unsigned trailer.
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// `x-amz-content-sha256` for an `aws-chunked` body with chunk signatures and a signed trailer.
pub const STREAMING_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// Hex SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The largest accepted difference between the request's clock and ours.
pub const MAX_SKEW: time::Duration = time::Duration::minutes(15);
/// The longest validity of a presigned URL, in seconds (7 days).
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;

/// The parts of an HTTP request that SigV4 covers, independent of any HTTP server crate.
///
/// `headers` must hold `host` (for HTTP/2 the HTTP layer copies `:authority` into it).
pub struct SignedRequest<'a> {
    /// The HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// The path percent-encoded as on the request line, without the query.
    pub raw_path: &'a str,
    /// The query string without `?`; may be empty.
    pub raw_query: &'a str,
    /// All request headers.
    pub headers: &'a http::HeaderMap,
}

/// How the body must be checked after a successful signature check.
#[derive(Debug)]
pub enum PayloadMode {
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature.
    Unsigned,
    /// The body's SHA-256 must equal this (else `XAmzContentSHA256Mismatch`).
    Sha256([u8; 32]),
    /// An `aws-chunked` body whose chunks are signed: decode it with
    /// [`crate::chunked::decode`] and this signer.
    StreamingSigned(ChunkSigner),
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: an `aws-chunked` body without
    /// signatures, with trailers (typically a checksum): decode it with
    /// [`crate::chunked::decode_with_trailers`] and [`crate::chunked::Framing::Unsigned`].
    StreamingUnsignedTrailer,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks and signed
    /// trailers: decode it with [`crate::chunked::decode_with_trailers`] and
    /// [`crate::chunked::Framing::Signed`] with this signer.
    StreamingSignedTrailer(ChunkSigner),
}

/// What `x-amz-content-sha256` declares about the body (before any key is known).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentSha256 {
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// A hex SHA-256 of the whole body.
    Sha256([u8; 32]),
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`.
    StreamingSigned,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`.
    StreamingUnsignedTrailer,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`.
    StreamingSignedTrailer,
}

impl ContentSha256 {
    /// Classifies an `x-amz-content-sha256` value. The event-stream and ECDSA
    /// variants are recognised but not implemented (`NotImplemented`);
    /// anything else unknown is `InvalidArgument`.
    pub fn parse(value: &str) -> Result<Self, S3Error> {
        match value {
            UNSIGNED_PAYLOAD => Ok(ContentSha256::Unsigned),
            STREAMING_PAYLOAD => Ok(ContentSha256::StreamingSigned),
            STREAMING_UNSIGNED_TRAILER => Ok(ContentSha256::StreamingUnsignedTrailer),
            STREAMING_PAYLOAD_TRAILER => Ok(ContentSha256::StreamingSignedTrailer),
            "STREAMING-AWS4-HMAC-SHA256-EVENTS"
            | "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
            | "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER" => Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                format!("x-amz-content-sha256 '{value}' is not supported yet"),
            )),
            _ => crypto::parse_hex32(value).map(ContentSha256::Sha256).ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, \
                         STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.",
                )
                .with_extra("ArgumentName", "x-amz-content-sha256")
                .with_extra("ArgumentValue", value)
            }),
        }
    }
}

/// Where the authentication came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuthKind {
    /// The `Authorization` header.
    Header,
    /// Presigned URL query parameters, valid for this many seconds.
    Presigned { expires: u64 },
}

impl AuthKind {
    /// The code for a malformed authentication of this kind.
    fn malformed(self, message: impl Into<String>) -> S3Error {
        let code = match self {
            AuthKind::Header => S3ErrorCode::AuthorizationHeaderMalformed,
            AuthKind::Presigned { .. } => S3ErrorCode::AuthorizationQueryParametersError,
        };
        S3Error::with_message(code, message)
    }
}

/// A parsed but not yet verified SigV4 authentication (from the Authorization header or presigned query).
#[derive(Clone, Debug)]
pub struct AuthRequest {
    access_key: String,
    /// `YYYYMMDD` of the credential scope.
    scope_date: String,
    region: String,
    service: String,
    /// The request time as signed, `YYYYMMDDTHHMMSSZ`.
    amz_date: String,
    /// The request time.
    time: OffsetDateTime,
    /// Lower-case, sorted, deduplicated.
    signed_headers: Vec<String>,
    signature: [u8; 32],
    signature_hex: String,
    /// The hashed-payload line of the canonical request, as sent.
    payload_hash: String,
    content: ContentSha256,
    kind: AuthKind,
}

/// A request whose signature checked out.
#[derive(Debug)]
pub struct Verified {
    /// The access key that signed the request.
    pub access_key: String,
    /// How the body must be checked.
    pub payload: PayloadMode,
}

impl AuthRequest {
    /// The access key id the request claims.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The region of the credential scope.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Whether this came from presigned URL query parameters.
    pub fn is_presigned(&self) -> bool {
        matches!(self.kind, AuthKind::Presigned { .. })
    }

    /// What `x-amz-content-sha256` declared.
    pub fn content_sha256(&self) -> ContentSha256 {
        self.content
    }

    /// `date/region/service/aws4_request`.
    fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.scope_date, self.region, self.service)
    }

    /// The service of the credential scope (`s3`, `iam`, ...).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// For services that sign the body's hash without sending it (IAM and
    /// the admin API): the hex SHA-256 the caller computed over the body.
    pub fn with_payload_sha256(mut self, hex: String) -> Self {
        self.payload_hash = hex;
        self
    }

    /// Verifies a request to another service than S3 (whose scope must name
    /// `service`, in any region; the caller checks the region). Gives the
    /// access key that signed it.
    pub fn verify_service(
        &self,
        req: &SignedRequest,
        secret: &str,
        service: &str,
        now: OffsetDateTime,
    ) -> Result<String, S3Error> {
        if self.service != service {
            return Err(self.kind.malformed(format!(
                "The authorization header is malformed; incorrect service '{}'. This endpoint belongs to '{service}'.",
                self.service
            )));
        }
        self.check_time(now)?;
        unsigned::check(req.headers, &self.signed_headers, self.is_presigned())?;
        self.check_signature(req, secret)?;
        Ok(self.access_key.clone())
    }

    /// Verifies against the secret. Every `x-amz-*` header present, and
    /// `host`, must be signed (see `unsigned.rs` for the few exemptions), else
    /// `AccessDenied` with `HeadersNotSigned`.
    ///
    /// `region` is the server's region (credential scope must match: else AuthorizationHeaderMalformed with AWS's wording "the region 'X' is wrong; expecting 'Y'"), service must be "s3".
    ///
    /// For presigned URLs scope errors are `AuthorizationQueryParametersError`.
    /// Clock checks: header auth within [`MAX_SKEW`] of `now` (else
    /// `RequestTimeTooSkewed`); presigned not expired and not dated more than
    /// [`MAX_SKEW`] in the future (else `AccessDenied`).
    pub fn verify(
        &self,
        req: &SignedRequest,
        secret: &str,
        region: &str,
        now: OffsetDateTime,
    ) -> Result<Verified, S3Error> {
        self.check_scope(region)?;
        self.check_time(now)?;
        unsigned::check(req.headers, &self.signed_headers, self.is_presigned())?;
        let key = self.check_signature(req, secret)?;
        let scope = self.scope();
        let payload = match self.content {
            ContentSha256::Unsigned => PayloadMode::Unsigned,
            ContentSha256::Sha256(h) => PayloadMode::Sha256(h),
            ContentSha256::StreamingSigned => {
                PayloadMode::StreamingSigned(ChunkSigner::new(key, &self.amz_date, &scope, self.signature))
            }
            ContentSha256::StreamingUnsignedTrailer => PayloadMode::StreamingUnsignedTrailer,
            ContentSha256::StreamingSignedTrailer => {
                PayloadMode::StreamingSignedTrailer(ChunkSigner::new(key, &self.amz_date, &scope, self.signature))
            }
        };
        Ok(Verified { access_key: self.access_key.clone(), payload })
    }

    /// Checks the signature; gives the signing key (for chunk signatures).
    fn check_signature(&self, req: &SignedRequest, secret: &str) -> Result<[u8; 32], S3Error> {
        let key = signing_key(secret, &self.scope_date, &self.region, &self.service);
        let scope = self.scope();
        let query = canonical_query(req.raw_query, self.is_presigned());
        let encoded = canonical_uri(req.raw_path);
        let mut parts = CanonicalParts {
            method: req.method,
            uri: &encoded,
            query: &query,
            headers: req.headers,
            signed_headers: &self.signed_headers,
            payload_hash: &self.payload_hash,
        };
        let canonical = parts.canonical_request();
        let sts = string_to_sign(&self.amz_date, &scope, &canonical);
        let mut ok = crypto::ct_eq(&crypto::hmac_sha256(&key, sts.as_bytes()), &self.signature);
        let raw = raw_uri(req.raw_path);
        if !ok && raw != encoded {
            parts.uri = raw;
            let sts = string_to_sign(&self.amz_date, &scope, &parts.canonical_request());
            ok = crypto::ct_eq(&crypto::hmac_sha256(&key, sts.as_bytes()), &self.signature);
        }
        if !ok {
            return Err(self.mismatch(&sts, &canonical));
        }
        Ok(key)
    }

    /// The credential scope must name our region and S3.
    fn check_scope(&self, region: &str) -> Result<(), S3Error> {
        let what = match self.kind {
            AuthKind::Header => "The authorization header is malformed",
            AuthKind::Presigned { .. } => "Error parsing the X-Amz-Credential parameter",
        };
        if self.region != region {
            return Err(self
                .kind
                .malformed(format!("{what}; the region '{}' is wrong; expecting '{region}'", self.region))
                .with_extra("Region", region));
        }
        if self.service != "s3" {
            return Err(self
                .kind
                .malformed(format!("{what}; incorrect service '{}'. This endpoint belongs to 's3'.", self.service)));
        }
        Ok(())
    }

    /// Clock skew for header auth, validity window for presigned URLs.
    fn check_time(&self, now: OffsetDateTime) -> Result<(), S3Error> {
        let server_time = parse::iso8601(now);
        match self.kind {
            AuthKind::Header => {
                if (self.time - now).abs() > MAX_SKEW {
                    return Err(S3Error::new(S3ErrorCode::RequestTimeTooSkewed)
                        .with_extra("RequestTime", self.amz_date.clone())
                        .with_extra("ServerTime", server_time)
                        .with_extra("MaxAllowedSkewMilliseconds", MAX_SKEW.whole_milliseconds().to_string()));
                }
            }
            AuthKind::Presigned { expires } => {
                if self.time - now > MAX_SKEW {
                    return Err(S3Error::with_message(S3ErrorCode::AccessDenied, "Request is not valid yet"));
                }
                // `expires` is at most a week; past year 9999 counts as expired.
                let end = i64::try_from(expires).ok().and_then(|s| self.time.checked_add(time::Duration::seconds(s)));
                match end {
                    Some(end) if now <= end => {}
                    _ => {
                        return Err(S3Error::with_message(S3ErrorCode::AccessDenied, "Request has expired")
                            .with_extra("X-Amz-Expires", expires.to_string())
                            .with_extra("Expires", end.map(parse::iso8601).unwrap_or_default())
                            .with_extra("ServerTime", server_time))
                    }
                }
            }
        }
        Ok(())
    }

    /// `SignatureDoesNotMatch` with the details AWS gives to debug a client.
    fn mismatch(&self, sts: &str, canonical: &[u8]) -> S3Error {
        S3Error::new(S3ErrorCode::SignatureDoesNotMatch)
            .with_extra("AWSAccessKeyId", self.access_key.clone())
            .with_extra("StringToSign", sts)
            .with_extra("SignatureProvided", self.signature_hex.clone())
            .with_extra("StringToSignBytes", spaced_hex(sts.as_bytes()))
            .with_extra("CanonicalRequest", String::from_utf8_lossy(canonical))
            .with_extra("CanonicalRequestBytes", spaced_hex(canonical))
    }
}

/// Bytes as space-separated hex pairs, as in AWS's `*Bytes` error elements.
fn spaced_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}
