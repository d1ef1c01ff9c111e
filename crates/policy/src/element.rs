//! The list-valued statement elements: `Action`/`NotAction` and `Resource`/`NotResource`, and the
//! "string or non-empty array of strings" shape they share with principals and condition values.

use crate::matching::{self, Tok};
use crate::template::Template;
use crate::Context;
use serde_json::Value;

/// A string or a non-empty array of strings, as a list.
pub(crate) fn string_list(value: &Value) -> Result<Vec<&str>, String> {
    const SHAPE: &str = "must be a string or a non-empty array of strings";
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) if items.is_empty() => Err(format!("{SHAPE}; the array is empty")),
        Value::Array(items) => {
            items.iter().map(|item| item.as_str().ok_or_else(|| format!("{SHAPE}; found {item}"))).collect()
        }
        other => Err(format!("{SHAPE}; found {other}")),
    }
}

/// An `Action` or `NotAction` list, compiled to lowercase patterns.
#[derive(Clone, Debug)]
pub(crate) struct Actions {
    patterns: Vec<Vec<Tok>>,
}

impl Actions {
    /// Parses the element's value: each entry is `*` or `service:Name`, wildcards allowed.
    pub(crate) fn parse(value: &Value) -> Result<Actions, String> {
        let mut patterns = Vec::new();
        for action in string_list(value)? {
            check_action(action)?;
            patterns.push(matching::compile(&action.to_lowercase()));
        }
        Ok(Actions { patterns })
    }

    /// Whether any entry matches `action`, which the caller has lowercased.
    pub(crate) fn any_matches(&self, action_lowercase: &str) -> bool {
        self.patterns.iter().any(|p| matching::matches(p, action_lowercase))
    }
}

fn check_action(action: &str) -> Result<(), String> {
    if action == "*" {
        return Ok(());
    }
    let bad = || format!("{action:?} is not an action; expected \"service:ActionName\" (wildcards allowed) or \"*\"");
    let (service, name) = action.split_once(':').ok_or_else(bad)?;
    let service_ok = !service.is_empty() && service.chars().all(|c| c.is_ascii_alphanumeric() || "-*?".contains(c));
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_*?".contains(c));
    if service_ok && name_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// A `Resource` or `NotResource` list.
#[derive(Clone, Debug)]
pub(crate) struct Resources {
    templates: Vec<Template>,
}

/// What a request on no particular resource (`*`) is also matched as: a `Resource` such as
/// `arn:aws:s3:::*`, which AWS documents for `s3:ListAllMyBuckets`, then covers it.
const ALL_BUCKETS: &str = "arn:aws:s3:::*";

impl Resources {
    /// Parses the element's value: each entry is `*` or an ARN (`arn:partition:service:region:account:resource`),
    /// wildcards and (with `variables`) policy variables allowed.
    pub(crate) fn parse(value: &Value, variables: bool) -> Result<Resources, String> {
        let mut templates = Vec::new();
        for resource in string_list(value)? {
            if resource != "*" && !(resource.starts_with("arn:") && resource.splitn(6, ':').count() == 6) {
                return Err(format!(
                    "{resource:?} is not a resource; expected \"*\" or an ARN such as \"arn:aws:s3:::bucket/key\""
                ));
            }
            templates.push(Template::parse(resource, variables).map_err(|e| format!("{resource:?}: {e}"))?);
        }
        Ok(Resources { templates })
    }

    /// The entries as written.
    pub(crate) fn raw(&self) -> impl Iterator<Item = &str> {
        self.templates.iter().map(Template::raw)
    }

    /// For each entry: `Some(whether it matches resource)`, or `None` when a policy variable in it cannot
    /// be replaced for this request.
    pub(crate) fn each_matches<'a>(
        &'a self,
        resource: &'a str,
        ctx: &'a Context,
    ) -> impl Iterator<Item = Option<bool>> + 'a {
        self.templates.iter().map(move |t| {
            let pattern = t.pattern(ctx)?;
            Some(matching::matches(&pattern, resource) || (resource == "*" && matching::matches(&pattern, ALL_BUCKETS)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions() {
        for ok in ["*", "s3:*", "s3:Get*", "s3:*Object", "s3:GetObject", "iam:CreateUser", "s3-object-lambda:Get?"] {
            assert!(check_action(ok).is_ok(), "{ok}");
        }
        for bad in ["", "s3", "s3:", ":GetObject", "s3:Get Object", "s3:Get/Object", "s3*"] {
            assert!(check_action(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_shapes() {
        assert_eq!(string_list(&json!("a")).unwrap(), ["a"]);
        assert_eq!(string_list(&json!(["a", "b"])).unwrap(), ["a", "b"]);
        for bad in [json!([]), json!(["a", 1]), json!(null), json!({"a": "b"}), json!(true)] {
            assert!(string_list(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_shapes() {
        for ok in ["*", "arn:aws:s3:::b", "arn:aws:s3:::b/*", "arn:aws:iam::acme:user/x", "arn:*:*:*:*:*"] {
            assert!(Resources::parse(&json!(ok), true).is_ok(), "{ok}");
        }
        for bad in ["", "b/*", "arn:aws:s3", "arn:aws:s3::b", "s3:::b", "arn:aws:s3:::b/${x"] {
            assert!(Resources::parse(&json!(bad), true).is_err(), "{bad}");
        }
    }
}
