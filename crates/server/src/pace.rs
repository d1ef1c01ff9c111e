//! The clock that bounds how long a client may keep the server waiting,
//! shared by request bodies ([`crate::body_guard::IdleBody`]: the client
//! does not send) and responses ([`crate::write_guard::WriteGuard`]: the
//! client does not read).
//!
//! The clock runs only while the server waits for the client. One wait may
//! last at most the idle time; and over the whole transfer the waits may add
//! up to at most the idle time plus one second per [`MIN_RATE`] bytes moved,
//! so pausing just under the idle time before every byte does not keep a
//! connection for weeks.

use std::time::Duration;
use tokio::time::Instant;

/// The slowest average a transfer may keep, in bytes per second of the
/// client's time, beyond the first idle period.
pub(crate) const MIN_RATE: u64 = 1024;

/// How long a client has kept the server waiting, against its allowance.
#[derive(Debug)]
pub(crate) struct Pace {
    idle: Duration,
    /// Time spent waiting for the client so far (finished waits).
    charged: Duration,
    /// Bytes moved so far.
    moved: u64,
    /// A wait is running since this instant.
    waiting: Option<Instant>,
}

impl Pace {
    pub(crate) fn new(idle: Duration) -> Self {
        Pace { idle, charged: Duration::ZERO, moved: 0, waiting: None }
    }

    pub(crate) fn idle(&self) -> Duration {
        self.idle
    }

    pub(crate) fn is_waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// Starts a wait now; returns the instant it must end by: the idle time
    /// from now, or the rest of the whole allowance if that is less.
    pub(crate) fn start_wait(&mut self) -> Instant {
        let now = Instant::now();
        self.waiting = Some(now);
        let total = self.idle + Duration::from_secs_f64(self.moved as f64 / MIN_RATE as f64);
        now + total.saturating_sub(self.charged).min(self.idle)
    }

    /// Ends the running wait (if any) and counts `bytes` moved.
    pub(crate) fn progressed(&mut self, bytes: u64) {
        if let Some(since) = self.waiting.take() {
            self.charged += since.elapsed();
        }
        self.moved = self.moved.saturating_add(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_wait_gets_the_idle_time_and_all_waits_the_rate_allowance() {
        let mut p = Pace::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(p.start_wait() - start, Duration::from_secs(10));
        tokio::time::sleep(Duration::from_secs(9)).await;
        p.progressed(1);
        // 9 s charged of 10 s + 1/1024 s: under a second is left.
        let now = Instant::now();
        assert!(p.start_wait() - now < Duration::from_secs(2));
        p.progressed(10 * MIN_RATE);
        // 10 KiB more buy 10 s more, capped at the idle time per wait.
        let now = Instant::now();
        assert_eq!(p.start_wait() - now, Duration::from_secs(10));
        // Time outside waits is never charged.
        p.progressed(0);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!p.is_waiting());
        let now = Instant::now();
        assert_eq!(p.start_wait() - now, Duration::from_secs(10));
    }
}
