//! The incremental `aws-chunked` framing parser behind [`super::decode`] and
//! [`super::decode_with_trailers`]: a synchronous state machine fed arbitrary
//! pieces of the body.

use bytes::{Buf, Bytes};
use sha2::{Digest, Sha256};

use super::ChunkSigner;
use crate::error::{S3Error, S3ErrorCode};
use crate::sigv4::crypto::{parse_hex32, sha256};

/// The longest chunk-size or trailer line accepted, CRLF included.
pub(super) const MAX_LINE: usize = 4096;
/// The largest trailer section accepted (every trailer line, the trailer
/// signature and the final empty line, CRLFs included).
pub const MAX_TRAILER: usize = 4096;
/// The trailer carrying the signature of the signed trailer variant.
pub const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

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

/// What the trailer section of a body may hold.
pub(super) struct TrailerRules {
    /// The trailer names `x-amz-trailer` declared, lower case: exactly these
    /// must arrive.
    pub(super) announced: Vec<String>,
    /// Whether the trailers must end with a valid `x-amz-trailer-signature`
    /// (checked with the decoder's signer).
    pub(super) signed: bool,
}

/// The trailer section read so far.
#[derive(Default)]
struct TrailerState {
    /// `(name, value)` in arrival order, names lower-cased, values trimmed.
    fields: Vec<(String, String)>,
    /// What the trailer signature covers: each field as `name:value\n`.
    canonical: Vec<u8>,
    /// Bytes of the trailer section so far.
    size: usize,
    /// Whether `x-amz-trailer-signature` was seen (and checked).
    signed: bool,
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
    /// `None`: no trailer may follow the final chunk.
    rules: Option<TrailerRules>,
    trailer: TrailerState,
}

impl Decoder {
    /// A decoder at the start of a body that carries no trailers.
    pub(super) fn new(signer: Option<ChunkSigner>, decoded_len: Option<u64>) -> Self {
        Decoder {
            state: State::SizeLine,
            signer,
            decoded_len,
            line: Vec::new(),
            hasher: Sha256::new(),
            chunk_signature: [0; 32],
            total: 0,
            rules: None,
            trailer: TrailerState::default(),
        }
    }

    /// A decoder at the start of a body whose final chunk may be followed by
    /// trailers, as `rules` say. A signed trailer needs a `signer`.
    pub(super) fn with_trailers(signer: Option<ChunkSigner>, decoded_len: Option<u64>, rules: TrailerRules) -> Self {
        debug_assert!(!rules.signed || signer.is_some(), "a signed trailer needs a signer");
        Decoder { rules: Some(rules), ..Decoder::new(signer, decoded_len) }
    }

    /// The trailers of a complete body (empty before it is complete).
    pub(super) fn take_trailers(&mut self) -> Vec<(String, String)> {
        if self.state == State::Done {
            std::mem::take(&mut self.trailer.fields)
        } else {
            Vec::new()
        }
    }

    /// Consumes a prefix of `input`. Returns payload bytes as soon as there
    /// are some (a slice of `input`, not a copy); `Ok(None)` only once `input`
    /// is used up.
    pub(super) fn step(&mut self, input: &mut Bytes) -> Result<Option<Bytes>, S3Error> {
        while !input.is_empty() {
            match self.state {
                State::SizeLine => {
                    if let Some(line) = self.take_line(input, MAX_LINE)? {
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
                    let budget = MAX_TRAILER - self.trailer.size;
                    if let Some(line) = self.take_line(input, budget)? {
                        self.trailer.size += line.len() + 2;
                        if line.is_empty() {
                            self.end_trailers()?;
                            self.state = State::Done;
                            self.check_final_total()?;
                        } else {
                            self.on_trailer_line(&line)?;
                        }
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
    /// complete, `None` (all of `input` taken) while not. The line, CRLF
    /// included, may be at most `limit` bytes long.
    fn take_line(&mut self, input: &mut Bytes, limit: usize) -> Result<Option<Vec<u8>>, S3Error> {
        let too_long = || {
            if self.state == State::Trailer {
                malformed("trailing headers too long")
            } else {
                malformed("chunk header line too long")
            }
        };
        let Some(i) = input.iter().position(|&b| b == b'\n') else {
            if self.line.len() + input.len() > limit {
                return Err(too_long());
            }
            self.line.extend_from_slice(input);
            input.clear();
            return Ok(None);
        };
        if self.line.len() + i + 1 > limit {
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

    /// A trailer line: `name:value`, or the trailer signature.
    fn on_trailer_line(&mut self, line: &[u8]) -> Result<(), S3Error> {
        let Some(rules) = &self.rules else {
            return Err(malformed("unexpected trailing header"));
        };
        if self.trailer.signed {
            return Err(malformed("trailing header after x-amz-trailer-signature"));
        }
        let line = std::str::from_utf8(line).map_err(|_| malformed("trailing header is not UTF-8"))?;
        let (name, value) = line.split_once(':').ok_or_else(|| malformed("trailing header without ':'"))?;
        let name = name.trim_matches(|c| c == ' ' || c == '\t').to_ascii_lowercase();
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        let token = |b: u8| b.is_ascii_graphic() && !b"\"(),/:;<=>?@[\\]{}".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(malformed("invalid trailing header name"));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(malformed("invalid trailing header value"));
        }
        if name == TRAILER_SIGNATURE {
            if !rules.signed {
                return Err(malformed("x-amz-trailer-signature in an unsigned trailer"));
            }
            let provided = parse_hex32(value).ok_or_else(|| malformed("invalid x-amz-trailer-signature"))?;
            let signer = self.signer.as_mut().ok_or_else(|| malformed("x-amz-trailer-signature without a signer"))?;
            if !signer.verify_trailer(&sha256(&self.trailer.canonical), &provided) {
                return Err(S3Error::with_message(
                    S3ErrorCode::SignatureDoesNotMatch,
                    "The trailer signature we calculated does not match the signature you provided.",
                ));
            }
            self.trailer.signed = true;
            return Ok(());
        }
        if !rules.announced.contains(&name) {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!("The trailing header '{name}' was not declared in x-amz-trailer"),
            ));
        }
        if self.trailer.fields.iter().any(|(n, _)| *n == name) {
            return Err(malformed(&format!("trailing header '{name}' given twice")));
        }
        for part in [name.as_str(), ":", value, "\n"] {
            self.trailer.canonical.extend_from_slice(part.as_bytes());
        }
        self.trailer.fields.push((name, value.to_owned()));
        Ok(())
    }

    /// The empty line ending the trailers: every declared trailer arrived, and
    /// signed trailers were signed.
    fn end_trailers(&self) -> Result<(), S3Error> {
        let Some(rules) = &self.rules else {
            return Ok(());
        };
        if rules.signed && !self.trailer.fields.is_empty() && !self.trailer.signed {
            return Err(malformed("missing x-amz-trailer-signature"));
        }
        if let Some(missing) = rules.announced.iter().find(|a| !self.trailer.fields.iter().any(|(n, _)| n == *a)) {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!("x-amz-trailer declares '{missing}' but the body carries no such trailing header"),
            ));
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
