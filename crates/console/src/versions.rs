//! One object's versions on its page (newest first, delete markers and the
//! latest marked, each version's retention and legal hold), and what can be
//! done with a version: download it, restore it (a copy of it on top, so it
//! becomes the newest; nothing is removed), or delete it for good.
//!
//! Each is authorized as its S3 request: the list as ListObjectVersions
//! (`s3:ListBucketVersions` with `s3:prefix`), a download as a GET naming the
//! version (`s3:GetObjectVersion`), a restore as a CopyObject whose source
//! names it (`s3:GetObjectVersion` on the source, `s3:PutObject` on the key),
//! a delete as a DELETE naming it (`s3:DeleteObjectVersion`), and the lock
//! columns as GetObjectRetention / GetObjectLegalHold. A locked version's
//! delete is refused by the metadata store in the delete's transaction; the
//! console only says why, on the confirmation page.

use crate::authz::BucketAuthz;
use crate::form::href;
use crate::objects::{bucket, engine_err, key_param, DELIMITER};
use crate::session::Viewer;
use crate::web::{self, human_bytes, human_time, Chrome, PageError};
use crate::{Cx, Inner, TransferKind};
use askama::Template;
use bytes::Bytes;
use coffer_engine::{BucketInfo, CopyInput, DeleteInput, EngineError, MetadataDirective, VersionParams};
use coffer_meta::WriteCondition;
use coffer_types::{is_version_id, now_millis, LockViolation, Retention};
use http::{Response, StatusCode};
use http_body_util::Full;

/// Versions shown per page of an object's versions.
const PER_PAGE: usize = 50;

pub(crate) struct VersionRow {
    pub id: String,
    pub latest: bool,
    pub marker: bool,
    pub size: String,
    pub modified: String,
    /// `GOVERNANCE until …`, `none`, or why it is not shown.
    pub retention: String,
    pub legal_hold: String,
    /// The version's download link, when the viewer may read it.
    pub download: Option<String>,
    pub can_restore: bool,
    pub can_delete: bool,
}

/// An object's versions as its page shows them.
pub(crate) struct VersionList {
    pub rows: Vec<VersionRow>,
    /// Why the versions are not listed.
    pub denied: Option<String>,
    /// The next page (older versions), and the first page when not on it.
    pub older: Option<String>,
    pub newest: Option<String>,
    /// Object lock is on: the retention and legal hold columns are shown.
    pub lock: bool,
}

/// A retention in words: `GOVERNANCE until 2027-01-31 14:05 UTC`.
pub(crate) fn retention_text(r: &Retention) -> String {
    let expired = if r.until <= now_millis() { " (expired)" } else { "" };
    format!("{} until {}{expired}", r.mode.as_str(), human_time(r.until))
}

/// The versions of `key` (from the one after `older`, when given).
pub(crate) async fn list(
    inner: &Inner,
    authz: &BucketAuthz<'_>,
    b: &BucketInfo,
    key: &str,
    older: Option<&str>,
) -> Result<VersionList, PageError> {
    let mut out = VersionList { rows: Vec::new(), denied: None, older: None, newest: None, lock: b.object_lock };
    if !authz.clone().with("s3:prefix", key).on_bucket("s3:ListBucketVersions") {
        out.denied = Some("Your policy does not allow listing this object's versions (s3:ListBucketVersions).".into());
        return Ok(out);
    }
    let page_url = |older: &str| href(&format!("/buckets/{}/object", b.name), &[("key", key), ("older", older)]);
    let older = older.filter(|o| is_version_id(o));
    let mut p = VersionParams {
        prefix: key.to_owned(),
        delimiter: None,
        key_marker: older.map(|_| key.to_owned()),
        version_marker: older.map(str::to_owned),
        max_keys: PER_PAGE,
    };
    let page = match inner.engine.list_versions(&b.name, &p).await {
        // The version the page started after is gone: from the newest again.
        Err(EngineError::InvalidArgument(_)) if older.is_some() => {
            (p.key_marker, p.version_marker) = (None, None);
            inner.engine.list_versions(&b.name, &p).await.map_err(engine_err)?
        }
        other => other.map_err(engine_err)?,
    };
    inner.count(&b.project, &b.name, TransferKind::List, 0, 0);
    if p.key_marker.is_some() {
        out.newest = Some(href(&format!("/buckets/{}/object", b.name), &[("key", key)]));
    }
    // The prefix also lists longer keys; this key's versions come first.
    let mine: Vec<_> = page.versions.into_iter().filter(|s| s.key == key).collect();
    if page.is_truncated && page.next_key_marker.as_deref() == Some(key) {
        out.older = page.next_version_marker.as_deref().map(page_url);
    }
    let can_put = authz.on_existing_object("s3:PutObject", key).await.map_err(engine_err)?;
    let see_retention = authz.on_object("s3:GetObjectRetention", key);
    let see_hold = authz.on_object("s3:GetObjectLegalHold", key);
    for s in mine {
        let id = coffer_engine::version_text(&s.version_id);
        let get = authz.on_existing_version("s3:GetObjectVersion", key, Some(&id)).await.map_err(engine_err)?;
        let can_delete =
            authz.on_existing_version("s3:DeleteObjectVersion", key, Some(&id)).await.map_err(engine_err)?;
        let (mut retention, mut legal_hold) = ("—".to_owned(), "—".to_owned());
        if b.object_lock && !s.delete_marker && (see_retention || see_hold) {
            match inner.engine.read_version(&b.name, key, Some(&id)).await {
                Ok((o, _)) => {
                    retention = o.meta.retention.as_ref().map_or_else(|| "none".into(), retention_text);
                    legal_hold = if o.meta.legal_hold { "on".into() } else { "off".into() };
                }
                // Removed since the listing.
                Err(EngineError::NoSuchVersion | EngineError::DeleteMarker { .. }) => {}
                Err(e) => return Err(engine_err(e)),
            }
            if !see_retention {
                retention = "not shown (s3:GetObjectRetention)".into();
            }
            if !see_hold {
                legal_hold = "not shown (s3:GetObjectLegalHold)".into();
            }
        }
        let download = (get && !s.delete_marker)
            .then(|| href(&format!("/buckets/{}/download", b.name), &[("key", key), ("version", &id)]));
        out.rows.push(VersionRow {
            latest: s.latest,
            marker: s.delete_marker,
            size: if s.delete_marker { "—".into() } else { human_bytes(s.size) },
            modified: human_time(s.last_modified),
            retention,
            legal_hold,
            can_restore: get && can_put && !s.delete_marker && !s.latest,
            download,
            can_delete,
            id,
        });
    }
    Ok(out)
}

/// The version named by the form (`version`).
fn version_param(cx: &Cx) -> Result<String, PageError> {
    match cx.form.get("version") {
        Some(v) if is_version_id(v) => Ok(v.to_owned()),
        _ => Err(PageError::new(StatusCode::BAD_REQUEST, "No version named", "The form names no valid version.")),
    }
}

fn object_page(b: &BucketInfo, key: &str, pairs: &[(&str, &str)]) -> String {
    let mut all = vec![("key", key)];
    all.extend_from_slice(pairs);
    href(&format!("/buckets/{}/object", b.name), &all)
}

fn refused(action: &str, what: &str) -> PageError {
    PageError::new(StatusCode::FORBIDDEN, "Not allowed", format!("Your policy does not allow {what} ({action})."))
}

/// `POST /buckets/{name}/restore-version` with `key` and `version`: copies
/// that version onto its key, where it becomes the newest version.
pub(crate) async fn restore(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let b = bucket(inner, v, name).await?;
    let key = key_param(cx)?.to_owned();
    let id = version_param(cx)?;
    if !b.versioning.is_versioned() {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            "Versioning is off",
            "This bucket keeps no versions, so there is none to restore.",
        ));
    }
    let authz = BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b).await.map_err(engine_err)?;
    if !authz.on_existing_version("s3:GetObjectVersion", &key, Some(&id)).await.map_err(engine_err)? {
        return Err(refused("s3:GetObjectVersion", "reading this version"));
    }
    if !authz.on_existing_object("s3:PutObject", &key).await.map_err(engine_err)? {
        return Err(refused("s3:PutObject", "writing this object"));
    }
    let input = CopyInput {
        src_bucket: b.name.clone(),
        src_key: key.clone(),
        src_version: Some(id.clone()),
        dst_bucket: b.name.clone(),
        dst_key: key.clone(),
        directive: MetadataDirective::Copy,
        source_conditions: Default::default(),
        acl: None,
        writer: None,
        source_pin: None,
        tags: None,
        condition: WriteCondition::None,
        checksum: None,
        dst_stamp: Some(b.stamp()),
        lock: (None, false),
    };
    let not_restored = |status, m: String| PageError::new(status, "Version not restored", m);
    match inner.engine.copy_object(input).await {
        Ok(out) => {
            inner.count(&b.project, &b.name, TransferKind::Put, 0, 0);
            let new = out.version_id.unwrap_or_default();
            tracing::info!(bucket = %b.name, %key, version = %id, new_version = %new, "console restored a version");
            Ok(web::redirect(&object_page(&b, &key, &[("restored", &id)]), None, &cx.nonce))
        }
        Err(EngineError::NoSuchVersion | EngineError::NoSuchKey) => {
            Err(not_restored(StatusCode::NOT_FOUND, "That version no longer exists: it was deleted meanwhile.".into()))
        }
        Err(EngineError::InvalidRequest(m)) => Err(not_restored(StatusCode::BAD_REQUEST, m)),
        Err(EngineError::QuotaExceeded(_)) => Err(not_restored(
            StatusCode::FORBIDDEN,
            "The quota of the bucket or project does not leave room for another copy of this version.".into(),
        )),
        Err(EngineError::NoSpace) => {
            Err(not_restored(StatusCode::INSUFFICIENT_STORAGE, "The server's disk is full; nothing was stored.".into()))
        }
        Err(e) => Err(engine_err(e)),
    }
}

#[derive(Template)]
#[template(path = "version_delete.html")]
struct ConfirmPage {
    chrome: Chrome,
    csrf: String,
    bucket: String,
    key: String,
    id: String,
    marker: bool,
    size: String,
    modified: String,
    retention: Option<String>,
    legal_hold: bool,
    error: Option<String>,
    /// The delete can be asked for (not refused for good).
    can_confirm: bool,
    back: String,
}

/// `POST /buckets/{name}/delete-version` with `key` and `version`: asks
/// first; with `confirm=yes` removes that version for good.
pub(crate) async fn delete(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let b = bucket(inner, v, name).await?;
    let key = key_param(cx)?.to_owned();
    let id = version_param(cx)?;
    let authz = BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b).await.map_err(engine_err)?;
    if !authz.on_existing_version("s3:DeleteObjectVersion", &key, Some(&id)).await.map_err(engine_err)? {
        return Err(refused("s3:DeleteObjectVersion", "deleting versions of this object"));
    }
    let back = object_page(&b, &key, &[]);
    let mut page = ConfirmPage {
        chrome: web::chrome(inner, cx, v, "Delete a version"),
        csrf: v.session.csrf.clone(),
        bucket: b.name.clone(),
        key: key.clone(),
        id: id.clone(),
        marker: false,
        size: String::new(),
        modified: String::new(),
        retention: None,
        legal_hold: false,
        error: None,
        can_confirm: true,
        back,
    };
    match inner.engine.read_version(&b.name, &key, Some(&id)).await {
        Ok((o, _)) => {
            page.size = human_bytes(o.size);
            page.modified = human_time(o.last_modified);
            page.retention = o.meta.retention.as_ref().map(retention_text);
            page.legal_hold = o.meta.legal_hold;
        }
        Err(EngineError::DeleteMarker { last_modified, .. }) => {
            page.marker = true;
            page.modified = human_time(last_modified);
        }
        Err(EngineError::NoSuchVersion | EngineError::NoSuchKey) => {
            return Err(PageError::new(StatusCode::NOT_FOUND, "No such version", "That version no longer exists."))
        }
        Err(EngineError::InvalidArgument(_)) => {
            return Err(PageError::new(StatusCode::BAD_REQUEST, "No such version", "This bucket has no such version."))
        }
        Err(e) => return Err(engine_err(e)),
    }
    if cx.form.get("confirm") != Some("yes") {
        return Ok(web::page(StatusCode::OK, &page, &cx.nonce));
    }
    let input = DeleteInput {
        bucket: b.name.clone(),
        key: key.clone(),
        version: Some(id.clone()),
        bypass_governance: false,
        stamp: Some(b.stamp()),
    };
    match inner.engine.delete(input).await {
        Ok(_) => {}
        Err(EngineError::ObjectLocked(why)) => {
            page.error = Some(match why {
                LockViolation::LegalHold => {
                    "This version is under a legal hold: nobody can delete it until the hold is lifted.".into()
                }
                LockViolation::Retained => format!(
                    "This version is under retention ({}): it cannot be deleted before that date.",
                    page.retention.as_deref().unwrap_or("in force")
                ),
            });
            page.can_confirm = false;
            return Ok(web::page(StatusCode::FORBIDDEN, &page, &cx.nonce));
        }
        Err(EngineError::NoSuchVersion | EngineError::NoSuchKey) => {
            return Err(PageError::new(StatusCode::NOT_FOUND, "No such version", "That version was already deleted."))
        }
        Err(e) => return Err(engine_err(e)),
    }
    inner.count(&b.project, &b.name, TransferKind::Delete, 0, 0);
    tracing::info!(bucket = %b.name, %key, version = %id, "console deleted a version");
    // Back to the object while any version of it is left, else to its folder.
    let to = match inner.engine.read_version(&b.name, &key, None).await {
        Ok(_) | Err(EngineError::DeleteMarker { .. }) => object_page(&b, &key, &[("version_deleted", &id)]),
        Err(_) => {
            let folder = key.rfind(DELIMITER).map_or("", |i| &key[..=i]);
            href(&format!("/buckets/{}", b.name), &[("prefix", folder), ("gone", "1")])
        }
    };
    Ok(web::redirect(&to, None, &cx.nonce))
}
