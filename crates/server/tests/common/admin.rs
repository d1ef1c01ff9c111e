//! Acting as other principals: requests signed with any key, and the admin
//! API (projects, users, keys, quotas, usage) driven as the operator.

use super::{RawResponse, TestServer, AK, REGION, SK};
use sha2::Digest;

/// An access key pair.
#[derive(Clone, Debug)]
pub struct Key {
    pub ak: String,
    pub sk: String,
}

impl Key {
    pub fn operator() -> Key {
        Key { ak: AK.into(), sk: SK.into() }
    }
}

impl TestServer {
    /// A request signed (SigV4, body hashed) with `key` for `region`; `key`
    /// `None` sends it unsigned.
    #[allow(clippy::too_many_arguments)]
    pub async fn request_as(
        &self,
        key: Option<&Key>,
        region: &str,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawResponse {
        let mut h = http::HeaderMap::new();
        h.insert("host", self.addr.to_string().parse().unwrap());
        for (k, v) in headers {
            h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        if let Some(key) = key {
            let payload = hex::encode(sha2::Sha256::digest(body));
            let now = time::OffsetDateTime::now_utc();
            coffer_s3_proto::sigv4::sign_request(method, path, query, &mut h, &payload, &key.ak, &key.sk, region, now);
        }
        let mut head = format!("{method} {path}{}{query} HTTP/1.1\r\n", if query.is_empty() { "" } else { "?" });
        for (k, v) in h.iter() {
            head.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap()));
        }
        head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        self.raw(&req).await
    }

    /// `request_as` in the default region.
    pub async fn as_key(&self, key: Option<&Key>, method: &str, path: &str, query: &str, body: &[u8]) -> RawResponse {
        self.request_as(key, REGION, method, path, query, &[], body).await
    }

    /// An admin API call as `key`; gives the status and the JSON answer (Null when empty).
    pub async fn admin_as(
        &self,
        key: &Key,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let full = format!("/_coffer/admin/v1{path}");
        let headers: &[(&str, &str)] = if text.is_empty() { &[] } else { &[("content-type", "application/json")] };
        let r = self.request_as(Some(key), REGION, method, &full, query, headers, text.as_bytes()).await;
        let json = if r.body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null)
        };
        (r.status, json)
    }

    /// An admin API call as the operator that must succeed.
    pub async fn admin(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let (status, json) = self.admin_as(&Key::operator(), method, path, body).await;
        assert!(status < 300, "{method} {path}: {status} {json}");
        json
    }

    /// Creates a key for a project user (root when `user` is None) in `region`.
    pub async fn new_key(&self, project: &str, user: Option<&str>, region: Option<&str>) -> Key {
        let mut body = serde_json::json!({});
        if let Some(u) = user {
            body["user"] = u.into();
        }
        if let Some(r) = region {
            body["region"] = r.into();
        }
        let k = self.admin("POST", &format!("/projects/{project}/keys"), Some(body)).await;
        Key { ak: k["access_key"].as_str().unwrap().into(), sk: k["secret_key"].as_str().unwrap().into() }
    }

    /// Creates a user with a preset, or with a policy document.
    pub async fn new_user(&self, project: &str, name: &str, policy: serde_json::Value) -> Key {
        self.admin("POST", &format!("/projects/{project}/users"), Some(serde_json::json!({ "name": name }))).await;
        self.admin("PUT", &format!("/projects/{project}/users/{name}/policy"), Some(policy)).await;
        self.new_key(project, Some(name), None).await
    }
}
