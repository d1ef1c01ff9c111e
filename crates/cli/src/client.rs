//! The HTTP side: one SigV4-signed JSON request per call over a fresh
//! HTTP/1.1 connection (plain, or TLS trusting only `--ca-cert`).

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use coffer_s3_proto::sigv4::sign_request;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::Connection;

/// Where the admin API lives on the server.
pub const BASE_PATH: &str = "/_coffer/admin/v1";
/// The region of the signature's credential scope.
const SIGNING_REGION: &str = "us-east-1";
/// The longest a whole request (connect, TLS, answer) may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read.
const MAX_BODY: usize = 64 << 20;

/// Everything but the unreserved characters of RFC 3986 is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// One path segment or query value, percent-encoded (`.` and `..` too, so
/// that no name can climb the path).
pub fn encode(s: &str) -> String {
    if s == "." || s == ".." {
        return s.replace('.', "%2E");
    }
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// `k=v&k=v` for the pairs whose value is given, encoded.
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    pairs.iter().filter_map(|(k, v)| v.map(|v| format!("{}={}", encode(k), encode(v)))).collect::<Vec<_>>().join("&")
}

/// The endpoint, split into what the connection and the `Host` header need.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    https: bool,
    /// For connecting and for TLS: a DNS name or an IP (without brackets).
    host: String,
    port: u16,
    /// The `Host` header: the authority as written.
    authority: String,
}

fn parse_endpoint(s: &str) -> anyhow::Result<Endpoint> {
    let bad = |why: &str| anyhow!("invalid endpoint '{s}': {why} (expected e.g. http://127.0.0.1:9000)");
    let uri: Uri = s.trim().parse().map_err(|e| bad(&format!("{e}")))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(other) => return Err(bad(&format!("scheme '{other}' is neither http nor https"))),
        None => return Err(bad("no scheme")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("user information is not allowed"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad("a path or query is not allowed"));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok(Endpoint { https, host, port, authority: authority.as_str().to_owned() })
}

/// TLS client settings that trust exactly the certificates in `ca_cert`.
fn tls_config(ca_cert: &Path) -> anyhow::Result<rustls::ClientConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca_cert)
        .with_context(|| format!("reading CA certificate {}", ca_cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing CA certificate {}", ca_cert.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        bail!("no usable certificate in {}", ca_cert.display());
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS settings")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A client of the admin API for one [`Connection`].
pub struct Client {
    endpoint: Endpoint,
    /// The endpoint as the operator wrote it, for messages.
    shown: String,
    access_key: String,
    secret_key: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Client {
    pub fn new(conn: &Connection) -> anyhow::Result<Client> {
        if conn.access_key.is_empty() {
            bail!("no access key: pass --access-key or set COFFER_ACCESS_KEY");
        }
        if conn.secret_key.is_empty() {
            bail!("no secret key: pass --secret-key or set COFFER_SECRET_KEY");
        }
        let endpoint = parse_endpoint(&conn.endpoint)?;
        let tls = if endpoint.https {
            let ca = conn.ca_cert.as_deref().ok_or_else(|| {
                anyhow!(
                    "the https endpoint {} needs --ca-cert (or COFFER_CA_CERT): the client trusts only that \
                     certificate, not the system's roots (for a public CA, pass the system bundle, e.g. \
                     /etc/ssl/certs/ca-certificates.crt)",
                    conn.endpoint
                )
            })?;
            let name = ServerName::try_from(endpoint.host.clone())
                .map_err(|e| anyhow!("invalid endpoint '{}': {e}", conn.endpoint))?;
            Some((TlsConnector::from(Arc::new(tls_config(ca)?)), name))
        } else {
            None
        };
        Ok(Client {
            endpoint,
            shown: conn.endpoint.trim().trim_end_matches('/').to_owned(),
            access_key: conn.access_key.clone(),
            secret_key: conn.secret_key.clone(),
            tls,
        })
    }

    /// Sends `method BASE_PATH+path?query` with `body` as JSON; gives the
    /// answer's JSON (`None` for an empty body, e.g. 204), or the API's error
    /// as `code: message`. `path` and `query` must be encoded already.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Option<Value>> {
        let raw_path = format!("{BASE_PATH}{path}");
        let what = || format!("{method} {}{raw_path}", self.shown);
        let body = match body {
            Some(v) => Bytes::from(serde_json::to_vec(v)?),
            None => Bytes::new(),
        };
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_str(&self.endpoint.authority).context("endpoint host")?);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("coffer-cli/", env!("CARGO_PKG_VERSION"))));
        if !body.is_empty() || method == Method::POST || method == Method::PUT || method == Method::PATCH {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let payload_hash = hex::encode(Sha256::digest(&body));
        sign_request(
            method.as_str(),
            &raw_path,
            query,
            &mut headers,
            &payload_hash,
            &self.access_key,
            &self.secret_key,
            SIGNING_REGION,
            OffsetDateTime::now_utc(),
        );
        let uri = if query.is_empty() { raw_path.clone() } else { format!("{raw_path}?{query}") };
        let mut req = Request::builder().method(method.clone()).uri(uri).body(Full::new(body))?;
        *req.headers_mut() = headers;

        let (status, answer) = tokio::time::timeout(TIMEOUT, self.exchange(req))
            .await
            .map_err(|_| anyhow!("{}: no answer within {} s", what(), TIMEOUT.as_secs()))?
            .with_context(what)?;
        if !status.is_success() {
            return Err(api_error(status, &answer));
        }
        if answer.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&answer)
            .map(Some)
            .with_context(|| format!("{}: the answer is not JSON: {}", what(), snippet(&answer)))
    }

    async fn exchange(&self, req: Request<Full<Bytes>>) -> anyhow::Result<(StatusCode, Bytes)> {
        let ep = &self.endpoint;
        let tcp = TcpStream::connect((ep.host.as_str(), ep.port))
            .await
            .with_context(|| format!("cannot connect to {}:{}", ep.host, ep.port))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => send(tcp, req).await,
            Some((connector, name)) => {
                let tls = connector.connect(name.clone(), tcp).await.context("TLS handshake")?;
                send(tls, req).await
            }
        }
    }
}

/// One request on a new HTTP/1.1 connection over `io`.
async fn send<IO>(io: IO, req: Request<Full<Bytes>>) -> anyhow::Result<(StatusCode, Bytes)>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.context("HTTP handshake")?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.context("sending the request")?;
    let status = resp.status();
    let body = Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| anyhow!("reading the answer: {e}"))?
        .to_bytes();
    drop(sender);
    driver.abort();
    Ok((status, body))
}

/// The start of a body, for messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}

/// The text between `<tag>` and `</tag>`.
fn xml_element<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = body[start..].find(&format!("</{tag}>"))?;
    Some(&body[start..start + len])
}

/// `code: message` from the API's error document (or an S3 XML error from
/// the layer in front of it); otherwise the status and the body's start.
fn api_error(status: StatusCode, body: &[u8]) -> anyhow::Error {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let code = v.pointer("/error/code").and_then(Value::as_str);
        let message = v.pointer("/error/message").and_then(Value::as_str);
        match (code, message) {
            (Some(c), Some(m)) => return anyhow!("{c}: {m}"),
            (Some(c), None) => return anyhow!("{c} (HTTP {status})"),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(body);
    if let Some(code) = xml_element(&text, "Code") {
        return match xml_element(&text, "Message") {
            Some(m) => anyhow!("{code}: {m}"),
            None => anyhow!("{code} (HTTP {status})"),
        };
    }
    let snippet = snippet(body);
    if snippet.is_empty() {
        anyhow!("HTTP {status}")
    } else {
        anyhow!("HTTP {status}: {snippet}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(encode("acme"), "acme");
        assert_eq!(encode("a b/c?d&e=f%"), "a%20b%2Fc%3Fd%26e%3Df%25");
        assert_eq!(encode("A-z_0.9~"), "A-z_0.9~");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(encode(".."), "%2E%2E");
        assert_eq!(encode("."), "%2E");
        assert_eq!(
            query(&[("user", Some("a b")), ("from", None), ("to", Some("2024-05-01T00:00:00Z"))]),
            "user=a%20b&to=2024-05-01T00%3A00%3A00Z"
        );
        assert_eq!(query(&[("user", None)]), "");
    }

    #[test]
    fn endpoints() {
        let ep = |https, host: &str, port, authority: &str| Endpoint {
            https,
            host: host.into(),
            port,
            authority: authority.into(),
        };
        assert_eq!(parse_endpoint("http://127.0.0.1:9000").unwrap(), ep(false, "127.0.0.1", 9000, "127.0.0.1:9000"));
        assert_eq!(parse_endpoint("http://127.0.0.1:9000/").unwrap(), ep(false, "127.0.0.1", 9000, "127.0.0.1:9000"));
        assert_eq!(
            parse_endpoint("https://s3.example.com").unwrap(),
            ep(true, "s3.example.com", 443, "s3.example.com")
        );
        assert_eq!(parse_endpoint("http://example.com").unwrap(), ep(false, "example.com", 80, "example.com"));
        assert_eq!(parse_endpoint("http://[::1]:9000").unwrap(), ep(false, "::1", 9000, "[::1]:9000"));
        for bad in ["127.0.0.1:9000", "ftp://x", "http://x/admin", "http://x/?a=b", "http://u:p@x", "", "http://"] {
            assert!(parse_endpoint(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn errors() {
        let e = api_error(
            StatusCode::NOT_FOUND,
            br#"{"error":{"code":"NoSuchProject","message":"The project does not exist."},"request_id":"r1"}"#,
        );
        assert_eq!(e.to_string(), "NoSuchProject: The project does not exist.");
        let e = api_error(
            StatusCode::FORBIDDEN,
            b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        );
        assert_eq!(e.to_string(), "AccessDenied: Access Denied");
        assert_eq!(api_error(StatusCode::BAD_GATEWAY, b"").to_string(), "HTTP 502 Bad Gateway");
        assert_eq!(
            api_error(StatusCode::BAD_GATEWAY, b" upstream down\n").to_string(),
            "HTTP 502 Bad Gateway: upstream down"
        );
    }
}
