//! Versioning over the wire: the bucket's state, version ids on every write,
//! reads and deletes of named versions, delete markers as S3 answers them,
//! ListObjectVersions paging, copies from versions (a restore), DeleteObjects
//! with versions, and the version actions a policy must allow.

mod common;

use common::*;
use serde_json::json;

const ENABLED: &[u8] = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
const SUSPENDED: &[u8] = b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";

fn code(r: &RawResponse) -> (u16, String) {
    (r.status, r.code().unwrap_or_default())
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> Vec<&'a str> {
    s.split(a).skip(1).filter_map(|x| x.split(b).next()).collect()
}

async fn versioned(s: &TestServer, bucket: &str) {
    assert_eq!(s.signed("PUT", &format!("/{bucket}"), "", &[], b"").await.status, 200);
    let r = s.signed("PUT", &format!("/{bucket}"), "versioning", &[], ENABLED).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn put(s: &TestServer, path: &str, body: &[u8]) -> String {
    let r = s.signed("PUT", path, "", &[], body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("x-amz-version-id").expect("a version id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioning_configuration_round_trip() {
    let s = TestServer::start().await;
    assert_eq!(s.signed("PUT", "/bkt", "", &[], b"").await.status, 200);
    let get = s.signed("GET", "/bkt", "versioning", &[], b"").await;
    assert!(get.status == 200 && !get.text().contains("<Status>"), "{}", get.text());
    // Unversioned: writes carry no version id.
    assert_eq!(s.signed("PUT", "/bkt/k", "", &[], b"x").await.header("x-amz-version-id"), None);
    let bad = b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>";
    let r = s.signed("PUT", "/bkt", "versioning", &[], bad).await;
    assert_eq!(code(&r), (400, "IllegalVersioningConfigurationException".into()));
    let mfa =
        b"<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>";
    assert_eq!(code(&s.signed("PUT", "/bkt", "versioning", &[], mfa).await), (501, "NotImplemented".into()));
    assert!(!s.signed("GET", "/bkt", "versioning", &[], b"").await.text().contains("<Status>"), "nothing changed");
    assert_eq!(s.signed("PUT", "/bkt", "versioning", &[], ENABLED).await.status, 200);
    assert!(s.signed("GET", "/bkt", "versioning", &[], b"").await.text().contains("<Status>Enabled</Status>"));
    assert_eq!(s.signed("PUT", "/bkt", "versioning", &[], SUSPENDED).await.status, 200);
    assert!(s.signed("GET", "/bkt", "versioning", &[], b"").await.text().contains("<Status>Suspended</Status>"));
    // Suspended: writes are the null version, answered without an id (as S3 does).
    assert_eq!(s.signed("PUT", "/bkt/k", "", &[], b"y").await.header("x-amz-version-id"), None);
    assert_eq!(s.signed("GET", "/bkt/k", "", &[], b"").await.header("x-amz-version-id"), Some("null"));
    assert_eq!(code(&s.signed("GET", "/nope", "versioning", &[], b"").await), (404, "NoSuchBucket".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_delete_markers() {
    let s = TestServer::start().await;
    versioned(&s, "bkt").await;
    let one = put(&s, "/bkt/k", b"one").await;
    let two = put(&s, "/bkt/k", b"two").await;
    assert_ne!(one, two);
    let r = s.signed("GET", "/bkt/k", "", &[], b"").await;
    assert_eq!((r.text().as_str(), r.header("x-amz-version-id")), ("two", Some(two.as_str())));
    let r = s.signed("GET", "/bkt/k", &format!("versionId={one}"), &[], b"").await;
    assert_eq!((r.text().as_str(), r.header("x-amz-version-id")), ("one", Some(one.as_str())));
    let r = s.signed("HEAD", "/bkt/k", &format!("versionId={one}"), &[], b"").await;
    assert_eq!((r.status, r.header("content-length")), (200, Some("3")));
    let missing = "0000000000000000000000000000abcd";
    assert_eq!(
        code(&s.signed("GET", "/bkt/k", &format!("versionId={missing}"), &[], b"").await),
        (404, "NoSuchVersion".into())
    );
    assert_eq!(code(&s.signed("GET", "/bkt/k", "versionId=nonsense", &[], b"").await), (400, "InvalidArgument".into()));

    // A delete without a version id: a marker on top.
    let d = s.signed("DELETE", "/bkt/k", "", &[], b"").await;
    assert_eq!((d.status, d.header("x-amz-delete-marker")), (204, Some("true")));
    let marker = d.header("x-amz-version-id").unwrap().to_owned();
    let r = s.signed("GET", "/bkt/k", "", &[], b"").await;
    assert_eq!(code(&r), (404, "NoSuchKey".into()));
    assert_eq!((r.header("x-amz-delete-marker"), r.header("x-amz-version-id")), (Some("true"), Some(marker.as_str())));
    let r = s.signed("GET", "/bkt/k", &format!("versionId={marker}"), &[], b"").await;
    assert_eq!(code(&r), (405, "MethodNotAllowed".into()));
    assert_eq!(r.header("x-amz-delete-marker"), Some("true"));
    assert!(r.header("last-modified").is_some());
    let h = s.signed("HEAD", "/bkt/k", "", &[], b"").await;
    assert_eq!((h.status, h.header("x-amz-delete-marker")), (404, Some("true")));
    let list = s.signed("GET", "/bkt", "list-type=2", &[], b"").await.text();
    assert!(!list.contains("<Key>k</Key>"), "a key under a marker is not listed: {list}");

    // Removing the marker brings `two` back; removing `two` brings `one`.
    let d = s.signed("DELETE", "/bkt/k", &format!("versionId={marker}"), &[], b"").await;
    assert_eq!(
        (d.status, d.header("x-amz-delete-marker"), d.header("x-amz-version-id")),
        (204, Some("true"), Some(marker.as_str()))
    );
    assert_eq!(s.signed("GET", "/bkt/k", "", &[], b"").await.text(), "two");
    assert_eq!(s.signed("DELETE", "/bkt/k", &format!("versionId={two}"), &[], b"").await.status, 204);
    assert_eq!(s.signed("GET", "/bkt/k", "", &[], b"").await.text(), "one");
    assert_eq!(
        code(&s.signed("GET", "/bkt/k", &format!("versionId={two}"), &[], b"").await),
        (404, "NoSuchVersion".into())
    );
    // A bucket with versions left is not empty; with none it can go.
    assert_eq!(code(&s.signed("DELETE", "/bkt", "", &[], b"").await), (409, "BucketNotEmpty".into()));
    assert_eq!(s.signed("DELETE", "/bkt/k", &format!("versionId={one}"), &[], b"").await.status, 204);
    assert_eq!(s.signed("DELETE", "/bkt", "", &[], b"").await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_listing_pages_and_restores() {
    let s = TestServer::start().await;
    versioned(&s, "bkt").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(put(&s, "/bkt/a", format!("a{i}").as_bytes()).await);
    }
    put(&s, "/bkt/d/x", b"x").await;
    let marker = s.signed("DELETE", "/bkt/d/x", "", &[], b"").await.header("x-amz-version-id").unwrap().to_owned();
    let all = s.signed("GET", "/bkt", "versions", &[], b"").await.text();
    assert_eq!(
        between(&all, "<VersionId>", "</VersionId>"),
        [&ids[2], &ids[1], &ids[0], &marker, between(&all, "<VersionId>", "</VersionId>")[4]]
    );
    assert!(
        all.find("<DeleteMarker>").unwrap() < all.rfind("<Version>").unwrap(),
        "markers and versions interleave in order: {all}"
    );
    assert_eq!(between(&all, "<IsLatest>", "</IsLatest>"), ["true", "false", "false", "true", "false"]);
    let folders = s.signed("GET", "/bkt", "versions&delimiter=/", &[], b"").await.text();
    assert!(
        folders.contains("<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>") && !folders.contains("<DeleteMarker>"),
        "{folders}"
    );

    // Two at a time with the markers S3 gives.
    let mut seen = Vec::new();
    let mut q = "versions&max-keys=2".to_owned();
    loop {
        let page = s.signed("GET", "/bkt", &q, &[], b"").await.text();
        seen.extend(between(&page, "<VersionId>", "</VersionId>").into_iter().map(str::to_owned));
        if !page.contains("<IsTruncated>true</IsTruncated>") {
            break;
        }
        let k = between(&page, "<NextKeyMarker>", "</NextKeyMarker>")[0].to_owned();
        let v = between(&page, "<NextVersionIdMarker>", "</NextVersionIdMarker>")[0].to_owned();
        q = format!("versions&max-keys=2&key-marker={}&version-id-marker={v}", k.replace('/', "%2F"));
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    let r = s.signed("GET", "/bkt", &format!("versions&version-id-marker={}", ids[0]), &[], b"").await;
    assert_eq!(code(&r), (400, "InvalidArgument".into()));

    // Restore the oldest: a copy of it on top, which names its source version.
    let src = format!("/bkt/a?versionId={}", ids[0]);
    let r = s.signed("PUT", "/bkt/a", "", &[("x-amz-copy-source", &src)], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-amz-copy-source-version-id"), Some(ids[0].as_str()));
    let restored = r.header("x-amz-version-id").unwrap().to_owned();
    let g = s.signed("GET", "/bkt/a", "", &[], b"").await;
    assert_eq!((g.text().as_str(), g.header("x-amz-version-id")), ("a0", Some(restored.as_str())));
    // A delete marker is no copy source.
    let src = format!("/bkt/d/x?versionId={marker}");
    assert_eq!(
        code(&s.signed("PUT", "/bkt/c", "", &[("x-amz-copy-source", &src)], b"").await),
        (400, "InvalidRequest".into())
    );
    assert_eq!(
        code(&s.signed("PUT", "/bkt/c", "", &[("x-amz-copy-source", "/bkt/d/x")], b"").await),
        (404, "NoSuchKey".into())
    );

    // Tags of an old version.
    let tagging = b"<Tagging><TagSet><Tag><Key>old</Key><Value>1</Value></Tag></TagSet></Tagging>";
    let q = format!("tagging&versionId={}", ids[1]);
    let r = s.signed("PUT", "/bkt/a", &q, &[], tagging).await;
    assert_eq!((r.status, r.header("x-amz-version-id")), (200, Some(ids[1].as_str())));
    assert!(s.signed("GET", "/bkt/a", &q, &[], b"").await.text().contains("<Key>old</Key>"));
    assert!(!s.signed("GET", "/bkt/a", "tagging", &[], b"").await.text().contains("<Key>old</Key>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_delete_and_multipart_with_versions() {
    let s = TestServer::start().await;
    versioned(&s, "bkt").await;
    let one = put(&s, "/bkt/k", b"one").await;
    put(&s, "/bkt/j", b"j").await;
    let doc = format!(
        "<Delete><Object><Key>k</Key><VersionId>{one}</VersionId></Object><Object><Key>j</Key></Object>\
         <Object><Key>k</Key><VersionId>bad</VersionId></Object></Delete>"
    );
    let md5 = md5_b64(doc.as_bytes());
    let r = s.signed("POST", "/bkt", "delete", &[("content-md5", &md5)], doc.as_bytes()).await;
    let t = r.text();
    assert!(t.contains(&format!("<Deleted><Key>k</Key><VersionId>{one}</VersionId></Deleted>")), "{t}");
    assert!(t.contains("<Deleted><Key>j</Key><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>"), "{t}");
    assert!(t.contains("<Error><Key>k</Key><VersionId>bad</VersionId><Code>InvalidArgument</Code>"), "{t}");
    assert_eq!(s.signed("GET", "/bkt/k", "", &[], b"").await.status, 404);

    // A completed upload is a new version.
    let r = s.signed("POST", "/bkt/mp", "uploads", &[], b"").await;
    let id = between(&r.text(), "<UploadId>", "</UploadId>")[0].to_owned();
    let part = s.signed("PUT", "/bkt/mp", &format!("partNumber=1&uploadId={id}"), &[], b"part").await;
    let etag = part.header("etag").unwrap().to_owned();
    let done = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let r = s.signed("POST", "/bkt/mp", &format!("uploadId={id}"), &[], done.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.header("x-amz-version-id").unwrap().to_owned();
    assert_eq!(s.signed("GET", "/bkt/mp", &format!("versionId={v}"), &[], b"").await.text(), "part");
}

/// Naming a version needs the version's action; a user allowed
/// `s3:DeleteObject` only can hide a key behind a marker but destroy no
/// version, which is what makes versioning a protection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_actions_are_required() {
    let s = TestServer::start().await;
    s.admin("POST", "/projects", Some(json!({ "name": "acme" }))).await;
    let root = s.new_key("acme", None, None).await;
    assert_eq!(s.request_as(Some(&root), REGION, "PUT", "/vbk", "", &[], b"").await.status, 200);
    assert_eq!(s.request_as(Some(&root), REGION, "PUT", "/vbk", "versioning", &[], ENABLED).await.status, 200);
    let first = s.request_as(Some(&root), REGION, "PUT", "/vbk/k", "", &[], b"v1").await;
    let first = first.header("x-amz-version-id").unwrap().to_owned();
    let doc = json!({"document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"], "Resource": "*"}
    ]}});
    let user = s.new_user("acme", "plain", doc).await;
    let as_user = |m: &'static str, q: String| {
        let (s, user) = (&s, user.clone());
        async move { s.request_as(Some(&user), REGION, m, "/vbk/k", &q, &[], b"").await }
    };
    assert_eq!(as_user("GET", String::new()).await.status, 200);
    assert_eq!(code(&as_user("GET", format!("versionId={first}")).await), (403, "AccessDenied".into()));
    assert_eq!(code(&as_user("DELETE", format!("versionId={first}")).await), (403, "AccessDenied".into()));
    let d = as_user("DELETE", String::new()).await;
    assert_eq!((d.status, d.header("x-amz-delete-marker")), (204, Some("true")));
    let r = s.request_as(Some(&root), REGION, "GET", "/vbk/k", &format!("versionId={first}"), &[], b"").await;
    assert_eq!(r.text(), "v1", "the version survived");
    let src = format!("/vbk/k?versionId={first}");
    let r = s.request_as(Some(&user), REGION, "PUT", "/vbk/c", "", &[("x-amz-copy-source", &src)], b"").await;
    assert_eq!(code(&r), (403, "AccessDenied".into()), "a version as copy source needs s3:GetObjectVersion");
}
