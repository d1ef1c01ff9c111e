//! Lifecycle rules over the wire, with a two-second "day" and a pass every
//! second: the configuration's round trip and errors, `x-amz-expiration`,
//! expiration of current versions (a marker when versioned), noncurrent
//! versions past their days beyond the newest kept, lone delete markers,
//! abandoned uploads; and a locked version that no rule removes.

mod common;

use common::*;
use std::time::{Duration, Instant};

fn code(r: &RawResponse) -> (u16, String) {
    (r.status, r.code().unwrap_or_default())
}

async fn start() -> TestServer {
    TestServer::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.lifecycle_every = Duration::from_secs(1);
        c.lifecycle_day = Duration::from_secs(2);
    })
    .await
}

fn rules(body: &str) -> Vec<u8> {
    format!("<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{body}</LifecycleConfiguration>")
        .into_bytes()
}

async fn put_rules(s: &TestServer, bucket: &str, body: &str) {
    let doc = rules(body);
    let md5 = md5_b64(&doc);
    let r = s.signed("PUT", &format!("/{bucket}"), "lifecycle", &[("content-md5", &md5)], &doc).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Waits (up to 20 s) until `done` holds.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_round_trip_and_errors() {
    let s = start().await;
    assert_eq!(s.signed("PUT", "/bkt", "", &[], b"").await.status, 200);
    assert_eq!(
        code(&s.signed("GET", "/bkt", "lifecycle", &[], b"").await),
        (404, "NoSuchLifecycleConfiguration".into())
    );
    let transition = rules("<Rule><ID>t</ID><Filter/><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>");
    assert_eq!(code(&s.signed("PUT", "/bkt", "lifecycle", &[], &transition).await), (501, "NotImplemented".into()));
    let no_action = rules("<Rule><ID>n</ID><Filter/><Status>Enabled</Status></Rule>");
    assert_eq!(code(&s.signed("PUT", "/bkt", "lifecycle", &[], &no_action).await).0, 400);
    put_rules(&s, "bkt", "<Rule><ID>tmp files</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>").await;
    let got = s.signed("GET", "/bkt", "lifecycle", &[], b"").await.text();
    assert!(
        got.contains("<ID>tmp files</ID>") && got.contains("<Prefix>tmp/</Prefix>") && got.contains("<Days>30</Days>"),
        "{got}"
    );
    // x-amz-expiration on PUT and HEAD for what a rule expires, not for the rest.
    let r = s.signed("PUT", "/bkt/tmp/a", "", &[], b"x").await;
    let exp = r.header("x-amz-expiration").expect("a rule expires tmp/a").to_owned();
    assert!(exp.starts_with("expiry-date=\"") && exp.ends_with("rule-id=\"tmp files\""), "{exp}");
    assert_eq!(s.signed("HEAD", "/bkt/tmp/a", "", &[], b"").await.header("x-amz-expiration"), Some(exp.as_str()));
    assert_eq!(s.signed("PUT", "/bkt/keep", "", &[], b"x").await.header("x-amz-expiration"), None);
    assert_eq!(s.signed("DELETE", "/bkt", "lifecycle", &[], b"").await.status, 204);
    assert_eq!(s.signed("GET", "/bkt", "lifecycle", &[], b"").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_expire_objects_versions_markers_and_uploads() {
    let s = start().await;
    assert_eq!(s.signed("PUT", "/plain", "", &[], b"").await.status, 200);
    put_rules(&s, "plain", "<Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
        <Rule><ID>mp</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>").await;
    s.signed("PUT", "/plain/tmp/a", "", &[], b"x").await;
    s.signed("PUT", "/plain/keep/a", "", &[], b"x").await;
    let up = s.signed("POST", "/plain/big", "uploads", &[], b"").await.text();
    assert!(up.contains("<UploadId>"));

    assert_eq!(s.signed("PUT", "/ver", "", &[], b"").await.status, 200);
    let enabled = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    assert_eq!(s.signed("PUT", "/ver", "versioning", &[], enabled).await.status, 200);
    for body in [&b"1"[..], b"2", b"3"] {
        s.signed("PUT", "/ver/k", "", &[], body).await;
    }
    s.signed("PUT", "/ver/gone", "", &[], b"x").await;
    let marker = s.signed("DELETE", "/ver/gone", "", &[], b"").await;
    assert_eq!(marker.header("x-amz-delete-marker"), Some("true"));
    put_rules(&s, "ver", "<Rule><ID>old</ID><Filter><Prefix>k</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>\
        <Rule><ID>markers</ID><Filter><Prefix>gone</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>\
        <Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>").await;

    eventually("tmp/a to expire", || async { s.signed("HEAD", "/plain/tmp/a", "", &[], b"").await.status == 404 })
        .await;
    assert_eq!(s.signed("HEAD", "/plain/keep/a", "", &[], b"").await.status, 200, "outside the rule's prefix");
    eventually("the upload to be aborted", || async {
        !s.signed("GET", "/plain", "uploads", &[], b"").await.text().contains("<Upload>")
    })
    .await;
    // k keeps its current version and the newest noncurrent one; `gone`
    // loses its old version, and then its marker, left alone.
    eventually("the old versions to go", || async {
        let v = s.signed("GET", "/ver", "versions", &[], b"").await.text();
        v.matches("<Version>").count() == 2 && !v.contains("<DeleteMarker>") && !v.contains("<Key>gone</Key>")
    })
    .await;
    assert_eq!(s.signed("GET", "/ver/k", "", &[], b"").await.text(), "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_rule_removes_a_locked_version() {
    let s = start().await;
    assert_eq!(s.signed("PUT", "/vault", "", &[("x-amz-bucket-object-lock-enabled", "true")], b"").await.status, 200);
    let until = coffer_s3_proto::time_fmt::iso8601_millis(coffer_types::now_millis() + 3_600_000);
    let lock = [("x-amz-object-lock-mode", "COMPLIANCE"), ("x-amz-object-lock-retain-until-date", until.as_str())];
    let md5 = md5_b64(b"kept");
    let mut h = lock.to_vec();
    h.push(("content-md5", md5.as_str()));
    let first = s.signed("PUT", "/vault/k", "", &h, b"kept").await;
    let first = first.header("x-amz-version-id").unwrap().to_owned();
    s.signed("PUT", "/vault/k", "", &[], b"newer").await;
    s.signed("PUT", "/vault/k", "", &[], b"newest").await;
    put_rules(&s, "vault", "<Rule><ID>old</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>").await;
    // The unlocked noncurrent version goes; the locked one stays.
    eventually("the unlocked old version to go", || async {
        s.signed("GET", "/vault", "versions", &[], b"").await.text().matches("<Version>").count() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = s.signed("GET", "/vault/k", &format!("versionId={first}"), &[], b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "kept"));
}
