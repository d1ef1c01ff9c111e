//! The admin API through `ControlService::handle`, signed like S3, over a
//! real SQLite store.

mod common;

use coffer_meta::{BucketRecord, MetaStore, RequestCounts, UsageDelta};
use common::{Creds, Harness};
use serde_json::json;

async fn bucket(h: &Harness, name: &str, project: &str) {
    let rec = BucketRecord {
        name: name.into(),
        region: "r1".into(),
        project: project.into(),
        created: 1_700_000_000_000,
        ..Default::default()
    };
    h.store.create_bucket(rec).await.unwrap();
}

#[tokio::test]
async fn projects_are_created_read_and_deleted_by_the_operator() {
    let h = Harness::new().await;
    let op = Some(&h.operator);

    let r = h.admin(op, "GET", "/regions", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!([{"name":"r1","hosts":["s3.r1.test"],"default":true},{"name":"r2","hosts":["s3.r2.test:9000"],"default":false}])
    );

    let r = h.admin(op, "POST", "/projects", Some(json!({"name": "acme"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["name"], "acme");
    assert!(r.body["created"].as_str().is_some_and(|t| t.ends_with('Z')));
    let r = h.admin(op, "POST", "/projects", Some(json!({"name": "acme"}))).await;
    assert_eq!((r.status, r.code()), (409, "ProjectAlreadyExists"));
    let r = h.admin(op, "POST", "/projects", Some(json!({"name": "Bad_Name"}))).await;
    assert_eq!((r.status, r.code()), (400, "InvalidName"));
    let r = h.admin(op, "POST", "/projects", Some(json!({"nom": "x"}))).await;
    assert_eq!((r.status, r.code()), (400, "MalformedJson"));
    let r = h.admin_raw(op, "POST", "/projects", b"{not json".to_vec()).await;
    assert_eq!((r.status, r.code()), (400, "MalformedJson"));
    h.admin(op, "POST", "/projects", Some(json!({"name": "beta"}))).await;

    let r = h.admin(op, "GET", "/projects", None).await;
    let names: Vec<&str> = r.body.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["acme", "beta"]);

    bucket(&h, "acme-data", "acme").await;
    let r = h.admin(op, "GET", "/projects/acme", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["quota"], json!({"max_bytes": null, "max_objects": null}));
    assert_eq!(r.body["stored"], json!({"bytes": 0, "objects": 0, "buckets": 1}));
    let r = h.admin(op, "GET", "/projects/nope", None).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchProject"));

    let r = h.admin(op, "DELETE", "/projects/acme", None).await;
    assert_eq!((r.status, r.code()), (409, "ProjectNotEmpty"));
    h.store.delete_bucket("acme-data").await.unwrap();
    let r = h.admin(op, "DELETE", "/projects/acme", None).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_null());
    let r = h.admin(op, "DELETE", "/projects/acme", None).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchProject"));
}

#[tokio::test]
async fn users_and_their_permissions() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    let me = Some(&root);

    let r = h.admin(me, "POST", "/projects/acme/users", Some(json!({"name": "alice"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"name":"alice","path":"/","root":false,"created":r.body["created"],"presets":[],"inline_policies":[],"has_password":false})
    );
    let r = h.admin(me, "POST", "/projects/acme/users", Some(json!({"name": "alice"}))).await;
    assert_eq!((r.status, r.code()), (409, "UserAlreadyExists"));
    // An IAM path may be given; a bad one is refused.
    let r = h.admin(me, "POST", "/projects/acme/users", Some(json!({"name": "bob", "path": "/team/ops/"}))).await;
    assert_eq!((r.status, &r.body["path"]), (201, &json!("/team/ops/")), "{}", r.body);
    let r = h.admin(me, "POST", "/projects/acme/users", Some(json!({"name": "carol", "path": "team"}))).await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument"));
    let r = h.admin(me, "GET", "/projects/acme/users/BOB", None).await;
    assert_eq!((r.status, &r.body["name"], &r.body["path"]), (200, &json!("bob"), &json!("/team/ops/")));

    let r = h.admin(me, "GET", "/projects/acme/users", None).await;
    let names: Vec<(&str, &str, bool)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].as_str().unwrap(), u["path"].as_str().unwrap(), u["root"].as_bool().unwrap()))
        .collect();
    assert_eq!(names, [("alice", "/", false), ("bob", "/team/ops/", false), ("root", "/", true)]);

    let r = h.admin(me, "PUT", "/projects/acme/users/alice/policy", Some(json!({"preset": "read-only"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"presets": ["read-only"], "inline": {}}));
    let doc =
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]});
    let r = h.admin(me, "PUT", "/projects/acme/users/alice/policy", Some(json!({"document": doc}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"presets": [], "inline": {"custom": doc}}), "replaces everything");
    let r = h.admin(me, "PUT", "/projects/acme/users/alice/policy", Some(json!({"document": doc.to_string()}))).await;
    assert_eq!(r.body["inline"]["custom"], doc, "a document may come as text");
    let r = h.admin(me, "GET", "/projects/acme/users/alice/policy", None).await;
    assert_eq!(r.body["inline"]["custom"], doc);
    let r = h.admin(me, "GET", "/projects/acme/users/alice", None).await;
    assert_eq!(r.body["inline_policies"], json!(["custom"]));

    let r = h.admin(me, "PUT", "/projects/acme/users/alice/policy", Some(json!({"preset": "god-mode"}))).await;
    assert_eq!((r.status, r.code()), (400, "UnknownPreset"));
    let r = h.admin(me, "PUT", "/projects/acme/users/alice/policy", Some(json!({"document": {"Statement": 1}}))).await;
    assert_eq!((r.status, r.code()), (400, "MalformedPolicy"));
    let r = h.admin(me, "PUT", "/projects/acme/users/alice/policy", Some(json!({}))).await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument"));
    let r = h.admin(me, "PUT", "/projects/acme/users/root/policy", Some(json!({"preset": "read-only"}))).await;
    assert_eq!((r.status, r.code()), (400, "RootUser"));
    let r = h.admin(me, "GET", "/projects/acme/users/nobody/policy", None).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchUser"));

    // Deleting takes the user's keys along.
    let r = h.admin(me, "POST", "/projects/acme/keys", Some(json!({"user": "alice"}))).await;
    let ak = r.body["access_key"].as_str().unwrap().to_owned();
    let r = h.admin(me, "DELETE", "/projects/acme/users/alice", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = h.admin(me, "GET", &format!("/keys/{ak}"), None).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchKey"));
    let r = h.admin(me, "GET", "/projects/acme/users/alice", None).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchUser"));
    let r = h.admin(me, "DELETE", "/projects/acme/users/root", None).await;
    assert_eq!((r.status, r.code()), (400, "RootUser"));
}

#[tokio::test]
async fn console_passwords_are_set_and_removed() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    let beta = h.project("beta").await;
    let me = Some(&root);
    let pw = "a long console passphrase";
    h.admin(me, "POST", "/projects/acme/users", Some(json!({"name": "alice"}))).await;
    let has = |u: &serde_json::Value| u["has_password"].as_bool().unwrap();
    assert!(!has(&h.admin(me, "GET", "/projects/acme/users/alice", None).await.body));

    // The project's root sets one (name in any case): 204, nothing echoed.
    let r = h.admin(me, "PUT", "/projects/acme/users/ALICE/password", Some(json!({"password": pw}))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_null());
    assert!(has(&h.admin(me, "GET", "/projects/acme/users/alice", None).await.body));
    let r = h.admin(me, "GET", "/projects/acme/users", None).await;
    let flags: Vec<(&str, bool)> =
        r.body.as_array().unwrap().iter().map(|u| (u["name"].as_str().unwrap(), has(u))).collect();
    assert_eq!(flags, [("alice", true), ("root", false)]);
    assert!(!r.body.to_string().contains("argon2"), "no hash in the listing");
    let u = h.iam.check_password("acme", "alice", pw).await.unwrap();
    assert_eq!((&u.project[..], &u.user[..]), ("acme", "alice"));
    assert!(h.iam.check_password("acme", "alice", "a wrong passphrase").await.is_err());

    // Weak ones are refused without echoing them; the old password stays.
    for weak in ["", "short-pw-11", &"y".repeat(1025)] {
        let r = h.admin(me, "PUT", "/projects/acme/users/alice/password", Some(json!({"password": weak}))).await;
        assert_eq!((r.status, r.code()), (400, "WeakPassword"), "{}", weak.len());
        if !weak.is_empty() {
            assert!(!r.body.to_string().contains(weak), "{}", r.body);
        }
    }
    h.iam.check_password("acme", "alice", pw).await.unwrap();

    // Malformed bodies: the message never repeats the body.
    for body in
        [json!({}), json!({"password": 42}), json!({"password": pw, "extra": pw}), json!({"pass": pw}), json!([pw])]
    {
        let r = h.admin(me, "PUT", "/projects/acme/users/alice/password", Some(body.clone())).await;
        assert_eq!((r.status, r.code()), (400, "MalformedJson"), "{body}");
        assert!(!r.body.to_string().contains(pw), "{}", r.body);
    }
    let r = h
        .admin_raw(me, "PUT", "/projects/acme/users/alice/password", format!("{{\"password\": \"{pw}").into_bytes())
        .await;
    assert_eq!((r.status, r.code()), (400, "MalformedJson"));
    assert!(!r.body.to_string().contains(pw), "{}", r.body);

    // Missing users and projects.
    let r = h.admin(me, "PUT", "/projects/acme/users/bob/password", Some(json!({"password": pw}))).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchUser"));
    let op = Some(&h.operator);
    let r = h.admin(op, "PUT", "/projects/nope/users/root/password", Some(json!({"password": pw}))).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchProject"));

    // Other projects are out of reach of a project root; the operator may.
    let r = h.admin(me, "PUT", "/projects/beta/users/root/password", Some(json!({"password": pw}))).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied"));
    let r = h.admin(Some(&beta), "PUT", "/projects/acme/users/alice/password", Some(json!({"password": null}))).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied"));
    h.iam.check_password("acme", "alice", pw).await.unwrap();
    let r = h.admin(op, "PUT", "/projects/beta/users/root/password", Some(json!({"password": pw}))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(h.iam.check_password("beta", "root", pw).await.unwrap().root);

    // null removes it.
    let r = h.admin(me, "PUT", "/projects/acme/users/alice/password", Some(json!({"password": null}))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(!has(&h.admin(me, "GET", "/projects/acme/users/alice", None).await.body));
    assert!(h.iam.check_password("acme", "alice", pw).await.is_err());

    // IAM users may not.
    h.admin(me, "PUT", "/projects/acme/users/alice/policy", Some(json!({"preset": "full-access"}))).await;
    let r = h.admin(me, "POST", "/projects/acme/keys", Some(json!({"user": "alice"}))).await;
    let alice = Creds::new(r.body["access_key"].as_str().unwrap(), r.body["secret_key"].as_str().unwrap());
    let r = h.admin(Some(&alice), "PUT", "/projects/acme/users/alice/password", Some(json!({"password": pw}))).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied"));
}

#[tokio::test]
async fn keys_show_their_secret_once() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    let me = Some(&root);
    h.admin(me, "POST", "/projects/acme/users", Some(json!({"name": "alice"}))).await;

    let r = h
        .admin(
            me,
            "POST",
            "/projects/acme/keys",
            Some(json!({"user": "alice", "region": "r2", "expires": "2999-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ak = r.body["access_key"].as_str().unwrap().to_owned();
    let sk = r.body["secret_key"].as_str().unwrap().to_owned();
    assert_eq!(sk.len(), 40);
    assert_eq!((r.body["user"].as_str(), r.body["region"].as_str()), (Some("alice"), Some("r2")));
    assert_eq!((r.body["status"].as_str(), r.body["expires"].as_str()), (Some("Active"), Some("2999-01-01T00:00:00Z")));

    let r = h.admin(me, "POST", "/projects/acme/keys", Some(json!({"region": "mars"}))).await;
    assert_eq!((r.status, r.code()), (400, "UnknownRegion"));
    let r = h.admin(me, "POST", "/projects/acme/keys", Some(json!({"user": "nobody"}))).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchUser"));
    let r = h.admin(me, "POST", "/projects/acme/keys", Some(json!({"expires": "soon"}))).await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument"));

    let r = h.admin(me, "GET", "/projects/acme/keys", None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2, "root's and alice's");
    assert!(!r.body.to_string().contains(&sk) && !r.body.to_string().contains("secret"));
    let r = h.admin(me, "GET", "/projects/acme/keys?user=alice", None).await;
    let keys = r.body.as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["access_key"], ak.as_str());
    assert!(keys[0]["last_used"].is_null());
    let r = h.admin(me, "GET", "/projects/acme/keys?user=nobody", None).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchUser"));

    let r = h.admin(me, "GET", &format!("/keys/{ak}"), None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("secret_key").is_none());
    assert_eq!(r.body["project"], "acme");

    let r = h.admin(me, "PATCH", &format!("/keys/{ak}"), Some(json!({"status": "Inactive"}))).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("Inactive")));
    let r = h.admin(me, "PATCH", &format!("/keys/{ak}"), Some(json!({"status": "Paused"}))).await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument"));
    // An inactive key of the project root is refused at once.
    let r = h.admin(me, "PATCH", &format!("/keys/{}", root.ak), Some(json!({"status": "Inactive"}))).await;
    assert_eq!(r.status, 200);
    let r = h.admin(me, "GET", "/projects/acme", None).await;
    assert_eq!((r.status, r.code()), (403, "InvalidAccessKeyId"));
    let op = Some(&h.operator);
    h.admin(op, "PATCH", &format!("/keys/{}", root.ak), Some(json!({"status": "Active"}))).await;
    assert_eq!(h.admin(me, "GET", "/projects/acme", None).await.status, 200);

    let r = h.admin(me, "DELETE", &format!("/keys/{ak}"), None).await;
    assert_eq!(r.status, 204);
    let r = h.admin(me, "DELETE", &format!("/keys/{ak}"), None).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchKey"));

    // The operator's own key is not managed here.
    let r = h.admin(op, "DELETE", &format!("/keys/{}", h.operator.ak), None).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied"));
    let r = h.admin(op, "GET", &format!("/keys/{}", h.operator.ak), None).await;
    assert_eq!((r.status, r.body["project"].as_str()), (200, Some("")));
}

#[tokio::test]
async fn project_roots_see_only_their_project() {
    let h = Harness::new().await;
    let acme = h.project("acme").await;
    let beta = h.project("beta").await;
    let me = Some(&acme);
    bucket(&h, "acme-data", "acme").await;
    bucket(&h, "beta-data", "beta").await;

    for (method, path) in [
        ("GET", "/projects/beta"),
        ("GET", "/projects/beta/users"),
        ("GET", "/projects/beta/keys"),
        ("GET", "/projects/beta/quota"),
        ("GET", "/projects/beta/usage"),
        ("GET", "/projects/beta/users/root/policy"),
        ("GET", "/buckets?project=beta"),
        ("DELETE", "/projects/beta"),
        ("DELETE", "/projects/acme"),
        ("DELETE", "/projects/beta/users/root"),
    ] {
        let r = h.admin(me, method, path, None).await;
        assert_eq!((r.status, r.code()), (403, "AccessDenied"), "{method} {path}");
    }
    for (method, path, body) in [
        ("POST", "/projects", json!({"name": "gamma"})),
        ("POST", "/projects/beta/users", json!({"name": "x"})),
        ("POST", "/projects/beta/keys", json!({})),
        ("PUT", "/projects/acme/quota", json!({"max_bytes": 1})),
        ("PUT", "/buckets/acme-data/quota", json!({"max_bytes": 1})),
    ] {
        let r = h.admin(me, method, path, Some(body)).await;
        assert_eq!((r.status, r.code()), (403, "AccessDenied"), "{method} {path}");
    }
    // Another project's bucket looks missing, like one that does not exist:
    // the answer must not name the project that owns it (issue #11, item 8).
    let theirs = h.admin(me, "GET", "/buckets/beta-data/quota", None).await;
    let missing = h.admin(me, "GET", "/buckets/no-such-bucket/quota", None).await;
    assert_eq!((theirs.status, theirs.code()), (404, "NoSuchBucket"));
    assert_eq!((missing.status, missing.code()), (404, "NoSuchBucket"));
    assert!(!theirs.body["error"]["message"].as_str().unwrap_or("beta").contains("beta"), "{}", theirs.body);
    assert_eq!(theirs.body["error"]["message"], missing.body["error"]["message"]);
    // Keys of another project look missing.
    for method in ["GET", "DELETE"] {
        let r = h.admin(me, method, &format!("/keys/{}", beta.ak), None).await;
        assert_eq!((r.status, r.code()), (404, "NoSuchKey"), "{method}");
    }
    let r = h.admin(me, "PATCH", &format!("/keys/{}", beta.ak), Some(json!({"status": "Inactive"}))).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchKey"));

    // Its own project is readable.
    let r = h.admin(me, "GET", "/projects", None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["name"], "acme");
    let r = h.admin(me, "GET", "/buckets", None).await;
    assert_eq!(
        r.body,
        json!([{"name":"acme-data","project":"acme","region":"r1","created":"2023-11-14T22:13:20Z","bytes":0,"objects":0}])
    );
    assert_eq!(h.admin(me, "GET", "/buckets/acme-data/quota", None).await.status, 200);
    assert_eq!(h.admin(me, "GET", "/regions", None).await.status, 200);

    // IAM users may not use the admin API at all.
    h.admin(me, "POST", "/projects/acme/users", Some(json!({"name": "alice"}))).await;
    h.admin(me, "PUT", "/projects/acme/users/alice/policy", Some(json!({"preset": "full-access"}))).await;
    let r = h.admin(me, "POST", "/projects/acme/keys", Some(json!({"user": "alice"}))).await;
    let alice = Creds::new(r.body["access_key"].as_str().unwrap(), r.body["secret_key"].as_str().unwrap());
    let r = h.admin(Some(&alice), "GET", "/projects/acme", None).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied"));
}

#[tokio::test]
async fn quotas_are_set_by_the_operator() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    let op = Some(&h.operator);
    bucket(&h, "acme-data", "acme").await;

    let r = h.admin(op, "PUT", "/projects/acme/quota", Some(json!({"max_bytes": 1000, "max_objects": null}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"max_bytes": 1000, "max_objects": null}));
    let r = h.admin(Some(&root), "GET", "/projects/acme/quota", None).await;
    assert_eq!(r.body, json!({"max_bytes": 1000, "max_objects": null}));
    assert_eq!(h.admin(op, "GET", "/projects/acme", None).await.body["quota"]["max_bytes"], 1000);
    let r = h.admin(op, "PUT", "/projects/nope/quota", Some(json!({"max_bytes": 1}))).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchProject"));
    let r = h.admin(op, "PUT", "/projects/acme/quota", Some(json!({"max_bytes": -1}))).await;
    assert_eq!((r.status, r.code()), (400, "MalformedJson"));

    let r = h.admin(op, "PUT", "/buckets/acme-data/quota", Some(json!({"max_objects": 5}))).await;
    assert_eq!(r.body, json!({"max_bytes": null, "max_objects": 5}));
    let r = h.admin(Some(&root), "GET", "/buckets/acme-data/quota", None).await;
    assert_eq!(r.body, json!({"max_bytes": null, "max_objects": 5}));
    let r = h.admin(op, "PUT", "/buckets/nope/quota", Some(json!({"max_objects": 5}))).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchBucket"));
    let r = h.admin(op, "GET", "/buckets/nope/quota", None).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchBucket"));
    let r = h.admin(op, "PUT", "/buckets/acme-data/quota", Some(json!({}))).await;
    assert_eq!(r.body, json!({"max_bytes": null, "max_objects": null}), "removed");

    let r = h.admin(op, "GET", "/buckets?project=acme", None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = h.admin(op, "GET", "/buckets?project=beta", None).await;
    assert_eq!(r.body, json!([]));
}

#[tokio::test]
async fn usage_is_reported_by_hour_with_totals() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    bucket(&h, "a", "acme").await;
    bucket(&h, "b", "acme").await;
    let hour = 1_700_000_000 / 3600 * 3600;
    let delta = |bucket: &str, hour: i64, get: u64| UsageDelta {
        project: "acme".into(),
        bucket: bucket.into(),
        hour,
        requests: RequestCounts { get, put: 1, ..Default::default() },
        bytes_in: 100,
        bytes_out: 10 * get,
    };
    h.store.add_usage(&[delta("a", hour, 2), delta("b", hour, 3), delta("a", hour + 3600, 5)]).await.unwrap();

    let r = h.admin(Some(&root), "GET", "/projects/acme/usage?from=2023-11-14&to=2023-11-15", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["from"], "2023-11-14T00:00:00Z");
    assert_eq!(r.body["to"], "2023-11-15T00:00:00Z");
    assert!(r.body["bucket"].is_null());
    let hours = r.body["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 3);
    assert_eq!(hours[0]["hour"], "2023-11-14T22:00:00Z");
    assert_eq!(hours[0]["bucket"], "a");
    assert_eq!(hours[0]["requests"], json!({"get": 2, "put": 1, "list": 0, "delete": 0, "other": 0}));
    assert_eq!(r.body["totals"]["requests"]["get"], 10);
    assert_eq!(r.body["totals"]["bytes_in"], 300);
    assert_eq!(r.body["totals"]["bytes_out"], 100);

    let r = h
        .admin(
            Some(&root),
            "GET",
            "/projects/acme/usage?bucket=a&from=2023-11-14T22:30:00Z&to=2023-11-14T23:00:00Z",
            None,
        )
        .await;
    assert_eq!(r.body["bucket"], "a");
    assert_eq!(r.body["from"], "2023-11-14T22:00:00Z", "rounded down to the hour");
    assert_eq!(r.body["hours"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["totals"]["requests"]["get"], 2);

    let r = h.admin(Some(&root), "GET", "/projects/acme/usage", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["hours"], json!([]), "nothing in the last 24 hours");
    let r = h.admin(Some(&root), "GET", "/projects/acme/usage?from=tomorrow", None).await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument"));
    let r = h.admin(Some(&root), "GET", "/projects/acme/usage?from=2023-11-15&to=2023-11-14", None).await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument"));
    let r = h.admin(Some(&h.operator), "GET", "/projects/nope/usage", None).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchProject"));
}

#[tokio::test]
async fn routing_authentication_and_the_openapi_document() {
    let h = Harness::new().await;
    let op = Some(&h.operator);

    let r = h.admin(None, "GET", "/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"], "3.0.3");

    let r = h.admin(None, "GET", "/projects", None).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied"));
    let r = h.admin(Some(&Creds::new(&h.operator.ak, "wrong")), "GET", "/projects", None).await;
    assert_eq!((r.status, r.code()), (403, "SignatureDoesNotMatch"));
    let r = h.admin(Some(&Creds::new("CKNOSUCHKEY000000000", "x")), "GET", "/projects", None).await;
    assert_eq!((r.status, r.code()), (403, "InvalidAccessKeyId"));

    let r = h.admin(op, "GET", "/nowhere", None).await;
    assert_eq!((r.status, r.code()), (404, "NotFound"));
    let r = h.admin(op, "PATCH", "/projects", None).await;
    assert_eq!((r.status, r.code()), (405, "MethodNotAllowed"));
    let r = h.admin_raw(op, "POST", "/projects", vec![b' '; coffer_admin::MAX_BODY + 1]).await;
    assert_eq!((r.status, r.code()), (413, "RequestTooLarge"));

    // The declared body hash must be the body's.
    let mut headers = http::HeaderMap::new();
    headers.insert("host", http::HeaderValue::from_static("admin.test"));
    let wrong_hash = coffer_s3_proto::sigv4::EMPTY_SHA256;
    coffer_s3_proto::sigv4::sign_request(
        "POST",
        "/_coffer/admin/v1/projects",
        "",
        &mut headers,
        wrong_hash,
        &h.operator.ak,
        &h.operator.sk,
        "r1",
        time::OffsetDateTime::now_utc(),
    );
    let mut req = http::Request::builder().method("POST").uri("/_coffer/admin/v1/projects");
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    let body = bytes::Bytes::from_static(br#"{"name":"sneaky"}"#);
    let (status, _, body) = h.send(req.body(http_body_util::Full::new(body)).unwrap()).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("XAmzContentSHA256Mismatch"));
    assert!(h.iam.project("sneaky").await.is_err());
}

/// `GET /buckets` pages by name with `?after=` and `?limit=`, per project or
/// for every project; without a limit it answers every bucket.
#[tokio::test]
async fn buckets_are_listed_in_pages() {
    let h = Harness::new().await;
    h.project("acme").await;
    h.project("beta").await;
    for (name, project) in [("a-3", "acme"), ("a-1", "acme"), ("b-1", "beta"), ("a-2", "acme")] {
        bucket(&h, name, project).await;
    }
    let op = Some(&h.operator);
    let names = |r: &serde_json::Value| -> Vec<String> {
        r.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap().to_owned()).collect()
    };
    let r = h.admin(op, "GET", "/buckets", None).await;
    assert_eq!(names(&r.body), ["a-1", "a-2", "a-3", "b-1"]);
    let r = h.admin(op, "GET", "/buckets?limit=2", None).await;
    assert_eq!(names(&r.body), ["a-1", "a-2"]);
    let r = h.admin(op, "GET", "/buckets?limit=2&after=a-2", None).await;
    assert_eq!(names(&r.body), ["a-3", "b-1"]);
    let r = h.admin(op, "GET", "/buckets?project=acme&after=a-1&limit=1", None).await;
    assert_eq!(names(&r.body), ["a-2"]);
    let r = h.admin(op, "GET", "/buckets?project=beta", None).await;
    assert_eq!(names(&r.body), ["b-1"]);
    for bad in ["0", "1001", "x"] {
        let r = h.admin(op, "GET", &format!("/buckets?limit={bad}"), None).await;
        assert_eq!((r.status, r.code()), (400, "InvalidArgument"), "limit={bad}");
    }
    let r = h.admin(op, "GET", "/projects/acme", None).await;
    assert_eq!(r.body["stored"]["buckets"], 3);
}
