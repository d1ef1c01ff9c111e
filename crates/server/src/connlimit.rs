//! What a listener does when it cannot take more: how many connections it
//! serves, how many it keeps aside to answer health probes (and a clean
//! `503` to anything else) once it is full, how it backs off when `accept`
//! itself fails (out of file descriptors), and how often it says so.

use std::time::{Duration, Instant};

/// Connections a listener keeps aside, beyond `max_connections`, for health
/// probes and `503` answers when it is full: a sixteenth of the limit, at
/// least 8 and at most 256.
pub(crate) fn spare_slots(max_connections: usize) -> usize {
    (max_connections / 16).clamp(8, 256)
}

/// How long a connection taken on a spare slot may take to send its request
/// head (and finish its TLS handshake): short, so that clients stalling on
/// spare slots free them quickly for the next probe.
pub(crate) const SPARE_HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// The first pause after a failed `accept`.
const BACKOFF_FIRST: Duration = Duration::from_millis(5);
/// The longest pause between two attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Exponential back-off for a failing `accept` (e.g. `EMFILE`): 5 ms, doubled
/// on every further failure up to 1 s, back to the start after a success.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    /// The pause after one more failure.
    pub(crate) fn failed(&mut self) -> Duration {
        let now = self.next.unwrap_or(BACKOFF_FIRST);
        self.next = Some((now * 2).min(BACKOFF_MAX));
        now
    }

    /// `accept` worked again.
    pub(crate) fn succeeded(&mut self) {
        self.next = None;
    }
}

/// At most one log line per `every` for one kind of event: the rest are
/// counted and the count goes into the next line.
#[derive(Debug)]
pub(crate) struct LogLimit {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimit {
    pub(crate) fn new(every: Duration) -> Self {
        LogLimit { every, last: None, suppressed: 0 }
    }

    /// `Some(events not logged since the last line)` when a line may be
    /// written now, `None` when this event is only counted.
    pub(crate) fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.duration_since(t) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// Raises the process's soft limit on open files to its hard limit (the
/// default soft limit, often 1024, is below what the connection limits
/// need). Returns the soft limit now in force; `None`: unlimited.
pub(crate) fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    match (lim.current, lim.maximum) {
        (Some(cur), Some(max)) if max > cur => {
            match setrlimit(Resource::Nofile, Rlimit { current: Some(max), maximum: Some(max) }) {
                Ok(()) => Some(max),
                Err(e) => {
                    tracing::debug!(error = %e, "could not raise the open-file limit");
                    Some(cur)
                }
            }
        }
        (cur, _) => cur,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_second_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<u128> = (0..10).map(|_| b.failed().as_millis()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(5));
    }

    #[test]
    fn log_lines_are_bounded_and_count_what_they_skip() {
        let mut l = LogLimit::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(l.allow(t0), Some(0));
        for i in 1..=99 {
            assert_eq!(l.allow(t0 + Duration::from_millis(i * 5)), None);
        }
        assert_eq!(l.allow(t0 + Duration::from_secs(1)), Some(99));
        assert_eq!(l.allow(t0 + Duration::from_millis(1500)), None);
    }

    #[test]
    fn spare_slots_scale_with_the_limit() {
        assert_eq!(spare_slots(1), 8);
        assert_eq!(spare_slots(512), 32);
        assert_eq!(spare_slots(4096), 256);
        assert_eq!(spare_slots(1 << 20), 256);
    }
}
