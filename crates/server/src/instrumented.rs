//! Latency and error instrumentation of the stores: [`InstrumentedMeta`]
//! wraps a metadata store, [`InstrumentedBlobs`] a blob store, and each
//! reports every call (its operation, how long it took, the kind of error it
//! failed with) to a [`StoreObserver`], which feeds the metrics.
//!
//! The wrappers forward every trait method, default ones included (so the
//! inner store's own version is used), and fit how the stores are passed
//! around: `Arc::new(InstrumentedMeta::new(meta, observer))` with `meta` an
//! `Arc<dyn Store>` is a `Store` itself.
//!
//! The store traits are `#[async_trait]` traits; this crate implements them
//! without the macro, in the signature it expands to (every borrowed lifetime
//! outliving the returned boxed future's), written once by `forward!`.

use coffer_blob::{BlobError, BlobPage, BlobStore, BlobStream, BlobWriter, ListCursor};
use coffer_meta::{
    AccessKeyRecord, BlobRef, BucketQuery, BucketRecord, BucketStamp, DeleteTarget, Deleted, IdentityStore, KeyStatus,
    ListEntry, ListQuery, LockCheck, MetaEdit, MetaError, MetaStore, ObjectRecord, PartRecord, ProjectRecord, Quota,
    QuotaScope, SigninFailures, StoredTotals, UploadListQuery, UploadRecord, UsageDelta, UsageQuery, UsageRecord,
    UserRecord, VersionEntry, VersionListQuery, VersionRecord, VersionSel, VersioningChange, WriteCondition, Written,
};
use coffer_types::{BlobId, UnixMillis};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// What a wrapper reports: one call of a store operation.
pub trait StoreObserver: Send + Sync + 'static {
    /// A metadata-store call `op` (the trait method's name, e.g.
    /// "get_object") took `secs`; `error` is the error's kind
    /// ([`meta_error_kind`]) when it failed.
    fn meta_call(&self, op: &'static str, secs: f64, error: Option<&'static str>);
    /// The same for a blob-store call (kinds from [`blob_error_kind`]).
    fn blob_call(&self, op: &'static str, secs: f64, error: Option<&'static str>);
}

/// A short, stable, snake_case label of a metadata error, for a metric
/// label. Expected outcomes (`no_such_key`, `already_exists`,
/// `precondition_failed`, ...) are labelled like failures: telling them
/// apart is the dashboard's business.
pub fn meta_error_kind(e: &MetaError) -> &'static str {
    match e {
        MetaError::NoSuchBucket => "no_such_bucket",
        MetaError::BucketAlreadyExists => "bucket_already_exists",
        MetaError::BucketNotEmpty => "bucket_not_empty",
        MetaError::NoSuchUpload => "no_such_upload",
        MetaError::NoSuchKey => "no_such_key",
        MetaError::QuotaExceeded(_) => "quota_exceeded",
        MetaError::AlreadyExists => "already_exists",
        MetaError::NotFound => "not_found",
        MetaError::NotEmpty => "not_empty",
        MetaError::PreconditionFailed => "precondition_failed",
        MetaError::NoSuchVersion => "no_such_version",
        MetaError::ObjectLocked(_) => "object_locked",
        MetaError::InvalidBucketState(_) => "invalid_bucket_state",
        MetaError::StalePart(_) => "stale_part",
        MetaError::NoSpace => "no_space",
        MetaError::Unavailable(_) => "unavailable",
        MetaError::Conflict => "conflict",
        MetaError::Corrupt(_) => "corrupt",
        MetaError::SchemaMismatch { .. } => "schema_mismatch",
        MetaError::Backend(_) => "backend",
    }
}

/// A short, stable, snake_case label of a blob error, for a metric label.
pub fn blob_error_kind(e: &BlobError) -> &'static str {
    match e {
        BlobError::NotFound(_) => "not_found",
        BlobError::NoSpace => "no_space",
        BlobError::Io(_) => "io",
        BlobError::Format(_) => "format",
        BlobError::Unavailable(_) => "unavailable",
        BlobError::ForeignCursor => "foreign_cursor",
    }
}

/// The future an `#[async_trait]` method returns.
type Fut<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// Runs `fut`, timed from its first poll to its end, and hands the operation,
/// the seconds and the error kind (if it failed) to `report`.
fn timed<'a, T: 'a, E: 'a>(
    op: &'static str,
    fut: impl Future<Output = Result<T, E>> + Send + 'a,
    kind: fn(&E) -> &'static str,
    report: impl FnOnce(&'static str, f64, Option<&'static str>) + Send + 'a,
) -> Fut<'a, T, E> {
    Box::pin(async move {
        let start = Instant::now();
        let result = fut.await;
        report(op, start.elapsed().as_secs_f64(), result.as_ref().err().map(kind));
        result
    })
}

/// Implements trait methods that forward to `self.inner` through
/// `self.timed`, from signatures with every borrowed lifetime named (the
/// receiver's first) and the error type given first, as `#[async_trait]`
/// would expand them. The operation reported is the method's name.
macro_rules! forward {
    ($error:ty; $(
        fn $name:ident$(<$($lt:lifetime),+>)?(&$me:lifetime self $(, $arg:ident: $ty:ty)* $(,)?) -> $out:ty;
    )+) => {$(
        fn $name<$me, $($($lt,)+)? 'fut>(&$me self $(, $arg: $ty)*) -> Fut<'fut, $out, $error>
        where
            $me: 'fut,
            $($($lt: 'fut,)+)?
            Self: 'fut,
        {
            self.timed(stringify!($name), self.inner.$name($($arg),*))
        }
    )+};
}

/// A metadata store (`S`: a concrete store or `dyn Store`) whose every call
/// is reported to a [`StoreObserver`] ([`StoreObserver::meta_call`]).
pub struct InstrumentedMeta<S: ?Sized> {
    inner: Arc<S>,
    obs: Arc<dyn StoreObserver>,
}

impl<S: ?Sized> InstrumentedMeta<S> {
    /// Wraps `inner`, reporting to `obs`.
    pub fn new(inner: Arc<S>, obs: Arc<dyn StoreObserver>) -> Self {
        InstrumentedMeta { inner, obs }
    }

    fn timed<'a, T: 'a>(
        &'a self,
        op: &'static str,
        fut: impl Future<Output = Result<T, MetaError>> + Send + 'a,
    ) -> Fut<'a, T, MetaError> {
        let obs = &*self.obs;
        timed(op, fut, meta_error_kind, move |op, secs, error| obs.meta_call(op, secs, error))
    }
}

impl<S: MetaStore + ?Sized> MetaStore for InstrumentedMeta<S> {
    forward! { MetaError;
        fn create_bucket(&'a self, bucket: BucketRecord) -> ();
        fn get_bucket<'b>(&'a self, name: &'b str) -> Option<BucketRecord>;
        fn list_buckets<'b>(&'a self, query: &'b BucketQuery) -> Vec<BucketRecord>;
        fn delete_bucket<'b>(&'a self, name: &'b str) -> ();
        fn set_versioning<'b, 'c>(
            &'a self,
            bucket: &'b str,
            stamp: Option<&'c BucketStamp>,
            change: VersioningChange,
        ) -> ();
        fn get_object<'b, 'c>(&'a self, bucket: &'b str, key: &'c str) -> Option<ObjectRecord>;
        fn get_version<'b, 'c, 'd>(
            &'a self,
            bucket: &'b str,
            key: &'c str,
            which: &'d VersionSel,
        ) -> Option<VersionRecord>;
        fn put_object<'b>(&'a self, bucket: &'b str, object: ObjectRecord, cond: WriteCondition) -> Written;
        fn put_object_as<'b, 'c>(
            &'a self,
            bucket: &'b str,
            stamp: Option<&'c BucketStamp>,
            object: ObjectRecord,
            cond: WriteCondition,
        ) -> Written;
        fn edit_object_meta<'b, 'c, 'd, 'e>(
            &'a self,
            bucket: &'b str,
            stamp: Option<&'c BucketStamp>,
            key: &'d str,
            which: &'e VersionSel,
            edit: MetaEdit,
        ) -> ();
        fn set_object_acl<'b, 'c, 'd>(
            &'a self,
            bucket: &'b str,
            stamp: Option<&'c BucketStamp>,
            key: &'d str,
            acl: Option<coffer_types::CannedAcl>,
        ) -> ();
        fn delete_object<'b, 'c>(&'a self, bucket: &'b str, key: &'c str) -> bool;
        fn delete_version<'b, 'c, 'd, 'e>(
            &'a self,
            bucket: &'b str,
            stamp: Option<&'c BucketStamp>,
            key: &'d str,
            target: &'e DeleteTarget,
            lock: LockCheck,
        ) -> Deleted;
        fn list_objects<'b, 'c>(&'a self, bucket: &'b str, query: &'c ListQuery) -> Vec<ListEntry>;
        fn list_versions<'b, 'c>(&'a self, bucket: &'b str, query: &'c VersionListQuery) -> Vec<VersionEntry>;
        fn create_upload<'b>(&'a self, bucket: &'b str, upload: UploadRecord) -> ();
        fn get_upload<'b, 'c>(&'a self, bucket: &'b str, upload_id: &'c str) -> Option<UploadRecord>;
        fn put_part<'b, 'c>(&'a self, bucket: &'b str, upload_id: &'c str, part: PartRecord) -> ();
        fn list_parts<'b, 'c>(
            &'a self,
            bucket: &'b str,
            upload_id: &'c str,
            after: u32,
            limit: usize,
        ) -> Vec<PartRecord>;
        fn list_uploads<'b, 'c>(&'a self, bucket: &'b str, query: &'c UploadListQuery) -> Vec<UploadRecord>;
        fn complete_upload<'b, 'c>(
            &'a self,
            bucket: &'b str,
            upload_id: &'c str,
            object: ObjectRecord,
            cond: WriteCondition,
        ) -> Written;
        fn abort_upload<'b, 'c>(&'a self, bucket: &'b str, upload_id: &'c str) -> ();
        fn gc_pending(&'a self, queued_before: UnixMillis, limit: usize) -> Vec<BlobId>;
        fn gc_claim(
            &'a self,
            queued_before: UnixMillis,
            limit: usize,
            now: UnixMillis,
            claim_until: UnixMillis,
        ) -> Vec<BlobId>;
        fn gc_forget<'b>(&'a self, blobs: &'b [BlobId]) -> ();
        fn blobs_known<'b>(&'a self, blobs: &'b [BlobId]) -> HashSet<BlobId>;
        fn blob_refs<'b>(&'a self, start: std::ops::Bound<&'b BlobId>, limit: usize) -> Vec<BlobRef>;
        fn get_job_state<'b>(&'a self, name: &'b str) -> Option<String>;
        fn set_job_state<'b, 'c>(&'a self, name: &'b str, value: Option<&'c str>) -> ();
        fn job_states<'b>(&'a self, prefix: &'b str) -> Vec<(String, String, UnixMillis)>;
        fn acquire_lease<'b, 'c>(&'a self, name: &'b str, holder: &'c str, now: UnixMillis, until: UnixMillis) -> bool;
        fn release_lease<'b, 'c>(&'a self, name: &'b str, holder: &'c str) -> ();
        fn set_bucket_config<'b, 'c>(&'a self, bucket: &'b str, name: &'c str, value: Option<String>) -> ();
        fn set_bucket_config_as<'b, 'c, 'd>(
            &'a self,
            bucket: &'b str,
            stamp: Option<&'c BucketStamp>,
            name: &'d str,
            value: Option<String>,
        ) -> ();
        fn set_bucket_config_if<'b, 'c, 'd, 'e>(
            &'a self,
            bucket: &'b str,
            stamp: Option<&'c BucketStamp>,
            name: &'d str,
            if_current: Option<Option<&'e str>>,
            value: Option<String>,
        ) -> ();
        fn get_bucket_config<'b, 'c>(&'a self, bucket: &'b str, name: &'c str) -> Option<String>;
        fn set_project_config<'b, 'c>(&'a self, project: &'b str, name: &'c str, value: Option<String>) -> ();
        fn get_project_config<'b, 'c>(&'a self, project: &'b str, name: &'c str) -> Option<String>;
        fn bucket_totals<'b>(&'a self, bucket: &'b str) -> StoredTotals;
        fn project_totals<'b>(&'a self, project: &'b str) -> StoredTotals;
        fn set_quota<'b>(&'a self, scope: &'b QuotaScope, quota: Quota) -> ();
        fn get_quota<'b>(&'a self, scope: &'b QuotaScope) -> Quota;
        fn add_usage<'b>(&'a self, deltas: &'b [UsageDelta]) -> ();
        fn meter_storage(&'a self, now: UnixMillis) -> ();
        fn usage<'b>(&'a self, query: &'b UsageQuery) -> Vec<UsageRecord>;
        fn ping(&'a self) -> ();
    }
}

impl<S: IdentityStore + ?Sized> IdentityStore for InstrumentedMeta<S> {
    forward! { MetaError;
        fn create_project(&'a self, project: ProjectRecord) -> ();
        fn get_project<'b>(&'a self, name: &'b str) -> Option<ProjectRecord>;
        fn list_projects(&'a self) -> Vec<ProjectRecord>;
        fn delete_project<'b>(&'a self, name: &'b str) -> ();
        fn create_user(&'a self, user: UserRecord) -> ();
        fn get_user<'b, 'c>(&'a self, project: &'b str, name: &'c str) -> Option<UserRecord>;
        fn list_users<'b>(&'a self, project: &'b str) -> Vec<UserRecord>;
        fn set_user_policies<'b, 'c>(&'a self, user: &'b UserRecord, if_unchanged_from: Option<&'c UserRecord>) -> ();
        fn delete_user<'b, 'c>(&'a self, project: &'b str, name: &'c str) -> ();
        fn rename_user<'b, 'c, 'd, 'e>(
            &'a self,
            project: &'b str,
            name: &'c str,
            new_name: Option<&'d str>,
            new_path: Option<&'e str>,
        ) -> ();
        fn set_user_password<'b, 'c, 'd>(&'a self, project: &'b str, name: &'c str, hash: Option<&'d str>) -> ();
        fn create_access_key(&'a self, key: AccessKeyRecord) -> ();
        fn get_access_key<'b>(&'a self, access_key: &'b str) -> Option<AccessKeyRecord>;
        fn list_access_keys<'b, 'c>(&'a self, project: &'b str, user: Option<&'c str>) -> Vec<AccessKeyRecord>;
        fn set_access_key_status<'b>(&'a self, access_key: &'b str, status: KeyStatus) -> ();
        fn set_access_key_secret<'b, 'c>(&'a self, access_key: &'b str, sealed_secret: &'c str) -> ();
        fn set_access_key_secret_if<'b, 'c, 'd>(
            &'a self,
            access_key: &'b str,
            expected_sealed: &'c str,
            new_sealed: &'d str,
        ) -> bool;
        fn touch_access_key<'b>(&'a self, access_key: &'b str, when: UnixMillis) -> ();
        fn delete_access_key<'b>(&'a self, access_key: &'b str) -> bool;
        fn record_signin_failure<'b>(&'a self, scopes: &'b [String], at: UnixMillis, forget_before: UnixMillis) -> ();
        fn signin_failures<'b>(&'a self, scope: &'b str, since: UnixMillis) -> SigninFailures;
        fn session_generation<'b>(&'a self, principal: &'b str) -> u64;
        fn end_sessions<'b>(&'a self, principal: &'b str) -> u64;
    }
}

/// A blob store (`B`: a concrete store or `dyn BlobStore`) whose every call
/// is reported to a [`StoreObserver`] ([`StoreObserver::blob_call`]).
///
/// `create` and `read` are timed until they return the writer or the
/// stream, not while it is used: the bytes written or read are the
/// caller's time, not the store's answer.
pub struct InstrumentedBlobs<B: ?Sized> {
    inner: Arc<B>,
    obs: Arc<dyn StoreObserver>,
}

impl<B: ?Sized> InstrumentedBlobs<B> {
    /// Wraps `inner`, reporting to `obs`.
    pub fn new(inner: Arc<B>, obs: Arc<dyn StoreObserver>) -> Self {
        InstrumentedBlobs { inner, obs }
    }

    fn timed<'a, T: 'a>(
        &'a self,
        op: &'static str,
        fut: impl Future<Output = Result<T, BlobError>> + Send + 'a,
    ) -> Fut<'a, T, BlobError> {
        let obs = &*self.obs;
        timed(op, fut, blob_error_kind, move |op, secs, error| obs.blob_call(op, secs, error))
    }
}

impl<B: BlobStore + ?Sized> BlobStore for InstrumentedBlobs<B> {
    forward! { BlobError;
        fn create(&'a self) -> Box<dyn BlobWriter>;
        fn read<'b>(&'a self, id: &'b BlobId, offset: u64, len: u64) -> BlobStream;
        fn delete<'b>(&'a self, id: &'b BlobId) -> ();
        fn list<'b>(&'a self, before: SystemTime, from: Option<&'b ListCursor>, limit: usize) -> BlobPage;
        fn clean_temp(&'a self, before: SystemTime) -> usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use coffer_meta::Store;
    use futures::TryStreamExt as _;
    use std::sync::Mutex;

    /// One reported call: which store, the operation, the seconds, the error kind.
    type Call = (&'static str, &'static str, f64, Option<&'static str>);

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Call>>);

    impl Recorder {
        fn take(&self) -> Vec<Call> {
            self.0.lock().map(|mut calls| std::mem::take(&mut *calls)).unwrap_or_default()
        }
    }

    impl StoreObserver for Recorder {
        fn meta_call(&self, op: &'static str, secs: f64, error: Option<&'static str>) {
            if let Ok(mut calls) = self.0.lock() {
                calls.push(("meta", op, secs, error));
            }
        }
        fn blob_call(&self, op: &'static str, secs: f64, error: Option<&'static str>) {
            if let Ok(mut calls) = self.0.lock() {
                calls.push(("blob", op, secs, error));
            }
        }
    }

    /// The calls without their times, which must all be non-negative.
    fn ops(calls: Vec<Call>) -> Vec<(&'static str, &'static str, Option<&'static str>)> {
        assert!(calls.iter().all(|c| c.2 >= 0.0 && c.2.is_finite()), "{calls:?}");
        calls.into_iter().map(|(store, op, _, error)| (store, op, error)).collect()
    }

    #[tokio::test]
    async fn reports_every_call_with_its_error_kind() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let recorder = Arc::new(Recorder::default());
        let inner: Arc<dyn Store> = Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("meta.db"))?);
        let meta: Arc<dyn Store> = Arc::new(InstrumentedMeta::new(inner, recorder.clone()));
        let blob_inner: Arc<dyn BlobStore> = Arc::new(coffer_blob::FsBlobStore::open(dir.path().join("blobs"))?);
        let blobs: Arc<dyn BlobStore> = Arc::new(InstrumentedBlobs::new(blob_inner, recorder.clone()));

        meta.ping().await?;
        assert!(meta.get_bucket("missing").await?.is_none());
        assert!(matches!(meta.delete_project("missing").await, Err(MetaError::NotFound)));
        // A method with a default body is reported under its own name.
        assert!(meta.set_bucket_config("missing", "cors", None).await.is_err());
        assert_eq!(
            ops(recorder.take()),
            [
                ("meta", "ping", None),
                ("meta", "get_bucket", None),
                ("meta", "delete_project", Some("not_found")),
                ("meta", "set_bucket_config", Some("no_such_bucket")),
            ]
        );

        let mut writer = blobs.create().await?;
        writer.write(Bytes::from_static(b"hello")).await?;
        let id = writer.commit().await?;
        let read: Vec<Bytes> = blobs.read(&id, 0, 5).await?.try_collect().await?;
        assert_eq!(read.concat(), b"hello");
        blobs.delete(&id).await?;
        assert!(matches!(blobs.read(&id, 0, 5).await, Err(BlobError::NotFound(_))));
        assert_eq!(
            ops(recorder.take()),
            [
                ("blob", "create", None),
                ("blob", "read", None),
                ("blob", "delete", None),
                ("blob", "read", Some("not_found")),
            ]
        );
        Ok(())
    }
}
