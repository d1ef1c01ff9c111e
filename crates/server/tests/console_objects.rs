//! The console's object browser through the real server: pages, the upload
//! API (single and multipart, streamed through the console listener),
//! downloads, share links that the S3 endpoint honours, multi-select delete,
//! the public switch, and what restricted and foreign principals get.

mod common;

use common::admin::Key;
use common::*;
use serde_json::json;
use tokio::io::AsyncWriteExt;

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

/// HTML attribute text back to what it says.
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&").replace("&#34;", "\"").replace("&quot;", "\"")
}

impl Session {
    async fn sign_in(srv: &TestServer, form: &str) -> Session {
        let console = srv.console_addr.expect("console enabled");
        let head = format!(
            "POST /signin HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            form.len()
        );
        let r = send(console, &head, form.as_bytes()).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
        let mut s = Session { console, cookie, csrf: String::new() };
        let page = s.get("/buckets").await;
        let t = page.text();
        let at = t.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
        s.csrf = t[at..at + t[at..].find('"').unwrap()].to_owned();
        s
    }

    async fn operator(srv: &TestServer) -> Session {
        Session::sign_in(srv, &format!("kind=operator&access_key={AK}&secret_key={SK}")).await
    }

    async fn get(&self, path: &str) -> RawResponse {
        let head =
            format!("GET {path} HTTP/1.1\r\nhost: localhost\r\ncookie: {}\r\nconnection: close\r\n\r\n", self.cookie);
        send(self.console, &head, b"").await
    }

    async fn post(&self, path: &str, form: &str) -> RawResponse {
        let body = format!("csrf={}&{form}", self.csrf);
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\ncookie: {}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            self.cookie,
            body.len()
        );
        send(self.console, &head, body.as_bytes()).await
    }

    /// An upload API call; `csrf` false leaves the token out.
    async fn api(&self, method: &str, path: &str, body: &[u8], csrf: bool) -> (u16, serde_json::Value) {
        let token = if csrf { format!("x-csrf-token: {}\r\n", self.csrf) } else { String::new() };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncookie: {}\r\n{token}content-length: {}\r\nconnection: close\r\n\r\n",
            self.cookie,
            body.len()
        );
        let r = send(self.console, &head, body).await;
        (r.status, serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null))
    }
}

/// The share link shown on an object page.
fn share_url(page: &str) -> String {
    let at = page.find("id=\"share-url\"").expect("a share link");
    let start = page[at..].find('>').unwrap() + at + 1;
    unescape(&page[start..start + page[start..].find('<').unwrap()])
}

/// GETs a share link (on the S3 endpoint) without any credentials of ours.
async fn fetch(srv: &TestServer, url: &str) -> RawResponse {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    srv.raw(format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").as_bytes()).await
}

async fn s3_get(srv: &TestServer, bucket: &str, key: &str) -> Vec<u8> {
    let o = srv.client().get_object().bucket(bucket).key(key).send().await.unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn put(srv: &TestServer, bucket: &str, key: &str, body: &[u8]) {
    srv.client().put_object().bucket(bucket).key(key).body(body.to_vec().into()).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_lists_folders_pages_and_escapes_keys() {
    let srv = TestServer::start().await;
    srv.client().create_bucket().bucket("photos").send().await.unwrap();
    for k in
        ["docs/a.txt", "docs/sub/b.txt", "<img src=x onerror=alert(1)>.txt", "<script>alert(2)</script>", "top.bin"]
    {
        put(&srv, "photos", k, b"x").await;
    }
    for i in 0..250 {
        put(&srv, "photos", &format!("many/{i:04}"), &vec![b'y'; i]).await;
    }
    let s = Session::operator(&srv).await;
    let root = s.get("/buckets/photos").await;
    assert_eq!(root.status, 200);
    let t = root.text();
    assert!(t.contains("?prefix=docs%2F"), "folder link: {t}");
    assert!(!t.contains("<img src=x") && !t.contains("<script>alert"), "keys must be escaped");
    assert!(t.contains("&#60;img src=x onerror=alert(1)&#62;.txt"), "{t}");
    // "</" makes "<script>alert(2)<" a folder; escaped too.
    assert!(t.contains("📁 &#60;script&#62;alert(2)&#60;/<"), "{t}");
    assert!(t.contains("top.bin"));

    let docs = s.get("/buckets/photos?prefix=docs%2F").await.text();
    assert!(docs.contains(">a.txt<") && docs.contains("sub/"), "{docs}");
    assert!(!docs.contains("top.bin"));

    // Pages of 100 through 250 keys, following the page's own links.
    let mut path = "/buckets/photos?prefix=many%2F&per=100".to_owned();
    let mut seen = Vec::new();
    loop {
        let t = s.get(&path).await.text();
        seen.push(t.matches("name=\"key\"").count());
        match t.find("id=\"next-page\"") {
            None => break,
            Some(i) => {
                let h = t[..i].rfind("href=\"").unwrap() + 6;
                path = unescape(&t[h..h + t[h..].find('"').unwrap()]);
            }
        }
    }
    assert_eq!(seen, [100, 100, 50]);
    // Sorting by size, descending, orders the page by size.
    let t = s.get("/buckets/photos?prefix=many%2F&per=5&sort=size&desc=1").await.text();
    let first = t.find(">0004<").unwrap();
    let last = t.find(">0000<").unwrap();
    assert!(first < last, "largest first");
    // Search by prefix within the folder.
    let t = s.get("/buckets/photos?prefix=many%2F&q=01").await.text();
    assert_eq!(t.matches("name=\"key\"").count(), 100, "0100..0199");
    let t = s.get("/buckets/photos?prefix=many%2F&q=zz").await.text();
    assert!(t.contains("Nothing here starts with"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_downloads_and_csrf() {
    let srv = TestServer::start().await;
    srv.client().create_bucket().bucket("upl").send().await.unwrap();
    let s = Session::operator(&srv).await;
    let data = pattern(300_000, 7);
    let (st, j) = s.api("PUT", "/api/buckets/upl/object?key=dir%2Fx%20y.bin", &data, true).await;
    assert_eq!(st, 200, "{j}");
    assert_eq!(s3_get(&srv, "upl", "dir/x y.bin").await, data);

    // No token, or no session: refused and nothing stored.
    let (st, _) = s.api("PUT", "/api/buckets/upl/object?key=nope", b"x", false).await;
    assert_eq!(st, 403);
    let anon = Session { console: s.console, cookie: "coffer_session=forged".into(), csrf: s.csrf.clone() };
    let (st, _) = anon.api("PUT", "/api/buckets/upl/object?key=nope", b"x", true).await;
    assert_eq!(st, 401);
    assert!(srv.client().head_object().bucket("upl").key("nope").send().await.is_err());

    // Multipart: two parts, completed, read back over S3.
    let big = pattern(5 * 1024 * 1024 + 1234, 3);
    let (st, j) = s.api("POST", "/api/buckets/upl/uploads?key=big.bin", b"", true).await;
    assert_eq!(st, 200, "{j}");
    let id = j["uploadId"].as_str().unwrap().to_owned();
    let mut parts = Vec::new();
    for (n, chunk) in big.chunks(5 * 1024 * 1024).enumerate() {
        let (st, j) =
            s.api("PUT", &format!("/api/buckets/upl/uploads/{id}?key=big.bin&part={}", n + 1), chunk, true).await;
        assert_eq!(st, 200, "{j}");
        parts.push(json!({"part": n + 1, "etag": j["etag"]}));
    }
    let body = json!({ "parts": parts }).to_string();
    let (st, j) =
        s.api("POST", &format!("/api/buckets/upl/uploads/{id}/complete?key=big.bin"), body.as_bytes(), true).await;
    assert_eq!(st, 200, "{j}");
    assert_eq!(s3_get(&srv, "upl", "big.bin").await, big);

    // Cancelled: the upload is gone.
    let (_, j) = s.api("POST", "/api/buckets/upl/uploads?key=gone.bin", b"", true).await;
    let id = j["uploadId"].as_str().unwrap().to_owned();
    s.api("PUT", &format!("/api/buckets/upl/uploads/{id}?key=gone.bin&part=1"), b"abc", true).await;
    let (st, _) = s.api("DELETE", &format!("/api/buckets/upl/uploads/{id}?key=gone.bin"), b"", true).await;
    assert_eq!(st, 200);
    let ups = srv.client().list_multipart_uploads().bucket("upl").send().await.unwrap();
    assert!(ups.uploads().is_empty());

    // Download: the bytes, as an attachment that the console never renders.
    let r = s.get("/buckets/upl/download?key=dir%2Fx%20y.bin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert!(r.header("content-disposition").unwrap().starts_with("attachment; filename=\"x y.bin\""));
    assert!(r.header("content-security-policy").unwrap().contains("sandbox"));
    assert_eq!(s.get("/buckets/upl/download?key=missing").await.status, 404);

    // Details.
    let t = s.get("/buckets/upl/object?key=big.bin").await.text();
    assert!(t.contains(&format!("({} bytes)", big.len())), "{t}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_links_delete_and_public_switch() {
    let srv = TestServer::start().await;
    srv.client().create_bucket().bucket("share").send().await.unwrap();
    put(&srv, "share", "f/one.txt", b"one").await;
    put(&srv, "share", "f/two.txt", b"two").await;
    put(&srv, "share", "keep.txt", b"keep").await;
    let s = Session::operator(&srv).await;

    let r = s.post("/buckets/share/share", "key=keep.txt&expires=3600").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = share_url(&r.text());
    assert!(url.starts_with(&format!("http://localhost:{}/share/keep.txt?", srv.addr.port())), "{url}");
    let got = fetch(&srv, &url).await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.body, b"keep");
    assert_eq!(s.post("/buckets/share/share", "key=keep.txt&expires=99").await.status, 400);

    // Multi-select: confirmation first, then the folder and the key go.
    let r = s.post("/buckets/share/delete-objects", "folder=f%2F&key=keep.txt").await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("f/ (folder, everything in it)"));
    assert_eq!(srv.client().list_objects_v2().bucket("share").send().await.unwrap().key_count(), Some(3));
    let r = s.post("/buckets/share/delete-objects", "folder=f%2F&key=keep.txt&confirm=yes").await;
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().contains("deleted=3"));
    assert_eq!(srv.client().list_objects_v2().bucket("share").send().await.unwrap().key_count(), Some(0));

    // Public switch: anonymous reads follow it.
    put(&srv, "share", "pub.txt", b"pub").await;
    let anon = || srv.raw(b"GET /share/pub.txt HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    assert_eq!(anon().await.status, 403);
    assert_eq!(s.post("/buckets/share/visibility", "public=1").await.status, 303);
    assert_eq!(anon().await.status, 200);
    assert!(s.get("/buckets/share").await.text().contains("badge public"));
    assert_eq!(s.post("/buckets/share/visibility", "public=0").await.status, 303);
    assert_eq!(anon().await.status, 403);
    // Block Public Access (BlockPublicPolicy) holds on the switch too.
    let bpa =
        b"<PublicAccessBlockConfiguration><BlockPublicPolicy>true</BlockPublicPolicy></PublicAccessBlockConfiguration>";
    assert_eq!(srv.signed("PUT", "/share", "publicAccessBlock", &[], bpa).await.status, 200);
    let r = s.post("/buckets/share/visibility", "public=1").await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("Block Public Access"), "{}", r.text());
    assert_eq!(anon().await.status, 403);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_and_foreign_users_see_only_what_policy_allows() {
    let srv = TestServer::start().await;
    srv.admin("POST", "/projects", Some(json!({"name": "alpha"}))).await;
    srv.admin("POST", "/projects", Some(json!({"name": "beta"}))).await;
    let alpha = srv.new_key("alpha", None, None).await;
    let a = srv.client_with(&alpha.ak, &alpha.sk);
    a.create_bucket().bucket("alpha-data").send().await.unwrap();
    a.put_object().bucket("alpha-data").key("doc.txt").body(b"secret".to_vec().into()).send().await.unwrap();
    let reader: Key = srv.new_user("alpha", "reader", json!({"preset": "read-object-only"})).await;
    for (p, u) in [("alpha", "reader"), ("beta", "root")] {
        srv.admin("PUT", &format!("/projects/{p}/users/{u}/password"), Some(json!({"password": "correct horse 42"})))
            .await;
    }

    // The read-object-only user: no listing, but objects open by key; no upload, no delete.
    let r = Session::sign_in(&srv, "kind=user&project=alpha&user=reader&password=correct+horse+42").await;
    let t = r.get("/buckets/alpha-data").await.text();
    assert!(t.contains("does not allow listing this bucket"), "{t}");
    assert!(!t.contains("doc.txt") && !t.contains("id=\"upload\""));
    assert_eq!(r.get("/buckets/alpha-data/object?key=doc.txt").await.status, 200);
    assert_eq!(r.get("/buckets/alpha-data/download?key=doc.txt").await.body, b"secret");
    let (st, _) = r.api("PUT", "/api/buckets/alpha-data/object?key=new.txt", b"x", true).await;
    assert_eq!(st, 403);
    let d = r.post("/buckets/alpha-data/delete-objects", "key=doc.txt&confirm=yes").await;
    assert!(d.header("location").unwrap().contains("refused=1"), "{:?}", d.headers);
    assert_eq!(r.post("/buckets/alpha-data/visibility", "public=1").await.status, 403);
    // Its share link is signed with a key made for it, and works over S3.
    let t = r.post("/buckets/alpha-data/share", "key=doc.txt&expires=900").await.text();
    let url = share_url(&t);
    assert!(url.contains(&format!("X-Amz-Credential={}", reader.ak)), "signed with the reader's own key: {url}");
    assert_eq!(fetch(&srv, &url).await.body, b"secret");
    // Without a key in the region, one is made for it (and shown as such).
    srv.admin("DELETE", &format!("/keys/{}", reader.ak), None).await;
    let t = r.post("/buckets/alpha-data/share", "key=doc.txt&expires=900").await.text();
    assert!(t.contains("created just now for share links"), "{t}");
    assert_eq!(fetch(&srv, &share_url(&t)).await.body, b"secret");

    // Another project's root: the bucket does not exist for it, on every route.
    let b = Session::sign_in(&srv, "kind=user&project=beta&user=root&password=correct+horse+42").await;
    for path in
        ["/buckets/alpha-data", "/buckets/alpha-data/object?key=doc.txt", "/buckets/alpha-data/download?key=doc.txt"]
    {
        assert_eq!(b.get(path).await.status, 404, "{path}");
    }
    let (st, _) = b.api("PUT", "/api/buckets/alpha-data/object?key=x", b"x", true).await;
    assert_eq!(st, 404);
    assert_eq!(b.post("/buckets/alpha-data/delete-objects", "key=doc.txt&confirm=yes").await.status, 404);
    assert_eq!(s3_get(&srv, "alpha-data", "doc.txt").await, b"secret");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_transfers_are_metered_like_s3_requests() {
    let srv = TestServer::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.meter_interval = std::time::Duration::from_millis(200)
    })
    .await;
    srv.admin("POST", "/projects", Some(json!({"name": "alpha"}))).await;
    srv.admin("PUT", "/projects/alpha/users/root/password", Some(json!({"password": "correct horse 42"}))).await;
    let root = srv.new_key("alpha", None, None).await;
    srv.client_with(&root.ak, &root.sk).create_bucket().bucket("metered").send().await.unwrap();
    let s = Session::sign_in(&srv, "kind=user&project=alpha&user=root&password=correct+horse+42").await;
    let (st, _) = s.api("PUT", "/api/buckets/metered/object?key=m.bin", &[7u8; 1000], true).await;
    assert_eq!(st, 200);
    assert_eq!(s.get("/buckets/metered").await.status, 200);
    assert_eq!(s.get("/buckets/metered/download?key=m.bin").await.body.len(), 1000);
    assert_eq!(s.post("/buckets/metered/delete-objects", "key=m.bin&confirm=yes").await.status, 303);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let u = srv.admin("GET", "/projects/alpha/usage?bucket=metered", None).await;
    let t = &u["totals"];
    assert_eq!(t["requests"]["put"], 1, "{u}");
    assert_eq!(t["requests"]["list"], 1, "{u}");
    assert_eq!(t["requests"]["get"], 1, "{u}");
    assert_eq!(t["requests"]["delete"], 1, "{u}");
    assert_eq!(t["bytes_in"], 1000, "{u}");
    assert_eq!(t["bytes_out"], 1000, "{u}");
    srv.stop().await;
}

/// The console decides as the S3 API does, `s3:ExistingObjectTag/…` included:
/// a deny on tagged objects holds for downloads, the object page and deletes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_object_tags_count_in_the_console() {
    let srv = TestServer::start().await;
    srv.admin("POST", "/projects", Some(json!({"name": "alpha"}))).await;
    let alpha = srv.new_key("alpha", None, None).await;
    let a = srv.client_with(&alpha.ak, &alpha.sk);
    a.create_bucket().bucket("tagged").send().await.unwrap();
    for (key, retain) in [("keep.txt", "true"), ("free.txt", "false")] {
        let tagging = format!("retain={retain}");
        let h = [("x-amz-tagging", tagging.as_str())];
        let r = srv.request_as(Some(&alpha), REGION, "PUT", &format!("/tagged/{key}"), "", &h, b"data").await;
        assert_eq!(r.status, 200);
    }
    srv.new_user(
        "alpha",
        "editor",
        json!({"document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject", "s3:DeleteObject"], "Resource": "*"},
            {"Effect": "Deny", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource": "*",
             "Condition": {"StringEquals": {"s3:ExistingObjectTag/retain": "true"}}}]}}),
    )
    .await;
    srv.admin("PUT", "/projects/alpha/users/editor/password", Some(json!({"password": "correct horse 42"}))).await;
    let e = Session::sign_in(&srv, "kind=user&project=alpha&user=editor&password=correct+horse+42").await;
    assert_eq!(e.get("/buckets/tagged/download?key=keep.txt").await.status, 403);
    assert_eq!(e.get("/buckets/tagged/object?key=keep.txt").await.status, 403);
    assert_eq!(e.get("/buckets/tagged/download?key=free.txt").await.body, b"data");
    let d = e.post("/buckets/tagged/delete-objects", "key=keep.txt&key=free.txt&confirm=yes").await;
    let to = d.header("location").unwrap().to_owned();
    assert!(to.contains("deleted=1") && to.contains("refused=1"), "{to}");
    assert_eq!(s3_get(&srv, "tagged", "keep.txt").await, b"data");
}
