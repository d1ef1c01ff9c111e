//! Bucket use cases.

use crate::{Engine, EngineError};
use coffer_meta::{BucketQuery, BucketRecord, BucketStamp, ListQuery, MetaError};
use coffer_types::{now_millis, BucketConfigKind, BucketName, UnixMillis};
use std::time::Instant;

/// Buckets read per page by [`Engine::all_buckets`].
const BUCKET_PAGE: usize = 1000;

/// What callers learn about a bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketInfo {
    pub name: String,
    pub region: String,
    /// The owning project.
    pub project: String,
    pub created: UnixMillis,
    pub versioning: coffer_types::Versioning,
    pub object_lock: bool,
}

impl BucketInfo {
    /// The stamp a write authorized against this bucket carries, so that it
    /// cannot land in a bucket of the same name made since.
    pub fn stamp(&self) -> coffer_meta::BucketStamp {
        coffer_meta::BucketStamp { project: self.project.clone(), created: self.created }
    }
}

impl From<BucketRecord> for BucketInfo {
    fn from(b: BucketRecord) -> Self {
        BucketInfo {
            name: b.name,
            region: b.region,
            project: b.project,
            created: b.created,
            versioning: b.versioning,
            object_lock: b.object_lock,
        }
    }
}

/// Where and for whom a bucket is created.
#[derive(Clone, Copy, Debug)]
pub struct NewBucket<'a> {
    pub name: &'a str,
    /// The requested LocationConstraint: absent, empty, or `region`.
    pub location: Option<&'a str>,
    /// The region whose endpoint received the request.
    pub region: &'a str,
    /// The owning project.
    pub project: &'a str,
    /// Its Object Ownership; `None`: the deployment's default.
    pub ownership: Option<coffer_types::ObjectOwnership>,
    /// Object lock on from the start (`x-amz-bucket-object-lock-enabled`),
    /// and with it versioning.
    pub object_lock: bool,
}

impl Engine {
    /// Creates a bucket in the request's region, owned by a project.
    pub async fn create_bucket(&self, new: NewBucket<'_>) -> Result<(), EngineError> {
        let name = BucketName::parse(new.name).map_err(|e| EngineError::InvalidBucketName(e.0.into()))?;
        match new.location {
            None | Some("") => {}
            Some(l) if l == new.region => {}
            // us-east-1 is the default and the classic synonym is "US".
            Some("US") if new.region == "us-east-1" => {}
            Some(l) => return Err(EngineError::InvalidLocation(l.to_owned())),
        }
        let rec = BucketRecord {
            name: name.as_str().to_owned(),
            region: new.region.to_owned(),
            project: new.project.to_owned(),
            created: now_millis(),
            versioning: if new.object_lock { coffer_types::Versioning::Enabled } else { Default::default() },
            object_lock: new.object_lock,
        };
        let r = self.meta.create_bucket(rec).await;
        self.buckets.forget(name.as_str());
        r?;
        // A bucket without an ownership document is enforced: only a choice
        // that allows ACLs is written, and if that write is lost the bucket
        // stays closed. Only this project could have deleted the bucket
        // made just now.
        let ownership = new.ownership.unwrap_or(self.cfg.default_ownership);
        if ownership.acls_enabled() {
            self.set_bucket_ownership(name.as_str(), None, Some(ownership)).await?;
        }
        Ok(())
    }

    /// The Object Ownership a bucket made with `chosen` gets.
    pub fn ownership_of_new(&self, chosen: Option<coffer_types::ObjectOwnership>) -> coffer_types::ObjectOwnership {
        chosen.unwrap_or(self.cfg.default_ownership)
    }

    /// The bucket, or `NoSuchBucket`; read at most [`crate::BUCKET_CACHE_TTL`]
    /// ago (`bucket_cache.rs`).
    pub async fn head_bucket(&self, name: &str) -> Result<BucketInfo, EngineError> {
        if let Some(info) = self.buckets.info(name) {
            return Ok(info);
        }
        let (gen, read_at) = (self.buckets.generation(), Instant::now());
        let info: BucketInfo = self.meta.get_bucket(name).await?.map(Into::into).ok_or(EngineError::NoSuchBucket)?;
        self.buckets.put_info(gen, read_at, info.clone());
        Ok(info)
    }

    /// What a write stamped with `stamp` answers when the store found no
    /// such bucket. This process forgets what it kept of the bucket. If its
    /// project made the name again since the request was authorized (from a
    /// view of the old bucket, perhaps kept here), the client is told to
    /// retry: the retry is authorized against the new bucket. Otherwise the
    /// bucket is gone.
    pub(crate) async fn stale_stamp(&self, bucket: &str, stamp: Option<&BucketStamp>) -> EngineError {
        self.buckets.forget(bucket);
        let Some(stamp) = stamp else { return EngineError::NoSuchBucket };
        match self.meta.get_bucket(bucket).await {
            Ok(Some(b)) if b.project == stamp.project && b.created != stamp.created => EngineError::Unavailable(
                "the bucket was deleted and made again since this request was authorized; retry".into(),
            ),
            _ => EngineError::NoSuchBucket,
        }
    }

    /// A stamped write's result, with [`Engine::stale_stamp`]'s answer for
    /// `NoSuchBucket`.
    pub(crate) async fn stamped<T>(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        r: Result<T, MetaError>,
    ) -> Result<T, EngineError> {
        match r {
            Err(MetaError::NoSuchBucket) => Err(self.stale_stamp(bucket, stamp).await),
            other => Ok(other?),
        }
    }

    /// One page of buckets by name, as `query` asks (one project's, or
    /// with no project every project's).
    pub async fn list_buckets(&self, query: &BucketQuery) -> Result<Vec<BucketInfo>, EngineError> {
        Ok(self.meta.list_buckets(query).await?.into_iter().map(Into::into).collect())
    }

    /// Every bucket of `project` (`None`: of every project) by name, read
    /// a page at a time.
    pub async fn all_buckets(&self, project: Option<&str>) -> Result<Vec<BucketInfo>, EngineError> {
        let mut q = BucketQuery { project: project.map(str::to_owned), limit: BUCKET_PAGE, ..Default::default() };
        let mut out: Vec<BucketInfo> = Vec::new();
        loop {
            let page = self.list_buckets(&q).await?;
            let full = page.len() == BUCKET_PAGE;
            out.extend(page);
            match out.last() {
                Some(last) if full => q.after = Some(last.name.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// Deletes an empty bucket.
    pub async fn delete_bucket(&self, name: &str) -> Result<(), EngineError> {
        let r = self.meta.delete_bucket(name).await;
        self.buckets.forget(name);
        Ok(r?)
    }

    /// The bucket's configuration document of `kind`, if set; read at most
    /// [`crate::BUCKET_CACHE_TTL`] ago.
    pub async fn bucket_config(&self, bucket: &str, kind: BucketConfigKind) -> Result<Option<String>, EngineError> {
        let name = kind.name();
        if let Some(v) = self.buckets.config(bucket, name) {
            return Ok(v);
        }
        let gen = self.buckets.generation();
        let v = self.meta.get_bucket_config(bucket, name).await?;
        self.buckets.put_config(gen, bucket, name, v.clone());
        Ok(v)
    }

    /// Sets or removes the bucket's policy or CORS document (in the bucket
    /// `stamp` describes, when given: `NoSuchBucket` if it is gone). The
    /// other kinds have their own methods, which check what they store (an
    /// ACL against Object Ownership and Block Public Access, ...).
    pub async fn set_bucket_config(
        &self,
        bucket: &str,
        stamp: Option<&coffer_meta::BucketStamp>,
        kind: BucketConfigKind,
        value: Option<String>,
    ) -> Result<(), EngineError> {
        free_form(kind)?;
        self.write_bucket_config(bucket, stamp, kind, value).await
    }

    /// [`Engine::set_bucket_config`] of any kind, for the engine's own methods.
    pub(crate) async fn write_bucket_config(
        &self,
        bucket: &str,
        stamp: Option<&coffer_meta::BucketStamp>,
        kind: BucketConfigKind,
        value: Option<String>,
    ) -> Result<(), EngineError> {
        let r = self.meta.set_bucket_config_as(bucket, stamp, kind.name(), value).await;
        self.buckets.forget(bucket);
        self.stamped(bucket, stamp, r).await
    }

    /// [`Engine::set_bucket_config`] over the value `current` that the caller
    /// read (`None`: none was set); `PreconditionFailed` if it changed since.
    pub async fn replace_bucket_config(
        &self,
        bucket: &str,
        stamp: Option<&coffer_meta::BucketStamp>,
        kind: BucketConfigKind,
        current: Option<&str>,
        value: Option<String>,
    ) -> Result<(), EngineError> {
        free_form(kind)?;
        let r = self.meta.set_bucket_config_if(bucket, stamp, kind.name(), Some(current), value).await;
        self.buckets.forget(bucket);
        self.stamped(bucket, stamp, r).await
    }

    /// Whether the bucket holds any object (used by tests and the console).
    pub async fn bucket_is_empty(&self, name: &str) -> Result<bool, EngineError> {
        let q = ListQuery { limit: 1, ..Default::default() };
        Ok(self.meta.list_objects(name, &q).await?.is_empty())
    }
}

/// The kinds whose documents callers write themselves (checked by their parsers).
fn free_form(kind: BucketConfigKind) -> Result<(), EngineError> {
    match kind {
        BucketConfigKind::Policy | BucketConfigKind::Cors => Ok(()),
        other => Err(EngineError::InvalidArgument(format!(
            "the {} configuration is set through its own method",
            other.name()
        ))),
    }
}
