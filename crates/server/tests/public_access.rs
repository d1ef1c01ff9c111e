//! Block Public Access over the wire: a bucket's switches
//! (Put/Get/DeletePublicAccessBlock) and its project's (admin API), each
//! switch enforced where it applies, nothing stored by a refused request.

mod common;

use common::admin::Key;
use common::*;
use serde_json::json;

fn code(r: &RawResponse) -> (u16, String) {
    (r.status, r.code().unwrap_or_default())
}

fn switches(on: &[&str]) -> Vec<u8> {
    let body: String = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]
        .iter()
        .map(|s| format!("<{s}>{}</{s}>", on.contains(s)))
        .collect();
    format!("<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{body}</PublicAccessBlockConfiguration>")
        .into_bytes()
}

const PUBLIC_READ_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*"}]}"#;

async fn anon_get(s: &TestServer, path: &str) -> u16 {
    s.raw(format!("GET {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", s.addr).as_bytes()).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_switches_round_trip_and_each_one_holds() {
    let s = TestServer::start().await;
    assert_eq!(
        s.signed("PUT", "/bpa", "", &[("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await.status,
        200
    );
    let r = s.signed("GET", "/bpa", "publicAccessBlock", &[], b"").await;
    assert_eq!(code(&r), (404, "NoSuchPublicAccessBlockConfiguration".into()));
    let bad =
        b"<PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls></PublicAccessBlockConfiguration>";
    assert_eq!(code(&s.signed("PUT", "/bpa", "publicAccessBlock", &[], bad).await), (400, "MalformedXML".into()));

    // Set up what is public before any switch: an object ACL and a bucket policy.
    let r = s.signed("PUT", "/bpa/acl-pub", "", &[("x-amz-acl", "public-read")], b"acl").await;
    assert_eq!(r.status, 200);
    assert_eq!(s.signed("PUT", "/bpa/plain", "", &[], b"plain").await.status, 200);
    assert_eq!(anon_get(&s, "/bpa/acl-pub").await, 200);
    assert_eq!(anon_get(&s, "/bpa/plain").await, 403);

    // BlockPublicAcls: every way of setting a public ACL is refused; private ones pass.
    assert_eq!(s.signed("PUT", "/bpa", "publicAccessBlock", &[], &switches(&["BlockPublicAcls"])).await.status, 200);
    let got = s.signed("GET", "/bpa", "publicAccessBlock", &[], b"").await.text();
    assert!(got.contains("<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls>"), "{got}");
    let denied = (403, "AccessDenied".to_string());
    for acl in ["public-read", "public-read-write", "authenticated-read"] {
        let h = [("x-amz-acl", acl)];
        assert_eq!(code(&s.signed("PUT", "/bpa/new", "", &h, b"x").await), denied, "PUT {acl}");
        assert_eq!(code(&s.signed("PUT", "/bpa/plain", "acl", &h, b"").await), denied, "PutObjectAcl {acl}");
        assert_eq!(code(&s.signed("PUT", "/bpa", "acl", &h, b"").await), denied, "PutBucketAcl {acl}");
        let copy = [("x-amz-acl", acl), ("x-amz-copy-source", "/bpa/plain")];
        assert_eq!(code(&s.signed("PUT", "/bpa/copy", "", &copy, b"").await), denied, "copy {acl}");
        assert_eq!(code(&s.signed("POST", "/bpa/mp", "uploads", &h, b"").await), denied, "multipart {acl}");
    }
    for key in ["new", "copy"] {
        assert_eq!(s.signed("HEAD", &format!("/bpa/{key}"), "", &[], b"").await.status, 404, "{key}: nothing stored");
    }
    assert_eq!(anon_get(&s, "/bpa/plain").await, 403, "the refused PutObjectAcl changed nothing");
    assert_eq!(s.signed("PUT", "/bpa/new", "", &[("x-amz-acl", "private")], b"x").await.status, 200);
    assert_eq!(anon_get(&s, "/bpa/acl-pub").await, 200, "an ACL set before still grants: that is IgnorePublicAcls");

    // IgnorePublicAcls: public ACLs grant nothing, and again once the switch is off.
    assert_eq!(s.signed("PUT", "/bpa", "publicAccessBlock", &[], &switches(&["IgnorePublicAcls"])).await.status, 200);
    assert_eq!(anon_get(&s, "/bpa/acl-pub").await, 403);
    assert_eq!(s.signed("PUT", "/bpa/acl-pub2", "", &[("x-amz-acl", "public-read")], b"x").await.status, 200);
    assert_eq!(anon_get(&s, "/bpa/acl-pub2").await, 403);
    assert_eq!(s.signed("DELETE", "/bpa", "publicAccessBlock", &[], b"").await.status, 204);
    assert_eq!(anon_get(&s, "/bpa/acl-pub").await, 200);

    // BlockPublicPolicy: a public policy is refused, one naming a project is not.
    let public = PUBLIC_READ_POLICY.replace("BKT", "bpa");
    assert_eq!(s.signed("PUT", "/bpa", "publicAccessBlock", &[], &switches(&["BlockPublicPolicy"])).await.status, 200);
    assert_eq!(code(&s.signed("PUT", "/bpa", "policy", &[], public.as_bytes()).await), denied);
    assert_eq!(code(&s.signed("GET", "/bpa", "policy", &[], b"").await), (404, "NoSuchBucketPolicy".into()));
    let named = public.replace(r#""Principal":"*""#, r#""Principal":{"AWS":"arn:aws:iam::other:root"}"#);
    assert_eq!(s.signed("PUT", "/bpa", "policy", &[], named.as_bytes()).await.status, 204);

    // RestrictPublicBuckets: a public policy set before grants nothing to outsiders.
    assert_eq!(s.signed("DELETE", "/bpa", "publicAccessBlock", &[], b"").await.status, 204);
    assert_eq!(s.signed("PUT", "/bpa", "policy", &[], public.as_bytes()).await.status, 204);
    assert_eq!(anon_get(&s, "/bpa/plain").await, 200);
    let r = s.signed("PUT", "/bpa", "publicAccessBlock", &[], &switches(&["RestrictPublicBuckets"])).await;
    assert_eq!(r.status, 200);
    assert_eq!(anon_get(&s, "/bpa/plain").await, 403);
    assert_eq!(s.signed("GET", "/bpa/plain", "", &[], b"").await.status, 200, "the owner reads on");

    // RestrictPublicBuckets drops the public grants only: a deny stays in force.
    let mixed = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bpa/plain"},
        {"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bpa/acl-pub"}]}"#;
    assert_eq!(s.signed("PUT", "/bpa", "policy", &[], mixed.as_bytes()).await.status, 204);
    assert_eq!(anon_get(&s, "/bpa/acl-pub").await, 403, "the deny beats the object's public ACL");

    // A grant to everyone that only looks pinned is public: refused by BlockPublicPolicy.
    assert_eq!(s.signed("PUT", "/bpa", "publicAccessBlock", &[], &switches(&["BlockPublicPolicy"])).await.status, 200);
    for cond in [
        r#"{"ForAllValues:StringEquals":{"aws:PrincipalAccount":"acme"}}"#,
        r#"{"StringEquals":{"aws:PrincipalAccount":"${aws:PrincipalAccount}"}}"#,
    ] {
        let p = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bpa/*","Condition":{cond}}}]}}"#
        );
        assert_eq!(code(&s.signed("PUT", "/bpa", "policy", &[], p.as_bytes()).await), denied, "{cond}");
    }

    // An upload begun with a public ACL before the switch cannot finish public after it.
    assert_eq!(s.signed("DELETE", "/bpa", "publicAccessBlock", &[], b"").await.status, 204);
    let r = s.signed("POST", "/bpa/mp", "uploads", &[("x-amz-acl", "public-read")], b"").await;
    let text = r.text();
    let id = text.split("<UploadId>").nth(1).unwrap().split("</UploadId>").next().unwrap().to_owned();
    let part = s.signed("PUT", "/bpa/mp", &format!("partNumber=1&uploadId={id}"), &[], b"data").await;
    let etag = part.header("etag").unwrap().to_owned();
    assert_eq!(s.signed("PUT", "/bpa", "publicAccessBlock", &[], &switches(&["BlockPublicAcls"])).await.status, 200);
    let done = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let r = s.signed("POST", "/bpa/mp", &format!("uploadId={id}"), &[], done.as_bytes()).await;
    assert_eq!(code(&r), denied);
    assert_eq!(s.signed("HEAD", "/bpa/mp", "", &[], b"").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_switches_apply_to_every_bucket_of_the_project() {
    let s = TestServer::start().await;
    for p in ["alpha", "beta"] {
        s.admin("POST", "/projects", Some(json!({ "name": p }))).await;
    }
    let alpha = s.new_key("alpha", None, None).await;
    let beta = s.new_key("beta", None, None).await;
    let as_ = |k: &Key, method: &'static str, path: &str, query: &'static str, h: &[(&str, &str)], body: &[u8]| {
        let (k, path, body) = (k.clone(), path.to_owned(), body.to_vec());
        let h: Vec<(String, String)> = h.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let s = &s;
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            s.request_as(Some(&k), REGION, method, &path, query, &h, &body).await
        }
    };
    assert_eq!(
        as_(&alpha, "PUT", "/alpha-old", "", &[("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await.status,
        200
    );
    let pb = [("x-amz-acl", "public-read")];
    assert_eq!(as_(&alpha, "PUT", "/alpha-old/pub", "", &pb, b"x").await.status, 200);
    assert_eq!(anon_get(&s, "/alpha-old/pub").await, 200);

    // The project's root sets its switches; an IAM user of the project may not, nor another project's root.
    let all = json!({"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": true});
    let user = s.new_user("alpha", "dev", json!({"preset": "full-access"})).await;
    let (st, _) = s.admin_as(&user, "PUT", "/projects/alpha/public-access-block", Some(all.clone())).await;
    assert_eq!(st, 403);
    let (st, _) = s.admin_as(&beta, "PUT", "/projects/alpha/public-access-block", Some(all.clone())).await;
    assert_eq!(st, 403);
    let (st, got) = s.admin_as(&alpha, "PUT", "/projects/alpha/public-access-block", Some(all.clone())).await;
    assert_eq!((st, &got), (200, &all));
    let (st, _) = s.admin_as(&alpha, "PUT", "/projects/alpha/public-access-block", Some(json!({"nope": true}))).await;
    assert_eq!(st, 400);
    let (_, got) = s.admin_as(&alpha, "GET", "/projects/alpha/public-access-block", None).await;
    assert_eq!(got, all);
    // The S3 endpoint keeps a project's switches as long as a bucket's (half
    // a second), on this gateway as on any other: the admin API is not the engine.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;

    // Every bucket of the project, old and new, is closed; beta's are not.
    assert_eq!(anon_get(&s, "/alpha-old/pub").await, 403, "IgnorePublicAcls from the project");
    let r =
        as_(&alpha, "PUT", "/alpha-new", "", &[pb[0], ("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await;
    assert_eq!(code(&r), (403, "AccessDenied".into()), "a bucket made with a public ACL");
    assert_eq!(as_(&alpha, "HEAD", "/alpha-new", "", &[], b"").await.status, 404, "and not made");
    assert_eq!(
        as_(&alpha, "PUT", "/alpha-new", "", &[("x-amz-object-ownership", "BucketOwnerPreferred")], b"").await.status,
        200
    );
    assert_eq!(code(&as_(&alpha, "PUT", "/alpha-new/k", "", &pb, b"x").await), (403, "AccessDenied".into()));
    let public = PUBLIC_READ_POLICY.replace("BKT", "alpha-new");
    let r = as_(&alpha, "PUT", "/alpha-new", "policy", &[], public.as_bytes()).await;
    assert_eq!(code(&r), (403, "AccessDenied".into()));
    // The bucket's own switches say nothing; the project's still apply.
    let r = as_(&alpha, "GET", "/alpha-new", "publicAccessBlock", &[], b"").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        as_(&beta, "PUT", "/beta-b", "", &[pb[0], ("x-amz-object-ownership", "BucketOwnerPreferred")], b"")
            .await
            .status,
        200
    );
    assert_eq!(as_(&beta, "PUT", "/beta-b/k", "", &pb, b"x").await.status, 200);
    assert_eq!(anon_get(&s, "/beta-b/k").await, 200);

    // Switched off again by the operator: public ACLs grant again.
    s.admin("PUT", "/projects/alpha/public-access-block", Some(json!({}))).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(anon_get(&s, "/alpha-old/pub").await, 200);
}
