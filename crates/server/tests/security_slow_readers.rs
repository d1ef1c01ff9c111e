//! Issue #11, item 4, the response side: a client that sends a request and
//! then never reads the answer (a tiny receive window, no reads) held its
//! connection, and its slot under the connection limit, forever: hyper has
//! no write timeout, and while a write is stuck it reads no next request.
//! A few thousand such anonymous sockets filled `--max-connections` and
//! every S3 client got `503 SlowDown` while the health probes stayed green.
//! Now a response that the client does not read within the idle time (or
//! reads slower than the minimum rate) ends its connection.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const BIG: usize = 16 * 1024 * 1024;

/// Connects with a tiny receive buffer, asks for `path` and never reads.
async fn stalled_reader(addr: std::net::SocketAddr, path: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let mut c = socket.connect(addr).await.unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n").as_bytes()).await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_stop_reading_lose_their_connections_after_the_idle_time() {
    const LIMIT: usize = 4;
    let s = TestServer::start_configured(tempfile::tempdir().unwrap(), |c| {
        c.max_connections = LIMIT;
        c.idle_timeout = Duration::from_secs(2);
    })
    .await;
    let acls_on = [("x-amz-object-ownership", "BucketOwnerPreferred")];
    assert_eq!(s.signed("PUT", "/pub", "", &acls_on, b"").await.status, 200);
    let big = vec![b'x'; BIG];
    assert_eq!(s.signed("PUT", "/pub/big", "", &[("x-amz-acl", "public-read")], &big).await.status, 200);

    // Anonymous readers that never read take every slot.
    let mut stalled = Vec::new();
    for _ in 0..LIMIT {
        stalled.push(stalled_reader(s.addr, "/pub/big").await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = s.signed("GET", "/", "", &[], b"").await;
    assert_eq!((r.status, r.code().as_deref()), (503, Some("SlowDown")), "the slots are taken: {}", r.text());

    // After the idle time their writes fail and the slots are free again.
    let started = Instant::now();
    loop {
        let r = s.signed("GET", "/", "", &[], b"").await;
        if r.status == 200 {
            break;
        }
        assert_eq!(r.code().as_deref(), Some("SlowDown"), "{}", r.text());
        assert!(started.elapsed() < Duration::from_secs(20), "the stalled readers kept their slots");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each stalled connection was closed by the server mid-answer: what is
    // left to read ends well before the object does.
    for mut c in stalled {
        let mut got = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        let read_all = async {
            loop {
                match c.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read_all).await.expect("the server closed the connection");
        assert!(got < BIG, "the whole answer was sent ({got} bytes)");
    }
    // A reader that keeps reading gets the whole object on the freed slots.
    let r = s.signed("GET", "/pub/big", "", &[], b"").await;
    assert_eq!((r.status, r.body.len()), (200, BIG));
}
