//! Per-request context: id, method, path, query, headers, route, principal.

use coffer_iam::Principal;
use coffer_s3_proto::router::{self, Operation, Query};
use coffer_s3_proto::sigv4::PayloadMode;
use coffer_s3_proto::{S3Error, S3ErrorCode};
use http::request::Parts;
use http::{HeaderMap, Method};
use rand::RngCore;

/// Everything a handler knows about its request besides the body.
pub(crate) struct Ctx {
    pub id: String,
    pub method: Method,
    pub raw_path: String,
    pub raw_query: String,
    pub query: Query,
    pub headers: HeaderMap,
    pub op: Option<Operation>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// How the body must be verified (set by authentication).
    pub payload: PayloadMode,
    /// The authenticated access key.
    pub access_key: Option<String>,
    /// The bucket named by the Host header (virtual-hosted style).
    pub virtual_bucket: Option<String>,
    /// The request came over TLS.
    pub secure: bool,
    /// The client's address, when the transport knows it.
    pub peer: Option<std::net::SocketAddr>,
    /// The region whose endpoint received the request.
    pub region: String,
    /// Who the request acts as (set by authentication).
    pub principal: Principal,
    /// How the request was authenticated, as the `s3:authType` and
    /// `s3:signatureversion` condition keys name it.
    pub auth_type: Option<(&'static str, &'static str)>,
    /// The tags the request asks to set (`x-amz-tagging` on a write, the
    /// document of PutObjectTagging once read): the `s3:RequestObjectTag/…`
    /// and `s3:RequestObjectTagKeys` condition keys.
    pub request_tags: Option<coffer_types::TagSet>,
    /// The addressed bucket, once authorization has looked it up.
    pub bucket_info: Option<coffer_engine::BucketInfo>,
    /// A read was allowed without reading the object: if the handler finds
    /// no such key, authorization still decides between 404 and 403.
    pub list_check_if_missing: bool,
    /// Authentication and authorization passed: only such a request is
    /// metered (a refused one is not the bucket owner's traffic).
    pub authorized: bool,
    /// Body bytes actually received, counted as they are read (metered as
    /// bytes in; a length header is the client's claim, not a count).
    pub body_bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// What authorization decided on at each `(bucket, key)` it looked at
    /// (`authz.rs`): the read that follows must find the same.
    pub pins: std::sync::Mutex<Vec<Pin>>,
    /// The observer to tell of this request, and when it arrived, until the
    /// answer's body takes over (`observe.rs`). A request dropped before it
    /// has an answer (the client went away) is reported when `Ctx` drops.
    pub observing: Option<(std::sync::Arc<dyn crate::RequestObserver>, std::time::Instant)>,
}

impl Drop for Ctx {
    fn drop(&mut self) {
        if let Some((observer, started)) = self.observing.take() {
            let record = crate::observe::record(self, started, 499, Some("ClientClosedRequest"));
            observer.finished(&record);
        }
    }
}

/// What authorization saw of one version it decided on (`authz.rs`).
pub(crate) struct Pin {
    pub bucket: String,
    pub key: String,
    pub version: Option<String>,
    pub seen: coffer_engine::ReadPin,
}

pub(crate) fn request_id() -> String {
    let mut b = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode_upper(b)
}

impl Ctx {
    /// The `versionId` the request names, if any.
    pub(crate) fn version(&self) -> Option<&str> {
        self.query.get("versionId")
    }

    pub fn new(parts: Parts) -> Self {
        let raw_path = parts.uri.path().to_owned();
        let raw_query = parts.uri.query().unwrap_or("").to_owned();
        Ctx {
            id: request_id(),
            method: parts.method,
            query: Query::parse(&raw_query),
            raw_path,
            raw_query,
            headers: parts.headers,
            op: None,
            bucket: None,
            key: None,
            payload: PayloadMode::Unsigned,
            access_key: None,
            virtual_bucket: None,
            secure: parts.extensions.get::<crate::ConnInfo>().is_some_and(|c| c.secure),
            peer: parts.extensions.get::<crate::ConnInfo>().map(|c| c.peer),
            region: String::new(),
            principal: Principal::Anonymous,
            auth_type: None,
            request_tags: None,
            bucket_info: None,
            list_check_if_missing: false,
            authorized: false,
            body_bytes: Default::default(),
            pins: Default::default(),
            observing: None,
        }
    }

    /// The addressed bucket as authorized, which a write carries so that it
    /// cannot land in a bucket of the same name made while its body arrived.
    pub fn stamp(&self) -> Option<coffer_meta::BucketStamp> {
        self.bucket_info.as_ref().map(coffer_engine::BucketInfo::stamp)
    }

    /// Routes the request (fills `op`, `bucket`, `key`), virtual-hosted when
    /// the Host names a bucket under one of `domains`.
    pub fn route(&mut self, domains: &[String]) -> Result<(), S3Error> {
        let copy = self.headers.contains_key("x-amz-copy-source");
        self.virtual_bucket = self.header("host").and_then(|h| router::bucket_from_host(h, domains));
        let r = router::route_in(self.virtual_bucket.clone(), self.method.as_str(), &self.raw_path, &self.query, copy)?;
        self.op = Some(r.op);
        self.bucket = r.bucket;
        self.key = r.key;
        Ok(())
    }

    /// A header as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The routed bucket (present for every bucket and object operation).
    pub fn bucket(&self) -> &str {
        self.bucket.as_deref().unwrap_or("")
    }

    /// The routed key (present for every object operation).
    pub fn key(&self) -> &str {
        self.key.as_deref().unwrap_or("")
    }

    /// A query parameter parsed as a number, `InvalidArgument` if malformed.
    pub fn query_num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, S3Error> {
        match self.query.get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                S3Error::with_message(S3ErrorCode::InvalidArgument, format!("{name} must be a non-negative integer"))
                    .with_extra("ArgumentName", name)
                    .with_extra("ArgumentValue", v)
            }),
        }
    }

    /// A header parsed as a number, `InvalidArgument` if malformed.
    pub fn header_num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, S3Error> {
        match self.header(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                S3Error::with_message(S3ErrorCode::InvalidArgument, format!("{name} must be a non-negative integer"))
                    .with_extra("ArgumentName", name)
                    .with_extra("ArgumentValue", v)
            }),
        }
    }
}
