//! Object headers: stored metadata read from a request, and written back on
//! GET/HEAD (with `response-*` overrides).

use crate::context::Ctx;
use coffer_meta::{ObjectMeta, ObjectRecord};
use coffer_s3_proto::time_fmt::http_date;
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use http::{HeaderMap, HeaderName, HeaderValue};

/// The most user metadata S3 accepts (names and values), in bytes.
const MAX_USER_META: usize = 2048;

/// Reads the stored headers and `x-amz-meta-*` from a request, with the
/// writing project as the owner to settle (see [`ObjectMeta::owner`]).
pub(crate) fn object_meta(ctx: &Ctx) -> Result<ObjectMeta, S3Error> {
    let mut m = object_meta_from(&ctx.headers)?;
    m.owner = crate::ownership::writer(ctx);
    Ok(m)
}

/// [`object_meta`] from any header map (a POST form's fields become one).
pub(crate) fn object_meta_from(headers: &HeaderMap) -> Result<ObjectMeta, S3Error> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let get = |n: &str| header(n).map(str::to_owned);
    let mut m = ObjectMeta {
        content_type: get("content-type"),
        content_encoding: get("content-encoding").filter(|v| !v.eq_ignore_ascii_case("aws-chunked")),
        content_disposition: get("content-disposition"),
        content_language: get("content-language"),
        cache_control: get("cache-control"),
        expires: get("expires"),
        user: Default::default(),
        checksum: None,
        part_checksums: Vec::new(),
        acl: crate::acl::requested(headers)?.filter(|a| *a != coffer_types::CannedAcl::Private),
        owner: None,
        tags: crate::tagging::requested(headers)?,
        // The bucket's default retention is the engine's to add.
        retention: None,
        legal_hold: false,
    };
    let lock = crate::object_lock::requested(headers)?;
    (m.retention, m.legal_hold) = (lock.retention, lock.legal_hold.unwrap_or(false));
    // aws-chunked is a transfer detail; a list like "gzip,aws-chunked" keeps the rest.
    // Kept verbatim unless aws-chunked has to be removed from the list.
    if let Some(ce) = header("content-encoding") {
        let parts: Vec<&str> = ce.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
        let kept: Vec<&str> = parts.iter().copied().filter(|e| !e.eq_ignore_ascii_case("aws-chunked")).collect();
        m.content_encoding =
            if kept.len() == parts.len() { Some(ce.to_owned()) } else { (!kept.is_empty()).then(|| kept.join(", ")) };
    }
    let mut size = 0;
    for (name, value) in headers.iter() {
        if let Some(k) = name.as_str().strip_prefix("x-amz-meta-") {
            let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
            size += k.len() + v.len();
            m.user.insert(k.to_owned(), v);
        }
    }
    if size > MAX_USER_META {
        return Err(S3Error::new(C::MetadataTooLarge));
    }
    Ok(m)
}

fn put(h: &mut HeaderMap, name: &'static str, v: Option<&str>) {
    if let Some(v) = v {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(name, v);
        }
    }
}

/// Writes an object's headers, applying `response-*` query overrides.
pub(crate) fn write_object_headers(h: &mut HeaderMap, o: &ObjectRecord, ctx: &Ctx) {
    let m = &o.meta;
    let over = |q: &str, stored: &Option<String>| ctx.query.get(q).map(str::to_owned).or_else(|| stored.clone());
    put(
        h,
        "content-type",
        Some(over("response-content-type", &m.content_type).as_deref().unwrap_or("binary/octet-stream")),
    );
    put(h, "content-encoding", over("response-content-encoding", &m.content_encoding).as_deref());
    put(h, "content-disposition", over("response-content-disposition", &m.content_disposition).as_deref());
    put(h, "content-language", over("response-content-language", &m.content_language).as_deref());
    put(h, "cache-control", over("response-cache-control", &m.cache_control).as_deref());
    put(h, "expires", over("response-expires", &m.expires).as_deref());
    put(h, "etag", Some(&format!("\"{}\"", o.etag)));
    if crate::object_get::checksum_mode(ctx) {
        write_checksum(h, o.meta.checksum.as_ref());
    }
    put(h, "last-modified", Some(&http_date(o.last_modified)));
    h.insert("accept-ranges", HeaderValue::from_static("bytes"));
    if !m.tags.is_empty() {
        h.insert("x-amz-tagging-count", HeaderValue::from(m.tags.len()));
    }
    for (k, v) in &m.user {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(format!("x-amz-meta-{k}")), HeaderValue::from_str(v)) {
            h.insert(n, v);
        }
    }
}

/// Conditional headers with `prefix` (`""` for GET/HEAD/PUT,
/// `"x-amz-copy-source-"` for copies).
pub(crate) fn conditions(ctx: &Ctx, prefix: &str) -> coffer_engine::Conditions {
    use coffer_s3_proto::time_fmt::parse_http_date;
    let h = |n: &str| ctx.header(&format!("{prefix}{n}")).map(str::to_owned);
    coffer_engine::Conditions {
        if_match: h("if-match"),
        if_none_match: h("if-none-match"),
        // An unparsable date is ignored, as HTTP requires.
        if_modified_since: h("if-modified-since").and_then(|d| parse_http_date(&d)),
        if_unmodified_since: h("if-unmodified-since").and_then(|d| parse_http_date(&d)),
    }
}

/// `x-amz-checksum-<algorithm>` and `x-amz-checksum-type` for a stored checksum.
pub(crate) fn write_checksum(h: &mut HeaderMap, c: Option<&coffer_meta::StoredChecksum>) {
    let Some(c) = c.filter(|c| !c.value.is_empty()) else { return };
    let Some(algo) = coffer_types::ChecksumAlgorithm::parse(&c.algorithm) else { return };
    if let Ok(v) = HeaderValue::from_str(&c.value) {
        h.insert(algo.header_name(), v);
    }
    if let Ok(v) = HeaderValue::from_str(&c.kind) {
        h.insert("x-amz-checksum-type", v);
    }
}
