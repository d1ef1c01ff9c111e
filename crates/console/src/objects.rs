//! The object browser: one "folder" (common prefix under `/`) of a bucket
//! at a time, with breadcrumbs, prefix search, pages that follow the
//! listing's order (so page 5,000 of a 100k-object folder costs what page 1
//! does: one indexed range scan), and sorting of the page shown.
//!
//! The listing is authorized as ListObjectsV2 is (`s3:ListBucket` with the
//! `s3:prefix` and `s3:delimiter` condition keys). A viewer allowed to read
//! objects but not to list gets a form to open an object by its key. In a
//! bucket that keeps versions, `?versions=1` lists the folder's versions and
//! delete markers instead (`objects_versions.rs`).
//!
//! The listing and the bucket's totals are marked `data-refresh`: when
//! uploads finish, `static/console.js` reads this same page again and swaps
//! them in, so new files show without a reload.

use crate::authz::BucketAuthz;
use crate::form::href;
use crate::session::Viewer;
use crate::settings::{self, Settings};
use crate::web::{self, chrome, human_bytes, human_time, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_engine::{BucketInfo, EngineError, ListParams};
use http::{Response, StatusCode};
use http_body_util::Full;

/// Rows per page by default, and at most.
pub(crate) const PER_PAGE: usize = 100;
const MAX_PER_PAGE: usize = 1000;
/// The folder separator.
pub(crate) const DELIMITER: &str = "/";
/// Uploads at or above this size go in parallel multipart parts.
pub(crate) const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// The part size the browser uses.
pub(crate) const PART_SIZE: u64 = 8 * 1024 * 1024;

pub(crate) struct Crumb {
    pub label: String,
    pub href: String,
}

pub(crate) struct FolderRow {
    pub name: String,
    pub prefix: String,
    pub href: String,
}

struct ObjectRow {
    name: String,
    key: String,
    size: String,
    modified: String,
    details: String,
    download: String,
}

#[derive(Template)]
#[template(path = "objects.html")]
struct ObjectsPage {
    chrome: Chrome,
    csrf: String,
    bucket: String,
    crumbs: Vec<Crumb>,
    prefix: String,
    search: String,
    folders: Vec<FolderRow>,
    objects: Vec<ObjectRow>,
    /// Listing versions (`?versions=1`) instead of objects.
    versions_mode: bool,
    version_rows: Vec<crate::objects_versions::VersionEntry>,
    /// The link that shows or hides versions, in a bucket that keeps them.
    versions_toggle: Option<String>,
    /// The settings panel starts open (after a change to a setting).
    settings_open: bool,
    sort_links: Vec<(String, String, bool)>,
    next: Option<String>,
    first: Option<String>,
    page: u64,
    denied: Option<String>,
    can_upload: bool,
    can_delete: bool,
    settings: Settings,
    notice: Option<String>,
    part_size: u64,
    threshold: u64,
}

pub(crate) fn engine_err(e: EngineError) -> PageError {
    PageError::internal(e)
}

/// The breadcrumbs of `prefix` in `bucket`: the bucket, then each folder.
pub(crate) fn crumbs(bucket: &str, prefix: &str) -> Vec<Crumb> {
    let base = format!("/buckets/{bucket}");
    let mut out = vec![Crumb { label: bucket.to_owned(), href: base.clone() }];
    let mut at = 0;
    while let Some(i) = prefix[at..].find(DELIMITER) {
        let end = at + i + DELIMITER.len();
        out.push(Crumb { label: prefix[at..at + i].to_owned(), href: href(&base, &[("prefix", &prefix[..end])]) });
        at = end;
    }
    out
}

/// How the page is sorted: by name (the listing's order), size or date.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    Name,
    Size,
    Date,
}

impl Sort {
    fn parse(s: Option<&str>) -> Sort {
        match s {
            Some("size") => Sort::Size,
            Some("date") => Sort::Date,
            _ => Sort::Name,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Size => "size",
            Sort::Date => "date",
        }
    }
}

/// `GET /buckets/{name}`: `?prefix=` (the folder), `?q=` (search by prefix
/// within it), `?after=` (the page after this key), `?sort=name|size|date`
/// and `?desc=1`, `?per=` rows.
pub(crate) async fn browse(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let b = crate::buckets::find(inner, v, name).await?;
    let prefix = cx.query.get("prefix").unwrap_or("").to_owned();
    let search = cx.query.get("q").unwrap_or("").to_owned();
    let after = cx.query.get("after").filter(|a| !a.is_empty()).map(str::to_owned);
    let per = cx.query.get("per").and_then(|p| p.parse().ok()).unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE);
    let page: u64 = cx.query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let sort = Sort::parse(cx.query.get("sort"));
    let desc = cx.query.get("desc") == Some("1");
    let list_prefix = format!("{prefix}{search}");
    let versions_mode = b.versioning.is_versioned() && cx.query.get("versions") == Some("1");
    let mut version_rows = Vec::new();

    let authz = BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b).await.map_err(engine_err)?;
    let settings = settings::load(inner, &authz, &b).await?;
    let authz = authz.with("s3:prefix", &list_prefix).with("s3:delimiter", DELIMITER);
    let base = format!("/buckets/{}", b.name);
    let (mut folders, mut objects, mut next, mut denied) = (Vec::new(), Vec::new(), None, None);
    if versions_mode {
        let p = crate::objects_versions::Page {
            prefix: &prefix,
            search: &search,
            after: after.as_deref(),
            after_version: cx.query.get("vafter").filter(|v| coffer_types::is_version_id(v)),
            per,
            number: page,
        };
        let l = crate::objects_versions::list(inner, &authz, &b, &p).await?;
        (folders, version_rows, next, denied) = (l.folders, l.rows, l.next, l.denied);
    } else if authz.on_bucket("s3:ListBucket") {
        let params =
            ListParams { prefix: list_prefix.clone(), delimiter: Some(DELIMITER.into()), after, max_keys: per };
        let listed = inner.engine.list_objects(&b.name, &params).await.map_err(engine_err)?;
        inner.count(&b.project, &b.name, crate::TransferKind::List, 0, 0);
        for p in listed.common_prefixes {
            let name = p[prefix.len()..].to_owned();
            folders.push(FolderRow { href: href(&base, &[("prefix", &p)]), name, prefix: p });
        }
        let mut rows = listed.objects;
        match sort {
            Sort::Name => {}
            Sort::Size => rows.sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.key.cmp(&b.key))),
            Sort::Date => rows.sort_by(|a, b| a.last_modified.cmp(&b.last_modified).then_with(|| a.key.cmp(&b.key))),
        }
        if desc {
            rows.reverse();
            folders.reverse();
        }
        for o in rows {
            objects.push(ObjectRow {
                name: o.key[prefix.len()..].to_owned(),
                size: human_bytes(o.size),
                modified: human_time(o.last_modified),
                details: href(&format!("{base}/object"), &[("key", &o.key)]),
                download: href(&format!("{base}/download"), &[("key", &o.key)]),
                key: o.key,
            });
        }
        if listed.is_truncated {
            if let Some(last) = listed.last.as_deref() {
                let page = (page + 1).to_string();
                let per = per.to_string();
                next = Some(href(
                    &base,
                    &[
                        ("prefix", &prefix),
                        ("q", &search),
                        ("after", last),
                        ("page", &page),
                        ("sort", if sort == Sort::Name { "" } else { sort.as_str() }),
                        ("desc", if desc { "1" } else { "" }),
                        ("per", if per == PER_PAGE.to_string() { "" } else { &per }),
                    ],
                ));
            }
        }
    } else {
        denied = Some(
            "Your policy does not allow listing this bucket (s3:ListBucket). If you know an object's key, open it below."
                .to_owned(),
        );
    }
    let sort_links = [Sort::Name, Sort::Size, Sort::Date]
        .into_iter()
        .map(|s| {
            let flip = s == sort && !desc;
            let link = href(
                &base,
                &[
                    ("prefix", &prefix),
                    ("q", &search),
                    ("sort", if s == Sort::Name { "" } else { s.as_str() }),
                    ("desc", if flip { "1" } else { "" }),
                ],
            );
            (s.as_str().to_owned(), link, s == sort)
        })
        .collect();
    let versions_flag = if versions_mode { "1" } else { "" };
    let first = (page > 1).then(|| href(&base, &[("prefix", &prefix), ("q", &search), ("versions", versions_flag)]));
    let versions_toggle = b.versioning.is_versioned().then(|| {
        href(&base, &[("prefix", &prefix), ("q", &search), ("versions", if versions_mode { "" } else { "1" })])
    });
    let notice = notice(cx);
    let settings_open = cx.query.get("settings").is_some();
    let t = ObjectsPage {
        chrome: chrome(inner, cx, v, &b.name),
        csrf: v.session.csrf.clone(),
        can_upload: authz.on_object("s3:PutObject", &format!("{prefix}x")),
        can_delete: authz.on_object("s3:DeleteObject", &format!("{prefix}x")),
        settings,
        bucket: b.name.clone(),
        crumbs: crumbs(&b.name, &prefix),
        prefix,
        search,
        folders,
        objects,
        versions_mode,
        version_rows,
        versions_toggle,
        settings_open,
        sort_links,
        next,
        first,
        page,
        denied,
        notice,
        part_size: PART_SIZE,
        threshold: MULTIPART_THRESHOLD,
    };
    Ok(web::page(StatusCode::OK, &t, &cx.nonce))
}

/// The notice after a change (`?deleted=N&refused=M`, `?visibility=`,
/// `?settings=`, `?gone=1`).
fn notice(cx: &Cx) -> Option<String> {
    let num = |k: &str| cx.query.get(k).and_then(|n| n.parse::<u64>().ok());
    if let Some(n) = num("deleted") {
        let refused = num("refused").unwrap_or(0);
        let mut s = format!("Deleted {n} object{}.", if n == 1 { "" } else { "s" });
        if refused > 0 {
            s.push_str(&format!(" {refused} were not deleted: your policy does not allow it (s3:DeleteObject)."));
        }
        return Some(s);
    }
    if cx.query.get("gone") == Some("1") {
        return Some("The version was deleted; it was the object's last one.".into());
    }
    let text = match (cx.query.get("visibility"), cx.query.get("settings")) {
        (Some("public"), _) => "The bucket is now public: anyone with an object's URL can read it.",
        (Some("private"), _) => "The console's public-read grant was removed.",
        (_, Some("versioning-enabled")) => "Versioning is enabled: every write now keeps the version it replaces.",
        (_, Some("versioning-suspended")) => {
            "Versioning is suspended: new writes replace the null version; existing versions stay."
        }
        (_, Some("lock-on")) => "Object lock is on for this bucket. It cannot be turned off.",
        (_, Some("retention")) => "The default retention was saved; it applies to versions written from now on.",
        (_, Some("public-access-block")) => "Block Public Access was saved.",
        (_, Some("lifecycle-added")) => "The lifecycle rule was added; it applies from the next lifecycle pass.",
        (_, Some("lifecycle-removed")) => "The lifecycle rule was removed.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// The bucket and object key named by a request (`?key=` or form `key`).
pub(crate) fn key_param(cx: &Cx) -> Result<&str, PageError> {
    let key = cx.query.get("key").or_else(|| cx.form.get("key")).unwrap_or("");
    if coffer_types::ObjectKey::parse(key).is_err() {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "No object named",
            "The address names no valid object key (1 to 1024 bytes).",
        ));
    }
    Ok(key)
}

/// A bucket the viewer sees, for the object pages.
pub(crate) async fn bucket(inner: &Inner, v: &Viewer, name: &str) -> Result<BucketInfo, PageError> {
    crate::buckets::find(inner, v, name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breadcrumbs_follow_folders() {
        let c = crumbs("b", "a b/c&d/");
        let labels: Vec<_> = c.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["b", "a b", "c&d"]);
        assert_eq!(c[0].href, "/buckets/b");
        assert_eq!(c[1].href, "/buckets/b?prefix=a%20b%2F");
        assert_eq!(c[2].href, "/buckets/b?prefix=a%20b%2Fc%26d%2F");
        assert_eq!(crumbs("b", "").len(), 1);
        // A prefix that is not a folder (search text) adds no crumb for its tail.
        assert_eq!(crumbs("b", "x/y").len(), 2);
    }
}
