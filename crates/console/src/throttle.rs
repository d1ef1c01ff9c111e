//! Sign-in throttling: after [`MAX_FAILURES`] failed sign-ins for one account
//! from one client address within [`WINDOW`], further attempts for that pair
//! are refused (429) until the oldest failure leaves the window, whether the
//! password is right or not.
//!
//! Limitation: the counters live in this process's memory. Behind several
//! gateways each counts on its own (an attacker gets `MAX_FAILURES` per
//! gateway), and a restart forgets them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins allowed per (client address, account) within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The window over which failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Above this many tracked pairs, expired ones are dropped on the next failure.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<(IpAddr, String), Vec<Instant>>>,
}

impl Throttle {
    /// `Some(wait)` when the pair is refused for `wait` more.
    pub fn blocked(&self, ip: IpAddr, account: &str, now: Instant) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let times = map.get(&(ip, account.to_ascii_lowercase()))?;
        let recent: Vec<&Instant> = times.iter().filter(|t| now.duration_since(**t) < WINDOW).collect();
        if recent.len() < MAX_FAILURES {
            return None;
        }
        // Refused until enough failures have aged out of the window.
        let oldest_that_counts = recent[recent.len() - MAX_FAILURES];
        Some(WINDOW.saturating_sub(now.duration_since(*oldest_that_counts)))
    }

    /// Records a failed sign-in.
    pub fn fail(&self, ip: IpAddr, account: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
        let times = map.entry((ip, account.to_ascii_lowercase())).or_default();
        times.retain(|t| now.duration_since(*t) < WINDOW);
        times.push(now);
    }

    /// Forgets the pair's failures (after a successful sign-in).
    pub fn clear(&self, ip: IpAddr, account: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&(ip, account.to_ascii_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_for_the_window() {
        let t = Throttle::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let start = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(t.blocked(ip, "p/alice", start).is_none(), "attempt {i}");
            t.fail(ip, "p/Alice", start + Duration::from_secs(i as u64));
        }
        let now = start + Duration::from_secs(10);
        let wait = t.blocked(ip, "P/ALICE", now).unwrap();
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(11));
        // Other accounts and other addresses are not affected.
        assert!(t.blocked(ip, "p/bob", now).is_none());
        assert!(t.blocked(other, "p/alice", now).is_none());
        // Once the first failure ages out, one more attempt is allowed.
        assert!(t.blocked(ip, "p/alice", start + WINDOW + Duration::from_millis(1)).is_none());
        t.clear(ip, "p/alice");
        assert!(t.blocked(ip, "p/alice", now).is_none());
    }
}
