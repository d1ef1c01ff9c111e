#![no_main]
//! Fuzzes request routing: `coffer_s3_proto::router::route`, `Query::parse`
//! and `split_path` with arbitrary method, path and query strings, and the
//! virtual-hosted style: `bucket_from_host` with arbitrary `Host` values and
//! domains, then `route_in` with the bucket it finds.
//!
//! Checked: no panic; `route` agrees with `split_path` on the bucket and key
//! (and fails exactly when `split_path` fails, or with `MethodNotAllowed`);
//! a routed key always comes with a bucket, and `split_path` never returns an
//! empty key; `Query::get` and `Query::has` agree; a bucket taken from the
//! Host is non-empty and lower-case, and `route_in` keeps it.

use coffer_s3_proto::router::{bucket_from_host, route, route_in, split_path, Operation, Query};
use coffer_s3_proto::S3ErrorCode;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "get", ""];

/// Query parameter names the router looks at, to probe `get`/`has`.
const NAMES: &[&str] = &["uploads", "uploadId", "partNumber", "delete", "location", "versions", "list-type", "tagging", "acl", ""];

fn one(u: &mut Unstructured) -> ArbResult<()> {
    let method: String = if u.arbitrary::<bool>()? { u.choose(METHODS)?.to_string() } else { u.arbitrary()? };
    let copy_source: bool = u.arbitrary()?;
    let path: String = u.arbitrary()?;
    let raw_query: String = u.arbitrary()?;
    // The path sometimes carries the query, as a request line does.
    let (path, raw_query) = match path.split_once('?') {
        Some((p, q)) if raw_query.is_empty() => (p.to_owned(), q.to_owned()),
        _ => (path, raw_query),
    };

    let query = Query::parse(&raw_query);
    for name in NAMES {
        assert_eq!(query.has(name), query.get(name).is_some(), "Query::has and Query::get disagree on {name:?}");
    }

    let split = split_path(&path);
    if let Ok((bucket, key)) = &split {
        assert!(key.is_none() || bucket.is_some(), "a key without a bucket");
        assert!(key.as_deref() != Some(""), "split_path returned an empty key");
    }
    match route(&method, &path, &query, copy_source) {
        Ok(r) => {
            let (bucket, key) = split.expect("route succeeded where split_path failed");
            assert_eq!((&r.bucket, &r.key), (&bucket, &key), "route and split_path disagree");
            if r.bucket.is_none() {
                assert_eq!(r.op, Operation::ListBuckets, "a bucketless route other than ListBuckets");
            }
            if r.op == Operation::CorsPreflight {
                assert_eq!(method, "OPTIONS");
            }
        }
        Err(e) => {
            if split.is_ok() {
                assert_eq!(e.code, S3ErrorCode::MethodNotAllowed, "route failed for a reason other than the method");
            } else {
                assert_eq!(e.code, S3ErrorCode::InvalidArgument);
            }
        }
    }

    // Virtual-hosted style.
    let domains: Vec<String> = match u.int_in_range(0..=2u8)? {
        0 => vec!["s3.example.com".to_owned(), "localhost".to_owned()],
        1 => vec![u.arbitrary()?],
        _ => u.arbitrary()?,
    };
    let host: String = if u.arbitrary()? {
        let label: String = u.arbitrary()?;
        let port: String = if u.arbitrary()? { format!(":{}", u.arbitrary::<u16>()?) } else { String::new() };
        let domain = domains.first().cloned().unwrap_or_default();
        format!("{label}.{domain}{port}")
    } else {
        u.arbitrary()?
    };
    let virtual_bucket = bucket_from_host(&host, &domains);
    if let Some(b) = &virtual_bucket {
        assert!(!b.is_empty(), "bucket_from_host returned an empty bucket");
        assert_eq!(*b, b.to_ascii_lowercase(), "bucket_from_host returned a bucket not in lower case");
    }
    if let Ok(r) = route_in(virtual_bucket.clone(), &method, &path, &query, copy_source) {
        assert!(r.key.as_deref() != Some(""), "route_in returned an empty key");
        if virtual_bucket.is_some() {
            assert_eq!(r.bucket, virtual_bucket, "route_in lost the virtual-hosted bucket");
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = one(&mut Unstructured::new(data));
});
