//! Raw HTTP against an in-process Coffer: inputs no SDK sends, and the exact
//! S3 errors they must get. Each case also checks that nothing was stored.

mod common;

use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn server_with_bucket() -> TestServer {
    let s = TestServer::start().await;
    assert_eq!(s.signed("PUT", "/bkt", "", &[], b"").await.status, 200);
    s
}

async fn exists(s: &TestServer, key_path: &str) -> bool {
    s.signed("HEAD", key_path, "", &[], b"").await.status == 200
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_documents_carry_code_resource_and_request_id() {
    let s = server_with_bucket().await;
    let r = s.signed("GET", "/bkt/missing", "", &[], b"").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.code().as_deref(), Some("NoSuchKey"));
    let id = r.header("x-amz-request-id").unwrap().to_owned();
    assert!(r.text().contains(&format!("<RequestId>{id}</RequestId>")), "{}", r.text());
    assert!(r.text().contains("<Resource>/bkt/missing</Resource>"));
    assert_eq!(r.header("content-type"), Some("application/xml"));
    // Unimplemented operations are 501 NotImplemented in S3 XML.
    let r = s.signed("PUT", "/bkt", "website", &[], b"").await;
    assert_eq!((r.status, r.code().as_deref()), (501, Some("NotImplemented")));
    // Anonymous requests are refused with AccessDenied.
    let r = s.raw(b"GET /bkt HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")));
    // Health endpoints cannot collide with a bucket.
    let r = s.raw(b"GET /_coffer/health/ready HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert_eq!(r.status, 200);
    let r = s.signed("PUT", "/_coffer", "", &[], b"").await;
    assert_eq!(r.code().as_deref(), Some("InvalidBucketName"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_store_nothing() {
    let s = server_with_bucket().await;
    let body = pattern(200_000, 1);
    // Wrong Content-MD5 → BadDigest.
    let wrong = md5_b64(b"something else");
    let r = s.signed("PUT", "/bkt/k1", "", &[("content-md5", &wrong)], &body).await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("BadDigest")));
    // Malformed Content-MD5 → InvalidDigest.
    let r = s.signed("PUT", "/bkt/k1", "", &[("content-md5", "not-base64!")], &body).await;
    assert_eq!(r.code().as_deref(), Some("InvalidDigest"));
    // Right Content-MD5 works.
    let r = s.signed("PUT", "/bkt/k2", "", &[("content-md5", &md5_b64(&body))], &body).await;
    assert_eq!(r.status, 200);
    // Signed payload hash that does not match.
    let sha_of_other = "a".repeat(64);
    let r = s.signed("PUT", "/bkt/k1", "", &[("x-amz-content-sha256", &sha_of_other)], &body).await;
    assert_eq!(r.code().as_deref(), Some("XAmzContentSHA256Mismatch"));
    // Key longer than 1024 bytes.
    let long = format!("/bkt/{}", "k".repeat(1025));
    let r = s.signed("PUT", &long, "", &[], b"x").await;
    assert_eq!(r.code().as_deref(), Some("KeyTooLongError"));
    // Neither Content-Length nor chunked framing → 411 MissingContentLength.
    let mut head = s.signed_head("PUT", "/bkt/k1", &[], "UNSIGNED-PAYLOAD");
    head.push_str("connection: close\r\n\r\n");
    let r = s.raw(head.as_bytes()).await;
    assert_eq!((r.status, r.code().as_deref()), (411, Some("MissingContentLength")), "{}", r.text());
    assert!(!exists(&s, "/bkt/k1").await);
    let (tmp, _) = s.blob_files();
    assert_eq!(tmp, 0, "no temporary data left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_upload_and_disconnect_store_nothing() {
    let s = server_with_bucket().await;
    for declared in [1000usize, 5_000_000] {
        // Sign a request, send half the body, then close the connection.
        let mut head = s.signed_head("PUT", "/bkt/trunc", &[], "UNSIGNED-PAYLOAD");
        head.push_str(&format!("content-length: {declared}\r\n\r\n"));
        let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(&pattern(declared / 2, 1)).await.unwrap();
        conn.shutdown().await.unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut buf)).await;
        let r = parse_response(&buf);
        if r.status != 0 {
            assert_eq!(r.code().as_deref(), Some("IncompleteBody"), "{}", r.text());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!exists(&s, "/bkt/trunc").await, "declared {declared}");
        assert_eq!(s.blob_files(), (0, 0), "temp data reclaimed after disconnect (declared {declared})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_xml_bodies() {
    let s = server_with_bucket().await;
    let r = s.signed("POST", "/bkt", "delete", &[], b"<Delete><Object><Key>a</Key>").await;
    assert_eq!(r.code().as_deref(), Some("MalformedXML"));
    let r = s.signed("PUT", "/newbkt", "", &[], b"<CreateBucketConfiguration><Location").await;
    assert_eq!(r.code().as_deref(), Some("MalformedXML"));
    let up = s.signed("POST", "/bkt/mp", "uploads", &[], b"").await;
    let t = up.text();
    let id = &t[t.find("<UploadId>").unwrap() + 10..t.find("</UploadId>").unwrap()];
    let r = s.signed("POST", "/bkt/mp", &format!("uploadId={id}"), &[], b"<CompleteMultipartUpload><Part>").await;
    assert_eq!(r.code().as_deref(), Some("MalformedXML"));
    let r = s
        .signed(
            "POST",
            "/bkt/mp",
            &format!("uploadId={id}"),
            &[],
            b"<CompleteMultipartUpload></CompleteMultipartUpload>",
        )
        .await;
    assert_eq!(r.code().as_deref(), Some("MalformedXML"));
    let r = s
        .signed(
            "POST",
            "/bkt/mp",
            "uploadId=nonexistent",
            &[],
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
        )
        .await;
    assert_eq!(r.code().as_deref(), Some("NoSuchUpload"));
    let r = s.signed("PUT", "/Bad_Bucket", "", &[], b"").await;
    assert_eq!(r.code().as_deref(), Some("InvalidBucketName"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_dot_keys_are_just_keys() {
    let s = server_with_bucket().await;
    for path in ["/bkt/../../etc/passwd", "/bkt/..%2F..%2Fescape", "/bkt/a/./b/../c", "/bkt/%2E%2E"] {
        let r = s.signed("PUT", path, "", &[], b"payload").await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let g = s.signed("GET", path, "", &[], b"").await;
        assert_eq!(g.body, b"payload", "{path}");
    }
    let list = s.signed("GET", "/bkt", "list-type=2", &[], b"").await.text();
    assert!(list.contains("<Key>../../etc/passwd</Key>"), "{list}");
    assert!(list.contains("<Key>a/./b/../c</Key>"), "{list}");
    // Nothing was written outside the data directory.
    assert!(!s.dir.path().join("etc").exists() && !s.dir.path().join("escape").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_headers_are_refused_and_service_continues() {
    let s = server_with_bucket().await;
    let big = "v".repeat(100 * 1024);
    let req = format!("GET /bkt/k HTTP/1.1\r\nhost: x\r\nx-big: {big}\r\nconnection: close\r\n\r\n");
    let r = s.raw(req.as_bytes()).await;
    assert!(
        r.status == 431 || r.code().as_deref() == Some("RequestHeaderSectionTooLarge"),
        "got {} {}",
        r.status,
        r.text()
    );
    assert_eq!(s.signed("GET", "/bkt", "", &[], b"").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_is_honoured() {
    let s = server_with_bucket().await;
    let body = pattern(50_000, 5);
    let mut head = s.signed_head("PUT", "/bkt/cont", &[], "UNSIGNED-PAYLOAD");
    head.push_str(&format!("content-length: {}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n", body.len()));
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(5), conn.read_exact(&mut interim))
        .await
        .expect("100 Continue sent")
        .unwrap();
    assert!(String::from_utf8_lossy(&interim).starts_with("HTTP/1.1 100 Continue"));
    conn.write_all(&body).await.unwrap();
    let r = read_response(&mut conn).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.signed("GET", "/bkt/cont", "", &[], b"").await.body, body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_urls() {
    let s = server_with_bucket().await;
    assert_eq!(s.signed("PUT", "/bkt/pre%20sign", "", &[], b"presigned!").await.status, 200);
    let now = time::OffsetDateTime::now_utc();
    let q = coffer_s3_proto::sigv4::presign_query(
        "GET",
        "/bkt/pre%20sign",
        "",
        &s.addr.to_string(),
        AK,
        SK,
        REGION,
        now,
        600,
    );
    let r = s
        .raw(format!("GET /bkt/pre%20sign?{q} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", s.addr).as_bytes())
        .await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"presigned!"[..]));
    // Expired.
    let old = now - time::Duration::hours(2);
    let q = coffer_s3_proto::sigv4::presign_query(
        "GET",
        "/bkt/pre%20sign",
        "",
        &s.addr.to_string(),
        AK,
        SK,
        REGION,
        old,
        60,
    );
    let r = s
        .raw(format!("GET /bkt/pre%20sign?{q} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", s.addr).as_bytes())
        .await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")));
    // Tampered (another key).
    let q = coffer_s3_proto::sigv4::presign_query(
        "GET",
        "/bkt/pre%20sign",
        "",
        &s.addr.to_string(),
        AK,
        SK,
        REGION,
        now,
        600,
    );
    let r =
        s.raw(format!("GET /bkt/other?{q} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", s.addr).as_bytes()).await;
    assert_eq!(r.code().as_deref(), Some("SignatureDoesNotMatch"));
    // Presigned PUT.
    let q = coffer_s3_proto::sigv4::presign_query("PUT", "/bkt/up", "", &s.addr.to_string(), AK, SK, REGION, now, 600);
    let r = s
        .raw(
            format!(
                "PUT /bkt/up?{q} HTTP/1.1\r\nhost: {}\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc",
                s.addr
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.signed("GET", "/bkt/up", "", &[], b"").await.body, b"abc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_skew_is_refused() {
    let s = server_with_bucket().await;
    let skewed = time::OffsetDateTime::now_utc() - time::Duration::minutes(20);
    let r = s.signed_at("GET", "/bkt", "", &[], b"", skewed, SK).await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("RequestTimeTooSkewed")));
}

/// STREAMING-AWS4-HMAC-SHA256-PAYLOAD: a valid body lands, a corrupted chunk
/// signature is refused and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_chunked_signed_uploads() {
    use coffer_s3_proto::chunked::{encode_signed_chunks, signed_encoded_len};
    use coffer_s3_proto::sigv4::{chunk_signer_for, sign_request, STREAMING_PAYLOAD};
    let s = server_with_bucket().await;
    for (key, corrupt, size) in
        [("chunked-ok", false, 200_000usize), ("chunked-bad", true, 200_000), ("chunked-small", false, 10)]
    {
        let data = pattern(size, 4);
        let mut h = http::HeaderMap::new();
        h.insert("host", s.addr.to_string().parse().unwrap());
        h.insert("content-encoding", "aws-chunked".parse().unwrap());
        h.insert("x-amz-decoded-content-length", data.len().to_string().parse().unwrap());
        h.insert("content-length", signed_encoded_len(data.len() as u64, 65536).to_string().parse().unwrap());
        let path = format!("/bkt/{key}");
        sign_request("PUT", &path, "", &mut h, STREAMING_PAYLOAD, AK, SK, REGION, time::OffsetDateTime::now_utc());
        let signer = chunk_signer_for(&h, SK).unwrap();
        let mut body = encode_signed_chunks(&data, 65536, signer);
        if corrupt {
            // Flip one payload byte in the second chunk.
            let at = body.len() / 2;
            body[at] ^= 1;
        }
        let mut head = format!("PUT {path} HTTP/1.1\r\n");
        for (k, v) in h.iter() {
            head.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
        }
        head.push_str("connection: close\r\n\r\n");
        let mut req = head.into_bytes();
        req.extend_from_slice(&body);
        let r = s.raw(&req).await;
        if corrupt {
            assert_eq!(r.code().as_deref(), Some("SignatureDoesNotMatch"), "{}", r.text());
            assert!(!exists(&s, &path).await);
        } else {
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(s.signed("GET", &path, "", &[], b"").await.body, data);
        }
    }
    assert_eq!(s.blob_files().0, 0);
}

/// An error answered before the body was read closes the connection and says
/// so; a success on the same keep-alive connection keeps it open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_rules() {
    let s = server_with_bucket().await;
    let r = s.raw(b"PUT /bkt/k HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("connection"), Some("close"));
    let r = s.signed("PUT", "/bkt/empty", "", &[("expect", "100-continue")], b"").await;
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    let r = s.signed("GET", "/bkt/empty", "tagging", &[], b"").await;
    assert!(r.text().contains("<TagSet"), "{}", r.text());
    let r = s.signed("GET", "/bkt/missing", "tagging", &[], b"").await;
    assert_eq!(r.code().as_deref(), Some("NoSuchKey"));
}

/// Conditional writes: If-None-Match (* or an ETag) and If-Match (* or an
/// ETag), on PutObject.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes() {
    let s = server_with_bucket().await;
    let put = |h: &'static str, v: &'static str, body: &'static [u8]| {
        let s = &s;
        async move { s.signed("PUT", "/bkt/cw", "", &[(h, v)], body).await }
    };
    assert_eq!(put("if-match", "*", b"a").await.code().as_deref(), Some("NoSuchKey"));
    assert_eq!(put("if-match", "\"abc\"", b"a").await.code().as_deref(), Some("NoSuchKey"));
    assert_eq!(put("if-none-match", "*", b"first").await.status, 200);
    assert_eq!(put("if-none-match", "*", b"again").await.code().as_deref(), Some("PreconditionFailed"));
    // md5("first") = 8b04d5e3775d298e78455efc5ca404d5
    let first = "\"8b04d5e3775d298e78455efc5ca404d5\"";
    assert_eq!(put("if-none-match", first, b"x").await.status, 412);
    assert_eq!(put("if-match", "\"0000\"", b"x").await.status, 412);
    assert_eq!(put("if-match", first, b"second").await.status, 200);
    assert_eq!(put("if-match", "*", b"third").await.status, 200);
    assert_eq!(put("if-none-match", first, b"fourth").await.status, 200);
    assert_eq!(s.signed("GET", "/bkt/cw", "", &[], b"").await.body, b"fourth");
}

/// CORS preflights need no signature; without CORS rules they are refused
/// as S3 refuses them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_without_rules() {
    let s = server_with_bucket().await;
    let r = s.raw(b"OPTIONS /bkt/k HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("InvalidRequest")));
    let r = s
        .raw(b"OPTIONS /bkt/k HTTP/1.1\r\nhost: x\r\norigin: http://a.example\r\naccess-control-request-method: GET\r\nconnection: close\r\n\r\n")
        .await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")));
    let r = s
        .raw(b"OPTIONS /nobkt/k HTTP/1.1\r\nhost: x\r\norigin: http://a.example\r\naccess-control-request-method: GET\r\nconnection: close\r\n\r\n")
        .await;
    assert_eq!(r.code().as_deref(), Some("NoSuchBucket"));
}

/// An HTTP-chunked body without Content-Length: small bodies land inline,
/// large ones spill to a blob; the signed payload hash is still checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_chunked_put_without_content_length() {
    use sha2::Digest;
    let s = server_with_bucket().await;
    for (key, size, tamper) in [("te-small", 3usize, false), ("te-large", 300_000, false), ("te-bad", 1000, true)] {
        let data = pattern(size, 2);
        let sha = hex::encode(sha2::Sha256::digest(&data));
        let path = format!("/bkt/{key}");
        let mut head = s.signed_head("PUT", &path, &[("transfer-encoding", "chunked")], &sha);
        head.push_str("connection: close\r\n\r\n");
        let mut req = head.into_bytes();
        let mut sent = data.clone();
        if tamper {
            sent[0] ^= 1;
        }
        for chunk in sent.chunks(70_000) {
            req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            req.extend_from_slice(chunk);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        let r = s.raw(&req).await;
        if tamper {
            assert_eq!(r.code().as_deref(), Some("XAmzContentSHA256Mismatch"), "{}", r.text());
            assert!(!exists(&s, &path).await);
        } else {
            assert_eq!(r.status, 200, "{key}: {}", r.text());
            assert_eq!(s.signed("GET", &path, "", &[], b"").await.body, data, "{key}");
        }
    }
    assert_eq!(s.blob_files(), (0, 1), "only the large body became a blob; nothing temporary left");
}

/// Virtual-hosted style (`bucket.domain[:port]`) beside path style on the
/// same listener; the domains come from configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_hosted_style_requests() {
    let s = TestServer::start().await;
    let port = s.addr.port();
    let vhost = format!("vbkt.s3.test:{port}");
    let hv = [("host", vhost.as_str())];
    let r = s.signed("PUT", "/", "", &hv, b"").await;
    assert_eq!(r.status, 200, "create via virtual host: {}", r.text());
    assert_eq!(s.signed("PUT", "/dir/a%20b", "", &hv, b"virtual").await.status, 200);
    // The same object, path style.
    assert_eq!(s.signed("GET", "/vbkt/dir/a%20b", "", &[], b"").await.body, b"virtual");
    let list = s.signed("GET", "/", "list-type=2", &hv, b"").await.text();
    assert!(list.contains("<Key>dir/a b</Key>") && list.contains("<Name>vbkt</Name>"), "{list}");
    // Another configured domain, any case; an unknown domain is path style.
    let other = format!("VBKT.localhost:{port}");
    let r = s.signed("GET", "/dir/a%20b", "", &[("host", other.as_str())], b"").await;
    assert_eq!(r.body, b"virtual");
    let unknown = format!("vbkt.elsewhere.test:{port}");
    let r = s.signed("GET", "/dir/a%20b", "", &[("host", unknown.as_str())], b"").await;
    assert_eq!(r.code().as_deref(), Some("NoSuchBucket"), "path style: bucket 'dir'");
}

/// The 2025 SDK upload shapes: aws-chunked with a checksum trailer, unsigned
/// and signed; checksum headers; and the checksum returned on request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksum_trailers_and_headers() {
    use coffer_s3_proto::chunked::{encode_signed_with_trailer, encode_unsigned_with_trailer};
    use coffer_s3_proto::sigv4::{
        chunk_signer_for, sign_request, STREAMING_PAYLOAD_TRAILER, STREAMING_UNSIGNED_TRAILER,
    };
    use coffer_types::checksum::{checksum, to_base64, ChecksumAlgorithm};
    let s = server_with_bucket().await;
    let data = pattern(150_000, 8);
    let crc = to_base64(&checksum(ChecksumAlgorithm::Crc32, &data));
    let wrong = to_base64(&checksum(ChecksumAlgorithm::Crc32, b"x"));
    for (key, signed, value) in [
        ("unsigned-ok", false, &crc),
        ("unsigned-bad", false, &wrong),
        ("signed-ok", true, &crc),
        ("signed-bad", true, &wrong),
    ] {
        let path = format!("/bkt/{key}");
        let mut h = http::HeaderMap::new();
        h.insert("host", s.addr.to_string().parse().unwrap());
        h.insert("content-encoding", "aws-chunked".parse().unwrap());
        h.insert("x-amz-decoded-content-length", data.len().to_string().parse().unwrap());
        h.insert("x-amz-trailer", "x-amz-checksum-crc32".parse().unwrap());
        h.insert("x-amz-sdk-checksum-algorithm", "CRC32".parse().unwrap());
        let payload = if signed { STREAMING_PAYLOAD_TRAILER } else { STREAMING_UNSIGNED_TRAILER };
        sign_request("PUT", &path, "", &mut h, payload, AK, SK, REGION, time::OffsetDateTime::now_utc());
        let trailers = [("x-amz-checksum-crc32", value.as_str())];
        let body = if signed {
            encode_signed_with_trailer(&data, 65536, &trailers, chunk_signer_for(&h, SK).unwrap())
        } else {
            encode_unsigned_with_trailer(&data, 65536, &trailers)
        };
        let mut head = format!("PUT {path} HTTP/1.1\r\n");
        for (k, v) in h.iter() {
            head.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
        }
        head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
        let mut req = head.into_bytes();
        req.extend_from_slice(&body);
        let r = s.raw(&req).await;
        if key.ends_with("bad") {
            assert_eq!((r.status, r.code().as_deref()), (400, Some("BadDigest")), "{key}: {}", r.text());
            assert!(!exists(&s, &path).await);
        } else {
            assert_eq!(r.status, 200, "{key}: {}", r.text());
            assert_eq!(r.header("x-amz-checksum-crc32"), Some(crc.as_str()));
            let g = s.signed("GET", &path, "", &[("x-amz-checksum-mode", "ENABLED")], b"").await;
            assert_eq!(g.body, data, "{key}: the framing is not stored");
            assert_eq!(g.header("x-amz-checksum-crc32"), Some(crc.as_str()));
            assert_eq!(g.header("x-amz-checksum-type"), Some("FULL_OBJECT"));
        }
    }
    // Checksum headers: right, wrong, malformed, two at once; SHA256 too.
    let sha = to_base64(&checksum(ChecksumAlgorithm::Sha256, b"hello"));
    assert_eq!(s.signed("PUT", "/bkt/h", "", &[("x-amz-checksum-sha256", &sha)], b"hello").await.status, 200);
    let r = s.signed("PUT", "/bkt/h2", "", &[("x-amz-checksum-sha256", &sha)], b"hellO").await;
    assert_eq!(r.code().as_deref(), Some("BadDigest"));
    let r = s.signed("PUT", "/bkt/h2", "", &[("x-amz-checksum-crc32", "not base64!")], b"x").await;
    assert_eq!(r.code().as_deref(), Some("InvalidRequest"));
    let r =
        s.signed("PUT", "/bkt/h2", "", &[("x-amz-checksum-crc32", &crc), ("x-amz-checksum-sha256", &sha)], b"x").await;
    assert_eq!(r.code().as_deref(), Some("InvalidRequest"));
    assert!(!exists(&s, "/bkt/h2").await);
    // No checksum mode, no checksum header; a range never carries one.
    assert!(s.signed("GET", "/bkt/h", "", &[], b"").await.header("x-amz-checksum-sha256").is_none());
    let r = s.signed("GET", "/bkt/h", "", &[("x-amz-checksum-mode", "ENABLED"), ("range", "bytes=0-1")], b"").await;
    assert!(r.header("x-amz-checksum-sha256").is_none());
    // DeleteObjects with a checksum instead of Content-MD5.
    let doc = b"<Delete><Object><Key>h</Key></Object></Delete>";
    let c = to_base64(&checksum(ChecksumAlgorithm::Crc32, doc));
    let r = s.signed("POST", "/bkt", "delete", &[("x-amz-checksum-crc32", &c)], doc).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.signed("POST", "/bkt", "delete", &[("x-amz-checksum-crc32", &wrong)], doc).await;
    assert_eq!(r.code().as_deref(), Some("BadDigest"));
}

/// Signature Version 2: header and presigned query, keys with spaces and `+`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_v2_requests() {
    use coffer_s3_proto::sigv2;
    let s = server_with_bucket().await;
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let v2 = |method: &str, path: &str, query: &str, body: &[u8], date: &str| {
        let mut h = http::HeaderMap::new();
        h.insert("date", date.parse().unwrap());
        h.insert("content-type", "text/plain".parse().unwrap());
        let auth = sigv2::sign_header(method, path, query, &h, AK, SK);
        let q = if query.is_empty() { String::new() } else { format!("?{query}") };
        let mut req = format!(
            "{method} {path}{q} HTTP/1.1\r\nhost: x\r\ndate: {date}\r\ncontent-type: text/plain\r\nauthorization: {auth}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        req
    };
    let r = s.raw(&v2("PUT", "/bkt/my%20file%2Bv2.txt", "", b"v2 body", &date)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.raw(&v2("GET", "/bkt/my%20file%2Bv2.txt", "", b"", &date)).await;
    assert_eq!(r.body, b"v2 body");
    let r = s.raw(&v2("GET", "/bkt", "uploads", b"", &date)).await;
    assert_eq!(r.status, 200, "sub-resource in the string to sign: {}", r.text());
    // A captured request cannot be replayed later: the Date is checked.
    let old = httpdate::fmt_http_date(std::time::SystemTime::now() - std::time::Duration::from_secs(3600));
    let r = s.raw(&v2("GET", "/bkt/my%20file%2Bv2.txt", "", b"", &old)).await;
    assert_eq!(r.code().as_deref(), Some("RequestTimeTooSkewed"));
    // Presigned (AWSAccessKeyId/Expires/Signature), and expired.
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 300;
    let q = sigv2::presign_query("GET", "/bkt/my%20file%2Bv2.txt", "", AK, SK, exp);
    let r = s
        .raw(format!("GET /bkt/my%20file%2Bv2.txt?{q} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await;
    assert_eq!(r.body, b"v2 body");
    let q = sigv2::presign_query("GET", "/bkt/my%20file%2Bv2.txt", "", AK, SK, exp - 600);
    let r = s
        .raw(format!("GET /bkt/my%20file%2Bv2.txt?{q} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await;
    assert_eq!(r.code().as_deref(), Some("AccessDenied"));
}

/// CORS rules: stored and returned, preflights answered from them, actual
/// browser requests decorated, and deletion restores the refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_rules_drive_preflights() {
    let s = server_with_bucket().await;
    let doc = b"<CORSConfiguration><CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>";
    let r = s.signed("GET", "/bkt", "cors", &[], b"").await;
    assert_eq!(r.code().as_deref(), Some("NoSuchCORSConfiguration"));
    assert_eq!(s.signed("PUT", "/bkt", "cors", &[("content-md5", &md5_b64(doc))], doc).await.status, 200);
    let got = s.signed("GET", "/bkt", "cors", &[], b"").await.text();
    assert!(got.contains("<AllowedOrigin>https://*.example.com</AllowedOrigin>"), "{got}");
    let preflight = |origin: &str, method: &str| {
        format!("OPTIONS /bkt/k HTTP/1.1\r\nhost: x\r\norigin: {origin}\r\naccess-control-request-method: {method}\r\naccess-control-request-headers: content-type, x-amz-date\r\nconnection: close\r\n\r\n")
    };
    let ok = s.raw(preflight("https://app.example.com", "PUT").as_bytes()).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert_eq!(ok.header("access-control-allow-methods"), Some("PUT, GET"));
    assert_eq!(ok.header("access-control-max-age"), Some("600"));
    let denied = s.raw(preflight("https://evil.test", "PUT").as_bytes()).await;
    assert_eq!((denied.status, denied.code().as_deref()), (403, Some("AccessDenied")));
    let denied = s.raw(preflight("https://app.example.com", "DELETE").as_bytes()).await;
    assert_eq!(denied.status, 403);
    // An actual request from an allowed origin carries the CORS headers.
    s.signed("PUT", "/bkt/k", "", &[], b"x").await;
    let g = s.signed("GET", "/bkt/k", "", &[("origin", "https://app.example.com")], b"").await;
    assert_eq!(g.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert_eq!(g.header("access-control-expose-headers"), Some("ETag"));
    let g = s.signed("GET", "/bkt/k", "", &[("origin", "https://evil.test")], b"").await;
    assert!(g.header("access-control-allow-origin").is_none());
    // Invalid documents are refused; deletion removes the rules.
    let bad = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>";
    assert_eq!(s.signed("PUT", "/bkt", "cors", &[], bad).await.code().as_deref(), Some("InvalidRequest"));
    assert_eq!(s.signed("DELETE", "/bkt", "cors", &[], b"").await.status, 204);
    let r = s.raw(preflight("https://app.example.com", "PUT").as_bytes()).await;
    assert_eq!(r.status, 403);
}

async fn server_with_idle_timeout(secs: u64) -> TestServer {
    let s = TestServer::start_configured(tempfile::tempdir().unwrap(), |c| c.idle_timeout = Duration::from_secs(secs))
        .await;
    assert_eq!(s.signed("PUT", "/bkt", "", &[], b"").await.status, 200);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_body_times_out_and_stores_nothing() {
    let s = server_with_idle_timeout(1).await;
    let head = s.signed_head("PUT", "/bkt/stall", &[("content-length", "100")], "UNSIGNED-PAYLOAD");
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(format!("{head}\r\n").as_bytes()).await.unwrap();
    conn.write_all(&[b'x'; 10]).await.unwrap();
    // Then silence, with the connection left open: the server must give up on its own.
    let started = std::time::Instant::now();
    let r = read_response(&mut conn).await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("RequestTimeout")), "{}", r.text());
    assert_eq!(r.header("connection"), Some("close"));
    assert!(started.elapsed() < Duration::from_secs(10), "answered by the idle timeout, not the test's read limit");
    assert!(!exists(&s, "/bkt/stall").await);
    assert_eq!(s.blob_files().0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_but_steady_body_is_not_cut() {
    let s = server_with_idle_timeout(1).await;
    let body = pattern(6 * 1500, 3);
    let len = body.len().to_string();
    let head = s.signed_head("PUT", "/bkt/slow", &[("content-length", &len)], "UNSIGNED-PAYLOAD");
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(format!("{head}connection: close\r\n\r\n").as_bytes()).await.unwrap();
    // 6 pieces over ~2.4 s (about 3.7 KB/s, above the 1 KiB/s floor): longer
    // than the idle limit in total, never idle for that long.
    for piece in body.chunks(1500) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        conn.write_all(piece).await.unwrap();
    }
    let r = read_response(&mut conn).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.signed("GET", "/bkt/slow", "", &[], b"").await.body, body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connection_is_closed() {
    let s = server_with_idle_timeout(1).await;
    let head = s.signed_head("GET", "/bkt", &[], "UNSIGNED-PAYLOAD");
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(format!("{head}\r\n").as_bytes()).await.unwrap();
    // Read the one answer (kept alive), then stay silent.
    let mut buf = vec![0u8; 64 * 1024];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = std::time::Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "an idle kept-alive connection must be closed by the server");
    assert!(started.elapsed() >= Duration::from_millis(900), "closed after the idle time, not at once");
}
