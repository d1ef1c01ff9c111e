//! The console's handlers without a browser, over real stores (SQLite
//! metadata and filesystem blobs in a temp dir): sign-in, throttling,
//! session cookies, CSRF, CSP, escaping, tenant isolation, and sessions
//! that end when their principal goes.

mod common;

use coffer_console::MAX_FAILURES;
use coffer_meta::UserRecord;
use coffer_policy::Preset;
use common::*;
use http::{Method, StatusCode};

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_session_cookie() {
    let fx = fixture().await;
    // Not signed in: pages lead to the sign-in form.
    let r = fx.get("/buckets", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/signin");
    let r = fx.get("/signin", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("name=\"password\""));

    let r = fx.sign_in_user("acme", "root", ROOT_PW).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/buckets");
    let set = r.header("set-cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure", "Max-Age=3600"] {
        assert!(set.split("; ").any(|a| a == attr), "{attr} missing in {set}");
    }
    // The cookie is sealed: nothing readable in it.
    assert!(!set.contains("acme") && !set.contains("root"), "{set}");
    let cookie = r.cookie();
    let page = fx.get("/buckets", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No buckets yet — create one"), "{}", page.body);
    assert!(page.body.contains("root @ acme"));
    // A signed-in visit to the sign-in page goes on to the buckets.
    assert_eq!(fx.get("/signin", Some(&cookie)).await.header("location"), "/buckets");

    // A tampered cookie is no session.
    let mut bad = cookie.clone().into_bytes();
    let n = bad.len() - 5;
    bad[n] = if bad[n] == b'A' { b'B' } else { b'A' };
    let r = fx.get("/buckets", Some(&String::from_utf8(bad).unwrap())).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // Without TLS the cookie is not marked Secure.
    let plain = fixture_with(false).await;
    let r = plain.sign_in_user("acme", "root", ROOT_PW).await;
    assert!(!r.header("set-cookie").contains("Secure"), "{}", r.header("set-cookie"));
}

#[tokio::test]
async fn failed_sign_ins_say_so_and_set_no_cookie() {
    let fx = fixture().await;
    for (p, u, pw) in [
        ("acme", "root", "wrong password!!"),
        ("acme", "nobody", ROOT_PW),
        ("nope", "root", ROOT_PW),
        ("other", "root", ROOT_PW),
    ] {
        let r = fx.sign_in_user(p, u, pw).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{p}/{u}");
        assert!(r.headers.get("set-cookie").is_none());
        assert!(r.body.contains("Wrong project, user name or password"), "{}", r.body);
    }
    // Missing fields.
    let r = fx.post("/signin", None, &[("kind", "user"), ("project", "acme")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Operator: wrong secret, a project key, an unknown key.
    let r = fx.post("/signin", None, &[("kind", "operator"), ("access_key", OP_AK), ("secret_key", "nope")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let key = fx.iam.create_key(&coffer_iam::NewKey { project: "acme".into(), ..Default::default() }).await.unwrap();
    let r = fx
        .post(
            "/signin",
            None,
            &[("kind", "operator"), ("access_key", &key.record.access_key), ("secret_key", &key.secret)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a project key is not the operator's");
    // A form posted from another site is refused before any check.
    let r = fx
        .send_from(
            PEER,
            Method::POST,
            "/signin",
            None,
            Some(form(&[("kind", "user"), ("project", "acme"), ("user", "root"), ("password", ROOT_PW)])),
            &[("origin", "https://evil.test")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_429() {
    let fx = fixture().await;
    for i in 0..MAX_FAILURES {
        let r = fx.sign_in_user("acme", "root", "not the password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Now even the right password is refused, with a message saying why.
    let r = fx.sign_in_user("acme", "root", ROOT_PW).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Too many failed sign-ins"), "{}", r.body);
    assert!(r.headers.get("set-cookie").is_none());
    // Account names are not a way around it (user names ignore case).
    assert_eq!(fx.sign_in_user("acme", "ROOT", ROOT_PW).await.status, StatusCode::TOO_MANY_REQUESTS);
    // Another account from the same address, and the same account from another address, still work.
    assert_eq!(fx.sign_in_user("other", "root", OTHER_PW).await.status, StatusCode::SEE_OTHER);
    let body = form(&[("kind", "user"), ("project", "acme"), ("user", "root"), ("password", ROOT_PW)]);
    let r = fx.send_from("198.51.100.7:1234", Method::POST, "/signin", None, Some(body), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The operator tab is throttled too.
    for _ in 0..MAX_FAILURES {
        fx.post("/signin", None, &[("kind", "operator"), ("access_key", OP_AK), ("secret_key", "x")]).await;
    }
    let r = fx.post("/signin", None, &[("kind", "operator"), ("access_key", OP_AK), ("secret_key", OP_SK)]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn state_changes_without_the_csrf_token_are_refused() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let r = fx.post("/buckets", Some(&cookie), &[("name", "csrf-test")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("security token"), "{}", r.body);
    let r = fx.post("/buckets", Some(&cookie), &[("name", "csrf-test"), ("csrf", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another session's token does not fit this session.
    let (_, other_csrf) = fx.session("acme", "root", ROOT_PW).await;
    assert_ne!(other_csrf, csrf);
    let r = fx.post("/buckets", Some(&cookie), &[("name", "csrf-test"), ("csrf", &other_csrf)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(fx.engine.head_bucket("csrf-test").await.is_err(), "nothing was created");
    // Sign-out is a state change too.
    assert_eq!(fx.post("/signout", Some(&cookie), &[]).await.status, StatusCode::FORBIDDEN);
    // DELETE/PUT without a token.
    let r = fx.send_from(PEER, Method::DELETE, "/buckets", Some(&cookie), None, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The header works as well as the form field.
    let r = fx
        .send_from(
            PEER,
            Method::POST,
            "/buckets",
            Some(&cookie),
            Some(form(&[("name", "csrf-test")])),
            &[("x-csrf-token", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(fx.engine.head_bucket("csrf-test").await.is_ok());
    // Without a session at all.
    assert_eq!(fx.post("/buckets", None, &[("name", "x-y-z"), ("csrf", &csrf)]).await.status, StatusCode::FORBIDDEN);
    // Signing out with the token clears the cookie.
    let r = fx.post("/signout", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("set-cookie").contains("Max-Age=0"));
}

#[tokio::test]
async fn every_page_has_a_nonce_csp_and_safe_headers() {
    let fx = fixture().await;
    let a = fx.get("/signin", None).await;
    let b = fx.get("/signin", None).await;
    let csp = a.header("content-security-policy");
    for part in [
        "default-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{part} missing: {csp}");
    }
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(nonce.len() >= 16);
    assert!(csp.contains(&format!("script-src 'self' 'nonce-{nonce}'")));
    assert_ne!(csp, b.header("content-security-policy"), "a fresh nonce per response");
    // Every script tag carries the nonce; there is no inline handler.
    assert_eq!(a.body.matches("<script").count(), a.body.matches(&format!("nonce=\"{nonce}\"")).count());
    assert!(!a.body.contains("onclick") && !a.body.contains("onload"));
    assert_eq!(a.header("x-content-type-options"), "nosniff");
    assert_eq!(a.header("referrer-policy"), "same-origin");
    assert_eq!(a.header("content-type"), "text/html; charset=utf-8");
    // Errors and redirects carry them too.
    for r in [fx.get("/nowhere", None).await, fx.get("/buckets", None).await] {
        assert!(r.header("content-security-policy").contains("'nonce-"));
        assert_eq!(r.header("x-content-type-options"), "nosniff");
    }
    let (cookie, _) = fx.session("acme", "root", ROOT_PW).await;
    let r = fx.get("/nowhere", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("There is no console page at this address"));
    // Static assets with their types.
    let css = fx.get("/static/console.css", None).await;
    assert_eq!((css.status, css.header("content-type")), (StatusCode::OK, "text/css; charset=utf-8"));
    assert!(css.body.contains("@media"));
    let js = fx.get("/static/console.js", None).await;
    assert_eq!((js.status, js.header("content-type")), (StatusCode::OK, "text/javascript; charset=utf-8"));
    assert_eq!(fx.get("/static/../Cargo.toml", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn output_is_escaped() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    // A bucket cannot be named with markup; the name is shown back escaped.
    let r = fx.post("/buckets", Some(&cookie), &[("name", "<script>alert(1)</script>"), ("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Not a valid bucket name"), "{}", r.body);
    assert!(
        r.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || r.body.contains("&lt;script&gt;"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<script>alert"));
    // What a failed sign-in echoes is escaped.
    let r = fx.sign_in_user("acme", "\"><script>alert(2)</script>", "whatever password").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!r.body.contains("<script>alert"), "{}", r.body);
    // A user whose name carries markup (IAM refuses such names; the store
    // does not) is shown escaped in the nav.
    let evil = "<script>alert(3)</script>";
    fx.iam
        .store()
        .create_user(UserRecord {
            project: "acme".into(),
            name: evil.into(),
            id: "AIDAEVIL".into(),
            path: "/".into(),
            root: false,
            created: 0,
            inline_policies: Default::default(),
            attached: Default::default(),
            password_hash: None,
        })
        .await
        .unwrap();
    fx.iam.set_password("acme", evil, Some("a long enough password")).await.unwrap();
    let (cookie, _) = fx.session("acme", evil, "a long enough password").await;
    let page = fx.get("/buckets", Some(&cookie)).await;
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(page.body.contains("alert(3)"), "the name is shown, escaped");
}

#[tokio::test]
async fn a_project_user_sees_and_changes_only_its_project() {
    let fx = fixture().await;
    fx.bucket("acme-data", "acme").await;
    fx.bucket("other-data", "other").await;
    fx.put("acme-data", "a.txt", b"hello world").await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let page = fx.get("/buckets", Some(&cookie)).await;
    assert!(page.body.contains("acme-data"));
    assert!(!page.body.contains("other-data"), "{}", page.body);
    assert!(page.body.contains("11 B"), "size shown: {}", page.body);

    // Another project's bucket is not found, to look at or to delete.
    let r = fx.get("/buckets/other-data/delete", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = fx.post("/buckets/other-data/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "other-data")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("No such bucket"));
    assert!(fx.engine.head_bucket("other-data").await.is_ok());
    // Its name is taken, though.
    let r = fx.post("/buckets", Some(&cookie), &[("name", "other-data"), ("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("This name is taken"));

    // The operator sees every bucket, with its project.
    let (op, _) = fx.operator_session().await;
    let page = fx.get("/buckets", Some(&op)).await;
    assert!(page.body.contains("acme-data") && page.body.contains("other-data"));
    assert!(page.body.contains("operator (AKOPERATOR)"));
}

#[tokio::test]
async fn create_and_delete_buckets() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let r = fx.post("/buckets", Some(&cookie), &[("name", "photos"), ("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/buckets?created=photos");
    let b = fx.engine.head_bucket("photos").await.unwrap();
    assert_eq!((b.project.as_str(), b.region.as_str()), ("acme", REGION));
    let page = fx.get(r.header("location"), Some(&cookie)).await;
    assert!(page.body.contains("Bucket photos created."));
    assert!(page.body.contains("/buckets/photos/delete"));
    // Taken by yourself.
    let r = fx.post("/buckets", Some(&cookie), &[("name", "photos"), ("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("You already have a bucket with this name"));
    // Too short: inline error, the typed value kept.
    let r = fx.post("/buckets", Some(&cookie), &[("name", "ab"), ("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("aria-invalid=\"true\"") && r.body.contains("value=\"ab\""));

    // Not empty: refused, and the confirmation page says so.
    fx.put("photos", "cat.jpg", b"meow").await;
    let confirm = fx.get("/buckets/photos/delete", Some(&cookie)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("still holds 1 object"), "{}", confirm.body);
    let r = fx.post("/buckets/photos/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "photos")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("not empty"));
    fx.engine.delete_object("photos", "cat.jpg").await.unwrap();
    // Not confirmed.
    let r = fx.post("/buckets/photos/delete", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = fx.post("/buckets/photos/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "photos")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(fx.engine.head_bucket("photos").await.is_err());
    let page = fx.get("/buckets?deleted=photos", Some(&cookie)).await;
    assert!(page.body.contains("Bucket photos deleted.") && page.body.contains("No buckets yet"));
}

#[tokio::test]
async fn policies_limit_what_iam_users_can_do() {
    let fx = fixture().await;
    fx.bucket("acme-data", "acme").await;
    // No policy: may not list or create.
    fx.user_with_password("acme", "nobody", None).await;
    let (cookie, csrf) = fx.session("acme", "nobody", "a long enough password").await;
    let page = fx.get("/buckets", Some(&cookie)).await;
    assert!(page.body.contains("does not allow listing buckets"), "{}", page.body);
    assert!(!page.body.contains("acme-data"));
    let r = fx.post("/buckets", Some(&cookie), &[("name", "new-bucket"), ("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("does not allow creating buckets"));
    assert!(fx.engine.head_bucket("new-bucket").await.is_err());
    // Read-only: lists, but may not delete.
    fx.user_with_password("acme", "reader", Some(Preset::ReadOnly)).await;
    let (cookie, csrf) = fx.session("acme", "reader", "a long enough password").await;
    assert!(fx.get("/buckets", Some(&cookie)).await.body.contains("acme-data"));
    let r = fx.post("/buckets/acme-data/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "acme-data")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("does not allow deleting"));
    assert!(fx.engine.head_bucket("acme-data").await.is_ok());
    // Full access: may delete.
    fx.user_with_password("acme", "admin", Some(Preset::FullAccess)).await;
    let (cookie, csrf) = fx.session("acme", "admin", "a long enough password").await;
    let r = fx.post("/buckets/acme-data/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "acme-data")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sessions_end_when_their_principal_goes() {
    let fx = fixture().await;
    fx.user_with_password("acme", "alice", Some(Preset::ReadOnly)).await;
    let (cookie, _) = fx.session("acme", "alice", "a long enough password").await;
    fx.iam.delete_user("acme", "alice", true).await.unwrap();
    let r = fx.get("/buckets", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "a deleted user is signed out");
    assert_eq!(r.header("location"), "/signin");

    // A changed or removed password ends the session too.
    fx.user_with_password("acme", "bob", Some(Preset::ReadOnly)).await;
    let (cookie, _) = fx.session("acme", "bob", "a long enough password").await;
    fx.iam.set_password("acme", "bob", Some("another long password")).await.unwrap();
    assert_eq!(fx.get("/buckets", Some(&cookie)).await.status, StatusCode::SEE_OTHER);
    let (cookie, _) = fx.session("acme", "bob", "another long password").await;
    fx.iam.set_password("acme", "bob", None).await.unwrap();
    assert_eq!(fx.get("/buckets", Some(&cookie)).await.status, StatusCode::SEE_OTHER);

    // The operator's session ends with its key.
    let (op, _) = fx.operator_session().await;
    fx.iam.delete_key(OP_AK).await.unwrap();
    assert_eq!(fx.get("/buckets", Some(&op)).await.status, StatusCode::SEE_OTHER);
}

/// The text of the element with `id` in a page.
fn element_text(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let at = body.find(&marker).unwrap_or_else(|| panic!("no #{id} in {body}")) + marker.len();
    body[at..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn generate_shows_the_secret_once() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let page = fx.get("/keys", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No S3 keys yet"), "{}", page.body);
    assert!(page.body.contains("href=\"/keys\""), "nav link");

    // Without the CSRF token nothing is created.
    let r = fx.post("/keys", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(fx.iam.list_keys("acme", None).await.unwrap().is_empty());

    let r = fx.post("/keys", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(r.body.contains("will not be shown again"));
    assert!(!r.body.contains("<script>"), "no inline script");
    let ak = element_text(&r.body, "fresh-ak");
    let sk = element_text(&r.body, "fresh-sk");
    let resolved = fx.iam.resolve(&ak, Some(REGION), coffer_types::now_millis()).await.unwrap();
    assert_eq!(resolved.secret, sk);
    assert!(matches!(&resolved.principal, coffer_iam::Principal::User(u) if u.project == "acme" && u.root));

    // The listing shows the key, never the secret.
    let page = fx.get("/keys", Some(&cookie)).await;
    assert!(page.body.contains(&ak));
    assert!(!page.body.contains(&sk));
    assert_eq!(page.header("cache-control"), "no-store");
}

#[tokio::test]
async fn deactivate_activate_and_delete_keys() {
    let fx = fixture().await;
    fx.user_with_password("acme", "alice", None).await;
    let (cookie, csrf) = fx.session("acme", "alice", "a long enough password").await;
    let r = fx.post("/keys", Some(&cookie), &[("csrf", &csrf)]).await;
    let ak = element_text(&r.body, "fresh-ak");
    let now = coffer_types::now_millis;

    let r = fx.post(&format!("/keys/{ak}/deactivate"), Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "CSRF-checked");
    assert!(fx.iam.resolve(&ak, Some(REGION), now()).await.is_ok());
    let r = fx.post(&format!("/keys/{ak}/deactivate"), Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(matches!(fx.iam.resolve(&ak, Some(REGION), now()).await, Err(coffer_iam::ResolveError::Inactive)));
    assert!(fx.get("/keys", Some(&cookie)).await.body.contains("Inactive"));
    let r = fx.post(&format!("/keys/{ak}/activate"), Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(fx.iam.resolve(&ak, Some(REGION), now()).await.is_ok());

    // Delete goes through a confirmation page.
    let confirm = fx.get(&format!("/keys/{ak}/delete"), Some(&cookie)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains(&ak));
    let r = fx.post(&format!("/keys/{ak}/delete"), Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::OK, "unconfirmed: the confirmation again");
    assert!(fx.iam.key(&ak).await.is_ok());
    let r = fx.post(&format!("/keys/{ak}/delete"), Some(&cookie), &[("csrf", &csrf), ("confirm", &ak)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(fx.iam.key(&ak).await.is_err());
    assert!(matches!(fx.iam.resolve(&ak, Some(REGION), now()).await, Err(coffer_iam::ResolveError::Unknown)));
}

#[tokio::test]
async fn keys_are_isolated_by_owner_and_project() {
    let fx = fixture().await;
    let key = |project: &str, user: &str| coffer_iam::NewKey {
        project: project.into(),
        user: Some(user.into()),
        region: None,
        expires: None,
    };
    let theirs = fx.iam.create_key(&key("other", "root")).await.unwrap().record.access_key;
    fx.user_with_password("acme", "alice", None).await;
    fx.user_with_password("acme", "bob", None).await;
    let bobs = fx.iam.create_key(&key("acme", "bob")).await.unwrap().record.access_key;
    let alices = fx.iam.create_key(&key("acme", "alice")).await.unwrap().record.access_key;

    // A user sees and manages only its own keys.
    let (cookie, csrf) = fx.session("acme", "alice", "a long enough password").await;
    let page = fx.get("/keys", Some(&cookie)).await;
    assert!(page.body.contains(&alices));
    assert!(!page.body.contains(&bobs) && !page.body.contains(&theirs));
    for ak in [&bobs, &theirs, &"AKNOSUCHKEY0000000".to_owned()] {
        for action in ["deactivate", "delete"] {
            let r = fx.post(&format!("/keys/{ak}/{action}"), Some(&cookie), &[("csrf", &csrf), ("confirm", ak)]).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{action} {ak}");
            assert!(r.body.contains("No such key"));
        }
        assert_eq!(fx.get(&format!("/keys/{ak}/delete"), Some(&cookie)).await.status, StatusCode::NOT_FOUND);
    }
    assert!(fx.iam.resolve(&bobs, Some(REGION), coffer_types::now_millis()).await.is_ok());
    assert!(fx.iam.resolve(&theirs, Some(REGION), coffer_types::now_millis()).await.is_ok());

    // The project's root sees every user's keys (with their owner), not other projects'.
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let page = fx.get("/keys", Some(&cookie)).await;
    assert!(page.body.contains(&alices) && page.body.contains(&bobs));
    assert!(page.body.contains("<th>Owner</th>") && page.body.contains(">bob<"));
    assert!(!page.body.contains(&theirs));
    let r = fx.post(&format!("/keys/{bobs}/deactivate"), Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = fx.post(&format!("/keys/{theirs}/deactivate"), Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(fx.iam.resolve(&theirs, Some(REGION), coffer_types::now_millis()).await.is_ok());

    // The operator is told keys belong to projects.
    let (op, op_csrf) = fx.operator_session().await;
    let page = fx.get("/keys", Some(&op)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("belong to projects") && !page.body.contains(&alices));
    assert_eq!(fx.post("/keys", Some(&op), &[("csrf", &op_csrf)]).await.status, StatusCode::BAD_REQUEST);
}
