//! Security suite, permissions: every header that changes what a request
//! does is authorized for its own action, a key stays in its region, and
//! refusals name nothing they should not (issue #11, items 2, 3 and 8).
//! Each test failed on main before its fix.

mod common;

use common::admin::Key;
use common::TestServer;
use serde_json::json;

async fn project(s: &TestServer, name: &str) -> Key {
    s.admin("POST", "/projects", Some(json!({ "name": name }))).await;
    s.new_key(name, None, None).await
}

fn allow(actions: &[&str]) -> serde_json::Value {
    json!({"document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}
    ]}})
}

async fn put(s: &TestServer, key: &Key, path: &str, headers: &[(&str, &str)], body: &[u8]) -> common::RawResponse {
    s.request_as(Some(key), common::REGION, "PUT", path, "", headers, body).await
}

/// Item 2: `PUT /existing-bucket` with `x-amz-acl` by a user allowed only
/// `s3:CreateBucket` used to make the bucket public-read-write.
#[tokio::test]
async fn create_bucket_alone_cannot_change_a_buckets_acl() {
    let s = TestServer::start().await;
    let root = project(&s, "alpha").await;
    let maker = s.new_user("alpha", "maker", allow(&["s3:CreateBucket"])).await;
    assert_eq!(
        put(&s, &root, "/private-bkt", &[("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await.status,
        200
    );
    assert_eq!(put(&s, &root, "/private-bkt/doc", &[], b"private data").await.status, 200);

    let r = put(&s, &maker, "/private-bkt", &[("x-amz-acl", "public-read-write")], b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    assert_eq!(s.as_key(None, "GET", "/private-bkt", "", b"").await.status, 403, "anonymous list");
    assert_eq!(s.as_key(None, "PUT", "/private-bkt/x", "", b"x").await.status, 403, "anonymous write");
    assert_eq!(s.as_key(None, "DELETE", "/private-bkt/doc", "", b"").await.status, 403, "anonymous delete");
    let acl = s.as_key(Some(&root), "GET", "/private-bkt", "acl", b"").await.text();
    assert!(!acl.contains("AllUsers"), "{acl}");

    // A new bucket with a public ACL also needs s3:PutBucketAcl; nothing is created.
    let r = put(&s, &maker, "/new-public", &[("x-amz-acl", "public-read")], b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    assert_eq!(s.as_key(Some(&root), "HEAD", "/new-public", "", b"").await.status, 404);
    // Private (what rclone sends) needs nothing more.
    assert_eq!(put(&s, &maker, "/new-private", &[("x-amz-acl", "private")], b"").await.status, 200);
    // Re-creating without an ACL resets it to private: no change here, so allowed.
    assert_eq!(put(&s, &maker, "/private-bkt", &[], b"").await.status, 200);

    // With s3:PutBucketAcl as well, the ACL is applied.
    let admin = s.new_user("alpha", "admin", allow(&["s3:CreateBucket", "s3:PutBucketAcl"])).await;
    assert_eq!(put(&s, &admin, "/private-bkt", &[("x-amz-acl", "public-read")], b"").await.status, 200);
    assert_eq!(s.as_key(None, "GET", "/private-bkt", "", b"").await.status, 200);
    // Now public, the bucket cannot be reset to private by CreateBucket alone either.
    let r = put(&s, &maker, "/private-bkt", &[], b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    assert_eq!(s.as_key(None, "GET", "/private-bkt", "", b"").await.status, 200);
}

/// Item 2: an ACL given with an object write needs `s3:PutObjectAcl`:
/// PutObject, CreateMultipartUpload, and a copy onto itself, which must not
/// publish a private object.
#[tokio::test]
async fn object_writes_with_an_acl_need_put_object_acl() {
    let s = TestServer::start().await;
    let root = project(&s, "alpha").await;
    let writer = s.new_user("alpha", "writer", allow(&["s3:PutObject", "s3:GetObject", "s3:ListBucket"])).await;
    assert_eq!(put(&s, &root, "/data", &[("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await.status, 200);
    assert_eq!(put(&s, &root, "/data/secret", &[], b"private data").await.status, 200);

    let public = [("x-amz-acl", "public-read")];
    let r = put(&s, &writer, "/data/new", &public, b"x").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    let r = s.as_key(Some(&root), "GET", "/data/new", "", b"").await;
    assert_eq!(r.code().as_deref(), Some("NoSuchKey"), "nothing stored");

    let copy =
        [("x-amz-acl", "public-read"), ("x-amz-copy-source", "/data/secret"), ("x-amz-metadata-directive", "REPLACE")];
    let r = put(&s, &writer, "/data/secret", &copy, b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    assert_eq!(s.as_key(None, "GET", "/data/secret", "", b"").await.status, 403, "still private");

    let r = s.request_as(Some(&writer), common::REGION, "POST", "/data/big", "uploads", &public, b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());

    // Without an ACL, or with `private`, the writer writes.
    assert_eq!(put(&s, &writer, "/data/plain", &[("x-amz-acl", "private")], b"x").await.status, 200);
    // With s3:PutObjectAcl too, the ACL is applied.
    let publisher = s.new_user("alpha", "publisher", allow(&["s3:PutObject", "s3:PutObjectAcl"])).await;
    assert_eq!(put(&s, &publisher, "/data/page", &public, b"hello").await.status, 200);
    let r = s.as_key(None, "GET", "/data/page", "", b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
}

/// Item 3: a key of region A copied from a bucket of region B (CopyObject
/// and UploadPartCopy). A key works in its own region only.
#[tokio::test]
async fn copy_source_in_another_region_is_refused() {
    let s = TestServer::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.regions = vec![
            coffer::RegionEndpoint { name: "us-east-1".into(), hosts: vec![] },
            coffer::RegionEndpoint { name: "eu-west-9".into(), hosts: vec![] },
        ];
    })
    .await;
    let us = project(&s, "alpha").await;
    let eu = s.new_key("alpha", None, Some("eu-west-9")).await;
    let eu_put = |path: &'static str, body: &'static [u8]| {
        let (s, eu) = (&s, eu.clone());
        async move { s.request_as(Some(&eu), "eu-west-9", "PUT", path, "", &[], body).await }
    };
    assert_eq!(eu_put("/eu-bkt", b"").await.status, 200);
    assert_eq!(eu_put("/eu-bkt/secret", b"eu only").await.status, 200);
    assert_eq!(put(&s, &us, "/us-bkt", &[], b"").await.status, 200);

    let r = put(&s, &us, "/us-bkt/copy", &[("x-amz-copy-source", "/eu-bkt/secret")], b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    assert!(!r.text().contains("eu only"));
    assert_eq!(s.as_key(Some(&us), "GET", "/us-bkt/copy", "", b"").await.code().as_deref(), Some("NoSuchKey"));

    let r = s.request_as(Some(&us), "us-east-1", "POST", "/us-bkt/mp", "uploads", &[], b"").await;
    let text = r.text();
    let id = &text[text.find("<UploadId>").unwrap() + 10..text.find("</UploadId>").unwrap()];
    let q = format!("partNumber=1&uploadId={id}");
    let h = [("x-amz-copy-source", "/eu-bkt/secret")];
    let r = s.request_as(Some(&us), "us-east-1", "PUT", "/us-bkt/mp", &q, &h, b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());

    // The operator's key is bound by the same rule.
    let r = put(&s, &Key::operator(), "/us-bkt/op-copy", &[("x-amz-copy-source", "/eu-bkt/secret")], b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")), "{}", r.text());
    // Nor can a key of another region reset a bucket's ACL by re-creating it.
    let h = [("x-amz-acl", "public-read")];
    let r = s.request_as(Some(&eu), "eu-west-9", "PUT", "/us-bkt", "", &h, b"").await;
    assert_eq!((r.status, r.code().as_deref()), (409, Some("BucketAlreadyOwnedByYou")), "{}", r.text());
    assert_eq!(s.as_key(None, "GET", "/us-bkt", "", b"").await.status, 403, "still private");
    // Within the region, copies work.
    assert_eq!(put(&s, &us, "/us-bkt/a", &[], b"a").await.status, 200);
    assert_eq!(put(&s, &us, "/us-bkt/b", &[("x-amz-copy-source", "/us-bkt/a")], b"").await.status, 200);
}

/// Item 8: the admin API's bucket quota answered a project root asking about
/// another project's bucket with a refusal that named the owning project.
#[tokio::test]
async fn admin_quota_of_another_projects_bucket_looks_missing() {
    let s = TestServer::start().await;
    let alpha = project(&s, "alpha").await;
    let beta = project(&s, "beta-corp").await;
    assert_eq!(put(&s, &beta, "/beta-bkt", &[], b"").await.status, 200);
    let (status, theirs) = s.admin_as(&alpha, "GET", "/buckets/beta-bkt/quota", None).await;
    let (missing_status, missing) = s.admin_as(&alpha, "GET", "/buckets/no-such-bkt/quota", None).await;
    assert_eq!((status, missing_status), (404, 404), "{theirs} {missing}");
    assert!(!theirs.to_string().contains("beta-corp"), "{theirs}");
    assert_eq!(theirs["error"]["code"], missing["error"]["code"]);
    assert_eq!(theirs["error"]["message"], missing["error"]["message"]);
    // The owner still reads it.
    assert_eq!(s.admin_as(&beta, "GET", "/buckets/beta-bkt/quota", None).await.0, 200);
}
