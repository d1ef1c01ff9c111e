//! Versioning through the engine: version ids answered and checked, reads
//! of named versions and delete markers, deletes, copies of versions, and
//! version listings.

use super::*;
use coffer_types::Versioning;

async fn get(e: &Engine, key: &str, version: Option<&str>) -> Result<(Vec<u8>, Option<String>), EngineError> {
    let input =
        GetInput { bucket: "bkt".into(), key: key.into(), version: version.map(Into::into), ..Default::default() };
    let out = e.get_object(input).await?;
    let body: Vec<Bytes> = out.body.try_collect().await.unwrap();
    Ok((body.concat(), out.version_id))
}

#[tokio::test]
async fn versions_are_written_read_deleted_and_listed() {
    let f = fixture();
    f.engine.create_bucket(NEW_BKT).await.unwrap();
    // Unversioned: no version ids, and only `null` names a version.
    assert_eq!(f.engine.put_object(put("bkt", "k", b"zero")).await.unwrap().version_id, None);
    assert_eq!(get(&f.engine, "k", Some("null")).await.unwrap(), (b"zero".to_vec(), None));
    let other = coffer_types::new_version_id();
    assert!(matches!(get(&f.engine, "k", Some(&other)).await, Err(EngineError::InvalidArgument(_))));

    f.engine.set_versioning("bkt", None, Versioning::Enabled).await.unwrap();
    let one = f.engine.put_object(put("bkt", "k", b"one")).await.unwrap().version_id.unwrap();
    let two = f.engine.put_object(put("bkt", "k", &data(200_000, 2))).await.unwrap().version_id.unwrap();
    assert_eq!(get(&f.engine, "k", None).await.unwrap(), (data(200_000, 2), Some(two.clone())));
    assert_eq!(get(&f.engine, "k", Some(&one)).await.unwrap(), (b"one".to_vec(), Some(one.clone())));
    assert_eq!(get(&f.engine, "k", Some("null")).await.unwrap().0, b"zero");
    assert!(matches!(get(&f.engine, "k", Some(&other)).await, Err(EngineError::NoSuchVersion)));
    assert!(matches!(get(&f.engine, "k", Some("not-an-id")).await, Err(EngineError::InvalidArgument(_))));

    // A delete puts a marker on top: the key reads as missing, the marker's
    // id as "method not allowed"; older versions stay readable.
    let d = f.engine.delete(DeleteInput { bucket: "bkt".into(), key: "k".into(), ..Default::default() }).await.unwrap();
    let marker = d.version_id.clone().unwrap();
    assert!(d.delete_marker);
    let on_top = get(&f.engine, "k", None).await;
    assert!(
        matches!(&on_top, Err(EngineError::DeleteMarker { named: false, version_id, .. }) if *version_id == marker)
    );
    let named = get(&f.engine, "k", Some(&marker)).await;
    assert!(matches!(named, Err(EngineError::DeleteMarker { named: true, .. })));
    assert_eq!(get(&f.engine, "k", Some(&two)).await.unwrap().0, data(200_000, 2));

    // Restoring a version: a copy of it on top.
    let restore = CopyInput { src_version: Some(one.clone()), ..copy_input("k", "k") };
    let c = f.engine.copy_object(restore.clone()).await.unwrap();
    assert_eq!(c.source_version_id.as_deref(), Some(one.as_str()));
    assert_eq!(get(&f.engine, "k", None).await.unwrap(), (b"one".to_vec(), c.version_id.clone()));
    let from_marker = CopyInput { src_version: Some(marker.clone()), ..restore };
    assert!(matches!(f.engine.copy_object(from_marker).await, Err(EngineError::InvalidRequest(_))));

    // Listing: newest first, the restored copy latest, paging by markers.
    let p = VersionParams { max_keys: 3, ..Default::default() };
    let page = f.engine.list_versions("bkt", &p).await.unwrap();
    assert!(page.is_truncated);
    let ids: Vec<_> = page.versions.iter().map(|v| version_text(&v.version_id)).collect();
    assert_eq!(ids, [c.version_id.clone().unwrap(), marker.clone(), two.clone()]);
    assert!(page.versions[0].latest && page.versions[1].delete_marker);
    let p2 = VersionParams {
        key_marker: page.next_key_marker.clone(),
        version_marker: page.next_version_marker.clone(),
        max_keys: 10,
        ..Default::default()
    };
    let rest = f.engine.list_versions("bkt", &p2).await.unwrap();
    let ids: Vec<_> = rest.versions.iter().map(|v| version_text(&v.version_id)).collect();
    assert_eq!(ids, [one.clone(), "null".to_string()]);
    let alone = VersionParams { version_marker: Some(one.clone()), max_keys: 10, ..Default::default() };
    assert!(matches!(f.engine.list_versions("bkt", &alone).await, Err(EngineError::InvalidArgument(_))));

    // Removing a version for good; the data of the others stays.
    let del = DeleteInput { bucket: "bkt".into(), key: "k".into(), version: Some(two.clone()), ..Default::default() };
    let d = f.engine.delete(del).await.unwrap();
    assert_eq!((d.version_id.as_deref(), d.delete_marker), (Some(two.as_str()), false));
    f.engine.collect_garbage(Duration::ZERO).await.unwrap();
    assert!(matches!(get(&f.engine, "k", Some(&two)).await, Err(EngineError::NoSuchVersion)));
    assert_eq!(get(&f.engine, "k", Some(&one)).await.unwrap().0, b"one");
    assert!(matches!(f.engine.delete_bucket("bkt").await, Err(EngineError::BucketNotEmpty)));

    // Suspended: writes are the null version; versioning never goes away.
    f.engine.set_versioning("bkt", None, Versioning::Suspended).await.unwrap();
    assert_eq!(f.engine.put_object(put("bkt", "k", b"n")).await.unwrap().version_id, None);
    assert_eq!(get(&f.engine, "k", None).await.unwrap(), (b"n".to_vec(), Some("null".to_string())));
    assert_eq!(f.engine.head_bucket("bkt").await.unwrap().versioning, Versioning::Suspended);
}
