//! POST object (browser form uploads) against an in-process Coffer: policies
//! signed with SigV4 and SigV2, their conditions, the three kinds of success
//! answer, and every refusal leaving nothing stored.

mod common;

use base64::Engine as _;
use coffer_s3_proto::post::signature::{sign_v2, sign_v4};
use common::*;
use time::OffsetDateTime;

const BOUNDARY: &str = "----CofferFormBoundary7MA4YWxk";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A policy document expiring in an hour with these conditions (JSON list items).
fn policy(conditions: &[&str]) -> String {
    let exp = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let exp = exp.format(&time::format_description::well_known::Rfc3339).unwrap();
    b64(&format!(r#"{{"expiration":"{exp}","conditions":[{}]}}"#, conditions.join(",")))
}

/// The SigV4 fields for `policy_b64`, signed with `secret`.
fn v4_fields(policy_b64: &str, secret: &str) -> Vec<(String, String)> {
    v4_fields_as(policy_b64, AK, secret)
}

/// The SigV4 fields for `policy_b64`, signed by the key `ak` with `secret`.
fn v4_fields_as(policy_b64: &str, ak: &str, secret: &str) -> Vec<(String, String)> {
    let now = OffsetDateTime::now_utc();
    let date = coffer_s3_proto::time_fmt::amz_date(now);
    let day = &date[..8];
    vec![
        ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
        ("x-amz-credential".into(), format!("{ak}/{day}/{REGION}/s3/aws4_request")),
        ("x-amz-date".into(), date.clone()),
        ("policy".into(), policy_b64.into()),
        ("x-amz-signature".into(), sign_v4(secret, day, REGION, policy_b64)),
    ]
}

/// A multipart/form-data body: the fields, then the file.
fn form(fields: &[(String, String)], filename: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in fields {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    out.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(data);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    out
}

async fn post(s: &TestServer, bucket: &str, body: &[u8]) -> RawResponse {
    let head = format!(
        "POST /{bucket} HTTP/1.1\r\nhost: {}\r\ncontent-type: multipart/form-data; boundary={BOUNDARY}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        s.addr,
        body.len()
    );
    let mut req = head.into_bytes();
    req.extend_from_slice(body);
    s.raw(&req).await
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn server_with_bucket() -> TestServer {
    let s = TestServer::start().await;
    assert_eq!(s.signed("PUT", "/bkt", "", &[], b"").await.status, 200);
    s
}

async fn get(s: &TestServer, path: &str) -> RawResponse {
    s.signed("GET", path, "", &[], b"").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v4_form_upload_stores_file_metadata_and_filename_key() {
    let s = server_with_bucket().await;
    let p = policy(&[
        r#"{"bucket":"bkt"}"#,
        r#"["starts-with","$key","uploads/"]"#,
        r#"["starts-with","$Content-Type","image/"]"#,
        r#"{"x-amz-meta-owner":"ada"}"#,
        r#"["content-length-range",1,2000000]"#,
    ]);
    let mut fields =
        pairs(&[("key", "uploads/${filename}"), ("Content-Type", "image/png"), ("x-amz-meta-owner", "ada")]);
    fields.extend(v4_fields(&p, SK));
    // Larger than the inline limit, so the file streams into a blob.
    let data = pattern(1_500_000, 3);
    let r = post(&s, "bkt", &form(&fields, "cat photo.png", &data)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let etag = r.header("etag").unwrap().to_owned();
    assert!(r.header("location").unwrap().ends_with("/bkt/uploads/cat%20photo.png"), "{:?}", r.header("location"));

    let g = get(&s, "/bkt/uploads/cat%20photo.png").await;
    assert_eq!(g.status, 200);
    assert!(g.body == data, "stored bytes differ");
    assert_eq!(g.header("etag"), Some(etag.as_str()));
    assert_eq!(g.header("content-type"), Some("image/png"));
    assert_eq!(g.header("x-amz-meta-owner"), Some("ada"));
    assert_eq!(s.blob_files().0, 0, "no temporary files left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_form_with_201_xml_and_303_redirect() {
    let s = server_with_bucket().await;
    let p = policy(&[
        r#"{"bucket":"bkt"}"#,
        r#"["starts-with","$key",""]"#,
        r#"["starts-with","$success_action_status",""]"#,
        r#"["starts-with","$success_action_redirect",""]"#,
    ]);
    let signed = |extra: &[(&str, &str)]| {
        let mut f = pairs(extra);
        f.extend(pairs(&[("AWSAccessKeyId", AK), ("policy", &p), ("signature", &sign_v2(SK, &p))]));
        f
    };
    let r = post(&s, "bkt", &form(&signed(&[("key", "a+b c"), ("success_action_status", "201")]), "x", b"one")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = r.text();
    assert!(
        t.contains("<PostResponse>") && t.contains("<Bucket>bkt</Bucket>") && t.contains("<Key>a+b c</Key>"),
        "{t}"
    );
    assert!(t.contains("<ETag>\""), "{t}");
    assert_eq!(get(&s, "/bkt/a%2Bb%20c").await.body, b"one");

    let r = post(
        &s,
        "bkt",
        &form(&signed(&[("key", "r"), ("success_action_redirect", "https://app.example/done")]), "x", b"two"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let loc = r.header("location").unwrap();
    let etag = r.header("etag").unwrap().trim_matches('"').to_owned();
    assert_eq!(loc, format!("https://app.example/done?bucket=bkt&key=r&etag=%22{etag}%22"));

    let r = post(&s, "bkt", &form(&signed(&[("key", "z"), ("success_action_status", "200")]), "x", b"3")).await;
    assert_eq!((r.status, r.body.len()), (200, 0));
    // Any other status asks for the default, 204.
    let r = post(&s, "bkt", &form(&signed(&[("key", "w"), ("success_action_status", "404")]), "x", b"4")).await;
    assert_eq!(r.status, 204);
}

/// Posts the form and checks the S3 error and that `key` was not stored.
async fn refused(s: &TestServer, fields: &[(String, String)], data: &[u8], status: u16, code: &str) {
    let r = post(s, "bkt", &form(fields, "f.txt", data)).await;
    assert_eq!((r.status, r.code().as_deref()), (status, Some(code)), "{}", r.text());
    assert!(r.header("x-amz-request-id").is_some());
    assert_eq!(get(s, "/bkt/k").await.status, 404, "nothing stored after {code}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_store_nothing() {
    let s = server_with_bucket().await;
    let conds = [r#"{"bucket":"bkt"}"#, r#"{"key":"k"}"#, r#"["content-length-range",2,10]"#];
    let p = policy(&conds);
    let with = |extra: &[(&str, &str)], p: &str, secret: &str| {
        let mut f = pairs(extra);
        f.extend(v4_fields(p, secret));
        f
    };
    let key = [("key", "k")];
    refused(&s, &with(&key, &p, "wrong-secret"), b"abc", 403, "SignatureDoesNotMatch").await;
    let mut unknown = with(&key, &p, SK);
    unknown[2].1 = unknown[2].1.replace(AK, "AKNOBODY");
    refused(&s, &unknown, b"abc", 403, "InvalidAccessKeyId").await;
    refused(&s, &with(&key, &p, SK), b"this is too long", 400, "EntityTooLarge").await;
    refused(&s, &with(&key, &p, SK), b"a", 400, "EntityTooSmall").await;
    refused(&s, &with(&[("key", "other")], &p, SK), b"abc", 403, "AccessDenied").await;
    refused(&s, &with(&[("key", "k"), ("x-amz-meta-a", "1")], &p, SK), b"abc", 403, "AccessDenied").await;
    refused(&s, &with(&[], &p, SK), b"abc", 400, "InvalidArgument").await;
    let expired = b64(r#"{"expiration":"2020-01-01T00:00:00Z","conditions":[{"bucket":"bkt"},{"key":"k"}]}"#);
    refused(&s, &with(&key, &expired, SK), b"abc", 403, "AccessDenied").await;
    let no_conditions = b64(r#"{"expiration":"2099-01-01T00:00:00Z"}"#);
    refused(&s, &with(&key, &no_conditions, SK), b"abc", 400, "InvalidPolicyDocument").await;
    // A checksum field is verified against the bytes.
    let crc_of_abc = "NSRBwg=="; // CRC32 of "abc"
    let mut bad_sum = with(&key, &p, SK);
    bad_sum.push(("x-amz-checksum-crc32".into(), "AAAAAA==".into()));
    refused(&s, &bad_sum, b"abc", 400, "BadDigest").await;
    let mut malformed_sum = with(&key, &p, SK);
    malformed_sum.push(("x-amz-checksum-crc32".into(), "nope".into()));
    refused(&s, &malformed_sum, b"abc", 400, "InvalidRequest").await;
    // Anonymous (no policy): refused until ACLs exist; a missing bucket is reported as such.
    refused(&s, &pairs(&key), b"abc", 403, "AccessDenied").await;
    let r = post(&s, "nobucket", &form(&pairs(&key), "f", b"abc")).await;
    assert_eq!(r.code().as_deref(), Some("NoSuchBucket"));
    // Not a form.
    let r = s.raw(b"POST /bkt HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc").await;
    assert_eq!((r.status, r.code().as_deref()), (412, Some("PreconditionFailed")));

    let mut good = with(&key, &p, SK);
    good.push(("x-amz-checksum-crc32".into(), crc_of_abc.into()));
    let r = post(&s, "bkt", &form(&good, "f", b"abc")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("x-amz-checksum-crc32"), Some(crc_of_abc));
    assert_eq!(s.blob_files().0, 0, "no temporary files left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_form_stores_nothing() {
    let s = server_with_bucket().await;
    let p = policy(&[r#"{"bucket":"bkt"}"#, r#"{"key":"k"}"#]);
    let mut fields = pairs(&[("key", "k")]);
    fields.extend(v4_fields(&p, SK));
    let data = pattern(300_000, 9);
    let full = form(&fields, "f", &data);
    // Declares the whole body, sends most of it, then half-closes.
    let head = format!(
        "POST /bkt HTTP/1.1\r\nhost: x\r\ncontent-type: multipart/form-data; boundary={BOUNDARY}\r\ncontent-length: {}\r\n\r\n",
        full.len()
    );
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&full[..full.len() - 5000]).await.unwrap();
    stream.shutdown().await.unwrap();
    let r = read_response(&mut stream).await;
    assert!(r.status == 400 || r.status == 0, "status {}", r.status);
    // A body that ends early, then the multipart terminator missing entirely.
    let mut cut = form(&fields, "f", b"abc");
    cut.truncate(cut.len() - 10);
    let r = post(&s, "bkt", &cut).await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("IncompleteBody")), "{}", r.text());
    assert_eq!(get(&s, "/bkt/k").await.status, 404);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(s.blob_files(), (0, 0), "no blob or temp file left");
}

/// Issue #11, item 2: a form's `acl` field needs `s3:PutObjectAcl` like the
/// `x-amz-acl` header does; a `tagging` field (a Tagging document) needs
/// `s3:PutObjectTagging` like `x-amz-tagging` does, and is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_acl_and_tagging_need_their_own_permissions() {
    let s = TestServer::start().await;
    s.admin("POST", "/projects", Some(serde_json::json!({"name": "alpha"}))).await;
    let root = s.new_key("alpha", None, None).await;
    let writer = s
        .new_user(
            "alpha",
            "writer",
            serde_json::json!({"document": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*"}]}}),
        )
        .await;
    assert_eq!(s.as_key(Some(&root), "PUT", "/bkt", "", b"").await.status, 200);
    let p = policy(&[r#"{"bucket":"bkt"}"#, r#"{"key":"k"}"#, r#"{"acl":"public-read"}"#]);
    let mut fields = pairs(&[("key", "k"), ("acl", "public-read")]);
    fields.extend(v4_fields_as(&p, &writer.ak, &writer.sk));
    let r = post(&s, "bkt", &form(&fields, "f.txt", b"data")).await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    assert_eq!(s.as_key(Some(&root), "GET", "/bkt/k", "", b"").await.status, 404, "nothing stored");

    let p = policy(&[r#"{"bucket":"bkt"}"#, r#"{"key":"k"}"#, r#"["starts-with","$tagging",""]"#]);
    let mut fields = pairs(&[
        ("key", "k"),
        ("tagging", "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"),
    ]);
    let tagged = fields.clone();
    fields.extend(v4_fields_as(&p, &writer.ak, &writer.sk));
    let r = post(&s, "bkt", &form(&fields, "f.txt", b"data")).await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    assert_eq!(s.as_key(Some(&root), "GET", "/bkt/k", "", b"").await.status, 404, "nothing stored");
    // The project's root may tag: the tags are the object's.
    let mut fields = tagged.clone();
    fields.extend(v4_fields_as(&p, &root.ak, &root.sk));
    assert_eq!(post(&s, "bkt", &form(&fields, "f.txt", b"data")).await.status, 204);
    let tags = s.as_key(Some(&root), "GET", "/bkt/k", "tagging", b"").await.text();
    assert!(tags.contains("<Tag><Key>a</Key><Value>b</Value></Tag>"), "{tags}");
    assert_eq!(s.as_key(Some(&root), "DELETE", "/bkt/k", "", b"").await.status, 204);
    // A malformed tag set is refused before anything is stored.
    let mut fields =
        pairs(&[("key", "k"), ("tagging", "<Tagging><TagSet><Tag><Key>aws:x</Key></Tag></TagSet></Tagging>")]);
    fields.extend(v4_fields_as(&p, &root.ak, &root.sk));
    let r = post(&s, "bkt", &form(&fields, "f.txt", b"data")).await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("InvalidTag")), "{}", r.text());
    assert_eq!(s.as_key(Some(&root), "GET", "/bkt/k", "", b"").await.status, 404, "nothing stored");

    // Without the ACL the writer's form goes through.
    let p = policy(&[r#"{"bucket":"bkt"}"#, r#"{"key":"k"}"#]);
    let mut fields = pairs(&[("key", "k")]);
    fields.extend(v4_fields_as(&p, &writer.ak, &writer.sk));
    let r = post(&s, "bkt", &form(&fields, "f.txt", b"data")).await;
    assert_eq!(r.status, 204, "{}", r.text());
}

/// Policy conditions on `s3:x-amz-acl` read the form's `acl` field, which is
/// what is applied, not an `x-amz-acl` header of the POST (signed by nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_acl_conditions_read_the_form_not_the_posts_headers() {
    let s = TestServer::start().await;
    s.admin("POST", "/projects", Some(serde_json::json!({"name": "alpha"}))).await;
    let root = s.new_key("alpha", None, None).await;
    let writer = s
        .new_user(
            "alpha",
            "writer",
            serde_json::json!({"document": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": "*",
                 "Condition": {"StringEquals": {"s3:x-amz-acl": "private"}}}]}}),
        )
        .await;
    assert_eq!(s.as_key(Some(&root), "PUT", "/bkt", "", b"").await.status, 200);
    let send = |acl: &'static str| {
        let p = policy(&[r#"{"bucket":"bkt"}"#, r#"{"key":"k"}"#, r#"["starts-with","$acl",""]"#]);
        let mut fields = pairs(&[("key", "k"), ("acl", acl)]);
        fields.extend(v4_fields_as(&p, &writer.ak, &writer.sk));
        let body = form(&fields, "f.txt", b"data");
        let head = format!(
            "POST /bkt HTTP/1.1\r\nhost: {}\r\ncontent-type: multipart/form-data; boundary={BOUNDARY}\r\n\
             x-amz-acl: private\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            s.addr,
            body.len()
        );
        let mut req = head.into_bytes();
        req.extend_from_slice(&body);
        req
    };
    let r = s.raw(&send("public-read")).await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    assert_eq!(s.as_key(Some(&root), "GET", "/bkt/k", "", b"").await.status, 404, "nothing stored");
    let r = s.raw(&send("private")).await;
    assert_eq!(r.status, 204, "{}", r.text());
}
