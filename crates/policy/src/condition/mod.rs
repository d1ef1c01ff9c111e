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
}

/// A parse failure: the element path (e.g. `Condition.StringLike.s3:prefix`) and the reason.
pub(crate) type ConditionError = (String, String);

impl Condition {
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
                tests.push(KeyTest { op, key: key.clone(), values });
            }
        }
        Ok(Condition { tests })
    }

    /// Whether every test holds for the request described by `ctx`.
    pub(crate) fn holds(&self, ctx: &Context) -> bool {
        self.tests.iter().all(|t| t.holds(ctx))
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
