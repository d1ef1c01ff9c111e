//! The `aws-chunked` content encoding of streaming uploads.
//!
//! A body is a series of chunks `hex-size[;chunk-signature=sig]\r\n data \r\n`
//! ending with a chunk of size 0 whose size line is followed by the trailer
//! section: trailing headers `name:value\r\n` (only in the `*-TRAILER`
//! variants), then an empty line. With `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
//! each chunk's signature chains from the previous one, seeded by the
//! request's own signature ([`ChunkSigner`]).
//!
//! The trailer variants:
//! - `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: chunks `hex-size\r\n data \r\n`
//!   without signatures, e.g. botocore's
//!   `5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n`.
//! - `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks, and after
//!   the trailing headers `x-amz-trailer-signature:<hex>\r\n`, the HMAC of
//!   `AWS4-HMAC-SHA256-TRAILER\n<amz-date>\n<scope>\n<final chunk
//!   signature>\n<hex sha256 of the trailing headers, each "name:value\n">`.
//!
//! [`decode`] streams the payload out as it arrives, in memory bounded by the
//! input pieces, and checks each chunk's signature as soon as that chunk ends;
//! [`decode_with_trailers`] also reads the trailers into a [`TrailerSlot`].

mod parser;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trailer_tests;

use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::error::{S3Error, S3ErrorCode};
use crate::sigv4::crypto::{ct_eq, hmac_sha256, sha256};
use crate::sigv4::EMPTY_SHA256;

/// The first line of a chunk's string to sign.
const CHUNK_ALGORITHM: &str = "AWS4-HMAC-SHA256-PAYLOAD";
/// The first line of the trailer's string to sign.
const TRAILER_ALGORITHM: &str = "AWS4-HMAC-SHA256-TRAILER";

pub use parser::{MAX_TRAILER, TRAILER_SIGNATURE};

/// Produces the expected signature of each chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body (chained from the seed signature).
#[derive(Clone)]
pub struct ChunkSigner {
    key: [u8; 32],
    amz_date: String,
    scope: String,
    previous: [u8; 32],
}

impl fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkSigner")
            .field("key", &"<redacted>")
            .field("amz_date", &self.amz_date)
            .field("scope", &self.scope)
            .field("previous", &hex::encode(self.previous))
            .finish()
    }
}

impl ChunkSigner {
    /// A signer from the request's signing key, its `x-amz-date`, its credential
    /// scope (`date/region/s3/aws4_request`) and its signature (the seed).
    pub fn new(signing_key: [u8; 32], amz_date: &str, scope: &str, seed_signature: [u8; 32]) -> Self {
        ChunkSigner {
            key: signing_key,
            amz_date: amz_date.to_owned(),
            scope: scope.to_owned(),
            previous: seed_signature,
        }
    }

    /// The signature the next chunk chains from (the seed before any chunk).
    pub fn previous_signature(&self) -> [u8; 32] {
        self.previous
    }

    /// The signature of the next chunk, given the SHA-256 of its data; the
    /// chain then moves on to it.
    pub fn sign_chunk(&mut self, chunk_sha256: &[u8; 32]) -> [u8; 32] {
        let sts = format!(
            "{CHUNK_ALGORITHM}\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(self.previous),
            hex::encode(chunk_sha256)
        );
        self.previous = hmac_sha256(&self.key, sts.as_bytes());
        self.previous
    }

    /// Whether `provided` is the signature of the next chunk (compared in
    /// constant time); the chain moves on to the expected signature.
    pub fn verify_chunk(&mut self, chunk_sha256: &[u8; 32], provided: &[u8; 32]) -> bool {
        let expected = self.sign_chunk(chunk_sha256);
        ct_eq(&expected, provided)
    }

    /// The `x-amz-trailer-signature` after the final chunk, given the SHA-256
    /// of the trailing headers as `name:value\n` lines; the chain then moves
    /// on to it (nothing follows it).
    pub fn sign_trailer(&mut self, trailer_sha256: &[u8; 32]) -> [u8; 32] {
        let sts = format!(
            "{TRAILER_ALGORITHM}\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(self.previous),
            hex::encode(trailer_sha256)
        );
        self.previous = hmac_sha256(&self.key, sts.as_bytes());
        self.previous
    }

    /// Whether `provided` is the trailer signature (compared in constant time).
    pub fn verify_trailer(&mut self, trailer_sha256: &[u8; 32], provided: &[u8; 32]) -> bool {
        let expected = self.sign_trailer(trailer_sha256);
        ct_eq(&expected, provided)
    }
}

/// How the chunks of a trailer-carrying body are framed and authenticated.
#[derive(Debug)]
pub enum Framing {
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: no chunk signatures (any chunk
    /// extension is ignored), no trailer signature.
    Unsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: every chunk signed, and
    /// the trailers signed by `x-amz-trailer-signature`.
    Signed(ChunkSigner),
}

/// The trailing headers of a body decoded by [`decode_with_trailers`], shared
/// with the decoding stream.
///
/// Filled when the body turned out complete and valid, before the stream
/// ends: a consumer that read the stream to its end (`None`) without an error
/// finds the trailers here. Empty until then, and forever after an error.
#[derive(Clone, Debug, Default)]
pub struct TrailerSlot(Arc<Mutex<Option<Trailers>>>);

/// Trailing headers `(name, value)` in arrival order, names lower case.
pub type Trailers = Vec<(String, String)>;

impl TrailerSlot {
    /// The trailers in arrival order (names lower case, values trimmed);
    /// `None` until the body was decoded completely.
    pub fn get(&self) -> Option<Trailers> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The value of one trailer (name in any case); `None` if absent or the
    /// body is not decoded yet.
    pub fn value(&self, name: &str) -> Option<String> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref()?.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    fn fill(&self, trailers: Trailers) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(trailers);
    }
}

/// The trailer names an `x-amz-trailer` header declares: comma-separated,
/// trimmed, lower-cased, empty items dropped.
pub fn parse_trailer_header(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_ascii_lowercase).collect()
}

/// Length of one signed chunk on the wire carrying `n` data bytes.
fn signed_chunk_len(n: u64) -> u64 {
    let hex_digits = if n == 0 { 1 } else { u64::from(16 - n.leading_zeros() / 4) };
    // size ";chunk-signature=" 64-hex "\r\n" data "\r\n"
    hex_digits + 17 + 64 + 2 + n + 2
}

/// The `Content-Length` of `data_len` bytes encoded by [`encode_signed_chunks`]
/// with `chunk_size` (0 counts as 1).
pub fn signed_encoded_len(data_len: u64, chunk_size: usize) -> u64 {
    let size = (chunk_size.max(1)) as u64;
    let full = data_len / size;
    let rest = data_len % size;
    let mut total = full * signed_chunk_len(size) + signed_chunk_len(0);
    if rest > 0 {
        total += signed_chunk_len(rest);
    }
    total
}

/// Client side (tests and benchmark): `data` as a signed `aws-chunked` body of
/// `chunk_size`-byte chunks (0 counts as 1), the final empty chunk included.
pub fn encode_signed_chunks(data: &[u8], chunk_size: usize, mut signer: ChunkSigner) -> Vec<u8> {
    let mut out = Vec::with_capacity(signed_encoded_len(data.len() as u64, chunk_size) as usize);
    push_signed_chunks(&mut out, data, chunk_size, &mut signer);
    out.extend_from_slice(b"\r\n");
    out
}

/// Appends the signed chunks of `data` and the final chunk's size line.
fn push_signed_chunks(out: &mut Vec<u8>, data: &[u8], chunk_size: usize, signer: &mut ChunkSigner) {
    for chunk in data.chunks(chunk_size.max(1)) {
        let sig = signer.sign_chunk(&sha256(chunk));
        out.extend_from_slice(format!("{:x};chunk-signature={}\r\n", chunk.len(), hex::encode(sig)).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    let sig = signer.sign_chunk(&sha256(&[]));
    out.extend_from_slice(format!("0;chunk-signature={}\r\n", hex::encode(sig)).as_bytes());
}

/// Appends `name:value\r\n` lines; the `name:value\n` lines a trailer
/// signature covers.
fn push_trailers(out: &mut Vec<u8>, trailers: &[(&str, &str)]) -> Vec<u8> {
    let mut canonical = Vec::new();
    for (name, value) in trailers {
        out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
        canonical.extend_from_slice(format!("{name}:{value}\n").as_bytes());
    }
    canonical
}

/// Client side (tests): `data` as a `STREAMING-UNSIGNED-PAYLOAD-TRAILER` body,
/// framed as botocore does: `chunk_size`-byte chunks (0 counts as 1) without
/// signatures, `0\r\n`, the trailers, an empty line.
pub fn encode_unsigned_with_trailer(data: &[u8], chunk_size: usize, trailers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    for chunk in data.chunks(chunk_size.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    push_trailers(&mut out, trailers);
    out.extend_from_slice(b"\r\n");
    out
}

/// Client side (tests): `data` as a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`
/// body: signed chunks as [`encode_signed_chunks`], the trailers (lower-case
/// names, as SDKs send them), `x-amz-trailer-signature`, an empty line.
pub fn encode_signed_with_trailer(
    data: &[u8],
    chunk_size: usize,
    trailers: &[(&str, &str)],
    mut signer: ChunkSigner,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(signed_encoded_len(data.len() as u64, chunk_size) as usize + 128);
    push_signed_chunks(&mut out, data, chunk_size, &mut signer);
    let canonical = push_trailers(&mut out, trailers);
    let sig = signer.sign_trailer(&sha256(&canonical));
    out.extend_from_slice(format!("{TRAILER_SIGNATURE}:{}\r\n\r\n", hex::encode(sig)).as_bytes());
    out
}

/// Decodes an aws-chunked body stream incrementally: yields the payload bytes
/// as they arrive, verifying each chunk's signature (with `signer`) when the
/// chunk ends.
///
/// Data is emitted before its chunk is verified: a bad signature, bad framing
/// or a short body ends the stream with an error, and the consumer must then
/// discard everything. Errors: a bad chunk signature is `SignatureDoesNotMatch`;
/// a total other than `decoded_len` (`x-amz-decoded-content-length`), a body
/// ending early or an input error is `IncompleteBody`; malformed framing
/// (including a header line over 4 KiB, and any trailing header) is
/// `InvalidRequest`. With `signer: None` the chunk extensions are ignored.
pub fn decode<S, E>(
    input: S,
    signer: Option<ChunkSigner>,
    decoded_len: Option<u64>,
) -> impl Stream<Item = Result<Bytes, S3Error>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send,
{
    run(input, parser::Decoder::new(signer, decoded_len), None)
}

/// Decodes a body of a trailer variant ([`Framing`]) as [`decode`] does, and
/// reads its trailing headers into the returned [`TrailerSlot`] (filled
/// before the stream ends, if the body is valid).
///
/// `announced` are the names `x-amz-trailer` declared ([`parse_trailer_header`],
/// any case): exactly these must arrive, each once. Errors besides those of [`decode`]:
/// with [`Framing::Signed`], a wrong `x-amz-trailer-signature` is
/// `SignatureDoesNotMatch`, and trailers without one are `InvalidRequest`;
/// a trailer not announced, an announced one missing, a duplicate, a trailer
/// section over [`MAX_TRAILER`] bytes or a malformed line is `InvalidRequest`.
pub fn decode_with_trailers<S, E>(
    input: S,
    framing: Framing,
    decoded_len: Option<u64>,
    announced: Vec<String>,
) -> (impl Stream<Item = Result<Bytes, S3Error>> + Send, TrailerSlot)
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send,
{
    let (signer, signed) = match framing {
        Framing::Unsigned => (None, false),
        Framing::Signed(signer) => (Some(signer), true),
    };
    let announced = announced.iter().map(|n| n.trim().to_ascii_lowercase()).collect();
    let rules = parser::TrailerRules { announced, signed };
    let slot = TrailerSlot::default();
    let stream = run(input, parser::Decoder::with_trailers(signer, decoded_len, rules), Some(slot.clone()));
    (stream, slot)
}

/// Drives `decoder` over `input`; fills `slot` with the trailers once the
/// body is complete.
fn run<S, E>(
    input: S,
    decoder: parser::Decoder,
    slot: Option<TrailerSlot>,
) -> impl Stream<Item = Result<Bytes, S3Error>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send,
{
    struct State<S> {
        input: std::pin::Pin<Box<S>>,
        pending: Bytes,
        decoder: parser::Decoder,
        slot: Option<TrailerSlot>,
        finished: bool,
    }
    let state = State { input: Box::pin(input), pending: Bytes::new(), decoder, slot, finished: false };
    futures::stream::unfold(state, |mut st| async move {
        if st.finished {
            return None;
        }
        loop {
            if st.pending.is_empty() {
                match st.input.next().await {
                    Some(Ok(piece)) => st.pending = piece,
                    Some(Err(e)) => {
                        st.finished = true;
                        let err = S3Error::with_message(
                            S3ErrorCode::IncompleteBody,
                            format!("Error reading the request body: {e}"),
                        );
                        return Some((Err(err), st));
                    }
                    None => {
                        st.finished = true;
                        return match st.decoder.finish() {
                            Ok(()) => {
                                if let Some(slot) = &st.slot {
                                    slot.fill(st.decoder.take_trailers());
                                }
                                None
                            }
                            Err(e) => Some((Err(e), st)),
                        };
                    }
                }
                continue;
            }
            match st.decoder.step(&mut st.pending) {
                Ok(Some(data)) => return Some((Ok(data), st)),
                Ok(None) => {}
                Err(e) => {
                    st.finished = true;
                    return Some((Err(e), st));
                }
            }
        }
    })
}
