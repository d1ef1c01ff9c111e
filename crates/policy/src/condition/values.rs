//! The values a condition compares against, parsed for their operator (numbers, dates, booleans,
//! address blocks, or string templates), and the comparison of one request value against them.

use super::date;
use super::ip::Cidr;
use super::operator::Test;
use crate::matching::{self, Tok};
use crate::template::Template;
use crate::Context;
use serde_json::Value;
use std::borrow::Cow;
use std::net::IpAddr;

/// A condition's policy values, typed by operator.
#[derive(Clone, Debug)]
pub(crate) enum Values {
    /// String and ARN operators; these alone take policy variables.
    Text(Vec<Template>),
    Number(Vec<f64>),
    /// Milliseconds since the epoch.
    Date(Vec<i64>),
    /// `Bool`, and `Null` (where `true` means "the key is absent").
    Bool(Vec<bool>),
    Ip(Vec<Cidr>),
}

/// The JSON value of one condition key as strings: a string, number or boolean, or a non-empty array
/// of them.
pub(crate) fn strings(value: &Value) -> Result<Vec<String>, String> {
    const SHAPE: &str = "must be a string, number or boolean, or a non-empty array of them";
    let scalar = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("{SHAPE}; found {other}")),
    };
    match value {
        Value::Array(items) if items.is_empty() => Err(format!("{SHAPE}; the array is empty")),
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}

impl Values {
    /// Parses `raw` for `test`; `variables` enables policy variables in string and ARN values.
    pub(crate) fn parse(test: Test, raw: &[String], variables: bool) -> Result<Values, String> {
        fn each<T>(raw: &[String], what: &str, f: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
            raw.iter().map(|s| f(s).ok_or_else(|| format!("{s:?} is not {what}"))).collect()
        }
        Ok(match test {
            Test::StringEquals | Test::StringEqualsIgnoreCase | Test::StringLike | Test::ArnLike => Values::Text(
                raw.iter()
                    .map(|s| Template::parse(s, variables).map_err(|e| format!("{s:?}: {e}")))
                    .collect::<Result<_, _>>()?,
            ),
            Test::Numeric(_) => Values::Number(each(raw, "a number", number)?),
            Test::Date(_) => {
                Values::Date(each(raw, "a date (e.g. \"2026-01-01T00:00:00Z\") or epoch seconds", date::parse)?)
            }
            Test::Bool | Test::Null => Values::Bool(each(raw, "\"true\" or \"false\"", boolean)?),
            Test::IpAddress => {
                Values::Ip(each(raw, "an IP address or CIDR block (e.g. \"203.0.113.0/24\")", Cidr::parse)?)
            }
        })
    }

    /// The values ready to compare for this request, or `None` when a policy variable cannot be replaced.
    pub(crate) fn resolve<'a>(&'a self, test: Test, ctx: &Context) -> Option<Resolved<'a>> {
        Some(match (self, test) {
            (Values::Text(ts), Test::StringLike | Test::ArnLike) => {
                Resolved::Patterns(ts.iter().map(|t| t.pattern(ctx)).collect::<Option<_>>()?)
            }
            (Values::Text(ts), _) => Resolved::Texts(ts.iter().map(|t| t.text(ctx)).collect::<Option<_>>()?),
            (typed, _) => Resolved::Typed(typed),
        })
    }
}

/// Condition values resolved for one request.
pub(crate) enum Resolved<'a> {
    Texts(Vec<Cow<'a, str>>),
    Patterns(Vec<Cow<'a, [Tok]>>),
    Typed(&'a Values),
}

impl Resolved<'_> {
    /// Whether the positive `test` holds between request value `v` and at least one policy value.
    pub(crate) fn any_matches(&self, test: Test, v: &str) -> bool {
        match (self, test) {
            (Resolved::Texts(ts), Test::StringEqualsIgnoreCase) => {
                let v = v.to_lowercase();
                ts.iter().any(|t| t.to_lowercase() == v)
            }
            (Resolved::Texts(ts), _) => ts.iter().any(|t| t == v),
            (Resolved::Patterns(ps), Test::ArnLike) => ps.iter().any(|p| arn_matches(p, v)),
            (Resolved::Patterns(ps), _) => ps.iter().any(|p| matching::matches(p, v)),
            (Resolved::Typed(Values::Number(ns)), Test::Numeric(cmp)) => {
                number(v).is_some_and(|v| ns.iter().any(|n| cmp.holds(v, *n)))
            }
            (Resolved::Typed(Values::Date(ds)), Test::Date(cmp)) => {
                date::parse(v).is_some_and(|v| ds.iter().any(|d| cmp.holds(v, *d)))
            }
            (Resolved::Typed(Values::Bool(bs)), Test::Bool) => boolean(v).is_some_and(|v| bs.contains(&v)),
            (Resolved::Typed(Values::Ip(blocks)), Test::IpAddress) => {
                v.parse::<IpAddr>().is_ok_and(|ip| blocks.iter().any(|b| b.contains(ip)))
            }
            _ => false,
        }
    }
}

/// ARN matching: each of the six colon-separated parts is matched on its own, so a wildcard does not
/// reach across a colon before the resource part. A policy value with fewer parts is matched whole.
fn arn_matches(pattern: &[Tok], arn: &str) -> bool {
    let parts: Vec<&[Tok]> = pattern.splitn(6, |t| *t == Tok::Lit(':')).collect();
    if parts.len() < 6 {
        return matching::matches(pattern, arn);
    }
    let arn_parts: Vec<&str> = arn.splitn(6, ':').collect();
    arn_parts.len() == 6 && parts.iter().zip(&arn_parts).all(|(p, a)| matching::matches(p, a))
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn boolean(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_shapes() {
        assert_eq!(strings(&json!("a")).unwrap(), ["a"]);
        assert_eq!(strings(&json!(5)).unwrap(), ["5"]);
        assert_eq!(strings(&json!(1.5)).unwrap(), ["1.5"]);
        assert_eq!(strings(&json!(true)).unwrap(), ["true"]);
        assert_eq!(strings(&json!(["a", 1, false])).unwrap(), ["a", "1", "false"]);
        for bad in [json!([]), json!(null), json!({"a": 1}), json!([["a"]]), json!([null])] {
            assert!(strings(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arns_match_part_by_part() {
        let p = |s: &str| matching::compile(s);
        assert!(arn_matches(&p("arn:aws:s3:::bucket/*"), "arn:aws:s3:::bucket/a:b/c"));
        assert!(arn_matches(&p("arn:aws:iam::*:user/*"), "arn:aws:iam::acme:user/bob"));
        assert!(!arn_matches(&p("arn:aws:iam::*:user/*"), "arn:aws:iam::acme:extra:user/bob"));
        assert!(!arn_matches(&p("arn:aws:s3:::*"), "arn:aws:s3"));
        assert!(arn_matches(&p("arn:*"), "arn:aws:s3:::b"));
        assert!(!arn_matches(&p("arn:aws:s3:::b"), "arn:aws:s3:::B"));
    }

    #[test]
    fn typed_values_are_checked() {
        let parse = |test, v: &str| Values::parse(test, &[v.to_owned()], true);
        use super::super::operator::Cmp;
        assert!(parse(Test::Numeric(Cmp::Eq), "12").is_ok());
        assert!(parse(Test::Numeric(Cmp::Eq), "-1.5e3").is_ok());
        assert!(parse(Test::Numeric(Cmp::Eq), "twelve").is_err());
        assert!(parse(Test::Numeric(Cmp::Eq), "NaN").is_err());
        assert!(parse(Test::Numeric(Cmp::Eq), "inf").is_err());
        assert!(parse(Test::Date(Cmp::Lt), "2026-01-01T00:00:00Z").is_ok());
        assert!(parse(Test::Date(Cmp::Lt), "soon").is_err());
        assert!(parse(Test::Bool, "TRUE").is_ok());
        assert!(parse(Test::Bool, "yes").is_err());
        assert!(parse(Test::Null, "1").is_err());
        assert!(parse(Test::IpAddress, "10.0.0.0/8").is_ok());
        assert!(parse(Test::IpAddress, "10.0.0.0/40").is_err());
        assert!(parse(Test::StringLike, "${aws:username").is_err());
        assert!(Values::parse(Test::StringLike, &["${aws:username".to_owned()], false).is_ok());
    }
}
