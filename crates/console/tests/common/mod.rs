//! What the console's handler tests share: a console over real stores
//! (SQLite metadata and filesystem blobs in a temp dir) with two projects
//! (`acme`, `other`) and the operator, and requests sent straight to
//! `ConsoleService::handle`.

#![allow(dead_code)]

use bytes::Bytes;
use coffer_blob::FsBlobStore;
use coffer_console::{ConsoleConfig, ConsoleService};
use coffer_engine::{BodyCheck, Engine, EngineConfig, NewBucket, PutInput};
use coffer_iam::seal::MasterKey;
use coffer_iam::{Iam, Permissions};
use coffer_meta::{ObjectMeta, WriteCondition};
use coffer_meta_sqlite::SqliteMetaStore;
use coffer_policy::Preset;
use futures::StreamExt as _;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub const OP_AK: &str = "AKOPERATOR";
pub const OP_SK: &str = "operator-secret-0123456789";
pub const ROOT_PW: &str = "acme root password";
pub const OTHER_PW: &str = "other root password";
pub const REGION: &str = "us-east-1";

pub struct Fx {
    pub svc: ConsoleService,
    pub iam: Iam,
    pub engine: Engine,
    /// The store under the engine, for setting up usage records.
    pub meta: Arc<SqliteMetaStore>,
    pub _dir: tempfile::TempDir,
}

pub async fn fixture_with(secure: bool) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let meta = Arc::new(SqliteMetaStore::open(dir.path().join("meta.db")).unwrap());
    let blobs = Arc::new(FsBlobStore::open(dir.path().join("blobs")).unwrap());
    let engine = Engine::new(meta.clone(), blobs, EngineConfig { region: REGION.into(), ..Default::default() });
    let iam = Iam::new(meta.clone(), MasterKey::from_bytes(&[9u8; 32]), vec![REGION.into()]);
    iam.put_operator_key(OP_AK, OP_SK).await.unwrap();
    for (p, pw) in [("acme", ROOT_PW), ("other", OTHER_PW)] {
        iam.create_project(p).await.unwrap();
        iam.set_password(p, "root", Some(pw)).await.unwrap();
    }
    let cfg = ConsoleConfig {
        secure_cookies: secure,
        session_ttl: Duration::from_secs(3600),
        regions: vec![REGION.into()],
        s3: coffer_console::S3Links { scheme: "http".into(), port: 9000, ..Default::default() },
    };
    let svc = ConsoleService::new(iam.clone(), engine.clone(), cfg);
    Fx { svc, iam, engine, meta, _dir: dir }
}

pub async fn fixture() -> Fx {
    fixture_with(true).await
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    /// The session cookie's `name=value` from Set-Cookie.
    pub fn cookie(&self) -> String {
        let c = self.header("set-cookie");
        assert!(c.starts_with("coffer_session="), "no session cookie: {c:?} (status {})", self.status);
        c.split(';').next().unwrap().to_owned()
    }

    /// The CSRF token in the page's forms.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

pub const PEER: &str = "192.0.2.10:50000";

impl Fx {
    pub async fn send_from(
        &self,
        peer: &str,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path).header("host", "console.test");
        if let Some(c) = cookie {
            b = b.header("cookie", c);
        }
        if body.is_some() {
            b = b.header("content-type", "application/x-www-form-urlencoded");
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(Bytes::from(body.unwrap_or_default()))).unwrap();
        let peer: SocketAddr = peer.parse().unwrap();
        let resp = self.svc.handle(req, Some(peer)).await;
        let (parts, body) = resp.into_parts();
        let body = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
        Resp { status: parts.status, headers: parts.headers, body }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        self.send_from(PEER, Method::GET, path, cookie, None, &[]).await
    }

    pub async fn post(&self, path: &str, cookie: Option<&str>, pairs: &[(&str, &str)]) -> Resp {
        self.send_from(PEER, Method::POST, path, cookie, Some(form(pairs)), &[]).await
    }

    pub async fn sign_in_user(&self, project: &str, user: &str, password: &str) -> Resp {
        self.post("/signin", None, &[("kind", "user"), ("project", project), ("user", user), ("password", password)])
            .await
    }

    /// Signs in and returns (cookie, csrf token).
    pub async fn session(&self, project: &str, user: &str, password: &str) -> (String, String) {
        let r = self.sign_in_user(project, user, password).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let cookie = r.cookie();
        let page = self.get("/buckets", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        (cookie, page.csrf())
    }

    pub async fn operator_session(&self) -> (String, String) {
        let r = self.post("/signin", None, &[("kind", "operator"), ("access_key", OP_AK), ("secret_key", OP_SK)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let cookie = r.cookie();
        let page = self.get("/buckets", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        (cookie, page.csrf())
    }

    pub async fn bucket(&self, name: &str, project: &str) {
        self.engine
            .create_bucket(NewBucket {
                name,
                location: None,
                region: REGION,
                project,
                ownership: None,
                object_lock: false,
            })
            .await
            .unwrap();
    }

    pub async fn put(&self, bucket: &str, key: &str, data: &'static [u8]) {
        let body = futures::stream::iter([Ok(Bytes::from_static(data))]).boxed();
        let input = PutInput {
            bucket: bucket.into(),
            key: key.into(),
            len: Some(data.len() as u64),
            body,
            check: BodyCheck::default(),
            meta: ObjectMeta::default(),
            condition: WriteCondition::None,
            stamp: None,
        };
        self.engine.put_object(input).await.unwrap();
    }

    pub async fn user_with_password(&self, project: &str, user: &str, preset: Option<Preset>) {
        self.iam.create_user(project, user).await.unwrap();
        if let Some(p) = preset {
            self.iam.set_permissions(project, user, &Permissions::Preset(p)).await.unwrap();
        }
        self.iam.set_password(project, user, Some("a long enough password")).await.unwrap();
    }
}
