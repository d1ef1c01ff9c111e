//! Who owns what another project writes into a bucket (Object Ownership),
//! and what owning it means. Under `ObjectWriter` the writer owns it; under
//! `BucketOwnerPreferred` the writer, unless it gives the
//! `bucket-owner-full-control` ACL; under `BucketOwnerEnforced` the bucket's
//! project. An object another project owns is that owner's to share: the
//! bucket's project reads it only through its `bucket-owner-*` ACL, a third
//! project only through its canned ACL; the bucket policy's grants do not
//! reach it, its denies do. The bucket's project may still delete it.

mod common;

use common::admin::Key;
use common::*;
use serde_json::json;

struct Projects {
    s: TestServer,
    /// The bucket's owner (its root user).
    alpha: Key,
    /// The writer from another project (its root user).
    beta: Key,
    /// A third project the bucket policy also grants.
    gamma: Key,
}

/// Bucket `shared` of alpha, with `ownership`, whose policy lets beta and
/// gamma do anything in it and denies every read under `denied/`.
async fn projects(ownership: &str) -> Projects {
    let s = TestServer::start().await;
    for p in ["alpha", "beta", "gamma"] {
        s.admin("POST", "/projects", Some(json!({ "name": p }))).await;
    }
    let alpha = s.new_key("alpha", None, None).await;
    let beta = s.new_key("beta", None, None).await;
    let gamma = s.new_key("gamma", None, None).await;
    let h = [("x-amz-object-ownership", ownership)];
    assert_eq!(s.request_as(Some(&alpha), REGION, "PUT", "/shared", "", &h, b"").await.status, 200);
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*",
         "Principal": {"AWS": ["arn:aws:iam::beta:root", "arn:aws:iam::gamma:root"]},
         "Resource": ["arn:aws:s3:::shared", "arn:aws:s3:::shared/*"]},
        {"Effect": "Deny", "Action": "s3:GetObject", "Principal": "*",
         "Resource": "arn:aws:s3:::shared/denied/*"}]})
    .to_string();
    let r = s.as_key(Some(&alpha), "PUT", "/shared", "policy", policy.as_bytes()).await;
    assert_eq!(r.status, 204, "{}", r.text());
    Projects { s, alpha, beta, gamma }
}

impl Projects {
    async fn put(&self, who: &Key, path: &str, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
        self.s.request_as(Some(who), REGION, "PUT", path, "", headers, body).await
    }

    async fn status(&self, who: Option<&Key>, method: &str, path: &str, query: &str) -> u16 {
        self.s.as_key(who, method, path, query, b"").await.status
    }

    /// The owner GetObjectAcl names, asked by `who`.
    async fn owner(&self, who: &Key, path: &str) -> String {
        let r = self.s.as_key(Some(who), "GET", path, "acl", b"").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let t = r.text();
        let id = t.split("<Owner><ID>").nth(1).and_then(|r| r.split("</ID>").next()).unwrap_or_default();
        id.to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_object_writer_the_writer_owns_what_it_writes() {
    let p = projects("ObjectWriter").await;
    let got = p.s.as_key(Some(&p.alpha), "GET", "/shared", "ownershipControls", b"").await.text();
    assert!(got.contains("<ObjectOwnership>ObjectWriter</ObjectOwnership>"), "{got}");
    assert_eq!(p.put(&p.beta, "/shared/b", &[], b"beta's").await.status, 200);
    assert_eq!(p.put(&p.alpha, "/shared/a", &[], b"alpha's").await.status, 200);
    assert_eq!(p.owner(&p.beta, "/shared/b").await, "beta");
    assert_eq!(p.owner(&p.alpha, "/shared/a").await, "alpha");

    // Beta's object is beta's: the bucket's owner and the third project,
    // whom the bucket policy grants everything, read nothing of it.
    let r = p.s.as_key(Some(&p.beta), "GET", "/shared/b", "", b"").await;
    assert_eq!((r.status, r.body.as_ref()), (200, &b"beta's"[..]));
    for who in [&p.alpha, &p.gamma] {
        for (method, query) in [("GET", ""), ("HEAD", ""), ("GET", "acl"), ("GET", "tagging"), ("GET", "attributes")] {
            assert_eq!(p.status(Some(who), method, "/shared/b", query).await, 403, "{method} ?{query}");
        }
        let r =
            p.s.request_as(Some(who), REGION, "PUT", "/shared/b", "acl", &[("x-amz-acl", "public-read")], b"").await;
        assert_eq!(r.status, 403, "{}", r.text());
        let src = [("x-amz-copy-source", "/shared/b")];
        assert_eq!(p.put(who, "/shared/stolen", &src, b"").await.status, 403, "copying it is reading it");
    }
    assert_eq!(p.status(None, "GET", "/shared/b", "").await, 403);
    // Alpha's own objects are still alpha's to read, and the policy's grant reaches them.
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/a", "").await, 200);
    assert_eq!(p.status(Some(&p.gamma), "GET", "/shared/a", "").await, 200);

    // The owner shares it: bucket-owner-read lets alpha read (not its ACL),
    // bucket-owner-full-control everything; the ACL document names alpha.
    let acl = |a| [("x-amz-acl", a)];
    let r = p.s.request_as(Some(&p.beta), REGION, "PUT", "/shared/b", "acl", &acl("bucket-owner-read"), b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/b", "").await, 200);
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/b", "acl").await, 403);
    assert_eq!(p.status(Some(&p.gamma), "GET", "/shared/b", "").await, 403);
    let doc = p.s.as_key(Some(&p.beta), "GET", "/shared/b", "acl", b"").await.text();
    assert!(doc.contains("<ID>alpha</ID><DisplayName>alpha</DisplayName></Grantee><Permission>READ<"), "{doc}");
    let full = acl("bucket-owner-full-control");
    assert_eq!(p.s.request_as(Some(&p.beta), REGION, "PUT", "/shared/b", "acl", &full, b"").await.status, 200);
    assert_eq!(p.owner(&p.alpha, "/shared/b").await, "beta", "sharing is not giving");
    // An ACL document granting the bucket owner is read back as the canned ACL.
    let r = p.s.as_key(Some(&p.alpha), "PUT", "/shared/b", "acl", doc.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/b", "acl").await, 403, "back to bucket-owner-read");
    // A public ACL shares it with everyone.
    assert_eq!(p.put(&p.beta, "/shared/pub", &acl("public-read"), b"p").await.status, 200);
    assert_eq!(p.status(None, "GET", "/shared/pub", "").await, 200);
    assert_eq!(p.status(Some(&p.gamma), "GET", "/shared/pub", "").await, 200);

    // The bucket policy's denies still hold on what beta owns.
    assert_eq!(p.put(&p.beta, "/shared/denied/x", &[], b"d").await.status, 200);
    assert_eq!(p.status(Some(&p.beta), "GET", "/shared/denied/x", "").await, 403);

    // Copies and uploads are owned by their writer too (never the source's owner).
    let src = [("x-amz-copy-source", "/shared/a")];
    assert_eq!(p.put(&p.gamma, "/shared/g-copy", &src, b"").await.status, 200);
    assert_eq!(p.owner(&p.gamma, "/shared/g-copy").await, "gamma");
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/g-copy", "").await, 403);
    let r = p.s.as_key(Some(&p.beta), "POST", "/shared/mp", "uploads", b"").await;
    let text = r.text();
    let id = text.split("<UploadId>").nth(1).and_then(|r| r.split("</UploadId>").next()).unwrap();
    let parts = p.s.as_key(Some(&p.beta), "GET", "/shared/mp", &format!("uploadId={id}"), b"").await.text();
    assert!(parts.contains("<Owner><ID>beta</ID>"), "{parts}");
    let part = p.s.as_key(Some(&p.beta), "PUT", "/shared/mp", &format!("partNumber=1&uploadId={id}"), b"part").await;
    let etag = part.header("etag").unwrap().to_owned();
    let done = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let r = p.s.as_key(Some(&p.beta), "POST", "/shared/mp", &format!("uploadId={id}"), done.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(p.owner(&p.beta, "/shared/mp").await, "beta");
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/mp", "").await, 403);

    // The bucket's owner may still remove what others put in its bucket.
    assert_eq!(p.status(Some(&p.alpha), "DELETE", "/shared/mp", "").await, 204);
    assert_eq!(p.status(Some(&p.beta), "GET", "/shared/mp", "").await, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_bucket_owner_preferred_full_control_hands_the_object_over() {
    let p = projects("BucketOwnerPreferred").await;
    assert_eq!(p.put(&p.beta, "/shared/kept", &[], b"k").await.status, 200);
    assert_eq!(p.put(&p.beta, "/shared/private", &[("x-amz-acl", "private")], b"k").await.status, 200);
    let full = [("x-amz-acl", "bucket-owner-full-control")];
    assert_eq!(p.put(&p.beta, "/shared/given", &full, b"g").await.status, 200);
    assert_eq!(p.owner(&p.beta, "/shared/kept").await, "beta");
    assert_eq!(p.owner(&p.beta, "/shared/private").await, "beta");
    assert_eq!(p.owner(&p.alpha, "/shared/given").await, "alpha");
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/given", "").await, 200);
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/kept", "").await, 403);
    let src = [("x-amz-copy-source", "/shared/given"), ("x-amz-acl", "bucket-owner-full-control")];
    assert_eq!(p.put(&p.beta, "/shared/given-copy", &src, b"").await.status, 200);
    assert_eq!(p.owner(&p.alpha, "/shared/given-copy").await, "alpha");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_bucket_owner_enforced_the_bucket_owns_everything() {
    let p = projects("BucketOwnerEnforced").await;
    assert_eq!(p.put(&p.beta, "/shared/b", &[], b"b").await.status, 200);
    assert_eq!(p.owner(&p.alpha, "/shared/b").await, "alpha");
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/b", "").await, 200);
    // The bucket policy's grant reaches it, as every object of the bucket.
    assert_eq!(p.status(Some(&p.gamma), "GET", "/shared/b", "").await, 200);
    // Turning ACLs on later does not hand anything back.
    let controls =
        b"<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>";
    assert_eq!(p.s.as_key(Some(&p.alpha), "PUT", "/shared", "ownershipControls", controls).await.status, 200);
    assert_eq!(p.owner(&p.alpha, "/shared/b").await, "alpha");
    assert_eq!(p.put(&p.beta, "/shared/later", &[], b"l").await.status, 200);
    assert_eq!(p.owner(&p.beta, "/shared/later").await, "beta");
    // And turning enforcement back on makes the bucket's project read it all again.
    let enforced =
        b"<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>";
    assert_eq!(p.s.as_key(Some(&p.alpha), "PUT", "/shared", "ownershipControls", enforced).await.status, 200);
    assert_eq!(p.status(Some(&p.alpha), "GET", "/shared/later", "").await, 200);
}

/// A writer allowed only to put into a versioned bucket owns its own
/// versions, and nothing of the owner's: not by naming an older version of
/// the key it just wrote, as a GET or as the source of a copy onto that
/// same key (a copy's source is checked at the source's version).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_cannot_reach_the_owners_older_versions() {
    let p = projects("ObjectWriter").await;
    let s = &p.s;
    let h = [("x-amz-object-ownership", "ObjectWriter")];
    assert_eq!(s.request_as(Some(&p.alpha), REGION, "PUT", "/drop", "", &h, b"").await.status, 200);
    let on = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    assert_eq!(s.as_key(Some(&p.alpha), "PUT", "/drop", "versioning", on).await.status, 200);
    let put_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
        "Principal": {"AWS": "arn:aws:iam::beta:root"}, "Resource": "arn:aws:s3:::drop/*"}]})
    .to_string();
    assert_eq!(s.as_key(Some(&p.alpha), "PUT", "/drop", "policy", put_only.as_bytes()).await.status, 204);
    let r = p.put(&p.alpha, "/drop/k", &[], b"alpha's secret").await;
    let secret = r.header("x-amz-version-id").unwrap().to_owned();
    assert_eq!(p.put(&p.beta, "/drop/k", &[], b"beta's").await.status, 200);
    let r = s.as_key(Some(&p.beta), "GET", "/drop/k", "", b"").await;
    assert_eq!((r.status, r.body.as_ref()), (200, &b"beta's"[..]), "its own version");
    let named = format!("versionId={secret}");
    assert_eq!(p.status(Some(&p.beta), "GET", "/drop/k", &named).await, 403);
    let src = format!("/drop/k?versionId={secret}");
    let r = p.put(&p.beta, "/drop/k", &[("x-amz-copy-source", &src)], b"").await;
    assert_eq!(r.status, 403, "{}", r.text());
    // The same with the copy's own (ignored) versionId naming beta's version.
    let r = s.as_key(Some(&p.beta), "GET", "/drop/k", "", b"").await;
    let mine = r.header("x-amz-version-id").unwrap().to_owned();
    let r = s
        .request_as(
            Some(&p.beta),
            REGION,
            "PUT",
            "/drop/k",
            &format!("versionId={mine}"),
            &[("x-amz-copy-source", &src)],
            b"",
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = s.as_key(Some(&p.alpha), "GET", "/drop/k", &named, b"").await;
    assert_eq!((r.status, r.body.as_ref()), (200, &b"alpha's secret"[..]));
}
