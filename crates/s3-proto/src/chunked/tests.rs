//! aws-chunked tests: the chunk signatures of the AWS documentation's chunked
//! upload example, and the decoder fed at every awkward boundary, corrupted,
//! truncated, too long.

use bytes::Bytes;
use futures::executor::block_on;
use futures::StreamExt;

use super::parser::MAX_LINE;
use super::*;
use crate::sigv4::crypto::sha256;
use crate::sigv4::signing_key;

const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const SIGS: [&str; 3] = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];
const DATA_LEN: usize = 66560;

/// The signer of the documented example, seeded with its seed signature.
fn doc_signer() -> ChunkSigner {
    let key = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
    let mut seed = [0u8; 32];
    hex::decode_to_slice(SEED, &mut seed).unwrap();
    ChunkSigner::new(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", seed)
}

/// The documented body: 64 KiB + 1 KiB of `a`, then the final chunk.
fn doc_body() -> Vec<u8> {
    let mut body = Vec::new();
    for (size, sig) in [(65536, SIGS[0]), (1024, SIGS[1]), (0, SIGS[2])] {
        body.extend_from_slice(format!("{size:x};chunk-signature={sig}\r\n").as_bytes());
        body.extend(std::iter::repeat_n(b'a', size));
        body.extend_from_slice(b"\r\n");
    }
    body
}

/// Decodes `pieces`; the payload received, and the error that ended the stream.
fn run(pieces: Vec<Vec<u8>>, signer: Option<ChunkSigner>, decoded_len: Option<u64>) -> (Vec<u8>, Option<S3Error>) {
    let input = futures::stream::iter(pieces.into_iter().map(|p| Ok::<_, std::io::Error>(Bytes::from(p))));
    let items: Vec<_> = block_on(decode(input, signer, decoded_len).collect());
    let mut data = Vec::new();
    let mut error = None;
    for (i, item) in items.iter().enumerate() {
        match item {
            Ok(b) => data.extend_from_slice(b),
            Err(e) => {
                assert_eq!(i, items.len() - 1, "nothing may follow an error");
                error = Some(e.clone());
            }
        }
    }
    (data, error)
}

/// `body` cut at the given offsets.
fn cut(body: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for &c in cuts {
        pieces.push(body[start..c].to_vec());
        start = c;
    }
    pieces.push(body[start..].to_vec());
    pieces
}

fn expect_ok(result: (Vec<u8>, Option<S3Error>), want: &[u8]) {
    let (data, error) = result;
    assert!(error.is_none(), "unexpected {error:?}");
    assert!(data == want, "decoded {} bytes, want {}", data.len(), want.len());
}

fn expect_err(result: (Vec<u8>, Option<S3Error>), code: S3ErrorCode) {
    let (_, error) = result;
    assert_eq!(error.expect("the stream must end with an error").code, code);
}

#[test]
fn documented_chunk_signatures_chain_from_the_seed() {
    let mut signer = doc_signer();
    assert_eq!(hex::encode(signer.previous_signature()), SEED);
    let sig1 = signer.sign_chunk(&sha256(&[b'a'; 65536]));
    assert_eq!(hex::encode(sig1), SIGS[0]);
    let sig2 = signer.sign_chunk(&sha256(&[b'a'; 1024]));
    assert_eq!(hex::encode(sig2), SIGS[1]);
    let sig3 = signer.sign_chunk(&sha256(b""));
    assert_eq!(hex::encode(sig3), SIGS[2]);
    // The key never shows in logs.
    assert!(!format!("{signer:?}").contains(&hex::encode(signing_key(
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "20130524",
        "us-east-1",
        "s3"
    ))));
}

#[test]
fn encoder_reproduces_the_documented_body() {
    let body = encode_signed_chunks(&[b'a'; DATA_LEN], 65536, doc_signer());
    assert_eq!(body.len(), 66824);
    assert_eq!(signed_encoded_len(DATA_LEN as u64, 65536), 66824);
    assert!(body == doc_body());
}

#[test]
fn documented_body_decodes_whole_and_in_one_byte_pieces() {
    let body = doc_body();
    let want = vec![b'a'; DATA_LEN];
    expect_ok(run(vec![body.clone()], Some(doc_signer()), Some(DATA_LEN as u64)), &want);
    let bytes: Vec<Vec<u8>> = body.iter().map(|&b| vec![b]).collect();
    expect_ok(run(bytes, Some(doc_signer()), Some(DATA_LEN as u64)), &want);
    // Without a declared length too, and with empty pieces in between.
    let mut pieces = cut(&body, &[10, 10, 100, 65626]);
    pieces.insert(0, Vec::new());
    expect_ok(run(pieces, Some(doc_signer()), None), &want);
}

#[test]
fn documented_body_decodes_when_cut_anywhere_in_the_framing() {
    let body = doc_body();
    let want = vec![b'a'; DATA_LEN];
    let first_header = 88; // "10000;chunk-signature=<64>\r\n"
    let second_start = first_header + 65536 + 2;
    let final_start = second_start + 86 + 1024 + 2;
    let mut offsets: Vec<usize> = (1..first_header + 3).collect();
    offsets.extend(second_start - 3..second_start + 90);
    offsets.extend(final_start - 3..body.len());
    for at in offsets {
        expect_ok(run(cut(&body, &[at]), Some(doc_signer()), Some(DATA_LEN as u64)), &want);
    }
}

#[test]
fn every_split_of_a_small_body_decodes() {
    let data: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
    let body = encode_signed_chunks(&data, 128, doc_signer());
    for i in 0..=body.len() {
        expect_ok(run(cut(&body, &[i]), Some(doc_signer()), Some(300)), &data);
        // Two cuts: also splits the data of a chunk from its signature check.
        let j = (i + 37).min(body.len());
        expect_ok(run(cut(&body, &[i, j]), Some(doc_signer()), Some(300)), &data);
    }
}

#[test]
fn encode_then_decode_round_trips() {
    for (len, chunk) in [(0, 8192), (1, 8192), (8191, 8192), (8192, 8192), (100_000, 8192), (5, 0)] {
        let data: Vec<u8> = (0..len).map(|i| (i % 256) as u8).collect();
        let body = encode_signed_chunks(&data, chunk, doc_signer());
        assert_eq!(body.len() as u64, signed_encoded_len(len as u64, chunk), "{len}/{chunk}");
        let pieces = body.chunks(1000).map(<[u8]>::to_vec).collect();
        expect_ok(run(pieces, Some(doc_signer()), Some(len as u64)), &data);
        // A signer seeded otherwise refuses it.
        let mut other = doc_signer();
        other.sign_chunk(&[0; 32]);
        expect_err(run(vec![body], Some(other), Some(len as u64)), S3ErrorCode::SignatureDoesNotMatch);
    }
}

#[test]
fn a_corrupted_chunk_signature_fails_before_the_stream_ends() {
    for (i, sig) in SIGS.iter().enumerate() {
        let mut bad = sig.as_bytes().to_vec();
        bad[10] = if bad[10] == b'0' { b'1' } else { b'0' };
        let body = String::from_utf8(doc_body()).unwrap().replace(sig, std::str::from_utf8(&bad).unwrap());
        let (data, error) = run(vec![body.into_bytes()], Some(doc_signer()), Some(DATA_LEN as u64));
        assert_eq!(error.unwrap().code, S3ErrorCode::SignatureDoesNotMatch, "chunk {i}");
        // The chunks before the bad one were emitted; the bad one's data never is
        // (its last piece is held back by the failed check).
        assert_eq!(data.len(), [0, 65536, DATA_LEN][i], "chunk {i}");
    }
}

#[test]
fn corrupted_data_fails_the_chunk_signature() {
    let mut body = doc_body();
    body[88 + 1000] = b'b';
    expect_err(run(vec![body.clone()], Some(doc_signer()), Some(DATA_LEN as u64)), S3ErrorCode::SignatureDoesNotMatch);
    // Unsigned decoding does not notice (the body hash is checked elsewhere).
    let (data, error) = run(vec![body], None, Some(DATA_LEN as u64));
    assert!(error.is_none());
    assert_eq!(data[1000], b'b');
}

#[test]
fn truncated_bodies_are_incomplete() {
    let body = doc_body();
    for len in [0, 50, 88, 4000, 65626, 66700, body.len() - 2, body.len() - 1] {
        expect_err(
            run(vec![body[..len].to_vec()], Some(doc_signer()), Some(DATA_LEN as u64)),
            S3ErrorCode::IncompleteBody,
        );
    }
}

#[test]
fn a_wrong_decoded_length_is_incomplete() {
    for len in [0, 1024, 65535, 66559, 66561, u64::MAX] {
        expect_err(run(vec![doc_body()], Some(doc_signer()), Some(len)), S3ErrorCode::IncompleteBody);
    }
}

#[test]
fn an_input_error_is_incomplete() {
    let body = doc_body();
    let input = futures::stream::iter(vec![
        Ok(Bytes::from(body[..1000].to_vec())),
        Err("connection reset"),
        Ok(Bytes::from(body[1000..].to_vec())),
    ]);
    let items: Vec<_> = block_on(decode(input, Some(doc_signer()), None).collect());
    let e = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(e.code, S3ErrorCode::IncompleteBody);
    assert!(e.message.contains("connection reset"));
}

#[test]
fn oversized_header_lines_are_refused() {
    let mut long = b"1".to_vec();
    long.extend(std::iter::repeat_n(b';', MAX_LINE));
    // With no newline at all, in one piece and in small pieces.
    expect_err(run(vec![long.clone()], None, None), S3ErrorCode::InvalidRequest);
    let pieces = long.chunks(100).map(<[u8]>::to_vec).collect();
    expect_err(run(pieces, None, None), S3ErrorCode::InvalidRequest);
    // With a newline past the limit.
    long.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
    expect_err(run(vec![long], None, None), S3ErrorCode::InvalidRequest);
    // Just under the limit is fine.
    let mut ok = b"1".to_vec();
    ok.extend(std::iter::repeat_n(b';', MAX_LINE - 3));
    ok.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
    expect_ok(run(vec![ok], None, Some(1)), b"x");
}

#[test]
fn unsigned_framing_decodes() {
    let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\nA;chunk-signature=zz\r\n0123456789\r\n0\r\n\r\n";
    for i in 0..=body.len() {
        expect_ok(run(cut(body, &[i]), None, Some(21)), b"hello world0123456789");
    }
    expect_ok(run(vec![b"0\r\n\r\n".to_vec()], None, Some(0)), b"");
}

#[test]
fn malformed_framing_is_refused() {
    let sig = "0".repeat(64);
    let cases: Vec<Vec<u8>> = vec![
        b"zz\r\nhello\r\n0\r\n\r\n".to_vec(),
        b"+5\r\nhello\r\n0\r\n\r\n".to_vec(),
        b"\r\nhello\r\n0\r\n\r\n".to_vec(),
        b"11111111111111111\r\n".to_vec(),
        b"5\nhello\r\n0\r\n\r\n".to_vec(),
        b"5\r\nhelloX\r\n0\r\n\r\n".to_vec(),
        b"5\r\nhello\r0\r\n\r\n".to_vec(),
        b"5\r\nhello\r\n0\r\n\r\nextra".to_vec(),
        b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n".to_vec(),
        b"5;\xff\r\nhello\r\n0\r\n\r\n".to_vec(),
    ];
    for body in cases {
        expect_err(run(vec![body.clone()], None, None), S3ErrorCode::InvalidRequest);
    }
    // Signed framing needs a well-formed signature on every chunk.
    for header in ["5", "5;chunk-signature=", "5;chunk-signature=abc", "5;sig=00"] {
        let body = format!("{header}\r\nhello\r\n0;chunk-signature={sig}\r\n\r\n");
        expect_err(run(vec![body.into_bytes()], Some(doc_signer()), None), S3ErrorCode::InvalidRequest);
    }
}

#[test]
fn data_streams_out_before_its_chunk_ends() {
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, String>>();
    let body = doc_body();
    let mut stream = Box::pin(decode(rx, Some(doc_signer()), Some(DATA_LEN as u64)));
    tx.unbounded_send(Ok(Bytes::from(body[..88 + 1000].to_vec()))).unwrap();
    let first = block_on(stream.next()).unwrap().unwrap();
    assert_eq!(first.len(), 1000);
    tx.unbounded_send(Ok(Bytes::from(body[88 + 1000..88 + 3000].to_vec()))).unwrap();
    assert_eq!(block_on(stream.next()).unwrap().unwrap().len(), 2000);
    drop(tx);
    let e = block_on(stream.next()).unwrap().unwrap_err();
    assert_eq!(e.code, S3ErrorCode::IncompleteBody);
    assert!(block_on(stream.next()).is_none());
}
