//! The object browser's "Show versions" view of a folder: every version and
//! delete marker under it (newest first within a key), so that an object
//! whose latest version is a delete marker, absent from the plain listing
//! as it is from ListObjectsV2, can still be found and opened; its page
//! lists its versions and restores one.
//!
//! Authorized as ListObjectVersions (`s3:ListBucketVersions` with `s3:prefix`
//! and `s3:delimiter`). Pages follow the listing's order, starting after a
//! (key, version) pair as S3's markers do, so any page costs one scan.

use crate::authz::BucketAuthz;
use crate::form::href;
use crate::objects::{engine_err, FolderRow, DELIMITER};
use crate::web::{human_bytes, human_time, PageError};
use crate::{Inner, TransferKind};
use coffer_engine::{BucketInfo, EngineError, VersionParams};

/// One version in the folder view.
pub(crate) struct VersionEntry {
    /// The key below the folder.
    pub name: String,
    pub id: String,
    pub latest: bool,
    pub marker: bool,
    pub size: String,
    pub modified: String,
    /// The object's page (its versions and what can be done with them).
    pub details: String,
}

/// One page of the folder's versions.
#[derive(Default)]
pub(crate) struct Listing {
    pub folders: Vec<FolderRow>,
    pub rows: Vec<VersionEntry>,
    pub next: Option<String>,
    pub denied: Option<String>,
}

/// Where a page starts and how long it is.
pub(crate) struct Page<'a> {
    pub prefix: &'a str,
    pub search: &'a str,
    /// The (key, version id) the page starts after.
    pub after: Option<&'a str>,
    pub after_version: Option<&'a str>,
    pub per: usize,
    pub number: u64,
}

/// The versions under `page.prefix` (+ `page.search`), with `authz`
/// already carrying the listing's condition keys.
pub(crate) async fn list(
    inner: &Inner,
    authz: &BucketAuthz<'_>,
    b: &BucketInfo,
    page: &Page<'_>,
) -> Result<Listing, PageError> {
    let mut out = Listing::default();
    if !authz.on_bucket("s3:ListBucketVersions") {
        out.denied = Some(
            "Your policy does not allow listing this bucket's versions (s3:ListBucketVersions). If you know an \
             object's key, open it below."
                .into(),
        );
        return Ok(out);
    }
    let base = format!("/buckets/{}", b.name);
    let p = VersionParams {
        prefix: format!("{}{}", page.prefix, page.search),
        delimiter: Some(DELIMITER.into()),
        key_marker: page.after.map(str::to_owned),
        version_marker: page.after.and(page.after_version).map(str::to_owned),
        max_keys: page.per,
    };
    let listed = match inner.engine.list_versions(&b.name, &p).await {
        // A marker that names no version (deleted since): from the start of the folder.
        Err(EngineError::InvalidArgument(_)) if p.key_marker.is_some() => {
            let from_start = VersionParams { key_marker: None, version_marker: None, ..p.clone() };
            inner.engine.list_versions(&b.name, &from_start).await.map_err(engine_err)?
        }
        other => other.map_err(engine_err)?,
    };
    inner.count(&b.project, &b.name, TransferKind::List, 0, 0);
    for cp in listed.common_prefixes {
        let name = cp[page.prefix.len()..].to_owned();
        out.folders.push(FolderRow { href: href(&base, &[("prefix", &cp), ("versions", "1")]), name, prefix: cp });
    }
    for s in listed.versions {
        let id = coffer_engine::version_text(&s.version_id);
        out.rows.push(VersionEntry {
            name: s.key[page.prefix.len()..].to_owned(),
            latest: s.latest,
            marker: s.delete_marker,
            size: if s.delete_marker { "—".into() } else { human_bytes(s.size) },
            modified: human_time(s.last_modified),
            details: href(&format!("{base}/object"), &[("key", &s.key)]),
            id,
        });
    }
    if listed.is_truncated {
        if let Some(key) = listed.next_key_marker.as_deref() {
            let (number, per) = ((page.number + 1).to_string(), page.per.to_string());
            out.next = Some(href(
                &base,
                &[
                    ("prefix", page.prefix),
                    ("q", page.search),
                    ("versions", "1"),
                    ("after", key),
                    ("vafter", listed.next_version_marker.as_deref().unwrap_or("")),
                    ("page", &number),
                    ("per", if page.per == crate::objects::PER_PAGE { "" } else { &per }),
                ],
            ));
        }
    }
    Ok(out)
}
