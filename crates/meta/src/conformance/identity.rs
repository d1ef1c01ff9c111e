//! Conformance cases for [`IdentityStore`]: projects, users, access keys.

use super::bucket_in;
use crate::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn project(name: &str, created: i64) -> ProjectRecord {
    ProjectRecord { name: name.into(), created }
}

fn user(project: &str, name: &str) -> UserRecord {
    UserRecord {
        project: project.into(),
        name: name.into(),
        id: format!("AIDA-{project}-{name}"),
        path: DEFAULT_USER_PATH.into(),
        root: false,
        created: 7,
        inline_policies: BTreeMap::new(),
        attached: BTreeSet::new(),
        password_hash: None,
    }
}

fn key(id: &str, project: &str, user: &str, created: i64) -> AccessKeyRecord {
    AccessKeyRecord {
        access_key: id.into(),
        sealed_secret: format!("sealed-{id}"),
        project: project.into(),
        user: user.into(),
        region: "us-east-1".into(),
        status: KeyStatus::Active,
        created,
        expires: None,
        last_used: None,
    }
}

async fn key_ids(s: &dyn Store, project: &str, user: Option<&str>) -> Vec<String> {
    s.list_access_keys(project, user).await.unwrap().into_iter().map(|k| k.access_key).collect()
}

pub async fn projects_crud(s: Arc<dyn Store>) {
    assert!(s.list_projects().await.unwrap().is_empty());
    assert!(s.get_project("alpha").await.unwrap().is_none());
    s.create_project(project("beta", 2)).await.unwrap();
    s.create_project(project("alpha", 1)).await.unwrap();
    assert!(matches!(s.create_project(project("alpha", 9)).await, Err(MetaError::AlreadyExists)));
    assert_eq!(s.get_project("alpha").await.unwrap(), Some(project("alpha", 1)));
    assert_eq!(s.list_projects().await.unwrap(), [project("alpha", 1), project("beta", 2)]);

    // Not deletable while it owns a bucket.
    s.create_bucket(bucket_in("shop", "alpha")).await.unwrap();
    assert!(matches!(s.delete_project("alpha").await, Err(MetaError::NotEmpty)));
    assert!(s.get_project("alpha").await.unwrap().is_some());
    s.delete_bucket("shop").await.unwrap();
    s.delete_project("alpha").await.unwrap();
    assert!(s.get_project("alpha").await.unwrap().is_none());
    assert!(matches!(s.delete_project("alpha").await, Err(MetaError::NotFound)));

    // Deleting takes the users, keys and quota along; usage stays.
    s.create_user(user("beta", "root")).await.unwrap();
    s.create_access_key(key("AKB", "beta", "root", 1)).await.unwrap();
    s.set_quota(&QuotaScope::Project("beta".into()), Quota { max_bytes: Some(5), max_objects: None }).await.unwrap();
    let traffic = UsageDelta { project: "beta".into(), bucket: "x".into(), hour: 3600, ..Default::default() };
    s.add_usage(&[traffic]).await.unwrap();
    s.create_access_key(key("OPS", OPERATOR_PROJECT, "operator", 1)).await.unwrap();
    s.delete_project("beta").await.unwrap();
    assert!(s.list_projects().await.unwrap().is_empty());
    assert!(s.get_access_key("AKB").await.unwrap().is_none());
    assert!(s.get_access_key("OPS").await.unwrap().is_some(), "other projects' keys stay");
    assert_eq!(s.get_quota(&QuotaScope::Project("beta".into())).await.unwrap(), Quota::default());
    let q = UsageQuery { project: "beta".into(), bucket: None, from: 0, to: i64::MAX };
    assert_eq!(s.usage(&q).await.unwrap().len(), 1);
    // Its name is never given again: policies and objects elsewhere name it.
    assert!(matches!(s.create_project(project("beta", 3)).await, Err(MetaError::AlreadyExists)));
    assert!(s.get_project("beta").await.unwrap().is_none());
    assert!(s.list_users("beta").await.unwrap().is_empty());
}

pub async fn users_crud(s: Arc<dyn Store>) {
    assert!(matches!(s.create_user(user("p", "alice")).await, Err(MetaError::NotFound)));
    s.create_project(project("p", 1)).await.unwrap();
    s.create_project(project("q", 1)).await.unwrap();
    let mut root = user("p", "root");
    root.root = true;
    let mut alice = user("p", "alice");
    alice.inline_policies.insert("read".into(), r#"{"Version":"2012-10-17","Statement":[]}"#.into());
    alice.attached.insert("ReadOnly".into());
    s.create_user(root.clone()).await.unwrap();
    s.create_user(alice.clone()).await.unwrap();
    assert!(matches!(s.create_user(user("p", "alice")).await, Err(MetaError::AlreadyExists)));
    s.create_user(user("q", "alice")).await.unwrap();
    assert_eq!(s.get_user("p", "alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(s.get_user("p", "root").await.unwrap(), Some(root.clone()));
    assert!(s.get_user("p", "bob").await.unwrap().is_none());
    assert_eq!(s.list_users("p").await.unwrap(), [alice.clone(), root.clone()]);
    assert!(s.list_users("nope").await.unwrap().is_empty());

    // Policies are replaced as a whole; nothing else changes.
    let mut changed = alice.clone();
    changed.inline_policies =
        BTreeMap::from([("a".to_string(), "{\"x\":1}".to_string()), ("b".to_string(), "{\"y\":\"é\"}".to_string())]);
    changed.attached = BTreeSet::from(["FullAccess".to_string(), "Billing".to_string()]);
    let mut sent = changed.clone();
    sent.root = true;
    sent.created = 99;
    s.set_user_policies(&sent, None).await.unwrap();
    assert_eq!(s.get_user("p", "alice").await.unwrap(), Some(changed));
    assert_eq!(s.get_user("q", "alice").await.unwrap(), Some(user("q", "alice")), "other projects untouched");
    s.set_user_policies(&alice, None).await.unwrap();
    assert_eq!(s.get_user("p", "alice").await.unwrap(), Some(alice.clone()));
    assert!(matches!(s.set_user_policies(&user("p", "bob"), None).await, Err(MetaError::NotFound)));

    // A conditional write applies only over the policies it read: an edit
    // made from a stale read is refused and changes nothing.
    let read = s.get_user("p", "alice").await.unwrap().unwrap();
    let mut first = read.clone();
    first.attached.insert("FullAccess".into());
    s.set_user_policies(&first, Some(&read)).await.unwrap();
    let mut stale = read.clone();
    stale.inline_policies.insert("late".into(), "{}".into());
    let r = s.set_user_policies(&stale, Some(&read)).await;
    assert!(matches!(r, Err(MetaError::PreconditionFailed)), "{r:?}");
    assert_eq!(s.get_user("p", "alice").await.unwrap(), Some(first.clone()), "the stale edit wrote nothing");
    let mut next = first.clone();
    next.attached.clear();
    s.set_user_policies(&next, Some(&first)).await.unwrap();
    assert_eq!(s.get_user("p", "alice").await.unwrap(), Some(next));
    let r = s.set_user_policies(&user("p", "bob"), Some(&user("p", "bob"))).await;
    assert!(matches!(r, Err(MetaError::NotFound)), "{r:?}");
    s.set_user_policies(&alice, None).await.unwrap();

    // Deleting a user deletes its keys only.
    s.create_access_key(key("AK1", "p", "alice", 1)).await.unwrap();
    s.create_access_key(key("AK2", "p", "root", 1)).await.unwrap();
    s.create_access_key(key("AK3", "q", "alice", 1)).await.unwrap();
    s.delete_user("p", "alice").await.unwrap();
    assert!(s.get_user("p", "alice").await.unwrap().is_none());
    assert!(s.get_access_key("AK1").await.unwrap().is_none());
    assert!(s.get_access_key("AK2").await.unwrap().is_some());
    assert!(s.get_access_key("AK3").await.unwrap().is_some());
    assert!(matches!(s.delete_user("p", "alice").await, Err(MetaError::NotFound)));
    assert_eq!(s.list_users("p").await.unwrap(), [root]);
}

pub async fn user_paths_and_ids_roundtrip(s: Arc<dyn Store>) {
    s.create_project(project("p", 1)).await.unwrap();
    let mut deep = user("p", "deep");
    deep.path = "/s3-tests/a/x/".into();
    deep.id = "AIDAUNIQUE0000000001".into();
    s.create_user(deep.clone()).await.unwrap();
    s.create_user(user("p", "flat")).await.unwrap();
    assert_eq!(s.get_user("p", "deep").await.unwrap(), Some(deep.clone()));
    assert_eq!(s.get_user("p", "flat").await.unwrap().unwrap().path, "/");
    let listed = s.list_users("p").await.unwrap();
    assert_eq!(
        listed.iter().map(|u| (&u.name[..], &u.path[..])).collect::<Vec<_>>(),
        [("deep", "/s3-tests/a/x/"), ("flat", "/")]
    );
    // Replacing policies leaves the path and the id alone.
    let mut sent = deep.clone();
    sent.path = "/elsewhere/".into();
    sent.id = "other".into();
    sent.attached.insert("ReadOnly".into());
    s.set_user_policies(&sent, None).await.unwrap();
    let got = s.get_user("p", "deep").await.unwrap().unwrap();
    assert_eq!((&got.path[..], &got.id[..]), ("/s3-tests/a/x/", "AIDAUNIQUE0000000001"));
    assert!(got.attached.contains("ReadOnly"));
}

pub async fn rename_user_moves_keys(s: Arc<dyn Store>) {
    s.create_project(project("p", 1)).await.unwrap();
    s.create_project(project("q", 1)).await.unwrap();
    let mut alice = user("p", "alice");
    alice.attached.insert("ReadOnly".into());
    alice.inline_policies.insert("x".into(), "{}".into());
    s.create_user(alice.clone()).await.unwrap();
    s.create_user(user("p", "bob")).await.unwrap();
    s.create_user(user("q", "alice")).await.unwrap();
    s.create_access_key(key("AK1", "p", "alice", 1)).await.unwrap();
    s.create_access_key(key("AK2", "p", "alice", 2)).await.unwrap();
    s.create_access_key(key("BK1", "p", "bob", 1)).await.unwrap();
    s.create_access_key(key("QK1", "q", "alice", 1)).await.unwrap();

    // Missing user; onto an existing name (nothing changes).
    assert!(matches!(s.rename_user("p", "carol", Some("dave"), None).await, Err(MetaError::NotFound)));
    assert!(matches!(s.rename_user("nope", "alice", Some("x"), None).await, Err(MetaError::NotFound)));
    assert!(matches!(s.rename_user("p", "alice", Some("bob"), Some("/x/")).await, Err(MetaError::AlreadyExists)));
    assert_eq!(s.get_user("p", "alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(key_ids(&*s, "p", Some("alice")).await, ["AK1", "AK2"]);

    // Rename and move: the record keeps its id, time and policies; the keys follow.
    s.rename_user("p", "alice", Some("carol"), Some("/team/")).await.unwrap();
    assert!(s.get_user("p", "alice").await.unwrap().is_none());
    let mut carol = alice.clone();
    carol.name = "carol".into();
    carol.path = "/team/".into();
    assert_eq!(s.get_user("p", "carol").await.unwrap(), Some(carol.clone()));
    assert!(key_ids(&*s, "p", Some("alice")).await.is_empty());
    assert_eq!(key_ids(&*s, "p", Some("carol")).await, ["AK1", "AK2"]);
    assert_eq!(s.get_access_key("AK1").await.unwrap().unwrap().user, "carol");
    assert_eq!(key_ids(&*s, "p", Some("bob")).await, ["BK1"], "other users' keys stay");
    assert_eq!(s.get_access_key("QK1").await.unwrap().unwrap().user, "alice", "other projects untouched");
    assert_eq!(s.get_user("q", "alice").await.unwrap(), Some(user("q", "alice")));

    // Path only; name only; to its own name; neither.
    s.rename_user("p", "carol", None, Some("/")).await.unwrap();
    carol.path = "/".into();
    assert_eq!(s.get_user("p", "carol").await.unwrap(), Some(carol.clone()));
    s.rename_user("p", "carol", Some("Carol"), None).await.unwrap();
    carol.name = "Carol".into();
    assert_eq!(s.get_user("p", "Carol").await.unwrap(), Some(carol.clone()));
    assert_eq!(key_ids(&*s, "p", Some("Carol")).await, ["AK1", "AK2"]);
    s.rename_user("p", "Carol", Some("Carol"), None).await.unwrap();
    s.rename_user("p", "Carol", None, None).await.unwrap();
    assert_eq!(s.get_user("p", "Carol").await.unwrap(), Some(carol));
    assert_eq!(s.list_users("p").await.unwrap().len(), 2);
    // Deleting the renamed user takes its keys.
    s.delete_user("p", "Carol").await.unwrap();
    assert!(s.get_access_key("AK1").await.unwrap().is_none());
}

pub async fn user_password_hash(s: Arc<dyn Store>) {
    const H1: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    const H2: &str = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNob3RoZXJoYXNo";
    assert!(matches!(s.set_user_password("p", "alice", Some(H1)).await, Err(MetaError::NotFound)));
    s.create_project(project("p", 1)).await.unwrap();
    s.create_project(project("q", 1)).await.unwrap();
    let mut alice = user("p", "alice");
    alice.attached.insert("ReadOnly".into());
    s.create_user(alice.clone()).await.unwrap();
    s.create_user(user("q", "alice")).await.unwrap();
    assert_eq!(s.get_user("p", "alice").await.unwrap().unwrap().password_hash, None);
    assert!(matches!(s.set_user_password("p", "bob", Some(H1)).await, Err(MetaError::NotFound)));
    assert!(matches!(s.set_user_password("nope", "alice", None).await, Err(MetaError::NotFound)));

    // Set, replace: nothing else changes, other projects untouched.
    s.set_user_password("p", "alice", Some(H1)).await.unwrap();
    alice.password_hash = Some(H1.into());
    assert_eq!(s.get_user("p", "alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(s.list_users("p").await.unwrap(), [alice.clone()]);
    assert_eq!(s.get_user("q", "alice").await.unwrap(), Some(user("q", "alice")));
    s.set_user_password("p", "alice", Some(H2)).await.unwrap();
    alice.password_hash = Some(H2.into());
    assert_eq!(s.get_user("p", "alice").await.unwrap(), Some(alice.clone()));

    // Replacing policies and renaming keep it.
    let mut sent = alice.clone();
    sent.attached.insert("FullAccess".into());
    sent.password_hash = None;
    s.set_user_policies(&sent, None).await.unwrap();
    alice.attached.insert("FullAccess".into());
    assert_eq!(s.get_user("p", "alice").await.unwrap(), Some(alice.clone()));
    s.rename_user("p", "alice", Some("carol"), Some("/team/")).await.unwrap();
    let carol = s.get_user("p", "carol").await.unwrap().unwrap();
    assert_eq!(carol.password_hash.as_deref(), Some(H2));

    // Cleared with None (twice is fine).
    s.set_user_password("p", "carol", None).await.unwrap();
    assert_eq!(s.get_user("p", "carol").await.unwrap().unwrap().password_hash, None);
    s.set_user_password("p", "carol", None).await.unwrap();
    assert!(matches!(s.set_user_password("p", "alice", None).await, Err(MetaError::NotFound)));

    // A hash given at creation is stored.
    let mut dave = user("p", "dave");
    dave.password_hash = Some(H1.into());
    s.create_user(dave.clone()).await.unwrap();
    assert_eq!(s.get_user("p", "dave").await.unwrap(), Some(dave));
}

pub async fn access_keys_crud(s: Arc<dyn Store>) {
    s.create_project(project("p", 1)).await.unwrap();
    s.create_user(user("p", "alice")).await.unwrap();
    s.create_user(user("p", "bob")).await.unwrap();
    assert!(s.get_access_key("AK1").await.unwrap().is_none());

    let mut ak1 = key("AK1", "p", "alice", 10);
    ak1.expires = Some(999);
    s.create_access_key(ak1.clone()).await.unwrap();
    s.create_access_key(key("AK3", "p", "alice", 5)).await.unwrap();
    s.create_access_key(key("AK0", "p", "alice", 10)).await.unwrap();
    s.create_access_key(key("AK2", "p", "bob", 1)).await.unwrap();
    assert!(matches!(s.create_access_key(key("AK1", "p", "bob", 1)).await, Err(MetaError::AlreadyExists)));
    assert!(matches!(s.create_access_key(key("AK9", "p", "carol", 1)).await, Err(MetaError::NotFound)));
    assert!(matches!(s.create_access_key(key("AK9", "nope", "alice", 1)).await, Err(MetaError::NotFound)));
    let ops = key("OPS", OPERATOR_PROJECT, "operator", 1);
    s.create_access_key(ops.clone()).await.unwrap();
    assert_eq!(s.get_access_key("AK1").await.unwrap(), Some(ak1.clone()));
    assert_eq!(s.get_access_key("OPS").await.unwrap(), Some(ops));

    // Ordered by (user, created, id).
    assert_eq!(key_ids(&*s, "p", None).await, ["AK3", "AK0", "AK1", "AK2"]);
    assert_eq!(key_ids(&*s, "p", Some("alice")).await, ["AK3", "AK0", "AK1"]);
    assert_eq!(key_ids(&*s, "p", Some("bob")).await, ["AK2"]);
    assert!(key_ids(&*s, "p", Some("nobody")).await.is_empty());
    assert_eq!(key_ids(&*s, OPERATOR_PROJECT, None).await, ["OPS"]);

    // Status and secret.
    s.set_access_key_status("AK1", KeyStatus::Inactive).await.unwrap();
    assert_eq!(s.get_access_key("AK1").await.unwrap().unwrap().status, KeyStatus::Inactive);
    s.set_access_key_status("AK1", KeyStatus::Active).await.unwrap();
    assert_eq!(s.get_access_key("AK1").await.unwrap().unwrap().status, KeyStatus::Active);
    assert!(matches!(s.set_access_key_status("nope", KeyStatus::Active).await, Err(MetaError::NotFound)));
    s.set_access_key_secret("AK1", "v2:resealed").await.unwrap();
    assert_eq!(s.get_access_key("AK1").await.unwrap().unwrap().sealed_secret, "v2:resealed");
    assert!(matches!(s.set_access_key_secret("nope", "x").await, Err(MetaError::NotFound)));
    // Compare-and-set: replaced only over the value expected.
    let secret_of = |id: &'static str| {
        let s = s.clone();
        async move { s.get_access_key(id).await.unwrap().unwrap().sealed_secret }
    };
    assert!(!s.set_access_key_secret_if("AK1", "v1:stale", "v2:lost").await.unwrap());
    assert_eq!(secret_of("AK1").await, "v2:resealed", "a stale expectation writes nothing");
    assert!(s.set_access_key_secret_if("AK1", "v2:resealed", "v2:swapped").await.unwrap());
    assert_eq!(secret_of("AK1").await, "v2:swapped");
    assert!(!s.set_access_key_secret_if("AK1", "v2:resealed", "v2:again").await.unwrap(), "only once");
    assert!(s.set_access_key_secret_if("AK1", "v2:swapped", "v2:resealed").await.unwrap());
    assert_eq!(secret_of("AK2").await, key("AK2", "p", "bob", 1).sealed_secret, "other keys untouched");
    assert!(!s.set_access_key_secret_if("nope", "x", "y").await.unwrap(), "a missing key is not an error");

    // Touch never goes backwards; a missing key is ignored.
    let last_used = |id: &'static str| {
        let s = s.clone();
        async move { s.get_access_key(id).await.unwrap().unwrap().last_used }
    };
    s.touch_access_key("AK1", 100).await.unwrap();
    assert_eq!(last_used("AK1").await, Some(100));
    s.touch_access_key("AK1", 50).await.unwrap();
    assert_eq!(last_used("AK1").await, Some(100));
    s.touch_access_key("AK1", 200).await.unwrap();
    assert_eq!(last_used("AK1").await, Some(200));
    s.touch_access_key("nope", 1).await.unwrap();
    let mut want = ak1;
    want.sealed_secret = "v2:resealed".into();
    want.last_used = Some(200);
    assert_eq!(s.get_access_key("AK1").await.unwrap(), Some(want), "nothing else changed");

    // Delete.
    assert!(s.delete_access_key("AK1").await.unwrap());
    assert!(!s.delete_access_key("AK1").await.unwrap());
    assert!(s.get_access_key("AK1").await.unwrap().is_none());
    assert_eq!(key_ids(&*s, "p", Some("alice")).await, ["AK3", "AK0"]);
}
