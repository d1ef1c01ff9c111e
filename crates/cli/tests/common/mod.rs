//! The fake admin API the client tests run against: a hyper server on
//! 127.0.0.1:0 that checks every request's SigV4 signature (over the body's
//! SHA-256, as the real server does), records it, and answers canned JSON per
//! route. Each command is driven through its clap definition, as the binary does.

#![allow(dead_code)]

use bytes::Bytes;
use clap::Parser;
use coffer_cli::{ClientCommand, Connection};
use coffer_s3_proto::sigv4::{self, SignedRequest};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

pub const AK: &str = "AKOPERATOR";
pub const SK: &str = "operator-secret";
pub const V1: &str = "/_coffer/admin/v1";
pub const T0: &str = "2024-05-01T12:00:00Z";

/// What the fake server saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub method: String,
    /// Path without the base path, as sent (percent-encoded).
    pub path: String,
    pub query: String,
    pub body: Option<Value>,
}

pub fn seen(method: &str, path: &str, query: &str, body: Option<Value>) -> Seen {
    Seen { method: method.into(), path: path.into(), query: query.into(), body }
}

#[derive(Parser)]
pub struct Cli {
    #[command(flatten)]
    pub conn: Connection,
    #[command(subcommand)]
    pub cmd: ClientCommand,
}

pub struct Fake {
    pub url: String,
    pub log: Arc<Mutex<Vec<Seen>>>,
    /// The CA certificate of an https fake.
    pub ca: Option<(tempfile::TempDir, PathBuf)>,
}

impl Fake {
    pub async fn start() -> Fake {
        Self::start_with(None).await
    }

    pub async fn start_tls() -> Fake {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, cert.cert.pem()).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        let mut fake = Self::start_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))).await;
        fake.ca = Some((dir, ca));
        fake
    }

    pub async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let server_log = log.clone();
        let scheme = if tls.is_some() { "https" } else { "http" };
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let log = server_log.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, log.clone()));
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                        }
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    }
                });
            }
        });
        Fake { url: format!("{scheme}://{addr}"), log, ca: None }
    }

    /// The requests seen since the last call.
    pub fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    /// Runs `coffer ARGS...` against this server with the operator's keys.
    pub async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        self.run_as(SK, args).await
    }

    /// [`Fake::run`] with `stdin` as the standard input.
    pub async fn run_with_stdin(&self, stdin: &str, args: &[&str]) -> anyhow::Result<String> {
        let mut argv = vec!["coffer", "--endpoint", &self.url, "--access-key", AK, "--secret-key", SK];
        argv.extend(args);
        let cli = Cli::try_parse_from(argv)?;
        coffer_cli::run_to_string_with_stdin(&cli.conn, cli.cmd, coffer_cli::Stdin::Text(stdin.into())).await
    }

    pub async fn run_as(&self, secret: &str, args: &[&str]) -> anyhow::Result<String> {
        let mut argv = vec!["coffer", "--endpoint", &self.url, "--access-key", AK, "--secret-key", secret];
        if let Some((_, ca)) = &self.ca {
            argv.extend(["--ca-cert", ca.to_str().unwrap()]);
        }
        argv.extend(args);
        let cli = Cli::try_parse_from(argv)?;
        coffer_cli::run_to_string(&cli.conn, cli.cmd).await
    }
}

pub fn error(status: StatusCode, code: &str, message: &str) -> (StatusCode, Option<Value>) {
    (status, Some(json!({"error": {"code": code, "message": message}, "request_id": "req-1"})))
}

pub async fn handle(req: Request<Incoming>, log: Arc<Mutex<Vec<Seen>>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let (status, answer) = answer(&parts, &body, &log);
    let mut resp = Response::builder().status(status);
    let bytes = match answer {
        Some(v) => {
            resp = resp.header("content-type", "application/json");
            Bytes::from(serde_json::to_vec(&v).unwrap())
        }
        None => Bytes::new(),
    };
    Ok(resp.body(Full::new(bytes)).unwrap())
}

pub fn answer(parts: &http::request::Parts, body: &Bytes, log: &Mutex<Vec<Seen>>) -> (StatusCode, Option<Value>) {
    // The signature, as the admin API checks it: over the body's SHA-256.
    let signed = SignedRequest {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
    };
    let auth = match sigv4::parse(&signed) {
        Ok(Some(auth)) => auth,
        Ok(None) => return error(StatusCode::FORBIDDEN, "AccessDenied", "The request is not signed."),
        Err(e) => return error(StatusCode::BAD_REQUEST, "AuthorizationHeaderMalformed", &format!("{e:?}")),
    };
    if auth.access_key() != AK {
        return error(StatusCode::FORBIDDEN, "InvalidAccessKeyId", "Unknown access key.");
    }
    let hash = hex::encode(Sha256::digest(body));
    if let Err(e) = auth.with_payload_sha256(hash).verify_service(&signed, SK, "s3", time::OffsetDateTime::now_utc()) {
        return error(StatusCode::FORBIDDEN, e.code.as_str(), "The signature does not match.");
    }
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
    let body: Option<Value> = if body.is_empty() {
        None
    } else {
        assert_eq!(content_type, Some("application/json"), "a body is sent as JSON");
        Some(serde_json::from_slice(body).expect("the body is JSON"))
    };
    let Some(path) = parts.uri.path().strip_prefix(V1) else {
        return error(StatusCode::NOT_FOUND, "NoSuchRoute", "Not the admin API.");
    };
    let query = parts.uri.query().unwrap_or("").to_owned();
    log.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: path.to_owned(),
        query: query.clone(),
        body: body.clone(),
    });
    route(parts.method.as_str(), path, &query, body.unwrap_or(Value::Null))
}

pub fn key(access_key: &str, user: &str, status: &str) -> Value {
    json!({"access_key": access_key, "project": "acme", "user": user, "region": "us-east-1", "status": status,
           "created": T0, "last_used": null, "expires": null})
}

pub fn usage() -> Value {
    json!({
        "project": "acme", "bucket": "photos", "from": "2024-05-01T00:00:00Z", "to": "2024-05-02T00:00:00Z",
        "hours": [
            {"hour": "2024-05-01T10:00:00Z", "bucket": "photos", "byte_hours": 1536.0, "bytes": 1536, "objects": 2,
             "requests": {"get": 4, "put": 2, "list": 1, "delete": 0, "other": 0}, "bytes_in": 1536, "bytes_out": 3072},
            {"hour": "2024-05-01T11:00:00Z", "bucket": "photos", "byte_hours": 1536.0, "bytes": 1536, "objects": 2,
             "requests": {"get": 1, "put": 0, "list": 0, "delete": 0, "other": 0}, "bytes_in": 0, "bytes_out": 1536}
        ],
        "totals": {"byte_hours": 3072.0, "requests": {"get": 5, "put": 2, "list": 1, "delete": 0, "other": 0},
                   "bytes_in": 1536, "bytes_out": 4608}
    })
}

/// The canned answers.
pub fn route(method: &str, path: &str, query: &str, body: Value) -> (StatusCode, Option<Value>) {
    let ok = |v: Value| (StatusCode::OK, Some(v));
    let created = |v: Value| (StatusCode::CREATED, Some(v));
    let gone = (StatusCode::NO_CONTENT, None);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["regions"]) => ok(json!([
            {"name": "us-east-1", "hosts": ["s3.example.com", "127.0.0.1:9000"], "default": true},
            {"name": "eu-west-1", "hosts": ["eu.example.com"], "default": false}
        ])),
        ("GET", ["projects"]) => ok(json!([{"name": "acme", "created": T0}, {"name": "globex", "created": T0}])),
        ("POST", ["projects"]) => created(json!({"name": body["name"], "created": T0})),
        ("GET", ["projects", "acme", "public-access-block"]) => ok(json!({
            "block_public_acls": true, "ignore_public_acls": false, "block_public_policy": true, "restrict_public_buckets": false
        })),
        ("PUT", ["projects", "acme", "public-access-block"]) => ok(body),
        ("GET", ["projects", "acme"]) => ok(json!({
            "name": "acme", "created": T0,
            "quota": {"max_bytes": 10737418240u64, "max_objects": null},
            "stored": {"bytes": 1536, "objects": 3, "buckets": 1}
        })),
        ("DELETE", ["projects", "acme"]) => gone,
        ("GET", ["projects", "acme", "users"]) => ok(json!([
            {"name": "root", "path": "/", "root": true, "created": T0, "presets": ["full-access"], "inline_policies": [],
             "has_password": false},
            {"name": "alice", "path": "/team/", "root": false, "created": T0, "presets": ["read-only"], "inline_policies": ["logs"],
             "has_password": true}
        ])),
        ("POST", ["projects", "acme", "users"]) => created(json!({
            "name": body["name"], "path": body.get("path").cloned().unwrap_or(json!("/")), "root": false,
            "created": T0, "presets": [], "inline_policies": [], "has_password": false
        })),
        ("GET", ["projects", "acme", "users", "alice"]) => ok(json!({
            "name": "alice", "path": "/team/", "root": false, "created": T0, "presets": ["read-only"],
            "inline_policies": ["logs"], "has_password": true
        })),
        ("DELETE", ["projects", "acme", "users", _]) => gone,
        ("GET", ["projects", "acme", "users", "alice", "policy"]) => ok(json!({
            "presets": ["read-only"],
            "inline": {"logs": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::logs/*"}]}}
        })),
        ("PUT", ["projects", "acme", "users", "alice", "policy"]) => match (body.get("preset"), body.get("document")) {
            (Some(p), None) => ok(json!({"presets": [p], "inline": {}})),
            (None, Some(d)) => ok(json!({"presets": [], "inline": {"policy": d}})),
            _ => error(StatusCode::BAD_REQUEST, "InvalidRequest", "Give a preset or a document."),
        },
        ("PUT", ["projects", "acme", "users", "alice", "password"]) => match &body["password"] {
            Value::Null => gone,
            Value::String(p) if p.chars().count() >= 12 => gone,
            Value::String(_) => error(StatusCode::BAD_REQUEST, "WeakPassword", "weak password: too short"),
            _ => error(StatusCode::BAD_REQUEST, "MalformedJson", "no password"),
        },
        ("PUT", ["projects", "acme", "users", _, "password"]) => {
            error(StatusCode::NOT_FOUND, "NoSuchUser", "user does not exist")
        }
        ("POST", ["projects", "acme", "keys"]) => created(json!({
            "access_key": "AKNEW", "secret_key": "SKNEW", "project": "acme",
            "user": body.get("user").cloned().unwrap_or(json!("root")),
            "region": body.get("region").cloned().unwrap_or(json!("us-east-1")),
            "status": "Active", "created": T0, "expires": body.get("expires").cloned().unwrap_or(Value::Null)
        })),
        ("GET", ["projects", "acme", "keys"]) if query == "user=alice" => ok(json!([key("AK2", "alice", "Inactive")])),
        ("GET", ["projects", "acme", "keys"]) => {
            ok(json!([key("AK1", "root", "Active"), key("AK2", "alice", "Inactive")]))
        }
        ("GET", ["keys", "AK1"]) => ok(key("AK1", "root", "Active")),
        ("PATCH", ["keys", "AK1"]) => ok(key("AK1", "root", body["status"].as_str().unwrap())),
        ("PATCH", ["keys", "AK204"]) => gone,
        ("DELETE", ["keys", "AK1"]) => gone,
        ("GET", ["projects", "acme", "quota"]) => ok(json!({"max_bytes": 10737418240u64, "max_objects": 500})),
        ("GET", ["buckets", "photos", "quota"]) => ok(json!({"max_bytes": null, "max_objects": 1000})),
        ("PUT", ["projects", "acme", "quota"] | ["buckets", "photos", "quota"]) => ok(body),
        ("GET", ["projects", "acme", "usage"]) => ok(usage()),
        ("GET", ["buckets"]) => {
            let photos = json!({"name": "photos", "project": "acme", "region": "us-east-1", "created": T0, "bytes": 3145728, "objects": 12});
            let logs = json!({"name": "logs", "project": "globex", "region": "eu-west-1", "created": T0, "bytes": 0, "objects": 0});
            if query == "project=acme" {
                ok(json!([photos]))
            } else {
                ok(json!([photos, logs]))
            }
        }
        ("GET", ["projects", "ghost"]) | ("DELETE", ["projects", "ghost"]) => {
            error(StatusCode::NOT_FOUND, "NoSuchProject", "The project 'ghost' does not exist.")
        }
        // Names that must arrive percent-encoded.
        ("GET", ["projects", "a%20b%2Fc", "users"]) => ok(json!([])),
        ("GET", ["projects", "acme", "users", "%C3%A9l%C3%A8ve", "policy"]) => ok(json!({"presets": [], "inline": {}})),
        _ => error(StatusCode::NOT_FOUND, "NoSuchRoute", &format!("no route for {method} {path}")),
    }
}
