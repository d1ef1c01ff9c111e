//! Multipart upload operations.

use crate::body::RequestBody;
use crate::bucket::owner;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::headers::{conditions, object_meta};
use crate::object_put::{copy_source, write_condition};
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_engine::{CompletedPart, UploadsParams};
use coffer_meta::StoredChecksum;
use coffer_s3_proto::time_fmt::iso8601_millis;
use coffer_s3_proto::xml::ChecksumFields;
use coffer_s3_proto::xml::{
    self, CommonPrefix, CompleteMultipartUpload, CompleteMultipartUploadResult, CopyPartResult,
    InitiateMultipartUploadResult, ListMultipartUploadsResult, ListPartsResult, PartEntry, UploadEntry, NS,
};
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use coffer_types::{ByteRange, ChecksumAlgorithm};
use http::{HeaderValue, Response, StatusCode};

fn upload_id(ctx: &Ctx) -> &str {
    ctx.query.get("uploadId").unwrap_or("")
}

fn part_number(ctx: &Ctx) -> Result<u32, S3Error> {
    ctx.query_num::<u32>("partNumber")?
        .ok_or_else(|| S3Error::with_message(C::InvalidArgument, "partNumber is required"))
}

/// x-amz-checksum-algorithm / x-amz-checksum-type of CreateMultipartUpload:
/// what the object's checksum will be.
fn requested_checksum(ctx: &Ctx) -> Result<Option<(ChecksumAlgorithm, &'static str)>, S3Error> {
    let Some(a) = ctx.header("x-amz-checksum-algorithm") else { return Ok(None) };
    let a = ChecksumAlgorithm::parse(a.trim())
        .ok_or_else(|| S3Error::with_message(C::InvalidRequest, "Checksum algorithm provided is unsupported."))?;
    let kind = match ctx.header("x-amz-checksum-type").map(str::trim) {
        None if a == ChecksumAlgorithm::Crc64Nvme => "FULL_OBJECT",
        None => "COMPOSITE",
        Some(t) if t.eq_ignore_ascii_case("COMPOSITE") && a != ChecksumAlgorithm::Crc64Nvme => "COMPOSITE",
        Some(t) if t.eq_ignore_ascii_case("FULL_OBJECT") && a.is_crc() => "FULL_OBJECT",
        Some(_) => {
            return Err(S3Error::with_message(C::InvalidRequest, "The checksum type is not valid for this algorithm."))
        }
    };
    Ok(Some((a, kind)))
}

pub(crate) async fn create(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let mut meta = object_meta(ctx)?;
    let requested = requested_checksum(ctx)?;
    if let Some((a, kind)) = requested {
        // Recorded with an empty value until completion.
        meta.checksum =
            Some(StoredChecksum { algorithm: a.as_str().to_owned(), value: String::new(), kind: kind.to_owned() });
    }
    let id = s.engine.create_upload(ctx.bucket(), ctx.key(), meta).await.map_err(from_engine)?;
    let doc = InitiateMultipartUploadResult {
        xmlns: NS,
        bucket: ctx.bucket().to_owned(),
        key: ctx.key().to_owned(),
        upload_id: id,
    };
    let mut r = respond::xml(xml::render(&doc)?);
    if let Some((a, kind)) = requested {
        r.headers_mut().insert("x-amz-checksum-algorithm", HeaderValue::from_static(a.as_str()));
        r.headers_mut().insert("x-amz-checksum-type", HeaderValue::from_static(kind));
    }
    Ok(r)
}

pub(crate) async fn upload_part(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let n = part_number(ctx)?;
    let (body, len, check) = body.into_engine(ctx)?;
    let (etag, checksum) = s
        .engine
        .upload_part(ctx.bucket(), ctx.key(), upload_id(ctx), n, len, body, &check)
        .await
        .map_err(from_engine)?;
    let mut r = respond::status(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&etag.quoted()) {
        r.headers_mut().insert("etag", v);
    }
    if let (Some(a), Ok(v)) = (ChecksumAlgorithm::parse(&checksum.algorithm), HeaderValue::from_str(&checksum.value)) {
        r.headers_mut().insert(a.header_name(), v);
    }
    Ok(r)
}

pub(crate) async fn upload_part_copy(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let n = part_number(ctx)?;
    let mut src = copy_source(ctx)?;
    crate::object_put::check_source(s, ctx, &src).await?;
    src.pin = crate::authz::pin_for(ctx, &src.bucket, &src.key);
    let range = match ctx.header("x-amz-copy-source-range") {
        None => None,
        Some(r) => Some(ByteRange::parse(r).map_err(|_| {
            S3Error::with_message(
                C::InvalidArgument,
                "The x-amz-copy-source-range value must be of the form bytes=first-last",
            )
        })?),
    };
    let (etag, at) = s
        .engine
        .upload_part_copy(
            ctx.bucket(),
            ctx.key(),
            upload_id(ctx),
            n,
            &src,
            range,
            &conditions(ctx, "x-amz-copy-source-"),
        )
        .await
        .map_err(from_engine)?;
    let doc = CopyPartResult { xmlns: NS, last_modified: iso8601_millis(at), etag: etag.quoted() };
    let mut r = respond::xml(xml::render(&doc)?);
    let named = src.version.as_deref().map(|v| v.to_owned());
    crate::object_put::copy_headers(&mut r, None, named.as_deref());
    Ok(r)
}

pub(crate) async fn complete(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let condition = write_condition(ctx)?;
    // On Complete, an x-amz-checksum-* header is the expected checksum of the
    // whole object (possibly the `-N` composite form), not of this XML body.
    let mut expected = None;
    for a in ChecksumAlgorithm::ALL {
        if let Some(v) = ctx.headers.remove(a.header_name()) {
            let v = v.to_str().map_err(|_| S3Error::new(C::InvalidRequest))?.trim().to_owned();
            expected = Some((a, v));
        }
    }
    let doc = body.read_small(ctx, 2 * 1024 * 1024).await?;
    let req: CompleteMultipartUpload = xml::parse(&doc)?;
    if req.parts.is_empty() {
        return Err(S3Error::new(C::MalformedXML));
    }
    let parts: Vec<CompletedPart> = req
        .parts
        .iter()
        .map(|p| CompletedPart {
            part_number: p.part_number,
            etag: p.etag.clone(),
            checksum: p.checksum().and_then(|(a, v)| Some((ChecksumAlgorithm::parse(a)?, v.to_owned()))),
        })
        .collect();
    let done = s
        .engine
        .complete_upload(ctx.bucket(), ctx.key(), upload_id(ctx), &parts, condition, expected)
        .await
        .map_err(from_engine)?;
    let (etag, checksum) = (done.etag, done.checksum);
    let f = fields(checksum.as_ref());
    let host = ctx.header("host").unwrap_or("localhost");
    let doc = CompleteMultipartUploadResult {
        xmlns: NS,
        location: format!("http://{host}{}", ctx.raw_path),
        bucket: ctx.bucket().to_owned(),
        key: ctx.key().to_owned(),
        etag: etag.quoted(),
        checksum_crc32: f.crc32,
        checksum_crc32c: f.crc32c,
        checksum_crc64nvme: f.crc64nvme,
        checksum_sha1: f.sha1,
        checksum_sha256: f.sha256,
        checksum_type: checksum.map(|c| c.kind),
    };
    let mut r = respond::xml(xml::render(&doc)?);
    respond::version_header(&mut r, done.version_id.as_deref());
    Ok(r)
}

pub(crate) async fn abort(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    s.engine.abort_upload(ctx.bucket(), ctx.key(), upload_id(ctx)).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

pub(crate) async fn list_parts(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let marker = ctx.query_num::<u32>("part-number-marker")?.unwrap_or(0);
    let max = ctx.query_num::<usize>("max-parts")?.unwrap_or(1000).min(1000);
    let page = s.engine.list_parts(ctx.bucket(), ctx.key(), upload_id(ctx), marker, max).await.map_err(from_engine)?;
    let next = page.parts.last().map(|p| p.part_number).unwrap_or(0);
    let upload_owner = page.upload.meta.owner.as_deref().map_or_else(|| owner(ctx), crate::bucket::owner_of);
    let doc = ListPartsResult {
        xmlns: NS,
        bucket: ctx.bucket().to_owned(),
        key: ctx.key().to_owned(),
        upload_id: upload_id(ctx).to_owned(),
        initiator: upload_owner.clone(),
        owner: upload_owner,
        storage_class: "STANDARD",
        part_number_marker: marker,
        next_part_number_marker: next,
        max_parts: max,
        is_truncated: page.is_truncated,
        parts: page
            .parts
            .into_iter()
            .map(|p| {
                let f = fields(p.checksum.as_ref());
                PartEntry {
                    part_number: p.part_number,
                    last_modified: iso8601_millis(p.last_modified),
                    etag: format!("\"{}\"", p.etag),
                    size: p.size,
                    checksum_crc32: f.crc32,
                    checksum_crc32c: f.crc32c,
                    checksum_crc64nvme: f.crc64nvme,
                    checksum_sha1: f.sha1,
                    checksum_sha256: f.sha256,
                }
            })
            .collect(),
    };
    Ok(respond::xml(xml::render(&doc)?))
}

pub(crate) async fn list_uploads(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let p = UploadsParams {
        prefix: ctx.query.get("prefix").unwrap_or("").to_owned(),
        delimiter: ctx.query.get("delimiter").filter(|d| !d.is_empty()).map(str::to_owned),
        key_marker: ctx.query.get("key-marker").filter(|m| !m.is_empty()).map(str::to_owned),
        upload_id_marker: ctx.query.get("upload-id-marker").filter(|m| !m.is_empty()).map(str::to_owned),
        max_uploads: ctx.query_num::<usize>("max-uploads")?.unwrap_or(1000).min(1000),
    };
    let page = s.engine.list_uploads(ctx.bucket(), &p).await.map_err(from_engine)?;
    let last = page.uploads.last();
    let doc = ListMultipartUploadsResult {
        xmlns: NS,
        bucket: ctx.bucket().to_owned(),
        key_marker: p.key_marker.clone().unwrap_or_default(),
        upload_id_marker: p.upload_id_marker.clone().unwrap_or_default(),
        next_key_marker: page.is_truncated.then(|| last.map(|u| u.key.clone()).unwrap_or_default()),
        next_upload_id_marker: page.is_truncated.then(|| last.map(|u| u.upload_id.clone()).unwrap_or_default()),
        prefix: p.prefix.clone(),
        delimiter: p.delimiter.clone(),
        max_uploads: p.max_uploads,
        is_truncated: page.is_truncated,
        uploads: page
            .uploads
            .iter()
            .map(|u| UploadEntry {
                key: u.key.clone(),
                upload_id: u.upload_id.clone(),
                initiator: owner(ctx),
                owner: owner(ctx),
                storage_class: "STANDARD",
                initiated: iso8601_millis(u.initiated),
            })
            .collect(),
        common_prefixes: page.common_prefixes.iter().map(|c| CommonPrefix { prefix: c.clone() }).collect(),
    };
    Ok(respond::xml(xml::render(&doc)?))
}

fn fields(c: Option<&StoredChecksum>) -> ChecksumFields {
    c.map(|c| ChecksumFields::one(&c.algorithm, &c.value)).unwrap_or_default()
}
