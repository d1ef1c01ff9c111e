//! Request bodies: the raw HTTP body turned into the byte stream the engine
//! verifies (aws-chunked decoded, declared length, Content-MD5, signed hash).

use crate::context::Ctx;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use coffer_engine::{Body, BodyCheck, BoxError, ChecksumCheck, ExpectedChecksum};
use coffer_s3_proto::chunked::Framing;
use coffer_s3_proto::sigv4::PayloadMode;
use coffer_s3_proto::{chunked, S3Error, S3ErrorCode as C};
use coffer_types::checksum::{self, ChecksumAlgorithm};
use futures::{StreamExt, TryStreamExt};
use md5::Digest;
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The raw request body, not yet decoded or checked.
pub(crate) struct RequestBody {
    raw: Body,
    /// Payload bytes handed on (aws-chunked framing and trailers not counted).
    received: Arc<AtomicU64>,
}

/// `body`, adding every byte it yields to `received`.
fn counted(body: Body, received: Arc<AtomicU64>) -> Body {
    body.inspect_ok(move |data| {
        received.fetch_add(data.len() as u64, Ordering::Relaxed);
    })
    .boxed()
}

impl RequestBody {
    /// The body of a request; every payload byte read through it is added
    /// to `received` (the decoded bytes of an aws-chunked body).
    pub fn new<B>(b: B, received: Arc<AtomicU64>) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let raw = http_body_util::BodyStream::new(b)
            .map_err(Into::into)
            .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) })
            .boxed();
        RequestBody { raw, received }
    }

    /// The body as sent, with no decoding or checks (a POST form parses it).
    pub fn into_raw(self) -> Body {
        counted(self.raw, self.received)
    }

    /// The decoded body, its declared length and the digests to verify.
    pub fn into_engine(self, ctx: &mut Ctx) -> Result<(Body, Option<u64>, BodyCheck), S3Error> {
        let RequestBody { raw, received } = self;
        let md5 = match ctx.header("content-md5") {
            None => None,
            Some(v) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .ok()
                    .and_then(|b| <[u8; 16]>::try_from(b).ok())
                    .ok_or_else(|| S3Error::new(C::InvalidDigest))?,
            ),
        };
        // An HTTP-chunked body (Transfer-Encoding, no Content-Length) has no
        // declared length; a body with neither header is refused.
        let content_length = |ctx: &Ctx| -> Result<Option<u64>, S3Error> {
            match ctx.header("content-length") {
                None if ctx.headers.contains_key("transfer-encoding") => Ok(None),
                None => Err(S3Error::new(C::MissingContentLength)),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| S3Error::with_message(C::InvalidArgument, "Content-Length is not a number")),
            }
        };
        let decoded_length = |ctx: &Ctx| -> Result<u64, S3Error> {
            ctx.header("x-amz-decoded-content-length")
                .ok_or_else(|| S3Error::new(C::MissingContentLength))?
                .trim()
                .parse()
                .map_err(|_| S3Error::with_message(C::InvalidArgument, "x-amz-decoded-content-length is not a number"))
        };
        let (algorithm, given) = requested_checksum(ctx)?;
        let payload = std::mem::replace(&mut ctx.payload, PayloadMode::Unsigned);
        let mut check = BodyCheck { md5, sha256: None, checksum: None };
        let mut trailer = None;
        let (body, len) = match payload {
            PayloadMode::StreamingSigned(signer) => {
                let len = decoded_length(ctx)?;
                let decoded = chunked::decode(raw, Some(signer), Some(len)).map_err(|e| Box::new(e) as BoxError);
                (decoded.boxed(), Some(len))
            }
            mode @ (PayloadMode::StreamingUnsignedTrailer | PayloadMode::StreamingSignedTrailer(_)) => {
                let len = decoded_length(ctx)?;
                let framing = match mode {
                    PayloadMode::StreamingSignedTrailer(signer) => Framing::Signed(signer),
                    _ => Framing::Unsigned,
                };
                let announced = chunked::parse_trailer_header(ctx.header("x-amz-trailer").unwrap_or(""));
                let (decoded, slot) = chunked::decode_with_trailers(raw, framing, Some(len), announced);
                trailer = Some(slot);
                (decoded.map_err(|e| Box::new(e) as BoxError).boxed(), Some(len))
            }
            PayloadMode::Sha256(h) => {
                check.sha256 = Some(h);
                (raw, content_length(ctx)?)
            }
            PayloadMode::Unsigned => (raw, content_length(ctx)?),
        };
        if let Some(algorithm) = algorithm {
            let expected = match (given, trailer) {
                (Some(v), _) => Some(ExpectedChecksum::Given(v)),
                (None, Some(slot)) if trailer_names(ctx).iter().any(|t| t == algorithm.header_name()) => {
                    let name = algorithm.header_name();
                    Some(ExpectedChecksum::AfterBody(std::sync::Arc::new(move || {
                        slot.value(name).and_then(|v| checksum::from_base64(v.trim()))
                    })))
                }
                _ => None,
            };
            check.checksum = Some(ChecksumCheck { algorithm, expected });
        }
        Ok((counted(body, received), len, check))
    }

    /// Reads a small document body (XML) of at most `limit` bytes, verified.
    pub async fn read_small(self, ctx: &mut Ctx, limit: u64) -> Result<Bytes, S3Error> {
        let framed = ["content-length", "transfer-encoding", "x-amz-decoded-content-length"];
        if !framed.iter().any(|h| ctx.headers.contains_key(*h)) {
            // HTTP/1.1: no length and no chunking means no body.
            return Ok(Bytes::new());
        }
        let (mut body, len, check) = self.into_engine(ctx)?;
        if len.is_some_and(|l| l > limit) {
            return Err(S3Error::with_message(C::MalformedXML, "The XML document is too large."));
        }
        let mut buf = BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| crate::errors::from_engine(coffer_engine::EngineError::Body(e)))?;
            buf.extend_from_slice(&chunk);
            if buf.len() as u64 > limit {
                return Err(S3Error::with_message(C::MalformedXML, "The XML document is too large."));
            }
        }
        if len.is_some_and(|l| buf.len() as u64 != l) {
            return Err(S3Error::new(C::IncompleteBody));
        }
        if let Some(want) = check.md5 {
            if <[u8; 16]>::from(md5::Md5::digest(&buf)) != want {
                return Err(S3Error::new(C::BadDigest));
            }
        }
        if let Some(want) = check.sha256 {
            if <[u8; 32]>::from(Sha256::digest(&buf)) != want {
                return Err(S3Error::new(C::XAmzContentSHA256Mismatch));
            }
        }
        // DeleteObjects and friends may carry an x-amz-checksum-* instead of Content-MD5.
        if let Some(c) = &check.checksum {
            let want = match &c.expected {
                Some(ExpectedChecksum::Given(v)) => Some(v.clone()),
                Some(ExpectedChecksum::AfterBody(f)) => f(),
                None => None,
            };
            if want.is_some_and(|w| w != checksum::checksum(c.algorithm, &buf)) {
                return Err(S3Error::with_message(
                    C::BadDigest,
                    format!("The {} you specified did not match the calculated checksum.", c.algorithm.as_str()),
                ));
            }
        }
        Ok(buf.freeze())
    }
}

/// The one `x-amz-checksum-*` header (or POST form field) and its decoded value.
pub(crate) fn given_checksum(headers: &http::HeaderMap) -> Result<Option<(ChecksumAlgorithm, Vec<u8>)>, S3Error> {
    let mut found = ChecksumAlgorithm::ALL
        .iter()
        .filter_map(|a| headers.get(a.header_name()).map(|v| (*a, v.to_str().unwrap_or(""))));
    let first = found.next();
    if found.next().is_some() {
        return Err(S3Error::with_message(
            C::InvalidRequest,
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        ));
    }
    let Some((a, v)) = first else {
        return Ok(None);
    };
    let bytes = checksum::from_base64(v.trim()).filter(|b| b.len() == a.digest_len()).ok_or_else(|| {
        S3Error::with_message(C::InvalidRequest, format!("Value for {} header is invalid.", a.header_name()))
    })?;
    Ok(Some((a, bytes)))
}

fn trailer_names(ctx: &Ctx) -> Vec<String> {
    chunked::parse_trailer_header(ctx.header("x-amz-trailer").unwrap_or(""))
}

/// The checksum a request asks for: from an `x-amz-checksum-*` header (with
/// its value), a checksum named in `x-amz-trailer` (value after the body), or
/// `x-amz-sdk-checksum-algorithm` alone (compute and store only).
fn requested_checksum(ctx: &Ctx) -> Result<(Option<ChecksumAlgorithm>, Option<Vec<u8>>), S3Error> {
    if let Some((a, bytes)) = given_checksum(&ctx.headers)? {
        return Ok((Some(a), Some(bytes)));
    }
    if let Some(a) = trailer_names(ctx).iter().find_map(|t| ChecksumAlgorithm::from_header(t)) {
        return Ok((Some(a), None));
    }
    match ctx.header("x-amz-sdk-checksum-algorithm") {
        None => Ok((None, None)),
        Some(name) => match ChecksumAlgorithm::parse(name.trim()) {
            Some(a) => Ok((Some(a), None)),
            None => Err(S3Error::with_message(C::InvalidRequest, "Checksum algorithm provided is unsupported.")),
        },
    }
}
