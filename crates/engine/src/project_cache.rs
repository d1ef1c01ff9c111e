//! Projects' Block Public Access switches as this process last read them,
//! kept like buckets (`bucket_cache.rs`): for at most the bucket TTL after
//! the read began, forgotten when changed through this engine, and a read
//! that began before such a change is not kept (the generation).

use coffer_types::PublicAccessBlock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) struct ProjectCache {
    ttl: Duration,
    generation: AtomicU64,
    map: Mutex<HashMap<String, (Instant, PublicAccessBlock)>>,
}

impl ProjectCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        ProjectCache { ttl, generation: AtomicU64::new(0), map: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn get(&self, project: &str) -> Option<PublicAccessBlock> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(project).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, p)| *p)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps what a read that began at `read_at`, in generation `gen`, found.
    pub(crate) fn put(&self, gen: u64, read_at: Instant, project: &str, value: PublicAccessBlock) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != gen {
            return;
        }
        if map.len() >= crate::bucket_cache::MAX_ENTRIES {
            map.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if map.len() >= crate::bucket_cache::MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(project.to_owned(), (read_at, value));
    }

    pub(crate) fn forget(&self, project: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(project);
    }
}
