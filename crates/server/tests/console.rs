//! The web console through the real server: its own listener, sign-in over
//! the network, and the same buckets the S3 API sees. The console's rules
//! themselves are tested by its handler tests (`crates/console/tests/`).

mod common;

use common::*;
use tokio::io::AsyncWriteExt;

async fn send(addr: std::net::SocketAddr, req: &str) -> RawResponse {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    read_response(&mut s).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_listener_signs_in_and_lists_s3_buckets() {
    let srv = TestServer::start().await;
    let console = srv.console_addr.expect("console enabled");
    assert_ne!(console, srv.addr);
    srv.client().create_bucket().bucket("made-over-s3").send().await.unwrap();

    let r = send(console, "GET /signin HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.text().contains("Sign in"));

    let body = format!("kind=operator&access_key={AK}&secret_key={SK}");
    let req = format!(
        "POST /signin HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let r = send(console, &req).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let set = r.header("set-cookie").unwrap();
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag ({set})");
    let cookie = set.split(';').next().unwrap();
    let r = send(
        console,
        &format!("GET /buckets HTTP/1.1\r\nhost: localhost\r\ncookie: {cookie}\r\nconnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("made-over-s3"), "{}", r.text());
    // The S3 port is not the console.
    let r = srv.raw(b"GET /signin HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").await;
    assert_ne!(r.header("content-type"), Some("text/html; charset=utf-8"));
    srv.stop().await;
}
