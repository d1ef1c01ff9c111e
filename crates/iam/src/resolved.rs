//! Resolved access keys, kept for at most [`RESOLVE_TTL`] per process.
//!
//! Resolving a key reads its record and its user from the store, opens the
//! sealed secret and builds the principal's policies: on PostgreSQL two
//! round trips per request. A gateway keeps what it resolved for half a
//! second, so a key changed through another gateway (deleted, deactivated,
//! its user's policies edited) takes effect here within that time, inside
//! the one second every cache of Coffer is allowed to lag. A change made
//! through this process's [`crate::Iam`] empties the cache at once, and a
//! resolution that began before such a change is not kept
//! ([`ResolveCache::generation`]).
//!
//! Only keys that exist are kept (an unknown key id costs no memory), and
//! at most [`MAX_ENTRIES`] of them; the status, expiry and region checks
//! run on every request against the kept record.

use crate::Principal;
use coffer_meta::AccessKeyRecord;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a resolved key is used without reading the store again.
pub const RESOLVE_TTL: Duration = Duration::from_millis(500);
/// At most this many resolved keys are kept; past it the stale ones go,
/// then all.
pub(crate) const MAX_ENTRIES: usize = 50_000;

/// What a key resolved to: its record, open secret and principal (no
/// `Debug`: it holds the secret).
pub(crate) struct Found {
    pub key: AccessKeyRecord,
    pub secret: String,
    pub principal: Principal,
}

pub(crate) struct ResolveCache {
    ttl: Duration,
    generation: AtomicU64,
    map: Mutex<HashMap<String, (Instant, Arc<Found>)>>,
}

impl ResolveCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        ResolveCache { ttl, generation: AtomicU64::new(0), map: Mutex::new(HashMap::new()) }
    }

    /// The key's resolution, if one younger than the TTL is kept.
    pub(crate) fn get(&self, access_key: &str) -> Option<Arc<Found>> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(access_key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, f)| f.clone())
    }

    /// The generation to pass to [`Self::put`]: read before the store is.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps a resolution read at `read_at` (when it was read from the
    /// store), unless an identity changed since generation `gen` was read.
    pub(crate) fn put(&self, gen: u64, read_at: Instant, found: Arc<Found>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // Under the lock: `changed` bumps the generation before clearing.
        if self.generation.load(Ordering::Acquire) != gen {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(found.key.access_key.clone(), (read_at, found));
    }

    /// An identity changed through this process: forget every resolution,
    /// and any being read now.
    pub(crate) fn changed(&self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_meta::KeyStatus;

    fn found(ak: &str) -> Arc<Found> {
        Arc::new(Found {
            key: AccessKeyRecord {
                access_key: ak.into(),
                sealed_secret: String::new(),
                project: "p".into(),
                user: "u".into(),
                region: String::new(),
                status: KeyStatus::Active,
                created: 0,
                expires: None,
                last_used: None,
            },
            secret: "s".into(),
            principal: Principal::Operator { access_key: ak.into() },
        })
    }

    #[test]
    fn a_resolution_read_before_a_change_is_not_kept() {
        let c = ResolveCache::new(Duration::from_secs(60));
        let gen = c.generation();
        c.changed();
        c.put(gen, Instant::now(), found("A"));
        assert!(c.get("A").is_none());
        c.put(c.generation(), Instant::now(), found("A"));
        assert!(c.get("A").is_some());
    }

    #[test]
    fn the_age_counts_from_the_read_and_the_size_is_bounded() {
        let c = ResolveCache::new(Duration::from_secs(1));
        c.put(c.generation(), Instant::now() - Duration::from_secs(2), found("old"));
        assert!(c.get("old").is_none(), "read two seconds ago: already stale");
        for i in 0..MAX_ENTRIES + 10 {
            c.put(c.generation(), Instant::now(), found(&format!("K{i}")));
        }
        assert!(c.len() <= MAX_ENTRIES);
    }
}
