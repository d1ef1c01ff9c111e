//! Usage metering of requests and traffic, per bucket and hour, in memory
//! until the server flushes it ([`Meter::drain`]) into the durable hourly
//! records of the `MetaStore`. Stored bytes are metered by the store itself.
//!
//! Requests count to the bucket's owning project, whoever sends them.
//! Requests to no bucket (ListBuckets) or to a missing one are not metered.

use coffer_meta::{RequestCounts, UsageDelta};
use std::collections::HashMap;
use std::sync::Mutex;

/// The billing class of a request, declared with each operation.
pub use coffer_s3_proto::ops::Class as RequestClass;

#[derive(Default)]
struct Traffic {
    requests: RequestCounts,
    bytes_in: u64,
    bytes_out: u64,
}

/// Counters since the last drain, keyed by (project, bucket, hour).
#[derive(Default)]
pub struct Meter {
    counters: Mutex<HashMap<(String, String, i64), Traffic>>,
}

impl Meter {
    /// Counts one request.
    pub fn record(&self, project: &str, bucket: &str, class: RequestClass, bytes_in: u64, bytes_out: u64) {
        self.with_hour(project, bucket, |t| {
            let counter = match class {
                RequestClass::Get => &mut t.requests.get,
                RequestClass::Put => &mut t.requests.put,
                RequestClass::List => &mut t.requests.list,
                RequestClass::Delete => &mut t.requests.delete,
                RequestClass::Other => &mut t.requests.other,
            };
            *counter = counter.saturating_add(1);
            t.bytes_in = t.bytes_in.saturating_add(bytes_in);
            t.bytes_out = t.bytes_out.saturating_add(bytes_out);
        });
    }

    /// Adds bytes to a request already counted (a console upload's body, as received).
    pub fn add_bytes(&self, project: &str, bucket: &str, bytes_in: u64, bytes_out: u64) {
        self.with_hour(project, bucket, |t| {
            t.bytes_in = t.bytes_in.saturating_add(bytes_in);
            t.bytes_out = t.bytes_out.saturating_add(bytes_out);
        });
    }

    fn with_hour(&self, project: &str, bucket: &str, f: impl FnOnce(&mut Traffic)) {
        let hour = coffer_types::now_millis().div_euclid(3_600_000) * 3600;
        let mut map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry((project.to_owned(), bucket.to_owned(), hour)).or_default());
    }

    /// Takes everything counted since the last drain.
    pub fn drain(&self) -> Vec<UsageDelta> {
        let map = std::mem::take(&mut *self.counters.lock().unwrap_or_else(|p| p.into_inner()));
        map.into_iter()
            .map(|((project, bucket, hour), t)| UsageDelta {
                project,
                bucket,
                hour,
                requests: t.requests,
                bytes_in: t.bytes_in,
                bytes_out: t.bytes_out,
            })
            .collect()
    }

    /// Gives back deltas a failed flush could not store, so they are retried.
    pub fn restore(&self, deltas: Vec<UsageDelta>) {
        let mut map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        for d in deltas {
            let t = map.entry((d.project, d.bucket, d.hour)).or_default();
            t.requests.add(&d.requests);
            t.bytes_in = t.bytes_in.saturating_add(d.bytes_in);
            t.bytes_out = t.bytes_out.saturating_add(d.bytes_out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_s3_proto::router::Operation;

    #[test]
    fn counts_by_class_and_drains_once() {
        let m = Meter::default();
        m.record("p", "b", Operation::PutObject.class(), 100, 0);
        m.record("p", "b", Operation::GetObject.class(), 0, 40);
        m.record("p", "b", Operation::GetObject.class(), 0, 2);
        m.record("p", "c", Operation::ListObjectsV2.class(), 0, 0);
        let mut d = m.drain();
        d.sort_by(|a, b| a.bucket.cmp(&b.bucket));
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].requests.put, d[0].requests.get, d[0].bytes_in, d[0].bytes_out), (1, 2, 100, 42));
        assert_eq!(d[1].requests.list, 1);
        assert_eq!(d[0].hour % 3600, 0);
        assert!(m.drain().is_empty());
        m.restore(d);
        assert_eq!(m.drain().len(), 2);
    }
}
