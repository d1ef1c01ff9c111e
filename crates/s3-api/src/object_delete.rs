//! DeleteObject and DeleteObjects.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use coffer_s3_proto::router::Operation;
use coffer_s3_proto::xml::{self, Delete, DeleteError, DeleteResult, Deleted, NS};
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use http::{Response, StatusCode};

/// Most keys one DeleteObjects request may name.
const MAX_KEYS: usize = 1000;

pub(crate) async fn delete(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    s.engine.delete_object(ctx.bucket(), ctx.key()).await.map_err(from_engine)?;
    Ok(respond::status(StatusCode::NO_CONTENT))
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
    for o in req.objects {
        let r = if o.key.is_empty() || o.key.len() > coffer_types::MAX_KEY_LEN {
            Err(S3Error::new(C::KeyTooLongError))
        } else if let Err(e) = coffer_s3_proto::unbuilt::version_id(o.version_id.as_deref()) {
            // Until versioning exists only the `null` version can be named.
            Err(e)
        } else if o.is_conditional() {
            Err(S3Error::with_message(C::NotImplemented, "Conditional deletes are not implemented by this server."))
        } else {
            // Each key is authorized on its own, as S3 does.
            match crate::authz::check_extra(s, ctx, Operation::DeleteObjects, ctx.bucket(), Some(&o.key)).await {
                Ok(()) => s.engine.delete_object(ctx.bucket(), &o.key).await.map_err(from_engine),
                Err(e) => Err(e),
            }
        };
        match r {
            Ok(()) if quiet => {}
            Ok(()) => result.deleted.push(Deleted { key: o.key }),
            Err(e) => {
                result.errors.push(DeleteError { key: o.key, code: e.code.as_str().to_owned(), message: e.message })
            }
        }
    }
    Ok(respond::xml(xml::render(&result)?))
}
