//! Coffer's use cases, written against the [`MetaStore`] and [`BlobStore`]
//! traits: buckets, object put/get/copy/delete, listings, multipart uploads,
//! and the collection of unreferenced blobs.
//!
//! Architecture invariant: the engine knows no HTTP and no SQL. Requests come
//! in as plain structs ([`PutInput`], [`GetInput`], ...), bodies as streams of
//! bytes, and failures go out as [`EngineError`], which the HTTP layer maps to
//! S3 errors.
//!
//! Durability: a write returns only after its blob (if any) is synced and its
//! metadata committed. Small objects (≤ [`EngineConfig::inline_max`]) are
//! stored inline in the metadata row, so one group commit makes them durable.
//!
//! Start reading at [`Engine`], then `object_put.rs` and `object_get.rs`.

mod accounting;
mod acl;
pub mod bitrot;
mod bucket;
mod bucket_cache;
mod error;
mod gc;
mod hashing;
mod ingest;
mod lifecycle;
mod list;
mod multipart;
mod object_copy;
mod object_get;
mod object_lock;
mod object_put;
mod ownership;
mod project_cache;
mod public_access;
mod read_deadline;
mod scrub;
mod tagging;
mod versions;

pub use bucket::{BucketInfo, NewBucket};
pub use bucket_cache::BUCKET_CACHE_TTL;
pub use coffer_types::{BucketConfigKind, ObjectOwnership, PublicAccessBlock};
pub use error::{BoxError, EngineError};
pub use gc::{ReclaimReport, SWEEP_LEASE};
pub use ingest::{Body, BodyCheck, ChecksumCheck, ExpectedChecksum};
pub use lifecycle::LifecycleReport;
pub use list::{ListPage, ListParams};
pub use multipart::{Completed, CompletedPart, PartsPage, UploadsPage, UploadsParams, MAX_PART_NUMBER};
pub use object_copy::{CopyInput, CopyOutput, MetadataDirective};
pub use object_get::{Conditions, GetInput, GetOutput};
pub use object_put::{PutInput, PutOutput};
pub use versions::{version_text, DeleteInput, DeleteOutput, VersionPage, VersionParams};

/// Where a copy reads from: a bucket's key, and a version of it (`None`:
/// the current one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceRef {
    pub bucket: String,
    pub key: String,
    pub version: Option<String>,
    /// What authorizing the read of the source decided on, if it looked.
    pub pin: Option<ReadPin>,
}
pub use acl::{AccessFacts, ReadPin};
pub use public_access::is_public_acl;
pub use read_deadline::ReadTooLong;
pub use scrub::{ScrubOptions, ScrubReport, SCRUB_LEASE};

use coffer_blob::BlobStore;
use coffer_meta::MetaStore;
use std::sync::Arc;
use std::time::Duration;

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The deployment's default region (requests whose endpoint names no
    /// region act in it).
    pub region: String,
    /// Objects up to this size are stored inline in the metadata store.
    pub inline_max: u64,
    /// Smallest size of every multipart part except the last.
    pub min_part_size: u64,
    /// Largest object a single PUT (or copy) may create.
    pub max_put_size: u64,
    /// How long a blob dropped from metadata stays readable before deletion,
    /// so that reads that started before the drop can finish.
    pub gc_grace: Duration,
    /// The longest a read of an object's blobs (a GET, a copy's source) may
    /// take; past it the stream fails instead of reading on. Shorter than
    /// `gc_grace`, so a blob an overwrite drops after the read began is
    /// never deleted under it. `None`: unbounded (a grace too short to
    /// bound reads with, as in tests).
    pub max_read: Option<Duration>,
    /// The Object Ownership of a bucket made without choosing one
    /// (`BucketOwnerEnforced` as on S3 since 2023; `BucketOwnerPreferred`
    /// keeps ACLs working on new buckets, for deployments whose customers rely on them).
    pub default_ownership: ObjectOwnership,
    /// The length of a day in lifecycle rules: a day, except in test
    /// deployments that shorten it to run rules in seconds (as RGW's
    /// `rgw_lc_debug_interval` does).
    pub lifecycle_day: Duration,
}

impl EngineConfig {
    /// The read bound for a grace period: the grace less a minute's margin
    /// for clocks and collectors, or none when the grace is under two minutes.
    pub fn read_bound(gc_grace: Duration) -> Option<Duration> {
        (gc_grace >= Duration::from_secs(120)).then(|| gc_grace - Duration::from_secs(60))
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            region: "us-east-1".into(),
            inline_max: 64 * 1024,
            min_part_size: 5 * 1024 * 1024,
            max_put_size: 5 * 1024 * 1024 * 1024,
            gc_grace: Duration::from_secs(3600),
            max_read: None,
            default_ownership: ObjectOwnership::BucketOwnerEnforced,
            lifecycle_day: Duration::from_secs(86_400),
        }
    }
}

/// The use cases, shared by every request.
#[derive(Clone)]
pub struct Engine {
    meta: Arc<dyn MetaStore>,
    blobs: Arc<dyn BlobStore>,
    cfg: Arc<EngineConfig>,
    /// This process as a lease holder.
    node_id: Arc<str>,
    /// Buckets as last read, for at most half a second (`bucket_cache.rs`).
    buckets: Arc<bucket_cache::BucketCache>,
    /// Projects' Block Public Access switches, kept as buckets are (`project_cache.rs`).
    projects: Arc<project_cache::ProjectCache>,
    /// What this process's background jobs did (for metrics).
    stats: Arc<EngineStats>,
}

/// Counts of what this process's background jobs did since it started.
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Blobs deleted by the garbage collector (dropped by overwrites and deletes).
    pub garbage_collected: std::sync::atomic::AtomicU64,
    /// Unreferenced blobs deleted by the orphan sweep and start-up recovery.
    pub orphans_reclaimed: std::sync::atomic::AtomicU64,
    /// Reads refused because a blob's bytes did not match its checksum.
    pub corrupt_reads: std::sync::atomic::AtomicU64,
    /// What the scrubber read and found (passes of this process).
    pub scrub: scrub::ScrubStats,
}

impl Engine {
    /// What this process's background jobs did since it started.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Builds an engine over the given stores.
    pub fn new(meta: Arc<dyn MetaStore>, blobs: Arc<dyn BlobStore>, cfg: EngineConfig) -> Self {
        // Names this process as a lease holder: unique across gateways and
        // restarts (a restarted gateway does not inherit its old leases).
        let node_id = Arc::from(format!("pid{}-{}", std::process::id(), coffer_types::BlobId::random()).as_str());
        let buckets = Arc::new(bucket_cache::BucketCache::new(BUCKET_CACHE_TTL));
        let projects = Arc::new(project_cache::ProjectCache::new(BUCKET_CACHE_TTL));
        let stats = Arc::default();
        Engine { meta, blobs, cfg: Arc::new(cfg), node_id, buckets, projects, stats }
    }

    /// The same engine keeping buckets for `ttl` instead of
    /// [`BUCKET_CACHE_TTL`] (zero: not at all), e.g. for tests that change
    /// buckets behind its back.
    pub fn with_bucket_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.buckets = Arc::new(bucket_cache::BucketCache::new(ttl));
        self.projects = Arc::new(project_cache::ProjectCache::new(ttl));
        self
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The metadata store (the engine's own tests reach past it).
    #[cfg(test)]
    pub(crate) fn meta(&self) -> &Arc<dyn MetaStore> {
        &self.meta
    }
}

#[cfg(test)]
mod tests;
