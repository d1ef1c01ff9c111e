//! Parsing and validating a policy document into [`Statement`]s.
//!
//! The document is a JSON object with an optional `Version` (`2012-10-17` or `2008-10-17`), an
//! optional `Id` and a required `Statement`: one statement object or a non-empty array of them. Each
//! statement has an optional `Sid`, an `Effect` (`Allow` or `Deny`), exactly one of
//! `Action`/`NotAction`, exactly one of `Resource`/`NotResource`, and an optional `Condition`.
//! Identity policies may not name a principal; bucket policies must (`Principal` or `NotPrincipal`),
//! and may name only their own bucket and the objects in it as resources. Unknown keys are errors.

use crate::condition::Condition;
use crate::element::{Actions, Resources};
use crate::principal::Principal;
use crate::{Policy, PolicyError, PolicyKind, PolicyVersion, StatementRef, MAX_POLICY_BYTES};
use serde_json::{Map, Value};

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// A parsed statement.
#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub(crate) effect: Effect,
    /// Bucket policies only: the principals, and whether they are excluded (`NotPrincipal`).
    pub(crate) principal: Option<(Principal, bool)>,
    /// The action patterns, and whether they are excluded (`NotAction`).
    pub(crate) actions: (Actions, bool),
    /// The resources, and whether they are excluded (`NotResource`).
    pub(crate) resources: (Resources, bool),
    pub(crate) condition: Condition,
}

const DOCUMENT_KEYS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];

/// Parses `text` as a policy of `kind`; `bucket` is the bucket a bucket policy is for.
pub(crate) fn parse(text: &str, kind: PolicyKind, bucket: &str) -> Result<Policy, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge { size: text.len(), limit: MAX_POLICY_BYTES });
    }
    let doc_error = |element: &str, reason: String| PolicyError::Document { element: element.into(), reason };
    let value: Value = serde_json::from_str(text).map_err(PolicyError::Json)?;
    let Value::Object(doc) = value else {
        return Err(doc_error("top level", "a policy document must be a JSON object".into()));
    };
    if let Some(key) = doc.keys().find(|k| !DOCUMENT_KEYS.contains(&k.as_str())) {
        return Err(doc_error(key, "unknown element; a policy has only Version, Id and Statement".into()));
    }
    let version = match doc.get("Version") {
        None => None,
        Some(Value::String(v)) if v == "2012-10-17" => Some(PolicyVersion::V2012_10_17),
        Some(Value::String(v)) if v == "2008-10-17" => Some(PolicyVersion::V2008_10_17),
        Some(other) => {
            return Err(doc_error("Version", format!("{other} is not supported; use \"2012-10-17\"")));
        }
    };
    let id = match doc.get("Id") {
        None => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(other) => return Err(doc_error("Id", format!("must be a string; found {other}"))),
    };
    let statements = match doc.get("Statement") {
        None => return Err(doc_error("Statement", "missing; a policy needs at least one statement".into())),
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(doc_error("Statement", "the array is empty; a policy needs at least one statement".into()));
        }
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    let variables = version == Some(PolicyVersion::V2012_10_17);
    let statements = statements
        .into_iter()
        .enumerate()
        .map(|(i, value)| parse_statement(i + 1, value, kind, bucket, variables))
        .collect::<Result<_, _>>()?;
    Ok(Policy { kind, version, id, statements })
}

fn parse_statement(
    index: usize,
    value: &Value,
    kind: PolicyKind,
    bucket: &str,
    variables: bool,
) -> Result<Statement, PolicyError> {
    let mut at = StatementRef { index, sid: None };
    let err = |at: &StatementRef, element: &str, reason: String| PolicyError::Statement {
        statement: at.clone(),
        element: element.into(),
        reason,
    };
    let Value::Object(map) = value else {
        return Err(err(&at, "Statement", format!("each statement must be a JSON object; found {value}")));
    };
    match map.get("Sid") {
        None => {}
        Some(Value::String(sid)) => at.sid = Some(sid.clone()),
        Some(other) => return Err(err(&at, "Sid", format!("must be a string; found {other}"))),
    }
    if let Some(key) = map.keys().find(|k| !STATEMENT_KEYS.contains(&k.as_str())) {
        return Err(err(&at, key, format!("unknown element; a statement has only {}", STATEMENT_KEYS.join(", "))));
    }
    let effect = match map.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => return Err(err(&at, "Effect", format!("must be \"Allow\" or \"Deny\"; found {other}"))),
        None => return Err(err(&at, "Effect", "missing; must be \"Allow\" or \"Deny\"".into())),
    };

    let principal = match (kind, one_of(map, "Principal", "NotPrincipal").map_err(|e| err(&at, "Principal", e))?) {
        (PolicyKind::Identity, Some((name, _, _))) => {
            return Err(err(&at, name, "Policy document should not specify a principal: an identity policy applies to the user it is attached to".into()));
        }
        (PolicyKind::Bucket, None) => {
            return Err(err(&at, "Principal", "missing required field Principal (or NotPrincipal)".into()));
        }
        (_, None) => None,
        // AWS: NotPrincipal only with Deny (an Allow to "everyone but X" would open the bucket to the world).
        (_, Some((name, _, true))) if effect == Effect::Allow => {
            return Err(err(&at, name, "NotPrincipal may only be used with \"Effect\": \"Deny\"".into()));
        }
        (_, Some((name, value, negated))) => Some((Principal::parse(value).map_err(|e| err(&at, name, e))?, negated)),
    };

    let (name, value, negated) = one_of(map, "Action", "NotAction")
        .map_err(|e| err(&at, "Action", e))?
        .ok_or_else(|| err(&at, "Action", "missing; a statement needs Action or NotAction".into()))?;
    let actions = (Actions::parse(value).map_err(|e| err(&at, name, e))?, negated);

    let (name, value, negated) = one_of(map, "Resource", "NotResource")
        .map_err(|e| err(&at, "Resource", e))?
        .ok_or_else(|| err(&at, "Resource", "missing; a statement needs Resource or NotResource".into()))?;
    let resources = Resources::parse(value, variables).map_err(|e| err(&at, name, e))?;
    if kind == PolicyKind::Bucket {
        if let Some(bad) = resources.raw().find(|r| !may_name_bucket(r, bucket)) {
            return Err(PolicyError::InvalidResource {
                statement: at,
                element: name,
                resource: bad.to_owned(),
                bucket: bucket.to_owned(),
            });
        }
    }

    let condition = match map.get("Condition") {
        None => Condition::default(),
        Some(value) => Condition::parse(value, variables).map_err(|(element, reason)| err(&at, &element, reason))?,
    };
    Ok(Statement { effect, principal, actions, resources: (resources, negated), condition })
}

/// Whether a bucket policy's resource can name `bucket` or an object in
/// it: the bucket's ARN, an ARN inside it, or a wildcard pattern whose
/// literal start is compatible with those (`*`, `arn:aws:s3:::*`,
/// `arn:aws:s3:::my-*/*`). A policy is only ever evaluated for its own
/// bucket, so a wider pattern grants nothing beyond it.
fn may_name_bucket(resource: &str, bucket: &str) -> bool {
    let whole = format!("arn:aws:s3:::{bucket}");
    let inside = format!("{whole}/");
    match resource.find(['*', '?']) {
        None => resource == whole || resource.starts_with(&inside),
        Some(at) => {
            let literal = &resource[..at];
            inside.starts_with(literal) || literal.starts_with(&inside)
        }
    }
}

/// The one present of a pair of exclusive elements: its name, value and whether it is the `Not` form.
fn one_of<'a>(
    map: &'a Map<String, Value>,
    name: &'static str,
    not_name: &'static str,
) -> Result<Option<(&'static str, &'a Value, bool)>, String> {
    match (map.get(name), map.get(not_name)) {
        (Some(_), Some(_)) => Err(format!("{name} and {not_name} cannot both be present")),
        (Some(v), None) => Ok(Some((name, v, false))),
        (None, Some(v)) => Ok(Some((not_name, v, true))),
        (None, None) => Ok(None),
    }
}
