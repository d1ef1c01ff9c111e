//! Conformance cases for changes to an object's headers that keep its data:
//! tags (the ACL's case is `object_acl_update` in the parent module).

use super::{blobs, bucket, inline, segmented};
use crate::*;
use coffer_types::{CannedAcl, TagSet};
use std::sync::Arc;

fn tags(pairs: &[(&str, &str)]) -> TagSet {
    TagSet::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())), 10).unwrap()
}

/// Tags are stored with the object, replaced whole, kept apart from its ACL
/// and its other headers, and go with the object when it is overwritten.
pub async fn object_tags_update(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let ids = blobs(2);
    let mut seg = segmented("big", &ids);
    seg.meta.content_type = Some("image/png".into());
    seg.meta.tags = tags(&[("written", "with the object")]);
    s.put_object("b", seg.clone(), WriteCondition::None).await.unwrap();
    assert_eq!(s.get_object("b", "big").await.unwrap().unwrap().meta.tags, seg.meta.tags);

    let t = tags(&[("Project", "Blue Sky"), ("é/ü", "@:+=-._ ")]);
    s.edit_object_meta("b", None, "big", &VersionSel::Latest, MetaEdit::Tags(t.clone())).await.unwrap();
    s.set_object_acl("b", None, "big", Some(CannedAcl::PublicRead)).await.unwrap();
    let got = s.get_object("b", "big").await.unwrap().unwrap();
    let mut want = seg.meta.clone();
    want.tags = t;
    want.acl = Some(CannedAcl::PublicRead);
    assert_eq!(got.meta, want, "tags replaced whole, ACL and headers kept");
    assert_eq!((got.etag, got.size, got.data), (seg.etag.clone(), seg.size, seg.data.clone()));
    assert!(s.gc_pending(i64::MAX, 100).await.unwrap().is_empty(), "the data stays referenced");

    s.edit_object_meta("b", None, "big", &VersionSel::Latest, MetaEdit::Tags(TagSet::default())).await.unwrap();
    let got = s.get_object("b", "big").await.unwrap().unwrap();
    assert!(got.meta.tags.is_empty());
    assert_eq!(got.meta.acl, Some(CannedAcl::PublicRead));

    // An overwrite brings its own tags (none), never the old object's.
    s.edit_object_meta("b", None, "big", &VersionSel::Latest, MetaEdit::Tags(tags(&[("old", "1")]))).await.unwrap();
    s.put_object("b", inline("big", b"v2"), WriteCondition::None).await.unwrap();
    assert!(s.get_object("b", "big").await.unwrap().unwrap().meta.tags.is_empty());
    // Listings are not slowed or changed by tags.
    let listed = s.list_objects("b", &ListQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(listed.len(), 1);

    let none = MetaEdit::Tags(TagSet::default());
    assert!(matches!(
        s.edit_object_meta("b", None, "missing", &VersionSel::Latest, none.clone()).await,
        Err(MetaError::NoSuchKey)
    ));
    assert!(matches!(
        s.edit_object_meta("nope", None, "big", &VersionSel::Latest, none).await,
        Err(MetaError::NoSuchBucket)
    ));
}

/// A project's settings: set, replaced, removed, kept apart per project and
/// name, stored before the project exists, and deleted with the project.
pub async fn project_configs(s: Arc<dyn Store>) {
    assert_eq!(s.get_project_config("acme", "publicAccessBlock").await.unwrap(), None);
    s.set_project_config("acme", "publicAccessBlock", Some("BlockPublicAcls".into())).await.unwrap();
    s.set_project_config("acme", "other", Some("x".into())).await.unwrap();
    s.set_project_config("beta", "publicAccessBlock", Some("IgnorePublicAcls".into())).await.unwrap();
    s.set_project_config("acme", "publicAccessBlock", Some("BlockPublicPolicy".into())).await.unwrap();
    assert_eq!(s.get_project_config("acme", "publicAccessBlock").await.unwrap().as_deref(), Some("BlockPublicPolicy"));
    assert_eq!(s.get_project_config("beta", "publicAccessBlock").await.unwrap().as_deref(), Some("IgnorePublicAcls"));
    s.set_project_config("acme", "other", None).await.unwrap();
    s.set_project_config("acme", "never-set", None).await.unwrap();
    assert_eq!(s.get_project_config("acme", "other").await.unwrap(), None);
    // Deleted with its project; another project's stay.
    s.create_project(ProjectRecord { name: "acme".into(), created: 1 }).await.unwrap();
    s.delete_project("acme").await.unwrap();
    assert_eq!(s.get_project_config("acme", "publicAccessBlock").await.unwrap(), None);
    assert_eq!(s.get_project_config("beta", "publicAccessBlock").await.unwrap().as_deref(), Some("IgnorePublicAcls"));
}
