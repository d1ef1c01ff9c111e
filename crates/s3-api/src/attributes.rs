//! GetObjectAttributes: an object's ETag, checksum, parts (a page of them),
//! storage class and size, without its data. Needs `s3:GetObject` as well
//! as `s3:GetObjectAttributes`, as on S3.

use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_engine::GetInput;
use coffer_meta::ObjectData;
use coffer_s3_proto::attributes::{Checksum, ObjectParts, Part, Response as Doc, Wanted};
use coffer_s3_proto::router::Operation;
use coffer_s3_proto::{xml, S3Error};
use http::{HeaderValue, Response};

/// The most parts one answer lists (and the default), as ListParts.
const MAX_PARTS: u32 = 1000;

pub(crate) async fn get(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let wanted = Wanted::parse(ctx.header("x-amz-object-attributes"))?;
    let read = if ctx.version().is_some() { "s3:GetObjectVersion" } else { "s3:GetObject" };
    crate::authz::check_extra_as(s, ctx, Operation::GetObject, read, ctx.bucket(), Some(ctx.key())).await?;
    let max = ctx.header_num::<u32>("x-amz-max-parts")?.unwrap_or(MAX_PARTS).min(MAX_PARTS);
    let marker = ctx.header_num::<u32>("x-amz-part-number-marker")?.unwrap_or(0);
    let input = GetInput {
        bucket: ctx.bucket().to_owned(),
        key: ctx.key().to_owned(),
        head: true,
        version: ctx.version().map(str::to_owned),
        pin: crate::authz::pin_for(ctx, ctx.bucket(), ctx.key()),
        ..Default::default()
    };
    let out = s.engine.get_object(input).await.map_err(from_engine)?;
    let (o, version) = (out.object, out.version_id);
    let object_parts = match &o.data {
        // Only a multipart object has parts (its ETag says how many).
        ObjectData::Segments(segs) if wanted.object_parts && o.etag.contains('-') => {
            let count = segs.len() as u32;
            let parts: Vec<Part> = (marker.saturating_add(1)..=count)
                .take(max as usize)
                .map(|n| Part {
                    checksum: part_checksum(&o.meta, n).unwrap_or_default(),
                    part_number: n,
                    size: segs[n as usize - 1].size,
                })
                .collect();
            let last = parts.last().map(|p| p.part_number);
            let is_truncated = last.is_some_and(|l| l < count);
            Some(ObjectParts {
                is_truncated,
                max_parts: max,
                next_part_number_marker: if is_truncated { last } else { None },
                part_number_marker: marker,
                parts,
                parts_count: count,
            })
        }
        _ => None,
    };
    let checksum = match (&o.meta.checksum, wanted.checksum) {
        (Some(c), true) if !c.value.is_empty() => Checksum::of(&c.algorithm, &c.value, &c.kind),
        _ => None,
    };
    let doc = Doc {
        xmlns: xml::NS,
        etag: wanted.etag.then(|| o.etag.clone()),
        checksum,
        object_parts,
        storage_class: wanted.storage_class.then_some("STANDARD"),
        object_size: wanted.object_size.then_some(o.size),
    };
    let mut r = respond::xml(xml::render(&doc)?);
    if let Ok(v) = HeaderValue::from_str(&coffer_s3_proto::time_fmt::http_date(o.last_modified)) {
        r.headers_mut().insert("last-modified", v);
    }
    respond::version_header(&mut r, version.as_deref());
    Ok(r)
}

/// Part `n`'s checksum (1-based), in the object checksum's algorithm.
pub(crate) fn part_checksum(meta: &coffer_meta::ObjectMeta, n: u32) -> Option<xml::ChecksumFields> {
    let algorithm = &meta.checksum.as_ref()?.algorithm;
    let value = meta.part_checksums.get((n as usize).checked_sub(1)?)?;
    Some(xml::ChecksumFields::one(algorithm, value))
}
