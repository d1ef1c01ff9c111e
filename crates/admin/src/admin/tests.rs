//! The OpenAPI document against the route table and the error codes.

use super::errors::Code;
use super::routes::ROUTES;
use super::OPENAPI;

fn doc() -> serde_json::Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is valid JSON")
}

#[test]
fn openapi_describes_every_route_and_nothing_else() {
    let doc = doc();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    assert_eq!(doc["servers"][0]["url"], super::routes::BASE);
    let paths = doc["paths"].as_object().expect("paths");
    for r in ROUTES {
        let op = &paths.get(r.pattern).unwrap_or_else(|| panic!("{} is not documented", r.pattern))
            [r.method.to_ascii_lowercase()];
        assert!(op.is_object(), "{} {} is not documented", r.method, r.pattern);
        assert!(op["responses"].is_object(), "{} {} documents no responses", r.method, r.pattern);
        let params: Vec<&str> = r.pattern.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
        let declared = op["parameters"].to_string();
        for p in params {
            assert!(
                declared.contains(&format!("/parameters/{p}\"")),
                "{} {} does not declare {p}",
                r.method,
                r.pattern
            );
        }
    }
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            assert!(
                ROUTES.iter().any(|r| r.pattern == path && r.method.eq_ignore_ascii_case(method)),
                "{method} {path} is documented but not served"
            );
        }
    }
}

#[test]
fn openapi_references_resolve_and_errors_are_listed() {
    let doc = doc();
    let text = OPENAPI;
    let mut rest = text;
    while let Some(i) = rest.find("\"$ref\": \"#/") {
        rest = &rest[i + 9..];
        let end = rest.find('"').expect("closing quote");
        let pointer = &rest[1..end];
        assert!(doc.pointer(pointer).is_some(), "dangling $ref #{pointer}");
    }
    let listed = doc.pointer("/components/schemas/Error/properties/error/properties/code/enum").expect("code enum");
    for c in Code::ALL {
        assert!(listed.as_array().is_some_and(|a| a.iter().any(|v| v == c.as_str())), "{c:?} is not documented");
    }
}
