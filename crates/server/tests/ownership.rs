//! Object Ownership over the wire: new buckets have ACLs disabled
//! (BucketOwnerEnforced) unless CreateBucket asks otherwise; under it no
//! public ACL may be set and none grants anything; the setting changes with
//! Put/DeleteBucketOwnershipControls. Who owns what another project writes:
//! `ownership_writers.rs`.

mod common;

use common::*;
use serde_json::json;

fn code(r: &RawResponse) -> (u16, String) {
    (r.status, r.code().unwrap_or_default())
}

fn controls(o: &str) -> Vec<u8> {
    format!("<OwnershipControls><Rule><ObjectOwnership>{o}</ObjectOwnership></Rule></OwnershipControls>").into_bytes()
}

async fn anon_get(s: &TestServer, path: &str) -> u16 {
    s.raw(format!("GET {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", s.addr).as_bytes()).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_are_disabled_unless_asked_for() {
    let s = TestServer::start().await;
    let pb = ("x-amz-acl", "public-read");
    let preferred = ("x-amz-object-ownership", "BucketOwnerPreferred");
    // A new bucket: enforced; owner-only ACLs pass, public ones are refused.
    assert_eq!(s.signed("PUT", "/enf", "", &[], b"").await.status, 200);
    let got = s.signed("GET", "/enf", "ownershipControls", &[], b"").await.text();
    assert!(got.contains("<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership>"), "{got}");
    let not_supported = (400, "AccessControlListNotSupported".to_string());
    assert_eq!(code(&s.signed("PUT", "/enf/k", "", &[pb], b"x").await), not_supported);
    assert_eq!(s.signed("HEAD", "/enf/k", "", &[], b"").await.status, 404, "nothing stored");
    for acl in ["private", "bucket-owner-full-control"] {
        assert_eq!(s.signed("PUT", "/enf/k", "", &[("x-amz-acl", acl)], b"x").await.status, 200, "{acl}");
    }
    assert_eq!(code(&s.signed("PUT", "/enf/k", "acl", &[pb], b"").await), not_supported);
    assert_eq!(code(&s.signed("PUT", "/enf", "acl", &[pb], b"").await), not_supported);
    assert_eq!(code(&s.signed("POST", "/enf/mp", "uploads", &[pb], b"").await), not_supported);
    assert_eq!(anon_get(&s, "/enf/k").await, 403);

    // A public ACL on CreateBucket without a setting that allows it: nothing is made.
    let r = s.signed("PUT", "/pub", "", &[pb], b"").await;
    assert_eq!(code(&r), (400, "InvalidBucketAclWithObjectOwnership".into()));
    assert_eq!(s.signed("HEAD", "/pub", "", &[], b"").await.status, 404);
    assert_eq!(s.signed("PUT", "/pub", "", &[pb, preferred], b"").await.status, 200);
    assert_eq!(anon_get(&s, "/pub?list-type=2").await, 200);
    // Enforcing needs the bucket's own ACL private first.
    let r = s.signed("PUT", "/pub", "ownershipControls", &[], &controls("BucketOwnerEnforced")).await;
    assert_eq!(code(&r), (400, "InvalidBucketAclWithObjectOwnership".into()));
    assert_eq!(s.signed("PUT", "/pub/obj", "", &[pb], b"o").await.status, 200);
    assert_eq!(anon_get(&s, "/pub/obj").await, 200);
    assert_eq!(s.signed("PUT", "/pub", "acl", &[("x-amz-acl", "private")], b"").await.status, 200);
    let r = s.signed("PUT", "/pub", "ownershipControls", &[], &controls("BucketOwnerEnforced")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Enforced: the object's stored ACL grants nothing and reads as private.
    assert_eq!(anon_get(&s, "/pub/obj").await, 403);
    assert!(!s.signed("GET", "/pub/obj", "acl", &[], b"").await.text().contains("AllUsers"));
    // Removing the setting: ACLs work again, and there is no setting to read.
    assert_eq!(s.signed("DELETE", "/pub", "ownershipControls", &[], b"").await.status, 204);
    let r = s.signed("GET", "/pub", "ownershipControls", &[], b"").await;
    assert_eq!(code(&r), (404, "OwnershipControlsNotFoundError".into()));
    assert_eq!(anon_get(&s, "/pub/obj").await, 200);

    // ObjectWriter, at creation or later: ACLs work.
    let writer = ("x-amz-object-ownership", "ObjectWriter");
    let r = s.signed("PUT", "/owb", "", &[writer, pb], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = s.signed("GET", "/owb", "ownershipControls", &[], b"").await.text();
    assert!(got.contains("<ObjectOwnership>ObjectWriter</ObjectOwnership>"), "{got}");
    assert_eq!(anon_get(&s, "/owb?list-type=2").await, 200);
    let r = s.signed("PUT", "/pub", "ownershipControls", &[], &controls("ObjectWriter")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let bad = ("x-amz-object-ownership", "Mine");
    assert_eq!(code(&s.signed("PUT", "/bad", "", &[bad], b"").await), (400, "InvalidArgument".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choosing_ownership_needs_its_own_permission() {
    let s = TestServer::start().await;
    s.admin("POST", "/projects", Some(json!({"name": "acme"}))).await;
    let maker = s
        .new_user(
            "acme",
            "maker",
            json!({"document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:CreateBucket", "Resource": "*"}]}}),
        )
        .await;
    let h = [("x-amz-object-ownership", "BucketOwnerPreferred")];
    let r = s.request_as(Some(&maker), REGION, "PUT", "/acme-pref", "", &h, b"").await;
    assert_eq!(code(&r), (403, "AccessDenied".into()));
    assert_eq!(s.request_as(Some(&maker), REGION, "PUT", "/acme-plain", "", &[], b"").await.status, 200);
    let r = s.request_as(Some(&maker), REGION, "GET", "/acme-plain", "ownershipControls", &[], b"").await;
    assert_eq!(r.status, 403, "reading it is its own action too");
}

/// A deployment whose customers rely on ACLs makes new buckets with them
/// working (`--default-object-ownership BucketOwnerPreferred`); a bucket
/// may still ask for enforcement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployment_chooses_the_default() {
    let s = TestServer::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.default_ownership = coffer_engine::ObjectOwnership::BucketOwnerPreferred;
    })
    .await;
    assert_eq!(s.signed("PUT", "/legacy", "", &[("x-amz-acl", "public-read")], b"").await.status, 200);
    let got = s.signed("GET", "/legacy", "ownershipControls", &[], b"").await.text();
    assert!(got.contains("BucketOwnerPreferred"), "{got}");
    assert_eq!(anon_get(&s, "/legacy?list-type=2").await, 200);
    let enforced = [("x-amz-object-ownership", "BucketOwnerEnforced")];
    assert_eq!(s.signed("PUT", "/strict", "", &enforced, b"").await.status, 200);
    let r = s.signed("PUT", "/strict/k", "", &[("x-amz-acl", "public-read")], b"x").await;
    assert_eq!(code(&r), (400, "AccessControlListNotSupported".into()));
}
