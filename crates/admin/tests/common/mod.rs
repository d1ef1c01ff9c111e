//! A `ControlService` over a real SQLite store in a temporary directory,
//! with an operator key, and signed-request helpers for both APIs.

#![allow(dead_code)]

use bytes::Bytes;
use coffer_admin::{ControlService, RegionInfo};
use coffer_iam::seal::MasterKey;
use coffer_iam::Iam;
use coffer_meta_sqlite::SqliteMetaStore;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::OffsetDateTime;

/// An access key pair.
#[derive(Clone, Debug)]
pub struct Creds {
    pub ak: String,
    pub sk: String,
}

impl Creds {
    pub fn new(ak: &str, sk: &str) -> Self {
        Creds { ak: ak.into(), sk: sk.into() }
    }
}

pub struct Harness {
    pub svc: ControlService,
    pub iam: Iam,
    pub store: Arc<SqliteMetaStore>,
    pub operator: Creds,
    _dir: tempfile::TempDir,
}

/// A JSON answer.
pub struct Json {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Json {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// An XML answer.
pub struct Xml {
    pub status: u16,
    pub body: String,
}

impl Xml {
    /// The text of the first `<tag>`.
    pub fn get(&self, tag: &str) -> Option<String> {
        self.all(tag).into_iter().next()
    }

    /// The texts of every `<tag>`.
    pub fn all(&self, tag: &str) -> Vec<String> {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(i) = rest.find(&open) {
            rest = &rest[i + open.len()..];
            let Some(j) = rest.find(&close) else { break };
            out.push(rest[..j].to_owned());
            rest = &rest[j + close.len()..];
        }
        out
    }

    /// The `<Code>` of an error answer.
    pub fn code(&self) -> String {
        self.get("Code").unwrap_or_default()
    }
}

impl Harness {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteMetaStore::open(dir.path().join("meta.db")).unwrap());
        let iam = Iam::new(store.clone(), MasterKey::from_bytes(&[7u8; 32]), vec!["r1".into(), "r2".into()]);
        let operator = Creds::new("OPERATORKEY000000000", "operator-secret");
        iam.put_operator_key(&operator.ak, &operator.sk).await.unwrap();
        let regions = vec![
            RegionInfo { name: "r1".into(), hosts: vec!["s3.r1.test".into()] },
            RegionInfo { name: "r2".into(), hosts: vec!["s3.r2.test:9000".into()] },
        ];
        let svc = ControlService::new(iam.clone(), store.clone(), regions);
        Harness { svc, iam, store, operator, _dir: dir }
    }

    /// Sends a request and reads the answer.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> (u16, HeaderMap, Bytes) {
        let resp = self.svc.handle(req, Some("192.0.2.7:5000".parse().unwrap())).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, body)
    }

    /// An admin API call signed like S3 by `creds` (`None`: unsigned).
    pub async fn admin(
        &self,
        creds: Option<&Creds>,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Json {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.admin_raw(creds, method, path, body.into_bytes()).await
    }

    /// [`Harness::admin`] with a raw body.
    pub async fn admin_raw(&self, creds: Option<&Creds>, method: &str, path: &str, body: Vec<u8>) -> Json {
        let full = format!("/_coffer/admin/v1{path}");
        let (raw_path, raw_query) = full.split_once('?').unwrap_or((&full, ""));
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("admin.test"));
        if let Some(c) = creds {
            let hash = hex::encode(Sha256::digest(&body));
            coffer_s3_proto::sigv4::sign_request(
                method,
                raw_path,
                raw_query,
                &mut headers,
                &hash,
                &c.ak,
                &c.sk,
                "r1",
                OffsetDateTime::now_utc(),
            );
        }
        let mut req = Request::builder().method(method).uri(&full);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let (status, headers, bytes) = self.send(req.body(Full::new(Bytes::from(body))).unwrap()).await;
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        if status >= 400 {
            assert_eq!(headers["content-type"], "application/json");
            assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()), "no request id: {body}");
        }
        Json { status, body }
    }

    /// An IAM call signed by `creds` for the service `iam`, sent to `host`.
    pub async fn iam_at(&self, creds: &Creds, host: &str, params: &[(&str, &str)]) -> Xml {
        let mut body = String::from("Version=2010-05-08");
        for (k, v) in params {
            body.push('&');
            body.push_str(&form_encode(k));
            body.push('=');
            body.push_str(&form_encode(v));
        }
        let req = sign_iam(creds, host, body.into_bytes(), OffsetDateTime::now_utc());
        self.send_iam(req).await
    }

    /// An IAM call to the default host.
    pub async fn iam(&self, creds: &Creds, params: &[(&str, &str)]) -> Xml {
        self.iam_at(creds, "iam.test", params).await
    }

    /// Sends a prepared IAM request.
    pub async fn send_iam(&self, req: Request<Full<Bytes>>) -> Xml {
        let (status, headers, bytes) = self.send(req).await;
        assert_eq!(headers["content-type"], "text/xml");
        let body = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(body.contains("<RequestId>"), "no request id: {body}");
        Xml { status, body }
    }

    /// Creates a project (as the operator) and a key of its root user.
    pub async fn project(&self, name: &str) -> Creds {
        let r = self.admin(Some(&self.operator), "POST", "/projects", Some(serde_json::json!({"name": name}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = self.admin(Some(&self.operator), "POST", &format!("/projects/{name}/keys"), None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        Creds::new(r.body["access_key"].as_str().unwrap(), r.body["secret_key"].as_str().unwrap())
    }
}

/// Form encoding as botocore does it (RFC 3986 unreserved kept).
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// An IAM request as botocore signs it: SigV4 for `iam` in `us-east-1`,
/// signing content-type, host and x-amz-date, without x-amz-content-sha256.
pub fn sign_iam(creds: &Creds, host: &str, body: Vec<u8>, now: OffsetDateTime) -> Request<Full<Bytes>> {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let amz = now.format(&fmt).unwrap();
    let date = &amz[..8];
    let ct = "application/x-www-form-urlencoded; charset=utf-8";
    let canonical = format!(
        "POST\n/\n\ncontent-type:{ct}\nhost:{host}\nx-amz-date:{amz}\n\ncontent-type;host;x-amz-date\n{}",
        hex::encode(Sha256::digest(&body))
    );
    let scope = format!("{date}/us-east-1/iam/aws4_request");
    let sts = format!("AWS4-HMAC-SHA256\n{amz}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let key = coffer_s3_proto::sigv4::signing_key(&creds.sk, date, "us-east-1", "iam");
    let sig = hex::encode(hmac(&key, sts.as_bytes()));
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=content-type;host;x-amz-date, Signature={sig}",
        creds.ak
    );
    Request::builder()
        .method("POST")
        .uri("/")
        .header("host", host)
        .header("content-type", ct)
        .header("x-amz-date", amz)
        .header("authorization", auth)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}
