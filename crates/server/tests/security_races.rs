//! A write is bound to the bucket it was authorized against. A PUT (or a
//! bucket policy, an ACL) whose body was still arriving when its bucket was
//! deleted and made again by another project used to land in the new
//! bucket: the store looked the bucket up by name at commit. Project A could
//! so publish content under project B's bucket, or give itself a policy on
//! it. Now every such write carries the bucket's stamp (project and creation
//! time) and the store refuses it with `NoSuchBucket` when the bucket of
//! that name is another one.

mod common;

use common::admin::Key;
use common::*;
use serde_json::json;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

/// Sends a signed head and the first half of `body` as `key`; returns the
/// connection, to be finished with the rest.
async fn start_slow(
    s: &TestServer,
    key: &Key,
    method: &str,
    path: &str,
    query: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut h = http::HeaderMap::new();
    h.insert("host", s.addr.to_string().parse().unwrap());
    h.insert("content-length", body.len().to_string().parse().unwrap());
    for (k, v) in extra {
        h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    let now = time::OffsetDateTime::now_utc();
    coffer_s3_proto::sigv4::sign_request(
        method,
        path,
        query,
        &mut h,
        "UNSIGNED-PAYLOAD",
        &key.ak,
        &key.sk,
        REGION,
        now,
    );
    let q = if query.is_empty() { String::new() } else { format!("?{query}") };
    let mut head = format!("{method} {path}{q} HTTP/1.1\r\n");
    for (k, v) in h.iter() {
        head.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    head.push_str("connection: close\r\n\r\n");
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(head.as_bytes()).await.unwrap();
    c.write_all(&body[..body.len() / 2]).await.unwrap();
    // Let the server authenticate and authorize it, and start on the body.
    tokio::time::sleep(Duration::from_millis(300)).await;
    c
}

async fn finish(mut c: TcpStream, body: &[u8]) -> RawResponse {
    c.write_all(&body[body.len() / 2..]).await.unwrap();
    read_response(&mut c).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_write_never_lands_in_a_bucket_made_again_by_another_project() {
    let s = TestServer::start().await;
    s.admin("POST", "/projects", Some(json!({"name": "alpha"}))).await;
    s.admin("POST", "/projects", Some(json!({"name": "beta"}))).await;
    let (alpha, beta) = (s.new_key("alpha", None, None).await, s.new_key("beta", None, None).await);
    let preferred = [("x-amz-object-ownership", "BucketOwnerPreferred")];
    assert_eq!(s.request_as(Some(&alpha), common::REGION, "PUT", "/reused", "", &preferred, b"").await.status, 200);

    let page = b"<html>alpha's page, served under beta's name</html>";
    let put = start_slow(&s, &alpha, "PUT", "/reused/index.html", "", &[("x-amz-acl", "public-read")], page).await;
    let grant_alpha = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::alpha:root"}, "Action": "s3:*",
        "Resource": ["arn:aws:s3:::reused", "arn:aws:s3:::reused/*"]}]})
    .to_string();
    let policy = start_slow(&s, &alpha, "PUT", "/reused", "policy", &[], grant_alpha.as_bytes()).await;

    // Meanwhile alpha's bucket goes, and beta takes the name once it is no
    // longer held for alpha (a gateway's view of alpha's bucket may last).
    assert_eq!(s.as_key(Some(&alpha), "DELETE", "/reused", "", b"").await.status, 204);
    let r = s.as_key(Some(&beta), "PUT", "/reused", "", b"").await;
    assert_eq!((r.status, r.code().as_deref()), (503, Some("SlowDown")), "{}", r.text());
    tokio::time::sleep(coffer_meta::BUCKET_NAME_HOLD + Duration::from_millis(100)).await;
    assert_eq!(s.as_key(Some(&beta), "PUT", "/reused", "", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&beta), "PUT", "/reused/own", "", b"beta's data").await.status, 200);

    let r = finish(put, page).await;
    assert_eq!((r.status, r.code().as_deref()), (404, Some("NoSuchBucket")), "{}", r.text());
    let r = finish(policy, grant_alpha.as_bytes()).await;
    assert_eq!((r.status, r.code().as_deref()), (404, Some("NoSuchBucket")), "{}", r.text());

    // Beta's bucket holds only beta's object, has no policy, and alpha reads nothing.
    let list = s.as_key(Some(&beta), "GET", "/reused", "list-type=2", b"").await.text();
    assert!(list.contains("<Key>own</Key>") && !list.contains("index.html"), "{list}");
    let r = s.as_key(Some(&beta), "GET", "/reused", "policy", b"").await;
    assert_eq!(r.code().as_deref(), Some("NoSuchBucketPolicy"), "{}", r.text());
    assert_eq!(s.as_key(None, "GET", "/reused/index.html", "", b"").await.status, 403);
    assert_eq!(s.as_key(Some(&alpha), "GET", "/reused/own", "", b"").await.status, 403);
}
