//! Trailer tests: the AWS documentation's signed-trailer example, botocore's
//! unsigned-trailer framing, every split of small bodies, and every way a
//! trailer section is refused.

use bytes::Bytes;
use coffer_types::checksum::{checksum, to_base64, ChecksumAlgorithm};
use futures::executor::block_on;
use futures::StreamExt;

use super::*;
use crate::sigv4::signing_key;

const SEED: &str = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
const SIGS: [&str; 3] = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
];
const TRAILER_SIG: &str = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";
const DATA_LEN: usize = 66560;
const CRC32C: &str = "x-amz-checksum-crc32c";
const CRC32: &str = "x-amz-checksum-crc32";

/// The signer of the documented trailer example, seeded with its seed signature.
fn doc_signer() -> ChunkSigner {
    let key = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
    let mut seed = [0u8; 32];
    hex::decode_to_slice(SEED, &mut seed).unwrap();
    ChunkSigner::new(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", seed)
}

/// The documented body: 64 KiB + 1 KiB of `a`, the final chunk, the CRC-32C
/// trailer and its signature.
fn doc_body() -> Vec<u8> {
    let mut body = Vec::new();
    for (size, sig) in [(65536, SIGS[0]), (1024, SIGS[1])] {
        body.extend_from_slice(format!("{size:x};chunk-signature={sig}\r\n").as_bytes());
        body.extend(std::iter::repeat_n(b'a', size));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("0;chunk-signature={}\r\n", SIGS[2]).as_bytes());
    body.extend_from_slice(b"x-amz-checksum-crc32c:sOO8/Q==\r\n");
    body.extend_from_slice(format!("x-amz-trailer-signature:{TRAILER_SIG}\r\n\r\n").as_bytes());
    body
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The outcome of decoding: payload, the error that ended the stream, the slot.
struct Outcome {
    data: Vec<u8>,
    error: Option<S3Error>,
    trailers: Option<Vec<(String, String)>>,
}

fn run(pieces: Vec<Vec<u8>>, framing: Framing, decoded_len: Option<u64>, announced: &[&str]) -> Outcome {
    let input = futures::stream::iter(pieces.into_iter().map(|p| Ok::<_, std::io::Error>(Bytes::from(p))));
    let (stream, slot) = decode_with_trailers(input, framing, decoded_len, names(announced));
    let items: Vec<_> = block_on(stream.collect());
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
    Outcome { data, error, trailers: slot.get() }
}

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

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

fn expect_ok(out: Outcome, data: &[u8], trailers: &[(&str, &str)]) {
    assert!(out.error.is_none(), "unexpected {:?}", out.error);
    assert!(out.data == data, "decoded {} bytes, want {}", out.data.len(), data.len());
    assert_eq!(out.trailers, Some(pairs(trailers)));
}

fn expect_err(out: Outcome, code: S3ErrorCode) -> S3Error {
    let e = out.error.expect("the stream must end with an error");
    assert_eq!(e.code, code, "{e:?}");
    assert_eq!(out.trailers, None, "no trailers after an error");
    e
}

fn b64_crc(algo: ChecksumAlgorithm, data: &[u8]) -> String {
    to_base64(&checksum(algo, data))
}

#[test]
fn documented_trailer_signature() {
    let mut signer = doc_signer();
    for (len, sig) in [(65536, SIGS[0]), (1024, SIGS[1]), (0, SIGS[2])] {
        assert_eq!(hex::encode(signer.sign_chunk(&sha256(&vec![b'a'; len]))), sig);
    }
    let canonical = b"x-amz-checksum-crc32c:sOO8/Q==\n";
    assert_eq!(hex::encode(signer.clone().sign_trailer(&sha256(canonical))), TRAILER_SIG);
    let mut provided = [0u8; 32];
    hex::decode_to_slice(TRAILER_SIG, &mut provided).unwrap();
    assert!(signer.clone().verify_trailer(&sha256(canonical), &provided));
    assert!(!signer.verify_trailer(&sha256(b"x-amz-checksum-crc32c:sOO8/Q=\n"), &provided));
}

#[test]
fn encoder_reproduces_the_documented_trailer_body() {
    let data = vec![b'a'; DATA_LEN];
    assert_eq!(b64_crc(ChecksumAlgorithm::Crc32c, &data), "sOO8/Q==");
    let body = encode_signed_with_trailer(&data, 65536, &[(CRC32C, "sOO8/Q==")], doc_signer());
    assert_eq!(body.len(), 66946);
    assert!(body == doc_body());
}

#[test]
fn documented_trailer_body_decodes_whole_and_in_one_byte_pieces() {
    let body = doc_body();
    let want = vec![b'a'; DATA_LEN];
    let trailers = [(CRC32C, "sOO8/Q==")];
    let signed = || Framing::Signed(doc_signer());
    expect_ok(run(vec![body.clone()], signed(), Some(DATA_LEN as u64), &[CRC32C]), &want, &trailers);
    let bytes: Vec<Vec<u8>> = body.iter().map(|&b| vec![b]).collect();
    expect_ok(run(bytes, signed(), Some(DATA_LEN as u64), &[CRC32C]), &want, &trailers);
    // Cut anywhere in the final chunk and trailer section.
    let tail_start = body.len() - 200;
    for at in tail_start..body.len() {
        expect_ok(run(cut(&body, &[at]), signed(), None, &[CRC32C]), &want, &trailers);
    }
    // The checksum the trailer carries is the one of the decoded data.
    let out = run(vec![body], signed(), None, &[CRC32C]);
    let value = out.trailers.unwrap()[0].1.clone();
    assert_eq!(value, b64_crc(ChecksumAlgorithm::Crc32c, &out.data));
}

#[test]
fn botocore_unsigned_trailer_framing_decodes() {
    // What botocore sends for PutObject(Body=b"hello") with a CRC-32.
    assert_eq!(b64_crc(ChecksumAlgorithm::Crc32, b"hello"), "NhCmhg==");
    let body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
    assert_eq!(encode_unsigned_with_trailer(b"hello", 65536, &[(CRC32, "NhCmhg==")]), body);
    for i in 0..=body.len() {
        for j in i..=body.len() {
            expect_ok(run(cut(body, &[i, j]), Framing::Unsigned, Some(5), &[CRC32]), b"hello", &[(CRC32, "NhCmhg==")]);
        }
    }
    let bytes: Vec<Vec<u8>> = body.iter().map(|&b| vec![b]).collect();
    expect_ok(run(bytes, Framing::Unsigned, Some(5), &[CRC32]), b"hello", &[(CRC32, "NhCmhg==")]);

    // Larger bodies: lower-case hex sizes, several chunks, an empty object.
    for (len, chunk) in [(0usize, 65536usize), (1, 1), (70_000, 65536), (100_000, 1000)] {
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let crc = b64_crc(ChecksumAlgorithm::Crc32, &data);
        let body = encode_unsigned_with_trailer(&data, chunk, &[(CRC32, crc.as_str())]);
        if len == 70_000 {
            assert!(body.starts_with(b"10000\r\n"));
            assert!(body[65536 + 7..].starts_with(b"\r\n1170\r\n"));
        }
        let pieces = body.chunks(777).map(<[u8]>::to_vec).collect();
        expect_ok(run(pieces, Framing::Unsigned, Some(len as u64), &[CRC32]), &data, &[(CRC32, crc.as_str())]);
    }
}

#[test]
fn every_split_of_a_small_signed_trailer_body_decodes() {
    let data: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
    let crc = b64_crc(ChecksumAlgorithm::Crc64Nvme, &data);
    let trailers = [("x-amz-checksum-crc64nvme", crc.as_str())];
    let body = encode_signed_with_trailer(&data, 128, &trailers, doc_signer());
    for i in 0..=body.len() {
        let j = (i + 41).min(body.len());
        let out = run(cut(&body, &[i, j]), Framing::Signed(doc_signer()), Some(300), &["x-amz-checksum-crc64nvme"]);
        expect_ok(out, &data, &trailers);
    }
}

#[test]
fn several_trailers_and_none() {
    let data = b"some data";
    let sha = b64_crc(ChecksumAlgorithm::Sha256, data);
    let trailers = [("x-amz-checksum-sha256", sha.as_str()), ("x-amz-meta-extra", "v a l")];
    let announced = ["x-amz-checksum-sha256", "x-amz-meta-extra"];
    let body = encode_signed_with_trailer(data, 4, &trailers, doc_signer());
    expect_ok(run(vec![body], Framing::Signed(doc_signer()), Some(9), &announced), data, &trailers);
    let body = encode_unsigned_with_trailer(data, 4, &trailers);
    expect_ok(run(vec![body], Framing::Unsigned, Some(9), &announced), data, &trailers);

    // No trailer at all: with or without a trailer signature over nothing.
    let body = encode_signed_with_trailer(data, 4, &[], doc_signer());
    assert!(body.windows(24).any(|w| w == b"x-amz-trailer-signature:"));
    expect_ok(run(vec![body], Framing::Signed(doc_signer()), Some(9), &[]), data, &[]);
    let body = encode_signed_chunks(data, 4, doc_signer());
    expect_ok(run(vec![body], Framing::Signed(doc_signer()), Some(9), &[]), data, &[]);
    let body = encode_unsigned_with_trailer(data, 4, &[]);
    assert!(body.ends_with(b"\r\n0\r\n\r\n"));
    expect_ok(run(vec![body], Framing::Unsigned, Some(9), &[]), data, &[]);
}

#[test]
fn trailer_names_are_lower_cased_and_values_trimmed() {
    let body = b"3\r\nabc\r\n0\r\nX-Amz-Checksum-CRC32 : \t NSRBwg== \r\n\r\n";
    let out = run(vec![body.to_vec()], Framing::Unsigned, Some(3), &[CRC32]);
    expect_ok(out, b"abc", &[(CRC32, "NSRBwg==")]);
    // The signature covers the canonical form.
    let mut signer = doc_signer();
    let mut body = Vec::new();
    for chunk in [&b"abc"[..], b""] {
        let sig = signer.sign_chunk(&sha256(chunk));
        body.extend_from_slice(format!("{:x};chunk-signature={}\r\n", chunk.len(), hex::encode(sig)).as_bytes());
        if !chunk.is_empty() {
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
        }
    }
    let sig = signer.sign_trailer(&sha256(b"x-amz-checksum-crc32:NSRBwg==\n"));
    body.extend_from_slice(b"X-Amz-Checksum-Crc32:NSRBwg== \r\n");
    body.extend_from_slice(format!("X-Amz-Trailer-Signature: {}\r\n\r\n", hex::encode(sig)).as_bytes());
    let out = run(vec![body], Framing::Signed(doc_signer()), Some(3), &[CRC32]);
    expect_ok(out, b"abc", &[(CRC32, "NSRBwg==")]);
}

#[test]
fn tampered_signed_trailers_are_refused() {
    let good = String::from_utf8(doc_body()).unwrap();
    let announced = [CRC32C];
    let signed = || Framing::Signed(doc_signer());
    let cases = [
        (good.clone(), None),
        // Another value or signature.
        (good.replace("sOO8/Q==", "sOO8/R=="), Some(S3ErrorCode::SignatureDoesNotMatch)),
        (good.replace(TRAILER_SIG, &TRAILER_SIG.replace("d81f", "d81e")), Some(S3ErrorCode::SignatureDoesNotMatch)),
        (good.replace(TRAILER_SIG, &"0".repeat(64)), Some(S3ErrorCode::SignatureDoesNotMatch)),
        // The signature of the final chunk, not of the trailer.
        (good.replace(TRAILER_SIG, SIGS[2]), Some(S3ErrorCode::SignatureDoesNotMatch)),
        // Missing, malformed, or not last.
        (good.replace(&format!("x-amz-trailer-signature:{TRAILER_SIG}\r\n"), ""), Some(S3ErrorCode::InvalidRequest)),
        (good.replace(TRAILER_SIG, &TRAILER_SIG[1..]), Some(S3ErrorCode::InvalidRequest)),
        (good.replace("\r\n\r\n", "\r\nx-amz-checksum-crc32c:sOO8/Q==\r\n\r\n"), Some(S3ErrorCode::InvalidRequest)),
        (
            good.replace(
                &format!("x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:{TRAILER_SIG}"),
                &format!("x-amz-trailer-signature:{TRAILER_SIG}\r\nx-amz-checksum-crc32c:sOO8/Q=="),
            ),
            // Checked when it arrives: over no trailer at all.
            Some(S3ErrorCode::SignatureDoesNotMatch),
        ),
        // A bad final chunk signature fails before the trailer.
        (good.replace(SIGS[2], &SIGS[2].replace("2ca2", "2ca3")), Some(S3ErrorCode::SignatureDoesNotMatch)),
    ];
    for (i, (body, want)) in cases.into_iter().enumerate() {
        let out = run(vec![body.into_bytes()], signed(), Some(DATA_LEN as u64), &announced);
        match want {
            None => expect_ok(out, &vec![b'a'; DATA_LEN], &[(CRC32C, "sOO8/Q==")]),
            Some(code) => {
                // The payload itself was all emitted: only the trailer is wrong.
                let e = expect_err(out, code);
                assert!(!e.message.is_empty(), "case {i}");
            }
        }
    }
    // A signer seeded otherwise refuses the whole body.
    let mut other = doc_signer();
    other.sign_chunk(&[0; 32]);
    expect_err(run(vec![doc_body()], Framing::Signed(other), None, &announced), S3ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn unsigned_trailers_carry_no_signature() {
    let sig = "0".repeat(64);
    let body = format!("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\nx-amz-trailer-signature:{sig}\r\n\r\n");
    expect_err(run(vec![body.into_bytes()], Framing::Unsigned, Some(3), &[CRC32]), S3ErrorCode::InvalidRequest);
}

#[test]
fn trailers_must_be_the_announced_ones() {
    let body = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n".to_vec();
    // Not announced at all, or another one announced.
    let e = expect_err(run(vec![body.clone()], Framing::Unsigned, Some(3), &[]), S3ErrorCode::InvalidRequest);
    assert!(e.message.contains("x-amz-checksum-crc32"), "{e:?}");
    expect_err(run(vec![body.clone()], Framing::Unsigned, Some(3), &[CRC32C]), S3ErrorCode::InvalidRequest);
    // Announced names are compared in any case.
    let out = run(vec![body.clone()], Framing::Unsigned, Some(3), &["X-Amz-Checksum-CRC32 "]);
    expect_ok(out, b"abc", &[(CRC32, "NSRBwg==")]);
    // Announced but missing.
    let bare = b"3\r\nabc\r\n0\r\n\r\n".to_vec();
    expect_err(run(vec![bare.clone()], Framing::Unsigned, Some(3), &[CRC32]), S3ErrorCode::InvalidRequest);
    expect_err(run(vec![body.clone()], Framing::Unsigned, Some(3), &[CRC32, CRC32C]), S3ErrorCode::InvalidRequest);
    // Given twice.
    let twice = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n".to_vec();
    expect_err(run(vec![twice], Framing::Unsigned, Some(3), &[CRC32]), S3ErrorCode::InvalidRequest);
    // The plain decoder refuses every trailer.
    let input = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(body))]);
    let items: Vec<_> = block_on(decode(input, None, Some(3)).collect());
    assert_eq!(items.last().unwrap().as_ref().unwrap_err().code, S3ErrorCode::InvalidRequest);
}

#[test]
fn malformed_trailer_lines_are_refused() {
    for line in [
        &b"no colon"[..],
        b":value",
        b" :value",
        b"bad name:value",
        b"bad/name:value",
        b"name:va\x01lue",
        b"name:va\rlue",
        b"name:\xff",
        b"x-amz-checksum-crc32:NSRBwg==\n",
    ] {
        let mut body = b"3\r\nabc\r\n0\r\n".to_vec();
        body.extend_from_slice(line);
        body.extend_from_slice(b"\r\n\r\n");
        let out = run(vec![body], Framing::Unsigned, Some(3), &[CRC32, "name"]);
        expect_err(out, S3ErrorCode::InvalidRequest);
    }
    // A bare LF ending a trailer line.
    let body = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\n\r\n".to_vec();
    expect_err(run(vec![body], Framing::Unsigned, Some(3), &[CRC32]), S3ErrorCode::InvalidRequest);
}

#[test]
fn oversized_trailers_are_refused() {
    let head = b"3\r\nabc\r\n0\r\n";
    // One trailer line filling the whole section: the final empty line no longer fits.
    let name = "x-amz-meta-big";
    let fill = |value_len: usize| {
        let mut body = head.to_vec();
        body.extend_from_slice(format!("{name}:{}\r\n\r\n", "v".repeat(value_len)).as_bytes());
        body
    };
    let max_value = MAX_TRAILER - name.len() - 1 - 2 - 2;
    let big = "v".repeat(max_value);
    expect_ok(run(vec![fill(max_value)], Framing::Unsigned, Some(3), &[name]), b"abc", &[(name, big.as_str())]);
    for len in [max_value + 1, max_value + 2, 10 * MAX_TRAILER] {
        let body = fill(len);
        expect_err(run(vec![body.clone()], Framing::Unsigned, Some(3), &[name]), S3ErrorCode::InvalidRequest);
        let pieces = body.chunks(100).map(<[u8]>::to_vec).collect();
        expect_err(run(pieces, Framing::Unsigned, Some(3), &[name]), S3ErrorCode::InvalidRequest);
    }
    // Many small trailers adding up.
    let announced: Vec<String> = (0..400).map(|i| format!("x-amz-meta-t{i}")).collect();
    let refs: Vec<&str> = announced.iter().map(String::as_str).collect();
    let mut body = head.to_vec();
    for n in &announced {
        body.extend_from_slice(format!("{n}:1\r\n").as_bytes());
    }
    body.extend_from_slice(b"\r\n");
    assert!(body.len() - head.len() > MAX_TRAILER);
    let e = expect_err(run(vec![body], Framing::Unsigned, Some(3), &refs), S3ErrorCode::InvalidRequest);
    assert!(e.message.contains("trailing headers too long"), "{e:?}");
}

#[test]
fn truncated_or_overlong_trailer_bodies_are_refused() {
    let body = doc_body();
    let signed = || Framing::Signed(doc_signer());
    for len in [body.len() - 1, body.len() - 2, body.len() - 3, body.len() - 92, body.len() - 100] {
        let out = run(vec![body[..len].to_vec()], signed(), Some(DATA_LEN as u64), &[CRC32C]);
        expect_err(out, S3ErrorCode::IncompleteBody);
    }
    let mut extra = body.clone();
    extra.extend_from_slice(b"\r\n");
    expect_err(run(vec![extra], signed(), Some(DATA_LEN as u64), &[CRC32C]), S3ErrorCode::InvalidRequest);
    // The decoded length still counts.
    expect_err(run(vec![body.clone()], signed(), Some(DATA_LEN as u64 - 1), &[CRC32C]), S3ErrorCode::IncompleteBody);
    expect_err(run(vec![body], signed(), Some(DATA_LEN as u64 + 1), &[CRC32C]), S3ErrorCode::IncompleteBody);
}

#[test]
fn trailers_are_in_the_slot_before_the_stream_ends() {
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, String>>();
    let body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
    let (stream, slot) = decode_with_trailers(rx, Framing::Unsigned, Some(5), names(&[CRC32]));
    let mut stream = Box::pin(stream);
    tx.unbounded_send(Ok(Bytes::from_static(&body[..12]))).unwrap();
    assert_eq!(block_on(stream.next()).unwrap().unwrap(), "hello");
    assert_eq!(slot.get(), None);
    // The whole trailer section arrived, but the body has not ended yet.
    tx.unbounded_send(Ok(Bytes::from_static(&body[12..]))).unwrap();
    let clone = slot.clone();
    drop(tx);
    assert!(block_on(stream.next()).is_none());
    assert_eq!(clone.get(), Some(pairs(&[(CRC32, "NhCmhg==")])));
    assert_eq!(slot.value("X-Amz-Checksum-Crc32").as_deref(), Some("NhCmhg=="));
    assert_eq!(slot.value(CRC32C), None);

    // After an input error the slot stays empty.
    let input = futures::stream::iter(vec![Ok(Bytes::from_static(&body[..20])), Err("connection reset")]);
    let (stream, slot) = decode_with_trailers(input, Framing::Unsigned, Some(5), names(&[CRC32]));
    let items: Vec<_> = block_on(stream.collect());
    assert_eq!(items.last().unwrap().as_ref().unwrap_err().code, S3ErrorCode::IncompleteBody);
    assert_eq!(slot.get(), None);
    assert_eq!(slot.value(CRC32), None);
}

#[test]
fn x_amz_trailer_header_values() {
    assert_eq!(parse_trailer_header("x-amz-checksum-crc32"), names(&[CRC32]));
    assert_eq!(parse_trailer_header(" X-Amz-Checksum-CRC32C , x-amz-meta-a,,"), names(&[CRC32C, "x-amz-meta-a"]));
    assert!(parse_trailer_header("").is_empty());
    assert!(parse_trailer_header(" , ").is_empty());
}
