//! HTTPS: a real TLS handshake against a generated certificate, plain HTTP
//! refused on the TLS port, the certificate reloaded without restart, and the
//! HTTPS-only guard.

mod common;

use coffer::tls::{generate_self_signed, TlsFiles};
use coffer::{RootCredential, ServerConfig};
use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config(dir: &std::path::Path, tls: Option<TlsFiles>) -> ServerConfig {
    ServerConfig {
        shutdown_grace: std::time::Duration::from_secs(30),
        audit_log: None,
        audit_all: false,
        metrics_listen: None,
        metrics_token: None,
        metrics_project_labels: false,
        lifecycle_day: std::time::Duration::from_secs(86_400),
        lifecycle_every: std::time::Duration::from_secs(3600),
        data_dir: dir.join("data"),
        listen: "127.0.0.1:0".parse().unwrap(),
        region: REGION.into(),
        root: Some(RootCredential { access_key: AK.into(), secret_key: SK.into() }),
        gc_grace: Duration::ZERO,
        default_ownership: coffer_engine::ObjectOwnership::BucketOwnerEnforced,
        domains: vec![],
        tls,
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
    }
}

/// Connects with TLS trusting `ca`, sends a signed ListBuckets, returns the
/// status and the server's certificate.
async fn tls_list_buckets(addr: std::net::SocketAddr, ca: &std::path::Path) -> Option<(u16, CertificateDer<'static>)> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .ok()?;
    let peer = tls.get_ref().1.peer_certificates().unwrap()[0].clone().into_owned();
    let mut h = http::HeaderMap::new();
    h.insert("host", format!("localhost:{}", addr.port()).parse().unwrap());
    coffer_s3_proto::sigv4::sign_request(
        "GET",
        "/",
        "",
        &mut h,
        "UNSIGNED-PAYLOAD",
        AK,
        SK,
        REGION,
        time::OffsetDateTime::now_utc(),
    );
    let mut req = String::from("GET / HTTP/1.1\r\n");
    for (k, v) in h.iter() {
        req.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    req.push_str("connection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tls.read_to_end(&mut buf).await;
    Some((parse_response(&buf).status, peer))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_and_reloads_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let files = generate_self_signed(&dir.path().join("tls"), &[]).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&files.key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "private key readable by its owner only");
    let running = coffer::start(config(dir.path(), Some(files.clone()))).await.unwrap();
    let (status, first) = tls_list_buckets(running.addr, &files.cert).await.expect("TLS handshake");
    assert_eq!(status, 200);
    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    plain.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!buf.starts_with(b"HTTP/1.1"), "plain HTTP must not be served on the HTTPS port");
    // Replace the certificate files: new handshakes get the new certificate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = generate_self_signed(&dir.path().join("tls"), &[]).unwrap();
    let mut reloaded = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        // Until the reload, the old certificate fails verification against the new one.
        if let Some((status, cert)) = tls_list_buckets(running.addr, &again.cert).await {
            assert_ne!(cert, first);
            reloaded = Some(status);
            break;
        }
    }
    assert_eq!(reloaded, Some(200), "certificate reloaded without restart");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_only_and_bad_certificates_refuse_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), None);
    cfg.https_only = true;
    assert!(coffer::start(cfg).await.is_err(), "--https-only without a certificate");
    let bad = TlsFiles { cert: dir.path().join("missing.pem"), key: dir.path().join("missing.key") };
    assert!(coffer::start(config(dir.path(), Some(bad))).await.is_err(), "a missing certificate is an error");
}

/// Sends one raw HTTP/1.1 request over TLS (trusting `ca`), reads to the end.
async fn tls_raw(addr: std::net::SocketAddr, ca: &std::path::Path, req: &str) -> Option<RawResponse> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .ok()?;
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), tls.read_to_end(&mut buf)).await;
    Some(parse_response(&buf))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_speaks_https_with_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let files = generate_self_signed(&dir.path().join("tls"), &[]).unwrap();
    let running = coffer::start(config(dir.path(), Some(files.clone()))).await.unwrap();
    let console = running.console_addr.expect("console enabled");
    assert_ne!(console, running.addr);
    let r = tls_raw(console, &files.cert, "GET /signin HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .expect("TLS handshake on the console port");
    assert_eq!(r.status, 200);
    assert!(r.header("content-security-policy").unwrap().contains("'nonce-"));
    let body = format!("kind=operator&access_key={AK}&secret_key={SK}");
    let req = format!(
        "POST /signin HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let r = tls_raw(console, &files.cert, &req).await.unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "{cookie}");
    // No plain HTTP on the console's HTTPS port.
    let mut plain = tokio::net::TcpStream::connect(console).await.unwrap();
    plain.write_all(b"GET /signin HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!buf.starts_with(b"HTTP/1.1"));
    running.shutdown().await;
}
