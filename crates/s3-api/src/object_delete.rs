//! DeleteObject and DeleteObjects.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_engine::DeleteInput;
use coffer_s3_proto::router::Operation;
use coffer_s3_proto::xml::{self, Delete, DeleteError, DeleteResult, Deleted, NS};
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use http::{Response, StatusCode};

/// Most keys one DeleteObjects request may name.
const MAX_KEYS: usize = 1000;

pub(crate) async fn delete(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let input = DeleteInput {
        bucket: ctx.bucket().to_owned(),
        key: ctx.key().to_owned(),
        version: ctx.version().map(str::to_owned),
        bypass_governance: crate::object_lock::bypass(s, ctx, ctx.key()).await?,
        stamp: ctx.stamp(),
    };
    let out = s.engine.delete(input).await.map_err(from_engine)?;
    let mut r = respond::status(StatusCode::NO_CONTENT);
    respond::version_header(&mut r, out.version_id.as_deref());
    if out.delete_marker {
        r.headers_mut().insert("x-amz-delete-marker", http::HeaderValue::from_static("true"));
    }
    Ok(r)
}

pub(crate) async fn delete_objects(
    s: &S3Service,
    ctx: &mut Ctx,
    body: RequestBody,
) -> Result<Response<ResBody>, S3Error> {
    let doc = body.read_small(ctx, 4 * 1024 * 1024).await?;
    let req: Delete = xml::parse(&doc)?;
    if req.objects.is_empty() || req.objects.len() > MAX_KEYS {
        return Err(S3Error::new(C::MalformedXML));
    }
    // The bucket must exist: S3 answers NoSuchBucket for the whole request.
    s.engine.head_bucket(ctx.bucket()).await.map_err(from_engine)?;
    let quiet = req.quiet.unwrap_or(false);
    let mut result = DeleteResult { xmlns: NS, ..Default::default() };
    let bypass = crate::object_lock::bypass(s, ctx, "*").await;
    for o in req.objects {
        let r = if o.key.is_empty() || o.key.len() > coffer_types::MAX_KEY_LEN {
            Err(S3Error::new(C::KeyTooLongError))
        } else if o.is_conditional() {
            Err(S3Error::with_message(C::NotImplemented, "Conditional deletes are not implemented by this server."))
        } else {
            delete_one(s, ctx, &o.key, o.version_id.clone(), &bypass).await
        };
        match r {
            Ok(_) if quiet => {}
            Ok(out) => {
                let marker = out.delete_marker;
                result.deleted.push(Deleted {
                    key: o.key,
                    version_id: o.version_id,
                    delete_marker: marker.then_some(true),
                    delete_marker_version_id: out.version_id.filter(|_| marker),
                })
            }
            Err(e) => result.errors.push(DeleteError {
                key: o.key,
                version_id: o.version_id,
                code: e.code.as_str().to_owned(),
                message: e.message,
            }),
        }
    }
    Ok(respond::xml(xml::render(&result)?))
}

/// One key of a DeleteObjects, authorized on its own as S3 does (a named
/// version needs `s3:DeleteObjectVersion`).
async fn delete_one(
    s: &S3Service,
    ctx: &Ctx,
    key: &str,
    version: Option<String>,
    bypass: &Result<bool, S3Error>,
) -> Result<coffer_engine::DeleteOutput, S3Error> {
    let action = if version.is_some() { "s3:DeleteObjectVersion" } else { "s3:DeleteObject" };
    crate::authz::check_extra_as(s, ctx, Operation::DeleteObjects, action, ctx.bucket(), Some(key)).await?;
    let bypass_governance = match bypass {
        Ok(b) => *b,
        Err(e) => return Err(e.clone()),
    };
    let input = DeleteInput {
        bucket: ctx.bucket().to_owned(),
        key: key.to_owned(),
        version,
        bypass_governance,
        stamp: ctx.stamp(),
    };
    s.engine.delete(input).await.map_err(from_engine)
}
