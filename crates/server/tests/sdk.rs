//! The real `aws-sdk-s3` client against an in-process Coffer: every
//! operation of the foundation, as an application would call it.
//! Raw-protocol edge cases live in `protocol.rs`; durability in `durability.rs`.

mod common;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, MetadataDirective, ObjectIdentifier};
use common::*;

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    e.code().unwrap_or("<none>").to_owned()
}

fn status<E, R: HttpStatus>(e: &SdkError<E, R>) -> u16 {
    e.raw_response().map(|r| r.status_u16()).unwrap_or(0)
}

trait HttpStatus {
    fn status_u16(&self) -> u16;
}
impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_u16(&self) -> u16 {
        self.status().as_u16()
    }
}

async fn get_bytes(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Vec<u8> {
    let o = c.get_object().bucket(b).key(k).send().await.unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_lifecycle() {
    let s = TestServer::start().await;
    let c = s.client();
    c.create_bucket().bucket("alpha").send().await.unwrap();
    c.create_bucket().bucket("beta.bucket").send().await.unwrap();
    // us-east-1: re-creating your own bucket succeeds and leaves it as it was.
    c.put_object().bucket("alpha").key("keep").body(ByteStream::from_static(b"1")).send().await.unwrap();
    c.create_bucket().bucket("alpha").send().await.unwrap();
    assert_eq!(get_bytes(&c, "alpha", "keep").await, b"1");
    c.delete_object().bucket("alpha").key("keep").send().await.unwrap();
    c.head_bucket().bucket("alpha").send().await.unwrap();
    let names: Vec<String> =
        c.list_buckets().send().await.unwrap().buckets().iter().filter_map(|b| b.name().map(String::from)).collect();
    assert_eq!(names, ["alpha", "beta.bucket"]);
    // Paginated ListBuckets.
    let page = c.list_buckets().max_buckets(1).send().await.unwrap();
    assert_eq!(page.buckets().len(), 1);
    let token = page.continuation_token().expect("more buckets remain").to_owned();
    let rest = c.list_buckets().max_buckets(1).continuation_token(token).send().await.unwrap();
    assert_eq!(rest.buckets()[0].name(), Some("beta.bucket"));
    assert!(rest.continuation_token().is_none());
    let loc = c.get_bucket_location().bucket("alpha").send().await.unwrap();
    assert!(loc.location_constraint().is_none() || loc.location_constraint().map(|l| l.as_str()) == Some(""));
    c.put_object().bucket("alpha").key("x").body(ByteStream::from_static(b"1")).send().await.unwrap();
    assert_eq!(code(&c.delete_bucket().bucket("alpha").send().await.unwrap_err()), "BucketNotEmpty");
    c.delete_object().bucket("alpha").key("x").send().await.unwrap();
    c.delete_bucket().bucket("alpha").send().await.unwrap();
    assert_eq!(status(&c.head_bucket().bucket("alpha").send().await.unwrap_err()), 404);
    assert_eq!(code(&c.delete_bucket().bucket("alpha").send().await.unwrap_err()), "NoSuchBucket");
    // A location constraint naming another region is refused.
    let wrong = c
        .create_bucket()
        .bucket("gamma")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&wrong), "InvalidLocationConstraint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_roundtrip_with_headers_and_metadata() {
    let s = TestServer::start().await;
    let c = s.client();
    c.create_bucket().bucket("objs").send().await.unwrap();
    for (key, size) in [("small.txt", 100usize), ("dir/big file+€.bin", 3 << 20), ("empty", 0)] {
        let data = pattern(size, 7);
        let put = c
            .put_object()
            .bucket("objs")
            .key(key)
            .body(ByteStream::from(data.clone()))
            .content_type("text/x-test")
            .cache_control("max-age=60")
            .content_disposition("attachment; filename=\"a.txt\"")
            .content_language("en")
            .content_encoding("identity")
            .metadata("Colour", "blue")
            .metadata("n", "1")
            .send()
            .await
            .unwrap();
        let md5 = {
            use md5::Digest;
            hex_lower(&md5::Md5::digest(&data))
        };
        assert_eq!(put.e_tag(), Some(format!("\"{md5}\"").as_str()));
        let got = c.get_object().bucket("objs").key(key).send().await.unwrap();
        assert_eq!(got.content_type(), Some("text/x-test"));
        assert_eq!(got.cache_control(), Some("max-age=60"));
        assert_eq!(got.content_disposition(), Some("attachment; filename=\"a.txt\""));
        assert_eq!(got.content_language(), Some("en"));
        assert_eq!(got.content_length(), Some(size as i64));
        let meta = got.metadata().unwrap();
        assert_eq!(meta.get("colour").map(String::as_str), Some("blue"), "user metadata keys come back lower-cased");
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), &data[..]);
        let head = c.head_object().bucket("objs").key(key).send().await.unwrap();
        assert_eq!(head.content_length(), Some(size as i64));
        assert_eq!(head.e_tag(), Some(format!("\"{md5}\"").as_str()));
    }
    // response-* overrides.
    let o = c
        .get_object()
        .bucket("objs")
        .key("small.txt")
        .response_content_type("application/json")
        .response_cache_control("no-store")
        .send()
        .await
        .unwrap();
    assert_eq!(o.content_type(), Some("application/json"));
    assert_eq!(o.cache_control(), Some("no-store"));
    let missing = c.get_object().bucket("objs").key("nope").send().await.unwrap_err();
    assert_eq!(code(&missing), "NoSuchKey");
    let nobucket = c.get_object().bucket("nobucket").key("k").send().await.unwrap_err();
    assert_eq!(code(&nobucket), "NoSuchBucket");
    // Deleting a missing key succeeds.
    c.delete_object().bucket("objs").key("never-existed").send().await.unwrap();
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_and_conditions() {
    let s = TestServer::start().await;
    let c = s.client();
    c.create_bucket().bucket("rng").send().await.unwrap();
    let data = pattern(200_000, 3);
    let put = c.put_object().bucket("rng").key("k").body(ByteStream::from(data.clone())).send().await.unwrap();
    let etag = put.e_tag().unwrap().to_owned();
    for (range, want) in [
        ("bytes=0-9", &data[0..10]),
        ("bytes=-5", &data[199_995..]),
        ("bytes=199990-", &data[199_990..]),
        ("bytes=5-999999", &data[5..]),
    ] {
        let o = c.get_object().bucket("rng").key("k").range(range).send().await.unwrap();
        assert!(o.content_range().unwrap().starts_with("bytes "), "{range}");
        assert_eq!(o.body.collect().await.unwrap().into_bytes().as_ref(), want, "{range}");
    }
    let bad = c.get_object().bucket("rng").key("k").range("bytes=200000-").send().await.unwrap_err();
    assert_eq!((status(&bad), code(&bad)), (416, "InvalidRange".into()));
    // Conditions.
    c.get_object().bucket("rng").key("k").if_match(&etag).send().await.unwrap();
    let e = c.get_object().bucket("rng").key("k").if_match("\"nope\"").send().await.unwrap_err();
    assert_eq!(status(&e), 412);
    let e = c.get_object().bucket("rng").key("k").if_none_match(&etag).send().await.unwrap_err();
    assert_eq!(status(&e), 304);
    let future = aws_sdk_s3::primitives::DateTime::from_secs(time::OffsetDateTime::now_utc().unix_timestamp() + 3600);
    let past = aws_sdk_s3::primitives::DateTime::from_secs(time::OffsetDateTime::now_utc().unix_timestamp() - 3600);
    let e = c.get_object().bucket("rng").key("k").if_modified_since(future).send().await.unwrap_err();
    assert_eq!(status(&e), 304);
    c.get_object().bucket("rng").key("k").if_modified_since(past).send().await.unwrap();
    let e = c.get_object().bucket("rng").key("k").if_unmodified_since(past).send().await.unwrap_err();
    assert_eq!(status(&e), 412);
    let e = c.head_object().bucket("rng").key("k").if_none_match(&etag).send().await.unwrap_err();
    assert_eq!(status(&e), 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_object() {
    let s = TestServer::start().await;
    let c = s.client();
    c.create_bucket().bucket("src-b").send().await.unwrap();
    c.create_bucket().bucket("dst-b").send().await.unwrap();
    let data = pattern(300_000, 1);
    c.put_object()
        .bucket("src-b")
        .key("a b+c")
        .content_type("x/original")
        .metadata("m", "1")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    c.copy_object().bucket("dst-b").key("copy").copy_source("src-b/a%20b%2Bc").send().await.unwrap();
    assert_eq!(get_bytes(&c, "dst-b", "copy").await, data);
    let h = c.head_object().bucket("dst-b").key("copy").send().await.unwrap();
    assert_eq!(h.content_type(), Some("x/original"));
    assert_eq!(h.metadata().unwrap().get("m").map(String::as_str), Some("1"));
    c.copy_object()
        .bucket("dst-b")
        .key("replaced")
        .copy_source("src-b/a%20b%2Bc")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("x/new")
        .metadata("other", "2")
        .send()
        .await
        .unwrap();
    let h = c.head_object().bucket("dst-b").key("replaced").send().await.unwrap();
    assert_eq!(h.content_type(), Some("x/new"));
    assert!(h.metadata().unwrap().get("m").is_none());
    // Onto itself: only with REPLACE.
    let e = c.copy_object().bucket("src-b").key("a b+c").copy_source("src-b/a%20b%2Bc").send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidRequest");
    c.copy_object()
        .bucket("src-b")
        .key("a b+c")
        .copy_source("src-b/a%20b%2Bc")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("x/self")
        .send()
        .await
        .unwrap();
    assert_eq!(c.head_object().bucket("src-b").key("a b+c").send().await.unwrap().content_type(), Some("x/self"));
    assert_eq!(get_bytes(&c, "src-b", "a b+c").await, data);
    // Copy-source conditions.
    let e = c
        .copy_object()
        .bucket("dst-b")
        .key("c2")
        .copy_source("src-b/a%20b%2Bc")
        .copy_source_if_match("\"nope\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "PreconditionFailed");
    let e = c.copy_object().bucket("dst-b").key("c3").copy_source("src-b/missing").send().await.unwrap_err();
    assert_eq!(code(&e), "NoSuchKey");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_v1_v2_pagination_and_encoding() {
    let s = TestServer::start().await;
    let c = s.client();
    c.create_bucket().bucket("lst").send().await.unwrap();
    let mut keys: Vec<String> = Vec::new();
    for d in 0..5 {
        for f in 0..250 {
            keys.push(format!("dir{d}/file{f:04}"));
        }
    }
    keys.extend(["top1".to_string(), "top2".into(), "sp ace/x".into(), "plus+and&amp/y".into(), "a--b--c".into()]);
    let mut tasks = Vec::new();
    for chunk in keys.chunks(80) {
        let c = c.clone();
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            for k in chunk {
                c.put_object().bucket("lst").key(&k).body(ByteStream::from_static(b"x")).send().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    keys.sort();
    // v2 paginator over everything.
    let mut got = Vec::new();
    let mut pages = c.list_objects_v2().bucket("lst").max_keys(97).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert!(page.key_count().unwrap() <= 97);
        got.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
    }
    assert_eq!(got, keys);
    // Delimiter: common prefixes.
    let r = c.list_objects_v2().bucket("lst").delimiter("/").send().await.unwrap();
    let cps: Vec<&str> = r.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(cps, ["dir0/", "dir1/", "dir2/", "dir3/", "dir4/", "plus+and&amp/", "sp ace/"]);
    let top: Vec<&str> = r.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(top, ["a--b--c", "top1", "top2"]);
    // Pagination with delimiter, 2 entries per page, v1 markers.
    let mut entries = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut req = c.list_objects().bucket("lst").delimiter("/").max_keys(2);
        if let Some(m) = &marker {
            req = req.marker(m);
        }
        let r = req.send().await.unwrap();
        entries.extend(r.contents().iter().filter_map(|o| o.key().map(String::from)));
        entries.extend(r.common_prefixes().iter().filter_map(|p| p.prefix().map(String::from)));
        if !r.is_truncated().unwrap_or(false) {
            break;
        }
        marker = Some(r.next_marker().expect("NextMarker with delimiter").to_owned());
    }
    entries.sort();
    assert_eq!(entries.len(), 10);
    // Multi-character delimiter and prefix.
    let r = c.list_objects_v2().bucket("lst").delimiter("--").send().await.unwrap();
    assert!(r.common_prefixes().iter().any(|p| p.prefix() == Some("a--")));
    let r = c.list_objects_v2().bucket("lst").prefix("dir3/file02").send().await.unwrap();
    assert_eq!(r.key_count(), Some(50));
    // start-after and fetch-owner.
    let r = c.list_objects_v2().bucket("lst").start_after("dir4/file0248").fetch_owner(true).send().await.unwrap();
    assert_eq!(r.contents()[0].key(), Some("dir4/file0249"));
    assert!(r.contents()[0].owner().is_some());
    // encoding-type=url: the Rust SDK hands the encoded key to the caller.
    let r = c
        .list_objects_v2()
        .bucket("lst")
        .prefix("plus")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.contents()[0].key(), Some("plus%2Band%26amp/y"));
    let raw = s.signed("GET", "/lst", "encoding-type=url&list-type=2&prefix=sp", &[], b"").await;
    assert!(raw.text().contains("<Key>sp%20ace/x</Key>"), "{}", raw.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_quiet_and_verbose() {
    let s = TestServer::start().await;
    let c = s.client();
    c.create_bucket().bucket("del").send().await.unwrap();
    for i in 0..10 {
        c.put_object().bucket("del").key(format!("k{i}")).body(ByteStream::from_static(b"x")).send().await.unwrap();
    }
    let ids = |r: std::ops::Range<i32>| {
        r.map(|i| ObjectIdentifier::builder().key(format!("k{i}")).build().unwrap()).collect::<Vec<_>>()
    };
    let out = c
        .delete_objects()
        .bucket("del")
        .delete(Delete::builder().set_objects(Some(ids(0..5))).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.deleted().len(), 5);
    let out = c
        .delete_objects()
        .bucket("del")
        .delete(Delete::builder().set_objects(Some(ids(5..12))).quiet(true).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(out.deleted().is_empty() && out.errors().is_empty());
    // ListObjectVersions on an unversioned bucket: each object, version "null".
    c.put_object().bucket("del").key("v").body(ByteStream::from_static(b"x")).send().await.unwrap();
    let v = c.list_object_versions().bucket("del").send().await.unwrap();
    assert_eq!(v.versions().len(), 1);
    assert_eq!(
        (v.versions()[0].key(), v.versions()[0].version_id(), v.versions()[0].is_latest()),
        (Some("v"), Some("null"), Some(true))
    );
    c.delete_object().bucket("del").key("v").send().await.unwrap();
    assert_eq!(c.list_objects_v2().bucket("del").send().await.unwrap().key_count(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_full_cycle() {
    let s = TestServer::start().await;
    let c = s.client();
    c.create_bucket().bucket("mpu").send().await.unwrap();
    let src = pattern(6 << 20, 9);
    c.put_object().bucket("mpu").key("source").body(ByteStream::from(src.clone())).send().await.unwrap();
    let up = c.create_multipart_upload().bucket("mpu").key("big").content_type("x/mp").send().await.unwrap();
    let id = up.upload_id().unwrap();
    let p1 = pattern(5 << 20, 1);
    let p3 = pattern(1000, 3);
    let e1 = c
        .upload_part()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from(p1.clone()))
        .send()
        .await
        .unwrap();
    let e2 = c
        .upload_part_copy()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .part_number(2)
        .copy_source("mpu/source")
        .copy_source_range("bytes=1048576-6291455")
        .send()
        .await
        .unwrap();
    let e3 = c
        .upload_part()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .part_number(3)
        .body(ByteStream::from(p3.clone()))
        .send()
        .await
        .unwrap();
    let parts = c.list_parts().bucket("mpu").key("big").upload_id(id).send().await.unwrap();
    assert_eq!(parts.parts().iter().map(|p| p.part_number().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    let uploads = c.list_multipart_uploads().bucket("mpu").send().await.unwrap();
    assert_eq!(uploads.uploads().len(), 1);
    let part = |n: i32, e: &str| CompletedPart::builder().part_number(n).e_tag(e).build();
    let e2tag = e2.copy_part_result().unwrap().e_tag().unwrap().to_owned();
    // Wrong ETag → InvalidPart; out of order → InvalidPartOrder.
    let bad = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().parts(part(1, "\"0000\"")).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "InvalidPart");
    let bad = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder().parts(part(2, &e2tag)).parts(part(1, e1.e_tag().unwrap())).build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "InvalidPartOrder");
    let done = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(part(1, e1.e_tag().unwrap()))
                .parts(part(2, &e2tag))
                .parts(part(3, e3.e_tag().unwrap()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(done.e_tag().unwrap().ends_with("-3\""), "{:?}", done.e_tag());
    assert!(done.location().is_some());
    let mut want = p1.clone();
    want.extend_from_slice(&src[1 << 20..]);
    want.extend_from_slice(&p3);
    assert_eq!(get_bytes(&c, "mpu", "big").await, want);
    let h = c.head_object().bucket("mpu").key("big").send().await.unwrap();
    assert_eq!(h.content_type(), Some("x/mp"));
    assert_eq!(c.list_multipart_uploads().bucket("mpu").send().await.unwrap().uploads().len(), 0);

    // EntityTooSmall, then abort.
    let up = c.create_multipart_upload().bucket("mpu").key("small").send().await.unwrap();
    let id = up.upload_id().unwrap();
    let a = c
        .upload_part()
        .bucket("mpu")
        .key("small")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"tiny"))
        .send()
        .await
        .unwrap();
    let b = c
        .upload_part()
        .bucket("mpu")
        .key("small")
        .upload_id(id)
        .part_number(2)
        .body(ByteStream::from_static(b"tiny"))
        .send()
        .await
        .unwrap();
    let bad = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("small")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(part(1, a.e_tag().unwrap()))
                .parts(part(2, b.e_tag().unwrap()))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "EntityTooSmall");
    c.abort_multipart_upload().bucket("mpu").key("small").upload_id(id).send().await.unwrap();
    let gone = c.list_parts().bucket("mpu").key("small").upload_id(id).send().await.unwrap_err();
    assert_eq!(code(&gone), "NoSuchUpload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_failures() {
    let s = TestServer::start().await;
    s.client().create_bucket().bucket("auth").send().await.unwrap();
    let e = s.client_with(AK, "wrong-secret").list_buckets().send().await.unwrap_err();
    assert_eq!(code(&e), "SignatureDoesNotMatch");
    let e = s.client_with("AKUNKNOWN", SK).list_buckets().send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidAccessKeyId");
    let e = s.client_with(AK, "wrong-secret").get_object().bucket("auth").key("k").send().await.unwrap_err();
    assert_eq!(status(&e), 403);
}

/// What SDKs and GUI clients probe while discovering a bucket gets
/// well-formed answers, never 405 or 501.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_probes_get_well_formed_answers() {
    let s = TestServer::start().await;
    let c = s.client();
    c.create_bucket().bucket("probe").send().await.unwrap();
    c.put_object().bucket("probe").key("k").body(ByteStream::from_static(b"x")).send().await.unwrap();
    let acl = c.get_bucket_acl().bucket("probe").send().await.unwrap();
    assert_eq!(acl.grants()[0].permission().map(|p| p.as_str()), Some("FULL_CONTROL"));
    assert_eq!(acl.owner().and_then(|o| o.id()), Some("coffer-operator"), "the operator's buckets are owned by it");
    let oacl = c.get_object_acl().bucket("probe").key("k").send().await.unwrap();
    assert_eq!(oacl.grants().len(), 1);
    assert!(c.get_bucket_versioning().bucket("probe").send().await.unwrap().status().is_none());
    let own = c.get_bucket_ownership_controls().bucket("probe").send().await.unwrap();
    assert_eq!(own.ownership_controls().unwrap().rules()[0].object_ownership().as_str(), "BucketOwnerEnforced");
    assert_eq!(
        c.get_bucket_policy_status().bucket("probe").send().await.unwrap().policy_status().unwrap().is_public(),
        Some(false)
    );
    assert_eq!(code(&c.get_bucket_cors().bucket("probe").send().await.unwrap_err()), "NoSuchCORSConfiguration");
    assert_eq!(code(&c.get_bucket_policy().bucket("probe").send().await.unwrap_err()), "NoSuchBucketPolicy");
    assert_eq!(code(&c.get_bucket_tagging().bucket("probe").send().await.unwrap_err()), "NoSuchTagSet");
    assert_eq!(
        code(&c.get_bucket_lifecycle_configuration().bucket("probe").send().await.unwrap_err()),
        "NoSuchLifecycleConfiguration"
    );
    assert_eq!(
        code(&c.get_bucket_encryption().bucket("probe").send().await.unwrap_err()),
        "ServerSideEncryptionConfigurationNotFoundError"
    );
    c.get_bucket_logging().bucket("probe").send().await.unwrap();
    c.list_bucket_analytics_configurations().bucket("probe").send().await.unwrap();
    c.list_bucket_metrics_configurations().bucket("probe").send().await.unwrap();
    c.list_bucket_inventory_configurations().bucket("probe").send().await.unwrap();
    assert_eq!(code(&c.get_bucket_acl().bucket("nobucket").send().await.unwrap_err()), "NoSuchBucket");
}
