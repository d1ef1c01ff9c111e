//! Security suite, signing (issue #11 item 1, "signed means signed"): a
//! request may only do what its signature covers. Every `x-amz-*` header and
//! `host` of a SigV4 request must be signed, header-signed or presigned; a
//! SigV2 signature covers every `x-amz-*` header and every sub-resource the
//! router acts on; a POST form may only carry fields its policy names.
//! Each test plays the holder of a signed request who adds to it, and checks
//! that nothing happened.

mod common;

use coffer_s3_proto::{sigv2, sigv4};
use common::*;
use time::OffsetDateTime;

/// The private object the attacker wants published.
const SECRET_PATH: &str = "/otherbucket/secret";
const SECRET_BODY: &[u8] = b"the payroll";

/// A server with a bucket `bkt` to upload into and a private object in another bucket.
async fn server() -> TestServer {
    let s = TestServer::start().await;
    for b in ["/bkt", "/otherbucket"] {
        // ACLs in force: some tests here publish objects with one.
        assert_eq!(
            s.signed("PUT", b, "", &[("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await.status,
            200
        );
    }
    assert_eq!(s.signed("PUT", SECRET_PATH, "", &[], SECRET_BODY).await.status, 200);
    s
}

/// Sends `method target` (path and query) with these headers, in order, and `body`.
async fn send(s: &TestServer, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("host: {}\r\n", s.addr));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    let mut req = head.into_bytes();
    req.extend_from_slice(body);
    s.raw(&req).await
}

/// A SigV4 presigned URL's path and query, valid ten minutes.
fn presigned(s: &TestServer, method: &str, path: &str, query: &str) -> String {
    let now = OffsetDateTime::now_utc();
    let q = sigv4::presign_query(method, path, query, &s.addr.to_string(), AK, SK, REGION, now, 600);
    format!("{path}?{q}")
}

/// The headers of a SigV4 header-signed request that signs exactly `signed`
/// (plus `x-amz-date` and `x-amz-content-sha256`), as name/value pairs.
fn header_signed(method: &str, path: &str, query: &str, signed: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h = http::HeaderMap::new();
    for (k, v) in signed {
        h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    let now = OffsetDateTime::now_utc();
    sigv4::sign_request(method, path, query, &mut h, sigv4::UNSIGNED_PAYLOAD, AK, SK, REGION, now);
    h.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect()
}

fn refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The text of `<name>` in an error body.
fn element(r: &RawResponse, name: &str) -> Option<String> {
    let t = r.text();
    let a = t.find(&format!("<{name}>"))? + name.len() + 2;
    let b = t[a..].find(&format!("</{name}>"))? + a;
    Some(t[a..b].to_owned())
}

/// AWS's refusal of unsigned headers, naming them.
fn assert_headers_not_signed(r: &RawResponse, names: &str) {
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    let message = "There were headers present in the request which were not signed";
    assert_eq!(element(r, "Message").as_deref(), Some(message));
    assert_eq!(element(r, "HeadersNotSigned").as_deref(), Some(names), "{}", r.text());
}

/// Anonymous GET: what the world can read.
async fn anonymous_get(s: &TestServer, path: &str) -> RawResponse {
    s.as_key(None, "GET", path, "", b"").await
}

/// A presigned PUT URL plus `x-amz-copy-source` and `x-amz-acl: public-read`
/// was a CopyObject that published anything the signer can read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_put_refuses_unsigned_copy_source_and_acl() {
    let s = server().await;
    let url = presigned(&s, "PUT", "/bkt/upload", "");
    let attack = [("x-amz-copy-source", SECRET_PATH), ("x-amz-acl", "public-read")];
    let r = send(&s, "PUT", &url, &attack, b"").await;
    assert_headers_not_signed(&r, "x-amz-acl, x-amz-copy-source");
    assert_eq!(s.signed("GET", "/bkt/upload", "", &[], b"").await.status, 404, "no copy was made");
    assert_ne!(anonymous_get(&s, "/bkt/upload").await.status, 200);
    // Each header alone is refused too.
    for one in attack {
        let r = send(&s, "PUT", &url, &[one], b"").await;
        assert_headers_not_signed(&r, one.0);
    }
    // The URL itself works: it uploads what its holder sends, privately.
    let r = send(&s, "PUT", &url, &[], b"my upload").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.signed("GET", "/bkt/upload", "", &[], b"").await.body, b"my upload");
    assert_eq!(anonymous_get(&s, "/bkt/upload").await.status, 403);
    // A second use with only `x-amz-acl` added neither publishes nor overwrites it.
    let r = send(&s, "PUT", &url, &[("x-amz-acl", "public-read")], b"replaced").await;
    assert_headers_not_signed(&r, "x-amz-acl");
    assert_eq!(s.signed("GET", "/bkt/upload", "", &[], b"").await.body, b"my upload");
    assert_eq!(anonymous_get(&s, "/bkt/upload").await.status, 403);
    assert!(!s.signed("GET", "/bkt/upload", "acl", &[], b"").await.text().contains("AllUsers"));
}

/// A presigned UploadPart URL plus `x-amz-copy-source` was an UploadPartCopy
/// of anything the signer can read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_upload_part_refuses_unsigned_copy_source() {
    let s = server().await;
    let r = s.signed("POST", "/bkt/big", "uploads", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let upload_id = element(&r, "UploadId").expect("an upload id");
    let query = format!("partNumber=1&uploadId={upload_id}");
    let url = presigned(&s, "PUT", "/bkt/big", &query);
    let r = send(&s, "PUT", &url, &[("x-amz-copy-source", SECRET_PATH)], b"").await;
    assert_headers_not_signed(&r, "x-amz-copy-source");
    let parts = s.signed("GET", "/bkt/big", &format!("uploadId={upload_id}"), &[], b"").await;
    assert_eq!(parts.status, 200, "{}", parts.text());
    assert!(!parts.text().contains("<Part>"), "no part was copied: {}", parts.text());
    // The URL uploads the part its holder sends.
    let r = send(&s, "PUT", &url, &[], b"part one").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let parts = s.signed("GET", "/bkt/big", &format!("uploadId={upload_id}"), &[], b"").await;
    assert!(parts.text().contains("<Size>8</Size>"), "{}", parts.text());
}

/// A header-signed request with an `x-amz-*` header added after signing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_signed_request_refuses_unsigned_amz_header() {
    let s = server().await;
    let host = s.addr.to_string();
    let signed = header_signed("PUT", "/bkt/doc", "", &[("host", &host)]);
    let mut headers = refs(&signed);
    headers.push(("x-amz-acl", "public-read"));
    let r = send(&s, "PUT", "/bkt/doc", &headers, b"text").await;
    assert_headers_not_signed(&r, "x-amz-acl");
    assert_eq!(s.signed("GET", "/bkt/doc", "", &[], b"").await.status, 404, "nothing stored");
    // Metadata, copy directives and the like alike.
    let mut headers = refs(&signed);
    headers.push(("x-amz-meta-owner", "mallory"));
    headers.push(("x-amz-copy-source", SECRET_PATH));
    let r = send(&s, "PUT", "/bkt/doc", &headers, b"").await;
    assert_headers_not_signed(&r, "x-amz-copy-source, x-amz-meta-owner");
    assert_eq!(s.signed("GET", "/bkt/doc", "", &[], b"").await.status, 404, "nothing copied");
    // Signed, the same headers are fine.
    let signed = header_signed("PUT", "/bkt/doc", "", &[("host", &host), ("x-amz-meta-owner", "alice")]);
    let r = send(&s, "PUT", "/bkt/doc", &refs(&signed), b"text").await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A header-signed request whose `SignedHeaders` leaves out `host`: the Host
/// picks the bucket of a virtual-hosted request, so it could be pointed at
/// another bucket than the one signed for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_signed_request_refuses_unsigned_host() {
    let s = server().await;
    // Signed for `GET /secret` on bkt.localhost, without host in SignedHeaders.
    let signed = header_signed("GET", "/secret", "", &[]);
    assert!(signed
        .iter()
        .any(|(k, v)| k == "authorization" && v.contains("SignedHeaders=x-amz-content-sha256;x-amz-date,")));
    let port = s.addr.port();
    for host in [format!("otherbucket.localhost:{port}"), format!("bkt.localhost:{port}")] {
        let mut headers = refs(&signed);
        headers.push(("host", &host));
        let r = send(&s, "GET", "/secret", &headers, b"").await;
        assert_headers_not_signed(&r, "host");
        assert_ne!(r.body, SECRET_BODY);
    }
    // With host signed, the virtual-hosted request works.
    let host = format!("otherbucket.localhost:{port}");
    let signed = header_signed("GET", "/secret", "", &[("host", &host)]);
    let r = send(&s, "GET", "/secret", &refs(&signed), b"").await;
    assert_eq!((r.status, r.body.as_slice()), (200, SECRET_BODY), "{}", r.text());
}

/// A SigV2 presigned URL with a sub-resource appended: `&policyStatus` on a
/// ListObjects URL was answered as GetBucketPolicyStatus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv2_presigned_url_refuses_appended_sub_resource() {
    let s = server().await;
    let expires = OffsetDateTime::now_utc().unix_timestamp() + 600;
    let q = sigv2::presign_query("GET", "/bkt", "", AK, SK, expires);
    let r = send(&s, "GET", &format!("/bkt?{q}"), &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("<ListBucketResult"), "{}", r.text());
    for sub in ["policyStatus", "encryption", "publicAccessBlock", "object-lock", "uploads", "acl"] {
        let r = send(&s, "GET", &format!("/bkt?{q}&{sub}"), &[], b"").await;
        assert_eq!((r.status, r.code().as_deref()), (403, Some("SignatureDoesNotMatch")), "{sub}: {}", r.text());
    }
    // Header-signed SigV2 alike.
    let date = httpdate(OffsetDateTime::now_utc());
    let mut h = http::HeaderMap::new();
    h.insert("date", date.parse().unwrap());
    let auth = sigv2::sign_header("GET", "/bkt", "", &h, AK, SK);
    let headers = [("date", date.as_str()), ("authorization", auth.as_str())];
    assert_eq!(send(&s, "GET", "/bkt", &headers, b"").await.status, 200);
    let r = send(&s, "GET", "/bkt?policyStatus", &headers, b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("SignatureDoesNotMatch")), "{}", r.text());
}

/// SigV2 covers every `x-amz-*` header: one added to a SigV2 request
/// (header-signed or presigned) breaks its signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv2_refuses_unsigned_amz_headers() {
    let s = server().await;
    let expires = OffsetDateTime::now_utc().unix_timestamp() + 600;
    let q = sigv2::presign_query("PUT", "/bkt/v2", "", AK, SK, expires);
    let attack = [("x-amz-copy-source", SECRET_PATH), ("x-amz-acl", "public-read")];
    let r = send(&s, "PUT", &format!("/bkt/v2?{q}"), &attack, b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("SignatureDoesNotMatch")), "{}", r.text());
    let date = httpdate(OffsetDateTime::now_utc());
    let mut h = http::HeaderMap::new();
    h.insert("date", date.parse().unwrap());
    let auth = sigv2::sign_header("PUT", "/bkt/v2", "", &h, AK, SK);
    let mut headers = vec![("date", date.as_str()), ("authorization", auth.as_str())];
    headers.extend(attack);
    let r = send(&s, "PUT", "/bkt/v2", &headers, b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("SignatureDoesNotMatch")), "{}", r.text());
    assert_eq!(s.signed("GET", "/bkt/v2", "", &[], b"").await.status, 404, "no copy was made");
    // The URL itself works.
    assert_eq!(send(&s, "PUT", &format!("/bkt/v2?{q}"), &[], b"v2").await.status, 200);
}

/// POST forms already refuse a field their policy does not name; keep it so
/// for `x-amz-acl` (a form signed for a private upload cannot publish it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_form_refuses_acl_field_outside_policy() {
    use base64::Engine as _;
    let s = server().await;
    let exp = (OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let policy = base64::engine::general_purpose::STANDARD
        .encode(format!(r#"{{"expiration":"{exp}","conditions":[{{"bucket":"bkt"}},{{"key":"form"}}]}}"#));
    let date = coffer_s3_proto::time_fmt::amz_date(OffsetDateTime::now_utc());
    let day = &date[..8];
    let signature = coffer_s3_proto::post::signature::sign_v4(SK, day, REGION, &policy);
    let fields = vec![
        ("key", "form".to_owned()),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256".to_owned()),
        ("x-amz-credential", format!("{AK}/{day}/{REGION}/s3/aws4_request")),
        ("x-amz-date", date.clone()),
        ("policy", policy.clone()),
        ("x-amz-signature", signature),
    ];
    let boundary = "----SecuritySigningBoundary";
    let body = |fields: &[(&str, String)]| {
        let mut out = String::new();
        for (k, v) in fields {
            out.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
        }
        out.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nform data\r\n--{boundary}--\r\n"
        ));
        out.into_bytes()
    };
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let mut with_acl = fields.clone();
    with_acl.push(("x-amz-acl", "public-read".to_owned()));
    let r = send(&s, "POST", "/bkt", &[("content-type", &content_type)], &body(&with_acl)).await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    assert_eq!(s.signed("GET", "/bkt/form", "", &[], b"").await.status, 404, "nothing stored");
    // The form as signed works, and stores a private object.
    let r = send(&s, "POST", "/bkt", &[("content-type", &content_type)], &body(&fields)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(anonymous_get(&s, "/bkt/form").await.status, 403);
}

/// An RFC 1123 date, as SigV2 clients send it.
fn httpdate(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&f).unwrap()
}

/// `response-*` overrides set headers of the answer; only a signed request
/// (SigV4 signs every query parameter, SigV2 signs these) may use them, as on
/// AWS. An anonymous link could otherwise serve a public object as HTML.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_get_refuses_response_overrides() {
    let s = server().await;
    let public = [("x-amz-acl", "public-read")];
    assert_eq!(s.signed("PUT", "/bkt/page.txt", "", &public, b"<script>x</script>").await.status, 200);
    let r = anonymous_get(&s, "/bkt/page.txt").await;
    assert_eq!((r.status, r.header("content-type")), (200, Some("binary/octet-stream")), "{}", r.text());
    for q in ["response-content-type=text%2Fhtml", "response-content-disposition=inline", "response-expires=0"] {
        let r = s.as_key(None, "GET", "/bkt/page.txt", q, b"").await;
        assert_eq!((r.status, r.code().as_deref()), (400, Some("InvalidRequest")), "{q}: {}", r.text());
        assert_ne!(r.header("content-type"), Some("text/html"));
    }
    // Signed, the override applies.
    let r = s.signed("GET", "/bkt/page.txt", "response-content-type=text%2Fhtml", &[], b"").await;
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/html")));
}
