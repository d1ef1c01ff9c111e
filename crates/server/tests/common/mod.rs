//! Test fixtures: an in-process Coffer on a temp dir, an `aws-sdk-s3` client
//! for it, and a raw HTTP/1.1 client for requests no SDK would send.

#![allow(dead_code)]

pub mod admin;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use coffer::{RootCredential, ServerConfig};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const AK: &str = "AKTESTROOT";
pub const SK: &str = "test-secret-key-0123456789";
pub const REGION: &str = "us-east-1";

/// A running in-process server with its own data directory.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The web console's address.
    pub console_addr: Option<SocketAddr>,
    pub dir: tempfile::TempDir,
    running: Option<coffer::Running>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_in(tempfile::tempdir().unwrap()).await
    }

    pub async fn start_in(dir: tempfile::TempDir) -> Self {
        Self::start_configured(dir, |_| {}).await
    }

    /// Starts with the test configuration as changed by `tweak`.
    pub async fn start_configured(dir: tempfile::TempDir, tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut cfg = ServerConfig {
            shutdown_grace: std::time::Duration::from_secs(30),
            audit_log: None,
            audit_all: false,
            metrics_listen: None,
            metrics_token: None,
            metrics_project_labels: false,
            lifecycle_day: std::time::Duration::from_secs(86_400),
            lifecycle_every: std::time::Duration::from_secs(3600),
            data_dir: dir.path().join("data"),
            listen: "127.0.0.1:0".parse().unwrap(),
            region: REGION.into(),
            root: Some(RootCredential { access_key: AK.into(), secret_key: SK.into() }),
            gc_grace: Duration::ZERO,
            default_ownership: coffer_engine::ObjectOwnership::BucketOwnerEnforced,
            domains: vec!["s3.test".into(), "localhost".into()],
            tls: None,
            plain_listen: None,
            https_only: false,
            idle_timeout: Duration::from_secs(30),
            regions: vec![],
            master_key: None,
            meter_interval: Duration::from_secs(60),
            max_connections: coffer::MAX_CONNECTIONS,
            console_listen: Some("127.0.0.1:0".parse().unwrap()),
            console_max_connections: coffer::CONSOLE_MAX_CONNECTIONS,
            console_session_ttl: coffer::CONSOLE_SESSION_TTL,
            s3_public_url: None,
            shared_data_dir: false,
            meta: None,
            blobs: None,
            meta_pool_size: coffer::META_POOL_SIZE,
            meta_ca_file: None,
            reclaim_min_age: coffer::RECLAIM_MIN_AGE,
            orphan_sweep_every: coffer::ORPHAN_SWEEP_EVERY,
            scrub_every: None,
            scrub_rate: None,
        };
        tweak(&mut cfg);
        let running = coffer::start(cfg).await.unwrap();
        TestServer { addr: running.addr, console_addr: running.console_addr, dir, running: Some(running) }
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        self.dir
    }

    /// The running server (for its counters).
    pub fn running(&self) -> &coffer::Running {
        self.running.as_ref().expect("the server is running")
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client_with(AK, SK)
    }

    pub fn client_with(&self, ak: &str, sk: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(ak, sk, None, None, "test"))
            .force_path_style(true)
            // The SDK's 2025 defaults: CRC checksums on every upload, validated on download.
            .request_checksum_calculation(RequestChecksumCalculation::WhenSupported)
            .response_checksum_validation(ResponseChecksumValidation::WhenSupported)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// Files under the blob store's temporary and committed directories.
    pub fn blob_files(&self) -> (usize, usize) {
        let root = self.dir.path().join("data/blobs");
        (count(&root.join("tmp")), count(&root.join("v1")))
    }

    /// Sends a signed request over a fresh connection and reads the answer.
    pub async fn signed(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawResponse {
        self.signed_at(method, path, query, headers, body, time::OffsetDateTime::now_utc(), SK).await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn signed_at(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        now: time::OffsetDateTime,
        secret: &str,
    ) -> RawResponse {
        let mut h = http::HeaderMap::new();
        h.insert("host", self.addr.to_string().parse().unwrap());
        for (k, v) in headers {
            h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let payload = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-content-sha256"))
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| "UNSIGNED-PAYLOAD".into());
        coffer_s3_proto::sigv4::sign_request(method, path, query, &mut h, &payload, AK, secret, REGION, now);
        let mut head = format!("{method} {path}{}{query} HTTP/1.1\r\n", if query.is_empty() { "" } else { "?" });
        for (k, v) in h.iter() {
            head.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap()));
        }
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("connection: close\r\n\r\n");
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        self.raw(&req).await
    }

    /// A signed request head (request line and headers, no blank line yet),
    /// for tests that then send the body themselves.
    pub fn signed_head(&self, method: &str, path: &str, headers: &[(&str, &str)], payload_hash: &str) -> String {
        let mut h = http::HeaderMap::new();
        h.insert("host", self.addr.to_string().parse().unwrap());
        for (k, v) in headers {
            h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let now = time::OffsetDateTime::now_utc();
        coffer_s3_proto::sigv4::sign_request(method, path, "", &mut h, payload_hash, AK, SK, REGION, now);
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        for (k, v) in h.iter() {
            head.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
        }
        head
    }

    /// Writes raw bytes on a new connection, then reads until the server closes.
    pub async fn raw(&self, bytes: &[u8]) -> RawResponse {
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        s.write_all(bytes).await.unwrap();
        read_response(&mut s).await
    }
}

fn count(p: &std::path::Path) -> usize {
    std::fs::read_dir(p)
        .map(|rd| rd.map(|e| e.unwrap().path()).map(|p| if p.is_dir() { count(&p) } else { 1 }).sum())
        .unwrap_or(0)
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The `<Code>` of an S3 error body.
    pub fn code(&self) -> Option<String> {
        let t = self.text();
        let a = t.find("<Code>")? + 6;
        let b = t[a..].find("</Code>")? + a;
        Some(t[a..b].to_owned())
    }
}

pub async fn read_response(s: &mut tokio::net::TcpStream) -> RawResponse {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf)).await;
    parse_response(&buf)
}

pub fn parse_response(buf: &[u8]) -> RawResponse {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let body = buf.get(split + 4..).unwrap_or_default().to_vec();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    RawResponse { status, headers, body }
}

pub fn md5_b64(data: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}

pub fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8).collect()
}
