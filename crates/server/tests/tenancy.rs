//! Projects in practice: isolation whatever the names, revocation at the
//! next request, bucket policies, regions, quotas under concurrency, and
//! usage records.

mod common;

use common::admin::Key;
use common::{TestServer, REGION};
use serde_json::json;
use std::time::Duration;

async fn two_projects(s: &TestServer) -> (Key, Key) {
    s.admin("POST", "/projects", Some(json!({"name": "alpha"}))).await;
    s.admin("POST", "/projects", Some(json!({"name": "beta"}))).await;
    (s.new_key("alpha", None, None).await, s.new_key("beta", None, None).await)
}

#[tokio::test]
async fn another_projects_data_is_unreachable_whatever_the_path() {
    let s = TestServer::start().await;
    let (alpha, beta) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/secret-bkt", "", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/secret-bkt/k", "", b"top secret").await.status, 200);
    assert_eq!(s.as_key(Some(&beta), "PUT", "/beta-bkt", "", b"").await.status, 200);
    for (path, query) in [
        ("/secret-bkt/k", ""),
        ("/beta-bkt/../secret-bkt/k", ""),
        ("/beta-bkt/%2E%2E/secret-bkt/k", ""),
        ("/secret-bkt%2Fk", ""),
        ("/secret-bkt/./k", ""),
        ("/SECRET-BKT/k", ""),
        ("/secret-bkt", "list-type=2"),
        ("/secret-bkt", "uploads"),
    ] {
        let r = s.as_key(Some(&beta), "GET", path, query, b"").await;
        assert!(!r.text().contains("top secret"), "{path}: {}", r.text());
        assert!(r.status >= 400, "{path}?{query}: {} {}", r.status, r.text());
    }
    // The beta bucket's own "../" keys stay inside the beta bucket.
    assert_eq!(s.as_key(Some(&beta), "PUT", "/beta-bkt/../secret-bkt/k", "", b"mine").await.status, 200);
    let r = s.as_key(Some(&alpha), "GET", "/secret-bkt/k", "", b"").await;
    assert_eq!(r.text(), "top secret");
    // Copying out of another project's bucket is refused.
    let r = s
        .request_as(
            Some(&beta),
            "us-east-1",
            "PUT",
            "/beta-bkt/stolen",
            "",
            &[("x-amz-copy-source", "/secret-bkt/k")],
            b"",
        )
        .await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")));
    assert_eq!(s.as_key(Some(&beta), "GET", "/beta-bkt/stolen", "", b"").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_key_fails_from_the_next_request_on() {
    let s = TestServer::start().await;
    let (alpha, _) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/loop-bkt", "", b"").await.status, 200);
    let key = s.new_key("alpha", None, None).await;
    let presigned = {
        let q = coffer_s3_proto::sigv4::presign_query(
            "GET",
            "/loop-bkt",
            "",
            &s.addr.to_string(),
            &key.ak,
            &key.sk,
            "us-east-1",
            time::OffsetDateTime::now_utc(),
            3600,
        );
        format!("GET /loop-bkt?{q} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", s.addr)
    };
    assert_eq!(s.raw(presigned.as_bytes()).await.status, 200);
    // A client loops; the key is deleted between two of its requests.
    let mut statuses = Vec::new();
    for i in 0..20 {
        if i == 10 {
            s.admin("DELETE", &format!("/keys/{}", key.ak), None).await;
        }
        statuses.push(s.as_key(Some(&key), "GET", "/loop-bkt", "list-type=2", b"").await.status);
    }
    assert_eq!(&statuses[..10], &[200; 10]);
    assert_eq!(&statuses[10..], &[403; 10]);
    let r = s.raw(presigned.as_bytes()).await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("InvalidAccessKeyId")));
}

#[tokio::test]
async fn bucket_policy_public_read_and_cross_project_grant() {
    let s = TestServer::start().await;
    let (alpha, beta) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/site", "", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/site/index.html", "", b"<h1>hi</h1>").await.status, 200);
    assert_eq!(s.as_key(None, "GET", "/site/index.html", "", b"").await.status, 403);
    let is_public = || async { s.as_key(Some(&alpha), "GET", "/site", "policyStatus", b"").await.text() };
    assert!(is_public().await.contains("<IsPublic>false</IsPublic>"), "no policy: not public");
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::beta:root"}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::site"}
    ]});
    let r = s.as_key(Some(&alpha), "PUT", "/site", "policy", policy.to_string().as_bytes()).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = s.as_key(None, "GET", "/site/index.html", "", b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "<h1>hi</h1>"));
    assert!(is_public().await.contains("<IsPublic>true</IsPublic>"), "a grant to everyone is public");
    assert_eq!(s.as_key(None, "GET", "/site", "list-type=2", b"").await.status, 403);
    assert_eq!(s.as_key(Some(&beta), "GET", "/site", "list-type=2", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&beta), "PUT", "/site/x", "", b"x").await.status, 403);
    // Only the owner may read or change the policy.
    assert_eq!(s.as_key(Some(&beta), "GET", "/site", "policy", b"").await.status, 403);
    let got = s.as_key(Some(&alpha), "GET", "/site", "policy", b"").await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&got.body).unwrap(), policy);
    // Malformed policies are refused with the reason.
    for bad in [&b"not json"[..], br#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#] {
        let r = s.as_key(Some(&alpha), "PUT", "/site", "policy", bad).await;
        assert_eq!((r.status, r.code().as_deref()), (400, Some("MalformedPolicy")), "{}", r.text());
    }
    assert_eq!(s.as_key(Some(&alpha), "DELETE", "/site", "policy", b"").await.status, 204);
    assert!(is_public().await.contains("<IsPublic>false</IsPublic>"));
    assert_eq!(s.as_key(None, "GET", "/site/index.html", "", b"").await.status, 403);
    let r = s.as_key(Some(&alpha), "GET", "/site", "policy", b"").await;
    assert_eq!(r.code().as_deref(), Some("NoSuchBucketPolicy"));
}

#[tokio::test]
async fn a_bucket_answers_only_in_its_region() {
    let s = TestServer::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.regions = vec![
            coffer::RegionEndpoint { name: "us-east-1".into(), hosts: vec![] },
            coffer::RegionEndpoint { name: "eu-west-9".into(), hosts: vec!["eu.s3.test".into()] },
        ];
    })
    .await;
    s.admin("POST", "/projects", Some(json!({"name": "alpha"}))).await;
    let us = s.new_key("alpha", None, None).await;
    let eu = s.new_key("alpha", None, Some("eu-west-9")).await;
    let put = |key: &Key, region: &'static str, path: &'static str, body: &'static [u8]| {
        let key = key.clone();
        let s = &s;
        async move { s.request_as(Some(&key), region, "PUT", path, "", &[], body).await }
    };
    assert_eq!(put(&eu, "eu-west-9", "/eu-bkt", b"").await.status, 200);
    assert_eq!(put(&eu, "eu-west-9", "/eu-bkt/k", b"eu data").await.status, 200);
    // The same bucket through the us-east-1 endpoint: a redirect, no data.
    let r = s.request_as(Some(&us), "us-east-1", "GET", "/eu-bkt/k", "", &[], b"").await;
    assert_eq!((r.status, r.code().as_deref()), (301, Some("PermanentRedirect")), "{}", r.text());
    assert_eq!(r.header("x-amz-bucket-region"), Some("eu-west-9"));
    assert!(r.text().contains("<Endpoint>eu.s3.test</Endpoint>") && !r.text().contains("eu data"));
    // A key works only in its own region.
    let r = s.request_as(Some(&eu), "us-east-1", "GET", "/", "", &[], b"").await;
    assert_eq!(r.code().as_deref(), Some("InvalidAccessKeyId"));
    let r = s.request_as(Some(&eu), "eu-west-9", "GET", "/eu-bkt/k", "", &[], b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "eu data"));
    // A LocationConstraint must name the endpoint's region.
    let body =
        b"<CreateBucketConfiguration><LocationConstraint>eu-west-9</LocationConstraint></CreateBucketConfiguration>";
    let r = s.request_as(Some(&us), "us-east-1", "PUT", "/wrong-place", "", &[], body).await;
    assert_eq!(r.code().as_deref(), Some("InvalidLocationConstraint"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quotas_hold_under_concurrent_uploads() {
    let s = TestServer::start().await;
    let (alpha, _) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/q-bkt", "", b"").await.status, 200);
    s.admin("PUT", "/projects/alpha/quota", Some(json!({"max_objects": 5, "max_bytes": null}))).await;
    let puts = (0..20).map(|i| {
        let s = &s;
        let alpha = alpha.clone();
        async move { s.as_key(Some(&alpha), "PUT", &format!("/q-bkt/obj-{i}"), "", b"0123456789").await }
    });
    let results = futures_join(puts).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 5, "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!((r.status, r.code().as_deref()), (403, Some("QuotaExceeded")), "{}", r.text());
    }
    let list = s.as_key(Some(&alpha), "GET", "/q-bkt", "list-type=2", b"").await.text();
    assert_eq!(list.matches("<Key>").count(), 5);
    // Overwriting does not add an object; a bucket byte quota stops copies and completes.
    let stored = results.iter().position(|r| r.status == 200).unwrap();
    let existing = format!("/q-bkt/obj-{stored}");
    assert_eq!(s.as_key(Some(&alpha), "PUT", &existing, "", b"x").await.status, 200);
    s.admin("PUT", "/projects/alpha/quota", Some(json!({"max_objects": null, "max_bytes": null}))).await;
    s.admin("PUT", "/buckets/q-bkt/quota", Some(json!({"max_bytes": 100, "max_objects": null}))).await;
    let r = s.as_key(Some(&alpha), "PUT", "/q-bkt/big", "", &[7u8; 200]).await;
    assert_eq!(r.code().as_deref(), Some("QuotaExceeded"));
    let r = s
        .request_as(
            Some(&alpha),
            "us-east-1",
            "PUT",
            "/q-bkt/copy",
            "",
            &[("x-amz-copy-source", existing.as_str())],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "small copy fits: {}", r.text());
    let stored = s.admin("GET", "/buckets?project=alpha", None).await;
    let bytes = stored[0]["bytes"].as_u64().unwrap();
    assert!(bytes <= 100, "{stored}");
    // An object-count quota refuses a copy to a new key and a multipart completion.
    let objects = stored[0]["objects"].as_u64().unwrap();
    s.admin("PUT", "/buckets/q-bkt/quota", Some(json!({"max_bytes": null, "max_objects": objects}))).await;
    let r = s
        .request_as(
            Some(&alpha),
            "us-east-1",
            "PUT",
            "/q-bkt/copy2",
            "",
            &[("x-amz-copy-source", existing.as_str())],
            b"",
        )
        .await;
    assert_eq!(r.code().as_deref(), Some("QuotaExceeded"), "{}", r.text());
    let r = s.as_key(Some(&alpha), "POST", "/q-bkt/mpu", "uploads", b"").await;
    let text = r.text();
    let id = &text[text.find("<UploadId>").unwrap() + 10..text.find("</UploadId>").unwrap()];
    let part = s.as_key(Some(&alpha), "PUT", "/q-bkt/mpu", &format!("partNumber=1&uploadId={id}"), b"tiny").await;
    assert_eq!(part.status, 200, "{}", part.text());
    let etag = part.header("etag").unwrap().to_owned();
    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let r = s.as_key(Some(&alpha), "POST", "/q-bkt/mpu", &format!("uploadId={id}"), complete.as_bytes()).await;
    assert_eq!(r.code().as_deref(), Some("QuotaExceeded"), "{}", r.text());
    assert_eq!(s.as_key(Some(&alpha), "GET", "/q-bkt/mpu", "", b"").await.status, 404);
    let (tmp, _) = s.blob_files();
    assert_eq!(tmp, 0, "refused uploads leave no temp files");
}

async fn futures_join<F: std::future::Future<Output = T>, T>(fs: impl Iterator<Item = F>) -> Vec<T> {
    let handles: Vec<_> = fs.collect();
    let mut out = Vec::new();
    // Poll all at once: the server sees them concurrently.
    let joined = futures::future::join_all(handles).await;
    out.extend(joined);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn usage_records_requests_traffic_and_stored_bytes() {
    let s =
        TestServer::start_configured(tempfile::tempdir().unwrap(), |c| c.meter_interval = Duration::from_millis(200))
            .await;
    let (alpha, _) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/u-bkt", "", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/u-bkt/a", "", &[1u8; 1000]).await.status, 200);
    for _ in 0..3 {
        assert_eq!(s.as_key(Some(&alpha), "GET", "/u-bkt/a", "", b"").await.status, 200);
    }
    let listing = s.as_key(Some(&alpha), "GET", "/u-bkt", "list-type=2", b"").await;
    assert_eq!(listing.status, 200);
    // Refused: not the owner's traffic, not metered.
    assert_eq!(s.as_key(None, "GET", "/u-bkt/a", "", b"").await.status, 403);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let u = s.admin("GET", "/projects/alpha/usage?bucket=u-bkt", None).await;
    let t = &u["totals"];
    assert_eq!(t["requests"]["get"], 3, "{u}");
    assert_eq!(t["requests"]["put"], 1, "{u}");
    assert_eq!(t["requests"]["list"], 1, "{u}");
    assert_eq!(t["bytes_in"], 1000, "{u}");
    // Every body sent counts: the three objects and the listing.
    assert_eq!(t["bytes_out"], 3000 + listing.body.len(), "{u}");
    assert!(t["byte_hours"].as_f64().unwrap() > 0.0, "{u}");
    let hours = u["hours"].as_array().unwrap();
    assert_eq!(hours.last().unwrap()["bytes"], 1000, "{u}");
    assert_eq!(hours.last().unwrap()["objects"], 1, "{u}");
}

/// Metering charged the bucket's project for refused requests, with the
/// byte count the client claimed in `x-amz-decoded-content-length` or
/// `Content-Length`: an anonymous 403 could add 2^64 bytes to any project
/// (and wrap the hour's sum), and a chunked upload counted 0. Only
/// authorized requests are metered now, with the body bytes received.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metering_counts_authorized_requests_and_the_bytes_received() {
    let s =
        TestServer::start_configured(tempfile::tempdir().unwrap(), |c| c.meter_interval = Duration::from_millis(200))
            .await;
    let (alpha, beta) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/m-bkt", "", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/m-bkt/a", "", &[1u8; 1000]).await.status, 200);
    let huge = [("x-amz-decoded-content-length", "18446744073709551615")];
    for _ in 0..2 {
        let r = s.request_as(None, REGION, "PUT", "/m-bkt/x", "", &huge, b"abc").await;
        assert_eq!(r.status, 403, "anonymous");
        let r = s.request_as(Some(&beta), REGION, "GET", "/m-bkt/a", "", &huge, b"").await;
        assert_eq!(r.status, 403, "another project");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Anonymous writes allowed by policy: an HTTP-chunked body of 5 bytes
    // counts 5, whatever the headers claim.
    let public_put = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::m-bkt/*"}]});
    let r = s.as_key(Some(&alpha), "PUT", "/m-bkt", "policy", public_put.to_string().as_bytes()).await;
    assert_eq!(r.status, 204);
    let chunked = format!(
        "PUT /m-bkt/c HTTP/1.1\r\nhost: {}\r\ntransfer-encoding: chunked\r\n\
         x-amz-decoded-content-length: 999999\r\nconnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        s.addr
    );
    assert_eq!(s.raw(chunked.as_bytes()).await.status, 200);
    // PutObjectTagging is authorized after its body is read: an anonymous
    // one is refused (403) or fails on its document (400), metered neither way.
    let tags = b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>";
    let r = s.request_as(None, REGION, "PUT", "/m-bkt/a", "tagging", &[], tags).await;
    assert_eq!(r.status, 403);
    let r = s.request_as(None, REGION, "PUT", "/m-bkt/a", "tagging", &[], &[b'<'; 4000]).await;
    assert_eq!(r.status, 400);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let u = s.admin("GET", "/projects/alpha/usage?bucket=m-bkt", None).await;
    let t = &u["totals"];
    assert_eq!(t["requests"]["get"], 0, "{u}");
    assert_eq!(t["requests"]["put"], 2, "{u}");
    // Every body received counts: the object bytes and the policy document.
    assert_eq!(t["bytes_in"], 1005 + public_put.to_string().len(), "{u}");
    assert_eq!(t["bytes_out"], 0, "{u}");
    assert_eq!(s.as_key(Some(&alpha), "GET", "/m-bkt/c", "", b"").await.text(), "hello");
}

/// Bytes out were the response's `Content-Length`, counted before a byte
/// was sent: an anonymous reader of a public 16 MiB object who hung up after
/// the headers charged its owner 16 MiB, again and again. Now the bytes the
/// body yielded are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metering_bills_the_bytes_a_reader_got() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    const BIG: usize = 16 * 1024 * 1024;
    let s =
        TestServer::start_configured(tempfile::tempdir().unwrap(), |c| c.meter_interval = Duration::from_millis(200))
            .await;
    let (alpha, _) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/out-bkt", "", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/out-bkt/big", "", &vec![7u8; BIG]).await.status, 200);
    let public_get = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::out-bkt/*"}]});
    let r = s.as_key(Some(&alpha), "PUT", "/out-bkt", "policy", public_get.to_string().as_bytes()).await;
    assert_eq!(r.status, 204);
    for _ in 0..3 {
        let mut c = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        c.write_all(b"GET /out-bkt/big HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
        let mut head = vec![0u8; 1024];
        let n = c.read(&mut head).await.unwrap();
        assert!(head[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head[..n]));
        drop(c);
    }
    // One whole read for comparison.
    let r = s.as_key(None, "GET", "/out-bkt/big", "", b"").await;
    assert_eq!((r.status, r.body.len()), (200, BIG));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let u = s.admin("GET", "/projects/alpha/usage?bucket=out-bkt", None).await;
    let out = u["totals"]["bytes_out"].as_u64().unwrap();
    assert_eq!(u["totals"]["requests"]["get"], 4, "{u}");
    assert!(out >= BIG as u64, "the whole read is billed: {u}");
    // What hyper had taken from the three abandoned bodies before the
    // connections closed: a few buffers each, far from 3 × 16 MiB.
    assert!(out < 2 * BIG as u64, "the abandoned reads billed {} bytes", out - BIG as u64);
}

#[tokio::test]
async fn policy_conditions_on_source_ip_and_secure_transport() {
    let s = TestServer::start().await;
    let (alpha, _) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/cond", "", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/cond/k", "", b"data").await.status, 200);
    let by_ip = |cidr: &str| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::cond/*", "Condition": {"IpAddress": {"aws:SourceIp": cidr}}}]})
        .to_string()
    };
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/cond", "policy", by_ip("127.0.0.0/8").as_bytes()).await.status, 204);
    assert_eq!(s.as_key(None, "GET", "/cond/k", "", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/cond", "policy", by_ip("10.0.0.0/8").as_bytes()).await.status, 204);
    assert_eq!(s.as_key(None, "GET", "/cond/k", "", b"").await.status, 403);
    // Deny everything not over TLS: even the project root is refused over plain HTTP...
    let tls_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::cond", "arn:aws:s3:::cond/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/cond", "policy", tls_only.to_string().as_bytes()).await.status, 204);
    let r = s.as_key(Some(&alpha), "GET", "/cond/k", "", b"").await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AccessDenied")));
    // ...but it may still remove the policy that locked it out.
    assert_eq!(s.as_key(Some(&alpha), "DELETE", "/cond", "policy", b"").await.status, 204);
    assert_eq!(s.as_key(Some(&alpha), "GET", "/cond/k", "", b"").await.status, 200);
}

#[tokio::test]
async fn expected_bucket_owner_headers_are_checked() {
    let s = TestServer::start().await;
    let (alpha, _) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/owned", "", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/owned/k", "", b"v").await.status, 200);
    let get = |owner: &'static str| {
        let (s, alpha) = (&s, alpha.clone());
        async move {
            s.request_as(
                Some(&alpha),
                "us-east-1",
                "GET",
                "/owned/k",
                "",
                &[("x-amz-expected-bucket-owner", owner)],
                b"",
            )
            .await
        }
    };
    assert_eq!(get("alpha").await.status, 200);
    assert_eq!(get("beta").await.code().as_deref(), Some("AccessDenied"));
    let copy = |owner: &'static str| {
        let (s, alpha) = (&s, alpha.clone());
        async move {
            let h = [("x-amz-copy-source", "/owned/k"), ("x-amz-source-expected-bucket-owner", owner)];
            s.request_as(Some(&alpha), "us-east-1", "PUT", "/owned/copy", "", &h, b"").await
        }
    };
    assert_eq!(copy("alpha").await.status, 200);
    assert_eq!(copy("someone-else").await.code().as_deref(), Some("AccessDenied"));
}

#[tokio::test]
async fn recreating_an_owned_bucket_in_us_east_1_resets_its_acl() {
    let s = TestServer::start().await;
    let (alpha, _) = two_projects(&s).await;
    let create = |acl: &'static str| {
        let (s, alpha) = (&s, alpha.clone());
        async move { s.request_as(Some(&alpha), "us-east-1", "PUT", "/again", "", &[("x-amz-acl", acl)], b"").await }
    };
    let first = [("x-amz-acl", "public-read"), ("x-amz-object-ownership", "BucketOwnerPreferred")];
    assert_eq!(s.request_as(Some(&alpha), "us-east-1", "PUT", "/again", "", &first, b"").await.status, 200);
    // Made again: its ownership is not the re-creation's to change (refused, not ignored).
    let r = s.request_as(Some(&alpha), "us-east-1", "PUT", "/again", "", &first, b"").await;
    assert_eq!((r.status, r.code().as_deref()), (409, Some("BucketAlreadyOwnedByYou")));
    assert_eq!(create("public-read").await.status, 200);
    assert_eq!(s.as_key(None, "GET", "/again", "list-type=2", b"").await.status, 200);
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/again", "", b"").await.status, 200);
    assert_eq!(s.as_key(None, "GET", "/again", "list-type=2", b"").await.status, 403);
}

#[tokio::test]
async fn multi_object_delete_is_authorized_key_by_key() {
    let s = TestServer::start().await;
    let (alpha, beta) = two_projects(&s).await;
    assert_eq!(s.as_key(Some(&alpha), "PUT", "/multi", "", b"").await.status, 200);
    for k in ["tmp/a", "keep/b"] {
        assert_eq!(s.as_key(Some(&alpha), "PUT", &format!("/multi/{k}"), "", b"x").await.status, 200);
    }
    let tmp_only = json!({"document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::multi/tmp/*"}]}});
    let cleaner = s.new_user("alpha", "cleaner", tmp_only).await;
    let body = b"<Delete><Object><Key>tmp/a</Key></Object><Object><Key>keep/b</Key></Object></Delete>";
    let md5 = common::md5_b64(body);
    let r = s.request_as(Some(&cleaner), "us-east-1", "POST", "/multi", "delete", &[("content-md5", &md5)], body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.contains("<Deleted><Key>tmp/a</Key></Deleted>"), "{text}");
    assert!(text.contains("<Key>keep/b</Key><Code>AccessDenied</Code>"), "{text}");
    assert_eq!(s.as_key(Some(&alpha), "GET", "/multi/keep/b", "", b"").await.status, 200);
    // Another project deletes nothing.
    let r = s.request_as(Some(&beta), "us-east-1", "POST", "/multi", "delete", &[("content-md5", &md5)], body).await;
    assert!(!r.text().contains("<Deleted>"), "{}", r.text());
    assert_eq!(s.as_key(Some(&alpha), "GET", "/multi/keep/b", "", b"").await.status, 200);
}
