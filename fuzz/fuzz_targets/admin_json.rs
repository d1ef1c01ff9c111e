#![no_main]
//! Fuzzes the control plane's request-body parsers in `coffer_admin`: the
//! admin API's JSON bodies through `parse_admin_body` (the same functions the
//! handlers call) for every body shape, and the IAM query API's form bodies
//! through `parse_iam_form`.
//!
//! The input picks a mode: arbitrary bytes as every admin body and as an IAM
//! form; or a body built from the input (names, paths, presets, policy
//! documents as objects or text, passwords or `null`, key owners, regions and
//! RFC 3339 expiry times, statuses, quotas), maybe with an unknown field; or
//! IAM form pairs, percent-encoded, parsed back.
//!
//! Checked: no panic; every refusal is a 400 with one of the codes the body
//! can produce, and a refused password body never echoes its input; a built
//! body parses to exactly the values it was built from (a policy object to
//! its compact text, an expiry to its milliseconds), and the same body with
//! an unknown field is `MalformedJson`; an IAM form refuses only with
//! `InvalidInput`, and its pairs, encoded again, parse back to themselves.

use coffer_admin::{parse_admin_body, parse_iam_form, AdminBody, AdminRequest};
use coffer_meta::{KeyStatus, Quota};
use coffer_policy::Preset;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const PASSWORD_SHAPE: &str = r#"the request body must be {"password": "..."} or {"password": null}"#;

fn check_refusal(kind: AdminBody, body: &[u8]) {
    let Err(e) = parse_admin_body(kind, body) else { return };
    assert_eq!(e.status, 400, "{kind:?}: a refused body is not a 400");
    let allowed: &[&str] = match kind {
        AdminBody::PutPolicy => &["MalformedJson", "UnknownPreset", "MalformedPolicy", "InvalidArgument"],
        AdminBody::CreateKey | AdminBody::UpdateKey => &["MalformedJson", "InvalidArgument"],
        _ => &["MalformedJson"],
    };
    assert!(allowed.contains(&e.code), "{kind:?}: refused with {}", e.code);
    if kind == AdminBody::PutPassword {
        assert_eq!(e.message, PASSWORD_SHAPE, "a refused password body got another message");
    }
}

fn text(u: &mut Unstructured) -> ArbResult<String> {
    if u.ratio(1, 4)? {
        Ok(u.choose(&["", "alice", "/team/", "us-east-1", "Active", " ", "\"", "\\", "é\u{0}"])?.to_string())
    } else {
        u.arbitrary()
    }
}

fn opt(u: &mut Unstructured) -> ArbResult<Option<String>> {
    Ok(if u.arbitrary()? { Some(text(u)?) } else { None })
}

/// Builds a body of `kind` and the request it must parse to (`None`: it must be refused).
fn build(u: &mut Unstructured, kind: AdminBody) -> ArbResult<(Value, Option<AdminRequest>)> {
    Ok(match kind {
        AdminBody::CreateProject => {
            let name = text(u)?;
            (json!({ "name": name }), Some(AdminRequest::Project { name }))
        }
        AdminBody::CreateUser => {
            let (name, path) = (text(u)?, opt(u)?);
            (json!({ "name": name, "path": path }), Some(AdminRequest::User { name, path }))
        }
        AdminBody::PutPolicy => match u.int_in_range(0..=3u8)? {
            0 => {
                let p = u.choose(&Preset::ALL)?;
                (json!({ "preset": p.name() }), Some(AdminRequest::Preset(p.name().to_owned())))
            }
            1 => {
                let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": text(u)?, "Resource": text(u)?}]});
                let want = doc.to_string();
                (json!({ "document": doc }), Some(AdminRequest::PolicyDocument(want)))
            }
            2 => {
                let doc = text(u)?;
                (json!({ "document": doc }), Some(AdminRequest::PolicyDocument(doc)))
            }
            _ => {
                // Neither, both, or a document that is neither an object nor text.
                let preset = opt(u)?;
                let document = match u.int_in_range(0..=2u8)? {
                    0 => Value::Null,
                    1 => json!(u.arbitrary::<i64>()?),
                    _ => json!([text(u)?]),
                };
                let known = preset.as_deref().and_then(Preset::from_name);
                let want = match (known, &document) {
                    (Some(p), Value::Null) => Some(AdminRequest::Preset(p.name().to_owned())),
                    _ => None,
                };
                (json!({ "preset": preset, "document": document }), want)
            }
        },
        AdminBody::PutPassword => {
            let p = opt(u)?;
            (json!({ "password": p }), Some(AdminRequest::Password(p)))
        }
        AdminBody::CreateKey => {
            let (user, region) = (opt(u)?, opt(u)?);
            if u.arbitrary()? {
                let secs = u.int_in_range(0..=253_402_300_799i64)?;
                let t = OffsetDateTime::from_unix_timestamp(secs).expect("in range").format(&Rfc3339).expect("formats");
                let want = AdminRequest::Key { user: user.clone(), region: region.clone(), expires: Some(secs * 1000) };
                (json!({ "user": user, "region": region, "expires": t }), Some(want))
            } else {
                (json!({ "user": user, "region": region }), Some(AdminRequest::Key { user, region, expires: None }))
            }
        }
        AdminBody::UpdateKey => {
            let status = if u.arbitrary()? { u.choose(&["Active", "Inactive"])?.to_string() } else { text(u)? };
            let want = match status.as_str() {
                "Active" => Some(AdminRequest::KeyStatus(KeyStatus::Active)),
                "Inactive" => Some(AdminRequest::KeyStatus(KeyStatus::Inactive)),
                _ => None,
            };
            (json!({ "status": status }), want)
        }
        AdminBody::PutQuota => {
            let (max_bytes, max_objects): (Option<u64>, Option<u64>) = (u.arbitrary()?, u.arbitrary()?);
            (
                json!({ "max_bytes": max_bytes, "max_objects": max_objects }),
                Some(AdminRequest::Quota(Quota { max_bytes, max_objects })),
            )
        }
    })
}

fn built(u: &mut Unstructured) -> ArbResult<()> {
    let kind = *u.choose(&AdminBody::ALL)?;
    let (mut body, want) = build(u, kind)?;
    let text = body.to_string();
    let got = parse_admin_body(kind, text.as_bytes());
    match want {
        Some(want) => assert_eq!(got.as_ref().ok(), Some(&want), "{kind:?}: {text} did not parse as built ({got:?})"),
        None => assert!(got.is_err(), "{kind:?}: {text} was accepted"),
    }
    check_refusal(kind, text.as_bytes());
    if let Value::Object(map) = &mut body {
        map.insert("unknown_field".into(), json!(1));
    }
    let err = parse_admin_body(kind, body.to_string().as_bytes()).expect_err("an unknown field was accepted");
    assert_eq!(err.code, "MalformedJson", "{kind:?}: an unknown field gave {}", err.code);
    Ok(())
}

fn form(u: &mut Unstructured) -> ArbResult<()> {
    let pairs: Vec<(String, String)> = u.arbitrary()?;
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!("{}={}", utf8_percent_encode(k, NON_ALPHANUMERIC), utf8_percent_encode(v, NON_ALPHANUMERIC))
        })
        .collect();
    let body = encoded.join("&");
    let got = parse_iam_form(body.as_bytes()).expect("an encoded form did not parse");
    assert_eq!(got, pairs, "{body} did not parse back to its pairs");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => {
            for kind in AdminBody::ALL {
                check_refusal(kind, rest);
            }
            match parse_iam_form(rest) {
                Ok(pairs) => {
                    let again: Vec<String> = pairs
                        .iter()
                        .map(|(k, v)| {
                            format!(
                                "{}={}",
                                utf8_percent_encode(k, NON_ALPHANUMERIC),
                                utf8_percent_encode(v, NON_ALPHANUMERIC)
                            )
                        })
                        .collect();
                    assert_eq!(
                        parse_iam_form(again.join("&").as_bytes()).ok(),
                        Some(pairs),
                        "a parsed form does not round-trip"
                    );
                }
                Err(e) => assert_eq!(e.code, "InvalidInput", "an IAM form refused with {}", e.code),
            }
        }
        1 => {
            let _ = built(&mut Unstructured::new(rest));
        }
        _ => {
            let _ = form(&mut Unstructured::new(rest));
        }
    }
});
