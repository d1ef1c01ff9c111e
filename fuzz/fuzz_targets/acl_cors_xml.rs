#![no_main]
//! Fuzzes the bucket sub-resource XML documents of `coffer_s3_proto`: ACLs
//! (`acl::parse`, `acl::render`, `acl::from_header`) and CORS
//! (`CorsConfiguration::parse`, `render`, `find`, `CorsRule::response_headers`).
//! Lifecycle documents are not parsed by Coffer yet (PutBucketLifecycle is
//! not built), so there is no lifecycle parser to fuzz.
//!
//! The input picks a mode: arbitrary bytes as an `AccessControlPolicy` and a
//! `CORSConfiguration`; a CORS configuration built from the input (rules with
//! fuzzed origins, methods, headers and ages), rendered and parsed; or
//! arbitrary `x-amz-acl` header values.
//!
//! Checked: no panic; `acl::parse` fails only with `MalformedACLError` or
//! `NotImplemented`, and the canned ACL it returns renders to a document that
//! parses back to it; every canned ACL rendered for an owner parses back to
//! itself (or to `private`, for the owner-only object ACLs);
//! `CorsConfiguration::parse` fails only with `MalformedXML` or
//! `InvalidRequest`, returns only valid configurations (1..=100 rules, each
//! with origins and supported methods), and a parsed configuration renders
//! and parses back to itself; a built configuration made of plain text
//! survives render + parse unchanged; `find` returns only a rule of the
//! configuration that allows the method; `from_header` agrees with
//! `CannedAcl::parse`.

use coffer_s3_proto::acl;
use coffer_s3_proto::cors::{CorsConfiguration, CorsRule};
use coffer_s3_proto::S3ErrorCode as C;
use coffer_types::CannedAcl;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD"];

/// A short string of characters XML must escape and ordinary ones, without
/// whitespace (which XML text parsing may trim).
fn plain(u: &mut Unstructured) -> ArbResult<String> {
    const CHARS: &[char] = &['a', 'Z', '0', '-', '_', '.', '*', '/', ':', '<', '>', '&', '"', '\'', 'é', '%'];
    let n = u.int_in_range(1..=12u8)?;
    (0..n).map(|_| u.choose(CHARS).copied()).collect()
}

fn check_acl(body: &[u8], owner: &str) {
    match acl::parse(body, owner) {
        Err(e) => {
            assert!(matches!(e.code, C::MalformedACLError | C::NotImplemented), "acl::parse failed with {:?}", e.code)
        }
        Ok(parsed) => {
            let again = acl::render(owner, parsed);
            assert_eq!(acl::parse(again.as_bytes(), owner).ok(), Some(parsed), "a parsed ACL does not round-trip");
        }
    }
}

fn check_cors(body: &[u8]) -> Option<CorsConfiguration> {
    match CorsConfiguration::parse(body) {
        Err(e) => {
            assert!(
                matches!(e.code, C::MalformedXML | C::InvalidRequest),
                "CorsConfiguration::parse failed with {:?}",
                e.code
            );
            None
        }
        Ok(cfg) => {
            assert!((1..=100).contains(&cfg.rules.len()), "a configuration with {} rules", cfg.rules.len());
            for r in &cfg.rules {
                assert!(!r.allowed_origins.is_empty(), "a rule without origins");
                assert!(!r.allowed_methods.is_empty(), "a rule without methods");
                assert!(r.allowed_methods.iter().all(|m| METHODS.contains(&m.as_str())), "an unsupported method");
            }
            let rendered = cfg.render().expect("a parsed configuration renders");
            let again = CorsConfiguration::parse(rendered.as_bytes()).expect("a rendered configuration parses");
            assert_eq!(again, cfg, "a parsed configuration does not round-trip");
            Some(cfg)
        }
    }
}

fn probe(u: &mut Unstructured, cfg: &CorsConfiguration) -> ArbResult<()> {
    let origin: String = if u.arbitrary()? { plain(u)? } else { u.arbitrary()? };
    let method = if u.arbitrary()? { u.choose(METHODS)?.to_string() } else { u.arbitrary()? };
    let headers: Vec<String> = u.arbitrary()?;
    if let Some(rule) = cfg.find(&origin, &method, &headers) {
        assert!(cfg.rules.contains(rule), "find returned a rule of no configuration");
        assert!(rule.allowed_methods.contains(&method), "find returned a rule without the method");
        let preflight: Option<String> = u.arbitrary()?;
        let h = rule.response_headers(&origin, preflight.as_deref());
        assert_eq!(h.first().map(|(n, _)| *n), Some("access-control-allow-origin"));
    }
    Ok(())
}

/// 0..=3 strings, mostly from `pool` when there is one.
fn list(u: &mut Unstructured, pool: Option<&[&str]>) -> ArbResult<Vec<String>> {
    let k = u.int_in_range(0..=3u8)?;
    let mut out = Vec::new();
    for _ in 0..k {
        let from_pool = u.ratio(7u8, 8)?;
        out.push(match pool {
            Some(p) if from_pool => u.choose(p)?.to_string(),
            _ => plain(u)?,
        });
    }
    Ok(out)
}

fn built_cors(u: &mut Unstructured) -> ArbResult<()> {
    let n = u.int_in_range(0..=3u8)?;
    let mut rules = Vec::new();
    for _ in 0..n {
        rules.push(CorsRule {
            id: if u.arbitrary()? { Some(plain(u)?) } else { None },
            allowed_headers: list(u, Some(&["*", "x-amz-*", "content-type"]))?,
            allowed_methods: list(u, Some(METHODS))?,
            allowed_origins: list(u, Some(&["*", "https://*.example.com", "https://app.example.com"]))?,
            expose_headers: list(u, None)?,
            max_age_seconds: u.arbitrary()?,
        });
    }
    let cfg = CorsConfiguration { xmlns: String::new(), rules };
    let rendered = cfg.render().expect("a configuration renders");
    if let Some(parsed) = check_cors(rendered.as_bytes()) {
        assert_eq!(parsed.rules, cfg.rules, "a configuration of plain text changed through render + parse");
        probe(u, &parsed)?;
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut u = Unstructured::new(rest);
    match mode % 4 {
        0 => {
            check_acl(rest, "acme");
            if let Some(cfg) = check_cors(rest) {
                let mut u = Unstructured::new(&rest[rest.len() / 2..]);
                let _ = probe(&mut u, &cfg);
            }
        }
        1 => {
            let _ = built_cors(&mut u);
        }
        2 => {
            let Ok(owner) = plain(&mut u) else { return };
            for canned in CannedAcl::ALL {
                let doc = acl::render(&owner, canned);
                let want = match canned {
                    CannedAcl::BucketOwnerRead | CannedAcl::BucketOwnerFullControl => CannedAcl::Private,
                    other => other,
                };
                assert_eq!(
                    acl::parse(doc.as_bytes(), &owner).ok(),
                    Some(want),
                    "a rendered {canned:?} ACL does not parse back"
                );
            }
            check_acl(u.take_rest(), &owner);
        }
        _ => {
            let Ok(value) = u.arbitrary::<String>() else { return };
            match acl::from_header(&value) {
                Ok(a) => assert_eq!(CannedAcl::parse(value.trim()), Some(a)),
                Err(e) => {
                    assert_eq!(e.code, C::InvalidArgument);
                    assert_eq!(CannedAcl::parse(value.trim()), None);
                }
            }
        }
    }
});
