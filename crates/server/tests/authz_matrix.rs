//! The authorization matrix: every operation class against every kind of
//! principal, with the exact answer each must get.

mod common;

use common::admin::Key;
use common::TestServer;
use serde_json::json;

const B: &str = "alpha-data";

/// One operation class: (name, method, path, query, body).
type OpCase = (&'static str, &'static str, String, &'static str, &'static [u8]);

fn ops() -> Vec<OpCase> {
    vec![
        ("list-buckets", "GET", "/".into(), "", b""),
        ("create-bucket", "PUT", "/fresh-bucket".into(), "", b""),
        ("head-bucket", "HEAD", format!("/{B}"), "", b""),
        ("list", "GET", format!("/{B}"), "list-type=2", b""),
        ("list-pub", "GET", format!("/{B}"), "list-type=2&prefix=pub%2F", b""),
        ("get", "GET", format!("/{B}/pub/a.txt"), "", b""),
        ("get-missing", "GET", format!("/{B}/pub/none.txt"), "", b""),
        ("put", "PUT", format!("/{B}/new.txt"), "", b"new"),
        ("mpu-create", "POST", format!("/{B}/big.bin"), "uploads", b""),
        ("get-acl", "GET", format!("/{B}"), "acl", b""),
        ("get-policy", "GET", format!("/{B}"), "policy", b""),
        ("delete", "DELETE", format!("/{B}/priv/b.txt"), "", b""),
    ]
}

/// Expected outcome: a status, and for errors the S3 code.
fn ok(status: u16) -> (u16, &'static str) {
    (status, "")
}
const DENIED: (u16, &str) = (403, "AccessDenied");
const BAD_KEY: (u16, &str) = (403, "InvalidAccessKeyId");

async fn setup(s: &TestServer) -> Vec<(&'static str, Option<Key>)> {
    s.admin("POST", "/projects", Some(json!({"name": "alpha"}))).await;
    s.admin("POST", "/projects", Some(json!({"name": "beta"}))).await;
    let root = s.new_key("alpha", None, None).await;
    for (path, body) in
        [(format!("/{B}"), &b""[..]), (format!("/{B}/pub/a.txt"), b"public"), (format!("/{B}/priv/b.txt"), b"private")]
    {
        let r = s.as_key(Some(&root), "PUT", &path, "", body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let custom = json!({"document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{B}"),
         "Condition": {"StringLike": {"s3:prefix": "pub/*"}}},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource": format!("arn:aws:s3:::{B}/pub/*")},
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    ]}});
    let deleted = s.new_key("alpha", None, None).await;
    s.admin("DELETE", &format!("/keys/{}", deleted.ak), None).await;
    let inactive = s.new_key("alpha", None, None).await;
    s.admin("PATCH", &format!("/keys/{}", inactive.ak), Some(json!({"status": "Inactive"}))).await;
    let expired = {
        let k = s.admin("POST", "/projects/alpha/keys", Some(json!({"expires": "2020-01-01T00:00:00Z"}))).await;
        Key { ak: k["access_key"].as_str().unwrap().into(), sk: k["secret_key"].as_str().unwrap().into() }
    };
    vec![
        ("operator", Some(Key::operator())),
        ("alpha-root", Some(root)),
        ("full", Some(s.new_user("alpha", "full", json!({"preset": "full-access"})).await)),
        ("read-only", Some(s.new_user("alpha", "ro", json!({"preset": "read-only"})).await)),
        ("read-object-only", Some(s.new_user("alpha", "roo", json!({"preset": "read-object-only"})).await)),
        ("write-only", Some(s.new_user("alpha", "wo", json!({"preset": "write-only"})).await)),
        ("custom", Some(s.new_user("alpha", "custom", custom).await)),
        ("beta-root", Some(s.new_key("beta", None, None).await)),
        ("anonymous", None),
        ("deleted-key", Some(deleted)),
        ("inactive-key", Some(inactive)),
        ("expired-key", Some(expired)),
        ("other-region-key", Some(s.new_key("alpha", None, Some("eu-west-9")).await)),
    ]
}

/// The expected answer of `principal` to `op`.
fn expected(principal: &str, op: &str) -> (u16, &'static str) {
    let allowed_by = |ops: &[&str]| ops.contains(&op);
    match principal {
        "operator" | "alpha-root" | "full" => match op {
            "get-missing" => (404, "NoSuchKey"),
            "get-policy" => (404, "NoSuchBucketPolicy"),
            "delete" => ok(204),
            _ => ok(200),
        },
        "read-only" => match op {
            "get-missing" => (404, "NoSuchKey"),
            "get-policy" => (404, "NoSuchBucketPolicy"),
            _ if allowed_by(&["list-buckets", "head-bucket", "list", "list-pub", "get", "get-acl"]) => ok(200),
            _ => DENIED,
        },
        // No s3:ListBucket: a missing key is AccessDenied, not NoSuchKey.
        "read-object-only" => {
            if op == "get" {
                ok(200)
            } else {
                DENIED
            }
        }
        "write-only" => {
            if allowed_by(&["put", "mpu-create"]) {
                ok(200)
            } else {
                DENIED
            }
        }
        "custom" => match op {
            "list-pub" | "get" => ok(200),
            _ => DENIED,
        },
        // Another project: only its own bucket list, and the name is taken.
        "beta-root" => match op {
            "list-buckets" => ok(200),
            "create-bucket" => (409, "BucketAlreadyExists"),
            _ => DENIED,
        },
        "anonymous" => DENIED,
        _ => BAD_KEY,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_operation_class_for_every_principal() {
    let s = TestServer::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.regions = vec![
            coffer::RegionEndpoint { name: "us-east-1".into(), hosts: vec![] },
            coffer::RegionEndpoint { name: "eu-west-9".into(), hosts: vec!["eu.s3.test".into()] },
        ];
    })
    .await;
    let principals = setup(&s).await;
    let mut failures = Vec::new();
    for (who, key) in &principals {
        for (op, method, path, query, body) in ops() {
            // create-bucket targets the name alpha already owns for beta, a fresh name otherwise:
            // one per principal, since a deleted bucket's name is held a while for its project.
            let path = match op {
                "create-bucket" if *who == "beta-root" => format!("/{B}"),
                "create-bucket" => format!("{path}-{}", who.replace(['_', ' '], "-")),
                _ => path,
            };
            let r = s.as_key(key.as_ref(), method, &path, query, body).await;
            let want = expected(who, op);
            let got = (r.status, r.code().unwrap_or_default());
            let matches = got.0 == want.0 && (want.1.is_empty() || got.1 == want.1 || method == "HEAD");
            if !matches {
                failures.push(format!("{who:>16} {op:<14} want {want:?} got {got:?}"));
            }
            // Undo what succeeded, so every principal meets the same state.
            if r.status < 300 {
                match op {
                    "create-bucket" => {
                        assert_eq!(s.as_key(Some(&Key::operator()), "DELETE", &path, "", b"").await.status, 204)
                    }
                    "delete" => {
                        assert_eq!(s.as_key(Some(&Key::operator()), "PUT", &path, "", b"private").await.status, 200)
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));

    // ListBuckets shows each project only its own buckets.
    let beta = &principals.iter().find(|(w, _)| *w == "beta-root").unwrap().1;
    let listing = s.as_key(beta.as_ref(), "GET", "/", "", b"").await.text();
    assert!(!listing.contains(B), "{listing}");
    let alpha = &principals.iter().find(|(w, _)| *w == "read-only").unwrap().1;
    assert!(s.as_key(alpha.as_ref(), "GET", "/", "", b"").await.text().contains(B));
}
