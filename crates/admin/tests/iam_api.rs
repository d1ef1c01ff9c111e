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

    // Sent to a region's host: the key works there.
    let r = h.iam_at(&root, "s3.r2.test:9000", &[("Action", "CreateAccessKey"), ("UserName", "alice")]).await;
    let second = r.get("AccessKeyId").unwrap();
    assert_eq!(h.iam.key(&second).await.unwrap().region, "r2");

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
    // Nothing on the root user, whatever the policy says.
    let r = h.iam(&alice, &[("Action", "CreateAccessKey"), ("UserName", "root")]).await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
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
