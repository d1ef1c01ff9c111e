//! A bucket's lifecycle rules in the object browser's settings panel: every
//! rule listed in words (those set through S3 with tags or sizes too, read
//! only), each with a Remove button, and a form for the common rules: expire
//! current objects after some days (optionally under a prefix), delete
//! noncurrent versions after some days (keeping the newest few), abort
//! incomplete multipart uploads after some days.
//!
//! Shown as `s3:GetLifecycleConfiguration` allows, changed as
//! `s3:PutLifecycleConfiguration` does; the values are checked as the S3
//! API's `PutBucketLifecycleConfiguration` checks them. An add or a remove
//! rewrites the whole configuration over the one it read
//! ([`coffer_engine::Engine::replace_lifecycle_config`], in the bucket its
//! stamp names): two edits at once never undo each other, a lost race is
//! read again and retried. Removing the last rule removes the configuration.

use crate::authz::BucketAuthz;
use crate::session::Viewer;
use crate::web::{human_bytes, PageError};
use crate::{Cx, Inner};
use bytes::Bytes;
use coffer_engine::{BucketInfo, EngineError};
use coffer_types::lifecycle::{Expiration, LifecycleConfig, LifecycleRule, RuleFilter, MAX_RULES};
use http::{Response, StatusCode};
use http_body_util::Full;

/// The longest rule ID S3 accepts (bytes).
const MAX_ID: usize = 255;
/// The longest prefix the form takes: an object key's limit (bytes).
const MAX_PREFIX: usize = 1024;
/// How often an edit that lost a race with another is read again and retried.
const ATTEMPTS: usize = 5;

/// One rule as the panel lists it.
pub(crate) struct RuleRow {
    pub id: String,
    /// What the rule does, in words.
    pub words: String,
}

pub(crate) struct Lifecycle {
    /// The viewer may read the rules (`s3:GetLifecycleConfiguration`).
    pub visible: bool,
    pub rules: Vec<RuleRow>,
    /// The viewer may change them (`s3:PutLifecycleConfiguration`).
    pub can_change: bool,
    /// The bucket is versioned (or was): noncurrent versions exist.
    pub versioned: bool,
}

fn plural(n: u64, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// A size filter's bound, exact: `1500 bytes (1.5 KiB)`.
fn bytes_words(n: u64) -> String {
    match n {
        0..1024 => plural(n, "byte"),
        n => format!("{} ({})", plural(n, "byte"), human_bytes(n)),
    }
}

/// A rule in words: `prefix logs/, tag class=tmp: expire after 7 days`.
pub(crate) fn rule_words(r: &LifecycleRule) -> String {
    let f = &r.filter;
    let mut filter = Vec::new();
    if !f.prefix.is_empty() {
        filter.push(format!("prefix {}", f.prefix));
    }
    for (k, v) in &f.tags {
        filter.push(format!("tag {k}={v}"));
    }
    if let Some(g) = f.size_greater_than {
        filter.push(format!("larger than {}", bytes_words(g)));
    }
    if let Some(l) = f.size_less_than {
        filter.push(format!("smaller than {}", bytes_words(l)));
    }
    let mut actions = Vec::new();
    if let Some(e) = &r.expiration {
        if let Some(d) = e.days {
            actions.push(format!("expire after {}", plural(d.into(), "day")));
        }
        if let Some(t) = e.date {
            let day = time::OffsetDateTime::from_unix_timestamp(t / 1000)
                .map(|d| d.date().to_string())
                .unwrap_or_else(|_| t.to_string());
            actions.push(format!("expire on {day}"));
        }
        if e.expired_object_delete_marker {
            actions.push("remove delete markers left alone".to_owned());
        }
    }
    if let Some(d) = r.noncurrent_days {
        let mut s = format!("delete noncurrent versions after {}", plural(d.into(), "day"));
        if let Some(k) = r.newer_noncurrent_versions {
            s.push_str(&format!(", keeping the newest {k}"));
        }
        actions.push(s);
    }
    if let Some(d) = r.abort_upload_days {
        actions.push(format!("abort incomplete uploads after {}", plural(d.into(), "day")));
    }
    let scope = if filter.is_empty() { "all objects".to_owned() } else { filter.join(", ") };
    let mut s = format!("{scope}: {}", actions.join("; "));
    if !r.enabled {
        s.push_str(" (disabled)");
    }
    s
}

/// The lifecycle rules of `b` as the viewer may see them.
pub(crate) async fn load(inner: &Inner, authz: &BucketAuthz<'_>, b: &BucketInfo) -> Result<Lifecycle, PageError> {
    let visible = authz.on_bucket("s3:GetLifecycleConfiguration");
    let rules = match visible {
        true => inner.engine.lifecycle_config(&b.name).await.map_err(PageError::internal)?.unwrap_or_default().rules,
        false => Vec::new(),
    };
    Ok(Lifecycle {
        visible,
        rules: rules.iter().map(|r| RuleRow { id: r.id.clone(), words: rule_words(r) }).collect(),
        can_change: authz.on_bucket("s3:PutLifecycleConfiguration"),
        versioned: b.versioning != coffer_types::Versioning::Unversioned,
    })
}

fn bad(message: impl Into<String>) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, "Lifecycle rule not added", message)
}

/// A whole number of days (or versions) from a form field: blank is `None`.
fn positive(form: &crate::form::Form, field: &str, what: &str) -> Result<Option<u32>, PageError> {
    match form.text(field) {
        "" => Ok(None),
        v => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| bad(format!("{what} must be a whole number from 1 to {}.", u32::MAX))),
    }
}

/// The rule the form asks for: `name` (blank: an ID is made up), `prefix`,
/// `expire_days`, `noncurrent_days` with `keep_newest`, `abort_days`; at
/// least one of the actions. Checked against the rules already there.
pub(crate) fn parse_rule(form: &crate::form::Form, existing: &[LifecycleRule]) -> Result<LifecycleRule, PageError> {
    let name = form.text("name");
    if name.len() > MAX_ID {
        return Err(bad(format!("A rule's name is at most {MAX_ID} bytes long.")));
    }
    let prefix = form.get("prefix").unwrap_or("");
    if prefix.len() > MAX_PREFIX {
        return Err(bad(format!("The prefix is at most {MAX_PREFIX} bytes long.")));
    }
    let expire = positive(form, "expire_days", "The days before current objects expire")?;
    let noncurrent = positive(form, "noncurrent_days", "The days before noncurrent versions are deleted")?;
    let keep = positive(form, "keep_newest", "The number of noncurrent versions to keep")?;
    let abort = positive(form, "abort_days", "The days before incomplete uploads are aborted")?;
    if keep.is_some() && noncurrent.is_none() {
        return Err(bad("Keeping the newest noncurrent versions needs the days after which the others are deleted."));
    }
    if expire.is_none() && noncurrent.is_none() && abort.is_none() {
        return Err(bad("Give at least one action: days to expire objects, to delete noncurrent versions or to \
                        abort incomplete uploads."));
    }
    if existing.len() >= MAX_RULES {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            "Lifecycle rule not added",
            format!("The bucket already has {MAX_RULES} lifecycle rules, the most it can have."),
        ));
    }
    let taken = |id: &str| existing.iter().any(|r| r.id == id);
    let id = match name {
        "" => (1..).map(|n| format!("rule-{n}")).find(|id| !taken(id)).unwrap_or_default(),
        n if taken(n) => return Err(bad(format!("The bucket already has a rule named {n}: choose another name."))),
        n => n.to_owned(),
    };
    Ok(LifecycleRule {
        id,
        enabled: true,
        filter: RuleFilter { prefix: prefix.to_owned(), ..Default::default() },
        legacy_prefix: false,
        expiration: expire.map(|d| Expiration { days: Some(d), ..Default::default() }),
        noncurrent_days: noncurrent,
        newer_noncurrent_versions: keep,
        abort_upload_days: abort,
    })
}

/// Reads the rules, applies `edit` and writes them back over what was read;
/// read again and retried when another change committed in between.
async fn edit<F>(inner: &Inner, b: &BucketInfo, mut f: F) -> Result<(), PageError>
where
    F: FnMut(Vec<LifecycleRule>) -> Result<Vec<LifecycleRule>, PageError>,
{
    for _ in 0..ATTEMPTS {
        let current = inner.engine.lifecycle_config(&b.name).await.map_err(PageError::internal)?;
        let rules = f(current.clone().unwrap_or_default().rules)?;
        let next = (!rules.is_empty()).then_some(LifecycleConfig { rules });
        match inner.engine.replace_lifecycle_config(&b.name, Some(&b.stamp()), current.as_ref(), next).await {
            Ok(()) => return Ok(()),
            Err(EngineError::PreconditionFailed) => continue,
            Err(EngineError::NoSuchBucket) => {
                return Err(PageError::new(
                    StatusCode::NOT_FOUND,
                    "No such bucket",
                    "The bucket was deleted meanwhile.",
                ))
            }
            Err(e) => return Err(PageError::internal(e)),
        }
    }
    Err(PageError::new(
        StatusCode::CONFLICT,
        "Lifecycle rules not changed",
        "The lifecycle rules kept changing meanwhile; reload the page and try again.",
    ))
}

/// The bucket named, after checking `s3:PutLifecycleConfiguration`.
async fn allowed(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<BucketInfo, PageError> {
    let b = crate::buckets::find(inner, v, name).await?;
    let authz =
        BucketAuthz::load(&inner.engine, v, cx, inner.cfg.secure_cookies, &b).await.map_err(PageError::internal)?;
    if !authz.on_bucket("s3:PutLifecycleConfiguration") {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your policy does not allow changing this bucket's lifecycle rules (s3:PutLifecycleConfiguration).",
        ));
    }
    Ok(b)
}

fn done(b: &BucketInfo, cx: &Cx, what: &str) -> Response<Full<Bytes>> {
    crate::web::redirect(&crate::form::href(&format!("/buckets/{}", b.name), &[("settings", what)]), None, &cx.nonce)
}

/// `POST /buckets/{name}/lifecycle-add`: the form of [`parse_rule`].
pub(crate) async fn add(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let b = allowed(inner, cx, v, name).await?;
    let mut added = String::new();
    edit(inner, &b, |mut rules| {
        let rule = parse_rule(&cx.form, &rules)?;
        added = rule.id.clone();
        rules.push(rule);
        Ok(rules)
    })
    .await?;
    tracing::info!(bucket = %b.name, rule = %added, "console added a lifecycle rule");
    Ok(done(&b, cx, "lifecycle-added"))
}

/// `POST /buckets/{name}/lifecycle-remove` with the rule's `id`.
pub(crate) async fn remove(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let b = allowed(inner, cx, v, name).await?;
    let id = cx.form.get("id").unwrap_or("");
    edit(inner, &b, |mut rules| {
        let before = rules.len();
        rules.retain(|r| r.id != id);
        if rules.len() == before {
            return Err(PageError::new(
                StatusCode::NOT_FOUND,
                "No such lifecycle rule",
                "The bucket has no lifecycle rule of that ID (it may have been removed meanwhile).",
            ));
        }
        Ok(rules)
    })
    .await?;
    tracing::info!(bucket = %b.name, rule = %id, "console removed a lifecycle rule");
    Ok(done(&b, cx, "lifecycle-removed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Form;

    #[test]
    fn rules_in_words() {
        let r = LifecycleRule {
            id: "x".into(),
            enabled: true,
            filter: RuleFilter {
                prefix: "logs/".into(),
                tags: vec![("class".into(), "tmp".into())],
                ..Default::default()
            },
            expiration: Some(Expiration { days: Some(7), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(rule_words(&r), "prefix logs/, tag class=tmp: expire after 7 days");
        let r = LifecycleRule {
            id: "y".into(),
            enabled: false,
            noncurrent_days: Some(1),
            newer_noncurrent_versions: Some(3),
            abort_upload_days: Some(2),
            ..Default::default()
        };
        assert_eq!(
            rule_words(&r),
            "all objects: delete noncurrent versions after 1 day, keeping the newest 3; abort incomplete uploads \
             after 2 days (disabled)"
        );
        let dated = LifecycleRule {
            expiration: Some(Expiration { date: Some(1_893_456_000_000), ..Default::default() }),
            enabled: true,
            ..Default::default()
        };
        assert_eq!(rule_words(&dated), "all objects: expire on 2030-01-01");
    }

    #[test]
    fn forms_are_checked_like_s3() {
        let parse = |q: &str, existing: &[LifecycleRule]| parse_rule(&Form::parse(q.as_bytes()), existing);
        let r = parse("prefix=logs%2F&expire_days=7&name=", &[]).unwrap();
        assert_eq!((r.id.as_str(), r.filter.prefix.as_str()), ("rule-1", "logs/"));
        assert_eq!(r.expiration.unwrap().days, Some(7));
        let taken = [LifecycleRule { id: "rule-1".into(), ..Default::default() }];
        assert_eq!(parse("abort_days=2", &taken).unwrap().id, "rule-2");
        let r = parse("name=keep&noncurrent_days=30&keep_newest=3", &taken).unwrap();
        assert_eq!((r.noncurrent_days, r.newer_noncurrent_versions, r.id.as_str()), (Some(30), Some(3), "keep"));
        let long = format!("name={}&abort_days=1", "n".repeat(256));
        for bad in [
            "",
            "prefix=a",
            "expire_days=0",
            "expire_days=-1",
            "expire_days=x",
            "expire_days=4294967296",
            "keep_newest=3",
            "noncurrent_days=1&keep_newest=0",
            "name=rule-1&abort_days=1",
            long.as_str(),
        ] {
            let e = parse(bad, &taken).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let full: Vec<_> = (0..MAX_RULES).map(|n| LifecycleRule { id: n.to_string(), ..Default::default() }).collect();
        assert_eq!(parse("abort_days=1", &full).unwrap_err().status, StatusCode::CONFLICT);
    }
}
