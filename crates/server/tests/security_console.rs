//! Security regression tests for the web console (issue #11, items 5 and 7),
//! through the real listener: sign-in floods are throttled per client address
//! in the metadata store (so every gateway counts together), password work is
//! bounded and kept off the threads S3 uses, and sign-out ends the session on
//! the server, on every gateway.
//!
//! The tests of this file run one at a time (`SERIAL`): one of them measures
//! the process's memory during a flood.

mod common;

use common::*;
use serde_json::json;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PW: &str = "correct horse 42";
const USER_FORM: &str = "kind=user&project=acme&user=root&password=correct+horse+42";

async fn send(addr: SocketAddr, head: &str, body: &[u8]) -> RawResponse {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = head.as_bytes().to_vec();
    req.extend_from_slice(body);
    s.write_all(&req).await.unwrap();
    read_response(&mut s).await
}

/// A console POST of a form, with a cookie if given.
async fn post(addr: SocketAddr, path: &str, cookie: Option<&str>, form: &str) -> RawResponse {
    let cookie = cookie.map(|c| format!("cookie: {c}\r\n")).unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\n{cookie}content-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        form.len()
    );
    send(addr, &head, form.as_bytes()).await
}

async fn get(addr: SocketAddr, path: &str, cookie: &str) -> RawResponse {
    let head = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\ncookie: {cookie}\r\nconnection: close\r\n\r\n");
    send(addr, &head, b"").await
}

/// Signs in with `form`; the session cookie and the page's CSRF token.
async fn sign_in(addr: SocketAddr, form: &str) -> (String, String) {
    let r = post(addr, "/signin", None, form).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let page = get(addr, "/buckets", &cookie).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let t = page.text();
    let at = t.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    (cookie, t[at..at + t[at..].find('"').unwrap()].to_owned())
}

/// A server with project `acme` whose root user has the console password [`PW`].
async fn server() -> TestServer {
    set_up(TestServer::start().await).await
}

async fn set_up(srv: TestServer) -> TestServer {
    srv.admin("POST", "/projects", Some(json!({"name": "acme"}))).await;
    srv.admin("PUT", "/projects/acme/users/root/password", Some(json!({"password": PW}))).await;
    srv
}

/// Two gateways on one data directory (and so the same metadata), which
/// both take it shared.
async fn two_gateways() -> (TestServer, TestServer) {
    let a =
        set_up(TestServer::start_configured(tempfile::tempdir().unwrap(), |c| c.shared_data_dir = true).await).await;
    let data = a.dir.path().join("data");
    let b = TestServer::start_configured(tempfile::tempdir().unwrap(), move |cfg| {
        cfg.data_dir = data;
        cfg.shared_data_dir = true;
    })
    .await;
    (a, b)
}

/// This process's resident memory, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Item 5: a flood of sign-ins under ever new account names from one address
/// is refused (429, without hashing) once the address has
/// `MAX_ADDRESS_FAILURES` failures, even for a right password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_flood_with_distinct_account_names_is_refused_per_address() {
    let _serial = SERIAL.lock().await;
    let srv = server().await;
    let console = srv.console_addr.unwrap();
    for i in 0..coffer_console::MAX_ADDRESS_FAILURES {
        let r = post(console, "/signin", None, &format!("kind=user&project=acme&user=u{i}&password=guess{i}")).await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text());
    }
    let jobs = srv.running().password_stats().jobs;
    for i in 0..20 {
        let r = post(console, "/signin", None, &format!("kind=user&project=acme&user=v{i}&password=guess")).await;
        assert_eq!(r.status, 429, "attempt {i} past the address's limit");
        let wait: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!((1..=15 * 60).contains(&wait), "{wait}");
        assert!(r.text().contains("from your address"), "{}", r.text());
    }
    // The right password from that address waits too; the operator's form as well.
    assert_eq!(post(console, "/signin", None, USER_FORM).await.status, 429);
    let op = format!("kind=operator&access_key={AK}&secret_key={SK}");
    assert_eq!(post(console, "/signin", None, &op).await.status, 429);
    assert_eq!(srv.running().password_stats().jobs, jobs, "refusals hash nothing");
    srv.stop().await;
}

/// Item 5: the throttle lives in the metadata store, so two gateways on one
/// database count failures together: 5 on one gateway refuse the 6th
/// attempt on the other, right password or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_throttle_holds_across_two_gateways() {
    let _serial = SERIAL.lock().await;
    let (a, b) = two_gateways().await;
    let (ca, cb) = (a.console_addr.unwrap(), b.console_addr.unwrap());
    for i in 0..coffer_console::MAX_FAILURES {
        let gw = if i % 2 == 0 { ca } else { cb };
        let r = post(gw, "/signin", None, "kind=user&project=acme&user=root&password=wrong+guess").await;
        assert_eq!(r.status, 401, "attempt {i}");
    }
    for gw in [ca, cb] {
        let r = post(gw, "/signin", None, USER_FORM).await;
        assert_eq!(r.status, 429, "{}", r.text());
        assert!(r.text().contains("for this account"), "{}", r.text());
    }
    b.stop().await;
    a.stop().await;
}

/// Item 5: simultaneous sign-ins are refused without hashing when the
/// password worker has no free slot (503 with Retry-After) or the same
/// account's password is already being checked from the address (429); one
/// verification per successful sign-in, never more than the bound at once.
/// (That the worker's bound holds with many distinct accounts is
/// `coffer-iam`'s `hasher` test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_signins_beyond_the_password_slots_are_refused_without_hashing() {
    let _serial = SERIAL.lock().await;
    let srv = server().await;
    let console = srv.console_addr.unwrap();
    let before = srv.running().password_stats();
    let tasks: Vec<_> = (0..48).map(|_| tokio::spawn(post(console, "/signin", None, USER_FORM))).collect();
    let (mut ok, mut busy, mut held) = (0u64, 0u64, 0u64);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            303 => ok += 1,
            503 => {
                busy += 1;
                assert!(r.header("retry-after").is_some(), "503 without Retry-After");
            }
            // The same account's password is being checked (one at a time
            // per address and account): refused before hashing too.
            429 => {
                held += 1;
                assert!(r.header("retry-after").is_some(), "429 without Retry-After");
                assert!(r.text().contains("being checked"), "{}", r.text());
            }
            s => panic!("unexpected status {s}: {}", r.text()),
        }
    }
    assert_eq!(ok + busy + held, 48);
    let after = srv.running().password_stats();
    assert!(ok >= 1, "some sign-ins get through");
    assert!(after.peak <= after.limit && after.limit <= 4, "{after:?}");
    assert_eq!(after.jobs - before.jobs, ok, "one verification per successful sign-in, none for refusals");
    assert_eq!(after.refused - before.refused, busy, "every 503 is a refusal by the password worker");
    srv.stop().await;
}

/// Item 5: during a flood of sign-ins (right password, so no throttle), the
/// process's memory stays bounded (a few Argon2id jobs at a time, not one
/// per request: 128 at once took 2.4 GB) and S3 keeps answering GETs and
/// listings (a generous bound: each within 5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_flood_keeps_memory_bounded_and_s3_answering() {
    let _serial = SERIAL.lock().await;
    let srv = server().await;
    let console = srv.console_addr.unwrap();
    let s3 = srv.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let body = pattern(100_000, 7);
    s3.put_object().bucket("data").key("k").body(body.clone().into()).send().await.unwrap();

    let baseline = rss();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                peak = peak.max(rss());
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    };
    let flood: Vec<_> = (0..128).map(|_| tokio::spawn(post(console, "/signin", None, USER_FORM))).collect();
    let mut slowest = Duration::ZERO;
    let mut gets = 0;
    let flood_done = || flood.iter().all(|t| t.is_finished());
    while !flood_done() || gets < 5 {
        let t = Instant::now();
        let got = tokio::time::timeout(Duration::from_secs(5), s3.get_object().bucket("data").key("k").send())
            .await
            .expect("a GET took more than 5 s during the sign-in flood")
            .unwrap();
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), &body[..]);
        let listed = tokio::time::timeout(Duration::from_secs(5), s3.list_objects_v2().bucket("data").send())
            .await
            .expect("a listing took more than 5 s during the sign-in flood")
            .unwrap();
        assert_eq!(listed.key_count(), Some(1));
        slowest = slowest.max(t.elapsed());
        gets += 1;
    }
    for t in flood {
        let s = t.await.unwrap().status;
        assert!(s == 303 || s == 503 || s == 429, "status {s}");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let peak = sampler.join().unwrap();
    let grown = peak.saturating_sub(baseline);
    eprintln!("sign-in flood: {gets} GET+LIST rounds, slowest {slowest:?}, RSS grew {} MiB", grown >> 20);
    assert!(grown < 256 << 20, "RSS grew by {} MiB during the flood", grown >> 20);
    let stats = srv.running().password_stats();
    assert!(stats.peak <= stats.limit, "{stats:?}");
    srv.stop().await;
}

/// Item 7: after sign-out, the old cookie of a project user no longer opens
/// a session, on this gateway or another; sign-out ends the user's other
/// sessions too ("sign out everywhere"), and signing in again works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_user_cookie_is_refused_on_every_gateway() {
    let _serial = SERIAL.lock().await;
    let (a, b) = two_gateways().await;
    let (ca, cb) = (a.console_addr.unwrap(), b.console_addr.unwrap());
    let (cookie, csrf) = sign_in(ca, USER_FORM).await;
    let (other_cookie, _) = sign_in(cb, USER_FORM).await;
    assert_eq!(get(cb, "/buckets", &cookie).await.status, 200, "a session opens on every gateway");
    let r = post(ca, "/signout", Some(&cookie), &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    for (gw, c) in [(ca, &cookie), (cb, &cookie), (ca, &other_cookie), (cb, &other_cookie)] {
        let r = get(gw, "/buckets", c).await;
        assert_eq!((r.status, r.header("location")), (303, Some("/signin")), "replayed cookie on {gw}");
        let r = post(gw, "/buckets", Some(c), &format!("csrf={csrf}&name=after-signout")).await;
        assert_eq!(r.status, 403, "a state change with the replayed cookie");
    }
    assert!(srv_has_no_bucket(&a, "after-signout").await);
    let (again, _) = sign_in(cb, USER_FORM).await;
    assert_eq!(get(ca, "/buckets", &again).await.status, 200, "a new sign-in works");
    b.stop().await;
    a.stop().await;
}

async fn srv_has_no_bucket(srv: &TestServer, name: &str) -> bool {
    srv.client().head_bucket().bucket(name).send().await.is_err()
}

/// Item 7: the same for the operator (who has no user row).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_operator_cookie_is_refused() {
    let _serial = SERIAL.lock().await;
    let srv = server().await;
    let console = srv.console_addr.unwrap();
    let op = format!("kind=operator&access_key={AK}&secret_key={SK}");
    let (cookie, csrf) = sign_in(console, &op).await;
    assert_eq!(get(console, "/projects", &cookie).await.status, 200);
    assert_eq!(post(console, "/signout", Some(&cookie), &format!("csrf={csrf}")).await.status, 303);
    let r = get(console, "/projects", &cookie).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/signin")));
    let r = post(console, "/projects", Some(&cookie), &format!("csrf={csrf}&name=after-signout")).await;
    assert_eq!(r.status, 403);
    let (again, _) = sign_in(console, &op).await;
    assert_eq!(get(console, "/projects", &again).await.status, 200);
    assert!(!get(console, "/projects", &again).await.text().contains("after-signout"));
    srv.stop().await;
}
