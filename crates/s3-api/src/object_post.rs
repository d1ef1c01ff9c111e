//! POST object: a browser form upload to the bucket URL.
//!
//! Order of checks: the form shape (fields before the file), the policy's
//! signature, the policy's expiry and conditions, the key; only then is the
//! file streamed into the engine, bounded by `content-length-range`. A form
//! without a policy is anonymous and refused until ACLs exist.

use crate::body::RequestBody;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use bytes::Bytes;
use coffer_engine::{Body, BodyCheck, BoxError, ChecksumCheck, ExpectedChecksum, PutInput};
use coffer_meta::WriteCondition;
use coffer_s3_proto::post::{form, FormFields, PostPolicy, PostSignature};
use coffer_s3_proto::router::Operation;
use coffer_s3_proto::xml::{self, PostResponse};
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters left as they are in a query value and an object URL path.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
const PATH: &AsciiSet = &QUERY_VALUE.remove(b'/');

pub(crate) async fn post(s: &S3Service, ctx: &mut Ctx, body: RequestBody) -> Result<Response<ResBody>, S3Error> {
    let boundary = form::boundary(ctx.header("content-type"))?;
    let (mut fields, file) = form::read(boundary, body.into_raw()).await?;
    let bucket = ctx.bucket().to_owned();

    // The key is checked against the policy as it will be stored.
    let key = fields
        .get("key")
        .ok_or_else(|| {
            S3Error::with_message(
                C::InvalidArgument,
                "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
            )
            .with_extra("ArgumentName", "key")
        })?
        .replace("${filename}", file.filename.as_deref().unwrap_or(""));
    fields.set("key", key.clone());
    ctx.region = ctx.header("host").and_then(|h| s.regions.of_host(h)).unwrap_or(s.regions.default()).to_owned();
    let (min, max) = match PostSignature::parse(&fields)? {
        // No policy: an anonymous upload, allowed as far as the bucket's ACL and policy allow.
        None => (0, coffer_s3_proto::post::policy::MAX_POST_SIZE),
        Some(signature) => {
            let policy_b64 = fields.get("policy").unwrap_or("").to_owned();
            let resolved = crate::auth::resolve(s, signature.access_key(), &ctx.region).await?;
            signature.verify(&resolved.secret, &policy_b64, &ctx.region)?;
            s.iam.record_use(&resolved, coffer_types::now_millis());
            ctx.access_key = Some(signature.access_key().to_owned());
            ctx.principal = resolved.principal;
            ctx.auth_type = Some(("POST", "AWS4-HMAC-SHA256"));
            let policy = PostPolicy::parse(&policy_b64)?;
            policy.check(&fields, &bucket, time::OffsetDateTime::now_utc())?
        }
    };
    ctx.key = Some(key.clone());
    let mut headers = fields_as_headers(&fields);
    // The form's `tagging` field is a Tagging document; it asks for what
    // `x-amz-tagging` asks for on a PUT (and is checked as that).
    if let Some(doc) = fields.get("tagging") {
        let tags = coffer_s3_proto::tagging::parse(doc.as_bytes(), coffer_types::tags::MAX_OBJECT_TAGS)?;
        let v = HeaderValue::from_str(&tags.to_query()).map_err(|_| S3Error::new(C::InvalidTag))?;
        headers.insert("x-amz-tagging", v);
    }
    // What the form asks for is what applies, so policy condition keys
    // (`s3:x-amz-acl`, …) read the form's fields: the POST's own `x-amz-*`
    // headers are signed by nothing and ignored.
    let own: Vec<HeaderName> = ctx.headers.keys().filter(|n| n.as_str().starts_with("x-amz-")).cloned().collect();
    for n in own {
        ctx.headers.remove(n);
    }
    for (n, v) in headers.iter().filter(|(n, _)| n.as_str().starts_with("x-amz-")) {
        ctx.headers.insert(n.clone(), v.clone());
    }
    crate::authz::authorize(s, ctx).await?;

    // The form's fields ask for what headers ask for on a PUT.
    coffer_s3_proto::unbuilt::refuse(Operation::PostObject, &headers)?;
    crate::authz::check_write_headers(s, ctx, Operation::PostObject, &headers).await?;
    ctx.authorized = true;
    let mut meta = crate::headers::object_meta_from(&headers)?;
    meta.owner = crate::ownership::writer(ctx);
    let checksum = crate::body::given_checksum(&headers)?
        .map(|(algorithm, v)| ChecksumCheck { algorithm, expected: Some(ExpectedChecksum::Given(v)) });
    let input = PutInput {
        bucket: bucket.clone(),
        key: key.clone(),
        len: None,
        body: sized(file.body, min, max),
        check: BodyCheck { md5: None, sha256: None, checksum },
        meta,
        condition: WriteCondition::None,
        stamp: ctx.stamp(),
    };
    let out = s.engine.put_object(input).await.map_err(from_engine)?;
    let (etag, stored) = (out.etag, out.checksum);
    let location = object_url(ctx, &bucket, &key);

    let mut r = match redirect_target(&fields) {
        Some(target) => {
            let sep = if target.contains('?') { '&' } else { '?' };
            let to = format!(
                "{target}{sep}bucket={}&key={}&etag={}",
                utf8_percent_encode(&bucket, QUERY_VALUE),
                utf8_percent_encode(&key, QUERY_VALUE),
                utf8_percent_encode(&etag.quoted(), QUERY_VALUE)
            );
            let mut r = respond::status(StatusCode::SEE_OTHER);
            if let Ok(v) = HeaderValue::from_str(&to) {
                r.headers_mut().insert(http::header::LOCATION, v);
            }
            r
        }
        None => match fields.get("success_action_status").map(str::trim) {
            Some("200") => respond::status(StatusCode::OK),
            Some("201") => {
                let doc = PostResponse { location: location.clone(), bucket, key, etag: etag.quoted() };
                let mut r = respond::xml(xml::render(&doc)?);
                *r.status_mut() = StatusCode::CREATED;
                r
            }
            _ => respond::status(StatusCode::NO_CONTENT),
        },
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag.quoted()) {
        h.insert("etag", v);
    }
    if !h.contains_key(http::header::LOCATION) {
        if let Ok(v) = HeaderValue::from_str(&location) {
            h.insert(http::header::LOCATION, v);
        }
    }
    crate::headers::write_checksum(h, Some(&stored));
    respond::version_header(&mut r, out.version_id.as_deref());
    Ok(r)
}

/// `success_action_redirect` (or the older `redirect`), if it is an http(s) URL.
fn redirect_target(fields: &FormFields) -> Option<&str> {
    let t = fields.get("success_action_redirect").or_else(|| fields.get("redirect"))?.trim();
    let lower = t.to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then_some(t)
}

/// The form fields that are also header names, as headers (content type,
/// cache control, `x-amz-meta-*`, checksums...). Others are skipped.
fn fields_as_headers(fields: &FormFields) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in fields.iter() {
        // The form's `acl` and `tagging` fields are the headers `x-amz-acl`
        // and `x-amz-tagging`.
        let name = if name.eq_ignore_ascii_case("acl") {
            "x-amz-acl"
        } else if name.eq_ignore_ascii_case("tagging") {
            "x-amz-tagging"
        } else {
            name
        };
        let (Ok(n), Ok(v)) =
            (HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()), HeaderValue::from_str(value))
        else {
            continue;
        };
        if !h.contains_key(&n) {
            h.insert(n, v);
        }
    }
    h
}

/// The URL of the stored object, on the host the request came to.
fn object_url(ctx: &Ctx, bucket: &str, key: &str) -> String {
    let scheme = if ctx.secure { "https" } else { "http" };
    let host = ctx.header("host").unwrap_or("localhost");
    let key = utf8_percent_encode(key, PATH);
    match &ctx.virtual_bucket {
        Some(_) => format!("{scheme}://{host}/{key}"),
        None => format!("{scheme}://{host}/{bucket}/{key}"),
    }
}

/// The file's bytes, refused once they pass `max` and at the end if fewer than `min`.
fn sized(body: futures::stream::BoxStream<'static, Result<Bytes, S3Error>>, min: u64, max: u64) -> Body {
    let state = (body, 0u64, false);
    futures::stream::unfold(state, move |(mut body, mut got, done)| async move {
        if done {
            return None;
        }
        let fail = |e: S3Error| Some((Err(Box::new(e) as BoxError), (futures::stream::empty().boxed(), 0, true)));
        match body.next().await {
            Some(Ok(chunk)) => {
                got += chunk.len() as u64;
                if got > max {
                    return fail(S3Error::new(C::EntityTooLarge).with_extra("MaxSizeAllowed", max.to_string()));
                }
                Some((Ok(chunk), (body, got, false)))
            }
            Some(Err(e)) => fail(e),
            None if got < min => fail(
                S3Error::with_message(
                    C::EntityTooSmall,
                    "Your proposed upload is smaller than the minimum allowed size",
                )
                .with_extra("MinSizeAllowed", min.to_string()),
            ),
            None => None,
        }
    })
    .boxed()
}
