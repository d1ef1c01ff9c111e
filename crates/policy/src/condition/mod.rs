//! The `Condition` element: `{"Operator": {"key": value-or-values, ...}, ...}`.
//!
//! Every operator must hold, and within an operator every key (AND); the values listed for one key are
//! alternatives (OR). Key names are case-insensitive.
//!
//! A key absent from the request makes a positive operator false and a negated one (`StringNotEquals`,
//! `NotIpAddress`, `NumericNotEquals`, `DateNotEquals`, `ArnNotLike`...) true, as AWS documents; with
//! `...IfExists` any operator is true; `ForAllValues:` is true and `ForAnyValue:` false. With several
//! request values and no qualifier, a positive operator needs one value to match, a negated one needs
//! none to. `Null` tests presence: `true` means "absent". A string or ARN value whose policy variable
//! cannot be replaced makes its condition false.

mod date;
mod ip;
mod operator;
mod values;

use crate::Context;
use operator::{Operator, SetQualifier, Test};
use serde_json::Value;
use values::Values;

/// A parsed `Condition` element.
#[derive(Clone, Debug, Default)]
pub(crate) struct Condition {
    tests: Vec<KeyTest>,
}

/// One operator applied to one key.
#[derive(Clone, Debug)]
struct KeyTest {
    op: Operator,
    /// The key as written; [`Context`] lookups ignore case.
    key: String,
    values: Values,
    /// The values as written (to tell fixed values from patterns).
    raw: Vec<String>,
}

/// A parse failure: the element path (e.g. `Condition.StringLike.s3:prefix`) and the reason.
pub(crate) type ConditionError = (String, String);

impl Condition {
    /// Whether some test reads a key that starts with `prefix` (case ignored).
    pub(crate) fn reads_key_prefix(&self, prefix: &str) -> bool {
        self.tests.iter().any(|t| {
            t.key.len() >= prefix.len() && t.key.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        })
    }

    /// Parses the element's JSON value; `variables` enables policy variables in string and ARN values.
    pub(crate) fn parse(value: &Value, variables: bool) -> Result<Condition, ConditionError> {
        let Value::Object(ops) = value else {
            return Err(("Condition".into(), "must be an object of condition operators".into()));
        };
        let mut tests = Vec::new();
        for (op_name, keys) in ops {
            let element = format!("Condition.{op_name}");
            let op = Operator::parse(op_name).map_err(|e| (element.clone(), e))?;
            let keys = match keys {
                Value::Object(keys) if !keys.is_empty() => keys,
                _ => return Err((element, "must be a non-empty object of condition keys and values".into())),
            };
            for (key, value) in keys {
                let element = format!("{element}.{key}");
                check_key(key).map_err(|e| (element.clone(), e))?;
                let raw = values::strings(value).map_err(|e| (element.clone(), e))?;
                let values = Values::parse(op.test, &raw, variables).map_err(|e| (element.clone(), e))?;
                tests.push(KeyTest { op, key: key.clone(), values, raw });
            }
        }
        Ok(Condition { tests })
    }

    /// Whether every test holds for the request described by `ctx`.
    pub(crate) fn holds(&self, ctx: &Context) -> bool {
        self.tests.iter().all(|t| t.holds(ctx))
    }

    /// Whether the condition pins the requester down to fixed values of a
    /// key that names who or where they are (source address, account, ARN,
    /// organization...): what makes a grant to `*` non-public for S3's
    /// policy status. Patterns, negated operators, set operators
    /// (`ForAllValues:`, `ForAnyValue:`), policy variables and IPv4 ranges
    /// wider than /8 (IPv6 /32) do not pin anything.
    pub(crate) fn pins_the_requester(&self) -> bool {
        const PINNING: &[&str] = &[
            "aws:sourceip",
            "aws:sourcearn",
            "aws:sourcevpc",
            "aws:sourcevpce",
            "aws:sourceowner",
            "aws:sourceaccount",
            "aws:principalaccount",
            "aws:principalarn",
            "aws:principalorgid",
            "aws:userid",
            "s3:dataaccesspointaccount",
            "s3:dataaccesspointarn",
        ];
        self.tests.iter().any(|t| {
            let fixed_test = matches!(
                t.op.test,
                Test::StringEquals | Test::StringEqualsIgnoreCase | Test::StringLike | Test::ArnLike | Test::IpAddress
            );
            let fixed_values = t.raw.iter().all(|v| !v.contains(['*', '?']) && narrow_enough(v));
            // A set operator pins nothing (ForAllValues holds for a missing
            // key: an anonymous request), nor does a policy variable (it
            // takes the requester's own value).
            let fixed_values = fixed_values && !t.raw.iter().any(|v| v.contains("${"));
            PINNING.contains(&t.key.to_ascii_lowercase().as_str())
                && fixed_test
                && t.op.set == SetQualifier::Plain
                && !t.op.negated
                && !t.op.if_exists
                && fixed_values
        })
    }
}

/// A CIDR no wider than /8 (IPv4) or /32 (IPv6); any other value passes.
fn narrow_enough(v: &str) -> bool {
    match v.split_once('/') {
        Some((addr, bits)) => {
            let min = if addr.contains(':') { 32 } else { 8 };
            bits.parse::<u8>().is_ok_and(|b| b >= min)
        }
        None => true,
    }
}

impl KeyTest {
    fn holds(&self, ctx: &Context) -> bool {
        let op = self.op;
        let request = ctx.get(&self.key);
        if op.test == Test::Null {
            let Values::Bool(absent) = &self.values else { return false };
            return absent.iter().any(|want_absent| *want_absent != request.is_some());
        }
        let Some(request) = request else {
            return match op.set {
                _ if op.if_exists => true,
                SetQualifier::AllValues => true,
                SetQualifier::AnyValue => false,
                SetQualifier::Plain => op.negated,
            };
        };
        let Some(resolved) = self.values.resolve(op.test, ctx) else { return false };
        let passes = |v: &String| resolved.any_matches(op.test, v) != op.negated;
        match op.set {
            // A negated operator passes only if no request value matches.
            SetQualifier::Plain if op.negated => request.iter().all(passes),
            SetQualifier::Plain | SetQualifier::AnyValue => request.iter().any(passes),
            SetQualifier::AllValues => request.iter().all(passes),
        }
    }
}

/// A condition key looks like `vendor:name`, e.g. `aws:SourceIp` or `s3:prefix`.
fn check_key(key: &str) -> Result<(), String> {
    let well_formed = key
        .split_once(':')
        .is_some_and(|(vendor, name)| !vendor.is_empty() && !name.is_empty() && !key.contains(char::is_whitespace));
    if well_formed {
        Ok(())
    } else {
        Err(format!("condition key {key:?} must look like \"vendor:name\", e.g. \"aws:SourceIp\""))
    }
}
