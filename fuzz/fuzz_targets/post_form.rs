#![no_main]
//! Fuzzes the POST object (browser form) parsers of `coffer_s3_proto::post`:
//! the `multipart/form-data` reader `form::read` with its `boundary`, the
//! policy document `PostPolicy::parse` + `check`, and the signature fields
//! `PostSignature::parse` + `verify`.
//!
//! The input picks one of four modes:
//! - **raw form**: arbitrary bytes as a form body, split into arbitrary
//!   pieces, read twice with two different splits;
//! - **built form**: fields and a file built from the input, encoded as a
//!   well-formed `multipart/form-data` body, read back, then given a policy
//!   built from the same fields;
//! - **raw policy**: an arbitrary `policy` field (raw, or the base64 of
//!   arbitrary bytes or of a JSON template with fuzzed pieces) parsed and
//!   checked against arbitrary fields;
//! - **signature**: arbitrary signature fields parsed and verified.
//!
//! Checked: no panic; `form::read` fails only with the codes it documents,
//! never returns more field bytes than `MAX_FIELDS_BYTES`, and gives the same
//! fields, file and error however the body is split; a built form reads back
//! to exactly its fields and file bytes; a policy naming every field with
//! `eq` accepts the form and returns its `content-length-range`, and refuses
//! it once expired, once a field changes, or once an unnamed field is added;
//! `PostPolicy::parse` fails only with `InvalidPolicyDocument` and `check`
//! only with `AccessDenied`, and a parsed policy's `check` is deterministic;
//! a form signed with `sign_v4` / `sign_v2` verifies with the same secret and
//! not with another.

use base64::Engine as _;
use bytes::Bytes;
use coffer_s3_proto::post::policy::MAX_POST_SIZE;
use coffer_s3_proto::post::signature::{sign_v2, sign_v4};
use coffer_s3_proto::post::{form, FormFields, PostPolicy, PostSignature};
use coffer_s3_proto::S3ErrorCode as C;
use futures::StreamExt;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

const BOUNDARY: &str = "XyZzY-fuzz";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// What one read of a form produced.
#[derive(Debug, PartialEq, Eq)]
enum Read {
    Ok { fields: Vec<(String, String)>, filename: Option<String>, file: Result<Vec<u8>, C> },
    Err(C),
}

/// Reads `body` (split at `cuts`) with `boundary`, draining the file stream.
fn read(body: &[u8], cuts: &[usize], boundary: &str) -> Read {
    let mut pieces: Vec<Result<Bytes, std::io::Error>> = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let end = (at + c).min(body.len());
        pieces.push(Ok(Bytes::copy_from_slice(&body[at..end])));
        at = end;
    }
    pieces.push(Ok(Bytes::copy_from_slice(&body[at..])));
    let boundary = boundary.to_owned();
    futures::executor::block_on(async move {
        match form::read(boundary, futures::stream::iter(pieces)).await {
            Err(e) => {
                assert!(
                    matches!(
                        e.code,
                        C::IncorrectNumberOfFilesInPostRequest
                            | C::MalformedPOSTRequest
                            | C::IncompleteBody
                            | C::MaxPostPreDataLengthExceededError
                            | C::InvalidArgument
                    ),
                    "form::read failed with an undocumented code {:?}",
                    e.code
                );
                Read::Err(e.code)
            }
            Ok((fields, mut file)) => {
                let fields: Vec<(String, String)> = fields.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
                let bytes: usize = fields.iter().map(|(n, v)| n.len() + v.len()).sum();
                assert!(bytes <= form::MAX_FIELDS_BYTES, "form::read returned {bytes} bytes of fields");
                let mut data = Vec::new();
                let mut error = None;
                while let Some(item) = file.body.next().await {
                    assert!(error.is_none(), "the file stream yielded an item after an error");
                    match item {
                        Ok(b) => data.extend_from_slice(&b),
                        Err(e) => {
                            assert!(
                                matches!(e.code, C::IncompleteBody | C::MalformedPOSTRequest),
                                "the file stream failed with an undocumented code {:?}",
                                e.code
                            );
                            error = Some(e.code);
                        }
                    }
                }
                Read::Ok { fields, filename: file.filename, file: error.map_or(Ok(data), Err) }
            }
        }
    })
}

fn cuts(u: &mut Unstructured) -> ArbResult<Vec<usize>> {
    let n = u.int_in_range(0..=8u8)?;
    (0..n).map(|_| Ok(usize::from(u.int_in_range(0..=64u8)?))).collect()
}

fn raw_form(mut u: Unstructured) -> ArbResult<()> {
    let u = &mut u;
    let content_type: String =
        if u.arbitrary()? { format!("multipart/form-data; boundary={BOUNDARY}") } else { u.arbitrary()? };
    let Ok(boundary) = form::boundary(Some(&content_type)) else { return Ok(()) };
    let (a, b) = (cuts(u)?, cuts(u)?);
    let body = std::mem::replace(u, Unstructured::new(&[])).take_rest();
    let first = read(body, &a, &boundary);
    let second = read(body, &b, &boundary);
    assert_eq!(first, second, "the outcome depends on how the body is split");
    Ok(())
}

/// A field name the form encoding carries unchanged: no quote, backslash, CR or LF.
fn name(u: &mut Unstructured) -> ArbResult<String> {
    const NAMES: &[&str] =
        &["key", "Content-Type", "acl", "success_action_status", "x-amz-meta-a", "X-Ignore-me", "bucket"];
    if u.arbitrary()? {
        return Ok(u.choose(NAMES)?.to_string());
    }
    let raw: String = u.arbitrary()?;
    let n: String = raw.chars().filter(|c| c.is_ascii_alphanumeric() || "-_$.".contains(*c)).take(40).collect();
    Ok(if n.is_empty() { "f".to_owned() } else { n })
}

fn built_form(u: &mut Unstructured) -> ArbResult<()> {
    let n = u.int_in_range(0..=6u8)?;
    let mut fields = Vec::new();
    for _ in 0..n {
        let name = name(u)?;
        if name.eq_ignore_ascii_case("file")
            || fields.iter().any(|(f, _): &(String, String)| f.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        let value: String = u.arbitrary()?;
        fields.push((name, value));
    }
    let file: Vec<u8> = u.arbitrary()?;
    let filename: Option<String> = if u.arbitrary()? { Some(name(u)?) } else { None };
    // The encoding is only well-formed when no part contains the delimiter.
    let delimiter = format!("\r\n--{BOUNDARY}");
    // Each part follows a CRLF, so a part that starts with `--boundary` counts too.
    let contains = |part: &[u8]| {
        let hay = [b"\r\n".as_slice(), part].concat();
        hay.windows(delimiter.len()).any(|w| w == delimiter.as_bytes())
    };
    if fields.iter().any(|(_, v)| contains(v.as_bytes())) || contains(&file) {
        return Ok(());
    }
    let mut body = Vec::new();
    for (n, v) in &fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(v.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    let disposition = match &filename {
        Some(f) => format!("form-data; name=\"file\"; filename=\"{f}\""),
        None => "form-data; name=\"file\"".to_owned(),
    };
    body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n").as_bytes());
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());

    let field_bytes: usize = fields.iter().map(|(n, v)| n.len() + v.len()).sum();
    let got = read(&body, &cuts(u)?, BOUNDARY);
    if field_bytes > form::MAX_FIELDS_BYTES {
        assert_eq!(got, Read::Err(C::MaxPostPreDataLengthExceededError));
        return Ok(());
    }
    let want = Read::Ok { fields: fields.clone(), filename, file: Ok(file) };
    assert_eq!(got, want, "a well-formed form did not read back");

    // A policy naming every field (and the bucket) with `eq` accepts the form.
    let form = FormFields::from_pairs(fields.clone());
    let mut conditions: Vec<serde_json::Value> = vec![serde_json::json!({"bucket": "b"})];
    for (n, v) in &fields {
        conditions.push(serde_json::json!(["eq", format!("${n}"), v]));
    }
    let range = if u.arbitrary()? {
        let (min, max) = (u.int_in_range(0..=MAX_POST_SIZE)?, u.int_in_range(0..=MAX_POST_SIZE)?);
        let (min, max) = (min.min(max), min.max(max));
        conditions.push(serde_json::json!(["content-length-range", min, max]));
        (min, max)
    } else {
        (0, MAX_POST_SIZE)
    };
    let doc = serde_json::json!({"expiration": "2030-01-01T00:00:00.000Z", "conditions": conditions});
    let b64 = base64::engine::general_purpose::STANDARD.encode(doc.to_string());
    let policy = PostPolicy::parse(&b64).expect("a well-formed policy did not parse");
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a valid time");
    let expired = OffsetDateTime::from_unix_timestamp(1_900_000_000).expect("a valid time");
    let same_bucket = !fields.iter().any(|(n, v)| n.eq_ignore_ascii_case("bucket") && v != "b");
    if same_bucket {
        assert_eq!(policy.check(&form, "b", now).expect("a policy naming every field refused the form"), range);
    }
    assert_eq!(policy.check(&form, "b", expired).unwrap_err().code, C::AccessDenied, "an expired policy was accepted");
    assert_eq!(policy.check(&form, "other", now).unwrap_err().code, C::AccessDenied, "another bucket was accepted");
    if form.get("x-unnamed-field").is_none() {
        let mut extra = fields.clone();
        extra.push(("x-unnamed-field".to_owned(), String::new()));
        let extra = FormFields::from_pairs(extra);
        assert_eq!(policy.check(&extra, "b", now).unwrap_err().code, C::AccessDenied, "an unnamed field was accepted");
    }
    if let Some((n, v)) = fields.iter().find(|(n, _)| !n.eq_ignore_ascii_case("bucket")) {
        let mut changed = form.clone();
        changed.set(n, format!("{v}!"));
        assert_eq!(policy.check(&changed, "b", now).unwrap_err().code, C::AccessDenied, "a changed field was accepted");
    }
    Ok(())
}

fn raw_policy(u: &mut Unstructured) -> ArbResult<()> {
    const OPS: &[&str] = &["eq", "starts-with", "content-length-range", "EQ", "nope", ""];
    let b64 = match u.int_in_range(0..=2u8)? {
        0 => u.arbitrary::<String>()?,
        1 => base64::engine::general_purpose::STANDARD.encode(u.arbitrary::<Vec<u8>>()?),
        _ => {
            let expiration: String = if u.arbitrary()? { "2030-01-01T00:00:00Z".to_owned() } else { u.arbitrary()? };
            let mut conditions = Vec::new();
            for _ in 0..u.int_in_range(0..=4u8)? {
                let c = match u.int_in_range(0..=3u8)? {
                    0 => {
                        let mut one = serde_json::Map::new();
                        one.insert(name(u)?, u.arbitrary::<String>()?.into());
                        serde_json::Value::Object(one)
                    }
                    1 => serde_json::json!([u.choose(OPS)?, format!("${}", name(u)?), u.arbitrary::<String>()?]),
                    2 => serde_json::json!(["content-length-range", u.arbitrary::<i64>()?, u.arbitrary::<i64>()?]),
                    _ => serde_json::json!([u.choose(OPS)?, u.arbitrary::<String>()?, u.arbitrary::<String>()?]),
                };
                conditions.push(c);
            }
            let doc = serde_json::json!({"expiration": expiration, "conditions": conditions});
            base64::engine::general_purpose::STANDARD.encode(doc.to_string())
        }
    };
    let mut fields = Vec::new();
    for _ in 0..u.int_in_range(0..=4u8)? {
        fields.push((name(u)?, u.arbitrary::<String>()?));
    }
    let fields = FormFields::from_pairs(fields);
    let bucket: String = if u.arbitrary()? { "b".to_owned() } else { u.arbitrary()? };
    let now = OffsetDateTime::from_unix_timestamp(u.int_in_range(0..=4_000_000_000i64)?).expect("a valid time");
    match PostPolicy::parse(&b64) {
        Err(e) => assert_eq!(e.code, C::InvalidPolicyDocument, "PostPolicy::parse failed with another code"),
        Ok(policy) => {
            let first = policy.check(&fields, &bucket, now);
            match &first {
                Ok((min, max)) => assert!(min <= max, "check returned an empty range {min}..{max}"),
                Err(e) => assert_eq!(e.code, C::AccessDenied, "check failed with another code"),
            }
            let again = policy.check(&fields, &bucket, now);
            assert_eq!(first.map_err(|e| e.code), again.map_err(|e| e.code), "check is not deterministic");
        }
    }
    Ok(())
}

fn signature(u: &mut Unstructured) -> ArbResult<()> {
    const NAMES: &[&str] = &[
        "policy",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
        "AWSAccessKeyId",
        "signature",
    ];
    let policy: String = u.arbitrary()?;
    let mut fields = vec![("policy".to_owned(), policy.clone())];
    let mode = u.int_in_range(0..=2u8)?;
    match mode {
        // A correctly signed SigV4 form.
        0 => {
            let date = "20300101";
            fields.push(("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()));
            fields.push(("x-amz-credential".into(), format!("AKID/{date}/us-east-1/s3/aws4_request")));
            fields.push(("x-amz-date".into(), format!("{date}T000000Z")));
            fields.push(("x-amz-signature".into(), sign_v4(SECRET, date, "us-east-1", &policy)));
        }
        // A correctly signed SigV2 form.
        1 => {
            fields.push(("AWSAccessKeyId".into(), "AKID".into()));
            fields.push(("signature".into(), sign_v2(SECRET, &policy)));
        }
        _ => {
            for _ in 0..u.int_in_range(0..=6u8)? {
                let n = if u.arbitrary()? { u.choose(NAMES)?.to_string() } else { name(u)? };
                fields.push((n, u.arbitrary()?));
            }
        }
    }
    let genuine = mode < 2;
    let form = FormFields::from_pairs(fields);
    match PostSignature::parse(&form) {
        Err(e) => {
            assert!(!genuine, "a correctly signed form's fields did not parse: {e:?}");
            assert!(matches!(e.code, C::InvalidArgument | C::SignatureDoesNotMatch), "parse failed with {:?}", e.code);
        }
        Ok(None) => unreachable!("a form with a policy field has a signature"),
        Ok(Some(sig)) => {
            let other: String = u.arbitrary()?;
            let verdict = sig.verify(&other, &policy, "us-east-1");
            if genuine {
                assert_eq!(sig.access_key(), "AKID");
                sig.verify(SECRET, &policy, "us-east-1").expect("a correctly signed form did not verify");
                if other != SECRET {
                    assert!(verdict.is_err(), "a signature verified under another secret");
                }
            }
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = match u.int_in_range(0..=3u8) {
        Ok(0) => raw_form(u),
        Ok(1) => built_form(&mut u),
        Ok(2) => raw_policy(&mut u),
        Ok(_) => signature(&mut u),
        Err(_) => Ok(()),
    };
});
