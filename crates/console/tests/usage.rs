//! The usage page and the operator's project pages: charts of recorded
//! usage, the empty state, who sees which bucket, operator-only pages,
//! quota and project forms (validation, CSRF), escaping.

mod common;

use coffer_iam::Permissions;
use coffer_meta::{MetaStore, Quota, QuotaScope, RequestCounts, UsageDelta};
use common::*;
use http::{Method, StatusCode};

const EMPTY: &str = "No usage recorded yet: usage appears after the first metering interval following activity.";

/// Records traffic for `bucket` in the current hour.
async fn traffic(fx: &Fx, project: &str, bucket: &str, get: u64, bytes_in: u64, bytes_out: u64) {
    let delta = UsageDelta {
        project: project.into(),
        bucket: bucket.into(),
        hour: coffer_types::now_millis().div_euclid(1000),
        requests: RequestCounts { get, put: 1, ..Default::default() },
        bytes_in,
        bytes_out,
    };
    fx.meta.add_usage(&[delta]).await.unwrap();
}

async fn meter(fx: &Fx) {
    fx.meta.meter_storage(coffer_types::now_millis()).await.unwrap();
}

/// The `aria-label` of every chart on the page.
fn chart_labels(body: &str) -> Vec<&str> {
    body.split("<svg class=\"chart\"")
        .skip(1)
        .map(|s| s.split("aria-label=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn usage_page_charts_what_was_recorded() {
    let fx = fixture().await;
    fx.bucket("acme-data", "acme").await;
    fx.put("acme-data", "hello.txt", b"hello world").await;
    fx.bucket("other-data", "other").await;
    traffic(&fx, "acme", "acme-data", 7, 2048, 4096).await;
    traffic(&fx, "other", "other-data", 3, 0, 0).await;
    meter(&fx).await;
    let (cookie, _) = fx.session("acme", "root", ROOT_PW).await;
    let r = fx.get("/usage", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("href=\"/usage\""), "the nav links the page");
    assert!(!r.body.contains("href=\"/projects\""), "no operator link for a project user");
    assert!(r.body.contains("Project total") && r.body.contains("id=\"bucket-acme-data\""), "{}", r.body);
    assert!(!r.body.contains("other-data"), "another project's bucket");
    assert!(!r.body.contains(EMPTY));
    assert!(r.body.contains("byte-hours"), "the page says how usage is measured");
    let labels = chart_labels(&r.body);
    assert_eq!(labels.len(), 8, "four charts for the total and four for the bucket");
    assert!(
        labels[0].starts_with("Stored bytes, ") && labels[0].contains("Stored: latest 11 B, peak 11 B"),
        "{labels:?}"
    );
    assert!(labels[1].contains("Objects: latest 1, peak 1"), "{labels:?}");
    assert!(labels[2].starts_with("Requests per hour") && labels[2].contains(", peak 7; PUT: "), "{labels:?}");
    assert!(
        labels[3].contains(", peak 2.0 KiB; Out (downloads): ") && labels[3].ends_with(", peak 4.0 KiB."),
        "{labels:?}"
    );
    assert!(r.body.contains(">1.0 KiB</text>"), "a y tick of the traffic chart");
    assert!(r.body.contains("role=\"img\""));

    // Daily sums over 30 days.
    let r = fx.get("/usage?days=30", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let labels = chart_labels(&r.body);
    assert!(labels[2].starts_with("Requests per day") && labels[2].contains(", peak 7; PUT: "), "{labels:?}");
    assert!(r.body.contains("href=\"/usage?days=30\" class=\"active\""), "{}", r.body);
    // Any other period is refused with a way back.
    let r = fx.get("/usage?days=9", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("last 7 or 30 days"));
}

#[tokio::test]
async fn without_usage_the_page_says_when_it_will_appear() {
    let fx = fixture().await;
    fx.bucket("acme-data", "acme").await;
    let (cookie, _) = fx.session("acme", "root", ROOT_PW).await;
    let r = fx.get("/usage", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(EMPTY), "{}", r.body);
    assert!(!r.body.contains("<svg"));
    // Usage of one bucket: the other says it has none.
    fx.bucket("acme-idle", "acme").await;
    traffic(&fx, "acme", "acme-data", 1, 0, 0).await;
    let r = fx.get("/usage", Some(&cookie)).await;
    assert!(!r.body.contains(EMPTY));
    assert!(r.body.contains("No usage recorded for this bucket in this period."), "{}", r.body);
}

#[tokio::test]
async fn iam_users_see_only_the_buckets_they_may_list() {
    let fx = fixture().await;
    for b in ["acme-open", "acme-secret"] {
        fx.bucket(b, "acme").await;
        traffic(&fx, "acme", b, 2, 10, 10).await;
    }
    fx.user_with_password("acme", "limited", None).await;
    let doc = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::acme-open"}]}"#;
    fx.iam.set_permissions("acme", "limited", &Permissions::Document(doc.into())).await.unwrap();
    let (cookie, _) = fx.session("acme", "limited", "a long enough password").await;
    let r = fx.get("/usage", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"bucket-acme-open\""), "{}", r.body);
    assert!(!r.body.contains("acme-secret"), "no ListBucket on it");
    assert!(!r.body.contains("Project total"), "the total is the root's");
    assert_eq!(chart_labels(&r.body).len(), 4);
    // No ListBucket at all: nothing to show, and why.
    fx.user_with_password("acme", "nobody", None).await;
    let (cookie, _) = fx.session("acme", "nobody", "a long enough password").await;
    let r = fx.get("/usage", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("s3:ListBucket") && !r.body.contains("<svg"), "{}", r.body);
    assert!(!r.body.contains("acme-open"));
}

#[tokio::test]
async fn project_pages_are_the_operators_alone() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let unknown = fx.get("/no-such-page", Some(&cookie)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let strip = |b: &str| b.replace(b.split("nonce=\"").nth(1).unwrap_or("").split('"').next().unwrap_or(""), "");
    for path in ["/projects", "/projects/acme"] {
        let r = fx.get(path, Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(strip(&r.body), strip(&unknown.body), "{path} looks like any unknown page");
    }
    let r = fx.post("/projects/acme/quota", Some(&cookie), &[("csrf", &csrf), ("max_objects", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = fx.post("/projects", Some(&cookie), &[("csrf", &csrf), ("name", "mine")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = fx.send_from(PEER, Method::DELETE, "/projects", Some(&cookie), None, &[("x-csrf-token", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not even a 405");
    assert!(fx.iam.project("mine").await.is_err());
    assert_eq!(fx.meta.get_quota(&QuotaScope::Project("acme".into())).await.unwrap(), Quota::default());
    // The operator gets a 405 for a wrong method.
    let (cookie, csrf) = fx.operator_session().await;
    let r = fx.send_from(PEER, Method::DELETE, "/projects", Some(&cookie), None, &[("x-csrf-token", &csrf)]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_operator_lists_projects_and_sets_quotas() {
    let fx = fixture().await;
    fx.bucket("acme-data", "acme").await;
    fx.put("acme-data", "k", b"0123456789").await;
    traffic(&fx, "acme", "acme-data", 1500, 3 * 1024 * 1024, 0).await;
    let (cookie, csrf) = fx.operator_session().await;
    let r = fx.get("/projects", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("href=\"/projects\""), "the nav links the page");
    assert!(r.body.contains("href=\"/projects/acme\"") && r.body.contains("href=\"/projects/other\""));
    assert!(r.body.contains(">10 B<"), "acme's stored bytes: {}", r.body);
    assert!(r.body.contains("1.5k") && r.body.contains("3.0 MiB"), "30-day requests and traffic: {}", r.body);
    assert!(r.body.contains("unlimited"));

    let r = fx
        .post(
            "/projects/acme/quota",
            Some(&cookie),
            &[("csrf", &csrf), ("max_bytes", "1.5"), ("unit", "GiB"), ("max_objects", "1000")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/projects?quota=acme");
    let q = fx.meta.get_quota(&QuotaScope::Project("acme".into())).await.unwrap();
    assert_eq!(q, Quota { max_bytes: Some(3 << 29), max_objects: Some(1000) });
    let r = fx.get("/projects?quota=acme", Some(&cookie)).await;
    assert!(r.body.contains("Quota of project acme saved.") && r.body.contains("1.5 GiB, 1000 objects"), "{}", r.body);
    assert!(r.body.contains("value=\"1536\"") && r.body.contains("<option value=\"MiB\" selected>"), "{}", r.body);
    // Empty fields: unlimited again.
    let r = fx
        .post(
            "/projects/acme/quota",
            Some(&cookie),
            &[("csrf", &csrf), ("max_bytes", ""), ("unit", "GiB"), ("max_objects", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(fx.meta.get_quota(&QuotaScope::Project("acme".into())).await.unwrap(), Quota::default());

    // One project: its buckets and the usage charts.
    let r = fx.get("/projects/acme", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("acme-data") && r.body.contains("Project total"));
    assert!(chart_labels(&r.body).iter().any(|l| l.contains(", peak 1.5k; PUT: ")), "{}", r.body);
    assert!(r.body.contains("href=\"/projects/acme?days=30\""));
    let r = fx.get("/projects/nope", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("No such project"));
    // The operator's own usage page.
    let r = fx.get("/usage", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Each project's usage is under"));
}

#[tokio::test]
async fn invalid_quotas_are_refused_inline() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.operator_session().await;
    for (bytes, unit, objects, message) in [
        ("ten", "GiB", "", "Enter a number such as 10 or 1.5"),
        ("-1", "GiB", "", "Enter a number such as 10 or 1.5"),
        ("1", "GiB", "1.5", "Enter a whole number of objects"),
        ("99999", "PiB", "", "more than"),
    ] {
        let r = fx
            .post(
                "/projects/acme/quota",
                Some(&cookie),
                &[("csrf", &csrf), ("max_bytes", bytes), ("unit", unit), ("max_objects", objects)],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bytes} {objects}");
        assert!(r.body.contains("class=\"field-error\"") && r.body.contains(message), "{}", r.body);
        assert!(r.body.contains("aria-invalid=\"true\"") && r.body.contains("<details class=\"quota\" open>"));
        assert!(r.body.contains(&format!("value=\"{}\"", bytes)), "the input is kept");
    }
    assert_eq!(fx.meta.get_quota(&QuotaScope::Project("acme".into())).await.unwrap(), Quota::default());
    // A project that does not exist.
    let r = fx.post("/projects/nope/quota", Some(&cookie), &[("csrf", &csrf), ("max_objects", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_operator_creates_projects() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.operator_session().await;
    let r = fx.post("/projects", Some(&cookie), &[("csrf", &csrf), ("name", "new-proj")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/projects?created=new-proj");
    assert!(fx.iam.project("new-proj").await.is_ok());
    let r = fx.get("/projects?created=new-proj", Some(&cookie)).await;
    assert!(r.body.contains("Project new-proj created."));
    let r = fx.post("/projects", Some(&cookie), &[("csrf", &csrf), ("name", "acme")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("A project named acme already exists."));
    let r = fx.post("/projects", Some(&cookie), &[("csrf", &csrf), ("name", "Bad_Name")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Not a valid project name") && r.body.contains("aria-invalid=\"true\""));
    assert!(fx.iam.project("Bad_Name").await.is_err());
}

#[tokio::test]
async fn project_forms_need_the_csrf_token() {
    let fx = fixture().await;
    let (cookie, _) = fx.operator_session().await;
    let r = fx.post("/projects/acme/quota", Some(&cookie), &[("max_objects", "5")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("security token"));
    let r = fx.post("/projects/acme/quota", Some(&cookie), &[("max_objects", "5"), ("csrf", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(fx.meta.get_quota(&QuotaScope::Project("acme".into())).await.unwrap(), Quota::default());
    let r = fx.post("/projects", Some(&cookie), &[("name", "sneaky")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(fx.iam.project("sneaky").await.is_err());
}

#[tokio::test]
async fn names_and_input_are_escaped() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.operator_session().await;
    let evil = "\"><script>alert(1)</script>&";
    let r = fx.post("/projects", Some(&cookie), &[("csrf", &csrf), ("name", evil)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.body.contains("<script>alert(1)"), "{}", r.body);
    assert!(r.body.contains("value=\"&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#38;\""), "{}", r.body);
    let r =
        fx.post("/projects/acme/quota", Some(&cookie), &[("csrf", &csrf), ("max_bytes", evil), ("unit", "<b>")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.body.contains("<script>alert(1)") && !r.body.contains("<b>"), "{}", r.body);
    // Bucket and project names shown on the usage pages go through the
    // escaping templates too (their rules already exclude markup).
    fx.bucket("acme-data", "acme").await;
    traffic(&fx, "acme", "acme-data", 1, 0, 0).await;
    let r = fx.get("/projects/acme", Some(&cookie)).await;
    assert!(r.body.contains("<h2 id=\"bucket-acme-data-h\">acme-data</h2>"), "{}", r.body);
    let r = fx.get("/projects/%3Cscript%3E", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.body.contains("<script>"));
}
