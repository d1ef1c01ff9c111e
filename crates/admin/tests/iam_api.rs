//! The IAM query API through `ControlService::handle`, signed as botocore
//! signs, over a real SQLite store.

mod common;

use coffer_admin::{Api, ControlService};
use common::{sign_iam, Creds, Harness};
use time::OffsetDateTime;

const READ_ONLY_ARN: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";

#[tokio::test]
async fn users_are_created_read_listed_and_deleted() {
    let h = Harness::new().await;
    let root = h.project("acme").await;

    let r = h.iam(&root, &[("Action", "CreateUser"), ("UserName", "alice")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .body
        .contains("<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult><User>"));
    assert_eq!(r.get("Arn").as_deref(), Some("arn:aws:iam::acme:user/alice"));
    assert_eq!(r.get("Path").as_deref(), Some("/"));
    assert!(r.get("UserId").is_some_and(|id| id.starts_with("AIDA") && id.len() == 21));
    assert!(r.get("CreateDate").is_some_and(|d| d.ends_with('Z') && d.len() == 20));

    let r = h.iam(&root, &[("Action", "CreateUser"), ("UserName", "alice")]).await;
    assert_eq!((r.status, r.code().as_str()), (409, "EntityAlreadyExists"));
    let r = h.iam(&root, &[("Action", "CreateUser"), ("UserName", "bad name")]).await;
    assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"));
    let r = h.iam(&root, &[("Action", "CreateUser")]).await;
    assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"));
    h.iam(&root, &[("Action", "CreateUser"), ("UserName", "bob")]).await;

    let r = h.iam(&root, &[("Action", "GetUser"), ("UserName", "alice")]).await;
    assert_eq!(r.get("UserName").as_deref(), Some("alice"));
    // Without a name: the caller, here the project's root.
    let r = h.iam(&root, &[("Action", "GetUser")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.get("Arn").as_deref(), Some("arn:aws:iam::acme:root"));

    let r = h.iam(&root, &[("Action", "ListUsers")]).await;
    assert_eq!(r.all("UserName"), ["alice", "bob"], "the root user is not listed");
    assert_eq!(r.get("IsTruncated").as_deref(), Some("false"));
    let r = h.iam(&root, &[("Action", "ListUsers"), ("MaxItems", "1")]).await;
    assert_eq!(r.all("UserName"), ["alice"]);
    assert_eq!(r.get("IsTruncated").as_deref(), Some("true"));
    let marker = r.get("Marker").unwrap();
    let r = h.iam(&root, &[("Action", "ListUsers"), ("MaxItems", "1"), ("Marker", &marker)]).await;
    assert_eq!(r.all("UserName"), ["bob"]);
    assert_eq!(r.get("IsTruncated").as_deref(), Some("false"));

    let r = h.iam(&root, &[("Action", "DeleteUser"), ("UserName", "bob")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<DeleteUserResponse") && !r.body.contains("DeleteUserResult"));
    let r = h.iam(&root, &[("Action", "GetUser"), ("UserName", "bob")]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    assert!(r.body.contains("<Type>Sender</Type>"));
    let r = h.iam(&root, &[("Action", "DeleteUser"), ("UserName", "root")]).await;
    assert_eq!((r.status, r.code().as_str()), (409, "DeleteConflict"));
}

#[tokio::test]
async fn keys_show_their_secret_once_and_stop_working_when_deactivated() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    h.iam(&root, &[("Action", "CreateUser"), ("UserName", "alice")]).await;

    let r = h.iam(&root, &[("Action", "CreateAccessKey"), ("UserName", "alice")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let alice = Creds::new(&r.get("AccessKeyId").unwrap(), &r.get("SecretAccessKey").unwrap());
    assert_eq!(r.get("Status").as_deref(), Some("Active"));
    assert_eq!(r.get("UserName").as_deref(), Some("alice"));
    assert_eq!(h.iam.key(&alice.ak).await.unwrap().region, "r1", "the default region");

    // Sent to another region's host, the new key is still of the caller's
    // key's region: a key works in its own region only, so it cannot mint
    // one for another (a leaked r1 key must not reach r2 this way).
    assert_eq!(h.iam.key(&root.ak).await.unwrap().region, "r1");
    let r = h.iam_at(&root, "s3.r2.test:9000", &[("Action", "CreateAccessKey"), ("UserName", "alice")]).await;
    let second = r.get("AccessKeyId").unwrap();
    assert_eq!(h.iam.key(&second).await.unwrap().region, "r1");

    let r = h.iam(&root, &[("Action", "ListAccessKeys"), ("UserName", "alice")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut listed = r.all("AccessKeyId");
    listed.sort();
    let mut want = vec![alice.ak.clone(), second.clone()];
    want.sort();
    assert_eq!(listed, want);
    assert!(!r.body.contains("SecretAccessKey") && !r.body.contains(&alice.sk), "no secret in listings");

    // Without a name: the caller's own keys.
    let r = h.iam(&root, &[("Action", "ListAccessKeys")]).await;
    assert_eq!(r.all("AccessKeyId"), vec![root.ak.clone()]);

    // A key named with another user does not exist for that user.
    let r = h.iam(&root, &[("Action", "UpdateAccessKey"), ("AccessKeyId", &alice.ak), ("Status", "Inactive")]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    let r = h
        .iam(
            &root,
            &[("Action", "UpdateAccessKey"), ("UserName", "alice"), ("AccessKeyId", &alice.ak), ("Status", "Maybe")],
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"));

    // alice may look at herself? Not without a policy; but her key authenticates.
    let r = h.iam(&alice, &[("Action", "GetUser")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));

    let r = h
        .iam(
            &root,
            &[("Action", "UpdateAccessKey"), ("UserName", "alice"), ("AccessKeyId", &alice.ak), ("Status", "Inactive")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.iam(&alice, &[("Action", "GetUser")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "InvalidClientTokenId"), "refused at once");
    let r = h.iam(&root, &[("Action", "ListAccessKeys"), ("UserName", "alice")]).await;
    assert!(r.body.contains("<Status>Inactive</Status>"));

    let r = h.iam(&root, &[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", &second)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.get("UserName").as_deref(), Some("alice"));
    assert_eq!(r.get("ServiceName").as_deref(), Some("N/A"));

    // A user with keys cannot be deleted; once they are gone it can.
    let r = h.iam(&root, &[("Action", "DeleteUser"), ("UserName", "alice")]).await;
    assert_eq!((r.status, r.code().as_str()), (409, "DeleteConflict"));
    for ak in [&alice.ak, &second] {
        let r = h.iam(&root, &[("Action", "DeleteAccessKey"), ("UserName", "alice"), ("AccessKeyId", ak)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = h.iam(&root, &[("Action", "DeleteAccessKey"), ("UserName", "alice"), ("AccessKeyId", &second)]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    let r = h.iam(&root, &[("Action", "DeleteUser"), ("UserName", "alice")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn inline_and_preset_policies() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    h.iam(&root, &[("Action", "CreateUser"), ("UserName", "alice")]).await;
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;

    let put = [("Action", "PutUserPolicy"), ("UserName", "alice"), ("PolicyName", "reader"), ("PolicyDocument", doc)];
    let r = h.iam(&root, &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h
        .iam(
            &root,
            &[
                ("Action", "PutUserPolicy"),
                ("UserName", "alice"),
                ("PolicyName", "bad"),
                ("PolicyDocument", "{\"Statement\": 3}"),
            ],
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "MalformedPolicyDocument"));

    let r = h.iam(&root, &[("Action", "GetUserPolicy"), ("UserName", "alice"), ("PolicyName", "reader")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let encoded = r.get("PolicyDocument").unwrap();
    assert!(encoded.starts_with("%7B%22Version%22"), "URL-encoded as IAM returns it: {encoded}");
    let decoded = percent_encoding::percent_decode_str(&encoded).decode_utf8().unwrap();
    assert_eq!(decoded, doc);
    let r = h.iam(&root, &[("Action", "GetUserPolicy"), ("UserName", "alice"), ("PolicyName", "nope")]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));

    let r = h.iam(&root, &[("Action", "ListUserPolicies"), ("UserName", "alice")]).await;
    assert_eq!(r.all("member"), ["reader"]);

    let attach = [("Action", "AttachUserPolicy"), ("UserName", "alice"), ("PolicyArn", READ_ONLY_ARN)];
    let r = h.iam(&root, &attach).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h
        .iam(
            &root,
            &[
                ("Action", "AttachUserPolicy"),
                ("UserName", "alice"),
                ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
            ],
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    assert!(r.body.contains("does not exist or is not attachable."));
    let r = h.iam(&root, &[("Action", "ListAttachedUserPolicies"), ("UserName", "alice")]).await;
    assert_eq!(r.all("PolicyArn"), [READ_ONLY_ARN]);
    assert_eq!(r.all("PolicyName"), ["AmazonS3ReadOnlyAccess"], "IAM shows the managed policy name from its ARN");

    let r = h.iam(&root, &[("Action", "ListPolicies")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.all("Arn").len(), 4);
    assert!(r.body.contains("<AttachmentCount>1</AttachmentCount>"));
    let r = h.iam(&root, &[("Action", "ListPolicies"), ("OnlyAttached", "true")]).await;
    assert_eq!(r.all("Arn"), [READ_ONLY_ARN]);
    let r = h.iam(&root, &[("Action", "GetPolicyVersion"), ("PolicyArn", READ_ONLY_ARN), ("VersionId", "v1")]).await;
    assert!(r.get("Document").is_some_and(|d| d.contains("s3%3AGet")), "{}", r.body);

    // Policies block deletion, as on AWS.
    let r = h.iam(&root, &[("Action", "DeleteUser"), ("UserName", "alice")]).await;
    assert_eq!((r.status, r.code().as_str()), (409, "DeleteConflict"));

    let detach = [("Action", "DetachUserPolicy"), ("UserName", "alice"), ("PolicyArn", READ_ONLY_ARN)];
    assert_eq!(h.iam(&root, &detach).await.status, 200);
    let r = h.iam(&root, &detach).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    let r = h.iam(&root, &[("Action", "DeleteUserPolicy"), ("UserName", "alice"), ("PolicyName", "reader")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.iam(&root, &[("Action", "ListUserPolicies"), ("UserName", "alice")]).await;
    assert!(r.all("member").is_empty());
    assert_eq!(h.iam(&root, &[("Action", "DeleteUser"), ("UserName", "alice")]).await.status, 200);
}

#[tokio::test]
async fn projects_are_isolated() {
    let h = Harness::new().await;
    let acme = h.project("acme").await;
    let other = h.project("other").await;
    h.iam(&acme, &[("Action", "CreateUser"), ("UserName", "alice")]).await;
    let r = h.iam(&acme, &[("Action", "CreateAccessKey"), ("UserName", "alice")]).await;
    let alice_key = r.get("AccessKeyId").unwrap();

    let r = h.iam(&other, &[("Action", "GetUser"), ("UserName", "alice")]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    let r = h.iam(&other, &[("Action", "DeleteUser"), ("UserName", "alice")]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    let r = h.iam(&other, &[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", &alice_key)]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    let r = h.iam(&other, &[("Action", "DeleteAccessKey"), ("AccessKeyId", &alice_key)]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    let r = h.iam(&other, &[("Action", "DeleteAccessKey"), ("UserName", "alice"), ("AccessKeyId", &alice_key)]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    // other's own user of the same name is unrelated.
    assert_eq!(h.iam(&other, &[("Action", "CreateUser"), ("UserName", "alice")]).await.status, 200);
    let r = h.iam(&other, &[("Action", "ListUsers")]).await;
    assert!(r.body.contains("arn:aws:iam::other:user/alice"));
    assert!(h.iam.key(&alice_key).await.is_ok(), "still there");
}

#[tokio::test]
async fn iam_users_need_iam_permissions() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    h.iam(&root, &[("Action", "CreateUser"), ("UserName", "alice")]).await;
    h.iam(&root, &[("Action", "CreateUser"), ("UserName", "bob")]).await;
    let r = h.iam(&root, &[("Action", "CreateAccessKey"), ("UserName", "alice")]).await;
    let alice = Creds::new(&r.get("AccessKeyId").unwrap(), &r.get("SecretAccessKey").unwrap());

    // An S3 preset grants nothing in IAM.
    h.iam(&root, &[("Action", "AttachUserPolicy"), ("UserName", "alice"), ("PolicyArn", READ_ONLY_ARN)]).await;
    let r = h.iam(&alice, &[("Action", "CreateUser"), ("UserName", "mallory")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    assert!(
        r.body.contains("User: arn:aws:iam::acme:user/alice is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::acme:user/mallory"),
        "{}",
        r.body
    );

    // iam:* on the project's users, except a deny on bob.
    let doc = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::acme:user/*"},
        {"Effect":"Deny","Action":"iam:DeleteUser","Resource":"arn:aws:iam::acme:user/bob"}]}"#;
    let r = h
        .iam(
            &root,
            &[("Action", "PutUserPolicy"), ("UserName", "alice"), ("PolicyName", "admin"), ("PolicyDocument", doc)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.iam(&alice, &[("Action", "CreateUser"), ("UserName", "carol")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.iam(&alice, &[("Action", "GetUser")]).await;
    assert_eq!(r.get("UserName").as_deref(), Some("alice"));
    let r = h.iam(&alice, &[("Action", "ListUsers")]).await;
    assert_eq!(r.all("UserName"), ["alice", "bob", "carol"]);
    let r = h.iam(&alice, &[("Action", "CreateAccessKey"), ("UserName", "carol")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.iam(&alice, &[("Action", "DeleteUser"), ("UserName", "bob")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"), "explicit deny");
    // Nothing on the root user, whatever the policy says, however it is spelled.
    for root_name in ["root", "ROOT", "Root"] {
        let r = h.iam(&alice, &[("Action", "CreateAccessKey"), ("UserName", root_name)]).await;
        assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"), "{root_name}");
        assert!(r.body.contains("on resource: arn:aws:iam::acme:root"), "{}", r.body);
    }
    let r = h.iam(&alice, &[("Action", "ListAccessKeys"), ("UserName", "root")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    // ListPolicies is on resource "*", which the policy does not cover.
    let r = h.iam(&alice, &[("Action", "ListPolicies")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
}

#[tokio::test]
async fn authentication_and_protocol_errors() {
    let h = Harness::new().await;
    let root = h.project("acme").await;

    let r = h.iam(&root, &[("Action", "FlyToTheMoon")]).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidAction"));
    let r = h.iam(&root, &[]).await;
    assert_eq!((r.status, r.code().as_str()), (400, "MissingAction"));

    let wrong = Creds::new(&root.ak, "not-the-secret");
    let r = h.iam(&wrong, &[("Action", "ListUsers")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "SignatureDoesNotMatch"));
    let unknown = Creds::new("CKNOSUCHKEY000000000", "x");
    let r = h.iam(&unknown, &[("Action", "ListUsers")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "InvalidClientTokenId"));
    assert_eq!(r.get("Message").as_deref(), Some("The security token included in the request is invalid."));

    // The body is covered by the signature.
    let mut req = sign_iam(&root, "iam.test", b"Action=ListUsers".to_vec(), OffsetDateTime::now_utc());
    *req.body_mut() = http_body_util::Full::new(bytes::Bytes::from_static(b"Action=DeleteUser&UserName=x"));
    let r = h.send_iam(req).await;
    assert_eq!((r.status, r.code().as_str()), (403, "SignatureDoesNotMatch"));

    // Too old.
    let req =
        sign_iam(&root, "iam.test", b"Action=ListUsers".to_vec(), OffsetDateTime::now_utc() - time::Duration::hours(1));
    let r = h.send_iam(req).await;
    assert_eq!((r.status, r.code().as_str()), (403, "SignatureDoesNotMatch"));
    assert!(r.get("Message").is_some_and(|m| m.starts_with("Signature expired")), "{}", r.body);

    // An x-amz-* header the signature does not cover (#11 item 1: signed means signed).
    let mut req = sign_iam(&root, "iam.test", b"Action=ListUsers".to_vec(), OffsetDateTime::now_utc());
    req.headers_mut().insert("x-amz-extra", "unsigned".parse().unwrap());
    let r = h.send_iam(req).await;
    assert_eq!((r.status, r.code().as_str()), (400, "IncompleteSignature"), "{}", r.body);
    assert!(r.body.contains("headers present in the request which were not signed"), "{}", r.body);

    // Signed for another service.
    let mut req = sign_iam(&root, "iam.test", b"Action=ListUsers".to_vec(), OffsetDateTime::now_utc());
    let auth = req.headers()["authorization"].to_str().unwrap().replace("/iam/aws4_request", "/sts/aws4_request");
    req.headers_mut().insert("authorization", auth.parse().unwrap());
    let r = h.send_iam(req).await;
    assert_eq!((r.status, r.code().as_str()), (400, "IncompleteSignature"));

    // Unsigned.
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "iam.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"Action=ListUsers")))
        .unwrap();
    let r = h.send_iam(req).await;
    assert_eq!((r.status, r.code().as_str()), (403, "MissingAuthenticationToken"));

    // Signature Version 2 is not accepted.
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "iam.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("AWS {}:c2lnbmF0dXJl", root.ak))
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"Action=ListUsers")))
        .unwrap();
    let r = h.send_iam(req).await;
    assert_eq!((r.status, r.code().as_str()), (400, "IncompleteSignature"));

    // The operator manages projects elsewhere.
    let r = h.iam(&h.operator, &[("Action", "ListUsers")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    assert!(r.body.contains("admin API"));
}

/// Creates a user at `path` as `creds`; panics unless it worked.
async fn create_at(h: &Harness, creds: &Creds, name: &str, path: &str) {
    let r = h.iam(creds, &[("Action", "CreateUser"), ("UserName", name), ("Path", path)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Every user name listed under `prefix`, page by page (`page` per call).
async fn listed(h: &Harness, creds: &Creds, prefix: &str, page: usize) -> Vec<String> {
    let (mut names, mut marker) = (Vec::new(), None::<String>);
    let max = page.to_string();
    loop {
        let mut params = vec![("Action", "ListUsers"), ("PathPrefix", prefix), ("MaxItems", max.as_str())];
        if let Some(m) = &marker {
            params.push(("Marker", m));
        }
        let r = h.iam(creds, &params).await;
        assert_eq!(r.status, 200, "{}", r.body);
        names.extend(r.all("UserName"));
        marker = r.get("Marker");
        if marker.is_none() {
            return names;
        }
    }
}

#[tokio::test]
async fn users_have_paths() {
    let h = Harness::new().await;
    let root = h.project("acme").await;

    let r = h.iam(&root, &[("Action", "CreateUser"), ("UserName", "bob"), ("Path", "/s3-tests/")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.get("Path").as_deref(), Some("/s3-tests/"));
    assert_eq!(r.get("Arn").as_deref(), Some("arn:aws:iam::acme:user/s3-tests/bob"));
    let id = r.get("UserId").unwrap();
    let r = h.iam(&root, &[("Action", "GetUser"), ("UserName", "BOB")]).await;
    assert_eq!(r.get("Path").as_deref(), Some("/s3-tests/"));
    assert_eq!(r.get("Arn").as_deref(), Some("arn:aws:iam::acme:user/s3-tests/bob"));
    assert_eq!(r.get("UserId"), Some(id));
    // The name is taken whatever the path.
    let r = h.iam(&root, &[("Action", "CreateUser"), ("UserName", "Bob"), ("Path", "/s3-tests/foo/")]).await;
    assert_eq!((r.status, r.code().as_str()), (409, "EntityAlreadyExists"));
    for bad in ["s3-tests/", "/s3-tests", "/a b/", "/é/"] {
        let r = h.iam(&root, &[("Action", "CreateUser"), ("UserName", "x"), ("Path", bad)]).await;
        assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"), "{bad}");
    }

    // As ceph's s3-tests list them: by path prefix, by name regardless of case.
    let p = "/s3-tests/";
    create_at(&h, &root, "Ad", "/s3-tests/a/x/").await;
    create_at(&h, &root, "ac", "/s3-tests/a/").await;
    create_at(&h, &root, "Ab", "/s3-tests/").await;
    create_at(&h, &root, "aa", "/").await;
    for page in [1, 100] {
        assert_eq!(listed(&h, &root, p, page).await, ["Ab", "ac", "Ad", "bob"]);
        assert_eq!(listed(&h, &root, "/s3-tests/a", page).await, ["ac", "Ad"]);
        assert_eq!(listed(&h, &root, "/s3-tests/a/x", page).await, ["Ad"]);
        assert!(listed(&h, &root, "/s3-tests/a/x/d", page).await.is_empty());
        assert_eq!(listed(&h, &root, "/", page).await, ["aa", "Ab", "ac", "Ad", "bob"]);
    }
    let r = h.iam(&root, &[("Action", "ListUsers")]).await;
    assert_eq!(r.all("UserName"), ["aa", "Ab", "ac", "Ad", "bob"], "every user by default");
    assert_eq!(r.all("Path"), ["/", "/s3-tests/", "/s3-tests/a/", "/s3-tests/a/x/", "/s3-tests/"]);
    assert!(r.body.contains("<Arn>arn:aws:iam::acme:user/s3-tests/a/x/Ad</Arn>"));
    let r = h.iam(&root, &[("Action", "ListUsers"), ("PathPrefix", "s3-tests")]).await;
    assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"));
}

#[tokio::test]
async fn users_are_renamed_and_moved_with_their_keys() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    let update = |params: &[(&'static str, &'static str)]| {
        let mut all = vec![("Action", "UpdateUser")];
        all.extend_from_slice(params);
        all
    };
    let r = h.iam(&root, &update(&[("UserName", "alice"), ("NewUserName", "carol")])).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));

    create_at(&h, &root, "alice", "/s3-tests/").await;
    create_at(&h, &root, "bob", "/s3-tests/m/").await;
    let r = h.iam(&root, &[("Action", "CreateAccessKey"), ("UserName", "alice")]).await;
    let key = r.get("AccessKeyId").unwrap();
    let id = h.iam(&root, &[("Action", "GetUser"), ("UserName", "alice")]).await.get("UserId").unwrap();

    // Rename: the id, path and keys stay with the user.
    let r = h.iam(&root, &update(&[("UserName", "alice"), ("NewUserName", "carol")])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<UpdateUserResponse") && !r.body.contains("UpdateUserResult"), "{}", r.body);
    let r = h.iam(&root, &[("Action", "GetUser"), ("UserName", "alice")]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    let r = h.iam(&root, &[("Action", "GetUser"), ("UserName", "carol")]).await;
    assert_eq!(r.get("UserName").as_deref(), Some("carol"));
    assert_eq!(r.get("UserId").as_ref(), Some(&id), "the id survives a rename");
    assert_eq!(r.get("Arn").as_deref(), Some("arn:aws:iam::acme:user/s3-tests/carol"));
    assert_eq!(listed(&h, &root, "/s3-tests/", 1).await, ["bob", "carol"]);
    let r = h.iam(&root, &[("Action", "ListAccessKeys"), ("UserName", "carol")]).await;
    assert_eq!((r.all("AccessKeyId"), r.all("UserName")), (vec![key.clone()], vec!["carol".to_string(); 2]));
    let r = h.iam(&root, &[("Action", "ListAccessKeys"), ("UserName", "alice")]).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchEntity"));
    let resolved = h.iam.resolve(&key, None, coffer_types::now_millis()).await.unwrap();
    assert_eq!(resolved.principal.arn(), "arn:aws:iam::acme:user/s3-tests/carol", "the key acts as carol");

    // Move: the path changes, nothing else.
    let r = h.iam(&root, &update(&[("UserName", "CAROL"), ("NewPath", "/s3-tests/z/")])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.iam(&root, &[("Action", "GetUser"), ("UserName", "carol")]).await;
    assert_eq!(r.get("Path").as_deref(), Some("/s3-tests/z/"));
    assert_eq!(r.get("Arn").as_deref(), Some("arn:aws:iam::acme:user/s3-tests/z/carol"));
    assert_eq!(r.get("UserId"), Some(id));
    assert_eq!(listed(&h, &root, "/s3-tests/m", 100).await, ["bob"]);
    let r = h.iam(&root, &[("Action", "ListAccessKeys"), ("UserName", "carol")]).await;
    assert_eq!(r.all("AccessKeyId"), [key]);

    // Refusals leave everything as it was.
    let r = h.iam(&root, &update(&[("UserName", "carol"), ("NewUserName", "BOB")])).await;
    assert_eq!((r.status, r.code().as_str()), (409, "EntityAlreadyExists"));
    let r = h.iam(&root, &update(&[("UserName", "carol"), ("NewUserName", "a b")])).await;
    assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"));
    let r = h.iam(&root, &update(&[("UserName", "carol"), ("NewPath", "/no-slash")])).await;
    assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"));
    let r = h.iam(&root, &update(&[("NewUserName", "x")])).await;
    assert_eq!((r.status, r.code().as_str()), (400, "ValidationError"), "UserName is required");
    let r = h.iam(&root, &update(&[("UserName", "root"), ("NewUserName", "boss")])).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidInput"));
    let r = h.iam(&root, &update(&[("UserName", "ROOT"), ("NewPath", "/x/")])).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidInput"));
    let r = h.iam(&root, &[("Action", "GetUser")]).await;
    assert_eq!(r.get("Arn").as_deref(), Some("arn:aws:iam::acme:root"));
    let r = h.iam(&root, &[("Action", "GetUser"), ("UserName", "carol")]).await;
    assert_eq!(r.get("Arn").as_deref(), Some("arn:aws:iam::acme:user/s3-tests/z/carol"));
}

#[tokio::test]
async fn iam_users_are_authorized_on_arns_with_paths() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    create_at(&h, &root, "admin", "/ops/").await;
    create_at(&h, &root, "tester", "/s3-tests/").await;
    create_at(&h, &root, "erin", "/").await;
    let r = h.iam(&root, &[("Action", "CreateAccessKey"), ("UserName", "admin")]).await;
    let admin = Creds::new(&r.get("AccessKeyId").unwrap(), &r.get("SecretAccessKey").unwrap());
    let doc = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iam:GetUser","iam:UpdateUser","iam:CreateUser","iam:ListUsers"],
         "Resource":"arn:aws:iam::acme:user/s3-tests/*"}]}"#;
    let put = [("Action", "PutUserPolicy"), ("UserName", "admin"), ("PolicyName", "p"), ("PolicyDocument", doc)];
    assert_eq!(h.iam(&root, &put).await.status, 200);

    let r = h.iam(&admin, &[("Action", "GetUser"), ("UserName", "tester")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.iam(&admin, &[("Action", "GetUser"), ("UserName", "erin")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    assert!(
        r.body.contains(
            "User: arn:aws:iam::acme:user/ops/admin is not authorized to perform: iam:GetUser on resource: arn:aws:iam::acme:user/erin"
        ),
        "the caller's and the target's ARNs carry their paths: {}",
        r.body
    );
    // Creating is checked at the path asked for.
    let r = h.iam(&admin, &[("Action", "CreateUser"), ("UserName", "t2"), ("Path", "/s3-tests/x/")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.iam(&admin, &[("Action", "CreateUser"), ("UserName", "t3")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    // Listing is checked on the prefix.
    let r = h.iam(&admin, &[("Action", "ListUsers"), ("PathPrefix", "/s3-tests/")]).await;
    assert_eq!(r.all("UserName"), ["t2", "tester"]);
    let r = h.iam(&admin, &[("Action", "ListUsers")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    // Updating needs the permission on the user and on what it becomes.
    let upd = |name: &'static str, new_name: &'static str, new_path: &'static str| {
        vec![("Action", "UpdateUser"), ("UserName", name), ("NewUserName", new_name), ("NewPath", new_path)]
    };
    let r = h.iam(&admin, &upd("tester", "tester2", "/s3-tests/deep/")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.iam(&admin, &upd("tester2", "tester3", "/elsewhere/")).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    assert!(r.body.contains("on resource: arn:aws:iam::acme:user/elsewhere/tester3"), "{}", r.body);
    let r = h.iam(&admin, &upd("erin", "erin2", "/s3-tests/")).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    let r = h.iam(&admin, &upd("root", "boss", "/s3-tests/")).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    let r = h.iam(&root, &[("Action", "GetUser"), ("UserName", "tester2")]).await;
    assert_eq!(r.get("Arn").as_deref(), Some("arn:aws:iam::acme:user/s3-tests/deep/tester2"));
}

#[test]
fn requests_are_claimed_by_their_head() {
    let parts = |method: &str, uri: &str, ct: Option<&str>| {
        let mut b = http::Request::builder().method(method).uri(uri);
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        b.body(()).unwrap().into_parts().0
    };
    let form = Some("application/x-www-form-urlencoded; charset=utf-8");
    assert_eq!(ControlService::claims(&parts("POST", "/", form)), Some(Api::Iam));
    assert_eq!(ControlService::claims(&parts("POST", "/", Some("application/xml"))), None);
    assert_eq!(ControlService::claims(&parts("POST", "/bucket", form)), None);
    assert_eq!(ControlService::claims(&parts("GET", "/", None)), None);
    assert_eq!(ControlService::claims(&parts("GET", "/_coffer/admin/v1/projects", None)), Some(Api::Admin));
    assert_eq!(ControlService::claims(&parts("GET", "/_coffer/health/live", None)), None);
    assert_eq!(ControlService::claims(&parts("GET", "/_coffer/adminx", None)), None);
}

#[tokio::test]
async fn groups_roles_and_providers_are_listed_empty() {
    let h = Harness::new().await;
    let root = h.project("acme").await;
    for (action, element) in [
        ("ListGroups", "<Groups/>"),
        ("ListRoles", "<Roles/>"),
        ("ListOpenIDConnectProviders", "<OpenIDConnectProviderList/>"),
    ] {
        let r = h.iam(&root, &[("Action", action)]).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        assert!(r.body.contains(element) && r.body.contains(&format!("<{action}Response")), "{}", r.body);
    }
    let r = h.iam(&root, &[("Action", "CreateGroup"), ("GroupName", "g")]).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidAction"));
}
