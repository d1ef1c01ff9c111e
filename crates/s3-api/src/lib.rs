//! The S3 HTTP adapter: for each request, parse → authenticate → route →
//! call the [`coffer_engine::Engine`] → render S3 XML or stream bytes.
//!
//! Every failure leaves as an S3 error document carrying the request id that
//! also appears in the request's log line. Handlers are split by operation
//! family: `bucket.rs`, `object_put.rs`, `object_get.rs`, `object_delete.rs`,
//! `list.rs`, `multipart.rs`. Start at [`S3Service::handle`].
//!
//! Architecture invariant: this crate names no concrete store; it sees the
//! engine and, for credential lookups, the `MetaStore` trait.

mod acl;
mod attributes;
mod auth;
mod authz;
mod body;
mod bucket;
mod context;
mod cors;
mod errors;
mod headers;
mod health;
mod lifecycle;
mod list;
mod meter;
mod metered_body;
mod multipart;
mod object_delete;
mod object_get;
mod object_lock;
mod object_post;
mod object_put;
mod observe;
mod ownership;
mod policy;
mod public_access;
mod regions;
mod respond;
mod tagging;
mod versioning;

pub use health::is_health_probe;
pub use meter::{Meter, RequestClass};
pub use observe::{RequestObserver, RequestRecord};
pub use regions::RegionEndpoint;
pub use respond::ResBody;

use coffer_engine::Engine;
use coffer_s3_proto::router::Operation;
use coffer_s3_proto::S3Error;
use context::Ctx;
use http::{Request, Response};
use std::time::Instant;

/// The largest request header section accepted (S3 documents 8 KiB for
/// PUT headers; a little more leaves room for long signed header lists).
const MAX_HEADER_SECTION: usize = 16 * 1024;

/// What the transport knows about a request. The server puts it in the
/// request's extensions; without it a request counts as plain HTTP from an
/// unknown peer.
#[derive(Clone, Copy, Debug)]
pub struct ConnInfo {
    /// Arrived over TLS.
    pub secure: bool,
    /// The client's address.
    pub peer: std::net::SocketAddr,
}

/// Settings of the S3 endpoint.
#[derive(Clone, Debug, Default)]
pub struct S3Config {
    /// Domains under which `{bucket}.{domain}` names a bucket (virtual-hosted
    /// style). Path style works on every host.
    pub domains: Vec<String>,
    /// The regions served and their endpoint hosts; the first is the
    /// default. Empty: the engine's region alone, on every host.
    pub regions: Vec<RegionEndpoint>,
}

/// Shared state of the S3 endpoint.
#[derive(Clone)]
pub struct S3Service {
    engine: Engine,
    iam: coffer_iam::Iam,
    regions: std::sync::Arc<regions::Regions>,
    /// Region endpoint hosts and the configured domains: where `bucket.host` is virtual-hosted.
    domains: std::sync::Arc<Vec<String>>,
    meter: std::sync::Arc<Meter>,
    /// Told of every answered request (metrics, the audit log), if set.
    observer: Option<std::sync::Arc<dyn RequestObserver>>,
}

impl S3Service {
    /// The S3 endpoint over an engine, authenticating through `iam`.
    pub fn new(engine: Engine, iam: coffer_iam::Iam, cfg: S3Config) -> Self {
        let regions = regions::Regions::new(cfg.regions.clone(), &engine.config().region);
        let mut domains = cfg.domains.clone();
        domains.extend(regions.hosts().cloned());
        S3Service {
            engine,
            iam,
            regions: std::sync::Arc::new(regions),
            domains: std::sync::Arc::new(domains),
            meter: Default::default(),
            observer: None,
        }
    }

    /// Reports every request this endpoint answers (health probes excepted) to `observer`.
    pub fn with_observer(mut self, observer: std::sync::Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Request and traffic counters, for the server to flush into usage records.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The answer to a request the listener takes while it is at its
    /// connection limit (anything but a health probe): `503 SlowDown`, which
    /// S3 clients retry with back-off, and `Connection: close`.
    pub fn overloaded(&self, parts: &http::request::Parts) -> Response<ResBody> {
        let id = context::request_id();
        let e = S3Error::with_message(
            coffer_s3_proto::S3ErrorCode::SlowDown,
            "The server is at its connection limit. Please reduce your request rate.",
        );
        let head = parts.method == http::Method::HEAD;
        let mut r = respond::with_request_id(respond::error(&e, parts.uri.path(), &id, head), &id);
        r.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        r.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        r
    }

    /// Handles one HTTP request; never fails (errors become S3 error responses).
    /// A body error that is an [`std::io::Error`] of kind `TimedOut` (the
    /// server's idle timer) is answered `RequestTimeout`.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<ResBody>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<coffer_engine::BoxError>,
    {
        let started = Instant::now();
        if let Some(resp) = health::answer(self, &req).await {
            return resp;
        }
        if let Some(o) = &self.observer {
            o.started();
        }
        let (parts, body) = req.into_parts();
        let mut ctx = Ctx::new(parts);
        ctx.observing = self.observer.clone().map(|o| (o, started));
        let is_head = ctx.method == http::Method::HEAD;
        let close = respond::must_close(&ctx.headers);
        let mut result = self.dispatch(&mut ctx, body).await;
        if let Err(e) = result {
            result = Err(if e.code == coffer_s3_proto::S3ErrorCode::NoSuchKey && ctx.list_check_if_missing {
                authz::missing_key(self, &ctx, e).await
            } else {
                e
            });
        }
        let error_code = result.as_ref().err().map(|e| e.code.as_str());
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                if e.status() >= 500 {
                    tracing::error!(request_id = %ctx.id, code = e.code.as_str(), message = %e.message, "request failed");
                }
                respond::error(&e, &ctx.raw_path, &ctx.id, is_head)
            }
        };
        // Failures are logged at info, successes at debug: at 15k requests/s a
        // line per success costs more CPU than it is worth by default.
        let status = resp.status().as_u16();
        let micros = started.elapsed().as_micros() as u64;
        if status >= 400 {
            tracing::info!(request_id = %ctx.id, method = %ctx.method, path = %ctx.raw_path, op = ?ctx.op, status, micros, "s3 request");
        } else {
            tracing::debug!(request_id = %ctx.id, method = %ctx.method, path = %ctx.raw_path, op = ?ctx.op, status, micros, "s3 request");
        }
        let mut resp = self.record_usage(&ctx, resp);
        if let Some((o, started)) = ctx.observing.take() {
            let record = observe::record(&ctx, started, status, error_code);
            resp = resp.map(|b| observe::wrap(b, record, started, o));
        }
        let mut resp = respond::with_request_id(resp, &ctx.id);
        if ctx.op != Some(Operation::CorsPreflight) {
            cors::decorate(self, &ctx, &mut resp).await;
        }
        if close.should_close(resp.status()) {
            resp.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        }
        resp
    }

    /// Counts the request against its bucket's project: only one that was
    /// authorized (a refused request, anonymous or another tenant's, is not
    /// the owner's traffic), with the body bytes actually received; the
    /// bytes out are counted as the response body yields them.
    fn record_usage(&self, ctx: &Ctx, resp: Response<ResBody>) -> Response<ResBody> {
        let (Some(op), Some(info)) = (ctx.op, ctx.bucket_info.as_ref()) else { return resp };
        if !ctx.authorized || resp.status() == http::StatusCode::FORBIDDEN {
            return resp;
        }
        let bytes_in = ctx.body_bytes.load(std::sync::atomic::Ordering::Relaxed);
        let class = op.class();
        // Data served, not error documents: counted with the bytes the body
        // yields, when it is dropped.
        if ctx.method == http::Method::HEAD || resp.status().as_u16() >= 300 {
            self.meter.record(&info.project, &info.name, class, bytes_in, 0);
            return resp;
        }
        let (meter, bucket) = (self.meter.clone(), (info.project.as_str(), info.name.as_str()));
        resp.map(|body| metered_body::metered(body, meter, bucket, class, bytes_in))
    }

    async fn dispatch<B>(&self, ctx: &mut Ctx, body: B) -> Result<Response<ResBody>, S3Error>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<coffer_engine::BoxError>,
    {
        let header_bytes: usize = ctx.headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
        if header_bytes > MAX_HEADER_SECTION {
            return Err(coffer_s3_proto::S3ErrorCode::RequestHeaderSectionTooLarge.into());
        }
        ctx.route(&self.domains)?;
        if ctx.op == Some(Operation::CorsPreflight) {
            // Browsers send preflights without credentials.
            return cors::preflight(self, ctx).await;
        }
        let body = body::RequestBody::new(body, ctx.body_bytes.clone());
        if ctx.op == Some(Operation::PostObject) {
            // A form upload carries its signature in the form, not the headers.
            return object_post::post(self, ctx, body).await;
        }
        auth::authenticate(self, ctx).await?;
        authz::authorize(self, ctx).await?;
        // One authorized after its body is metered once its handler says so.
        ctx.authorized = !ctx.op.is_some_and(|op| op.is(coffer_s3_proto::ops::Trait::AuthorizedAfterBody));
        if let Some(op) = ctx.op {
            coffer_s3_proto::unbuilt::refuse(op, &ctx.headers)?;
        }
        use Operation::*;
        match ctx.op.unwrap_or(NotImplemented("unknown")) {
            ListBuckets => bucket::list_buckets(self, ctx).await,
            CreateBucket => bucket::create(self, ctx, body).await,
            DeleteBucket => bucket::delete(self, ctx).await,
            HeadBucket => bucket::head(self, ctx).await,
            GetBucketLocation => bucket::location(self, ctx).await,
            ListObjects => list::v1(self, ctx).await,
            ListObjectsV2 => list::v2(self, ctx).await,
            ListObjectVersions => list::versions(self, ctx).await,
            CorsPreflight => cors::preflight(self, ctx).await,
            PutBucketCors => cors::put(self, ctx, body).await,
            GetBucketCors => cors::get(self, ctx).await,
            DeleteBucketCors => cors::delete(self, ctx).await,
            GetBucketPolicy => policy::get(self, ctx).await,
            PutBucketPolicy => policy::put(self, ctx, body).await,
            DeleteBucketPolicy => policy::delete(self, ctx).await,
            GetBucketPolicyStatus => bucket::policy_status(self, ctx).await,
            GetBucketAccelerateConfiguration
            | ListBucketAnalyticsConfigurations
            | GetBucketEncryption
            | ListBucketIntelligentTieringConfigurations
            | ListBucketInventoryConfigurations
            | GetBucketLogging
            | ListBucketMetricsConfigurations
            | GetBucketNotificationConfiguration
            | GetBucketReplication
            | GetBucketRequestPayment
            | GetBucketWebsite => bucket::probe(self, ctx).await,
            GetBucketVersioning => versioning::get(self, ctx).await,
            GetBucketLifecycleConfiguration => lifecycle::get(self, ctx).await,
            PutBucketLifecycleConfiguration => lifecycle::put(self, ctx, body).await,
            DeleteBucketLifecycle => lifecycle::delete(self, ctx).await,
            GetObjectLockConfiguration => object_lock::get_config(self, ctx).await,
            PutObjectLockConfiguration => object_lock::put_config(self, ctx, body).await,
            GetObjectRetention => object_lock::get_retention(self, ctx).await,
            PutObjectRetention => object_lock::put_retention(self, ctx, body).await,
            GetObjectLegalHold => object_lock::get_legal_hold(self, ctx).await,
            PutObjectLegalHold => object_lock::put_legal_hold(self, ctx, body).await,
            PutBucketVersioning => versioning::put(self, ctx, body).await,
            GetObjectAcl => acl::get_object(self, ctx).await,
            GetObjectAttributes => attributes::get(self, ctx).await,
            PutObjectAcl => acl::put_object(self, ctx, body).await,
            GetBucketAcl => acl::get_bucket(self, ctx).await,
            PutBucketAcl => acl::put_bucket(self, ctx, body).await,
            ListMultipartUploads => multipart::list_uploads(self, ctx).await,
            DeleteObjects => object_delete::delete_objects(self, ctx, body).await,
            PutObject => object_put::put(self, ctx, body).await,
            PostObject => object_post::post(self, ctx, body).await,
            CopyObject => object_put::copy(self, ctx).await,
            GetObject | HeadObject => object_get::get(self, ctx).await,
            GetObjectTagging => tagging::get_object(self, ctx).await,
            PutObjectTagging => tagging::put_object(self, ctx, body).await,
            DeleteObjectTagging => tagging::delete_object(self, ctx).await,
            GetBucketTagging => tagging::get_bucket(self, ctx).await,
            GetPublicAccessBlock => public_access::get(self, ctx).await,
            GetBucketOwnershipControls => ownership::get(self, ctx).await,
            PutBucketOwnershipControls => ownership::put(self, ctx, body).await,
            DeleteBucketOwnershipControls => ownership::delete(self, ctx).await,
            PutPublicAccessBlock => public_access::put(self, ctx, body).await,
            DeletePublicAccessBlock => public_access::delete(self, ctx).await,
            PutBucketTagging => tagging::put_bucket(self, ctx, body).await,
            DeleteBucketTagging => tagging::delete_bucket(self, ctx).await,
            DeleteObject => object_delete::delete(self, ctx).await,
            CreateMultipartUpload => multipart::create(self, ctx).await,
            UploadPart => multipart::upload_part(self, ctx, body).await,
            UploadPartCopy => multipart::upload_part_copy(self, ctx).await,
            CompleteMultipartUpload => multipart::complete(self, ctx, body).await,
            AbortMultipartUpload => multipart::abort(self, ctx).await,
            ListParts => multipart::list_parts(self, ctx).await,
            NotImplemented(what) => Err(S3Error::with_message(
                coffer_s3_proto::S3ErrorCode::NotImplemented,
                format!("{what} is not implemented by this server."),
            )),
        }
    }
}
