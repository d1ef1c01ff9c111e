//! ListObjects (v1) and ListObjectsV2.

use crate::bucket::owner;
use crate::context::Ctx;
use crate::errors::from_engine;
use crate::respond::{self, ResBody};
use crate::S3Service;
use base64::Engine as _;
use coffer_engine::{ListPage, ListParams};
use coffer_s3_proto::time_fmt::iso8601_millis;
use coffer_s3_proto::xml::{self, CommonPrefix, Contents, ListBucketResultV1, ListBucketResultV2, NS};
use coffer_s3_proto::{S3Error, S3ErrorCode as C};
use http::Response;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// `encoding-type=url`: everything but unreserved characters and `/`.
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// Encodes listing text as the request's `encoding-type` asks.
struct Enc(bool);

impl Enc {
    fn from(ctx: &Ctx) -> Result<Self, S3Error> {
        match ctx.query.get("encoding-type") {
            None => Ok(Enc(false)),
            Some(v) if v.eq_ignore_ascii_case("url") => Ok(Enc(true)),
            Some(_) => Err(S3Error::with_message(C::InvalidArgument, "Invalid Encoding Method specified in Request")),
        }
    }
    fn s(&self, v: &str) -> String {
        if self.0 {
            utf8_percent_encode(v, URL_ENCODE).to_string()
        } else {
            v.to_owned()
        }
    }
    fn name(&self) -> Option<String> {
        self.0.then(|| "url".to_owned())
    }
}

fn max_keys(ctx: &Ctx) -> Result<usize, S3Error> {
    Ok(ctx.query_num::<i64>("max-keys")?.map(|n| n.clamp(0, 1000) as usize).unwrap_or(1000))
}

fn params(ctx: &Ctx, after: Option<String>) -> Result<ListParams, S3Error> {
    Ok(ListParams {
        prefix: ctx.query.get("prefix").unwrap_or("").to_owned(),
        delimiter: ctx.query.get("delimiter").filter(|d| !d.is_empty()).map(str::to_owned),
        after: after.filter(|a| !a.is_empty()),
        max_keys: max_keys(ctx)?,
    })
}

fn contents(page: &ListPage, enc: &Enc, with_owner: Option<&xml::Owner>) -> Vec<Contents> {
    page.objects
        .iter()
        .map(|o| Contents {
            key: enc.s(&o.key),
            last_modified: iso8601_millis(o.last_modified),
            etag: format!("\"{}\"", o.etag),
            size: o.size,
            owner: with_owner.cloned(),
            storage_class: "STANDARD",
        })
        .collect()
}

fn prefixes(page: &ListPage, enc: &Enc) -> Vec<CommonPrefix> {
    page.common_prefixes.iter().map(|p| CommonPrefix { prefix: enc.s(p) }).collect()
}

pub(crate) async fn v1(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let enc = Enc::from(ctx)?;
    let marker = ctx.query.get("marker").unwrap_or("").to_owned();
    let p = params(ctx, Some(marker.clone()))?;
    let page = s.engine.list_objects(ctx.bucket(), &p).await.map_err(from_engine)?;
    let owner = owner(ctx);
    let doc = ListBucketResultV1 {
        xmlns: NS,
        name: ctx.bucket().to_owned(),
        // v1 leaves the top-level Prefix unencoded; SDKs decode only keys,
        // markers, delimiter and common prefixes there.
        prefix: p.prefix.clone(),
        marker: enc.s(&marker),
        // S3 gives NextMarker only when a delimiter was used.
        next_marker: (page.is_truncated && p.delimiter.is_some()).then(|| enc.s(page.last.as_deref().unwrap_or(""))),
        max_keys: p.max_keys,
        delimiter: p.delimiter.as_deref().map(|d| enc.s(d)),
        encoding_type: enc.name(),
        is_truncated: page.is_truncated,
        contents: contents(&page, &enc, Some(&owner)),
        common_prefixes: prefixes(&page, &enc),
    };
    Ok(respond::xml(xml::render(&doc)?))
}

pub(crate) fn token_encode(last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes())
}

pub(crate) fn token_decode(t: &str) -> Result<String, S3Error> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| S3Error::with_message(C::InvalidArgument, "The continuation token provided is incorrect"))
}

pub(crate) async fn v2(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let enc = Enc::from(ctx)?;
    let token = ctx.query.get("continuation-token").map(str::to_owned);
    let start_after = ctx.query.get("start-after").map(str::to_owned);
    let after = match &token {
        Some(t) => Some(token_decode(t)?),
        None => start_after.clone(),
    };
    let p = params(ctx, after)?;
    let page = s.engine.list_objects(ctx.bucket(), &p).await.map_err(from_engine)?;
    let fetch_owner = ctx.query.get("fetch-owner") == Some("true");
    let owner = owner(ctx);
    let c = contents(&page, &enc, fetch_owner.then_some(&owner));
    let cp = prefixes(&page, &enc);
    let doc = ListBucketResultV2 {
        xmlns: NS,
        name: ctx.bucket().to_owned(),
        prefix: enc.s(&p.prefix),
        max_keys: p.max_keys,
        key_count: c.len() + cp.len(),
        delimiter: p.delimiter.as_deref().map(|d| enc.s(d)),
        encoding_type: enc.name(),
        is_truncated: page.is_truncated,
        continuation_token: token,
        next_continuation_token: if page.is_truncated { page.last.as_deref().map(token_encode) } else { None },
        start_after: start_after.map(|s| enc.s(&s)),
        contents: c,
        common_prefixes: cp,
    };
    Ok(respond::xml(xml::render(&doc)?))
}

/// ListObjectVersions: every version and delete marker, a page at a time.
pub(crate) async fn versions(s: &S3Service, ctx: &Ctx) -> Result<Response<ResBody>, S3Error> {
    let enc = Enc::from(ctx)?;
    let key_marker = ctx.query.get("key-marker").unwrap_or("").to_owned();
    let version_marker = ctx.query.get("version-id-marker").unwrap_or("").to_owned();
    let base = params(ctx, None)?;
    let p = coffer_engine::VersionParams {
        prefix: base.prefix,
        delimiter: base.delimiter,
        key_marker: Some(key_marker.clone()).filter(|k| !k.is_empty()),
        version_marker: Some(version_marker.clone()).filter(|v| !v.is_empty()),
        max_keys: base.max_keys,
    };
    let page = s.engine.list_versions(ctx.bucket(), &p).await.map_err(from_engine)?;
    let owner = owner(ctx);
    let entries = page
        .versions
        .iter()
        .map(|v| {
            let version_id = coffer_engine::version_text(&v.version_id);
            let last_modified = iso8601_millis(v.last_modified);
            if v.delete_marker {
                xml::VersionItem::DeleteMarker(xml::DeleteMarkerEntry {
                    key: enc.s(&v.key),
                    version_id,
                    is_latest: v.latest,
                    last_modified,
                    owner: owner.clone(),
                })
            } else {
                xml::VersionItem::Version(xml::VersionEntry {
                    key: enc.s(&v.key),
                    version_id,
                    is_latest: v.latest,
                    last_modified,
                    etag: format!("\"{}\"", v.etag),
                    size: v.size,
                    owner: owner.clone(),
                    storage_class: "STANDARD",
                })
            }
        })
        .collect();
    let doc = xml::ListVersionsResult {
        xmlns: NS,
        name: ctx.bucket().to_owned(),
        prefix: enc.s(&p.prefix),
        key_marker: enc.s(&key_marker),
        version_id_marker: version_marker,
        next_key_marker: page.next_key_marker.as_deref().map(|k| enc.s(k)),
        next_version_id_marker: page.next_version_marker.clone(),
        max_keys: p.max_keys,
        delimiter: p.delimiter.as_deref().map(|d| enc.s(d)),
        encoding_type: enc.name(),
        is_truncated: page.is_truncated,
        entries,
        common_prefixes: page.common_prefixes.iter().map(|p| CommonPrefix { prefix: enc.s(p) }).collect(),
    };
    Ok(respond::xml(xml::render(&doc)?))
}
