//! The console's versioning, object lock and Block Public Access through the
//! real server: each setting and each version action is authorized with the
//! IAM action its S3 request needs (a user without it is refused, nothing
//! changes), every change needs the CSRF token, the S3 API sees what the
//! console set, and a locked version's delete is refused with a message,
//! never a 500. Lifecycle rules are listed, added and removed the same way.

mod common;

use common::admin::Key;
use common::*;
use serde_json::json;
use tokio::io::AsyncWriteExt;

const PASSWORD: &str = "correct horse 42";

/// A signed-in console session.
struct Session {
    console: std::net::SocketAddr,
    cookie: String,
    csrf: String,
}

async fn send(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> RawResponse {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = head.as_bytes().to_vec();
    req.extend_from_slice(body);
    s.write_all(&req).await.unwrap();
    read_response(&mut s).await
}

impl Session {
    async fn user(srv: &TestServer, project: &str, user: &str) -> Session {
        let console = srv.console_addr.expect("console enabled");
        let form = format!("kind=user&project={project}&user={user}&password=correct+horse+42");
        let head = format!(
            "POST /signin HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            form.len()
        );
        let r = send(console, &head, form.as_bytes()).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
        let mut s = Session { console, cookie, csrf: String::new() };
        let t = s.get("/buckets").await.text();
        let at = t.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
        s.csrf = t[at..at + t[at..].find('"').unwrap()].to_owned();
        s
    }

    async fn get(&self, path: &str) -> RawResponse {
        let head =
            format!("GET {path} HTTP/1.1\r\nhost: localhost\r\ncookie: {}\r\nconnection: close\r\n\r\n", self.cookie);
        send(self.console, &head, b"").await
    }

    /// A form POST; `csrf` false leaves the token out.
    async fn send_form(&self, path: &str, form: &str, csrf: bool) -> RawResponse {
        let body = if csrf { format!("csrf={}&{form}", self.csrf) } else { form.to_owned() };
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\ncookie: {}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            self.cookie,
            body.len()
        );
        send(self.console, &head, body.as_bytes()).await
    }

    async fn post(&self, path: &str, form: &str) -> RawResponse {
        self.send_form(path, form, true).await
    }

    async fn upload(&self, bucket: &str, key: &str, body: &[u8]) {
        let head = format!(
            "PUT /api/buckets/{bucket}/object?key={key} HTTP/1.1\r\nhost: localhost\r\ncookie: {}\r\n\
             x-csrf-token: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            self.cookie,
            self.csrf,
            body.len()
        );
        let r = send(self.console, &head, body).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

/// A project `alpha` whose root (key and console password) owns `bucket`.
async fn project_with_bucket(srv: &TestServer, bucket: &str, headers: &[(&str, &str)]) -> Key {
    srv.admin("POST", "/projects", Some(json!({"name": "alpha"}))).await;
    srv.admin("PUT", "/projects/alpha/users/root/password", Some(json!({"password": PASSWORD}))).await;
    let root = srv.new_key("alpha", None, None).await;
    let r = srv.request_as(Some(&root), REGION, "PUT", &format!("/{bucket}"), "", headers, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    root
}

/// A user of `alpha` allowed exactly `actions` on everything, with a console password.
async fn user_allowed(srv: &TestServer, name: &str, actions: &[&str]) -> Key {
    let doc = json!({"document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}]}});
    let key = srv.new_user("alpha", name, doc).await;
    srv.admin("PUT", &format!("/projects/alpha/users/{name}/password"), Some(json!({"password": PASSWORD}))).await;
    key
}

/// A bucket sub-resource read over S3 as `key`.
async fn s3_config(srv: &TestServer, key: &Key, bucket: &str, sub: &str) -> String {
    srv.request_as(Some(key), REGION, "GET", &format!("/{bucket}"), sub, &[], b"").await.text()
}

/// A version's download link on an object page.
const DOWNLOAD: &str = "class=\"button secondary download\"";

/// The version ids an object page lists, newest first.
fn listed_versions(page: &str) -> Vec<String> {
    page.match_indices("<tr data-version=\"").map(|(i, m)| page[i + m.len()..][..32].to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_authorized_like_s3_and_need_the_csrf_token() {
    let srv = TestServer::start().await;
    let root = project_with_bucket(&srv, "guarded", &[]).await;
    let viewer = ["s3:ListBucket", "s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration"];
    let mut all_get = viewer.to_vec();
    all_get.push("s3:GetBucketPublicAccessBlock");
    user_allowed(&srv, "looker", &all_get).await;
    user_allowed(&srv, "blind", &["s3:ListBucket"]).await;

    // Without the Put* actions: the state shows, no switch does, and posts are refused.
    let looker = Session::user(&srv, "alpha", "looker").await;
    let t = looker.get("/buckets/guarded").await.text();
    assert!(t.contains("id=\"versioning-state\"") && t.contains("<strong>Off.</strong>"), "{t}");
    assert!(!t.contains("id=\"enable-versioning\"") && !t.contains("id=\"save-bpa\""), "{t}");
    assert!(t.contains("s3:PutBucketPublicAccessBlock"), "{t}");
    for (path, form, action) in [
        ("/buckets/guarded/versioning", "state=enabled", "s3:PutBucketVersioning"),
        ("/buckets/guarded/object-lock", "enable=1&confirm=yes", "s3:PutBucketObjectLockConfiguration"),
        ("/buckets/guarded/public-access-block", "BlockPublicPolicy=1", "s3:PutBucketPublicAccessBlock"),
    ] {
        let r = looker.post(path, form).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(r.text().contains(action), "{path}: {}", r.text());
    }
    // Without the Get* actions: the panel says which action it lacks.
    let blind = Session::user(&srv, "alpha", "blind").await;
    let t = blind.get("/buckets/guarded").await.text();
    for action in ["s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketPublicAccessBlock"] {
        assert!(t.contains(action), "{action}: {t}");
    }

    // The root: no CSRF token, no change, on every new form.
    let s = Session::user(&srv, "alpha", "root").await;
    for (path, form) in [
        ("/buckets/guarded/versioning", "state=enabled"),
        ("/buckets/guarded/object-lock", "enable=1&confirm=yes"),
        ("/buckets/guarded/public-access-block", "BlockPublicPolicy=1"),
        ("/buckets/guarded/restore-version", "key=k&version=null"),
        ("/buckets/guarded/delete-version", "key=k&version=null&confirm=yes"),
    ] {
        let r = s.send_form(path, form, false).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(r.text().contains("security token"), "{path}");
    }
    assert!(!s3_config(&srv, &root, "guarded", "versioning").await.contains("<Status>"));
    let none = s3_config(&srv, &root, "guarded", "publicAccessBlock").await;
    assert!(none.contains("NoSuchPublicAccessBlockConfiguration"), "{none}");

    // Versioning on; object lock needs the confirmation, then on with a default retention.
    let r = s.post("/buckets/guarded/versioning", "state=enabled").await;
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().contains("settings=versioning-enabled"));
    assert!(s3_config(&srv, &root, "guarded", "versioning").await.contains("<Status>Enabled</Status>"));
    assert_eq!(s.post("/buckets/guarded/object-lock", "enable=1&mode=none").await.status, 400);
    let r = s.post("/buckets/guarded/object-lock", "mode=GOVERNANCE&period=1&unit=days").await;
    assert_eq!(r.status, 409, "retention before lock is on: {}", r.text());
    let r = s.post("/buckets/guarded/object-lock", "enable=1&confirm=yes&mode=none").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(s.post("/buckets/guarded/object-lock", "mode=GOVERNANCE&period=0&unit=days").await.status, 400);
    assert_eq!(s.post("/buckets/guarded/object-lock", "mode=COMPLIANCE&period=2&unit=years").await.status, 303);
    let cfg = s3_config(&srv, &root, "guarded", "object-lock").await;
    assert!(cfg.contains("<Mode>COMPLIANCE</Mode><Years>2</Years>"), "{cfg}");
    let t = s.get("/buckets/guarded?settings=retention").await.text();
    assert!(t.contains("COMPLIANCE, 2 years") && t.contains("id=\"suspend-refused\""), "{t}");
    assert!(t.contains("<details class=\"card settings\" id=\"settings\" open>"), "the panel opens after a change");
    // Lock on: versioning cannot be suspended, and says why.
    let r = s.post("/buckets/guarded/versioning", "state=suspended").await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("object lock cannot be turned off"), "{}", r.text());
    assert!(s3_config(&srv, &root, "guarded", "versioning").await.contains("<Status>Enabled</Status>"));
    assert_eq!(s.post("/buckets/guarded/object-lock", "mode=none").await.status, 303);
    assert!(!s3_config(&srv, &root, "guarded", "object-lock").await.contains("<Rule>"));

    // Block Public Access: the switches checked are the ones S3 then reports.
    let r = s.post("/buckets/guarded/public-access-block", "BlockPublicPolicy=1&IgnorePublicAcls=1").await;
    assert_eq!(r.status, 303);
    let bpa = s3_config(&srv, &root, "guarded", "publicAccessBlock").await;
    for (name, on) in [
        ("BlockPublicAcls", false),
        ("IgnorePublicAcls", true),
        ("BlockPublicPolicy", true),
        ("RestrictPublicBuckets", false),
    ] {
        assert!(bpa.contains(&format!("<{name}>{on}</{name}>")), "{name}: {bpa}");
    }
    let t = s.get("/buckets/guarded").await.text();
    assert!(t.contains("id=\"public-blocked\"") && !t.contains("id=\"make-public\""), "{t}");
    assert!(t.contains("id=\"bpa-BlockPublicPolicy\" checked"), "{t}");
    assert!(!t.contains("id=\"project-bpa\""));
    // The project's switches are noted (the engine sees an admin change within half a second).
    let on = json!({"block_public_acls": true, "ignore_public_acls": false, "block_public_policy": false, "restrict_public_buckets": false});
    let (st, _) = srv.admin_as(&root, "PUT", "/projects/alpha/public-access-block", Some(on)).await;
    assert_eq!(st, 200);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let t = s.get("/buckets/guarded").await.text();
    assert!(t.contains("id=\"project-bpa\"") && t.contains("is on (BlockPublicAcls)"), "{t}");
    // All off again: stored as four switches off.
    assert_eq!(s.post("/buckets/guarded/public-access-block", "").await.status, 303);
    assert!(s3_config(&srv, &root, "guarded", "publicAccessBlock").await.contains("<BlockPublicPolicy>false<"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_list_download_restore_and_delete_each_need_their_action() {
    let srv = TestServer::start().await;
    let root = project_with_bucket(&srv, "hist", &[]).await;
    let s = Session::user(&srv, "alpha", "root").await;
    assert_eq!(s.post("/buckets/hist/versioning", "state=enabled").await.status, 303);
    s.upload("hist", "doc.txt", b"first").await;
    s.upload("hist", "doc.txt", b"second").await;
    s.upload("hist", "doc.txt.bak", b"not this key").await;

    // Newest first, the latest marked; the longer key sharing the prefix is not listed.
    let t = s.get("/buckets/hist/object?key=doc.txt").await.text();
    let ids = listed_versions(&t);
    assert_eq!(ids.len(), 2, "{t}");
    assert_eq!(t.matches("badge latest").count(), 1);
    assert!(t.find(&ids[0]).unwrap() < t.find("badge latest").unwrap());
    let (new, old) = (ids[0].clone(), ids[1].clone());
    // The totals count both versions.
    assert!(s.get("/buckets/hist").await.text().contains("in 3 objects"));

    let r = s.get(&format!("/buckets/hist/download?key=doc.txt&version={old}")).await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"first"[..]));
    assert_eq!(s.get("/buckets/hist/download?key=doc.txt&version=nope").await.status, 400);

    // Restore the older one: a copy on top, three versions, the S3 GET reads it.
    let r = s.post("/buckets/hist/restore-version", &format!("key=doc.txt&version={old}")).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().contains(&format!("restored={old}")));
    let got = srv.as_key(Some(&root), "GET", "/hist/doc.txt", "", b"").await;
    assert_eq!(got.body, b"first");
    let t = s.get(r.header("location").unwrap()).await.text();
    assert_eq!(listed_versions(&t).len(), 3);
    assert!(t.contains("a copy of it is now the latest version"), "{t}");

    // Delete one version: asked first, then gone for good.
    let r = s.post("/buckets/hist/delete-version", &format!("key=doc.txt&version={new}")).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("id=\"confirm-delete-version\""));
    assert_eq!(listed_versions(&s.get("/buckets/hist/object?key=doc.txt").await.text()).len(), 3);
    let r = s.post("/buckets/hist/delete-version", &format!("key=doc.txt&version={new}&confirm=yes")).await;
    assert_eq!(r.status, 303);
    let ids = listed_versions(&s.get("/buckets/hist/object?key=doc.txt").await.text());
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&new));

    // Deleted (a delete marker on top): gone from the listing, found with "Show versions",
    // its page still there; its download a 404, not a 500.
    let r = s.post("/buckets/hist/delete-objects", "key=doc.txt&confirm=yes").await;
    assert_eq!(r.status, 303);
    let t = s.get("/buckets/hist").await.text();
    assert!(!t.contains(">doc.txt<") && t.contains("id=\"versions-toggle\""), "{t}");
    let t = s.get("/buckets/hist?versions=1").await.text();
    assert!(t.contains(">doc.txt<") && t.contains("badge marker"), "{t}");
    let t = s.get("/buckets/hist/object?key=doc.txt").await.text();
    assert!(t.contains("id=\"object-deleted\""), "{t}");
    assert_eq!(listed_versions(&t).len(), 3);
    assert_eq!(s.get("/buckets/hist/download?key=doc.txt").await.status, 404);
    assert_eq!(s.post("/buckets/hist/share", "key=doc.txt&expires=3600").await.status, 404);
    // Removing the marker brings the object back.
    let marker = listed_versions(&t)[0].clone();
    let r = s.post("/buckets/hist/delete-version", &format!("key=doc.txt&version={marker}&confirm=yes")).await;
    assert_eq!(r.status, 303);
    assert_eq!(srv.as_key(Some(&root), "GET", "/hist/doc.txt", "", b"").await.body, b"first");

    // A user without the version actions: no buttons, and each post refused.
    user_allowed(&srv, "plain", &["s3:ListBucket", "s3:ListBucketVersions", "s3:GetObject", "s3:PutObject"]).await;
    let p = Session::user(&srv, "alpha", "plain").await;
    let t = p.get("/buckets/hist/object?key=doc.txt").await.text();
    assert_eq!(listed_versions(&t).len(), 2);
    assert!(!t.contains("/restore-version") && !t.contains("/delete-version") && !t.contains(DOWNLOAD), "{t}");
    let old = listed_versions(&t)[1].clone();
    for (r, action) in [
        (p.get(&format!("/buckets/hist/download?key=doc.txt&version={old}")).await, "s3:GetObjectVersion"),
        (p.post("/buckets/hist/restore-version", &format!("key=doc.txt&version={old}")).await, "s3:GetObjectVersion"),
        (
            p.post("/buckets/hist/delete-version", &format!("key=doc.txt&version={old}&confirm=yes")).await,
            "s3:DeleteObjectVersion",
        ),
    ] {
        assert_eq!(r.status, 403, "{action}");
        assert!(r.text().contains(action), "{action}: {}", r.text());
    }
    // Reading versions but not writing: the restore needs s3:PutObject too.
    user_allowed(&srv, "reader", &["s3:ListBucketVersions", "s3:GetObject", "s3:GetObjectVersion"]).await;
    let r = Session::user(&srv, "alpha", "reader").await;
    let t = r.get("/buckets/hist/object?key=doc.txt").await.text();
    assert!(t.contains(DOWNLOAD) && !t.contains("/restore-version"), "{t}");
    let resp = r.post("/buckets/hist/restore-version", &format!("key=doc.txt&version={old}")).await;
    assert_eq!(resp.status, 403);
    assert!(resp.text().contains("s3:PutObject"));
    // No s3:ListBucketVersions: the page says so, and so does "Show versions".
    user_allowed(&srv, "nolist", &["s3:ListBucket", "s3:GetObject"]).await;
    let n = Session::user(&srv, "alpha", "nolist").await;
    assert!(n.get("/buckets/hist/object?key=doc.txt").await.text().contains("(s3:ListBucketVersions)"));
    assert!(n.get("/buckets/hist?versions=1").await.text().contains("(s3:ListBucketVersions)"));
    assert_eq!(srv.as_key(Some(&root), "GET", "/hist/doc.txt", "", b"").await.body, b"first");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_version_is_refused_with_a_message() {
    let srv = TestServer::start().await;
    let root = project_with_bucket(&srv, "vault", &[("x-amz-bucket-object-lock-enabled", "true")]).await;
    let s = Session::user(&srv, "alpha", "root").await;
    assert_eq!(s.post("/buckets/vault/object-lock", "mode=GOVERNANCE&period=1&unit=days").await.status, 303);
    s.upload("vault", "ledger.csv", b"a,b").await;
    let t = s.get("/buckets/vault/object?key=ledger.csv").await.text();
    assert!(t.contains("GOVERNANCE until"), "{t}");
    let id = listed_versions(&t)[0].clone();
    let r = s.post("/buckets/vault/delete-version", &format!("key=ledger.csv&version={id}&confirm=yes")).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let t = r.text();
    assert!(t.contains("id=\"version-refused\"") && t.contains("under retention (GOVERNANCE until"), "{t}");
    assert!(!t.contains("id=\"confirm-delete-version\""), "no button to try again");
    assert_eq!(srv.as_key(Some(&root), "GET", "/vault/ledger.csv", "", b"").await.body, b"a,b");

    // A legal hold (set over S3) is refused the same way, even without retention.
    assert_eq!(s.post("/buckets/vault/object-lock", "mode=none").await.status, 303);
    s.upload("vault", "held.txt", b"held").await;
    let hold = b"<LegalHold><Status>ON</Status></LegalHold>";
    let md5 = md5_b64(hold);
    let r = srv
        .request_as(Some(&root), REGION, "PUT", "/vault/held.txt", "legal-hold", &[("content-md5", md5.as_str())], hold)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = s.get("/buckets/vault/object?key=held.txt").await.text();
    let id = listed_versions(&t)[0].clone();
    assert!(t.contains("<td data-label=\"Legal hold\">on</td>"), "{t}");
    let r = s.post("/buckets/vault/delete-version", &format!("key=held.txt&version={id}&confirm=yes")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("under a legal hold"), "{}", r.text());
    // Hiding it behind a delete marker is allowed, as on S3.
    assert_eq!(s.post("/buckets/vault/delete-objects", "key=held.txt&confirm=yes").await.status, 303);
    let r = s.post("/buckets/vault/restore-version", &format!("key=held.txt&version={id}")).await;
    assert_eq!(r.status, 303);
    assert_eq!(srv.as_key(Some(&root), "GET", "/vault/held.txt", "", b"").await.body, b"held");
    srv.stop().await;
}

/// The href of the link with `id` on a page, unescaped.
fn link(page: &str, id: &str) -> Option<String> {
    let at = page.find(&format!("id=\"{id}\""))?;
    let h = page[..at].rfind("href=\"")? + 6;
    Some(page[h..h + page[h..].find('"')?].replace("&#38;", "&").replace("&amp;", "&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_versions_follow_the_listing() {
    let srv = TestServer::start().await;
    let root = project_with_bucket(&srv, "many", &[]).await;
    let s = Session::user(&srv, "alpha", "root").await;
    assert_eq!(s.post("/buckets/many/versioning", "state=enabled").await.status, 303);
    let c = srv.client_with(&root.ak, &root.sk);
    for i in 0..52 {
        c.put_object().bucket("many").key("k").body(format!("v{i}").into_bytes().into()).send().await.unwrap();
    }
    c.put_object().bucket("many").key("k2").body(b"other".to_vec().into()).send().await.unwrap();

    // An object's versions: 50, then the 2 oldest on the next page, none of k2's.
    let first = s.get("/buckets/many/object?key=k").await.text();
    let ids = listed_versions(&first);
    assert_eq!(ids.len(), 50);
    let older = link(&first, "older-versions").expect("a link to older versions");
    let second = s.get(&older).await.text();
    let rest = listed_versions(&second);
    assert_eq!(rest.len(), 2, "{second}");
    assert!(rest.iter().all(|id| !ids.contains(id)));
    assert!(link(&second, "older-versions").is_none() && second.contains("Newest versions"));
    let oldest = rest[1].clone();
    let r = s.get(&format!("/buckets/many/download?key=k&version={oldest}")).await;
    assert_eq!(r.body, b"v0");

    // The folder's versions, two a page: 53 rows over 27 pages, each once.
    let mut path = "/buckets/many?versions=1&per=2".to_owned();
    let mut seen = Vec::new();
    for _ in 0..40 {
        let t = s.get(&path).await.text();
        seen.extend(t.match_indices("<tr data-version=\"").map(|(i, m)| t[i + m.len()..][..32].to_owned()));
        match link(&t, "next-page") {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 53);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 53, "no version twice");
    srv.stop().await;
}

/// The lifecycle rules a console page lists, by ID.
fn listed_rules(page: &str) -> Vec<String> {
    page.match_indices("<li data-rule=\"")
        .map(|(i, m)| page[i + m.len()..].split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_rules_are_listed_added_and_removed_like_s3() {
    let srv = TestServer::start().await;
    let root = project_with_bucket(&srv, "aging", &[]).await;
    user_allowed(&srv, "reader", &["s3:ListBucket", "s3:GetLifecycleConfiguration"]).await;
    user_allowed(&srv, "blind", &["s3:ListBucket"]).await;
    let none = s3_config(&srv, &root, "aging", "lifecycle").await;
    assert!(none.contains("NoSuchLifecycleConfiguration"), "{none}");

    // The root: no CSRF token, no change.
    let s = Session::user(&srv, "alpha", "root").await;
    let t = s.get("/buckets/aging").await.text();
    assert!(t.contains("id=\"lifecycle-none\"") && t.contains("id=\"lifecycle-form\""), "{t}");
    for (path, form) in [("/buckets/aging/lifecycle-add", "expire_days=7"), ("/buckets/aging/lifecycle-remove", "id=x")]
    {
        let r = s.send_form(path, form, false).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(r.text().contains("security token"), "{path}");
    }
    assert!(s3_config(&srv, &root, "aging", "lifecycle").await.contains("NoSuchLifecycleConfiguration"));

    // Bad values: 400 with a message, nothing stored.
    for (form, says) in [
        ("expire_days=0", "whole number from 1"),
        ("expire_days=soon", "whole number from 1"),
        ("prefix=logs%2F", "at least one action"),
        ("keep_newest=2&abort_days=1", "needs the days"),
    ] {
        let r = s.post("/buckets/aging/lifecycle-add", form).await;
        assert_eq!(r.status, 400, "{form}: {}", r.text());
        assert!(r.text().contains(says), "{form}: {}", r.text());
    }
    let long = format!("name={}&abort_days=1", "n".repeat(256));
    assert_eq!(s.post("/buckets/aging/lifecycle-add", &long).await.status, 400);
    assert!(s3_config(&srv, &root, "aging", "lifecycle").await.contains("NoSuchLifecycleConfiguration"));

    // Added in the console: S3 answers with the same rules.
    let r = s.post("/buckets/aging/lifecycle-add", "name=&prefix=logs%2F&expire_days=7").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().contains("settings=lifecycle-added"));
    let form = "name=old+versions&noncurrent_days=30&keep_newest=3&abort_days=2";
    assert_eq!(s.post("/buckets/aging/lifecycle-add", form).await.status, 303);
    let r = s.post("/buckets/aging/lifecycle-add", "name=old+versions&abort_days=1").await;
    assert_eq!(r.status, 400, "a name taken");
    assert!(r.text().contains("already has a rule named old versions"), "{}", r.text());
    let xml = s3_config(&srv, &root, "aging", "lifecycle").await;
    assert!(xml.contains("<ID>rule-1</ID>") && xml.contains("<Prefix>logs/</Prefix>"), "{xml}");
    assert!(xml.contains("<Expiration><Days>7</Days></Expiration>"), "{xml}");
    assert!(xml.contains("<ID>old versions</ID>") && xml.contains("<NoncurrentDays>30</NoncurrentDays>"), "{xml}");
    assert!(xml.contains("<NewerNoncurrentVersions>3</NewerNoncurrentVersions>"), "{xml}");
    assert!(xml.contains("<DaysAfterInitiation>2</DaysAfterInitiation>"), "{xml}");
    let t = s.get("/buckets/aging?settings=lifecycle-added").await.text();
    assert_eq!(listed_rules(&t), ["rule-1", "old versions"]);
    assert!(t.contains("prefix logs/: expire after 7 days"), "{t}");
    assert!(t.contains(
        "delete noncurrent versions after 30 days, keeping the newest 3; abort incomplete uploads after 2 days"
    ));

    // Set through S3 (tags and sizes): listed in words, read only but removable.
    let doc = "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
        <Rule><ID>tmp</ID><Status>Enabled</Status><Filter><And><Prefix>logs/</Prefix><Tag><Key>class</Key><Value>tmp</Value></Tag>\
        <ObjectSizeGreaterThan>1024</ObjectSizeGreaterThan></And></Filter><Expiration><Days>7</Days></Expiration></Rule>\
        <Rule><ID>all</ID><Status>Disabled</Status><Filter></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>\
        </LifecycleConfiguration>";
    let md5 = md5_b64(doc.as_bytes());
    let r = srv
        .request_as(Some(&root), REGION, "PUT", "/aging", "lifecycle", &[("content-md5", &md5)], doc.as_bytes())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = s.get("/buckets/aging").await.text();
    assert_eq!(listed_rules(&t), ["tmp", "all"]);
    assert!(t.contains("prefix logs/, tag class=tmp, larger than 1024 bytes (1.0 KiB): expire after 7 days"), "{t}");
    assert!(t.contains("all objects: abort incomplete uploads after 1 day (disabled)"), "{t}");

    // A reader sees the rules and no form; its posts are refused, nothing changes.
    let reader = Session::user(&srv, "alpha", "reader").await;
    let t = reader.get("/buckets/aging").await.text();
    assert_eq!(listed_rules(&t), ["tmp", "all"]);
    assert!(!t.contains("id=\"lifecycle-form\"") && !t.contains("remove-rule"), "{t}");
    assert!(t.contains("s3:PutLifecycleConfiguration"), "{t}");
    for (path, form) in
        [("/buckets/aging/lifecycle-add", "expire_days=1"), ("/buckets/aging/lifecycle-remove", "id=tmp")]
    {
        let r = reader.post(path, form).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(r.text().contains("s3:PutLifecycleConfiguration"), "{path}: {}", r.text());
    }
    let blind = Session::user(&srv, "alpha", "blind").await;
    let t = blind.get("/buckets/aging").await.text();
    assert!(t.contains("s3:GetLifecycleConfiguration") && listed_rules(&t).is_empty(), "{t}");
    let xml = s3_config(&srv, &root, "aging", "lifecycle").await;
    assert!(xml.contains("<ID>tmp</ID>") && xml.contains("<ID>all</ID>"), "{xml}");

    // Removing: an unknown ID is 404; the last rule takes the configuration with it.
    assert_eq!(s.post("/buckets/aging/lifecycle-remove", "id=nope").await.status, 404);
    let r = s.post("/buckets/aging/lifecycle-remove", "id=tmp").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().contains("settings=lifecycle-removed"));
    let xml = s3_config(&srv, &root, "aging", "lifecycle").await;
    assert!(!xml.contains("<ID>tmp</ID>") && xml.contains("<ID>all</ID>"), "{xml}");
    assert_eq!(s.post("/buckets/aging/lifecycle-remove", "id=all").await.status, 303);
    let gone = s3_config(&srv, &root, "aging", "lifecycle").await;
    assert!(gone.contains("NoSuchLifecycleConfiguration"), "{gone}");
    assert!(s.get("/buckets/aging").await.text().contains("id=\"lifecycle-none\""));

    // Two adds at once: both rules are kept, neither undoes the other.
    let (a, b) = tokio::join!(
        s.post("/buckets/aging/lifecycle-add", "name=one&expire_days=1"),
        s.post("/buckets/aging/lifecycle-add", "name=two&expire_days=2"),
    );
    assert_eq!((a.status, b.status), (303, 303));
    let xml = s3_config(&srv, &root, "aging", "lifecycle").await;
    assert!(xml.contains("<ID>one</ID>") && xml.contains("<ID>two</ID>"), "{xml}");
    srv.stop().await;
}
