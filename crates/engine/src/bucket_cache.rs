//! Buckets as this process last read them, kept for at most
//! [`BUCKET_CACHE_TTL`].
//!
//! Every S3 request that names a bucket reads its record (owner, region)
//! to authorize, and a request of an IAM user also reads its policy (and
//! sometimes its ACL): on PostgreSQL one statement each, before the
//! request's own work. A gateway keeps what it read for half a second, so:
//! - a change made through another gateway (a policy, an ACL, a deletion)
//!   holds here within that time, inside the one second every cache of
//!   Coffer may lag;
//! - a change made through this process's engine (create, delete, any
//!   configuration) forgets the bucket at once, and a read that began
//!   before such a change is not kept (the generation, as in `coffer-iam`'s
//!   key cache);
//! - a record kept here can never stand for a **different owner's** bucket
//!   of the same name: a deleted bucket's name is held for its project and
//!   region for [`coffer_meta::BUCKET_NAME_HOLD`] (seconds), and an entry is
//!   used only within the TTL after its read *began*, which precedes the
//!   deletion it missed. So reads and deletes, which name the bucket but
//!   carry no stamp, never reach another project's bucket through a stale
//!   entry. The same owner may make the name again at once; a write stamped
//!   from a stale entry is then refused by the store, and the engine answers
//!   "retry" ([`crate::Engine`]'s `stale_stamp`).
//!
//! Missing buckets are not kept (an unknown name costs no memory), and at
//! most [`MAX_ENTRIES`] buckets are.

use crate::BucketInfo;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a bucket's record and configurations are used without reading
/// the store again.
pub const BUCKET_CACHE_TTL: Duration = Duration::from_millis(500);
/// At most this many buckets are kept; past it the stale ones go, then all.
pub(crate) const MAX_ENTRIES: usize = 100_000;

const _: () = assert!(BUCKET_CACHE_TTL.as_millis() * 4 <= coffer_meta::BUCKET_NAME_HOLD.as_millis());

struct Entry {
    /// When the read of the record began.
    read_at: Instant,
    info: BucketInfo,
    /// Configuration documents read since (`None`: not set).
    configs: HashMap<String, Option<String>>,
}

pub(crate) struct BucketCache {
    ttl: Duration,
    generation: AtomicU64,
    map: Mutex<HashMap<String, Entry>>,
}

impl BucketCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        BucketCache { ttl, generation: AtomicU64::new(0), map: Mutex::new(HashMap::new()) }
    }

    fn fresh<'a>(&self, map: &'a mut HashMap<String, Entry>, name: &str) -> Option<&'a mut Entry> {
        map.get_mut(name).filter(|e| e.read_at.elapsed() < self.ttl)
    }

    /// The bucket's record, if one read less than the TTL ago is kept.
    pub(crate) fn info(&self, name: &str) -> Option<BucketInfo> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        self.fresh(&mut map, name).map(|e| e.info.clone())
    }

    /// A configuration document of a kept bucket, if it was read.
    pub(crate) fn config(&self, bucket: &str, name: &str) -> Option<Option<String>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        self.fresh(&mut map, bucket).and_then(|e| e.configs.get(name).cloned())
    }

    /// The generation to pass to the `put_*` calls: read before the store is.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps a record whose read began at `read_at`, unless a bucket changed
    /// through this process since generation `gen` was read.
    pub(crate) fn put_info(&self, gen: u64, read_at: Instant, info: BucketInfo) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != gen {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            map.retain(|_, e| e.read_at.elapsed() < ttl);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(info.name.clone(), Entry { read_at, info, configs: HashMap::new() });
    }

    /// Keeps a configuration document read after the bucket's record (so it
    /// is at least as fresh, and goes with the record), under the same
    /// condition as [`Self::put_info`].
    pub(crate) fn put_config(&self, gen: u64, bucket: &str, name: &str, value: Option<String>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != gen {
            return;
        }
        if let Some(e) = self.fresh(&mut map, bucket) {
            e.configs.insert(name.to_owned(), value);
        }
    }

    /// The bucket changed (or may have) through this process: forget it,
    /// and any read of any bucket in flight.
    pub(crate) fn forget(&self, bucket: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(bucket);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, project: &str) -> BucketInfo {
        BucketInfo {
            object_lock: false,
            versioning: Default::default(),
            name: name.into(),
            region: "r".into(),
            project: project.into(),
            created: 1,
        }
    }

    #[test]
    fn kept_for_the_ttl_from_when_the_read_began() {
        let c = BucketCache::new(Duration::from_millis(200));
        let g = c.generation();
        c.put_info(g, Instant::now() - Duration::from_millis(150), info("a", "p"));
        assert_eq!(c.info("a"), Some(info("a", "p")));
        c.put_config(g, "a", "policy", Some("{}".into()));
        assert_eq!(c.config("a", "policy"), Some(Some("{}".into())));
        assert_eq!(c.config("a", "cors"), None, "never read");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.info("a"), None, "older than the TTL");
        assert_eq!(c.config("a", "policy"), None, "goes with its record");
        // A configuration without a fresh record is not kept.
        c.put_config(c.generation(), "a", "acl", None);
        assert_eq!(c.config("a", "acl"), None);
    }

    #[test]
    fn a_change_forgets_the_bucket_and_reads_in_flight() {
        let c = BucketCache::new(Duration::from_secs(10));
        let g = c.generation();
        c.put_info(g, Instant::now(), info("a", "p"));
        c.put_info(g, Instant::now(), info("b", "p"));
        let before_change = c.generation();
        c.forget("a");
        assert_eq!(c.info("a"), None);
        assert_eq!(c.info("b"), Some(info("b", "p")), "others stay");
        // Reads that began before the change are not kept.
        c.put_info(before_change, Instant::now(), info("a", "old"));
        c.put_config(before_change, "b", "policy", Some("old".into()));
        assert_eq!(c.info("a"), None);
        assert_eq!(c.config("b", "policy"), None);
        c.put_info(c.generation(), Instant::now(), info("a", "new"));
        assert_eq!(c.info("a"), Some(info("a", "new")));
    }

    #[test]
    fn bounded_and_off_with_no_ttl() {
        let c = BucketCache::new(Duration::from_secs(10));
        for i in 0..MAX_ENTRIES + 5 {
            c.put_info(c.generation(), Instant::now(), info(&format!("b{i}"), "p"));
        }
        assert!(c.len() <= MAX_ENTRIES);
        let off = BucketCache::new(Duration::ZERO);
        off.put_info(off.generation(), Instant::now(), info("a", "p"));
        assert_eq!(off.info("a"), None);
    }
}
