//! GetObjectAttributes over the wire: a single PUT and a multipart object,
//! each attribute only when asked for, parts paged by marker, each part's
//! checksum when the client asked for checksums (and on a GET of a part), the errors,
//! and `s3:GetObject` needed besides `s3:GetObjectAttributes`.

mod common;

use common::*;
use serde_json::json;

const ALL: &str = "ETag,Checksum,ObjectParts,StorageClass,ObjectSize";

fn between<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    text.split(&format!("<{tag}>")).nth(1)?.split(&format!("</{tag}>")).next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_of_single_and_multipart_objects() {
    use coffer_types::checksum::{checksum, to_base64, ChecksumAlgorithm};
    let s = TestServer::start().await;
    assert_eq!(s.signed("PUT", "/bkt", "", &[], b"").await.status, 200);
    let data = pattern(1000, 3);
    let sha = to_base64(&checksum(ChecksumAlgorithm::Sha256, &data));
    let r = s.signed("PUT", "/bkt/one", "", &[("x-amz-checksum-sha256", &sha)], &data).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let etag = r.header("etag").unwrap().trim_matches('"').to_owned();

    let r = s.signed("GET", "/bkt/one", "attributes", &[("x-amz-object-attributes", ALL)], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.text();
    assert_eq!(between(&t, "ETag"), Some(etag.as_str()), "unquoted, as S3 answers it: {t}");
    assert_eq!(between(&t, "ChecksumSHA256"), Some(sha.as_str()));
    assert_eq!(between(&t, "ChecksumType"), Some("FULL_OBJECT"));
    assert_eq!((between(&t, "StorageClass"), between(&t, "ObjectSize")), (Some("STANDARD"), Some("1000")));
    assert!(!t.contains("ObjectParts"), "a single PUT has no parts: {t}");
    assert!(r.header("last-modified").is_some());
    let r = s.signed("GET", "/bkt/one", "attributes", &[("x-amz-object-attributes", "ObjectSize")], b"").await;
    let t = r.text();
    assert!(t.contains("<ObjectSize>1000</ObjectSize>") && !t.contains("ETag") && !t.contains("Checksum"), "{t}");

    // Errors: no attributes named, an unknown one, a missing key, another version.
    let code = |r: &RawResponse| (r.status, r.code().unwrap_or_default());
    let bad = (400, "InvalidArgument".to_string());
    assert_eq!(code(&s.signed("GET", "/bkt/one", "attributes", &[], b"").await), bad);
    assert_eq!(
        code(&s.signed("GET", "/bkt/one", "attributes", &[("x-amz-object-attributes", "ETag,Owner")], b"").await),
        bad
    );
    let h = [("x-amz-object-attributes", "ETag")];
    assert_eq!(code(&s.signed("GET", "/bkt/none", "attributes", &h, b"").await), (404, "NoSuchKey".into()));
    assert_eq!(code(&s.signed("GET", "/bkt/one", "attributes&versionId=v1", &h, b"").await), bad);
    assert_eq!(s.signed("GET", "/bkt/one", "attributes&versionId=null", &h, b"").await.status, 200);

    // A multipart object of 6 parts: every part, then pages.
    let r = s.signed("POST", "/bkt/mp", "uploads", &[], b"").await;
    let id = between(&r.text(), "UploadId").unwrap().to_owned();
    let part = 5 * 1024 * 1024;
    let mut done = String::from("<CompleteMultipartUpload>");
    for n in 1..=6u32 {
        let size = if n == 6 { 1234 } else { part };
        let r =
            s.signed("PUT", "/bkt/mp", &format!("partNumber={n}&uploadId={id}"), &[], &pattern(size, n as u8)).await;
        assert_eq!(r.status, 200);
        let e = r.header("etag").unwrap().to_owned();
        done.push_str(&format!("<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"));
    }
    done.push_str("</CompleteMultipartUpload>");
    let r = s.signed("POST", "/bkt/mp", &format!("uploadId={id}"), &[], done.as_bytes()).await;
    let etag = between(&r.text(), "ETag").unwrap().replace("&quot;", "\"").trim_matches('"').to_owned();
    assert!(etag.ends_with("-6"), "{etag}");
    let t = s.signed("GET", "/bkt/mp", "attributes", &[("x-amz-object-attributes", ALL)], b"").await.text();
    assert_eq!(between(&t, "ETag"), Some(etag.as_str()));
    assert_eq!(between(&t, "PartsCount"), Some("6"));
    assert_eq!(between(&t, "IsTruncated"), Some("false"));
    assert_eq!(t.matches("<Part>").count(), 6);
    assert!(t.contains("<Part><PartNumber>6</PartNumber><Size>1234</Size></Part>"), "{t}");
    assert_eq!(between(&t, "ObjectSize"), Some((5 * part + 1234).to_string().as_str()));
    let page =
        [("x-amz-object-attributes", "ObjectParts"), ("x-amz-max-parts", "1"), ("x-amz-part-number-marker", "3")];
    let t = s.signed("GET", "/bkt/mp", "attributes", &page, b"").await.text();
    assert_eq!((between(&t, "IsTruncated"), between(&t, "NextPartNumberMarker")), (Some("true"), Some("4")), "{t}");
    assert_eq!((between(&t, "PartNumberMarker"), between(&t, "MaxParts")), (Some("3"), Some("1")));
    assert!(t.contains(&format!("<Part><PartNumber>4</PartNumber><Size>{part}</Size></Part>")), "{t}");
    let page =
        [("x-amz-object-attributes", "ObjectParts"), ("x-amz-max-parts", "10"), ("x-amz-part-number-marker", "4")];
    let t = s.signed("GET", "/bkt/mp", "attributes", &page, b"").await.text();
    assert_eq!((t.matches("<Part>").count(), between(&t, "IsTruncated")), (2, Some("false")), "{t}");
    assert!(!t.contains("NextPartNumberMarker"));
    let bad_marker = [("x-amz-object-attributes", "ObjectParts"), ("x-amz-part-number-marker", "x")];
    assert_eq!(code(&s.signed("GET", "/bkt/mp", "attributes", &bad_marker, b"").await), bad);

    // A client that asks for checksums at creation gets each part's back:
    // in the attributes, and on a GET of one part.
    let sha_of = |d: &[u8]| to_base64(&checksum(ChecksumAlgorithm::Sha256, d));
    let r = s.signed("POST", "/bkt/sums", "uploads", &[("x-amz-checksum-algorithm", "SHA256")], b"").await;
    let id = between(&r.text(), "UploadId").unwrap().to_owned();
    let (p1, p2) = (pattern(part, 7), pattern(999, 8));
    let mut done = String::from("<CompleteMultipartUpload>");
    for (n, d) in [(1, &p1), (2, &p2)] {
        let h = [("x-amz-checksum-sha256", sha_of(d))];
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = s.signed("PUT", "/bkt/sums", &format!("partNumber={n}&uploadId={id}"), &h, d).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let e = r.header("etag").unwrap().to_owned();
        let c = sha_of(d);
        done.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag><ChecksumSHA256>{c}</ChecksumSHA256></Part>"
        ));
    }
    done.push_str("</CompleteMultipartUpload>");
    let r = s.signed("POST", "/bkt/sums", &format!("uploadId={id}"), &[], done.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = s.signed("GET", "/bkt/sums", "attributes", &[("x-amz-object-attributes", ALL)], b"").await.text();
    assert_eq!(between(&t, "ChecksumType"), Some("COMPOSITE"), "{t}");
    let expect = |n: u32, d: &[u8]| {
        format!(
            "<Part><ChecksumSHA256>{}</ChecksumSHA256><PartNumber>{n}</PartNumber><Size>{}</Size></Part>",
            sha_of(d),
            d.len()
        )
    };
    assert!(t.contains(&expect(1, &p1)) && t.contains(&expect(2, &p2)), "{t}");
    let mode = [("x-amz-checksum-mode", "ENABLED")];
    let r = s.signed("GET", "/bkt/sums", "partNumber=2", &mode, b"").await;
    assert_eq!((r.status, r.header("x-amz-checksum-sha256")), (206, Some(sha_of(&p2).as_str())));
    assert_eq!(r.header("x-amz-mp-parts-count"), Some("2"));
    assert_eq!(s.signed("GET", "/bkt/sums", "partNumber=2", &[], b"").await.header("x-amz-checksum-sha256"), None);
    // Parts without a named algorithm (the multipart object above) list none,
    // and a copy is one part with the copy's own checksum.
    let t = s.signed("GET", "/bkt/mp", "attributes", &[("x-amz-object-attributes", "ObjectParts")], b"").await.text();
    assert!(!t.contains("<Checksum"), "{t}");
    let copy = [("x-amz-copy-source", "/bkt/sums")];
    assert_eq!(s.signed("PUT", "/bkt/sums-copy", "", &copy, b"").await.status, 200);
    let t = s.signed("GET", "/bkt/sums-copy", "attributes", &[("x-amz-object-attributes", ALL)], b"").await.text();
    assert!(!t.contains("ObjectParts") && between(&t, "ChecksumType") == Some("FULL_OBJECT"), "{t}");

    // Both actions are needed.
    s.admin("POST", "/projects", Some(json!({"name": "acme"}))).await;
    let root = s.new_key("acme", None, None).await;
    let req = |k: &common::admin::Key, path: &'static str, h: &'static [(&'static str, &'static str)]| {
        let k = k.clone();
        let s = &s;
        async move { s.request_as(Some(&k), REGION, "GET", path, "attributes", h, b"").await }
    };
    assert_eq!(s.request_as(Some(&root), REGION, "PUT", "/acme-b", "", &[], b"").await.status, 200);
    assert_eq!(s.request_as(Some(&root), REGION, "PUT", "/acme-b/k", "", &[], b"x").await.status, 200);
    let only_attrs = s
        .new_user(
            "acme",
            "a",
            json!({"document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObjectAttributes", "Resource": "*"}]}}),
        )
        .await;
    let both = s
        .new_user(
            "acme",
            "b",
            json!({"document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObjectAttributes", "s3:GetObject"], "Resource": "*"}]}}),
        )
        .await;
    const H: &[(&str, &str)] = &[("x-amz-object-attributes", "ObjectSize")];
    assert_eq!(req(&only_attrs, "/acme-b/k", H).await.status, 403);
    assert_eq!(req(&both, "/acme-b/k", H).await.status, 200);
}
