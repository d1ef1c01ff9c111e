//! A bucket's protection settings in the object browser's settings panel:
//! versioning (enable, suspend), object lock (turn on, default retention)
//! and the bucket's four Block Public Access switches.
//!
//! Each is shown and changed only as its S3 request would be allowed:
//! `s3:GetBucketVersioning` / `s3:PutBucketVersioning`,
//! `s3:GetBucketObjectLockConfiguration` / `s3:PutBucketObjectLockConfiguration`,
//! `s3:GetBucketPublicAccessBlock` / `s3:PutBucketPublicAccessBlock`. Every
//! change carries the bucket's stamp, so it cannot land on a bucket of the
//! same name made since the page was read. What the settings forbid (a lock
//! bucket's versioning suspended, lock on without versioning) is refused by
//! the metadata store whatever the console shows; the panel explains it
//! before anyone tries.

use crate::authz::BucketAuthz;
use crate::session::Viewer;
use crate::web::PageError;
use crate::{Cx, Inner};
use bytes::Bytes;
use coffer_engine::{BucketInfo, EngineError, PublicAccessBlock};
use coffer_types::{DefaultRetention, LockMode, RetentionPeriod, Versioning, MAX_RETENTION_YEARS};
use http::{Response, StatusCode};
use http_body_util::Full;

/// One Block Public Access switch as the panel shows it.
pub(crate) struct Switch {
    /// S3's name, also the form field.
    pub name: &'static str,
    pub help: &'static str,
    pub on: bool,
}

/// What each switch does, in S3's order.
const HELP: [&str; 4] = [
    "Refuse requests that set a public ACL on the bucket or its objects.",
    "Public ACLs grant nothing.",
    "Refuse a bucket policy that makes the bucket public (the console's public switch included).",
    "A public bucket policy grants nothing to anyone outside this project.",
];

pub(crate) struct Protection {
    /// The viewer may read the versioning state (`s3:GetBucketVersioning`).
    pub versioning_visible: bool,
    /// `off` (never enabled), `enabled` or `suspended`.
    pub versioning: &'static str,
    pub can_version: bool,
    /// The viewer may read object lock (`s3:GetBucketObjectLockConfiguration`).
    pub lock_visible: bool,
    pub lock_on: bool,
    /// The default retention in words, when there is one.
    pub default_retention: Option<String>,
    /// The retention form's values: mode (`none` for no default), period, unit.
    pub form_mode: &'static str,
    pub form_period: u32,
    pub form_unit: &'static str,
    pub can_lock: bool,
    /// The viewer may read the switches (`s3:GetBucketPublicAccessBlock`).
    pub switches_visible: bool,
    pub switches: Vec<Switch>,
    pub can_block: bool,
    /// The project's switches that are on: they apply whatever the bucket's say.
    pub project_blocks: Vec<&'static str>,
}

/// A default retention in words: `GOVERNANCE, 30 days`.
pub(crate) fn retention_words(d: &DefaultRetention) -> String {
    let plural = |n: u32, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let period = match d.period {
        RetentionPeriod::Days(n) => plural(n, "day"),
        RetentionPeriod::Years(n) => plural(n, "year"),
    };
    format!("{}, {period}", d.mode.as_str())
}

fn versioning_word(v: Versioning) -> &'static str {
    match v {
        Versioning::Unversioned => "off",
        Versioning::Enabled => "enabled",
        Versioning::Suspended => "suspended",
    }
}

/// The protection settings of `b` as the viewer may see them.
pub(crate) async fn load(inner: &Inner, authz: &BucketAuthz<'_>, b: &BucketInfo) -> Result<Protection, PageError> {
    let engine = &inner.engine;
    let lock_visible = authz.on_bucket("s3:GetBucketObjectLockConfiguration");
    let default = match lock_visible && b.object_lock {
        true => engine.object_lock_config(&b.name).await.map_err(PageError::internal)?.flatten(),
        false => None,
    };
    let (form_mode, form_period, form_unit) = match default {
        None => ("none", 30, "days"),
        Some(d) => match d.period {
            RetentionPeriod::Days(n) => (d.mode.as_str(), n, "days"),
            RetentionPeriod::Years(n) => (d.mode.as_str(), n, "years"),
        },
    };
    let switches_visible = authz.on_bucket("s3:GetBucketPublicAccessBlock");
    let (mut switches, mut project_blocks) = (Vec::new(), Vec::new());
    if switches_visible {
        let own = engine.bucket_public_access_block(&b.name).await.map_err(PageError::internal)?.unwrap_or_default();
        switches = own.switches().iter().zip(HELP).map(|(&(name, on), help)| Switch { name, help, on }).collect();
        let project = engine.project_public_access_block(&b.project).await.map_err(PageError::internal)?;
        project_blocks = project.switches().iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    }
    Ok(Protection {
        versioning_visible: authz.on_bucket("s3:GetBucketVersioning"),
        versioning: versioning_word(b.versioning),
        can_version: authz.on_bucket("s3:PutBucketVersioning"),
        lock_visible,
        lock_on: b.object_lock,
        default_retention: default.as_ref().map(retention_words),
        form_mode,
        form_period,
        form_unit,
        can_lock: authz.on_bucket("s3:PutBucketObjectLockConfiguration"),
        switches_visible,
        switches,
        can_block: authz.on_bucket("s3:PutBucketPublicAccessBlock"),
        project_blocks,
    })
}

fn refused(action: &str, what: &str) -> PageError {
    PageError::new(StatusCode::FORBIDDEN, "Not allowed", format!("Your policy does not allow {what} ({action})."))
}

/// An engine refusal of a settings change, in words; anything else is internal.
fn change_err(e: EngineError) -> PageError {
    match e {
        EngineError::InvalidBucketState(why) => PageError::new(
            StatusCode::CONFLICT,
            "Setting not changed",
            format!("The bucket's state does not allow this: {why}."),
        ),
        EngineError::NoSuchBucket => {
            PageError::new(StatusCode::NOT_FOUND, "No such bucket", "The bucket was deleted meanwhile.")
        }
        e => PageError::internal(e),
    }
}

/// Back to the bucket with the settings panel open and a notice of `what` changed.
fn done(b: &BucketInfo, cx: &Cx, what: &str) -> Response<Full<Bytes>> {
    crate::web::redirect(&crate::form::href(&format!("/buckets/{}", b.name), &[("settings", what)]), None, &cx.nonce)
}

/// The bucket named, and the request's authorization on it.
async fn open<'a>(inner: &Inner, cx: &Cx, v: &'a Viewer, b: &'a BucketInfo) -> Result<BucketAuthz<'a>, PageError> {
    BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, b).await.map_err(PageError::internal)
}

/// `POST /buckets/{name}/versioning` with `state=enabled|suspended`.
pub(crate) async fn set_versioning(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let b = crate::buckets::find(inner, v, name).await?;
    let state = match cx.form.get("state") {
        Some("enabled") => Versioning::Enabled,
        Some("suspended") => Versioning::Suspended,
        _ => return Err(PageError::new(StatusCode::BAD_REQUEST, "Choose a state", "Enable or suspend versioning.")),
    };
    if !open(inner, cx, v, &b).await?.on_bucket("s3:PutBucketVersioning") {
        return Err(refused("s3:PutBucketVersioning", "changing this bucket's versioning"));
    }
    if state == Versioning::Suspended && b.object_lock {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            "Versioning stays enabled",
            "Object lock is on for this bucket, so its versioning cannot be suspended (as on S3); object lock \
             cannot be turned off.",
        ));
    }
    inner.engine.set_versioning(&b.name, Some(&b.stamp()), state).await.map_err(change_err)?;
    tracing::info!(bucket = %b.name, versioning = versioning_word(state), "console set versioning");
    Ok(done(&b, cx, &format!("versioning-{}", versioning_word(state))))
}

/// The default retention a form asks for: `mode` (`none`, `GOVERNANCE`,
/// `COMPLIANCE`), `period` (a whole number) and `unit` (`days`, `years`),
/// within S3's limits (100 years).
pub(crate) fn parse_default(form: &crate::form::Form) -> Result<Option<DefaultRetention>, PageError> {
    let bad = |m: &str| PageError::new(StatusCode::BAD_REQUEST, "Default retention not saved", m.to_owned());
    let mode = match form.text("mode") {
        "" | "none" => return Ok(None),
        m => LockMode::parse(m).ok_or_else(|| bad("Choose GOVERNANCE, COMPLIANCE or no default retention."))?,
    };
    let (unit, max) = match form.text("unit") {
        "years" => ("years", MAX_RETENTION_YEARS),
        _ => ("days", MAX_RETENTION_YEARS * 365),
    };
    let n = form
        .text("period")
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| bad(&format!("The retention period must be a whole number of {unit} from 1 to {max}.")))?;
    let period = if unit == "years" { RetentionPeriod::Years(n) } else { RetentionPeriod::Days(n) };
    Ok(Some(DefaultRetention { mode, period }))
}

/// `POST /buckets/{name}/object-lock`: `enable=1` with `confirm=yes` turns
/// object lock on (versioning must be enabled; it never goes off again);
/// `mode`, `period` and `unit` set or remove its default retention.
pub(crate) async fn set_object_lock(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let b = crate::buckets::find(inner, v, name).await?;
    if !open(inner, cx, v, &b).await?.on_bucket("s3:PutBucketObjectLockConfiguration") {
        return Err(refused("s3:PutBucketObjectLockConfiguration", "changing this bucket's object lock"));
    }
    let default = parse_default(&cx.form)?;
    if !b.object_lock {
        // Turning lock on cannot be undone: only the form that says so does it.
        if cx.form.get("enable") != Some("1") {
            return Err(PageError::new(
                StatusCode::CONFLICT,
                "Object lock is off",
                "Object lock is off for this bucket: turn it on before setting a default retention.",
            ));
        }
        if cx.form.get("confirm") != Some("yes") {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "Object lock not turned on",
                "Tick the box that says object lock cannot be turned off, then try again.",
            ));
        }
        if b.versioning != Versioning::Enabled {
            return Err(PageError::new(
                StatusCode::CONFLICT,
                "Versioning is not enabled",
                "Object lock needs versioning enabled: enable versioning first.",
            ));
        }
    }
    inner.engine.set_object_lock_config(&b.name, Some(&b.stamp()), default).await.map_err(change_err)?;
    let words = default.as_ref().map_or_else(|| "none".to_owned(), retention_words);
    tracing::info!(bucket = %b.name, default_retention = %words, "console set object lock");
    Ok(done(&b, cx, if b.object_lock { "retention" } else { "lock-on" }))
}

/// `POST /buckets/{name}/public-access-block`: each switch that is on is a
/// field named as S3 names it, with the value `1`.
pub(crate) async fn set_public_access_block(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let b = crate::buckets::find(inner, v, name).await?;
    if !open(inner, cx, v, &b).await?.on_bucket("s3:PutBucketPublicAccessBlock") {
        return Err(refused("s3:PutBucketPublicAccessBlock", "changing this bucket's Block Public Access"));
    }
    let names = PublicAccessBlock::default().switches().map(|(n, _)| n);
    let p = PublicAccessBlock::from_switches(names.iter().map(|n| (*n, cx.form.get(n) == Some("1"))))
        .map_err(PageError::internal)?;
    inner.engine.set_bucket_public_access_block(&b.name, Some(&b.stamp()), Some(p)).await.map_err(change_err)?;
    tracing::info!(bucket = %b.name, switches = %p.to_stored(), "console set block public access");
    Ok(done(&b, cx, "public-access-block"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Form;

    #[test]
    fn default_retention_forms() {
        let parse = |q: &str| parse_default(&Form::parse(q.as_bytes()));
        assert_eq!(parse("mode=none&period=3&unit=days").unwrap(), None);
        assert_eq!(parse("").unwrap(), None);
        let d = parse("mode=GOVERNANCE&period=30&unit=days").unwrap().unwrap();
        assert_eq!(d, DefaultRetention { mode: LockMode::Governance, period: RetentionPeriod::Days(30) });
        assert_eq!(retention_words(&d), "GOVERNANCE, 30 days");
        let y = parse("mode=COMPLIANCE&period=1&unit=years").unwrap().unwrap();
        assert_eq!(retention_words(&y), "COMPLIANCE, 1 year");
        for bad in [
            "mode=GOVERNANCE&period=0&unit=days",
            "mode=GOVERNANCE&period=101&unit=years",
            "mode=GOVERNANCE&period=36501&unit=days",
            "mode=GOVERNANCE&period=x&unit=days",
            "mode=governance&period=1&unit=days",
        ] {
            assert_eq!(parse(bad).unwrap_err().status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
