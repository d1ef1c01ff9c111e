//! Security suite, issue #11 item 15 (fuzzing, the malformed-request half):
//! thousands of random and mutated requests fired at the in-process server
//! over raw TCP. None may panic the server, none may get a 500 (any 5xx but
//! 501 `NotImplemented` and 503 `SlowDown`/busy), and none may hang: each is
//! answered, or its connection closed, within a few seconds.
//!
//! The requests come from a seeded generator (`malformed/requests.rs`, `malformed/rng.rs`): garbage
//! methods, paths with %-escapes and `..`, random query sub-resources,
//! random and oversized headers, wrong `Content-Length`, truncated and
//! garbage `aws-chunked` bodies, broken SigV4 and SigV2 `Authorization`
//! headers and presigned queries, mutated XML and JSON bodies to the bucket
//! sub-resources (correctly signed, so they reach the parsers), mutated POST
//! forms, and mutated bodies to the IAM query API (`POST /`, signed for `iam`
//! by a project root) and the admin API (`/_coffer/admin/v1/...`, signed by
//! the operator).
//!
//! The seed is printed; `COFFER_MALFORMED_SEED=<n>` replays a run and
//! `COFFER_MALFORMED_REQUESTS=<n>` changes its size (default 5000).

mod common;
#[path = "malformed/requests.rs"]
mod requests;
#[path = "malformed/rng.rs"]
mod rng;

use common::admin::Key;
use common::TestServer;
use requests::{Gen, Req};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a complete request may go unanswered before it counts as a hang.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// How long the server gets to answer or close after the client half-closes
/// a request it left incomplete on purpose.
const CLOSE_WITHIN: Duration = Duration::from_secs(10);
const BATCH: usize = 250;
const PARALLEL: usize = 8;

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// What became of one request.
enum Outcome {
    /// The status of each response read (pipelined garbage can give several).
    Answered(Vec<u16>),
    /// The server closed the connection without answering.
    Closed,
    Hung,
}

/// Every status line in `buf` that starts a response.
fn statuses(buf: &[u8]) -> Vec<u16> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = buf[at..].windows(9).position(|w| w == b"HTTP/1.1 ") {
        let start = at + i;
        if start == 0 || buf[..start].ends_with(b"\n") {
            if let Some(code) = buf.get(start + 9..start + 12).and_then(|c| std::str::from_utf8(c).ok()?.parse().ok()) {
                out.push(code);
            }
        }
        at = start + 9;
    }
    out
}

async fn fire(addr: std::net::SocketAddr, req: &Req) -> Outcome {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else { return Outcome::Closed };
    // The server may answer and close before it has read everything.
    let _ = s.write_all(&req.bytes).await;
    if req.incomplete {
        let _ = s.shutdown().await;
    }
    let limit = if req.incomplete { CLOSE_WITHIN } else { ANSWER_WITHIN };
    let mut buf = Vec::new();
    match tokio::time::timeout(limit, s.read_to_end(&mut buf)).await {
        Err(_) if buf.is_empty() => Outcome::Hung,
        // A reset after part of an answer still tells its status.
        _ if buf.is_empty() => Outcome::Closed,
        _ => Outcome::Answered(statuses(&buf)),
    }
}

async fn healthy(addr: std::net::SocketAddr) -> bool {
    let probe = Req {
        bytes: b"GET /_coffer/health/live HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec(),
        incomplete: false,
        what: "health probe",
    };
    matches!(fire(addr, &probe).await, Outcome::Answered(s) if s.first() == Some(&200))
}

/// A request fit to quote in a failure: its kind and its first bytes, escaped.
fn show(req: &Req) -> String {
    let head: Vec<u8> = req.bytes.iter().take(600).copied().collect();
    format!("[{}] {} bytes: {}", req.what, req.bytes.len(), head.escape_ascii())
}

/// Issue #11 item 15: random and malformed requests never panic the server,
/// never get a 500 and never hang it; a health probe answers after every batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_never_panic_500_or_hang_the_server() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let seed = env_u64("COFFER_MALFORMED_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let total = env_u64("COFFER_MALFORMED_REQUESTS").unwrap_or(5000) as usize;
    println!("security_malformed: seed {seed} (replay with COFFER_MALFORMED_SEED={seed}), {total} requests");

    let s = TestServer::start().await;
    // Something to address: a bucket with an object, and a project whose root
    // signs IAM calls.
    assert_eq!(s.signed("PUT", "/fuzzb", "", &[], b"").await.status, 200);
    assert_eq!(s.signed("PUT", "/fuzzb/obj", "", &[], b"hello").await.status, 200);
    s.admin("POST", "/projects", Some(serde_json::json!({"name": "fz"}))).await;
    let root: Key = s.new_key("fz", None, None).await;

    let mut gen = Gen::new(seed, s.addr.to_string(), root);
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let started = Instant::now();
    let mut sent = 0;
    while sent < total {
        // Random signed requests may delete them: something to address again.
        s.signed("PUT", "/fuzzb", "", &[], b"").await;
        s.signed("PUT", "/fuzzb/obj", "", &[], b"hello").await;
        let created = s.signed("POST", "/fuzzb/mp", "uploads", &[], b"").await.text();
        if let Some((_, rest)) = created.split_once("<UploadId>") {
            gen.upload = rest.split("</UploadId>").next().unwrap_or_default().to_owned();
        }
        let batch: Vec<Req> = (0..BATCH.min(total - sent)).map(|_| gen.request()).collect();
        sent += batch.len();
        let batch = Arc::new(batch);
        let next = Arc::new(AtomicUsize::new(0));
        let outcomes: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut workers = Vec::new();
        for _ in 0..PARALLEL {
            let (batch, next, failures, outcomes, addr) =
                (batch.clone(), next.clone(), failures.clone(), outcomes.clone(), s.addr);
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(req) = batch.get(i) else { break };
                    let t = Instant::now();
                    let label = match fire(addr, req).await {
                        Outcome::Hung => {
                            failures.lock().unwrap().push(format!("no answer after {:?}: {}", t.elapsed(), show(req)));
                            "hung".to_owned()
                        }
                        Outcome::Closed => "closed".to_owned(),
                        Outcome::Answered(codes) => {
                            if let Some(bad) = codes.iter().find(|&&c| c >= 500 && c != 501 && c != 503) {
                                failures.lock().unwrap().push(format!("status {bad}: {}", show(req)));
                            }
                            codes.first().map_or("unparsed".to_owned(), |c| c.to_string())
                        }
                    };
                    outcomes.lock().unwrap().push(format!("{}: {label}", req.what));
                }
            }));
        }
        for w in workers {
            w.await.expect("a request worker panicked");
        }
        for label in outcomes.lock().unwrap().drain(..) {
            *counts.entry(label).or_default() += 1;
        }
        assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked (seed {seed}, within requests ..{sent})");
        assert!(healthy(s.addr).await, "the health probe failed after {sent} requests (seed {seed})");
    }
    println!("security_malformed: {sent} requests in {:?}; outcomes:", started.elapsed());
    for (outcome, n) in &counts {
        println!("  {outcome}: {n}");
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "seed {seed}: {} bad outcomes:\n{}", failures.len(), failures.join("\n"));
}
