//! The `aws-chunked` content encoding of streaming uploads.
//!
//! A body is a series of chunks `hex-size[;chunk-signature=sig]\r\n data \r\n`
//! ending with a chunk of size 0 (then, in later variants, trailing headers,
//! then an empty line). With `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` each
//! chunk's signature chains from the previous one, seeded by the request's
//! own signature ([`ChunkSigner`]).
//!
//! [`decode`] streams the payload out as it arrives, in memory bounded by the
//! input pieces, and checks each chunk's signature as soon as that chunk ends.

mod parser;
#[cfg(test)]
mod tests;

use std::fmt;

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::error::{S3Error, S3ErrorCode};
use crate::sigv4::crypto::{ct_eq, hmac_sha256, sha256};
use crate::sigv4::EMPTY_SHA256;

/// The first line of a chunk's string to sign.
const CHUNK_ALGORITHM: &str = "AWS4-HMAC-SHA256-PAYLOAD";

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
    let mut push = |chunk: &[u8]| {
        let sig = signer.sign_chunk(&sha256(chunk));
        out.extend_from_slice(format!("{:x};chunk-signature={}\r\n", chunk.len(), hex::encode(sig)).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    };
    for chunk in data.chunks(chunk_size.max(1)) {
        push(chunk);
    }
    push(&[]);
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
/// (including a header line over 4 KiB) is `InvalidRequest`. With
/// `signer: None` the chunk extensions are ignored.
pub fn decode<S, E>(
    input: S,
    signer: Option<ChunkSigner>,
    decoded_len: Option<u64>,
) -> impl Stream<Item = Result<Bytes, S3Error>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send,
{
    struct State<S> {
        input: std::pin::Pin<Box<S>>,
        pending: Bytes,
        decoder: parser::Decoder,
        finished: bool,
    }
    let state = State {
        input: Box::pin(input),
        pending: Bytes::new(),
        decoder: parser::Decoder::new(signer, decoded_len),
        finished: false,
    };
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
                            Ok(()) => None,
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
