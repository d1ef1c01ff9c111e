//! `Principal` and `NotPrincipal` in bucket policies: who a statement is about.
//!
//! Accepted forms: `"*"`; `{"AWS": ...}` with `"*"`, a bare account id (a project name), the account
//! root `arn:aws:iam::ACCOUNT:root` or a user `arn:aws:iam::ACCOUNT:user/[PATH/]NAME`. The account
//! forms match the account's root and every user of the account; the user form matches that user only.
//! Roles, assumed roles, federated users and the `Service`, `Federated` and `CanonicalUser` keys are
//! accepted but match nobody: Coffer has no such principals. Only `*` matches anonymous requests.

use crate::PrincipalId;
use serde_json::Value;

/// A parsed `Principal` (or `NotPrincipal`) element.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    entries: Vec<Entry>,
}

/// One principal named by the element.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    /// `"*"` or `{"AWS": "*"}`: everyone, including anonymous.
    Everyone,
    /// An account (project): its root and all its users.
    Account(String),
    /// One user of an account.
    User { account: String, name: String },
    /// A valid principal Coffer never has (a role, a service, a canonical user...).
    Nobody,
}

impl Principal {
    /// Parses the element's JSON value. The error is the reason, to be placed by the caller.
    pub(crate) fn parse(value: &Value) -> Result<Principal, String> {
        let entries = match value {
            Value::String(s) if s == "*" => vec![Entry::Everyone],
            Value::String(s) => {
                return Err(format!(
                    "Invalid principal in policy: {s:?}; a string principal must be \"*\", \
                     name accounts and users as {{\"AWS\": \"arn:aws:iam::ACCOUNT:user/NAME\"}}"
                ))
            }
            Value::Object(map) if map.is_empty() => {
                return Err("Invalid principal in policy: the object is empty".into())
            }
            Value::Object(map) => {
                let mut entries = Vec::new();
                for (kind, ids) in map {
                    let ids = crate::element::string_list(ids).map_err(|e| format!("{kind}: {e}"))?;
                    for id in ids {
                        entries.push(parse_entry(kind, id)?);
                    }
                }
                entries
            }
            _ => return Err("must be \"*\" or an object such as {\"AWS\": \"...\"}".into()),
        };
        Ok(Principal { entries })
    }

    /// Whether the element names everyone (`"*"` or `{"AWS": "*"}`).
    pub(crate) fn names_everyone(&self) -> bool {
        self.entries.contains(&Entry::Everyone)
    }

    /// Whether `who` is one of the principals named.
    pub(crate) fn matches(&self, who: &PrincipalId) -> bool {
        self.entries.iter().any(|entry| match (entry, who) {
            (Entry::Everyone, _) => true,
            (Entry::Account(a), PrincipalId::Root { account }) => a == account,
            (Entry::Account(a), PrincipalId::User { account, .. }) => a == account,
            (Entry::User { account: a, name: n }, PrincipalId::User { account, name }) => a == account && n == name,
            _ => false,
        })
    }
}

/// Parses one id under principal type `kind`.
fn parse_entry(kind: &str, id: &str) -> Result<Entry, String> {
    let invalid = |why: &str| format!("Invalid principal in policy: {kind} {id:?}: {why}");
    match kind {
        "AWS" => {}
        "Service" | "Federated" | "CanonicalUser" if id.is_empty() => return Err(invalid("is empty")),
        "Service" | "Federated" | "CanonicalUser" => return Ok(Entry::Nobody),
        _ => {
            return Err(format!(
                "Invalid principal in policy: unknown principal type {kind:?} (expected AWS, Service, Federated \
                 or CanonicalUser)"
            ))
        }
    }
    if id == "*" {
        return Ok(Entry::Everyone);
    }
    if id.contains(['*', '?']) {
        return Err(invalid("wildcards are not allowed inside a principal; use \"*\" alone for everyone"));
    }
    let Some(arn) = id.strip_prefix("arn:") else {
        check_account(id).map_err(|e| invalid(&e))?;
        return Ok(Entry::Account(id.to_owned()));
    };
    let (service, rest) = if let Some(rest) = arn.strip_prefix("aws:iam::") {
        ("iam", rest)
    } else if let Some(rest) = arn.strip_prefix("aws:sts::") {
        ("sts", rest)
    } else {
        return Err(invalid("expected arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME"));
    };
    let (account, resource) = rest.split_once(':').ok_or_else(|| invalid("the ARN has no resource part"))?;
    check_account(account).map_err(|e| invalid(&e))?;
    let last_segment = |prefix: &str| resource.strip_prefix(prefix).and_then(|r| r.rsplit('/').next());
    match service {
        "iam" if resource == "root" => Ok(Entry::Account(account.to_owned())),
        "iam" => match last_segment("user/") {
            Some(name) if !name.is_empty() => Ok(Entry::User { account: account.to_owned(), name: name.to_owned() }),
            Some(_) => Err(invalid("the user name is empty")),
            None if last_segment("role/").is_some_and(|n| !n.is_empty()) => Ok(Entry::Nobody),
            None => Err(invalid("expected root, user/NAME or role/NAME after the account")),
        },
        _ => match last_segment("assumed-role/").or_else(|| last_segment("federated-user/")) {
            Some(name) if !name.is_empty() => Ok(Entry::Nobody),
            _ => Err(invalid("expected assumed-role/... or federated-user/... after the account")),
        },
    }
}

/// An account id is a project name: lowercase letters, digits and dashes.
fn check_account(account: &str) -> Result<(), String> {
    if account.is_empty() {
        return Err("the account id is empty".into());
    }
    if !account.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(format!("account id {account:?} may hold only lowercase letters, digits and dashes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_entries() {
        let cases: &[(&str, &str, Entry)] = &[
            ("AWS", "*", Entry::Everyone),
            ("AWS", "acme", Entry::Account("acme".into())),
            ("AWS", "123456789012", Entry::Account("123456789012".into())),
            ("AWS", "arn:aws:iam::acme:root", Entry::Account("acme".into())),
            ("AWS", "arn:aws:iam::acme:user/bob", Entry::User { account: "acme".into(), name: "bob".into() }),
            ("AWS", "arn:aws:iam::acme:user/team/a/bob", Entry::User { account: "acme".into(), name: "bob".into() }),
            ("AWS", "arn:aws:iam::acme:role/admin", Entry::Nobody),
            ("AWS", "arn:aws:sts::acme:assumed-role/admin/session", Entry::Nobody),
            ("Service", "cloudfront.amazonaws.com", Entry::Nobody),
            ("CanonicalUser", "79a59df900b949e55d96a1e698fbaced", Entry::Nobody),
            ("Federated", "cognito-identity.amazonaws.com", Entry::Nobody),
        ];
        for (kind, id, want) in cases {
            assert_eq!(parse_entry(kind, id).as_ref(), Ok(want), "{kind} {id}");
        }
    }

    #[test]
    fn refuses_bad_entries() {
        let cases = [
            ("AWS", "Acme"),
            ("AWS", ""),
            ("AWS", "acme*"),
            ("AWS", "arn:aws:iam::acme:user/*"),
            ("AWS", "arn:aws:iam::acme:user/"),
            ("AWS", "arn:aws:iam::acme:group/g"),
            ("AWS", "arn:aws:iam::acme"),
            ("AWS", "arn:aws:s3:::bucket"),
            ("AWS", "arn:aws:iam::ACME:root"),
            ("Users", "x"),
            ("Service", ""),
        ];
        for (kind, id) in cases {
            let err = parse_entry(kind, id).unwrap_err();
            assert!(err.starts_with("Invalid principal in policy"), "{kind} {id}: {err}");
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        for value in [json!("acme"), json!({}), json!(["*"]), json!(7), json!({"AWS": []}), json!({"AWS": [1]})] {
            assert!(Principal::parse(&value).is_err(), "{value}");
        }
    }
}
