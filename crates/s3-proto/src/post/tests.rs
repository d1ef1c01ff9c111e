use super::*;
use crate::S3ErrorCode as C;
use base64::Engine as _;
use bytes::Bytes;
use futures::{stream, StreamExt, TryStreamExt};
use time::macros::datetime;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// `{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"}]}`;
/// its signatures below were computed with Python's hmac/hashlib.
const POLICY: &str = "eyJleHBpcmF0aW9uIjoiMjAzMC0wMS0wMVQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbeyJidWNrZXQiOiJiIn1dfQ==";

fn fields(pairs: &[(&str, &str)]) -> FormFields {
    FormFields::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn body(parts: &[&str], boundary: &str) -> Vec<u8> {
    let mut out = String::new();
    for p in parts {
        out.push_str(&format!("--{boundary}\r\n{p}\r\n"));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}

async fn read_form(raw: Vec<u8>, piece: usize) -> Result<(FormFields, Vec<u8>, FileField), crate::S3Error> {
    let chunks: Vec<Result<Bytes, std::io::Error>> = raw.chunks(piece).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let (f, mut file) = form::read("XyZ".into(), stream::iter(chunks)).await?;
    let mut data = Vec::new();
    while let Some(c) = file.body.next().await {
        data.extend_from_slice(&c?);
    }
    Ok((f, data, file))
}

#[tokio::test]
async fn form_fields_then_file_stream_in_any_chunking() {
    let raw = body(
        &[
            "Content-Disposition: form-data; name=\"key\"\r\n\r\nuser/${filename}",
            "Content-Disposition: form-data; name=\"Content-Type\"\r\n\r\ntext/plain",
            "Content-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\nContent-Type: text/plain\r\n\r\nline1 --XyZ inline\r\n-- XyZ\r\nend",
            "Content-Disposition: form-data; name=\"after\"\r\n\r\nignored",
        ],
        "XyZ",
    );
    for piece in [1, 7, 64, raw.len()] {
        let (f, data, file) = read_form(raw.clone(), piece).await.unwrap();
        assert_eq!(f.get("KEY"), Some("user/${filename}"));
        assert_eq!(f.get("content-type"), Some("text/plain"));
        assert_eq!(f.get("after"), None, "fields after the file are not read");
        assert_eq!(file.filename.as_deref(), Some("a b.txt"));
        assert_eq!(data, b"line1 --XyZ inline\r\n-- XyZ\r\nend");
    }
}

#[tokio::test]
async fn form_errors() {
    // No file part.
    let raw = body(&["Content-Disposition: form-data; name=\"key\"\r\n\r\nk"], "XyZ");
    assert_eq!(read_form(raw, 10).await.unwrap_err().code, C::IncorrectNumberOfFilesInPostRequest);
    // Cut off inside the file: the stream ends with IncompleteBody, never a short file.
    let mut raw = body(&["Content-Disposition: form-data; name=\"file\"\r\n\r\n0123456789"], "XyZ");
    raw.truncate(raw.len() - 12);
    assert_eq!(read_form(raw, 5).await.unwrap_err().code, C::IncompleteBody);
    // Fields before the file larger than the limit.
    let big = "v".repeat(form::MAX_FIELDS_BYTES + 1);
    let raw = body(&[&format!("Content-Disposition: form-data; name=\"x\"\r\n\r\n{big}")], "XyZ");
    assert_eq!(read_form(raw, 4096).await.unwrap_err().code, C::MaxPostPreDataLengthExceededError);
    // Not a form at all.
    assert_eq!(form::boundary(Some("application/json")).unwrap_err().code, C::PreconditionFailed);
    assert_eq!(form::boundary(None).unwrap_err().code, C::PreconditionFailed);
    assert_eq!(form::boundary(Some("multipart/form-data")).unwrap_err().code, C::MalformedPOSTRequest);
    assert_eq!(form::boundary(Some("multipart/form-data; boundary=abc")).unwrap(), "abc");
}

/// An endless body (no boundary ever, or part headers that never end) is cut
/// off after a bounded number of bytes, not buffered whole.
#[tokio::test]
async fn endless_preamble_or_part_headers_are_cut_off() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    for start in ["", "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\nA: "] {
        let pulled = Arc::new(AtomicU64::new(0));
        let p = pulled.clone();
        let head = Bytes::from(start.as_bytes().to_vec());
        let endless = stream::iter(std::iter::once(head).chain(std::iter::repeat(Bytes::from(vec![b'a'; 16 << 10]))))
            .map(move |c| {
                p.fetch_add(c.len() as u64, Ordering::Relaxed);
                Ok::<_, std::io::Error>(c)
            });
        let err = form::read("XyZ".into(), endless).await.unwrap_err();
        assert_eq!(err.code, C::MaxPostPreDataLengthExceededError, "start {start:?}");
        let n = pulled.load(Ordering::Relaxed);
        assert!(n <= form::MAX_PRE_FILE_BYTES + 2 * (16 << 10) + 100, "pulled {n} bytes");
    }
    // A file that arrives faster than it is read is not buffered whole: the
    // first piece of an endless file comes after a bounded pull.
    let pulled = Arc::new(AtomicU64::new(0));
    let p = pulled.clone();
    let head = Bytes::from_static(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n");
    let endless =
        stream::iter(std::iter::once(head).chain(std::iter::repeat(Bytes::from(vec![b'f'; 16 << 10])))).map(move |c| {
            p.fetch_add(c.len() as u64, Ordering::Relaxed);
            Ok::<_, std::io::Error>(c)
        });
    let (_, mut file) = form::read("XyZ".into(), endless).await.unwrap();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), file.body.next()).await;
    assert!(matches!(first, Ok(Some(Ok(_)))), "the file's first piece arrives");
    let n = pulled.load(Ordering::Relaxed);
    assert!(n <= 1 << 20, "pulled {n} bytes for the first piece");
    // The file itself is not limited by it.
    let big = "z".repeat(4 * form::MAX_PRE_FILE_BYTES as usize);
    let raw = body(&[&format!("Content-Disposition: form-data; name=\"file\"\r\n\r\n{big}")], "XyZ");
    let (_, data, _) = read_form(raw, 16 << 10).await.unwrap();
    assert_eq!(data.len(), big.len());
}

#[tokio::test]
async fn file_stream_errors_are_s3_errors() {
    let raw = body(&["Content-Disposition: form-data; name=\"file\"\r\n\r\nabc"], "XyZ");
    let (_, file) = form::read("XyZ".into(), stream::iter([Ok::<_, std::io::Error>(Bytes::from(raw))])).await.unwrap();
    let data: Vec<Bytes> = file.body.try_collect().await.unwrap();
    assert_eq!(data.concat(), b"abc");
}

fn policy(doc: &str) -> PostPolicy {
    PostPolicy::parse(&b64(doc)).unwrap()
}

const NOW: time::OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

#[test]
fn policy_conditions() {
    let p = policy(
        r#"{"expiration":"2026-06-02T00:00:00.000Z","conditions":[
            {"bUcKeT":"b"}, ["StArTs-WiTh","$KeY","user/"], ["eq","$acl","private"],
            ["starts-with","$Content-Type","image/"], ["content-length-range", 10, "2048"],
            ["starts-with","$x-amz-meta-tag",""]]}"#,
    );
    let ok = fields(&[
        ("key", "user/a.png"),
        ("ACL", "private"),
        ("content-type", "image/png, image/jpeg"),
        ("x-amz-meta-tag", "anything"),
        ("policy", "p"),
        ("x-ignore-me", "1"),
        ("x-amz-checksum-crc32", "AAAAAA=="),
    ]);
    assert_eq!(p.check(&ok, "b", NOW).unwrap(), (10, 2048));
    let deny = |f: &FormFields, bucket: &str| p.check(f, bucket, NOW).unwrap_err();
    assert_eq!(deny(&ok, "other").code, C::AccessDenied, "the URL's bucket is the one checked");
    let wrong_key = fields(&[("key", "admin/a"), ("acl", "private"), ("content-type", "image/png")]);
    assert_eq!(deny(&wrong_key, "b").code, C::AccessDenied);
    let one_bad_type = fields(&[("key", "user/a"), ("acl", "private"), ("content-type", "image/png,text/html")]);
    assert!(
        deny(&one_bad_type, "b").message.contains("Content-Type")
            || deny(&one_bad_type, "b").message.contains("content-type")
    );
    let extra = fields(&[("key", "user/a"), ("acl", "private"), ("content-type", "image/png"), ("x-amz-meta-x", "1")]);
    assert!(deny(&extra, "b").message.contains("Extra input fields: x-amz-meta-x"));
    let missing_acl = fields(&[("key", "user/a"), ("content-type", "image/png")]);
    assert_eq!(deny(&missing_acl, "b").code, C::AccessDenied, "a condition on a missing field fails");
    // Values are case-sensitive.
    let case = fields(&[("key", "user/a"), ("acl", "PRIVATE"), ("content-type", "image/png")]);
    assert_eq!(deny(&case, "b").code, C::AccessDenied);
    // Expired.
    assert!(p.check(&ok, "b", datetime!(2026-06-02 0:00 UTC)).unwrap_err().message.contains("expired"));
}

#[test]
fn policy_must_name_the_bucket_and_defaults_to_5_gib() {
    let p = policy(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["starts-with","$key",""]]}"#);
    assert_eq!(p.check(&fields(&[("key", "k")]), "b", NOW).unwrap_err().code, C::AccessDenied);
    let p = policy(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key",""]]}"#);
    assert_eq!(p.check(&fields(&[("key", "k")]), "b", NOW).unwrap(), (0, policy::MAX_POST_SIZE));
}

#[test]
fn invalid_policy_documents() {
    let bad = [
        "not base64 !!",
        &b64("not json"),
        &b64(r#"{"conditions":[]}"#),
        &b64(r#"{"EXPIRATION":"2030-01-01T00:00:00Z","conditions":[]}"#),
        &b64(r#"{"expiration":"2030-01-01 00:00:00+00:00","conditions":[]}"#),
        &b64(r#"{"expiration":"2030-01-01T00:00:00Z"}"#),
        &b64(r#"{"expiration":"2030-01-01T00:00:00Z","CONDITIONS":[]}"#),
        &b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",0]]}"#),
        &b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",-1,0]]}"#),
        &b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",5,1]]}"#),
        &b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["matches","$key","x"]]}"#),
        &b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","key","x"]]}"#),
        &b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"a":"1","b":"2"}]}"#),
        &b64(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"a":1}]}"#),
    ];
    for doc in bad {
        let e = PostPolicy::parse(doc).unwrap_err();
        assert_eq!(e.code, C::InvalidPolicyDocument, "{doc}");
        assert_eq!(e.status(), 400);
    }
}

#[test]
fn v4_signature_known_answer_and_mismatch() {
    let f = fields(&[
        ("policy", POLICY),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        ("x-amz-credential", "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"),
        ("x-amz-date", "20151229T000000Z"),
        ("x-amz-signature", "66b1278d66a49830289e5a40f963416fa08104449b3647a619448bc2b16e3753"),
    ]);
    let sig = PostSignature::parse(&f).unwrap().unwrap();
    assert_eq!(sig.access_key(), "AKIAIOSFODNN7EXAMPLE");
    sig.verify(SECRET, POLICY, "us-east-1").unwrap();
    assert_eq!(sig.verify("other", POLICY, "us-east-1").unwrap_err().code, C::SignatureDoesNotMatch);
    assert_eq!(sig.verify(SECRET, &POLICY.replace('e', "f"), "us-east-1").unwrap_err().code, C::SignatureDoesNotMatch);
    assert_eq!(sig.verify(SECRET, POLICY, "eu-west-1").unwrap_err().code, C::InvalidArgument);
    assert_eq!(
        signature::sign_v4(SECRET, "20151229", "us-east-1", POLICY),
        "66b1278d66a49830289e5a40f963416fa08104449b3647a619448bc2b16e3753"
    );
}

#[test]
fn v2_signature_known_answer_and_missing_fields() {
    let f = fields(&[("policy", POLICY), ("AWSAccessKeyId", "AK"), ("signature", "LAl1Yg+MO/WAUV0X8iQqagBt7vk=")]);
    let sig = PostSignature::parse(&f).unwrap().unwrap();
    sig.verify(SECRET, POLICY, "any").unwrap();
    assert_eq!(sig.verify("nope", POLICY, "any").unwrap_err().code, C::SignatureDoesNotMatch);
    assert_eq!(signature::sign_v2(SECRET, POLICY), "LAl1Yg+MO/WAUV0X8iQqagBt7vk=");

    assert_eq!(PostSignature::parse(&fields(&[("key", "k")])).unwrap(), None, "no policy: anonymous");
    let no_sig = PostSignature::parse(&fields(&[("policy", POLICY), ("AWSAccessKeyId", "AK")])).unwrap_err();
    assert_eq!((no_sig.code, no_sig.status()), (C::InvalidArgument, 400));
    let no_key = PostSignature::parse(&fields(&[("policy", POLICY), ("signature", "x")])).unwrap_err();
    assert_eq!(no_key.code, C::InvalidArgument);
    let bad_date = fields(&[
        ("policy", POLICY),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        ("x-amz-credential", "AK/20151229/us-east-1/s3/aws4_request"),
        ("x-amz-date", "20151230T000000Z"),
        ("x-amz-signature", &"0".repeat(64)),
    ]);
    assert_eq!(PostSignature::parse(&bad_date).unwrap_err().code, C::InvalidArgument);
}
