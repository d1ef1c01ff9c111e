//! Object lock on the wire: the `ObjectLockConfiguration`, `Retention` and
//! `LegalHold` documents, and the `x-amz-object-lock-*` headers of a write.

use crate::error::{S3Error, S3ErrorCode as C};
use crate::xml::{self, NS};
use coffer_types::{DefaultRetention, LockMode, Retention, RetentionPeriod, UnixMillis, MAX_RETENTION_YEARS};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn doc(body: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}")
}

fn malformed() -> S3Error {
    S3Error::new(C::MalformedXML)
}

/// An ISO 8601 date as the lock documents and headers carry it.
pub fn parse_date(s: &str) -> Option<UnixMillis> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

fn parse_mode(s: &str) -> Result<LockMode, S3Error> {
    LockMode::parse(s.trim()).ok_or_else(malformed)
}

#[derive(Deserialize, Debug)]
struct ConfigDoc {
    #[serde(rename = "ObjectLockEnabled", default)]
    enabled: Option<String>,
    #[serde(rename = "Rule", default)]
    rule: Option<RuleDoc>,
}

#[derive(Deserialize, Debug)]
struct RuleDoc {
    #[serde(rename = "DefaultRetention")]
    default: DefaultDoc,
}

#[derive(Deserialize, Debug)]
struct DefaultDoc {
    #[serde(rename = "Mode", default)]
    mode: Option<String>,
    #[serde(rename = "Days", default)]
    days: Option<String>,
    #[serde(rename = "Years", default)]
    years: Option<String>,
}

/// A PutObjectLockConfiguration document: `ObjectLockEnabled` must be
/// `Enabled`; the optional rule's default retention needs a mode and
/// exactly one of a positive `Days` or `Years`.
pub fn parse_config(body: &[u8]) -> Result<Option<DefaultRetention>, S3Error> {
    let d: ConfigDoc = xml::parse(body)?;
    if d.enabled.as_deref().map(str::trim) != Some("Enabled") {
        return Err(malformed());
    }
    let Some(rule) = d.rule else { return Ok(None) };
    let mode = parse_mode(rule.default.mode.as_deref().ok_or_else(malformed)?)?;
    let positive = |v: &str| {
        v.trim().parse::<i64>().ok().filter(|n| *n > 0).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            S3Error::with_message(
                C::InvalidRetentionPeriod,
                "Default retention period must be a positive integer value.",
            )
        })
    };
    let period = match (rule.default.days.as_deref(), rule.default.years.as_deref()) {
        (Some(d), None) => RetentionPeriod::Days(positive(d)?.min(MAX_RETENTION_YEARS * 365)),
        (None, Some(y)) => RetentionPeriod::Years(positive(y)?.min(MAX_RETENTION_YEARS)),
        _ => return Err(malformed()),
    };
    Ok(Some(DefaultRetention { mode, period }))
}

/// The GetObjectLockConfiguration document.
pub fn render_config(default: Option<&DefaultRetention>) -> String {
    let rule = match default {
        None => String::new(),
        Some(d) => {
            let period = match d.period {
                RetentionPeriod::Days(n) => format!("<Days>{n}</Days>"),
                RetentionPeriod::Years(n) => format!("<Years>{n}</Years>"),
            };
            format!("<Rule><DefaultRetention><Mode>{}</Mode>{period}</DefaultRetention></Rule>", d.mode.as_str())
        }
    };
    doc(&format!(
        "<ObjectLockConfiguration xmlns=\"{NS}\"><ObjectLockEnabled>Enabled</ObjectLockEnabled>{rule}</ObjectLockConfiguration>"
    ))
}

#[derive(Deserialize, Debug)]
struct RetentionDoc {
    #[serde(rename = "Mode", default)]
    mode: Option<String>,
    #[serde(rename = "RetainUntilDate", default)]
    until: Option<String>,
}

/// A PutObjectRetention document; an empty one (no mode, no date) removes
/// the retention. A date in the past is refused as S3 refuses it.
pub fn parse_retention(body: &[u8], now: UnixMillis) -> Result<Option<Retention>, S3Error> {
    let d: RetentionDoc = xml::parse(body)?;
    match (d.mode.as_deref(), d.until.as_deref()) {
        (None, None) => Ok(None),
        (Some(m), Some(u)) => {
            let until = parse_date(u).ok_or_else(malformed)?;
            if until <= now {
                return Err(S3Error::with_message(C::InvalidArgument, "The retain until date must be in the future!"));
            }
            Ok(Some(Retention { mode: parse_mode(m)?, until }))
        }
        _ => Err(malformed()),
    }
}

/// The GetObjectRetention document.
pub fn render_retention(r: &Retention) -> String {
    doc(&format!(
        "<Retention xmlns=\"{NS}\"><Mode>{}</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
        r.mode.as_str(),
        crate::time_fmt::iso8601_millis(r.until)
    ))
}

#[derive(Deserialize, Debug)]
struct LegalHoldDoc {
    #[serde(rename = "Status", default)]
    status: Option<String>,
}

fn parse_status(s: &str) -> Option<bool> {
    match s.trim() {
        "ON" => Some(true),
        "OFF" => Some(false),
        _ => None,
    }
}

/// A PutObjectLegalHold document: `Status` `ON` or `OFF`.
pub fn parse_legal_hold(body: &[u8]) -> Result<bool, S3Error> {
    let d: LegalHoldDoc = xml::parse(body)?;
    d.status.as_deref().and_then(parse_status).ok_or_else(malformed)
}

/// The GetObjectLegalHold document.
pub fn render_legal_hold(on: bool) -> String {
    doc(&format!("<LegalHold xmlns=\"{NS}\"><Status>{}</Status></LegalHold>", if on { "ON" } else { "OFF" }))
}

/// What a write's `x-amz-object-lock-*` headers ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockHeaders {
    pub retention: Option<Retention>,
    pub legal_hold: Option<bool>,
}

impl LockHeaders {
    /// Whether any lock header was given.
    pub fn any(&self) -> bool {
        self.retention.is_some() || self.legal_hold.is_some()
    }
}

/// Reads a write's lock headers: a mode and a date go together, the date
/// in the future; the legal hold is `ON` or `OFF`.
pub fn parse_headers(header: &dyn Fn(&str) -> Option<String>, now: UnixMillis) -> Result<LockHeaders, S3Error> {
    let invalid = |m: &str| S3Error::with_message(C::InvalidArgument, m.to_owned());
    let retention = match (header("x-amz-object-lock-mode"), header("x-amz-object-lock-retain-until-date")) {
        (None, None) => None,
        (Some(m), Some(d)) => {
            let mode = LockMode::parse(m.trim()).ok_or_else(|| invalid("Unknown wormMode directive."))?;
            let until =
                parse_date(&d).ok_or_else(|| invalid("The retain until date must be provided in ISO 8601 format"))?;
            if until <= now {
                return Err(invalid("The retain until date must be in the future!"));
            }
            Some(Retention { mode, until })
        }
        _ => {
            return Err(invalid("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"))
        }
    };
    let legal_hold = match header("x-amz-object-lock-legal-hold") {
        None => None,
        Some(v) => Some(parse_status(&v).ok_or_else(|| invalid("Legal Hold must be either of 'ON' or 'OFF'"))?),
    };
    Ok(LockHeaders { retention, legal_hold })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_documents() {
        let cfg = |rule: &str| {
            format!("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>{rule}</ObjectLockConfiguration>")
        };
        assert_eq!(parse_config(cfg("").as_bytes()).unwrap(), None);
        let days = cfg("<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention></Rule>");
        let d = parse_config(days.as_bytes()).unwrap().unwrap();
        assert_eq!(d, DefaultRetention { mode: LockMode::Governance, period: RetentionPeriod::Days(3) });
        assert!(render_config(Some(&d)).contains("<Mode>GOVERNANCE</Mode><Days>3</Days>"));
        assert_eq!(parse_config(render_config(Some(&d)).as_bytes()).unwrap(), Some(d), "what is rendered parses");
        let code = |rule: &str| parse_config(cfg(rule).as_bytes()).unwrap_err().code;
        let both =
            "<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule>";
        assert_eq!(code(both), C::MalformedXML);
        let zero = "<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>0</Days></DefaultRetention></Rule>";
        assert_eq!(code(zero), C::InvalidRetentionPeriod);
        let mode = "<Rule><DefaultRetention><Mode>governance</Mode><Days>1</Days></DefaultRetention></Rule>";
        assert_eq!(code(mode), C::MalformedXML);
        let off = b"<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>";
        assert_eq!(parse_config(off).unwrap_err().code, C::MalformedXML);
    }

    #[test]
    fn retention_and_legal_hold_documents() {
        let now = parse_date("2026-01-01T00:00:00Z").unwrap();
        let r = parse_retention(
            b"<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.000Z</RetainUntilDate></Retention>",
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.mode, LockMode::Compliance);
        assert!(render_retention(&r).contains("<RetainUntilDate>2030-01-01T00:00:00.000Z</RetainUntilDate>"));
        assert_eq!(parse_retention(b"<Retention/>", now).unwrap(), None);
        let past =
            b"<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2020-01-01T00:00:00Z</RetainUntilDate></Retention>";
        assert_eq!(parse_retention(past, now).unwrap_err().code, C::InvalidArgument);
        assert!(parse_legal_hold(b"<LegalHold><Status>ON</Status></LegalHold>").unwrap());
        assert_eq!(parse_legal_hold(b"<LegalHold><Status>on</Status></LegalHold>").unwrap_err().code, C::MalformedXML);
        assert!(render_legal_hold(false).contains("<Status>OFF</Status>"));
    }

    #[test]
    fn write_headers() {
        let now = parse_date("2026-01-01T00:00:00Z").unwrap();
        let h = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
        };
        assert_eq!(parse_headers(&h(&[]), now).unwrap(), LockHeaders::default());
        let both = h(&[
            ("x-amz-object-lock-mode", "GOVERNANCE"),
            ("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"),
        ]);
        assert!(parse_headers(&both, now).unwrap().retention.is_some());
        let alone = h(&[("x-amz-object-lock-mode", "GOVERNANCE")]);
        assert_eq!(parse_headers(&alone, now).unwrap_err().code, C::InvalidArgument);
        let hold = h(&[("x-amz-object-lock-legal-hold", "ON")]);
        assert_eq!(parse_headers(&hold, now).unwrap().legal_hold, Some(true));
        let bad = h(&[("x-amz-object-lock-legal-hold", "yes")]);
        assert_eq!(parse_headers(&bad, now).unwrap_err().code, C::InvalidArgument);
    }
}
