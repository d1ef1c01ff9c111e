//! The POST policy document: a base64 JSON object with an `expiration` and a
//! list of `conditions` every form field must satisfy.
//!
//! Condition forms: `{"field": "value"}` and `["eq", "$field", "value"]`
//! (exact match), `["starts-with", "$field", "prefix"]`, and
//! `["content-length-range", min, max]` (the file size in bytes). Field names
//! compare case-insensitively, values case-sensitively. Every form field must
//! be named by some condition, except those S3 exempts (see [`is_exempt`]).

use super::form::FormFields;
use crate::{S3Error, S3ErrorCode as C};
use base64::Engine as _;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The largest object a POST may upload when the policy sets no range (5 GiB, as S3).
pub const MAX_POST_SIZE: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Condition {
    Eq { field: String, value: String },
    StartsWith { field: String, prefix: String },
    LengthRange { min: u64, max: u64 },
}

/// A parsed policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostPolicy {
    pub expiration: OffsetDateTime,
    conditions: Vec<Condition>,
}

fn invalid(detail: &str) -> S3Error {
    S3Error::with_message(C::InvalidPolicyDocument, format!("Invalid Policy: {detail}"))
}

fn denied(detail: String) -> S3Error {
    S3Error::with_message(C::AccessDenied, format!("Invalid according to Policy: {detail}"))
}

/// Fields that need no condition: the signature machinery, the file, the
/// `x-ignore-` fields, and checksums (verified against the bytes instead).
fn is_exempt(name: &str) -> bool {
    const EXEMPT: [&str; 8] = [
        "policy",
        "signature",
        "awsaccesskeyid",
        "file",
        "x-amz-signature",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
    ];
    let n = name.to_ascii_lowercase();
    EXEMPT.contains(&n.as_str()) || n.starts_with("x-ignore-") || n.starts_with("x-amz-checksum-")
}

fn parse_size(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n.as_i64().map(i128::from),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_condition(v: &Value) -> Result<Condition, S3Error> {
    match v {
        Value::Object(map) if map.len() == 1 => {
            let (k, v) = map.iter().next().ok_or_else(|| invalid("empty condition"))?;
            let value = v.as_str().ok_or_else(|| invalid("a condition value must be a string"))?;
            let field = k.strip_prefix('$').unwrap_or(k).to_ascii_lowercase();
            Ok(Condition::Eq { field, value: value.to_owned() })
        }
        Value::Array(items) => {
            let op = items.first().and_then(Value::as_str).ok_or_else(|| invalid("a condition needs an operator"))?;
            if op.eq_ignore_ascii_case("content-length-range") {
                let (Some(min), Some(max), 3) =
                    (items.get(1).and_then(parse_size), items.get(2).and_then(parse_size), items.len())
                else {
                    return Err(invalid("content-length-range needs a minimum and a maximum"));
                };
                if min < 0 || max < min {
                    return Err(invalid("content-length-range must satisfy 0 <= min <= max"));
                }
                let clamp = |n: i128| u64::try_from(n).unwrap_or(u64::MAX);
                return Ok(Condition::LengthRange { min: clamp(min), max: clamp(max) });
            }
            let (Some(field), Some(value), 3) = (items.get(1).and_then(Value::as_str), items.get(2), items.len())
            else {
                return Err(invalid(&format!("the {op} condition needs a field and a value")));
            };
            let field = field
                .strip_prefix('$')
                .ok_or_else(|| invalid(&format!("the field {field} must start with $")))?
                .to_ascii_lowercase();
            let value = value.as_str().ok_or_else(|| invalid("a condition value must be a string"))?.to_owned();
            if op.eq_ignore_ascii_case("eq") {
                Ok(Condition::Eq { field, value })
            } else if op.eq_ignore_ascii_case("starts-with") {
                Ok(Condition::StartsWith { field, prefix: value })
            } else {
                Err(invalid(&format!("unknown condition operator {op}")))
            }
        }
        _ => Err(invalid("a condition must be an object or an array")),
    }
}

impl PostPolicy {
    /// Parses the base64 `policy` field.
    pub fn parse(policy_b64: &str) -> Result<Self, S3Error> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(policy_b64.trim())
            .map_err(|_| invalid("the policy is not valid base64"))?;
        let doc: Value = serde_json::from_slice(&raw).map_err(|_| invalid("the policy is not valid JSON"))?;
        let expiration = doc
            .get("expiration")
            .ok_or_else(|| invalid("Policy missing expiration."))?
            .as_str()
            // ISO 8601 in UTC, `T`-separated: RFC 3339 alone would also take a space.
            .filter(|s| s.as_bytes().get(10) == Some(&b'T') && s.ends_with('Z'))
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
            .ok_or_else(|| {
                invalid("Invalid 'expiration' value: expecting an ISO 8601 date such as 2026-01-01T12:00:00.000Z")
            })?;
        let conditions = doc
            .get("conditions")
            .ok_or_else(|| invalid("Policy missing conditions."))?
            .as_array()
            .ok_or_else(|| invalid("'conditions' must be a list"))?
            .iter()
            .map(parse_condition)
            .collect::<Result<_, _>>()?;
        Ok(PostPolicy { expiration, conditions })
    }

    /// Checks the form against the policy at `now`; `bucket` is the bucket
    /// the request addresses (a `bucket` form field does not override it).
    /// Returns the allowed file size range.
    pub fn check(&self, fields: &FormFields, bucket: &str, now: OffsetDateTime) -> Result<(u64, u64), S3Error> {
        if now >= self.expiration {
            return Err(denied("Policy expired.".to_owned()));
        }
        let value = |field: &str| -> String {
            if field == "bucket" {
                bucket.to_owned()
            } else {
                fields.get(field).unwrap_or("").to_owned()
            }
        };
        let mut range = (0, MAX_POST_SIZE);
        for c in &self.conditions {
            match c {
                Condition::Eq { field, value: want } => {
                    if value(field) != *want {
                        return Err(denied(format!("Policy Condition failed: [\"eq\", \"${field}\", \"{want}\"]")));
                    }
                }
                Condition::StartsWith { field, prefix } => {
                    let got = value(field);
                    // A Content-Type may list several types; each must match.
                    let ok = if field == "content-type" {
                        got.split(',').all(|t| t.trim_start().starts_with(prefix.as_str()))
                    } else {
                        got.starts_with(prefix.as_str())
                    };
                    if !ok {
                        return Err(denied(format!(
                            "Policy Condition failed: [\"starts-with\", \"${field}\", \"{prefix}\"]"
                        )));
                    }
                }
                Condition::LengthRange { min, max } => range = (*min, *max),
            }
        }
        let named = |n: &str| {
            self.conditions.iter().any(|c| match c {
                Condition::Eq { field, .. } | Condition::StartsWith { field, .. } => field.eq_ignore_ascii_case(n),
                Condition::LengthRange { .. } => false,
            })
        };
        // The bucket is always part of the form, whether or not a field names it.
        if !named("bucket") {
            return Err(denied("Policy Condition failed: the policy does not name the bucket".to_owned()));
        }
        if let Some((extra, _)) = fields.iter().find(|(n, _)| !is_exempt(n) && !named(n)) {
            return Err(denied(format!("Extra input fields: {extra}")));
        }
        Ok(range)
    }
}
