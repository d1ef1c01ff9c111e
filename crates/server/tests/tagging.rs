//! Object and bucket tagging over the wire: round trips, S3's limits and
//! errors, tags through overwrite, copy and multipart, and the permissions
//! and condition keys tags bring (`s3:PutObjectTagging` for tags given with
//! a write, `s3:RequestObjectTag/…`, `s3:ExistingObjectTag/…`).

mod common;

use common::admin::Key;
use common::*;
use serde_json::json;

fn doc(pairs: &[(&str, &str)]) -> Vec<u8> {
    let tags: String = pairs.iter().map(|(k, v)| format!("<Tag><Key>{k}</Key><Value>{v}</Value></Tag>")).collect();
    format!("<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>{tags}</TagSet></Tagging>").into_bytes()
}

fn code(r: &RawResponse) -> (u16, String) {
    (r.status, r.code().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_tags_round_trip_with_limits() {
    let s = TestServer::start().await;
    assert_eq!(s.signed("PUT", "/bkt", "", &[], b"").await.status, 200);
    let r = s.signed("PUT", "/bkt/k", "", &[("x-amz-tagging", "a=1&b=two%20words")], b"data").await;
    assert_eq!(r.status, 200);
    let got = s.signed("GET", "/bkt/k", "tagging", &[], b"").await;
    assert_eq!(got.status, 200);
    assert!(
        got.text().contains("<Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>two words</Value></Tag>"),
        "{}",
        got.text()
    );
    assert_eq!(s.signed("HEAD", "/bkt/k", "", &[], b"").await.header("x-amz-tagging-count"), Some("2"));
    assert_eq!(s.signed("GET", "/bkt/k", "", &[], b"").await.header("x-amz-tagging-count"), Some("2"));
    assert_eq!(s.signed("GET", "/bkt/k", "tagging&versionId=null", &[], b"").await.status, 200);
    assert_eq!(
        code(&s.signed("GET", "/bkt/k", "tagging&versionId=abc", &[], b"").await),
        (400, "InvalidArgument".into())
    );

    // Replaced whole, then removed; the data and other headers stay.
    assert_eq!(s.signed("PUT", "/bkt/k", "tagging", &[], &doc(&[("c", "3")])).await.status, 200);
    let got = s.signed("GET", "/bkt/k", "tagging", &[], b"").await.text();
    assert!(got.contains("<Key>c</Key>") && !got.contains("<Key>a</Key>"), "{got}");
    assert_eq!(s.signed("GET", "/bkt/k", "", &[], b"").await.body, b"data");
    assert_eq!(s.signed("DELETE", "/bkt/k", "tagging", &[], b"").await.status, 204);
    let t = s.signed("GET", "/bkt/k", "tagging", &[], b"").await.text();
    assert!((t.contains("<TagSet/>") || t.contains("<TagSet></TagSet>")) && !t.contains("<Tag>"), "{t}");
    assert_eq!(s.signed("HEAD", "/bkt/k", "", &[], b"").await.header("x-amz-tagging-count"), None);

    // S3's limits, each with InvalidTag, nothing changed.
    assert_eq!(s.signed("PUT", "/bkt/k", "tagging", &[], &doc(&[("keep", "me")])).await.status, 200);
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".to_string())).collect();
    let eleven: Vec<(&str, &str)> = eleven.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    for bad in [
        doc(&eleven),
        doc(&[(&long_key, "v")]),
        doc(&[("k", &long_value)]),
        doc(&[("same", "1"), ("same", "2")]),
        doc(&[("aws:reserved", "1")]),
    ] {
        let r = s.signed("PUT", "/bkt/k", "tagging", &[], &bad).await;
        assert_eq!(code(&r), (400, "InvalidTag".into()), "{}", String::from_utf8_lossy(&bad));
    }
    let ten: Vec<(&str, &str)> = eleven[..10].to_vec();
    assert_eq!(s.signed("PUT", "/bkt/k2", "", &[], b"x").await.status, 200);
    assert_eq!(s.signed("PUT", "/bkt/k2", "tagging", &[], &doc(&ten)).await.status, 200);
    let header: String = (0..11).map(|i| format!("t{i}=v")).collect::<Vec<_>>().join("&");
    let r = s.signed("PUT", "/bkt/k3", "", &[("x-amz-tagging", &header)], b"x").await;
    assert_eq!(code(&r), (400, "InvalidTag".into()));
    assert_eq!(s.signed("HEAD", "/bkt/k3", "", &[], b"").await.status, 404, "a refused PUT stores nothing");
    assert_eq!(
        code(&s.signed("PUT", "/bkt/k", "tagging", &[], b"<Tagging><TagSet>").await),
        (400, "MalformedXML".into())
    );
    let md5 = [("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")];
    assert_eq!(code(&s.signed("PUT", "/bkt/k", "tagging", &md5, &doc(&[("x", "y")])).await), (400, "BadDigest".into()));
    assert!(s.signed("GET", "/bkt/k", "tagging", &[], b"").await.text().contains("<Key>keep</Key>"));
    assert_eq!(code(&s.signed("GET", "/bkt/missing", "tagging", &[], b"").await), (404, "NoSuchKey".into()));
    assert_eq!(code(&s.signed("PUT", "/bkt/missing", "tagging", &[], &doc(&[])).await), (404, "NoSuchKey".into()));

    // An overwrite brings its own tags; a copy keeps the source's unless told to replace them.
    assert_eq!(s.signed("PUT", "/bkt/k", "", &[], b"v2").await.status, 200);
    assert_eq!(s.signed("HEAD", "/bkt/k", "", &[], b"").await.header("x-amz-tagging-count"), None);
    let copy = |extra: &'static [(&'static str, &'static str)]| {
        let mut h = vec![("x-amz-copy-source", "/bkt/k2")];
        h.extend_from_slice(extra);
        h
    };
    assert_eq!(s.signed("PUT", "/bkt/c1", "", &copy(&[]), b"").await.status, 200);
    assert_eq!(s.signed("HEAD", "/bkt/c1", "", &[], b"").await.header("x-amz-tagging-count"), Some("10"));
    let r = s
        .signed("PUT", "/bkt/c2", "", &copy(&[("x-amz-tagging-directive", "REPLACE"), ("x-amz-tagging", "n=1")]), b"")
        .await;
    assert_eq!(r.status, 200);
    assert!(s.signed("GET", "/bkt/c2", "tagging", &[], b"").await.text().contains("<Key>n</Key><Value>1</Value>"));
    let r = s.signed("PUT", "/bkt/c3", "", &copy(&[("x-amz-tagging-directive", "REPLACE")]), b"").await;
    assert_eq!((r.status, s.signed("HEAD", "/bkt/c3", "", &[], b"").await.header("x-amz-tagging-count")), (200, None));
    let r = s.signed("PUT", "/bkt/c4", "", &copy(&[("x-amz-tagging-directive", "MERGE")]), b"").await;
    assert_eq!(code(&r), (400, "InvalidArgument".into()));

    // Multipart: the tags given at creation are the object's.
    let r = s.signed("POST", "/bkt/mp", "uploads", &[("x-amz-tagging", "part=of%2Fit")], b"").await;
    let text = r.text();
    let id = text.split("<UploadId>").nth(1).unwrap().split("</UploadId>").next().unwrap().to_owned();
    let part = s.signed("PUT", "/bkt/mp", &format!("partNumber=1&uploadId={id}"), &[], b"only part").await;
    let etag = part.header("etag").unwrap().to_owned();
    let done = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    assert_eq!(s.signed("POST", "/bkt/mp", &format!("uploadId={id}"), &[], done.as_bytes()).await.status, 200);
    assert!(s
        .signed("GET", "/bkt/mp", "tagging", &[], b"")
        .await
        .text()
        .contains("<Key>part</Key><Value>of/it</Value>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_tags_round_trip_with_limits() {
    let s = TestServer::start().await;
    assert_eq!(s.signed("PUT", "/bkt", "", &[], b"").await.status, 200);
    assert_eq!(code(&s.signed("GET", "/bkt", "tagging", &[], b"").await), (404, "NoSuchTagSet".into()));
    let fifty: Vec<(String, String)> = (0..50).map(|i| (format!("k{i}"), format!("v{i}"))).collect();
    let fifty: Vec<(&str, &str)> = fifty.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(s.signed("PUT", "/bkt", "tagging", &[], &doc(&fifty)).await.status, 204);
    let got = s.signed("GET", "/bkt", "tagging", &[], b"").await.text();
    assert!(got.contains("<Key>k49</Key><Value>v49</Value>") && got.matches("<Tag>").count() == 50, "{got}");
    let mut fifty_one = fifty.clone();
    fifty_one.push(("one", "more"));
    assert_eq!(code(&s.signed("PUT", "/bkt", "tagging", &[], &doc(&fifty_one)).await), (400, "InvalidTag".into()));
    assert_eq!(s.signed("GET", "/bkt", "tagging", &[], b"").await.text().matches("<Tag>").count(), 50);
    assert_eq!(s.signed("DELETE", "/bkt", "tagging", &[], b"").await.status, 204);
    assert_eq!(code(&s.signed("GET", "/bkt", "tagging", &[], b"").await), (404, "NoSuchTagSet".into()));
    assert_eq!(
        code(&s.signed("PUT", "/nobkt", "tagging", &[], &doc(&[("a", "b")])).await),
        (404, "NoSuchBucket".into())
    );
}

async fn project(s: &TestServer, name: &str) -> Key {
    s.admin("POST", "/projects", Some(json!({ "name": name }))).await;
    s.new_key(name, None, None).await
}

fn policy(statements: serde_json::Value) -> serde_json::Value {
    json!({"document": {"Version": "2012-10-17", "Statement": statements}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_need_their_permission_and_feed_conditions() {
    let s = TestServer::start().await;
    let root = project(&s, "acme").await;
    let put = |key: &Key, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]| {
        let (key, path, query, body) = (key.clone(), path.to_owned(), query.to_owned(), body.to_vec());
        let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let s = &s;
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            s.request_as(Some(&key), REGION, "PUT", &path, &query, &h, &body).await
        }
    };
    assert_eq!(put(&root, "/tbk", "", &[], b"").await.status, 200);
    for (k, class) in [("pub", "public"), ("sec", "secret")] {
        let tag = format!("class={class}");
        assert_eq!(put(&root, &format!("/tbk/{k}"), "", &[("x-amz-tagging", &tag)], b"x").await.status, 200);
    }

    // Allowed to write objects, not to tag them: tags given with a write are refused.
    let writer = s
        .new_user(
            "acme",
            "writer",
            policy(json!([
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"}
            ])),
        )
        .await;
    assert_eq!(put(&writer, "/tbk/w1", "", &[], b"x").await.status, 200);
    assert_eq!(
        code(&put(&writer, "/tbk/w2", "", &[("x-amz-tagging", "a=b")], b"x").await),
        (403, "AccessDenied".into())
    );
    assert_eq!(s.signed("HEAD", "/tbk/w2", "", &[], b"").await.status, 404);
    assert_eq!(code(&put(&writer, "/tbk/w1", "tagging", &[], &doc(&[("a", "b")])).await), (403, "AccessDenied".into()));
    let copy = [("x-amz-copy-source", "/tbk/pub"), ("x-amz-tagging-directive", "REPLACE"), ("x-amz-tagging", "a=b")];
    assert_eq!(code(&put(&writer, "/tbk/w3", "", &copy, b"").await), (403, "AccessDenied".into()));
    // A copy that keeps the source's tags asks for none.
    assert_eq!(put(&writer, "/tbk/w3", "", &[("x-amz-copy-source", "/tbk/pub")], b"").await.status, 200);

    // s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys: on write headers and on PutObjectTagging's body.
    let tagger = s
        .new_user(
            "acme",
            "tagger",
            policy(json!([
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectTagging"], "Resource": "*",
                 "Condition": {"StringEquals": {"s3:RequestObjectTag/class": "public"},
                               "ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["class"]}}}
            ])),
        )
        .await;
    assert_eq!(put(&tagger, "/tbk/t1", "", &[("x-amz-tagging", "class=public")], b"x").await.status, 200);
    assert_eq!(put(&tagger, "/tbk/t2", "", &[("x-amz-tagging", "class=secret")], b"x").await.status, 403);
    let r = put(&tagger, "/tbk/t3", "", &[("x-amz-tagging", "class=public&extra=1")], b"x").await;
    assert_eq!(r.status, 403, "a key outside the allowed keys");
    assert_eq!(put(&tagger, "/tbk/t1", "tagging", &[], &doc(&[("class", "public")])).await.status, 200);
    assert_eq!(put(&tagger, "/tbk/t1", "tagging", &[], &doc(&[("class", "secret")])).await.status, 403);
    assert!(s.signed("GET", "/tbk/t1", "tagging", &[], b"").await.text().contains("<Value>public</Value>"));

    // s3:ExistingObjectTag/<key>: reads allowed by the object's own tags.
    let reader = s
        .new_user(
            "acme",
            "reader",
            policy(json!([
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectTagging"], "Resource": "*",
                 "Condition": {"StringEquals": {"s3:ExistingObjectTag/class": "public"}}}
            ])),
        )
        .await;
    let get =
        |path: &'static str, query: &'static str| s.request_as(Some(&reader), REGION, "GET", path, query, &[], b"");
    assert_eq!(get("/tbk/pub", "").await.status, 200);
    assert_eq!(get("/tbk/pub", "tagging").await.status, 200);
    assert_eq!(code(&get("/tbk/sec", "").await), (403, "AccessDenied".into()));
    assert_eq!(code(&get("/tbk/sec", "tagging").await), (403, "AccessDenied".into()));
    assert_eq!(code(&get("/tbk/w1", "").await), (403, "AccessDenied".into()), "untagged");
}
