//! Canned ACLs and what unsigned (anonymous) requests may do with them:
//! list a public-read bucket, read a public-read object, write into a
//! public-read-write bucket, and nothing else.

mod common;

use common::*;

async fn anon(s: &TestServer, method: &str, path: &str, body: &[u8]) -> RawResponse {
    anon_with(s, method, path, "", body).await
}

/// An unsigned request with `extra` header lines (each ending in CRLF).
async fn anon_with(s: &TestServer, method: &str, path: &str, extra: &str, body: &[u8]) -> RawResponse {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
        s.addr,
        body.len()
    );
    let mut req = head.into_bytes();
    req.extend_from_slice(body);
    s.raw(&req).await
}

fn status_code(r: &RawResponse) -> (u16, Option<String>) {
    (r.status, r.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_access_follows_canned_acls() {
    let s = TestServer::start().await;
    assert_eq!(
        s.signed("PUT", "/priv", "", &[("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await.status,
        200
    );
    assert_eq!(
        s.signed(
            "PUT",
            "/pub",
            "",
            &[("x-amz-acl", "public-read"), ("x-amz-object-ownership", "BucketOwnerPreferred")],
            b""
        )
        .await
        .status,
        200
    );
    assert_eq!(
        s.signed(
            "PUT",
            "/open",
            "",
            &[("x-amz-acl", "public-read-write"), ("x-amz-object-ownership", "BucketOwnerPreferred")],
            b""
        )
        .await
        .status,
        200
    );
    for b in ["priv", "pub", "open"] {
        assert_eq!(s.signed("PUT", &format!("/{b}/secret"), "", &[], b"s").await.status, 200);
        let r = s.signed("PUT", &format!("/{b}/shared"), "", &[("x-amz-acl", "public-read")], b"p").await;
        assert_eq!(r.status, 200);
    }
    let denied = (403, Some("AccessDenied".to_owned()));
    // Private bucket: nothing but its public-read object.
    assert_eq!(status_code(&anon(&s, "GET", "/priv", b"").await), denied);
    assert_eq!(status_code(&anon(&s, "GET", "/priv/secret", b"").await), denied);
    assert_eq!(anon(&s, "GET", "/priv/shared", b"").await.body, b"p");
    assert_eq!(status_code(&anon(&s, "GET", "/priv/missing", b"").await), denied, "no listing right: no 404");
    assert_eq!(status_code(&anon(&s, "PUT", "/priv/new", b"x").await), denied);
    // Public-read bucket: listing and 404s, but private objects stay private and writes are refused.
    let list = anon(&s, "GET", "/pub?list-type=2", b"").await;
    assert_eq!(list.status, 200);
    assert!(list.text().contains("<Key>secret</Key>"), "{}", list.text());
    assert_eq!(status_code(&anon(&s, "GET", "/pub/secret", b"").await), denied);
    assert_eq!(status_code(&anon(&s, "GET", "/pub/missing", b"").await), (404, Some("NoSuchKey".to_owned())));
    assert_eq!(status_code(&anon(&s, "PUT", "/pub/new", b"x").await), denied);
    assert_eq!(status_code(&anon(&s, "DELETE", "/pub/shared", b"").await), denied);
    // Public-read-write bucket: anyone may write and delete.
    assert_eq!(anon(&s, "PUT", "/open/new", b"anon").await.status, 200);
    assert_eq!(s.signed("GET", "/open/new", "", &[], b"").await.body, b"anon");
    assert_eq!(anon(&s, "DELETE", "/open/secret", b"").await.status, 204);
    assert_eq!(s.signed("HEAD", "/open/secret", "", &[], b"").await.status, 404);
    // ACLs are read and changed by the owner only.
    assert_eq!(status_code(&anon(&s, "GET", "/pub?acl", b"").await), denied);
    assert_eq!(status_code(&anon(&s, "PUT", "/open?acl", b"").await), denied);
    assert_eq!(status_code(&anon(&s, "GET", "/", b"").await), denied);
    // A missing bucket is reported as missing.
    assert_eq!(status_code(&anon(&s, "GET", "/nobucket/k", b"").await), (404, Some("NoSuchBucket".to_owned())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_documents_round_trip_and_change_access() {
    let s = TestServer::start().await;
    assert_eq!(
        s.signed("PUT", "/bkt", "", &[("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await.status,
        200
    );
    assert_eq!(s.signed("PUT", "/bkt/k", "", &[], b"data").await.status, 200);
    let acl = s.signed("GET", "/bkt/k", "acl", &[], b"").await;
    assert_eq!(acl.status, 200);
    assert!(acl.text().contains("FULL_CONTROL") && !acl.text().contains("AllUsers"), "{}", acl.text());
    // PutObjectAcl by header: the object becomes readable by anyone; data and ETag unchanged.
    let etag = s.signed("HEAD", "/bkt/k", "", &[], b"").await.header("etag").unwrap().to_owned();
    assert_eq!(s.signed("PUT", "/bkt/k", "acl", &[("x-amz-acl", "public-read")], b"").await.status, 200);
    assert_eq!(anon(&s, "GET", "/bkt/k", b"").await.body, b"data");
    assert_eq!(s.signed("HEAD", "/bkt/k", "", &[], b"").await.header("etag"), Some(etag.as_str()));
    // PutBucketAcl by document: the rendered document of public-read-write, sent back.
    let doc = s.signed("GET", "/bkt", "acl", &[], b"").await.text();
    assert!(!doc.contains("AllUsers"));
    let public_rw = doc.replace(
        "<AccessControlList>",
        "<AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">\
         <URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>\
         <Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">\
         <URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>WRITE</Permission></Grant>",
    );
    assert_eq!(s.signed("PUT", "/bkt", "acl", &[], public_rw.as_bytes()).await.status, 200);
    assert!(s.signed("GET", "/bkt", "acl", &[], b"").await.text().contains("<Permission>WRITE</Permission>"));
    assert_eq!(anon(&s, "PUT", "/bkt/anon", b"x").await.status, 200);
    // Back to private: anonymous writes stop at once.
    assert_eq!(s.signed("PUT", "/bkt", "acl", &[("x-amz-acl", "private")], b"").await.status, 200);
    assert_eq!(anon(&s, "PUT", "/bkt/anon2", b"x").await.status, 403);
    // What is not a canned ACL is refused, and stores nothing.
    let r = s.signed("PUT", "/bkt", "acl", &[("x-amz-acl", "everyone")], b"").await;
    assert_eq!(status_code(&r), (400, Some("InvalidArgument".to_owned())));
    let r = s
        .signed(
            "PUT",
            "/bkt/g",
            "",
            &[("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")],
            b"x",
        )
        .await;
    assert_eq!(status_code(&r), (501, Some("NotImplemented".to_owned())));
    assert_eq!(s.signed("HEAD", "/bkt/g", "", &[], b"").await.status, 404);
    let r = s.signed("PUT", "/bkt", "acl", &[], b"<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>other</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>").await;
    assert_eq!(status_code(&r), (501, Some("NotImplemented".to_owned())));
    let r = s.signed("PUT", "/bkt", "acl", &[], b"<AccessControlPolicy").await;
    assert_eq!(status_code(&r), (400, Some("MalformedACLError".to_owned())));
    let r = s.signed("PUT", "/bkt", "acl", &[], b"").await;
    assert_eq!(status_code(&r), (400, Some("MissingSecurityHeader".to_owned())));
    assert_eq!(
        s.signed("PUT", "/bkt/none", "acl", &[("x-amz-acl", "public-read")], b"").await.code().as_deref(),
        Some("NoSuchKey")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_and_uploads_take_the_requested_acl() {
    let s = TestServer::start().await;
    assert_eq!(
        s.signed("PUT", "/bkt", "", &[("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await.status,
        200
    );
    assert_eq!(s.signed("PUT", "/bkt/src", "", &[("x-amz-acl", "public-read")], b"src").await.status, 200);
    // A copy does not inherit the source's ACL...
    assert_eq!(s.signed("PUT", "/bkt/c1", "", &[("x-amz-copy-source", "/bkt/src")], b"").await.status, 200);
    assert_eq!(anon(&s, "GET", "/bkt/c1", b"").await.status, 403);
    // ...but takes the one it asks for.
    let r =
        s.signed("PUT", "/bkt/c2", "", &[("x-amz-copy-source", "/bkt/src"), ("x-amz-acl", "public-read")], b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(anon(&s, "GET", "/bkt/c2", b"").await.body, b"src");
}

/// On a public-read-write bucket, anyone's write may carry its own ACL and
/// tags (they follow the write, as on S3), but nobody may change the ACL or
/// the tags of an object someone else wrote: tags can decide access
/// (`s3:ExistingObjectTag/…`) and ACLs do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_writers_set_their_own_acl_and_tags_only() {
    let s = TestServer::start().await;
    assert_eq!(
        s.signed(
            "PUT",
            "/open",
            "",
            &[("x-amz-acl", "public-read-write"), ("x-amz-object-ownership", "BucketOwnerPreferred")],
            b""
        )
        .await
        .status,
        200
    );
    assert_eq!(s.signed("PUT", "/open/owners", "", &[], b"private").await.status, 200);
    let r = anon_with(&s, "PUT", "/open/mine", "x-amz-acl: public-read\r\nx-amz-tagging: by=anon\r\n", b"mine").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(s.signed("GET", "/open/mine", "tagging", &[], b"").await.text().contains("<Key>by</Key>"));
    let tags = b"<Tagging><TagSet><Tag><Key>class</Key><Value>public</Value></Tag></TagSet></Tagging>";
    assert_eq!(anon_with(&s, "PUT", "/open/owners?tagging", "", tags).await.status, 403);
    assert_eq!(anon_with(&s, "DELETE", "/open/mine?tagging", "", b"").await.status, 403);
    assert_eq!(anon_with(&s, "PUT", "/open/owners?acl", "x-amz-acl: public-read\r\n", b"").await.status, 403);
    assert!(!s.signed("GET", "/open/owners", "tagging", &[], b"").await.text().contains("class"));
    assert_eq!(anon_with(&s, "GET", "/open/owners", "", b"").await.status, 403);
}
