#![no_main]
//! Fuzzes the `aws-chunked` body decoder, `coffer_s3_proto::chunked::decode`.
//!
//! The input picks a mode, then supplies a body that is fed to the decoder in
//! arbitrary pieces (empty pieces included, optionally followed by an input
//! error), with or without a `ChunkSigner` built from fixed key material and
//! with or without a declared decoded length. The stream is driven to its end
//! with `futures::executor::block_on`.
//!
//! Checked, for every input:
//! - the decoder never panics (nor overflows: fuzz builds check arithmetic);
//! - it never yields more payload bytes than the body it was given, nor more
//!   than the declared decoded length;
//! - a successful decode carries exactly the declared decoded length;
//! - nothing follows an error item;
//! - the outcome (payload bytes and error code) does not depend on how the
//!   body was split into pieces;
//! - in the "encoded" mode the body is `encode_signed_chunks` of the fuzz
//!   bytes, optionally corrupted by one byte or truncated: uncorrupted, it
//!   must decode to exactly those bytes; corrupted, a signed decode that
//!   succeeds must still return exactly the original bytes.

use bytes::Bytes;
use coffer_s3_proto::chunked::{decode, encode_signed_chunks, ChunkSigner};
use coffer_s3_proto::S3ErrorCode;
use futures::StreamExt;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;

/// A signer from fixed key material (the values only need to be stable).
fn signer() -> ChunkSigner {
    ChunkSigner::new([0x4b; 32], "20240101T000000Z", "20240101/us-east-1/s3/aws4_request", [0x5e; 32])
}

/// What one decode produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    data: Vec<u8>,
    error: Option<S3ErrorCode>,
}

/// Decodes `pieces` (then an input error if `tail_error`) to the stream's end.
fn run(pieces: Vec<Bytes>, tail_error: bool, signer: Option<ChunkSigner>, decoded_len: Option<u64>) -> Outcome {
    let mut items: Vec<Result<Bytes, String>> = pieces.into_iter().map(Ok).collect();
    if tail_error {
        items.push(Err("connection reset by fuzzer".to_owned()));
    }
    let stream = decode(futures::stream::iter(items), signer, decoded_len);
    futures::executor::block_on(async move {
        futures::pin_mut!(stream);
        let mut data = Vec::new();
        let mut error = None;
        while let Some(item) = stream.next().await {
            assert!(error.is_none(), "decode yielded an item after an error ({error:?})");
            match item {
                Ok(b) => data.extend_from_slice(&b),
                Err(e) => error = Some(e.code),
            }
        }
        Outcome { data, error }
    })
}

/// `body` cut into pieces whose lengths come from a small PRNG seeded by the
/// input: lengths 0..=max_piece, empty pieces included, bounded in count.
fn split(body: &Bytes, seed: u32, max_piece: u8) -> Vec<Bytes> {
    if max_piece == 0 {
        return vec![body.clone()];
    }
    let mut state = seed | 1;
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < body.len() {
        if pieces.len() > 2 * body.len() + 2 {
            pieces.push(body.slice(at..));
            break;
        }
        // xorshift32
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state % (u32::from(max_piece) + 1)) as usize;
        let end = (at + n).min(body.len());
        pieces.push(body.slice(at..end));
        at = end;
    }
    pieces
}

/// The checks every decode must pass, whatever the body.
fn check_common(out: &Outcome, body_len: usize, decoded_len: Option<u64>, tail_error: bool) {
    assert!(
        out.data.len() <= body_len,
        "decode yielded {} bytes from a {body_len}-byte body",
        out.data.len()
    );
    if let Some(d) = decoded_len {
        assert!(out.data.len() as u64 <= d, "decode yielded {} bytes, over decoded_len {d}", out.data.len());
        if out.error.is_none() {
            assert_eq!(out.data.len() as u64, d, "a successful decode must carry exactly decoded_len");
        }
    }
    if tail_error {
        assert!(out.error.is_some(), "an input error must end the stream with an error");
    }
}

fn one(u: &mut Unstructured) -> ArbResult<()> {
    let flags: u8 = u.arbitrary()?;
    let seed: u32 = u.arbitrary()?;
    let max_piece: u8 = u.arbitrary()?;
    let tail_error = flags & 0x02 != 0;
    let signed = flags & 0x04 != 0;
    let encoded_mode = flags & 0x01 != 0;

    if !encoded_mode {
        // Raw mode: the rest of the input is the body.
        let decoded_len = match (flags >> 3) & 0x03 {
            0 | 1 => None,
            2 => Some(u64::from(u.arbitrary::<u16>()?)),
            _ => Some(u.arbitrary::<u64>()?),
        };
        let body = Bytes::from(u.bytes(u.len())?.to_vec());
        let sig = signed.then(signer);
        let out = run(split(&body, seed, max_piece), tail_error, sig.clone(), decoded_len);
        check_common(&out, body.len(), decoded_len, tail_error);
        if max_piece != 0 {
            let whole = run(vec![body.clone()], tail_error, sig, decoded_len);
            assert_eq!(out, whole, "the outcome depends on how the body is split");
        }
        return Ok(());
    }

    // Encoded mode: a well-formed signed body of the fuzz bytes, maybe corrupted.
    let chunk_size = usize::from(u.arbitrary::<u16>()? % 4096);
    let corruption: u8 = u.arbitrary()?;
    let position: u32 = u.arbitrary()?;
    let xor: u8 = u.arbitrary()?;
    let len_mode: u8 = u.arbitrary()?;
    let payload = u.bytes(u.len())?.to_vec();
    let mut body = encode_signed_chunks(&payload, chunk_size, signer());
    let corrupted = match corruption % 4 {
        1 if xor != 0 => {
            let i = position as usize % body.len();
            body[i] ^= xor;
            true
        }
        2 => {
            body.truncate(position as usize % body.len());
            true
        }
        _ => false,
    };
    let decoded_len = match len_mode % 4 {
        0 => None,
        1 => Some(u64::from(position)),
        _ => Some(payload.len() as u64),
    };
    let body = Bytes::from(body);
    let sig = signed.then(signer);
    let out = run(split(&body, seed, max_piece), tail_error, sig.clone(), decoded_len);
    check_common(&out, body.len(), decoded_len, tail_error);
    let exact_len = decoded_len.is_none_or(|d| d == payload.len() as u64);
    if !corrupted && !tail_error && exact_len {
        assert_eq!(out.error, None, "a well-formed signed body was refused");
        assert!(out.data == payload, "a well-formed signed body decoded to other bytes");
    }
    if sig.is_some() && out.error.is_none() {
        assert!(out.data == payload, "a signed decode succeeded with other bytes than were signed");
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = one(&mut Unstructured::new(data));
});
