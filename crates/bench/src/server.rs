//! The server under test: a real `coffer server` child process, its readiness
//! probe, and the sampling of its memory (VmRSS / VmHWM) and CPU time from
//! `/proc/<pid>`.

use anyhow::{bail, Context as _};
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running `coffer server`; killed when dropped.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    /// The web console's address.
    pub console: SocketAddr,
    pub log_path: PathBuf,
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("binding a probe port")?;
    Ok(l.local_addr()?.port())
}

impl Server {
    /// Starts the server and waits until `/_coffer/health/ready` answers 200.
    /// `extra` is appended to the server's arguments (e.g. `--meta
    /// postgres://…`); the server inherits this process's environment.
    pub fn start(
        bin: &Path,
        data_dir: &Path,
        log_path: &Path,
        region: &str,
        access: &str,
        secret: &str,
        extra: &[String],
    ) -> anyhow::Result<Server> {
        if !bin.is_file() {
            bail!("coffer binary not found at {} (build it with cargo build --release -p coffer)", bin.display());
        }
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let console: SocketAddr = ([127, 0, 0, 1], free_port()?).into();
        let log = File::create(log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let child = Command::new(bin)
            .arg("server")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--region")
            .arg(region)
            .arg("--console-listen")
            .arg(console.to_string())
            .args(extra)
            .env("COFFER_ROOT_ACCESS_KEY", access)
            .env("COFFER_ROOT_SECRET_KEY", secret)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        let mut server = Server { child, pid, addr, console, log_path: log_path.to_owned() };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("coffer server exited during start-up ({status}); log:\n{}", server.log_tail(40));
            }
            if probe_ready(addr) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("coffer server not ready after 30 s; log:\n{}", server.log_tail(40));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `Some(description)` if the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(&mut self, grace: Duration) -> String {
        if let Some(s) = self.exited() {
            return format!("had already exited: {s}");
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return format!("stopped by SIGTERM ({s})");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        format!("did not exit within {grace:?} of SIGTERM; killed")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A blocking, unsigned `GET /_coffer/health/ready`; true on a 200.
fn probe_ready(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /_coffer/health/ready HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    buf.starts_with(b"HTTP/1.1 200")
}

/// `(VmRSS, VmHWM)` of a process, in KiB.
pub fn read_mem_kib(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// User + system CPU seconds consumed so far by a process (`"self"` or a pid).
pub fn cpu_seconds(pid: &str, clk_tck: f64) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command name start at field 3 (state); utime is 14, stime 15.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / clk_tck)
}

/// Busy CPU seconds of the whole machine so far (all CPUs; idle and iowait excluded), from `/proc/stat`.
pub fn machine_busy_seconds(clk_tck: f64) -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal [guest guest_nice, already in user/nice]
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).unwrap_or(&0.0);
    Some((total - idle) / clk_tck)
}

/// Clock ticks per second for `/proc/<pid>/stat` (asked of `getconf`; 100 if that fails).
pub fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(100.0)
}

/// Samples a process's VmRSS every few milliseconds on its own thread and
/// keeps the maximum since the last [`RssSampler::reset`].
pub struct RssSampler {
    pid: u32,
    max_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Memory of the server over one phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemPeak {
    /// Largest VmRSS seen by the sampler.
    pub sampled_kib: u64,
    /// VmHWM at the end of the phase (reset at its start when the kernel allows).
    pub hwm_kib: u64,
    /// Whether VmHWM was reset at the start of the phase (clear_refs).
    pub hwm_reset: bool,
}

impl MemPeak {
    /// The phase's peak: VmHWM when it was reset for the phase, else the sampled maximum.
    pub fn peak_kib(&self) -> u64 {
        if self.hwm_reset {
            self.hwm_kib.max(self.sampled_kib)
        } else {
            self.sampled_kib
        }
    }
}

impl RssSampler {
    pub fn start(pid: u32, every: Duration) -> RssSampler {
        let max_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (max_kib.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    if let Some((rss, _)) = read_mem_kib(pid) {
                        m.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(every);
                }
            })
            .ok();
        RssSampler { pid, max_kib, stop, thread }
    }

    /// Starts a new phase: forgets the maximum and resets VmHWM (writing 5
    /// to `clear_refs`). Returns whether VmHWM could be reset.
    pub fn reset(&self) -> bool {
        let ok = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok();
        let now = read_mem_kib(self.pid).map(|(rss, _)| rss).unwrap_or(0);
        self.max_kib.store(now, Ordering::Relaxed);
        ok
    }

    /// The peak since the last reset.
    pub fn peak(&self, hwm_reset: bool) -> MemPeak {
        let (rss, hwm) = read_mem_kib(self.pid).unwrap_or((0, 0));
        let sampled = self.max_kib.load(Ordering::Relaxed).max(rss);
        MemPeak { sampled_kib: sampled, hwm_kib: hwm, hwm_reset }
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
