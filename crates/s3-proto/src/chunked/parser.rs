//! The incremental `aws-chunked` framing parser behind [`super::decode`]: a
//! synchronous state machine fed arbitrary pieces of the body.

use bytes::{Buf, Bytes};
use sha2::{Digest, Sha256};

use super::ChunkSigner;
use crate::error::{S3Error, S3ErrorCode};
use crate::sigv4::crypto::parse_hex32;

/// The longest chunk-size or trailer line accepted, CRLF included.
pub(super) const MAX_LINE: usize = 4096;

/// Where the parser is in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a `hex-size[;extensions]` line.
    SizeLine,
    /// Inside a chunk's data, with this many bytes left.
    Data { remaining: u64 },
    /// The CRLF after a chunk's data; `cr` once its `\r` was seen.
    DataEnd { cr: bool },
    /// After the final (empty) chunk: trailing header lines up to an empty line.
    Trailer,
    /// The body is complete.
    Done,
}

/// Malformed framing.
fn malformed(message: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidRequest, format!("Malformed aws-chunked body: {message}"))
}

/// The decoder state: current position, partial line, running chunk hash.
pub(super) struct Decoder {
    state: State,
    signer: Option<ChunkSigner>,
    decoded_len: Option<u64>,
    /// The line being read (size line or trailer), bounded by [`MAX_LINE`].
    line: Vec<u8>,
    /// SHA-256 of the current chunk's data so far (signed bodies only).
    hasher: Sha256,
    /// The signature the current chunk's header announced.
    chunk_signature: [u8; 32],
    /// Payload bytes so far.
    total: u64,
}

impl Decoder {
    /// A decoder at the start of a body.
    pub(super) fn new(signer: Option<ChunkSigner>, decoded_len: Option<u64>) -> Self {
        Decoder {
            state: State::SizeLine,
            signer,
            decoded_len,
            line: Vec::new(),
            hasher: Sha256::new(),
            chunk_signature: [0; 32],
            total: 0,
        }
    }

    /// Consumes a prefix of `input`. Returns payload bytes as soon as there
    /// are some (a slice of `input`, not a copy); `Ok(None)` only once `input`
    /// is used up.
    pub(super) fn step(&mut self, input: &mut Bytes) -> Result<Option<Bytes>, S3Error> {
        while !input.is_empty() {
            match self.state {
                State::SizeLine => {
                    if let Some(line) = self.take_line(input)? {
                        self.on_size_line(&line)?;
                    }
                }
                State::Data { remaining } => {
                    // `n` is at most `input.len()`, so the cast back is lossless.
                    let n = remaining.min(input.len() as u64);
                    let data = input.split_to(n as usize);
                    if self.signer.is_some() {
                        self.hasher.update(&data);
                    }
                    let remaining = remaining - n;
                    if remaining == 0 {
                        self.end_chunk()?;
                        self.state = State::DataEnd { cr: false };
                    } else {
                        self.state = State::Data { remaining };
                    }
                    return Ok(Some(data));
                }
                State::DataEnd { cr } => {
                    let b = input.get_u8();
                    self.state = match (cr, b) {
                        (false, b'\r') => State::DataEnd { cr: true },
                        (true, b'\n') => State::SizeLine,
                        _ => return Err(malformed("chunk data is not followed by CRLF")),
                    };
                }
                State::Trailer => {
                    if let Some(line) = self.take_line(input)? {
                        if !line.is_empty() {
                            // The trailer variants parse `name:value` lines here.
                            return Err(malformed("unexpected trailing header"));
                        }
                        self.state = State::Done;
                        self.check_final_total()?;
                    }
                }
                State::Done => return Err(malformed("data after the final chunk")),
            }
        }
        Ok(None)
    }

    /// The input ended: the body must be complete.
    pub(super) fn finish(&self) -> Result<(), S3Error> {
        if self.state == State::Done {
            Ok(())
        } else {
            Err(S3Error::with_message(S3ErrorCode::IncompleteBody, "The request body ended before the final chunk"))
        }
    }

    /// Reads up to and including `\n`; the line without its CRLF once
    /// complete, `None` (all of `input` taken) while not.
    fn take_line(&mut self, input: &mut Bytes) -> Result<Option<Vec<u8>>, S3Error> {
        let too_long = || malformed("chunk header line too long");
        let Some(i) = input.iter().position(|&b| b == b'\n') else {
            if self.line.len() + input.len() > MAX_LINE {
                return Err(too_long());
            }
            self.line.extend_from_slice(input);
            input.clear();
            return Ok(None);
        };
        if self.line.len() + i + 1 > MAX_LINE {
            return Err(too_long());
        }
        self.line.extend_from_slice(&input[..i]);
        input.advance(i + 1);
        let mut line = std::mem::take(&mut self.line);
        if line.pop() != Some(b'\r') {
            return Err(malformed("line not terminated by CRLF"));
        }
        Ok(Some(line))
    }

    /// A chunk header: `hex-size[;chunk-signature=sig][;other]`.
    fn on_size_line(&mut self, line: &[u8]) -> Result<(), S3Error> {
        let line = std::str::from_utf8(line).map_err(|_| malformed("chunk header is not ASCII"))?;
        let (size, extensions) = line.split_once(';').unwrap_or((line, ""));
        let size = size.trim_matches(|c| c == ' ' || c == '\t');
        if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed("invalid chunk size"));
        }
        let size = u64::from_str_radix(size, 16).map_err(|_| malformed("invalid chunk size"))?;
        if self.signer.is_some() {
            let sig = extensions
                .split(';')
                .find_map(|e| e.trim().strip_prefix("chunk-signature="))
                .ok_or_else(|| malformed("missing chunk-signature"))?;
            self.chunk_signature = parse_hex32(sig.trim()).ok_or_else(|| malformed("invalid chunk-signature"))?;
        }
        let total = self.total.checked_add(size);
        match (total, self.decoded_len) {
            (Some(t), Some(d)) if t <= d => self.total = t,
            (Some(t), None) => self.total = t,
            _ => {
                return Err(S3Error::with_message(
                    S3ErrorCode::IncompleteBody,
                    "The chunks carry more data than x-amz-decoded-content-length",
                ))
            }
        }
        if size == 0 {
            self.end_chunk()?;
            self.state = State::Trailer;
        } else {
            self.state = State::Data { remaining: size };
        }
        Ok(())
    }

    /// A chunk's data is complete: check its signature.
    fn end_chunk(&mut self) -> Result<(), S3Error> {
        if let Some(signer) = &mut self.signer {
            let digest: [u8; 32] = self.hasher.finalize_reset().into();
            if !signer.verify_chunk(&digest, &self.chunk_signature) {
                return Err(S3Error::with_message(
                    S3ErrorCode::SignatureDoesNotMatch,
                    "The chunk signature we calculated does not match the signature you provided.",
                ));
            }
        }
        Ok(())
    }

    /// After the final chunk the total must be the declared decoded length.
    fn check_final_total(&self) -> Result<(), S3Error> {
        match self.decoded_len {
            Some(d) if d != self.total => Err(S3Error::with_message(
                S3ErrorCode::IncompleteBody,
                format!("The chunks carry {} bytes but x-amz-decoded-content-length is {d}", self.total),
            )),
            _ => Ok(()),
        }
    }
}
