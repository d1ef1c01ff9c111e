//! PutObject and CopyObject.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::headers::{conditions, object_meta};
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_engine::{CopyInput, MetadataDirective, PutInput, SourceRef};
use coffer_meta::WriteCondition;
use coffer_s3_proto::router::Operation;
use coffer_s3_proto::time_fmt::iso8601_millis;
use coffer_s3_proto::xml::{self, CopyObjectResult, NS};
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use http::{HeaderValue, Response, StatusCode};
use percent_encoding::percent_decode_str;

/// `If-None-Match: *` / `If-Match` on a write.
pub(crate) fn write_condition(ctx: &Ctx) -> Result<WriteCondition, S3Error> {
    let etag = |v: &str| v.trim().trim_start_matches("W/").trim_matches('"').to_owned();
    match (ctx.header("if-none-match"), ctx.header("if-match")) {
        (Some(_), Some(_)) => {
            Err(S3Error::with_message(C::NotImplemented, "If-Match with If-None-Match is not supported"))
        }
        (Some(v), None) if v.trim() == "*" => Ok(WriteCondition::IfAbsent),
        (Some(v), None) => Ok(WriteCondition::IfNotETag(etag(v))),
        (None, Some(v)) if v.trim() == "*" => Ok(WriteCondition::IfPresent),
        (None, Some(v)) => Ok(WriteCondition::IfETag(etag(v))),
        (None, None) => Ok(WriteCondition::None),
    }
}

pub(crate) async fn put(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let meta = object_meta(ctx)?;
    if crate::object_lock::requested(&ctx.headers)?.any() {
        crate::object_lock::require_integrity(ctx)?;
    }
    let condition = write_condition(ctx)?;
    let (body, len, check) = body.into_engine(ctx)?;
    let input = PutInput {
        bucket: ctx.bucket().to_owned(),
        key: ctx.key().to_owned(),
        len,
        body,
        check,
        meta,
        condition,
        stamp: ctx.stamp(),
    };
    let out = s.engine.put_object(input).await.map_err(from_engine)?;
    let (etag, checksum) = (out.etag, out.checksum);
    let mut r = respond::status(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&etag.quoted()) {
        r.headers_mut().insert("etag", v);
    }
    crate::headers::write_checksum(r.headers_mut(), Some(&checksum));
    respond::version_header(&mut r, out.version_id.as_deref());
    crate::lifecycle::expiration_header(s, ctx, r.headers_mut(), &out.stored).await;
    Ok(r)
}

/// Parses `x-amz-copy-source` (`[/]bucket/key[?versionId=...]`, URL-encoded).
pub(crate) fn copy_source(ctx: &Ctx) -> Result<SourceRef, S3Error> {
    let bad = || {
        S3Error::with_message(
            C::InvalidArgument,
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    };
    let raw = ctx.header("x-amz-copy-source").ok_or_else(bad)?;
    let (raw, version) = match raw.split_once("?versionId=") {
        Some((path, version)) => {
            let version = percent_decode_str(version).decode_utf8().map_err(|_| bad())?;
            (path, Some(version.into_owned()))
        }
        None => (raw, None),
    };
    let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| bad())?;
    let path = decoded.strip_prefix('/').unwrap_or(&decoded);
    let (b, k) = path.split_once('/').ok_or_else(bad)?;
    if b.is_empty() || k.is_empty() {
        return Err(bad());
    }
    Ok(SourceRef { bucket: b.to_owned(), key: k.to_owned(), version, pin: None })
}

/// Checks read access to a copy's source: `s3:GetObject`, or
/// `s3:GetObjectVersion` for a named version.
pub(crate) async fn check_source(s: &S3Service, ctx: &Ctx, src: &SourceRef) -> Result<(), S3Error> {
    let action = if src.version.is_some() { "s3:GetObjectVersion" } else { "s3:GetObject" };
    crate::authz::check_extra_as(s, ctx, Operation::GetObject, action, &src.bucket, Some(&src.key)).await
}

/// The headers a copy answers with: the copy's version and the source's.
pub(crate) fn copy_headers(r: &mut Response<ResBody>, version: Option<&str>, source_version: Option<&str>) {
    respond::version_header(r, version);
    if let Some(v) = source_version.and_then(|v| http::HeaderValue::from_str(v).ok()) {
        r.headers_mut().insert("x-amz-copy-source-version-id", v);
    }
}

/// CopyObject's `x-amz-checksum-algorithm`: the algorithm of the copy's checksum.
fn copy_checksum(ctx: &Ctx) -> Result<Option<coffer_types::ChecksumAlgorithm>, S3Error> {
    let Some(a) = ctx.header("x-amz-checksum-algorithm") else { return Ok(None) };
    coffer_types::ChecksumAlgorithm::parse(a.trim())
        .map(Some)
        .ok_or_else(|| S3Error::with_message(C::InvalidRequest, "Checksum algorithm provided is unsupported."))
}

pub(crate) async fn copy(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let src = copy_source(ctx)?;
    check_source(s, ctx, &src).await?;
    let directive = match ctx.header("x-amz-metadata-directive").map(str::to_ascii_uppercase).as_deref() {
        None | Some("COPY") => MetadataDirective::Copy,
        Some("REPLACE") => MetadataDirective::Replace(Box::new(object_meta(ctx)?)),
        Some(_) => return Err(S3Error::with_message(C::InvalidArgument, "Unknown metadata directive.")),
    };
    let source_pin = crate::authz::pin_for(ctx, &src.bucket, &src.key);
    let input = CopyInput {
        source_pin,
        src_bucket: src.bucket,
        src_key: src.key,
        src_version: src.version,
        dst_bucket: ctx.bucket().to_owned(),
        dst_key: ctx.key().to_owned(),
        directive,
        source_conditions: conditions(ctx, "x-amz-copy-source-"),
        acl: crate::acl::requested(&ctx.headers)?.filter(|a| *a != coffer_types::CannedAcl::Private),
        writer: crate::ownership::writer(ctx),
        tags: match ctx.header("x-amz-tagging-directive").map(str::to_ascii_uppercase).as_deref() {
            Some("REPLACE") => Some(crate::tagging::requested(&ctx.headers)?),
            _ => None,
        },
        condition: write_condition(ctx)?,
        checksum: copy_checksum(ctx)?,
        dst_stamp: ctx.stamp(),
        lock: {
            let l = crate::object_lock::requested(&ctx.headers)?;
            if l.any() {
                crate::object_lock::require_integrity(ctx)?;
            }
            (l.retention, l.legal_hold.unwrap_or(false))
        },
    };
    let out = s.engine.copy_object(input).await.map_err(from_engine)?;
    let doc = CopyObjectResult { xmlns: NS, last_modified: iso8601_millis(out.last_modified), etag: out.etag.quoted() };
    let mut r = respond::xml(xml::render(&doc)?);
    copy_headers(&mut r, out.version_id.as_deref(), out.source_version_id.as_deref());
    Ok(r)
}
