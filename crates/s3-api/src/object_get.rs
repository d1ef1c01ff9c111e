//! GetObject and HeadObject.

use crate::context::Ctx;
use crate::errors::from_engine;
use crate::headers::{conditions, write_object_headers};
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_engine::{EngineError, GetInput};
use coffer_s3_proto::S3Error;
use coffer_types::ByteRange;
use http::{HeaderValue, Response, StatusCode};

pub(crate) async fn get(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let head = ctx.method == http::Method::HEAD;
    let range = ctx.header("range").and_then(|r| ByteRange::parse(r).ok());
    let input = GetInput {
        bucket: ctx.bucket().to_owned(),
        key: ctx.key().to_owned(),
        range,
        conditions: conditions(ctx, ""),
        head,
        part_number: ctx.query_num::<u32>("partNumber")?,
        version: ctx.version().map(str::to_owned),
        pin: crate::authz::pin_for(ctx, ctx.bucket(), ctx.key()),
    };
    let out = match s.engine.get_object(input).await {
        Ok(o) => o,
        Err(EngineError::InvalidRange(size)) => {
            let e = from_engine(EngineError::InvalidRange(size))
                .with_extra("RangeRequested", ctx.header("range").unwrap_or_default());
            let mut r = respond::error(&e, &ctx.raw_path, &ctx.id, head);
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert("content-range", v);
            }
            return Ok(r);
        }
        Err(EngineError::NotModified { etag, last_modified }) => {
            // 304 still names the current ETag and modification time.
            let mut r = respond::status(StatusCode::NOT_MODIFIED);
            if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
                r.headers_mut().insert("etag", v);
            }
            if let Ok(v) = HeaderValue::from_str(&coffer_s3_proto::time_fmt::http_date(last_modified)) {
                r.headers_mut().insert("last-modified", v);
            }
            return Ok(r);
        }
        // A key that is not there is not a delete marker either (RGW says
        // so; SDKs read the header on every 404).
        Err(EngineError::NoSuchKey) => {
            return Err(from_engine(EngineError::NoSuchKey).with_header("x-amz-delete-marker", "false"))
        }
        Err(e) => return Err(from_engine(e)),
    };
    let len = out.range.map(|r| r.len).unwrap_or(out.object.size);
    let mut r = Response::new(if head { respond::empty() } else { respond::stream(out.body) });
    let h = r.headers_mut();
    write_object_headers(h, &out.object, ctx);
    h.insert("content-length", HeaderValue::from(len));
    if let Some(v) = out.version_id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        h.insert("x-amz-version-id", v);
    }
    if out.version_id.is_none() || ctx.version().is_none() {
        crate::lifecycle::expiration_header(s, ctx, h, &out.object).await;
    }
    if out.object.meta.retention.is_some() || out.object.meta.legal_hold {
        crate::object_lock::write_headers(s, ctx, h, &out.object.meta).await;
    }
    if let Some(n) = out.parts_count {
        h.insert("x-amz-mp-parts-count", HeaderValue::from(n));
    }
    if let Some(rr) = out.range {
        // A checksum describes the whole object, not a range of it.
        for a in coffer_types::ChecksumAlgorithm::ALL {
            r.headers_mut().remove(a.header_name());
        }
        r.headers_mut().remove("x-amz-checksum-type");
        // A part of a multipart object has its own checksum, if it was kept.
        let part = ctx.query_num::<u32>("partNumber").ok().flatten();
        if let Some(n) = part.filter(|_| checksum_mode(ctx)) {
            let algorithm =
                out.object.meta.checksum.as_ref().and_then(|c| coffer_types::ChecksumAlgorithm::parse(&c.algorithm));
            let value = out.object.meta.part_checksums.get((n as usize).saturating_sub(1));
            if let (Some(a), Some(v)) = (algorithm, value.and_then(|v| HeaderValue::from_str(v).ok())) {
                r.headers_mut().insert(a.header_name(), v);
            }
        }
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&rr.content_range(out.object.size)) {
            r.headers_mut().insert("content-range", v);
        }
    }
    Ok(r)
}

/// `x-amz-checksum-mode: ENABLED`: the answer carries the stored checksum.
pub(crate) fn checksum_mode(ctx: &Ctx) -> bool {
    ctx.header("x-amz-checksum-mode").is_some_and(|m| m.eq_ignore_ascii_case("enabled"))
}
