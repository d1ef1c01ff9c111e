//! Multi-select delete: the browser's checked objects and folders are
//! confirmed on a page of their own, then deleted key by key with
//! `s3:DeleteObject` checked for each (as DeleteObjects does). A folder is
//! every key under its prefix (listing it needs `s3:ListBucket`).

use crate::authz::BucketAuthz;
use crate::form::href;
use crate::objects::{bucket, engine_err, DELIMITER};
use crate::session::Viewer;
use crate::web::{self, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_engine::{BucketInfo, ListParams};
use http::{Response, StatusCode};
use http_body_util::Full;

/// Items listed by name on the confirmation page (the rest are counted).
const SHOWN: usize = 50;
/// Keys listed per batch when deleting a folder.
const BATCH: usize = 1000;

#[derive(Template)]
#[template(path = "objects_delete.html")]
struct ConfirmPage {
    chrome: Chrome,
    csrf: String,
    bucket: String,
    prefix: String,
    keys: Vec<String>,
    folders: Vec<String>,
    shown: Vec<String>,
    more: usize,
    back: String,
    /// The bucket keeps versions: a delete adds a delete marker, nothing is lost.
    versioned: bool,
}

/// Deleted and refused counts.
#[derive(Default)]
struct Tally {
    deleted: u64,
    refused: u64,
}

impl Tally {
    async fn delete<'k>(
        &mut self,
        inner: &Inner,
        authz: &BucketAuthz<'_>,
        bucket: &BucketInfo,
        keys: impl Iterator<Item = &'k str>,
    ) -> Result<(), PageError> {
        for key in keys {
            if authz.on_existing_object("s3:DeleteObject", key).await.map_err(engine_err)? {
                inner.engine.delete_object(&bucket.name, key).await.map_err(engine_err)?;
                inner.count(&bucket.project, &bucket.name, crate::TransferKind::Delete, 0, 0);
                self.deleted += 1;
            } else {
                self.refused += 1;
            }
        }
        Ok(())
    }
}

/// `POST /buckets/{name}/delete-objects`: `key` and `folder` (repeated),
/// `prefix` (the folder to return to); with `confirm=yes` it deletes,
/// without it asks.
pub(crate) async fn delete(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let b = bucket(inner, v, name).await?;
    let keys: Vec<String> =
        cx.form.all("key").filter(|k| coffer_types::ObjectKey::parse(k).is_ok()).map(str::to_owned).collect();
    let folders: Vec<String> = cx.form.all("folder").filter(|f| f.ends_with(DELIMITER)).map(str::to_owned).collect();
    let prefix = cx.form.get("prefix").unwrap_or("").to_owned();
    let back = href(&format!("/buckets/{}", b.name), &[("prefix", &prefix)]);
    if keys.is_empty() && folders.is_empty() {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Nothing selected",
            "Select the objects or folders to delete with their check boxes, then press Delete.",
        ));
    }
    if cx.form.get("confirm") != Some("yes") {
        let all: Vec<String> =
            folders.iter().map(|f| format!("{f} (folder, everything in it)")).chain(keys.iter().cloned()).collect();
        let t = ConfirmPage {
            chrome: web::chrome(inner, cx, v, "Delete objects"),
            csrf: v.session.csrf.clone(),
            bucket: b.name.clone(),
            more: all.len().saturating_sub(SHOWN),
            shown: all.into_iter().take(SHOWN).collect(),
            prefix,
            keys,
            folders,
            back,
            versioned: b.versioning.is_versioned(),
        };
        return Ok(web::page(StatusCode::OK, &t, &cx.nonce));
    }
    let authz = BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b).await.map_err(engine_err)?;
    let mut tally = Tally::default();
    tally.delete(inner, &authz, &b, keys.iter().map(String::as_str)).await?;
    for f in &folders {
        let lister = authz.clone().with("s3:prefix", f);
        if !lister.on_bucket("s3:ListBucket") {
            tally.refused += 1;
            continue;
        }
        let mut after = None;
        loop {
            let p = ListParams { prefix: f.clone(), delimiter: None, after: after.clone(), max_keys: BATCH };
            let page = inner.engine.list_objects(&b.name, &p).await.map_err(engine_err)?;
            tally.delete(inner, &authz, &b, page.objects.iter().map(|o| o.key.as_str())).await?;
            if !page.is_truncated || page.last.is_none() {
                break;
            }
            after = page.last;
        }
    }
    let Tally { deleted, refused } = tally;
    tracing::info!(bucket = %b.name, deleted, refused, "console deleted objects");
    let (d, r) = (deleted.to_string(), refused.to_string());
    let to = href(
        &format!("/buckets/{}", b.name),
        &[("prefix", &prefix), ("deleted", &d), ("refused", if refused > 0 { &r } else { "" })],
    );
    Ok(web::redirect(&to, None, &cx.nonce))
}
