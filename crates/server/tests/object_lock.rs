//! Object lock over the wire: buckets made with it, default retention,
//! retention and legal hold per version, and what they refuse to anyone:
//! COMPLIANCE even to the operator, GOVERNANCE without the bypass or its
//! permission, a legal hold to everyone until lifted. A stolen key with
//! every other permission can only hide a key behind a delete marker.

mod common;

use common::admin::Key;
use common::*;
use serde_json::json;

fn code(r: &RawResponse) -> (u16, String) {
    (r.status, r.code().unwrap_or_default())
}

fn until(secs_from_now: i64) -> String {
    coffer_s3_proto::time_fmt::iso8601_millis(coffer_types::now_millis() + secs_from_now * 1000)
}

/// A signed request with a `Content-MD5` of its body, as lock settings need.
async fn with_md5(
    s: &TestServer,
    key: &Key,
    method: &str,
    path: &str,
    query: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let md5 = md5_b64(body);
    let mut h = vec![("content-md5", md5.as_str())];
    h.extend_from_slice(extra);
    s.request_as(Some(key), REGION, method, path, query, &h, body).await
}

const GOV_1_DAY: &[u8] = b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_configuration_and_default_retention() {
    let s = TestServer::start().await;
    let op = Key::operator();
    // Lock settings where there is no lock.
    assert_eq!(s.signed("PUT", "/plain", "", &[], b"").await.status, 200);
    assert_eq!(
        code(&s.signed("GET", "/plain", "object-lock", &[], b"").await),
        (404, "ObjectLockConfigurationNotFoundError".into())
    );
    let hold = [("x-amz-object-lock-legal-hold", "ON")];
    assert_eq!(code(&with_md5(&s, &op, "PUT", "/plain/k", "", &hold, b"x").await), (400, "InvalidRequest".into()));
    assert_eq!(
        code(&with_md5(&s, &op, "PUT", "/plain", "object-lock", &[], GOV_1_DAY).await),
        (409, "InvalidBucketState".into())
    );

    let r = s.signed("PUT", "/locked", "", &[("x-amz-bucket-object-lock-enabled", "true")], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(s.signed("GET", "/locked", "versioning", &[], b"").await.text().contains("<Status>Enabled</Status>"));
    let cfg = s.signed("GET", "/locked", "object-lock", &[], b"").await.text();
    assert!(cfg.contains("<ObjectLockEnabled>Enabled</ObjectLockEnabled>") && !cfg.contains("<Rule>"), "{cfg}");
    let suspend = b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";
    assert_eq!(code(&s.signed("PUT", "/locked", "versioning", &[], suspend).await), (409, "InvalidBucketState".into()));
    // The setting needs its integrity header.
    assert_eq!(code(&s.signed("PUT", "/locked", "object-lock", &[], GOV_1_DAY).await), (400, "InvalidRequest".into()));
    assert_eq!(with_md5(&s, &op, "PUT", "/locked", "object-lock", &[], GOV_1_DAY).await.status, 200);
    assert!(s
        .signed("GET", "/locked", "object-lock", &[], b"")
        .await
        .text()
        .contains("<Mode>GOVERNANCE</Mode><Days>1</Days>"));

    // A write with no lock headers gets the default.
    let w = s.signed("PUT", "/locked/k", "", &[], b"data").await;
    let v = w.header("x-amz-version-id").unwrap().to_owned();
    let h = s.signed("HEAD", "/locked/k", "", &[], b"").await;
    assert_eq!(h.header("x-amz-object-lock-mode"), Some("GOVERNANCE"));
    let r = s.signed("GET", "/locked/k", "retention", &[], b"").await;
    assert!(r.text().contains("<Mode>GOVERNANCE</Mode>"), "{}", r.text());
    // GOVERNANCE: refused without the bypass, allowed with it.
    let q = format!("versionId={v}");
    assert_eq!(code(&s.signed("DELETE", "/locked/k", &q, &[], b"").await), (403, "AccessDenied".into()));
    let bypass = [("x-amz-bypass-governance-retention", "true")];
    assert_eq!(s.signed("DELETE", "/locked/k", &q, &bypass, b"").await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_and_legal_hold_hold_against_everyone() {
    let s = TestServer::start().await;
    let op = Key::operator();
    assert_eq!(s.signed("PUT", "/vault", "", &[("x-amz-bucket-object-lock-enabled", "true")], b"").await.status, 200);
    let date = until(3600);
    let lock = [("x-amz-object-lock-mode", "COMPLIANCE"), ("x-amz-object-lock-retain-until-date", date.as_str())];
    // Lock headers need an integrity header.
    assert_eq!(code(&s.signed("PUT", "/vault/k", "", &lock, b"secret").await), (400, "InvalidRequest".into()));
    let w = with_md5(&s, &op, "PUT", "/vault/k", "", &lock, b"secret").await;
    assert_eq!(w.status, 200, "{}", w.text());
    let v = w.header("x-amz-version-id").unwrap().to_owned();
    let q = format!("versionId={v}");
    let bypass = [("x-amz-bypass-governance-retention", "true")];
    let r = s.signed("DELETE", "/vault/k", &q, &bypass, b"").await;
    assert_eq!(code(&r), (403, "AccessDenied".into()), "not even the operator with the bypass");
    // Retention moves later, never earlier, in COMPLIANCE.
    let rq = format!("retention&versionId={v}");
    let doc = |d: &str| format!("<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>{d}</RetainUntilDate></Retention>");
    let shorter = doc(&until(60));
    assert_eq!(
        code(&with_md5(&s, &op, "PUT", "/vault/k", &rq, &bypass, shorter.as_bytes()).await),
        (403, "AccessDenied".into())
    );
    let longer = doc(&until(7200));
    assert_eq!(with_md5(&s, &op, "PUT", "/vault/k", &rq, &[], longer.as_bytes()).await.status, 200);
    // The bucket cannot go while the version is there.
    assert_eq!(code(&s.signed("DELETE", "/vault", "", &[], b"").await), (409, "BucketNotEmpty".into()));
    assert_eq!(s.signed("GET", "/vault/k", &q, &[], b"").await.text(), "secret");

    // A legal hold: refused to all, lifted, then the version can go.
    let w = s.signed("PUT", "/vault/h", "", &[], b"held").await;
    let hv = w.header("x-amz-version-id").unwrap().to_owned();
    let hq = format!("legal-hold&versionId={hv}");
    let on = b"<LegalHold><Status>ON</Status></LegalHold>";
    assert_eq!(with_md5(&s, &op, "PUT", "/vault/h", &hq, &[], on).await.status, 200);
    assert!(s.signed("GET", "/vault/h", &hq, &[], b"").await.text().contains("<Status>ON</Status>"));
    assert_eq!(s.signed("HEAD", "/vault/h", "", &[], b"").await.header("x-amz-object-lock-legal-hold"), Some("ON"));
    let dq = format!("versionId={hv}");
    assert_eq!(code(&s.signed("DELETE", "/vault/h", &dq, &bypass, b"").await), (403, "AccessDenied".into()));
    let off = b"<LegalHold><Status>OFF</Status></LegalHold>";
    assert_eq!(with_md5(&s, &op, "PUT", "/vault/h", &hq, &[], off).await.status, 200);
    assert_eq!(s.signed("DELETE", "/vault/h", &dq, &[], b"").await.status, 204);
}

/// A key with every permission but the bypass, as a thief would hold, on
/// a GOVERNANCE bucket: its deletes only add markers, its version deletes
/// and retention changes are refused, and the data stays readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_key_cannot_destroy_locked_versions() {
    let s = TestServer::start().await;
    s.admin("POST", "/projects", Some(json!({ "name": "acme" }))).await;
    let root = s.new_key("acme", None, None).await;
    let r = s
        .request_as(Some(&root), REGION, "PUT", "/backup", "", &[("x-amz-bucket-object-lock-enabled", "true")], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(with_md5(&s, &root, "PUT", "/backup", "object-lock", &[], GOV_1_DAY).await.status, 200);
    let v = s.request_as(Some(&root), REGION, "PUT", "/backup/snap", "", &[], b"snapshot").await;
    let v = v.header("x-amz-version-id").unwrap().to_owned();
    let doc = json!({"document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:BypassGovernanceRetention", "Resource": "*"}
    ]}});
    let thief = s.new_user("acme", "thief", doc).await;
    let q = format!("versionId={v}");
    let bypass = [("x-amz-bypass-governance-retention", "true")];
    let r = s.request_as(Some(&thief), REGION, "DELETE", "/backup/snap", &q, &bypass, b"").await;
    assert_eq!(code(&r), (403, "AccessDenied".into()));
    let r = s.request_as(Some(&thief), REGION, "DELETE", "/backup/snap", &q, &[], b"").await;
    assert_eq!(code(&r), (403, "AccessDenied".into()));
    let gone = b"<Retention/>";
    let rq = format!("retention&versionId={v}");
    assert_eq!(
        code(&with_md5(&s, &thief, "PUT", "/backup/snap", &rq, &bypass, gone).await),
        (403, "AccessDenied".into())
    );
    let r = s.request_as(Some(&thief), REGION, "DELETE", "/backup/snap", "", &[], b"").await;
    assert_eq!((r.status, r.header("x-amz-delete-marker")), (204, Some("true")));
    let r = s.request_as(Some(&root), REGION, "GET", "/backup/snap", &q, &[], b"").await;
    assert_eq!(r.text(), "snapshot", "the locked version survived");
}
