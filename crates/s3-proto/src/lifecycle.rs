//! The `LifecycleConfiguration` document of Put/GetBucketLifecycleConfiguration.
//! What is not built (transitions between storage classes, which Coffer
//! does not have) is refused with `501 NotImplemented`, never accepted and
//! ignored.

use crate::error::{S3Error, S3ErrorCode as C};
use crate::object_lock::parse_date;
use crate::xml::{self, NS};
use coffer_types::lifecycle::{Expiration, LifecycleConfig, LifecycleRule, RuleFilter, MAX_RULES};
use serde::Deserialize;
use std::collections::HashSet;

#[derive(Deserialize, Debug)]
struct Doc {
    #[serde(rename = "Rule", default)]
    rules: Vec<RuleDoc>,
}

#[derive(Deserialize, Debug, Default)]
struct TagDoc {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value", default)]
    value: String,
}

#[derive(Deserialize, Debug, Default)]
struct AndDoc {
    #[serde(rename = "Prefix", default)]
    prefix: Option<String>,
    #[serde(rename = "Tag", default)]
    tags: Vec<TagDoc>,
    #[serde(rename = "ObjectSizeGreaterThan", default)]
    gt: Option<String>,
    #[serde(rename = "ObjectSizeLessThan", default)]
    lt: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
struct FilterDoc {
    #[serde(rename = "Prefix", default)]
    prefix: Option<String>,
    #[serde(rename = "Tag", default)]
    tag: Option<TagDoc>,
    #[serde(rename = "ObjectSizeGreaterThan", default)]
    gt: Option<String>,
    #[serde(rename = "ObjectSizeLessThan", default)]
    lt: Option<String>,
    #[serde(rename = "And", default)]
    and: Option<AndDoc>,
}

#[derive(Deserialize, Debug, Default)]
struct ExpirationDoc {
    #[serde(rename = "Days", default)]
    days: Option<String>,
    #[serde(rename = "Date", default)]
    date: Option<String>,
    #[serde(rename = "ExpiredObjectDeleteMarker", default)]
    marker: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
struct NoncurrentDoc {
    #[serde(rename = "NoncurrentDays", default)]
    days: Option<String>,
    #[serde(rename = "NewerNoncurrentVersions", default)]
    newer: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
struct AbortDoc {
    #[serde(rename = "DaysAfterInitiation", default)]
    days: Option<String>,
}

#[derive(Deserialize, Debug)]
struct RuleDoc {
    #[serde(rename = "ID", default)]
    id: Option<String>,
    #[serde(rename = "Status", default)]
    status: Option<String>,
    /// The legacy top-level prefix (before `Filter`).
    #[serde(rename = "Prefix", default)]
    prefix: Option<String>,
    #[serde(rename = "Filter", default)]
    filter: Option<FilterDoc>,
    #[serde(rename = "Expiration", default)]
    expiration: Option<ExpirationDoc>,
    #[serde(rename = "NoncurrentVersionExpiration", default)]
    noncurrent: Option<NoncurrentDoc>,
    #[serde(rename = "AbortIncompleteMultipartUpload", default)]
    abort: Option<AbortDoc>,
    #[serde(rename = "Transition", default)]
    transition: Option<serde::de::IgnoredAny>,
    #[serde(rename = "NoncurrentVersionTransition", default)]
    noncurrent_transition: Option<serde::de::IgnoredAny>,
}

fn invalid(m: &str) -> S3Error {
    S3Error::with_message(C::InvalidArgument, m.to_owned())
}

fn positive(v: &str, what: &str) -> Result<u32, S3Error> {
    v.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid(&format!("'{what}' for an expiration action must be a positive integer")))
}

fn size(v: &Option<String>) -> Result<Option<u64>, S3Error> {
    v.as_deref().map(|s| s.trim().parse::<u64>().map_err(|_| S3Error::new(C::MalformedXML))).transpose()
}

fn filter(r: &RuleDoc) -> Result<RuleFilter, S3Error> {
    let Some(f) = &r.filter else {
        return Ok(RuleFilter { prefix: r.prefix.clone().unwrap_or_default(), ..Default::default() });
    };
    if r.prefix.is_some() {
        return Err(S3Error::new(C::MalformedXML));
    }
    let given = [f.prefix.is_some(), f.tag.is_some(), f.gt.is_some() || f.lt.is_some(), f.and.is_some()];
    if given.iter().filter(|g| **g).count() > 1
        && !(f.gt.is_some() && f.lt.is_some() && given.iter().filter(|g| **g).count() == 1)
    {
        return Err(S3Error::new(C::MalformedXML));
    }
    let mut out = RuleFilter { prefix: f.prefix.clone().unwrap_or_default(), ..Default::default() };
    out.size_greater_than = size(&f.gt)?;
    out.size_less_than = size(&f.lt)?;
    if let Some(t) = &f.tag {
        out.tags.push((t.key.clone(), t.value.clone()));
    }
    if let Some(a) = &f.and {
        out.prefix = a.prefix.clone().unwrap_or_default();
        out.tags = a.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
        out.size_greater_than = size(&a.gt)?;
        out.size_less_than = size(&a.lt)?;
    }
    let keys: HashSet<&str> = out.tags.iter().map(|(k, _)| k.as_str()).collect();
    if keys.len() != out.tags.len() {
        return Err(invalid("Duplicate Tag Keys are not allowed."));
    }
    Ok(out)
}

fn rule(r: RuleDoc, ids: &mut HashSet<String>) -> Result<LifecycleRule, S3Error> {
    if r.transition.is_some() || r.noncurrent_transition.is_some() {
        return Err(S3Error::with_message(
            C::NotImplemented,
            "Transitions are not implemented by this server: it has one storage class.",
        ));
    }
    let id = r.id.clone().filter(|i| !i.is_empty()).unwrap_or_else(|| format!("rule-{}", ids.len() + 1));
    if id.len() > 255 {
        return Err(invalid("ID length should not exceed allowed limit of 255"));
    }
    if !ids.insert(id.clone()) {
        return Err(invalid("Rule ID must be unique. Found same ID for more than one rule"));
    }
    let enabled = match r.status.as_deref().map(str::trim) {
        Some("Enabled") => true,
        Some("Disabled") => false,
        _ => return Err(S3Error::new(C::MalformedXML)),
    };
    let filter = filter(&r)?;
    let expiration = match &r.expiration {
        None => None,
        Some(e) => {
            let marker = match e.marker.as_deref().map(str::trim) {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err(S3Error::new(C::MalformedXML)),
            };
            let days = e.days.as_deref().map(|d| positive(d, "Days")).transpose()?;
            let date = match e.date.as_deref() {
                None => None,
                Some(d) => {
                    let t = parse_date(d).ok_or_else(|| invalid("'Date' must be at midnight GMT"))?;
                    if t % 86_400_000 != 0 {
                        return Err(invalid("'Date' must be at midnight GMT"));
                    }
                    Some(t)
                }
            };
            let set = [days.is_some(), date.is_some(), marker].iter().filter(|x| **x).count();
            if set != 1 {
                return Err(S3Error::new(C::MalformedXML));
            }
            if marker && !filter.tags.is_empty() {
                return Err(invalid("ExpiredObjectDeleteMarker cannot be specified with tags."));
            }
            Some(Expiration { days, date, expired_object_delete_marker: marker })
        }
    };
    let (noncurrent_days, newer) = match &r.noncurrent {
        None => (None, None),
        Some(n) => {
            let days = positive(n.days.as_deref().ok_or_else(|| S3Error::new(C::MalformedXML))?, "NoncurrentDays")?;
            let newer = n.newer.as_deref().map(|v| positive(v, "NewerNoncurrentVersions")).transpose()?;
            (Some(days), newer)
        }
    };
    let abort_upload_days = match &r.abort {
        None => None,
        Some(a) => {
            if !filter.tags.is_empty() {
                return Err(invalid("Tags cannot be specified with AbortIncompleteMultipartUpload."));
            }
            Some(positive(a.days.as_deref().ok_or_else(|| S3Error::new(C::MalformedXML))?, "DaysAfterInitiation")?)
        }
    };
    if expiration.is_none() && noncurrent_days.is_none() && abort_upload_days.is_none() {
        return Err(invalid("At least one action needs to be specified in a rule"));
    }
    Ok(LifecycleRule {
        id,
        enabled,
        legacy_prefix: r.filter.is_none(),
        filter,
        expiration,
        noncurrent_days,
        newer_noncurrent_versions: newer,
        abort_upload_days,
    })
}

/// Parses a PutBucketLifecycleConfiguration document.
pub fn parse(body: &[u8]) -> Result<LifecycleConfig, S3Error> {
    let d: Doc = xml::parse(body)?;
    if d.rules.is_empty() || d.rules.len() > MAX_RULES {
        return Err(S3Error::new(C::MalformedXML));
    }
    let mut ids = HashSet::new();
    let rules = d.rules.into_iter().map(|r| rule(r, &mut ids)).collect::<Result<_, _>>()?;
    Ok(LifecycleConfig { rules })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A rule's `<Filter>` content: one condition alone, several under `<And>`.
fn render_filter(f: &RuleFilter) -> String {
    let mut out = String::new();
    let sizes = |o: &mut String| {
        if let Some(g) = f.size_greater_than {
            o.push_str(&format!("<ObjectSizeGreaterThan>{g}</ObjectSizeGreaterThan>"));
        }
        if let Some(l) = f.size_less_than {
            o.push_str(&format!("<ObjectSizeLessThan>{l}</ObjectSizeLessThan>"));
        }
    };
    let parts = usize::from(!f.prefix.is_empty())
        + f.tags.len()
        + usize::from(f.size_greater_than.is_some())
        + usize::from(f.size_less_than.is_some());
    if parts > 1 {
        out.push_str("<And>");
        if !f.prefix.is_empty() {
            out.push_str(&format!("<Prefix>{}</Prefix>", esc(&f.prefix)));
        }
        for (k, v) in &f.tags {
            out.push_str(&format!("<Tag><Key>{}</Key><Value>{}</Value></Tag>", esc(k), esc(v)));
        }
        sizes(&mut out);
        out.push_str("</And>");
    } else if let Some((k, v)) = f.tags.first() {
        out.push_str(&format!("<Tag><Key>{}</Key><Value>{}</Value></Tag>", esc(k), esc(v)));
    } else if f.size_greater_than.is_some() || f.size_less_than.is_some() {
        sizes(&mut out);
    } else {
        out.push_str(&format!("<Prefix>{}</Prefix>", esc(&f.prefix)));
    }
    out
}

/// The GetBucketLifecycleConfiguration document.
pub fn render(c: &LifecycleConfig) -> String {
    let mut out = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LifecycleConfiguration xmlns=\"{NS}\">");
    for r in &c.rules {
        out.push_str(&format!("<Rule><ID>{}</ID>", esc(&r.id)));
        if r.legacy_prefix {
            out.push_str(&format!("<Prefix>{}</Prefix>", esc(&r.filter.prefix)));
        } else {
            out.push_str(&format!("<Filter>{}</Filter>", render_filter(&r.filter)));
        }
        out.push_str(&format!("<Status>{}</Status>", if r.enabled { "Enabled" } else { "Disabled" }));
        if let Some(e) = &r.expiration {
            out.push_str("<Expiration>");
            if let Some(d) = e.days {
                out.push_str(&format!("<Days>{d}</Days>"));
            }
            if let Some(d) = e.date {
                out.push_str(&format!("<Date>{}</Date>", crate::time_fmt::iso8601_millis(d)));
            }
            if e.expired_object_delete_marker {
                out.push_str("<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>");
            }
            out.push_str("</Expiration>");
        }
        if let Some(d) = r.noncurrent_days {
            out.push_str(&format!("<NoncurrentVersionExpiration><NoncurrentDays>{d}</NoncurrentDays>"));
            if let Some(n) = r.newer_noncurrent_versions {
                out.push_str(&format!("<NewerNoncurrentVersions>{n}</NewerNoncurrentVersions>"));
            }
            out.push_str("</NoncurrentVersionExpiration>");
        }
        if let Some(d) = r.abort_upload_days {
            out.push_str(&format!(
                "<AbortIncompleteMultipartUpload><DaysAfterInitiation>{d}</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
            ));
        }
        out.push_str("</Rule>");
    }
    out.push_str("</LifecycleConfiguration>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(rules: &str) -> String {
        format!("<LifecycleConfiguration>{rules}</LifecycleConfiguration>")
    }

    #[test]
    fn rules_round_trip() {
        let d = doc(
            "<Rule><ID>logs</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>a</Key><Value>b</Value></Tag></And></Filter>\
             <Status>Enabled</Status><Expiration><Days>3</Days></Expiration>\
             <NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>\
             <Rule><ID>mp</ID><Filter><Prefix></Prefix></Filter><Status>Disabled</Status>\
             <AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>\
             <Rule><Prefix>old/</Prefix><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>",
        );
        let c = parse(d.as_bytes()).unwrap();
        assert_eq!(c.rules.len(), 3);
        assert_eq!(c.rules[0].filter.tags, [("a".to_string(), "b".to_string())]);
        assert_eq!(c.rules[0].newer_noncurrent_versions, Some(1));
        assert!(!c.rules[1].enabled && c.rules[1].abort_upload_days == Some(1));
        assert_eq!(c.rules[2].filter.prefix, "old/");
        assert_eq!(parse(render(&c).as_bytes()).unwrap(), c);
    }

    #[test]
    fn bad_rules_are_refused() {
        let code = |rules: &str| parse(doc(rules).as_bytes()).unwrap_err().code;
        let r = |body: &str| format!("<Rule><ID>x</ID><Filter/><Status>Enabled</Status>{body}</Rule>");
        assert_eq!(code(&r("")), C::InvalidArgument);
        assert_eq!(code(&r("<Expiration><Days>0</Days></Expiration>")), C::InvalidArgument);
        assert_eq!(
            code(&r(
                "<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
            )),
            C::MalformedXML
        );
        assert_eq!(code(&r("<Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>")), C::InvalidArgument);
        assert_eq!(
            code(&r("<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>")),
            C::NotImplemented
        );
        let twice = r("<Expiration><Days>1</Days></Expiration>").repeat(2);
        assert_eq!(code(&twice), C::InvalidArgument);
        assert_eq!(
            code("<Rule><ID>s</ID><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule>"),
            C::MalformedXML
        );
        assert_eq!(code(""), C::MalformedXML);
    }
}
