//! The workloads: concurrent PUT / GET loops over fixed-size objects and the
//! timed full listing, with per-request latencies and error capture.

use crate::client::{encode_component, fail_from, read_small, Conn, Endpoint, Failure};
use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shared random bytes; object `i` of a phase is `pool[offset(i)..offset(i) + size]`,
/// so each object has distinct content without copying anything.
pub struct Pool {
    pub data: Bytes,
}

/// Distinct offsets within the first 64 KiB of the pool.
const OFFSET_SPAN: usize = 64 * 1024;

impl Pool {
    pub fn new(max_object: usize) -> Pool {
        let mut v = vec![0u8; max_object + OFFSET_SPAN];
        let mut rng = Rng::new(0x00c0_ffee);
        for chunk in v.chunks_mut(8) {
            let x = rng.next().to_le_bytes();
            chunk.copy_from_slice(&x[..chunk.len()]);
        }
        Pool { data: Bytes::from(v) }
    }

    pub fn offset(i: u64) -> usize {
        (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize % OFFSET_SPAN
    }

    pub fn object(&self, i: u64, size: usize) -> Bytes {
        let off = Self::offset(i);
        self.data.slice(off..off + size)
    }
}

/// xorshift64*: cheap, deterministic, good enough to pick keys.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// When a phase ends.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// Workers start no new request after this long.
    For(Duration),
    /// Exactly this many requests in all.
    Count(u64),
}

/// What each request of a phase does.
#[derive(Clone)]
pub enum Op {
    /// PUT `/{bucket}/{prefix}/{i:08}` with `size` bytes.
    Put { bucket: String, prefix: String, size: usize },
    /// GET a random key among `keys` (indices written by an earlier PUT phase).
    Get { bucket: String, prefix: String, size: usize, keys: Arc<Vec<u64>> },
}

pub struct PhaseSpec {
    pub concurrency: usize,
    pub stop: Stop,
    pub op: Op,
    /// Compare a GET body with the expected bytes once every this many GETs (and on each worker's first).
    pub verify_every: u64,
}

/// The raw outcome of a phase.
#[derive(Default)]
pub struct Outcome {
    pub elapsed: Duration,
    /// Latency of each successful request, microseconds.
    pub latencies_us: Vec<u64>,
    pub bytes: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Indices successfully written (PUT phases).
    pub written: Vec<u64>,
    /// GET bodies compared byte for byte with what was written.
    pub verified: u64,
}

#[derive(Default)]
struct WorkerOut {
    latencies_us: Vec<u64>,
    bytes: u64,
    errors: u64,
    first_error: Option<(Instant, String)>,
    written: Vec<u64>,
    verified: u64,
}

impl WorkerOut {
    fn error(&mut self, msg: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some((Instant::now(), msg));
        }
    }
}

pub fn object_path(bucket: &str, prefix: &str, i: u64) -> String {
    format!("/{bucket}/{prefix}/{i:08}")
}

/// Runs a phase to completion.
pub async fn run(ep: Arc<Endpoint>, pool: Arc<Pool>, spec: PhaseSpec) -> Outcome {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(spec.concurrency);
    for w in 0..spec.concurrency {
        let (ep, pool, counter, op) = (ep.clone(), pool.clone(), counter.clone(), spec.op.clone());
        let (stop, verify_every) = (spec.stop, spec.verify_every.max(1));
        tasks.push(tokio::spawn(async move {
            worker(w as u64, Conn::new(ep), pool, counter, op, stop, start, verify_every).await
        }));
    }
    let mut out = Outcome::default();
    let mut first: Option<(Instant, String)> = None;
    for t in tasks {
        match t.await {
            Ok(w) => {
                out.latencies_us.extend(w.latencies_us);
                out.bytes += w.bytes;
                out.errors += w.errors;
                out.written.extend(w.written);
                out.verified += w.verified;
                if let Some((at, msg)) = w.first_error {
                    if first.as_ref().is_none_or(|(f, _)| at < *f) {
                        first = Some((at, msg));
                    }
                }
            }
            Err(e) => {
                out.errors += 1;
                first.get_or_insert((Instant::now(), format!("worker panicked: {e}")));
            }
        }
    }
    out.elapsed = start.elapsed();
    out.first_error = first.map(|(_, m)| m);
    out.written.sort_unstable();
    out
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    w: u64,
    mut conn: Conn,
    pool: Arc<Pool>,
    counter: Arc<AtomicU64>,
    op: Op,
    stop: Stop,
    start: Instant,
    verify_every: u64,
) -> WorkerOut {
    let mut out = WorkerOut::default();
    let mut rng = Rng::new(w + 1);
    let mut n = 0u64;
    loop {
        let seq = counter.fetch_add(1, Ordering::Relaxed);
        match stop {
            Stop::For(d) if start.elapsed() >= d => break,
            Stop::Count(c) if seq >= c => break,
            _ => {}
        }
        let t0 = Instant::now();
        let timeout = conn.timeout();
        let result = match &op {
            Op::Put { bucket, prefix, size } => {
                let path = object_path(bucket, prefix, seq);
                tokio::time::timeout(timeout, put(&mut conn, &path, pool.object(seq, *size))).await
            }
            Op::Get { bucket, prefix, size, keys } => {
                let i = keys.get(rng.below(keys.len() as u64) as usize).copied().unwrap_or(0);
                let path = object_path(bucket, prefix, i);
                let verify = n == 0 || rng.below(verify_every) == 0;
                let expected = pool.object(i, *size);
                tokio::time::timeout(timeout, get(&mut conn, &path, &expected, verify)).await
            }
        };
        n += 1;
        match result {
            Ok(Ok((bytes, verified))) => {
                out.latencies_us.push(t0.elapsed().as_micros() as u64);
                out.bytes += bytes;
                if verified {
                    out.verified += 1;
                }
                if matches!(op, Op::Put { .. }) {
                    out.written.push(seq);
                }
            }
            Ok(Err(f)) => {
                if f.status == 0 {
                    conn.reset();
                }
                out.error(format!("{} {f}", op_label(&op, seq)));
            }
            Err(_) => {
                conn.reset();
                out.error(format!("{} timed out after {timeout:?}", op_label(&op, seq)));
            }
        }
    }
    out
}

fn op_label(op: &Op, seq: u64) -> String {
    match op {
        Op::Put { bucket, prefix, .. } => format!("PUT {}:", object_path(bucket, prefix, seq)),
        Op::Get { bucket, prefix, .. } => format!("GET /{bucket}/{prefix}/..:"),
    }
}

/// One PUT; `(bytes sent, false)`.
pub async fn put(conn: &mut Conn, path: &str, body: Bytes) -> Result<(u64, bool), Failure> {
    let len = body.len() as u64;
    let resp = conn.send(Method::PUT, path, "", body).await?;
    if !resp.status().is_success() {
        return Err(fail_from(resp).await);
    }
    let _ = read_small(resp.into_body(), 0).await?;
    Ok((len, false))
}

/// One GET, streamed and discarded; checks Content-Length and received length,
/// and when `verify` compares every byte with `expected`. `(bytes, verified)`.
async fn get(conn: &mut Conn, path: &str, expected: &Bytes, verify: bool) -> Result<(u64, bool), Failure> {
    let resp = conn.send(Method::GET, path, "", Bytes::new()).await?;
    if !resp.status().is_success() {
        return Err(fail_from(resp).await);
    }
    let want = expected.len() as u64;
    let declared = resp.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared != Some(want) {
        conn.reset();
        return Err(Failure { status: 200, message: format!("{path}: Content-Length {declared:?}, expected {want}") });
    }
    let mut body = resp.into_body();
    let mut pos = 0usize;
    let mut mismatch = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure::transport(format!("reading {path}: {e}")))?;
        if let Ok(data) = frame.into_data() {
            let end = pos + data.len();
            if verify && !mismatch && (end > expected.len() || data[..] != expected[pos..end]) {
                mismatch = true;
            }
            pos = end;
        }
    }
    if pos as u64 != want {
        return Err(Failure { status: 200, message: format!("{path}: received {pos} bytes, expected {want}") });
    }
    if mismatch {
        return Err(Failure { status: 200, message: format!("{path}: body differs from what was written") });
    }
    Ok((want, verify))
}

/// Creates a bucket (200 or "already owned by you" both count as success).
pub async fn create_bucket(ep: Arc<Endpoint>, bucket: &str) -> Result<(), Failure> {
    let mut conn = Conn::new(ep);
    let resp = conn.send(Method::PUT, &format!("/{bucket}"), "", Bytes::new()).await?;
    if resp.status().is_success() {
        let _ = read_small(resp.into_body(), 0).await;
        return Ok(());
    }
    let f = fail_from(resp).await;
    if f.message.contains("BucketAlreadyOwnedByYou") {
        Ok(())
    } else {
        Err(f)
    }
}

/// Enables versioning on a bucket.
pub async fn enable_versioning(ep: Arc<Endpoint>, bucket: &str) -> Result<(), Failure> {
    let mut conn = Conn::new(ep);
    let doc = Bytes::from_static(b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>");
    let resp = conn.send(Method::PUT, &format!("/{bucket}"), "versioning", doc).await?;
    if resp.status().is_success() {
        let _ = read_small(resp.into_body(), 0).await;
        return Ok(());
    }
    Err(fail_from(resp).await)
}

/// Result of the listing phase.
#[derive(Default)]
pub struct ListOutcome {
    pub elapsed: Duration,
    /// Duration of each complete listing, microseconds.
    pub latencies_us: Vec<u64>,
    pub pages: u64,
    pub bytes: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Lists the whole bucket `reps` times with ListObjectsV2 (`max-keys`
/// per page, following continuation tokens), one request at a time, checking
/// that each listing returns `expect_keys` keys.
pub async fn list_full(ep: Arc<Endpoint>, bucket: &str, max_keys: u32, reps: u32, expect_keys: u64) -> ListOutcome {
    let mut conn = Conn::new(ep);
    let mut out = ListOutcome::default();
    let path = format!("/{bucket}");
    let start = Instant::now();
    for _ in 0..reps {
        let t0 = Instant::now();
        let timeout = conn.timeout();
        match tokio::time::timeout(timeout, list_once(&mut conn, &path, max_keys)).await {
            Ok(Ok((keys, pages, bytes))) => {
                out.pages += pages;
                out.bytes += bytes;
                if keys == expect_keys {
                    out.latencies_us.push(t0.elapsed().as_micros() as u64);
                } else {
                    out.errors += 1;
                    out.first_error.get_or_insert(format!("listing returned {keys} keys, expected {expect_keys}"));
                }
            }
            Ok(Err(f)) => {
                conn.reset();
                out.errors += 1;
                out.first_error.get_or_insert(format!("LIST {path}: {f}"));
            }
            Err(_) => {
                conn.reset();
                out.errors += 1;
                out.first_error.get_or_insert(format!("LIST {path}: timed out after {timeout:?}"));
            }
        }
    }
    out.elapsed = start.elapsed();
    out
}

/// One complete listing: `(keys, pages, response bytes)`.
async fn list_once(conn: &mut Conn, path: &str, max_keys: u32) -> Result<(u64, u64, u64), Failure> {
    let (mut keys, mut pages, mut bytes) = (0u64, 0u64, 0u64);
    let mut token: Option<String> = None;
    loop {
        // Parameters in canonical (sorted) order.
        let query = match &token {
            Some(t) => format!("continuation-token={}&list-type=2&max-keys={max_keys}", encode_component(t)),
            None => format!("list-type=2&max-keys={max_keys}"),
        };
        let resp = conn.send(Method::GET, path, &query, Bytes::new()).await?;
        if !resp.status().is_success() {
            return Err(fail_from(resp).await);
        }
        let body = read_small(resp.into_body(), 16 << 20).await?;
        let text = String::from_utf8_lossy(&body);
        pages += 1;
        bytes += body.len() as u64;
        keys += text.matches("<Key>").count() as u64;
        let truncated = element(&text, "IsTruncated").is_some_and(|v| v == "true");
        if !truncated {
            return Ok((keys, pages, bytes));
        }
        match element(&text, "NextContinuationToken") {
            Some(t) if !t.is_empty() => token = Some(xml_unescape(t)),
            _ => return Err(Failure { status: 200, message: "IsTruncated=true without NextContinuationToken".into() }),
        }
        if pages > 100_000 {
            return Err(Failure { status: 200, message: "listing does not end".into() });
        }
    }
}

fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(&text[start..end])
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}
