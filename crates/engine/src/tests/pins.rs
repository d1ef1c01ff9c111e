//! Reads pinned to what their authorization decided on: another owner, ACL
//! or an object where there was none is `ChangedSinceAuthorized`, for a
//! GET (before its conditions answer anything) and for a copy's source.

use super::*;
use coffer_types::{CannedAcl, ObjectOwnership};

fn copy(pin: Option<ReadPin>) -> CopyInput {
    CopyInput { source_pin: pin, ..copy_input("k", "copy") }
}

fn get(pin: Option<ReadPin>) -> GetInput {
    GetInput { bucket: "bkt".into(), key: "k".into(), pin, ..Default::default() }
}

#[tokio::test]
async fn reads_act_only_on_what_was_authorized() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    f.engine.set_bucket_ownership("bkt", None, Some(ObjectOwnership::ObjectWriter)).await.unwrap();
    let mut p = put("bkt", "k", b"public");
    p.meta.acl = Some(CannedAcl::PublicRead);
    f.engine.put_object(p).await.unwrap();
    let seen = ReadPin(Some(f.engine.object_facts("bkt", "k", None).await.unwrap()));
    assert_eq!(seen.0, Some(AccessFacts { owner: None, acl: CannedAcl::PublicRead }));
    assert!(f.engine.get_object(get(Some(seen.clone()))).await.is_ok());
    f.engine.copy_object(copy(Some(seen.clone()))).await.unwrap();

    // Made private since: neither reads it under the public decision.
    f.engine.set_object_acl("bkt", None, "k", None, CannedAcl::Private).await.unwrap();
    let mut conditional = get(Some(seen.clone()));
    conditional.conditions.if_none_match = Some("*".into());
    assert!(matches!(f.engine.get_object(conditional).await, Err(EngineError::ChangedSinceAuthorized)));
    assert!(matches!(f.engine.copy_object(copy(Some(seen.clone()))).await, Err(EngineError::ChangedSinceAuthorized)));

    // Overwritten by another project: its object is not the one decided on.
    let mut theirs = put("bkt", "k", b"beta's");
    theirs.meta.owner = Some("beta".into());
    f.engine.put_object(theirs).await.unwrap();
    let now = f.engine.object_facts("bkt", "k", None).await.unwrap();
    assert_eq!(now.owner.as_deref(), Some("beta"), "settled as the writer's under ObjectWriter");
    let private = ReadPin(Some(AccessFacts { owner: None, acl: CannedAcl::Private }));
    assert!(matches!(f.engine.get_object(get(Some(private))).await, Err(EngineError::ChangedSinceAuthorized)));

    // Decided on a missing key: an object put since is not served under it.
    let missing = ReadPin(None);
    assert!(matches!(f.engine.get_object(get(Some(missing.clone()))).await, Err(EngineError::ChangedSinceAuthorized)));
    assert!(matches!(f.engine.copy_object(copy(Some(missing))).await, Err(EngineError::ChangedSinceAuthorized)));
    // Without a pin (authorized without looking), reads go on.
    assert_eq!(read(&f.engine, "bkt", "k").await, b"beta's");
}
