//! Identity use cases against the SQLite store, and the decision table.

use super::*;
use crate::authz::{decide, Access};
use crate::seal::MasterKey;
use coffer_meta::{IdentityStore, KeyStatus};
use coffer_policy::{Context, Policy, Preset};

async fn iam() -> (Iam, Arc<coffer_meta_sqlite::SqliteMetaStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("m.db")).unwrap());
    let iam = Iam::new(store.clone(), MasterKey::from_bytes(&[3u8; 32]), vec!["r1".into(), "r2".into()]);
    (iam, store, dir)
}

#[tokio::test]
async fn projects_have_a_root_user_and_names_are_checked() {
    let (iam, _s, _d) = iam().await;
    iam.create_project("acme").await.unwrap();
    assert!(matches!(iam.create_project("acme").await, Err(IamError::ProjectExists(_))));
    assert!(matches!(iam.create_project("../x").await, Err(IamError::InvalidName(_))));
    let users = iam.list_users("acme").await.unwrap();
    assert_eq!(users.len(), 1);
    assert!(users[0].root && users[0].name == "root");
    assert!(matches!(iam.delete_user("acme", "root", true).await, Err(IamError::RootUser(_))));
    assert!(matches!(iam.list_users("nope").await, Err(IamError::NoSuchProject(_))));
    iam.delete_project("acme").await.unwrap();
    assert!(matches!(iam.delete_project("acme").await, Err(IamError::NoSuchProject(_))));
}

#[tokio::test]
async fn keys_resolve_until_deleted_deactivated_expired_or_elsewhere() {
    let (iam, store, _d) = iam().await;
    iam.create_project("acme").await.unwrap();
    iam.create_user("acme", "alice").await.unwrap();
    iam.attach_preset("acme", "alice", "read-only").await.unwrap();
    let k = iam
        .create_key(&NewKey { project: "acme".into(), user: Some("alice".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(k.record.region, "r1");
    // Stored sealed, never in the clear.
    let stored = store.get_access_key(&k.record.access_key).await.unwrap().unwrap();
    assert!(!stored.sealed_secret.contains(&k.secret));
    let now = coffer_types::now_millis();
    let r = iam.resolve(&k.record.access_key, Some("r1"), now).await.unwrap();
    assert_eq!(r.secret, k.secret);
    let Principal::User(u) = &r.principal else { panic!("a user") };
    assert!(!u.root && u.user == "alice" && u.policies.len() == 1);
    assert!(matches!(iam.resolve(&k.record.access_key, Some("r2"), now).await, Err(ResolveError::WrongRegion)));

    iam.set_key_status(&k.record.access_key, KeyStatus::Inactive).await.unwrap();
    assert!(matches!(iam.resolve(&k.record.access_key, Some("r1"), now).await, Err(ResolveError::Inactive)));
    iam.set_key_status(&k.record.access_key, KeyStatus::Active).await.unwrap();
    iam.resolve(&k.record.access_key, Some("r1"), now).await.unwrap();

    let expiring = iam
        .create_key(&NewKey {
            project: "acme".into(),
            region: Some("r2".into()),
            expires: Some(now + 1000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(expiring.record.user, "root");
    iam.resolve(&expiring.record.access_key, Some("r2"), now).await.unwrap();
    assert!(matches!(
        iam.resolve(&expiring.record.access_key, Some("r2"), now + 1000).await,
        Err(ResolveError::Expired)
    ));

    assert!(matches!(iam.delete_user("acme", "alice", false).await, Err(IamError::DeleteConflict(_))));
    iam.delete_key(&k.record.access_key).await.unwrap();
    assert!(matches!(iam.resolve(&k.record.access_key, Some("r1"), now).await, Err(ResolveError::Unknown)));
    assert!(matches!(iam.delete_key(&k.record.access_key).await, Err(IamError::NoSuchKey(_))));
    assert!(matches!(
        iam.create_key(&NewKey { project: "acme".into(), region: Some("mars".into()), ..Default::default() }).await,
        Err(IamError::UnknownRegion(_))
    ));
}

#[tokio::test]
async fn policies_are_validated_and_replaced() {
    let (iam, _s, _d) = iam().await;
    iam.create_project("p").await.unwrap();
    iam.create_user("p", "bob").await.unwrap();
    let bad = r#"{"Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}"#;
    assert!(matches!(iam.put_user_policy("p", "bob", "x", bad).await, Err(IamError::MalformedPolicy(_))));
    let good = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    iam.put_user_policy("p", "bob", "x", good).await.unwrap();
    assert_eq!(iam.user_policy("p", "bob", "x").await.unwrap(), good);
    iam.set_permissions("p", "bob", &Permissions::Preset(Preset::WriteOnly)).await.unwrap();
    let u = iam.user("p", "bob").await.unwrap();
    assert!(u.inline_policies.is_empty() && u.attached.contains("write-only"));
    assert!(matches!(iam.detach_preset("p", "bob", "read-only").await, Err(IamError::NoSuchPolicy(_))));
    assert!(matches!(iam.attach_preset("p", "bob", "god-mode").await, Err(IamError::UnknownPreset(_))));
    assert!(matches!(iam.put_user_policy("p", "root", "x", good).await, Err(IamError::RootUser(_))));
}

#[tokio::test]
async fn plain_operator_secrets_are_sealed_at_startup() {
    let (iam, store, _d) = iam().await;
    iam.put_operator_key("OPKEY", "opsecret").await.unwrap();
    store.set_access_key_secret("OPKEY", "plain:legacy").await.unwrap();
    assert_eq!(iam.reseal_plain_keys().await.unwrap(), 1);
    let stored = store.get_access_key("OPKEY").await.unwrap().unwrap();
    // One key: sealed in v1, which servers older than key rotation read.
    assert!(stored.sealed_secret.starts_with("v1:"));
    assert_eq!(iam.operator_secret("OPKEY").await.unwrap().as_deref(), Some("legacy"));
    let r = iam.resolve("OPKEY", Some("any-region"), coffer_types::now_millis()).await.unwrap();
    assert!(matches!(r.principal, Principal::Operator { .. }));
    assert_eq!(iam.reseal_plain_keys().await.unwrap(), 0);
}

fn user(project: &str, name: &str, root: bool, policies: Vec<Policy>) -> Principal {
    Principal::User(UserPrincipal {
        project: project.into(),
        user: name.into(),
        path: "/".into(),
        root,
        access_key: "AK".into(),
        policies,
    })
}

#[test]
fn decision_table() {
    let ctx = Context::new();
    let deny_alice = Policy::parse_bucket(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::a:user/alice"},"Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}"#,
        "b",
    )
    .unwrap();
    let public_read = Policy::parse_bucket(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::a:root"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}"#,
        "b",
    )
    .unwrap();
    let get = |policy: Option<&'static Policy>, acl: bool| Access {
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        bucket_owner: Some("a"),
        bucket_policy: policy,
        acl_grants: acl,
        context: Box::leak(Box::new(ctx.clone())),
    };
    let deny_alice: &'static Policy = Box::leak(Box::new(deny_alice));
    let public_read: &'static Policy = Box::leak(Box::new(public_read));
    let ro = || vec![Preset::ReadOnly.policy()];
    let cases: Vec<(&str, Principal, Access, bool)> = vec![
        ("operator", Principal::Operator { access_key: "O".into() }, get(Some(deny_alice), false), true),
        ("own root", user("a", "root", true, vec![]), get(None, false), true),
        ("own user, no policy", user("a", "carol", false, vec![]), get(None, false), false),
        ("own user, read-only", user("a", "carol", false, ro()), get(None, false), true),
        ("own user, no policy, ACL grants", user("a", "carol", false, vec![]), get(None, true), true),
        ("own user denied by bucket policy", user("a", "alice", false, ro()), get(Some(deny_alice), true), false),
        ("other root, nothing grants", user("z", "root", true, vec![]), get(None, false), false),
        ("other root, ACL grants", user("z", "root", true, vec![]), get(None, true), true),
        ("other root, bucket policy grants", user("z", "root", true, vec![]), get(Some(public_read), false), true),
        (
            "other user, policy grants but identity silent",
            user("z", "u", false, vec![]),
            get(Some(public_read), false),
            false,
        ),
        ("other user, both grant", user("z", "u", false, ro()), get(Some(public_read), false), true),
        ("own root, explicitly denied", user("a", "root", true, vec![]), get(Some(public_read), false), false),
        ("anonymous, nothing", Principal::Anonymous, get(None, false), false),
        ("anonymous, ACL", Principal::Anonymous, get(None, true), true),
        ("anonymous, policy", Principal::Anonymous, get(Some(public_read), false), true),
    ];
    for (name, p, access, want) in &cases {
        assert_eq!(decide(p, access), *want, "{name}");
    }
    // The owning root can always repair its bucket policy.
    let mut repair = get(Some(public_read), false);
    repair.action = "s3:DeleteBucketPolicy";
    repair.resource = "arn:aws:s3:::b";
    let deny_all = Policy::parse_bucket(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b"}]}"#,
        "b",
    )
    .unwrap();
    repair.bucket_policy = Some(&deny_all);
    assert!(decide(&user("a", "root", true, vec![]), &repair));
    assert!(!decide(&user("a", "alice", false, vec![Preset::FullAccess.policy()]), &repair));
    // No bucket: the root may, an IAM user only by identity.
    let list = Access {
        action: "s3:ListAllMyBuckets",
        resource: "*",
        bucket_owner: None,
        bucket_policy: None,
        acl_grants: false,
        context: &ctx,
    };
    assert!(decide(&user("a", "root", true, vec![]), &list));
    assert!(decide(&user("a", "u", false, ro()), &list));
    assert!(!decide(&user("a", "u", false, vec![Preset::ReadObjectOnly.policy()]), &list));
    assert!(!decide(&Principal::Anonymous, &list));
}

#[tokio::test]
async fn last_use_is_recorded_only_for_verified_requests_and_throttled() {
    let (iam, store, _d) = iam().await;
    iam.create_project("p").await.unwrap();
    let k = iam.create_key(&NewKey { project: "p".into(), ..Default::default() }).await.unwrap();
    let ak = k.record.access_key.clone();
    let now = coffer_types::now_millis();
    // Resolving alone (the signature not yet checked) records nothing.
    let r = iam.resolve(&ak, Some("r1"), now).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(store.get_access_key(&ak).await.unwrap().unwrap().last_used, None);
    iam.record_use(&r, now);
    let mut stored = None;
    for _ in 0..100 {
        stored = store.get_access_key(&ak).await.unwrap().unwrap().last_used;
        if stored.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(stored, Some(now));
    // Within a minute, further uses are not written.
    iam.record_use(&r, now + 1000);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(store.get_access_key(&ak).await.unwrap().unwrap().last_used, Some(now));
}

#[tokio::test]
async fn user_names_are_unique_regardless_of_case() {
    let (iam, _s, _d) = iam().await;
    iam.create_project("p").await.unwrap();
    iam.create_user("p", "Bob").await.unwrap();
    assert!(matches!(iam.create_user("p", "bob").await, Err(IamError::UserExists(_))));
    assert_eq!(iam.user("p", "BOB").await.unwrap().name, "Bob");
    let k =
        iam.create_key(&NewKey { project: "p".into(), user: Some("bOb".into()), ..Default::default() }).await.unwrap();
    assert_eq!(k.record.user, "Bob");
    assert_eq!(iam.list_keys("p", Some("BOB")).await.unwrap().len(), 1);
    iam.delete_user("p", "BOB", true).await.unwrap();
    assert!(matches!(iam.user("p", "Bob").await, Err(IamError::NoSuchUser(_))));
}

#[tokio::test]
async fn users_have_paths_and_ids() {
    let (iam, _s, _d) = iam().await;
    iam.create_project("p").await.unwrap();
    let flat = iam.create_user("p", "flat").await.unwrap();
    assert_eq!(flat.path, "/");
    let deep = iam.create_user_with_path("p", "deep", "/s3-tests/a/").await.unwrap();
    assert_eq!(iam.user("p", "DEEP").await.unwrap(), deep);
    assert_eq!(deep.path, "/s3-tests/a/");
    assert!(deep.id.starts_with("AIDA") && deep.id.len() == 21 && deep.id != flat.id);
    for bad in ["s3-tests/", "/s3-tests", "/a b/", ""] {
        assert!(matches!(iam.create_user_with_path("p", "x", bad).await, Err(IamError::InvalidPath(_))), "{bad:?}");
    }
    assert!(matches!(iam.create_user_with_path("p", "Deep", "/").await, Err(IamError::UserExists(_))));
    assert!(matches!(iam.create_user_with_path("nope", "x", "/a/").await, Err(IamError::NoSuchProject(_))));
    let root = iam.user("p", "root").await.unwrap();
    assert_eq!(root.path, "/");
    assert!(root.id.starts_with("AIDA"));

    // A user at a path resolves to a principal with that path in its ARN.
    let k = iam.create_key(&NewKey { project: "p".into(), user: Some("deep".into()), ..Default::default() }).await;
    let r = iam.resolve(&k.unwrap().record.access_key, None, coffer_types::now_millis()).await.unwrap();
    assert_eq!(r.principal.arn(), "arn:aws:iam::p:user/s3-tests/a/deep");
}

#[tokio::test]
async fn users_are_renamed_and_moved_with_their_keys() {
    let (iam, store, _d) = iam().await;
    iam.create_project("p").await.unwrap();
    iam.create_user_with_path("p", "bob", "/team/").await.unwrap();
    iam.create_user("p", "Carol").await.unwrap();
    iam.attach_preset("p", "bob", "read-only").await.unwrap();
    let bob = iam.user("p", "bob").await.unwrap();
    let k = iam.create_key(&NewKey { project: "p".into(), user: Some("bob".into()), ..Default::default() }).await;
    let ak = k.unwrap().record.access_key;

    // Refusals: missing, root, taken in any case, bad name or path; nothing changes.
    assert!(matches!(iam.update_user("p", "nobody", Some("x"), None).await, Err(IamError::NoSuchUser(_))));
    assert!(matches!(iam.update_user("p", "root", Some("boss"), None).await, Err(IamError::RootUser(_))));
    assert!(matches!(iam.update_user("p", "ROOT", None, Some("/x/")).await, Err(IamError::RootUser(_))));
    assert!(matches!(iam.update_user("p", "bob", Some("carol"), None).await, Err(IamError::UserExists(_))));
    assert!(matches!(iam.update_user("p", "bob", Some("Root"), None).await, Err(IamError::UserExists(_))));
    assert!(matches!(iam.update_user("p", "bob", Some("a b"), None).await, Err(IamError::InvalidName(_))));
    assert!(matches!(iam.update_user("p", "bob", None, Some("/x")).await, Err(IamError::InvalidPath(_))));
    assert_eq!(iam.user("p", "bob").await.unwrap(), bob);

    // Found in any case; renamed and moved; id, time, policies and keys follow.
    let robert = iam.update_user("p", "BOB", Some("robert"), Some("/ops/")).await.unwrap();
    assert_eq!((robert.name.as_str(), robert.path.as_str()), ("robert", "/ops/"));
    assert_eq!((&robert.id, robert.created, &robert.attached), (&bob.id, bob.created, &bob.attached));
    assert_eq!(iam.user("p", "robert").await.unwrap(), robert);
    assert!(matches!(iam.user("p", "bob").await, Err(IamError::NoSuchUser(_))));
    assert_eq!(iam.list_keys("p", Some("robert")).await.unwrap().len(), 1);
    assert_eq!(store.get_access_key(&ak).await.unwrap().unwrap().user, "robert");
    let r = iam.resolve(&ak, None, coffer_types::now_millis()).await.unwrap();
    let Principal::User(u) = &r.principal else { panic!("a user") };
    assert_eq!((u.user.as_str(), u.path.as_str(), u.policies.len()), ("robert", "/ops/", 1));
    assert_eq!(r.principal.arn(), "arn:aws:iam::p:user/ops/robert");

    // Path only, case of its own name, nothing at all.
    assert_eq!(iam.update_user("p", "robert", None, Some("/")).await.unwrap().path, "/");
    assert_eq!(iam.update_user("p", "robert", Some("Robert"), None).await.unwrap().name, "Robert");
    let same = iam.update_user("p", "robert", None, None).await.unwrap();
    assert_eq!((same.name.as_str(), same.path.as_str()), ("Robert", "/"));
    assert_eq!(iam.list_users("p").await.unwrap().len(), 3);
}

#[tokio::test]
async fn console_passwords() {
    let (iam, store, _d) = iam().await;
    iam.create_project("acme").await.unwrap();
    iam.create_project("other").await.unwrap();
    iam.create_user("acme", "Alice").await.unwrap();
    iam.attach_preset("acme", "Alice", "read-only").await.unwrap();
    let pw = "correct horse battery";
    let bad = |r: Result<UserPrincipal, SigninError>| matches!(r, Err(SigninError::BadCredentials));

    // No password yet: refused like a wrong one.
    assert!(bad(iam.check_password("acme", "Alice", pw).await));

    // Set (the name in any case), then check.
    iam.set_password("acme", "alice", Some(pw)).await.unwrap();
    let stored = store.get_user("acme", "Alice").await.unwrap().unwrap().password_hash.unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(pw));
    let u = iam.check_password("acme", "Alice", pw).await.unwrap();
    assert_eq!(
        (&u.project[..], &u.user[..], &u.path[..], u.root, &u.access_key[..]),
        ("acme", "Alice", "/", false, "")
    );
    assert_eq!(u.policies.len(), 1, "policies loaded as resolve does");
    let u = iam.check_password("acme", "ALICE", pw).await.unwrap();
    assert_eq!(u.user, "Alice", "the stored name");

    // Wrong password, unknown user, unknown project, other project: all the same.
    assert!(bad(iam.check_password("acme", "Alice", "correct horse batterY").await));
    assert!(bad(iam.check_password("acme", "Alice", "").await));
    assert!(bad(iam.check_password("acme", "bob", pw).await));
    assert!(bad(iam.check_password("nope", "Alice", pw).await));
    assert!(bad(iam.check_password("other", "Alice", pw).await));
    assert!(bad(iam.check_password("other", "root", pw).await));

    // A new password replaces the old one, with a fresh salt.
    let pw2 = "another passphrase, longer";
    iam.set_password("acme", "Alice", Some(pw2)).await.unwrap();
    assert!(bad(iam.check_password("acme", "Alice", pw).await));
    iam.check_password("acme", "Alice", pw2).await.unwrap();
    iam.set_password("acme", "Alice", Some(pw)).await.unwrap();
    let again = store.get_user("acme", "Alice").await.unwrap().unwrap().password_hash.unwrap();
    assert_ne!(again, stored, "a fresh salt each time");

    // Cleared: refused again.
    iam.set_password("acme", "ALICE", None).await.unwrap();
    assert_eq!(store.get_user("acme", "Alice").await.unwrap().unwrap().password_hash, None);
    assert!(bad(iam.check_password("acme", "Alice", pw).await));

    // Weak passwords are refused and change nothing.
    iam.set_password("acme", "Alice", Some(pw)).await.unwrap();
    for weak in ["", "short", "elevenchars", &"x".repeat(1025)] {
        assert!(matches!(iam.set_password("acme", "Alice", Some(weak)).await, Err(IamError::WeakPassword(_))));
    }
    iam.check_password("acme", "Alice", pw).await.unwrap();
    iam.set_password("acme", "Alice", Some(&"x".repeat(1024))).await.unwrap();
    iam.check_password("acme", "Alice", &"x".repeat(1024)).await.unwrap();

    // Unknown users and projects.
    assert!(matches!(iam.set_password("acme", "bob", Some(pw)).await, Err(IamError::NoSuchUser(_))));
    assert!(matches!(iam.set_password("nope", "root", None).await, Err(IamError::NoSuchUser(_))));

    // The root user: full access, no policies.
    iam.set_password("acme", "root", Some(pw)).await.unwrap();
    let r = iam.check_password("acme", "root", pw).await.unwrap();
    assert!(r.root && r.policies.is_empty() && r.user == "root");
    assert!(bad(iam.check_password("other", "root", pw).await), "other projects' root untouched");

    // Renaming keeps the password; deleting the user ends it.
    iam.update_user("acme", "Alice", Some("carol"), None).await.unwrap();
    iam.check_password("acme", "carol", &"x".repeat(1024)).await.unwrap();
    assert!(bad(iam.check_password("acme", "Alice", &"x".repeat(1024)).await));
    iam.delete_user("acme", "carol", true).await.unwrap();
    assert!(bad(iam.check_password("acme", "carol", &"x".repeat(1024)).await));
}

#[tokio::test]
async fn tokens_open_only_for_their_purpose_and_never_as_key_secrets() {
    let (iam, _store, _dir) = iam().await;
    let t = iam.seal_token("console-session", "{\"a\":1}").unwrap();
    assert_eq!(iam.open_token("console-session", &t).unwrap(), "{\"a\":1}");
    assert!(iam.open_token("other-purpose", &t).is_err());
    // A key's sealed secret is not a token, whatever purpose is named.
    let sealed = iam.keyring().seal("console-session", "secret").unwrap();
    assert!(iam.open_token("console-session", &sealed).is_err());
    assert!(iam.open_token("console-session", "plain:{}").is_err());
}

/// Issue #11 item 5: sign-ins beyond the password slots are refused at once,
/// without hashing, for known and unknown users alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_beyond_the_password_slots_are_refused_without_hashing() {
    let (iam, _s, _d) = iam().await;
    let iam = iam.with_password_limits(1, std::time::Duration::from_millis(30));
    let pw = "correct horse battery";
    iam.create_project("acme").await.unwrap();
    iam.set_password("acme", "root", Some(pw)).await.unwrap();
    assert_eq!(iam.password_stats(), PasswordStats { limit: 1, peak: 1, jobs: 1, refused: 0 });
    // Something holds the only slot.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let holder = {
        let iam = iam.clone();
        tokio::spawn(async move {
            iam.hasher
                .run(move |_| {
                    let _ = wait.recv();
                })
                .await
        })
    };
    while iam.password_stats().jobs < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    for user in ["root", "nobody"] {
        assert!(matches!(iam.check_password("acme", user, pw).await, Err(SigninError::Busy)), "{user}");
    }
    assert_eq!(iam.password_stats(), PasswordStats { limit: 1, peak: 1, jobs: 2, refused: 2 }, "nothing hashed");
    release.send(()).unwrap();
    holder.await.unwrap();
    iam.check_password("acme", "root", pw).await.unwrap();
    assert!(matches!(iam.check_password("acme", "nobody", pw).await, Err(SigninError::BadCredentials)));
    assert_eq!(iam.password_stats(), PasswordStats { limit: 1, peak: 1, jobs: 4, refused: 2 });
}

/// Policy edits read the user, change it and save it. Two at once used to
/// lose one: a DetachUserPolicy that committed between another edit's read
/// and its save came back (an acknowledged revocation undone). Edits racing
/// on one user now all hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_policy_edits_are_all_kept() {
    let (iam, _s, _d) = iam().await;
    iam.create_project("p").await.unwrap();
    iam.create_user("p", "bob").await.unwrap();
    iam.attach_preset("p", "bob", "full-access").await.unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let iam = Arc::new(iam);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let iam = iam.clone();
        tasks.push(tokio::spawn(async move { iam.put_user_policy("p", "bob", &format!("p{i}"), doc).await }));
    }
    let detach = {
        let iam = iam.clone();
        tokio::spawn(async move { iam.detach_preset("p", "bob", "full-access").await })
    };
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    detach.await.unwrap().unwrap();
    let bob = iam.user("p", "bob").await.unwrap();
    assert_eq!(bob.inline_policies.len(), 24, "every PutUserPolicy kept: {:?}", bob.inline_policies.keys());
    assert!(bob.attached.is_empty(), "the detach held: {:?}", bob.attached);
}

#[tokio::test]
async fn resolved_keys_are_kept_for_the_ttl_and_dropped_on_local_changes() {
    let (iam, store, _d) = iam().await;
    let iam = iam.with_resolve_ttl(std::time::Duration::from_secs(3600));
    iam.create_project("acme").await.unwrap();
    iam.create_user("acme", "alice").await.unwrap();
    let k = iam
        .create_key(&NewKey { project: "acme".into(), user: Some("alice".into()), ..Default::default() })
        .await
        .unwrap();
    let ak = k.record.access_key.clone();
    let now = coffer_types::now_millis();
    iam.resolve(&ak, Some("r1"), now).await.unwrap();
    // A change behind this service's back (another gateway's) is not seen
    // while the resolution is kept...
    store.set_access_key_status(&ak, KeyStatus::Inactive).await.unwrap();
    iam.resolve(&ak, Some("r1"), now).await.expect("kept for the TTL");
    // ...but the checks still run on the kept record every time.
    assert!(matches!(iam.resolve(&ak, Some("r2"), now).await, Err(ResolveError::WrongRegion)));
    // Any identity change through this service forgets it at once.
    iam.attach_preset("acme", "alice", "read-only").await.unwrap();
    assert!(matches!(iam.resolve(&ak, Some("r1"), now).await, Err(ResolveError::Inactive)));
    iam.set_key_status(&ak, KeyStatus::Active).await.unwrap();
    let r = iam.resolve(&ak, Some("r1"), now).await.unwrap();
    let Principal::User(u) = &r.principal else { panic!("a user") };
    assert_eq!(u.policies.len(), 1, "the policy attached above is seen");
    iam.delete_key(&ak).await.unwrap();
    assert!(matches!(iam.resolve(&ak, Some("r1"), now).await, Err(ResolveError::Unknown)));
}

#[tokio::test]
async fn resolved_keys_expire_after_the_ttl() {
    let (iam, store, _d) = iam().await;
    let iam = iam.with_resolve_ttl(std::time::Duration::from_millis(100));
    iam.create_project("acme").await.unwrap();
    let k = iam.create_key(&NewKey { project: "acme".into(), ..Default::default() }).await.unwrap();
    let ak = k.record.access_key.clone();
    let now = coffer_types::now_millis();
    iam.resolve(&ak, Some("r1"), now).await.unwrap();
    assert!(store.delete_access_key(&ak).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert!(matches!(iam.resolve(&ak, Some("r1"), now).await, Err(ResolveError::Unknown)));
    // With no TTL every request reads the store.
    let iam = iam.with_resolve_ttl(std::time::Duration::ZERO);
    let k = iam.create_key(&NewKey { project: "acme".into(), ..Default::default() }).await.unwrap();
    iam.resolve(&k.record.access_key, Some("r1"), now).await.unwrap();
    assert!(store.delete_access_key(&k.record.access_key).await.unwrap());
    assert!(matches!(iam.resolve(&k.record.access_key, Some("r1"), now).await, Err(ResolveError::Unknown)));
}
