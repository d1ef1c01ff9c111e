//! Reference figures measured on the same machine in the same run: the
//! durable write rate of the data directory's filesystem (`dd ... conv=fsync`)
//! and loopback TCP throughput (`iperf3`).

use serde::Serialize;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const MIB: f64 = 1024.0 * 1024.0;

/// A reference measurement: a rate, or why there is none.
#[derive(Clone, Debug, Serialize)]
pub struct Reference {
    pub what: String,
    pub mib_per_s: Option<f64>,
    pub note: String,
}

/// `dd if=/dev/zero of=<dir>/dd.tmp bs=1M count=<mib> conv=fsync`, rate parsed from dd's stderr.
pub fn dd(dir: &Path, mib: u64) -> Reference {
    let target = dir.join("dd.tmp");
    let what = format!("dd bs=1M count={mib} conv=fsync -> {}", target.display());
    let out = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", target.display()))
        .arg("bs=1M")
        .arg(format!("count={mib}"))
        .arg("conv=fsync")
        .stdin(Stdio::null())
        .output();
    let _ = std::fs::remove_file(&target);
    let out = match out {
        Ok(o) => o,
        Err(e) => return Reference { what, mib_per_s: None, note: format!("dd failed to start: {e}") },
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Reference { what, mib_per_s: None, note: format!("dd failed: {}", stderr.trim()) };
    }
    match parse_dd(&stderr) {
        Some((bytes, secs)) if secs > 0.0 => {
            let line = stderr.lines().rfind(|l| l.contains("copied")).unwrap_or("").trim().to_owned();
            Reference { what, mib_per_s: Some(bytes as f64 / MIB / secs), note: line }
        }
        _ => Reference { what, mib_per_s: None, note: format!("could not parse dd output: {}", stderr.trim()) },
    }
}

/// `(bytes, seconds)` from dd's summary line, e.g.
/// `1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2.1 s, 511 MB/s`.
fn parse_dd(stderr: &str) -> Option<(u64, f64)> {
    let line = stderr.lines().rfind(|l| l.contains("copied"))?;
    let bytes: u64 = line.split_whitespace().next()?.parse().ok()?;
    let after = line.split("copied,").nth(1)?;
    let secs_text = after.split_whitespace().next()?;
    // Some locales print a decimal comma.
    let secs: f64 = secs_text.replace(',', ".").parse().ok()?;
    Some((bytes, secs))
}

/// Loopback TCP throughput: `iperf3 -s -1 -p <port>` and `iperf3 -c 127.0.0.1 -p <port> -t <secs> -J`.
pub fn iperf3(secs: u64) -> Reference {
    let what = format!("iperf3 loopback, 1 stream, {secs} s");
    if Command::new("iperf3").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        return Reference { what, mib_per_s: None, note: "iperf3 not installed".into() };
    }
    let port = match crate::server::free_port() {
        Ok(p) => p,
        Err(e) => return Reference { what, mib_per_s: None, note: format!("no free port: {e}") },
    };
    let mut server = match Command::new("iperf3")
        .args(["-s", "-1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Reference { what, mib_per_s: None, note: format!("iperf3 -s failed to start: {e}") },
    };
    let mut result = Reference { what: what.clone(), mib_per_s: None, note: "iperf3 client did not run".into() };
    // The one-off server must not see a probe connection, so the client is
    // simply retried while the server comes up.
    for attempt in 0..5 {
        std::thread::sleep(Duration::from_millis(if attempt == 0 { 300 } else { 700 }));
        let out = Command::new("iperf3")
            .args(["-c", "127.0.0.1", "-p", &port.to_string(), "-t", &secs.to_string(), "-J"])
            .stdin(Stdio::null())
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                result.note = format!("iperf3 -c failed to start: {e}");
                break;
            }
        };
        let json: Option<serde_json::Value> = serde_json::from_slice(&out.stdout).ok();
        let bps = json.as_ref().and_then(|j| j["end"]["sum_received"]["bits_per_second"].as_f64());
        match bps {
            Some(bps) => {
                result = Reference {
                    what: what.clone(),
                    mib_per_s: Some(bps / 8.0 / MIB),
                    note: format!("{:.2} Gbit/s received", bps / 1e9),
                };
                break;
            }
            None => {
                let err = json.as_ref().and_then(|j| j["error"].as_str()).map(str::to_owned);
                result.note = format!(
                    "iperf3 gave no result: {}",
                    err.unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_owned())
                );
            }
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_dd_summary() {
        let s = "1024+0 records in\n1024+0 records out\n1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2.5 s, 429 MB/s\n";
        assert_eq!(super::parse_dd(s), Some((1073741824, 2.5)));
    }
}
