//! The client against a fake admin API: a hyper server on 127.0.0.1:0 that
//! checks every request's SigV4 signature (over the body's SHA-256, as the
//! real server does), records it, and answers canned JSON per route. Each
//! command is driven through its clap definition, as the binary does.

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

const AK: &str = "AKOPERATOR";
const SK: &str = "operator-secret";
const V1: &str = "/_coffer/admin/v1";
const T0: &str = "2024-05-01T12:00:00Z";

/// What the fake server saw.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: String,
    /// Path without the base path, as sent (percent-encoded).
    path: String,
    query: String,
    body: Option<Value>,
}

fn seen(method: &str, path: &str, query: &str, body: Option<Value>) -> Seen {
    Seen { method: method.into(), path: path.into(), query: query.into(), body }
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    conn: Connection,
    #[command(subcommand)]
    cmd: ClientCommand,
}

struct Fake {
    url: String,
    log: Arc<Mutex<Vec<Seen>>>,
    /// The CA certificate of an https fake.
    ca: Option<(tempfile::TempDir, PathBuf)>,
}

impl Fake {
    async fn start() -> Fake {
        Self::start_with(None).await
    }

    async fn start_tls() -> Fake {
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

    async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Fake {
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
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    /// Runs `coffer ARGS...` against this server with the operator's keys.
    async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        self.run_as(SK, args).await
    }

    /// [`Fake::run`] with `stdin` as the standard input.
    async fn run_with_stdin(&self, stdin: &str, args: &[&str]) -> anyhow::Result<String> {
        let mut argv = vec!["coffer", "--endpoint", &self.url, "--access-key", AK, "--secret-key", SK];
        argv.extend(args);
        let cli = Cli::try_parse_from(argv)?;
        coffer_cli::run_to_string_with_stdin(&cli.conn, cli.cmd, coffer_cli::Stdin::Text(stdin.into())).await
    }

    async fn run_as(&self, secret: &str, args: &[&str]) -> anyhow::Result<String> {
        let mut argv = vec!["coffer", "--endpoint", &self.url, "--access-key", AK, "--secret-key", secret];
        if let Some((_, ca)) = &self.ca {
            argv.extend(["--ca-cert", ca.to_str().unwrap()]);
        }
        argv.extend(args);
        let cli = Cli::try_parse_from(argv)?;
        coffer_cli::run_to_string(&cli.conn, cli.cmd).await
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> (StatusCode, Option<Value>) {
    (status, Some(json!({"error": {"code": code, "message": message}, "request_id": "req-1"})))
}

async fn handle(req: Request<Incoming>, log: Arc<Mutex<Vec<Seen>>>) -> Result<Response<Full<Bytes>>, Infallible> {
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

fn answer(parts: &http::request::Parts, body: &Bytes, log: &Mutex<Vec<Seen>>) -> (StatusCode, Option<Value>) {
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

fn key(access_key: &str, user: &str, status: &str) -> Value {
    json!({"access_key": access_key, "project": "acme", "user": user, "region": "us-east-1", "status": status,
           "created": T0, "last_used": null, "expires": null})
}

fn usage() -> Value {
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
fn route(method: &str, path: &str, query: &str, body: Value) -> (StatusCode, Option<Value>) {
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

#[tokio::test]
async fn projects() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["project", "create", "acme"]).await.unwrap(),
        "\
+---------+----------------------+
| Field   | Value                |
+---------+----------------------+
| name    | acme                 |
| created | 2024-05-01T12:00:00Z |
+---------+----------------------+
"
    );
    assert_eq!(fake.take(), [seen("POST", "/projects", "", Some(json!({"name": "acme"})))]);

    assert_eq!(
        fake.run(&["project", "list"]).await.unwrap(),
        "\
+--------+----------------------+
| name   | created              |
+--------+----------------------+
| acme   | 2024-05-01T12:00:00Z |
| globex | 2024-05-01T12:00:00Z |
+--------+----------------------+
"
    );
    assert_eq!(
        fake.run(&["project", "list", "-f", "value"]).await.unwrap(),
        "acme 2024-05-01T12:00:00Z\nglobex 2024-05-01T12:00:00Z\n"
    );
    let json: Value = serde_json::from_str(&fake.run(&["project", "list", "-f", "json"]).await.unwrap()).unwrap();
    assert_eq!(json, json!([{"name": "acme", "created": T0}, {"name": "globex", "created": T0}]));
    assert_eq!(fake.take(), vec![seen("GET", "/projects", "", None); 3]);

    assert_eq!(
        fake.run(&["project", "show", "acme"]).await.unwrap(),
        "\
+-------------------+----------------------+
| Field             | Value                |
+-------------------+----------------------+
| name              | acme                 |
| created           | 2024-05-01T12:00:00Z |
| quota_max_bytes   | 10 GiB               |
| quota_max_objects | none                 |
| stored_bytes      | 1.5 KiB              |
| stored_objects    | 3                    |
| stored_buckets    | 1                    |
+-------------------+----------------------+
"
    );
    assert_eq!(
        fake.run(&["project", "show", "acme", "-f", "value"]).await.unwrap(),
        "acme\n2024-05-01T12:00:00Z\n10737418240\nnone\n1536\n3\n1\n"
    );
    let json: Value =
        serde_json::from_str(&fake.run(&["project", "show", "acme", "-f", "json"]).await.unwrap()).unwrap();
    assert_eq!(json["quota"], json!({"max_bytes": 10737418240u64, "max_objects": null}));
    assert_eq!(json["stored"]["bytes"], 1536);
    assert_eq!(fake.take(), vec![seen("GET", "/projects/acme", "", None); 3]);

    assert_eq!(fake.run(&["project", "delete", "acme"]).await.unwrap(), "");
    assert_eq!(fake.run(&["project", "delete", "acme", "-f", "json"]).await.unwrap(), "");
    assert_eq!(fake.take(), vec![seen("DELETE", "/projects/acme", "", None); 2]);
}

#[tokio::test]
async fn users_and_policies() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["user", "create", "--project", "acme", "bob"]).await.unwrap(),
        "\
+-----------------+----------------------+
| Field           | Value                |
+-----------------+----------------------+
| name            | bob                  |
| path            | /                    |
| root            | false                |
| created         | 2024-05-01T12:00:00Z |
| presets         | -                    |
| inline_policies | -                    |
| has_password    | false                |
+-----------------+----------------------+
"
    );
    assert_eq!(fake.take(), [seen("POST", "/projects/acme/users", "", Some(json!({"name": "bob"})))]);
    assert_eq!(
        fake.run(&["user", "create", "--project", "acme", "carol", "--path", "/ops/", "-f", "value"]).await.unwrap(),
        "carol\n/ops/\nfalse\n2024-05-01T12:00:00Z\n-\n-\nfalse\n"
    );
    assert_eq!(
        fake.take(),
        [seen("POST", "/projects/acme/users", "", Some(json!({"name": "carol", "path": "/ops/"})))]
    );

    assert_eq!(
        fake.run(&["user", "list", "--project", "acme"]).await.unwrap(),
        "\
+-------+--------+-------+----------------------+-------------+-----------------+--------------+
| name  | path   | root  | created              | presets     | inline_policies | has_password |
+-------+--------+-------+----------------------+-------------+-----------------+--------------+
| root  | /      | true  | 2024-05-01T12:00:00Z | full-access | -               | false        |
| alice | /team/ | false | 2024-05-01T12:00:00Z | read-only   | logs            | true         |
+-------+--------+-------+----------------------+-------------+-----------------+--------------+
"
    );
    assert_eq!(
        fake.run(&["user", "list", "--project", "acme", "-f", "value"]).await.unwrap(),
        "root / true 2024-05-01T12:00:00Z full-access - false\nalice /team/ false 2024-05-01T12:00:00Z read-only logs true\n"
    );
    assert_eq!(fake.take(), vec![seen("GET", "/projects/acme/users", "", None); 2]);

    assert_eq!(
        fake.run(&["user", "show", "--project", "acme", "alice", "-f", "value"]).await.unwrap(),
        "alice\n/team/\nfalse\n2024-05-01T12:00:00Z\nread-only\nlogs\ntrue\n"
    );
    assert_eq!(fake.take(), [seen("GET", "/projects/acme/users/alice", "", None)]);

    assert_eq!(fake.run(&["user", "delete", "--project", "acme", "bob"]).await.unwrap(), "");
    assert_eq!(fake.take(), [seen("DELETE", "/projects/acme/users/bob", "", None)]);

    assert_eq!(
        fake.run(&["user", "policy", "set", "--project", "acme", "alice", "--preset", "read-only"]).await.unwrap(),
        "\
+-----------------+-----------+
| Field           | Value     |
+-----------------+-----------+
| presets         | read-only |
| inline_policies | -         |
+-----------------+-----------+
"
    );
    assert_eq!(
        fake.take(),
        [seen("PUT", "/projects/acme/users/alice/policy", "", Some(json!({"preset": "read-only"})))]
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    let document =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    std::fs::write(&file, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    let out = fake
        .run(&["user", "policy", "set", "--project", "acme", "alice", "--file", file.to_str().unwrap(), "-f", "json"])
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!({"presets": [], "inline": {"policy": document}}));
    assert_eq!(
        fake.take(),
        [seen("PUT", "/projects/acme/users/alice/policy", "", Some(json!({"document": document})))]
    );

    // A file that is not JSON is refused before anything is sent.
    std::fs::write(&file, "Version: 2012-10-17").unwrap();
    let err = fake
        .run(&["user", "policy", "set", "--project", "acme", "alice", "--file", file.to_str().unwrap()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is not a JSON document"), "{err:#}");
    let err = fake
        .run(&["user", "policy", "set", "--project", "acme", "alice", "--file", "/nonexistent/p.json"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("reading /nonexistent/p.json"), "{err:#}");
    assert_eq!(fake.take(), []);

    assert_eq!(
        fake.run(&["user", "policy", "show", "--project", "acme", "alice"]).await.unwrap(),
        "\
+-----------------+-----------------------------------------+
| Field           | Value                                   |
+-----------------+-----------------------------------------+
| presets         | read-only                               |
| inline_policies | logs                                    |
| inline:logs     | {                                       |
|                 |   \"Statement\": [                        |
|                 |     {                                   |
|                 |       \"Action\": \"s3:*\",                 |
|                 |       \"Effect\": \"Deny\",                 |
|                 |       \"Resource\": \"arn:aws:s3:::logs/*\" |
|                 |     }                                   |
|                 |   ],                                    |
|                 |   \"Version\": \"2012-10-17\"               |
|                 | }                                       |
+-----------------+-----------------------------------------+
"
    );
    assert_eq!(fake.take(), [seen("GET", "/projects/acme/users/alice/policy", "", None)]);
}

#[tokio::test]
async fn console_passwords() {
    let fake = Fake::start().await;
    let set = ["user", "password", "set", "--project", "acme", "alice"];
    // The first line of stdin, without its line ending; spaces are kept.
    for (stdin, sent) in [
        ("correct horse battery\n", "correct horse battery"),
        ("  spaced out pass  \r\nsecond line\n", "  spaced out pass  "),
        ("no newline at all", "no newline at all"),
    ] {
        assert_eq!(fake.run_with_stdin(stdin, &set).await.unwrap(), "");
        assert_eq!(
            fake.take(),
            [seen("PUT", "/projects/acme/users/alice/password", "", Some(json!({"password": sent})))]
        );
    }
    let mut explicit = set.to_vec();
    explicit.push("--password-stdin");
    assert_eq!(fake.run_with_stdin("correct horse battery\n", &explicit).await.unwrap(), "");
    assert_eq!(fake.take().len(), 1);

    // Nothing on stdin: refused before anything is sent.
    for stdin in ["", "\n", "\r\nlater"] {
        let err = fake.run_with_stdin(stdin, &set).await.unwrap_err();
        assert!(err.to_string().contains("password"), "{err:#}");
    }
    assert_eq!(fake.take(), []);

    // The server's refusals come back as errors, without the password.
    let err = fake.run_with_stdin("short\n", &set).await.unwrap_err();
    assert!(err.to_string().contains("WeakPassword"), "{err:#}");
    assert!(!err.to_string().contains("short\n"), "{err:#}");
    let err =
        fake.run_with_stdin("correct horse battery\n", &["user", "password", "set", "--project", "acme", "bob"]).await;
    assert!(err.unwrap_err().to_string().contains("NoSuchUser"));
    fake.take();

    // Clear sends null and reads nothing.
    assert_eq!(fake.run(&["user", "password", "clear", "--project", "acme", "alice"]).await.unwrap(), "");
    assert_eq!(fake.take(), [seen("PUT", "/projects/acme/users/alice/password", "", Some(json!({"password": null})))]);
}

#[tokio::test]
async fn credentials() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["credentials", "create", "--project", "acme"]).await.unwrap(),
        "\
+------------+----------------------+
| Field      | Value                |
+------------+----------------------+
| access_key | AKNEW                |
| secret_key | SKNEW                |
| project    | acme                 |
| user       | root                 |
| region     | us-east-1            |
| status     | Active               |
| created    | 2024-05-01T12:00:00Z |
| expires    | -                    |
+------------+----------------------+
The secret key is shown only this once: store it now (it cannot be retrieved later).
"
    );
    assert_eq!(fake.take(), [seen("POST", "/projects/acme/keys", "", Some(json!({})))]);

    let out = fake
        .run(&[
            "credentials",
            "create",
            "--project",
            "acme",
            "--user",
            "alice",
            "--region",
            "eu-west-1",
            "--expires",
            "2025-01-01",
            "-f",
            "json",
        ])
        .await
        .unwrap();
    let json: Value = serde_json::from_str(&out).unwrap();
    for k in ["access_key", "secret_key", "project", "user", "region"] {
        assert!(json.get(k).is_some(), "{k} missing from {out}");
    }
    assert_eq!(json["secret_key"], "SKNEW");
    assert_eq!(json["user"], "alice");
    assert_eq!(json["region"], "eu-west-1");
    assert_eq!(json["expires"], "2025-01-01T00:00:00Z");
    assert!(!out.contains("shown only"), "no note in JSON");
    assert_eq!(
        fake.take(),
        [seen(
            "POST",
            "/projects/acme/keys",
            "",
            Some(json!({"user": "alice", "region": "eu-west-1", "expires": "2025-01-01T00:00:00Z"}))
        )]
    );
    assert_eq!(
        fake.run(&["credentials", "create", "--project", "acme", "-f", "value"]).await.unwrap(),
        "AKNEW\nSKNEW\nacme\nroot\nus-east-1\nActive\n2024-05-01T12:00:00Z\n-\n"
    );
    fake.take();

    assert_eq!(
        fake.run(&["credentials", "list", "--project", "acme"]).await.unwrap(),
        "\
+------------+-------+-----------+----------+----------------------+-----------+---------+
| access_key | user  | region    | status   | created              | last_used | expires |
+------------+-------+-----------+----------+----------------------+-----------+---------+
| AK1        | root  | us-east-1 | Active   | 2024-05-01T12:00:00Z | -         | -       |
| AK2        | alice | us-east-1 | Inactive | 2024-05-01T12:00:00Z | -         | -       |
+------------+-------+-----------+----------+----------------------+-----------+---------+
"
    );
    assert_eq!(
        fake.run(&["credentials", "list", "--project", "acme", "--user", "alice", "-f", "value"]).await.unwrap(),
        "AK2 alice us-east-1 Inactive 2024-05-01T12:00:00Z - -\n"
    );
    assert_eq!(
        fake.take(),
        [seen("GET", "/projects/acme/keys", "", None), seen("GET", "/projects/acme/keys", "user=alice", None)]
    );

    assert_eq!(
        fake.run(&["credentials", "show", "AK1", "-f", "value"]).await.unwrap(),
        "AK1\nacme\nroot\nus-east-1\nActive\n2024-05-01T12:00:00Z\n-\n-\n"
    );
    assert_eq!(fake.take(), [seen("GET", "/keys/AK1", "", None)]);

    let out = fake.run(&["credentials", "deactivate", "AK1"]).await.unwrap();
    assert!(out.contains("| status     | Inactive             |"), "{out}");
    assert_eq!(fake.run(&["credentials", "activate", "AK1", "-f", "json"]).await.unwrap(), {
        let mut s = serde_json::to_string_pretty(&key("AK1", "root", "Active")).unwrap();
        s.push('\n');
        s
    });
    // A server that answers 204 prints nothing.
    assert_eq!(fake.run(&["credentials", "deactivate", "AK204"]).await.unwrap(), "");
    assert_eq!(
        fake.take(),
        [
            seen("PATCH", "/keys/AK1", "", Some(json!({"status": "Inactive"}))),
            seen("PATCH", "/keys/AK1", "", Some(json!({"status": "Active"}))),
            seen("PATCH", "/keys/AK204", "", Some(json!({"status": "Inactive"}))),
        ]
    );

    assert_eq!(fake.run(&["credentials", "delete", "AK1"]).await.unwrap(), "");
    assert_eq!(fake.take(), [seen("DELETE", "/keys/AK1", "", None)]);
}

#[tokio::test]
async fn quotas() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["quota", "show", "--project", "acme"]).await.unwrap(),
        "\
+-------------+--------+
| Field       | Value  |
+-------------+--------+
| max_bytes   | 10 GiB |
| max_objects | 500    |
+-------------+--------+
"
    );
    assert_eq!(fake.run(&["quota", "show", "--bucket", "photos", "-f", "value"]).await.unwrap(), "none\n1000\n");
    assert_eq!(
        fake.take(),
        [seen("GET", "/projects/acme/quota", "", None), seen("GET", "/buckets/photos/quota", "", None)]
    );

    // Both limits: one PUT.
    assert_eq!(
        fake.run(&["quota", "set", "--project", "acme", "--max-bytes", "500M", "--max-objects", "none"]).await.unwrap(),
        "\
+-------------+---------+
| Field       | Value   |
+-------------+---------+
| max_bytes   | 500 MiB |
| max_objects | none    |
+-------------+---------+
"
    );
    assert_eq!(
        fake.take(),
        [seen("PUT", "/projects/acme/quota", "", Some(json!({"max_bytes": 524288000, "max_objects": null})))]
    );

    // One limit: the other keeps its current value.
    assert_eq!(
        fake.run(&["quota", "set", "--bucket", "photos", "--max-bytes", "1T", "-f", "value"]).await.unwrap(),
        "1099511627776\n1000\n"
    );
    assert_eq!(
        fake.take(),
        [
            seen("GET", "/buckets/photos/quota", "", None),
            seen("PUT", "/buckets/photos/quota", "", Some(json!({"max_bytes": 1099511627776u64, "max_objects": 1000}))),
        ]
    );
    assert_eq!(
        fake.run(&["quota", "set", "--project", "acme", "--max-bytes", "none", "-f", "json"]).await.unwrap(),
        "{\n  \"max_bytes\": null,\n  \"max_objects\": 500\n}\n"
    );
    assert_eq!(
        fake.take(),
        [
            seen("GET", "/projects/acme/quota", "", None),
            seen("PUT", "/projects/acme/quota", "", Some(json!({"max_bytes": null, "max_objects": 500}))),
        ]
    );
}

#[tokio::test]
async fn usage_and_regions() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["usage", "show", "--project", "acme", "--bucket", "photos", "--from", "2024-05-01", "--to", "2024-05-02T02:00:00+02:00"])
            .await
            .unwrap(),
        "\
+----------------------+--------+---------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
| hour                 | bucket | bytes   | objects | byte_hours | requests | get | put | list | delete | other | bytes_in | bytes_out |
+----------------------+--------+---------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
| 2024-05-01T10:00:00Z | photos | 1.5 KiB | 2       | 1.5 KiB-h  | 7        | 4   | 2   | 1    | 0      | 0     | 1.5 KiB  | 3 KiB     |
| 2024-05-01T11:00:00Z | photos | 1.5 KiB | 2       | 1.5 KiB-h  | 1        | 1   | 0   | 0    | 0      | 0     | 0 B      | 1.5 KiB   |
+----------------------+--------+---------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
| total                |        |         |         | 3 KiB-h    | 8        | 5   | 2   | 1    | 0      | 0     | 1.5 KiB  | 4.5 KiB   |
+----------------------+--------+---------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
"
    );
    assert_eq!(
        fake.take(),
        [seen(
            "GET",
            "/projects/acme/usage",
            "bucket=photos&from=2024-05-01T00%3A00%3A00Z&to=2024-05-02T00%3A00%3A00Z",
            None
        )]
    );
    assert_eq!(
        fake.run(&["usage", "show", "--project", "acme", "-f", "value"]).await.unwrap(),
        "2024-05-01T10:00:00Z photos 1536 2 1536.0 7 4 2 1 0 0 1536 3072\n2024-05-01T11:00:00Z photos 1536 2 1536.0 1 1 0 0 0 0 0 1536\n"
    );
    let json: Value =
        serde_json::from_str(&fake.run(&["usage", "show", "--project", "acme", "-f", "json"]).await.unwrap()).unwrap();
    assert_eq!(json, usage());
    assert_eq!(fake.take(), vec![seen("GET", "/projects/acme/usage", "", None); 2]);

    assert_eq!(
        fake.run(&["region", "list"]).await.unwrap(),
        "\
+-----------+-------------------------------+---------+
| name      | hosts                         | default |
+-----------+-------------------------------+---------+
| us-east-1 | s3.example.com,127.0.0.1:9000 | true    |
| eu-west-1 | eu.example.com                | false   |
+-----------+-------------------------------+---------+
"
    );
    assert_eq!(
        fake.run(&["region", "list", "-f", "value"]).await.unwrap(),
        "us-east-1 s3.example.com,127.0.0.1:9000 true\neu-west-1 eu.example.com false\n"
    );
    assert_eq!(fake.take(), vec![seen("GET", "/regions", "", None); 2]);

    assert_eq!(
        fake.run(&["bucket", "list"]).await.unwrap(),
        "\
+--------+---------+-----------+----------------------+-------+---------+
| name   | project | region    | created              | bytes | objects |
+--------+---------+-----------+----------------------+-------+---------+
| photos | acme    | us-east-1 | 2024-05-01T12:00:00Z | 3 MiB | 12      |
| logs   | globex  | eu-west-1 | 2024-05-01T12:00:00Z | 0 B   | 0       |
+--------+---------+-----------+----------------------+-------+---------+
"
    );
    assert_eq!(
        fake.run(&["bucket", "list", "--project", "acme", "-f", "value"]).await.unwrap(),
        "photos acme us-east-1 2024-05-01T12:00:00Z 3145728 12\n"
    );
    assert_eq!(fake.take(), [seen("GET", "/buckets", "", None), seen("GET", "/buckets", "project=acme", None)]);
}

#[tokio::test]
async fn names_are_percent_encoded_and_signed() {
    let fake = Fake::start().await;
    assert_eq!(fake.run(&["user", "list", "--project", "a b/c", "-f", "value"]).await.unwrap(), "");
    assert_eq!(
        fake.run(&["user", "policy", "show", "--project", "acme", "élève", "-f", "value"]).await.unwrap(),
        "-\n-\n"
    );
    assert_eq!(
        fake.take(),
        [
            seen("GET", "/projects/a%20b%2Fc/users", "", None),
            seen("GET", "/projects/acme/users/%C3%A9l%C3%A8ve/policy", "", None)
        ]
    );
}

#[tokio::test]
async fn errors() {
    let fake = Fake::start().await;
    let err = fake.run(&["project", "show", "ghost"]).await.unwrap_err();
    assert_eq!(err.to_string(), "NoSuchProject: The project 'ghost' does not exist.");
    let err = fake.run(&["project", "delete", "ghost"]).await.unwrap_err();
    assert_eq!(format!("Error: {err:#}"), "Error: NoSuchProject: The project 'ghost' does not exist.");

    // A wrong secret: the server's signature check fails.
    let err = fake.run_as("wrong-secret", &["project", "list"]).await.unwrap_err();
    assert_eq!(err.to_string(), "SignatureDoesNotMatch: The signature does not match.");
    assert_eq!(fake.take(), [seen("GET", "/projects/ghost", "", None), seen("DELETE", "/projects/ghost", "", None)]);

    // Missing keys are refused before any request.
    let conn = Cli::try_parse_from(["coffer", "--endpoint", &fake.url, "project", "list"]).unwrap().conn;
    if std::env::var_os("COFFER_ACCESS_KEY").is_none() {
        let err = coffer_cli::run_to_string(&conn, ClientCommand::Project(coffer_cli::ProjectCommand::List))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "no access key: pass --access-key or set COFFER_ACCESS_KEY");
    }

    // Nobody listening.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let cli =
        Cli::try_parse_from(["coffer", "--endpoint", &url, "--access-key", AK, "--secret-key", SK, "region", "list"])
            .unwrap();
    let err = coffer_cli::run_to_string(&cli.conn, cli.cmd).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.starts_with(&format!("GET {url}/_coffer/admin/v1/regions: cannot connect to 127.0.0.1:")), "{text}");

    // https without --ca-cert.
    let cli = Cli::try_parse_from([
        "coffer",
        "--endpoint",
        "https://127.0.0.1:1",
        "--access-key",
        AK,
        "--secret-key",
        SK,
        "region",
        "list",
    ])
    .unwrap();
    let mut conn = cli.conn;
    conn.ca_cert = None;
    let err = coffer_cli::run_to_string(&conn, cli.cmd).await.unwrap_err();
    assert!(err.to_string().contains("needs --ca-cert"), "{err}");
}

#[tokio::test]
async fn https_with_ca_cert() {
    let fake = Fake::start_tls().await;
    assert!(fake.url.starts_with("https://127.0.0.1:"));
    assert_eq!(
        fake.run(&["project", "list", "-f", "value"]).await.unwrap(),
        "acme 2024-05-01T12:00:00Z\nglobex 2024-05-01T12:00:00Z\n"
    );
    assert_eq!(fake.take(), [seen("GET", "/projects", "", None)]);

    // Another CA is not trusted.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("other.pem");
    std::fs::write(&ca, other.cert.pem()).unwrap();
    let cli = Cli::try_parse_from([
        "coffer",
        "--endpoint",
        &fake.url,
        "--access-key",
        AK,
        "--secret-key",
        SK,
        "--ca-cert",
        ca.to_str().unwrap(),
        "region",
        "list",
    ])
    .unwrap();
    let err = coffer_cli::run_to_string(&cli.conn, cli.cmd).await.unwrap_err();
    assert!(format!("{err:#}").contains("TLS handshake"), "{err:#}");
    assert_eq!(fake.take(), []);

    // A file without a certificate.
    std::fs::write(&ca, "not a certificate").unwrap();
    let cli = Cli::try_parse_from([
        "coffer",
        "--endpoint",
        &fake.url,
        "--access-key",
        AK,
        "--secret-key",
        SK,
        "--ca-cert",
        ca.to_str().unwrap(),
        "region",
        "list",
    ])
    .unwrap();
    let err = coffer_cli::run_to_string(&cli.conn, cli.cmd).await.unwrap_err();
    assert!(format!("{err:#}").contains("no usable certificate"), "{err:#}");
}
