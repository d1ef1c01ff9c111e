//! The Users page without a browser: creating users with a preset or a
//! policy document, console passwords, deletion with the user's keys, the
//! IAM permissions an IAM user needs for each, tenant isolation, CSRF and
//! escaping.

mod common;

use coffer_iam::{IamError, NewKey, Permissions, ResolveError};
use coffer_policy::{Policy, Preset};
use common::*;
use http::{Method, StatusCode};

const PW: &str = "a long enough password";

/// Every IAM action on the IAM users of project `acme` (not its root).
const IAM_ADMIN: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::acme:user/*"}]}"#;

fn identity_policy(actions: &[&str]) -> String {
    let list: Vec<String> = actions.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": [{}], "Resource": "*"}}]}}"#,
        list.join(", ")
    )
}

impl Fx {
    /// An IAM user of `project` with a console password and the policy `doc`.
    async fn user_with_policy(&self, project: &str, user: &str, doc: &str) {
        self.iam.create_user(project, user).await.unwrap();
        self.iam.set_permissions(project, user, &Permissions::Document(doc.into())).await.unwrap();
        self.iam.set_password(project, user, Some(PW)).await.unwrap();
    }

    async fn key_of(&self, project: &str, user: &str) -> String {
        let req = NewKey { project: project.into(), user: Some(user.into()), region: None, expires: None };
        self.iam.create_key(&req).await.unwrap().record.access_key
    }

    async fn exists(&self, project: &str, user: &str) -> bool {
        match self.iam.user(project, user).await {
            Ok(_) => true,
            Err(IamError::NoSuchUser(_)) => false,
            Err(e) => panic!("{e}"),
        }
    }

    async fn has_password(&self, project: &str, user: &str) -> bool {
        self.iam.user(project, user).await.unwrap().password_hash.is_some()
    }
}

#[tokio::test]
async fn root_creates_users_with_a_preset_or_a_policy_document() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let page = fx.get("/users", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("href=\"/users\""), "nav link");
    assert!(page.body.contains("No IAM users yet"), "{}", page.body);
    assert!(page.body.contains("Full access to the project (root user)"));
    assert!(!page.body.contains("/users/root/delete"), "no delete button for the root user");

    // A preset.
    let r = fx.post("/users", Some(&cookie), &[("csrf", &csrf), ("name", "alice"), ("permissions", "read-only")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/users?created=alice");
    let alice = fx.iam.user("acme", "alice").await.unwrap();
    assert_eq!(alice.attached.iter().collect::<Vec<_>>(), ["read-only"]);
    assert!(alice.inline_policies.is_empty() && alice.password_hash.is_none());
    assert_eq!(alice.path, "/");
    let page = fx.get(r.header("location"), Some(&cookie)).await;
    assert!(page.body.contains("User alice created."), "{}", page.body);
    assert!(page.body.contains("Read only") && page.body.contains("/users/alice/delete"));
    assert!(!page.body.contains("No IAM users yet"));

    // A policy document, at a path.
    let doc = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}]}"#;
    let r = fx
        .post(
            "/users",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "bob"), ("path", "/team/"), ("permissions", "custom"), ("policy", doc)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let bob = fx.iam.user("acme", "bob").await.unwrap();
    assert_eq!(bob.path, "/team/");
    assert!(bob.attached.is_empty());
    assert_eq!(bob.inline_policies.get("custom").map(String::as_str), Some(doc));
    assert_eq!(coffer_iam::Iam::principal_of(&bob).policies.len(), 1, "the document is in force");
    let page = fx.get("/users", Some(&cookie)).await;
    assert!(page.body.contains("Policy “custom”") && page.body.contains("/team/"), "{}", page.body);

    // No permissions, a name with '+' (kept in the notice), and a console password.
    let r = fx
        .post(
            "/users",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("name", "ci+deploy"),
                ("permissions", "none"),
                ("password", PW),
                ("password_confirm", PW),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/users?created=ci%2Bdeploy");
    let ci = fx.iam.user("acme", "ci+deploy").await.unwrap();
    assert!(ci.attached.is_empty() && ci.inline_policies.is_empty());
    assert!(fx.get(r.header("location"), Some(&cookie)).await.body.contains("User ci+deploy created."));
    assert_eq!(fx.sign_in_user("acme", "ci+deploy", PW).await.status, StatusCode::SEE_OTHER);

    // Every preset by its friendly name.
    for (name, preset) in [("w", Preset::WriteOnly), ("ro", Preset::ReadObjectOnly), ("f", Preset::FullAccess)] {
        let r =
            fx.post("/users", Some(&cookie), &[("csrf", &csrf), ("name", name), ("permissions", preset.name())]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(fx.iam.user("acme", name).await.unwrap().attached.contains(preset.name()));
    }
    let page = fx.get("/users", Some(&cookie)).await;
    for label in ["Write only", "Read objects only", "Full access", "No permissions"] {
        assert!(page.body.contains(label), "{label}");
    }
}

#[tokio::test]
async fn bad_fields_are_shown_inline_and_nothing_is_created() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let create = |pairs: Vec<(&'static str, &'static str)>| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(pairs);
        let fx = &fx;
        let cookie = cookie.clone();
        async move { fx.post("/users", Some(&cookie), &all).await }
    };

    // A malformed policy: 400, the parser's reason shown with the field.
    let bad = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}"#;
    let reason = Policy::parse_identity(bad).unwrap_err().to_string();
    let r = create(vec![("name", "carol"), ("permissions", "custom"), ("policy", bad)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("The policy document is not valid"), "{}", r.body);
    assert!(r.body.contains("aria-describedby=\"policy-error\""));
    let shown = reason.replace('"', "&#34;");
    assert!(
        r.body.contains(&reason) || r.body.contains(&shown) || r.body.contains(&reason.replace('"', "&quot;")),
        "{reason} in {}",
        r.body
    );
    assert!(r.body.contains("value=\"carol\""), "the name is kept");
    let r = create(vec![("name", "carol"), ("permissions", "custom"), ("policy", "{not json")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("not valid JSON"), "{}", r.body);
    let r = create(vec![("name", "carol"), ("permissions", "custom"), ("policy", "  ")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Paste a policy document"));
    let r = create(vec![("name", "carol"), ("permissions", "admin")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Choose the user&#39;s permissions") || r.body.contains("Choose the user"));

    // Names and paths.
    for name in ["bad name", "", "é", "root", "ROOT"] {
        let r = create(vec![("name", name), ("permissions", "read-only")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name:?}");
        assert!(r.body.contains("aria-describedby=\"name-error\""), "{}", r.body);
    }
    let r = create(vec![("name", "carol"), ("path", "team"), ("permissions", "read-only")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Not a valid path") && r.body.contains("aria-describedby=\"path-error\""));

    // Passwords: too short, not confirmed. Never echoed back.
    let r = create(vec![("name", "carol"), ("password", "short"), ("password_confirm", "short")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("at least 12 characters"), "{}", r.body);
    let r = create(vec![("name", "carol"), ("password", PW), ("password_confirm", "a long enough passw0rd")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("do not match") && r.body.contains("aria-describedby=\"password-error\""));
    assert!(!r.body.contains(PW), "passwords are not sent back");
    assert_eq!(fx.iam.list_users("acme").await.unwrap().len(), 1, "nothing was created");

    // A taken name, in any case.
    fx.iam.create_user("acme", "alice").await.unwrap();
    let r = create(vec![("name", "Alice"), ("permissions", "read-only")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("already exists"));
    assert_eq!(fx.iam.list_users("acme").await.unwrap().len(), 2);
}

#[tokio::test]
async fn passwords_are_set_changed_and_removed() {
    let fx = fixture().await;
    fx.iam.create_user("acme", "dave").await.unwrap();
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let page = fx.get("/users/dave/password", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("has no console password") && page.body.contains("Set password"));

    let r = fx
        .post("/users/dave/password", Some(&cookie), &[("csrf", &csrf), ("password", PW), ("password_confirm", "x")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("do not match"));
    assert!(!fx.has_password("acme", "dave").await);
    let r = fx
        .post("/users/dave/password", Some(&cookie), &[("csrf", &csrf), ("password", PW), ("password_confirm", PW)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/users?password=dave");
    assert!(r.headers.get("set-cookie").is_none(), "the root's own session is untouched");
    assert!(fx.get("/users?password=dave", Some(&cookie)).await.body.contains("Console password of dave set"));
    let (dave, _) = fx.session("acme", "dave", PW).await;

    // Removal ends dave's session and its sign-ins.
    let page = fx.get("/users/dave/password", Some(&cookie)).await;
    assert!(page.body.contains("Remove password") && page.body.contains("Change password"));
    let r = fx.post("/users/dave/password/remove", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/users?nopassword=dave");
    assert!(!fx.has_password("acme", "dave").await);
    let r = fx.get("/buckets", Some(&dave)).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, "/signin"));
    assert_eq!(fx.sign_in_user("acme", "dave", PW).await.status, StatusCode::UNAUTHORIZED);

    // The root user changes its own password and stays signed in; other sessions end.
    let (other_session, _) = fx.session("acme", "root", ROOT_PW).await;
    let new_pw = "the new root password";
    let r = fx
        .post(
            "/users/root/password",
            Some(&cookie),
            &[("csrf", &csrf), ("password", new_pw), ("password_confirm", new_pw)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let renewed = r.cookie();
    assert_eq!(fx.get("/users", Some(&renewed)).await.status, StatusCode::OK);
    assert_eq!(fx.get("/users", Some(&cookie)).await.status, StatusCode::SEE_OTHER, "the old cookie is gone");
    assert_eq!(fx.get("/users", Some(&other_session)).await.status, StatusCode::SEE_OTHER);
    assert_eq!(fx.sign_in_user("acme", "root", new_pw).await.status, StatusCode::SEE_OTHER);
    // ... but cannot remove it.
    let r = fx.post("/users/root/password/remove", Some(&renewed), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("can be changed but not removed"), "{}", r.body);
    assert!(fx.has_password("acme", "root").await);
}

#[tokio::test]
async fn delete_takes_the_users_keys_and_never_the_root_user() {
    let fx = fixture().await;
    fx.user_with_password("acme", "erin", Some(Preset::ReadOnly)).await;
    let k1 = fx.key_of("acme", "erin").await;
    fx.key_of("acme", "erin").await;
    fx.user_with_password("other", "frank", None).await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    assert!(fx.get("/users", Some(&cookie)).await.body.contains("data-label=\"S3 keys\">2<"));

    let confirm = fx.get("/users/erin/delete", Some(&cookie)).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("2 S3 keys</strong> will be deleted"), "{}", confirm.body);
    let r = fx.post("/users/erin/delete", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "not confirmed");
    let r = fx.post("/users/erin/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "someone")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(fx.exists("acme", "erin").await);
    let r = fx.post("/users/erin/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "erin")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/users?deleted=erin");
    assert!(!fx.exists("acme", "erin").await);
    assert!(fx.iam.list_keys("acme", None).await.unwrap().iter().all(|k| k.user != "erin"), "its keys are gone");
    assert!(matches!(fx.iam.resolve(&k1, Some(REGION), coffer_types::now_millis()).await, Err(ResolveError::Unknown)));
    assert!(fx.get("/users?deleted=erin", Some(&cookie)).await.body.contains("User erin deleted"));

    // The root user: no button, and the POST is refused.
    let r = fx.get("/users/root/delete", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("deleted with its project") && !r.body.contains("action=\"/users/root/delete\""));
    let r = fx.post("/users/root/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "root")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(fx.exists("acme", "root").await);

    // Another project's user, a missing one and a name IAM cannot have are not found.
    for name in ["frank", "nobody", "%3Cx%3E", "a%20b"] {
        let r = fx.get(&format!("/users/{name}/delete"), Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
        assert!(r.body.contains("No such user"));
        let r = fx.post(&format!("/users/{name}/delete"), Some(&cookie), &[("csrf", &csrf), ("confirm", name)]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
        let r = fx
            .post(
                &format!("/users/{name}/password"),
                Some(&cookie),
                &[("csrf", &csrf), ("password", PW), ("password_confirm", PW)],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
    }
    assert!(fx.exists("other", "frank").await);
    assert!(!fx.get("/users", Some(&cookie)).await.body.contains("frank"));
}

#[tokio::test]
async fn iam_users_need_iam_permissions() {
    let fx = fixture().await;
    fx.iam.create_user("acme", "alice").await.unwrap();
    fx.key_of("acme", "alice").await;
    fx.user_with_password("other", "frank", None).await;

    // S3 permissions only: every user change is refused, nothing changes.
    fx.user_with_password("acme", "reader", Some(Preset::FullAccess)).await;
    let (cookie, csrf) = fx.session("acme", "reader", PW).await;
    let page = fx.get("/users", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("does not allow listing the project&#39;s users (iam:ListUsers)")
            || page.body.contains("(iam:ListUsers)")
    );
    assert!(!page.body.contains("alice"));
    let r =
        fx.post("/users", Some(&cookie), &[("csrf", &csrf), ("name", "mallory"), ("permissions", "full-access")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("does not allow iam:CreateUser") && r.body.contains("Nothing was created"));
    assert!(!fx.exists("acme", "mallory").await);
    let r = fx.post("/users/alice/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "alice")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(fx.exists("acme", "alice").await);
    let r = fx
        .post("/users/alice/password", Some(&cookie), &[("csrf", &csrf), ("password", PW), ("password_confirm", PW)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!fx.has_password("acme", "alice").await);
    // Whether a user exists is not told to those who may not manage it.
    assert_eq!(fx.get("/users/nobody/delete", Some(&cookie)).await.status, StatusCode::FORBIDDEN);

    // IAM permissions on the project's users: allowed, but never on the root user.
    fx.user_with_policy("acme", "admin", IAM_ADMIN).await;
    let (cookie, csrf) = fx.session("acme", "admin", PW).await;
    let page = fx.get("/users", Some(&cookie)).await;
    assert!(page.body.contains("/users/alice/delete") && !page.body.contains("/users/root/"), "{}", page.body);
    assert!(!page.body.contains("/users/admin/delete"), "not oneself");
    let r =
        fx.post("/users", Some(&cookie), &[("csrf", &csrf), ("name", "newbie"), ("permissions", "write-only")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(fx.iam.user("acme", "newbie").await.unwrap().attached.contains("write-only"));
    let r = fx
        .post("/users/root/password", Some(&cookie), &[("csrf", &csrf), ("password", PW), ("password_confirm", PW)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Only the project&#39;s root user") || r.body.contains("Only the project"), "{}", r.body);
    assert_eq!(fx.sign_in_user("acme", "root", ROOT_PW).await.status, StatusCode::SEE_OTHER, "unchanged");
    assert_eq!(
        fx.post("/users/root/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "root")]).await.status,
        StatusCode::FORBIDDEN
    );
    // Another project's user does not exist for it.
    let r = fx.post("/users/frank/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "frank")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(fx.exists("other", "frank").await);
    // Not itself.
    let r = fx.post("/users/admin/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "admin")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(fx.exists("acme", "admin").await);

    // Each part of a change needs its own action.
    let limited = identity_policy(&["iam:ListUsers", "iam:CreateUser", "iam:DeleteUser"]);
    fx.user_with_policy("acme", "limited", &limited).await;
    let (cookie, csrf) = fx.session("acme", "limited", PW).await;
    let page = fx.get("/users", Some(&cookie)).await;
    assert!(page.body.contains("alice") && page.body.contains("hidden"), "details need their own actions");
    assert!(!page.body.contains("/users/alice/password"));
    let r = fx.post("/users", Some(&cookie), &[("csrf", &csrf), ("name", "x1"), ("permissions", "read-only")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("iam:AttachUserPolicy"), "{}", r.body);
    let r = fx
        .post(
            "/users",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "x2"), ("permissions", "none"), ("password", PW), ("password_confirm", PW)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("iam:CreateLoginProfile"));
    assert!(!fx.exists("acme", "x1").await && !fx.exists("acme", "x2").await);
    let r = fx.post("/users", Some(&cookie), &[("csrf", &csrf), ("name", "x3"), ("permissions", "none")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // alice has a key: deleting it needs iam:DeleteAccessKey too.
    let r = fx.post("/users/alice/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "alice")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("iam:DeleteAccessKey"), "{}", r.body);
    assert!(fx.exists("acme", "alice").await);
    let r = fx.post("/users/x3/delete", Some(&cookie), &[("csrf", &csrf), ("confirm", "x3")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn user_changes_need_the_csrf_token() {
    let fx = fixture().await;
    fx.iam.create_user("acme", "alice").await.unwrap();
    let (cookie, _) = fx.session("acme", "root", ROOT_PW).await;
    let r = fx.post("/users", Some(&cookie), &[("name", "mallory"), ("permissions", "full-access")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("security token"));
    let r = fx.post("/users", Some(&cookie), &[("csrf", "forged"), ("name", "mallory")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!fx.exists("acme", "mallory").await);
    let r = fx.post("/users/alice/delete", Some(&cookie), &[("confirm", "alice")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = fx.post("/users/alice/password", Some(&cookie), &[("password", PW), ("password_confirm", PW)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(fx.exists("acme", "alice").await && !fx.has_password("acme", "alice").await);
    let r = fx.post("/users/root/password/remove", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Other methods are refused (after the token check).
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    let r = fx.send_from(PEER, Method::PUT, "/users", Some(&cookie), None, &[("x-csrf-token", &csrf)]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = fx
        .send_from(PEER, Method::DELETE, "/users/alice/delete", Some(&cookie), None, &[("x-csrf-token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn user_controlled_text_is_escaped() {
    let fx = fixture().await;
    let (cookie, csrf) = fx.session("acme", "root", ROOT_PW).await;
    // A path may hold markup characters.
    let path = "/<script>alert(1)</script>/";
    let r = fx
        .post("/users", Some(&cookie), &[("csrf", &csrf), ("name", "pat"), ("path", path), ("permissions", "none")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(fx.iam.user("acme", "pat").await.unwrap().path, path);
    // An inline policy name set through the store (IAM restricts them; the store does not).
    let mut rec = fx.iam.user("acme", "pat").await.unwrap();
    rec.inline_policies.insert("<script>alert(2)</script>".into(), "{}".into());
    fx.iam.store().set_user_policies(&rec, None).await.unwrap();
    let page = fx.get("/users", Some(&cookie)).await;
    assert!(page.body.contains("alert(1)") && page.body.contains("alert(2)"), "{}", page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    let confirm = fx.get("/users/pat/delete", Some(&cookie)).await;
    assert!(confirm.body.contains("alert(1)") && !confirm.body.contains("<script>alert"));

    // What the create form sends back is escaped: the name, and a policy closing the textarea.
    let doc = "</textarea><script>alert(3)</script>";
    let r = fx
        .post(
            "/users",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "\"><script>alert(4)</script>"), ("permissions", "custom"), ("policy", doc)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("alert(3)") && r.body.contains("alert(4)"));
    assert!(!r.body.contains("<script>alert") && !r.body.contains("</textarea><script>"), "{}", r.body);
}

#[tokio::test]
async fn the_operator_is_told_users_belong_to_projects() {
    let fx = fixture().await;
    fx.iam.create_user("acme", "alice").await.unwrap();
    let (op, csrf) = fx.operator_session().await;
    let page = fx.get("/users", Some(&op)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Users belong to projects") && !page.body.contains("alice"), "{}", page.body);
    assert!(!page.body.contains("action=\"/users\""), "no create form");
    let r = fx.post("/users", Some(&op), &[("csrf", &csrf), ("name", "x"), ("permissions", "none")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = fx.post("/users/alice/delete", Some(&op), &[("csrf", &csrf), ("confirm", "alice")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(fx.exists("acme", "alice").await);
}
