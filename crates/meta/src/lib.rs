//! The metadata store: buckets, objects, multipart uploads, the blob garbage
//! queue, stored totals, quotas and usage behind one async trait,
//! [`MetaStore`]; projects, users and access keys behind [`IdentityStore`].
//!
//! Every piece of state that several gateways must agree on lives here (bucket
//! existence, objects, uploads, parts, identities, quotas, usage), so that a
//! PostgreSQL implementation can serve many stateless gateways without changing
//! the engine.
//!
//! Contract highlights (checked by [`conformance`], which every implementation runs):
//! - Each mutating call is atomic and durable when it returns `Ok`.
//! - Keys are compared bytewise (UTF-8 bytes, `memcmp` order). Delimiter
//!   listings are loose index scans ([`listing`]).
//! - Mutations that drop a blob reference (overwrite, delete, abort, complete with
//!   unused parts, re-uploaded part) enqueue the blob on the garbage queue in the
//!   same transaction; the caller never deletes blobs directly.
//!
//! Start reading at [`MetaStore`], then [`records`].

pub mod conformance;
mod error;
pub mod listing;
pub mod records;
pub mod tenancy;
pub mod versions;

pub use error::MetaError;
pub use listing::ListEntry;
pub use records::*;
pub use tenancy::*;
pub use versions::{
    DeleteTarget, Deleted, LockCheck, VersionEntry, VersionListQuery, VersionRecord, VersionSel, VersionSummary,
    VersioningChange,
};

/// The version a write made: `None` in an unversioned bucket, else its id
/// (`Some(None)`: the null version, as a bucket with versioning suspended
/// writes).
pub type Written = Option<Option<String>>;

use async_trait::async_trait;
use coffer_types::{BlobId, UnixMillis};
use std::collections::HashSet;
use std::ops::Bound;

/// How long a deleted bucket's name stays held for its last owner: a
/// bucket of that name made by another project, or in another region,
/// within this time is refused (`Conflict`, retry later; S3 too holds a
/// deleted name a while before it can be used again). A gateway keeps what
/// it read of a bucket for far less than this (the engine's bucket cache,
/// half a second), so no gateway ever authorizes a request against the
/// owner of a deleted bucket once its name belongs to someone else. Measured
/// by the store's own clock (PostgreSQL's, or the one SQLite process's).
pub const BUCKET_NAME_HOLD: std::time::Duration = std::time::Duration::from_secs(3);

/// Durable metadata, shared by every gateway of a deployment.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    /// Creates a bucket, with the versioning and object lock its record
    /// gives (a bucket made with object lock is enabled from the start).
    /// `BucketAlreadyExists` if the name is taken;
    /// `Conflict` (retry later) if a bucket of that name of another project
    /// or region was deleted less than [`BUCKET_NAME_HOLD`] ago.
    async fn create_bucket(&self, bucket: BucketRecord) -> Result<(), MetaError>;
    /// The bucket's record, if it exists.
    async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>, MetaError>;
    /// Buckets ordered by name, as `query` asks: one project's (a seek on
    /// the `(project, name)` index) or every project's, one page at a time.
    async fn list_buckets(&self, query: &BucketQuery) -> Result<Vec<BucketRecord>, MetaError>;
    /// Deletes an empty bucket (`BucketNotEmpty` otherwise, older versions
    /// and delete markers included); its in-progress
    /// multipart uploads are aborted and their parts queued for collection.
    /// The name stays held for its project and region for
    /// [`BUCKET_NAME_HOLD`] (see [`MetaStore::create_bucket`]).
    async fn delete_bucket(&self, name: &str) -> Result<(), MetaError>;

    /// Sets the bucket's versioning or turns object lock on
    /// (`InvalidBucketState` when the change is not allowed, see
    /// [`VersioningChange`]); with `stamp`, `NoSuchBucket` when the bucket
    /// is no longer that one. Writes committed after this one see it.
    async fn set_versioning(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        change: VersioningChange,
    ) -> Result<(), MetaError>;

    /// The current object under `key`, inline data included.
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>, MetaError>;
    /// The version of `key` that `which` names (a delete marker too), with
    /// inline data, or `None`. `NoSuchBucket` if the bucket is missing.
    async fn get_version(
        &self,
        bucket: &str,
        key: &str,
        which: &VersionSel,
    ) -> Result<Option<VersionRecord>, MetaError>;
    /// Stores `object` as its key's current version if `cond` holds (checked
    /// against the current version; a delete marker on top is no object)
    /// and the bucket's and its project's quotas allow the new totals
    /// (`QuotaExceeded` otherwise; a write that does not grow a total is never
    /// refused for it). What happens to the version it replaces follows the
    /// bucket's versioning as of the write's commit: unversioned, it is
    /// dropped (its blobs queued); enabled, it is kept as an older version
    /// and the new one gets `object.version_id`; suspended, the new one is
    /// the null version, a null version already there is dropped (unless
    /// it is locked: `ObjectLocked`, nothing written) and any other current
    /// version is kept. Every version counts in the totals and quotas.
    async fn put_object(&self, bucket: &str, object: ObjectRecord, cond: WriteCondition) -> Result<Written, MetaError> {
        self.put_object_as(bucket, None, object, cond).await
    }
    /// [`MetaStore::put_object`], refused with `NoSuchBucket` (nothing
    /// written) when `stamp` is given and the bucket is no longer that one.
    async fn put_object_as(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        object: ObjectRecord,
        cond: WriteCondition,
    ) -> Result<Written, MetaError>;
    /// Changes the headers of the version `which` names as `edit` says (its
    /// ACL, tags, retention, legal hold), keeping its data, ETag, time and
    /// every other header; `NoSuchKey` if there is none or it is a delete
    /// marker, `ObjectLocked` if its lock forbids the change. The change is
    /// made on the version as it is when the write commits, so an overwrite
    /// that lands between a caller's read and this call keeps its own
    /// headers (and checksum). With `stamp`, refused with `NoSuchBucket`
    /// when the bucket is no longer that one.
    async fn edit_object_meta(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        which: &VersionSel,
        edit: MetaEdit,
    ) -> Result<(), MetaError>;
    /// Sets the current object's canned ACL (`None`: private); see [`MetaStore::edit_object_meta`].
    async fn set_object_acl(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        acl: Option<coffer_types::CannedAcl>,
    ) -> Result<(), MetaError> {
        self.edit_object_meta(bucket, stamp, key, &VersionSel::Latest, MetaEdit::Acl(acl)).await
    }
    /// Deletes the key as a whole ([`DeleteTarget::Current`]: with
    /// versioning, a delete marker); `Ok(false)` when an unversioned bucket
    /// had no object under it.
    async fn delete_object(&self, bucket: &str, key: &str) -> Result<bool, MetaError> {
        let target = DeleteTarget::Current { marker: coffer_types::new_version_id() };
        Ok(self.delete_version(bucket, None, key, &target, LockCheck::default()).await?.found)
    }
    /// Deletes as `target` says, in one transaction. Removing a version for
    /// good is refused with `ObjectLocked` (nothing changed) when its lock
    /// forbids it at `lock.now`. When the current version or the delete
    /// marker on top is removed, the newest remaining version becomes the
    /// key's latest (current, if it is not a marker). A version that does
    /// not exist is `found: false` and nothing changes. With `stamp`,
    /// `NoSuchBucket` when the bucket is no longer that one.
    async fn delete_version(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        key: &str,
        target: &DeleteTarget,
        lock: LockCheck,
    ) -> Result<Deleted, MetaError>;
    /// The entries of `query` (objects, and with a delimiter common
    /// prefixes) in key order, at most `query.limit`, read on one snapshot.
    /// With a delimiter, the keys under a common prefix are not read: the
    /// store seeks past them ([`listing::ListScan`]), so the rows read grow
    /// with the entries returned, not with the keys below them.
    /// `NoSuchBucket` if the bucket is missing.
    async fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<Vec<ListEntry>, MetaError>;
    /// The versions (and delete markers) of `query`, key by key and newest
    /// first, as [`versions::VersionScan`] plans the reads, on one snapshot.
    /// A version marker that names no version resumes at the marker's key
    /// (every version of it left is listed again).
    async fn list_versions(&self, bucket: &str, query: &VersionListQuery) -> Result<Vec<VersionEntry>, MetaError>;

    /// Registers a new multipart upload in `bucket`.
    async fn create_upload(&self, bucket: &str, upload: UploadRecord) -> Result<(), MetaError>;
    /// The upload, if it is in progress.
    async fn get_upload(&self, bucket: &str, upload_id: &str) -> Result<Option<UploadRecord>, MetaError>;
    /// Records a part (replacing a part with the same number). `NoSuchUpload` if
    /// the upload is gone, `QuotaExceeded` if the stored bytes would pass a
    /// quota; in both cases the caller still owns `part.blob`.
    async fn put_part(&self, bucket: &str, upload_id: &str, part: PartRecord) -> Result<(), MetaError>;
    /// Parts with numbers above `after`, in order, at most `limit`.
    async fn list_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<Vec<PartRecord>, MetaError>;
    /// In-progress uploads ordered by (key, upload id).
    async fn list_uploads(&self, bucket: &str, query: &UploadListQuery) -> Result<Vec<UploadRecord>, MetaError>;
    /// Atomically turns the upload into `object` (whose segments are blobs of the
    /// upload's parts), ends the upload and queues unused parts for collection.
    /// Versions, conditions and quotas are as for `put_object`.
    async fn complete_upload(
        &self,
        bucket: &str,
        upload_id: &str,
        object: ObjectRecord,
        cond: WriteCondition,
    ) -> Result<Written, MetaError>;
    /// Ends the upload and queues its parts for collection.
    async fn abort_upload(&self, bucket: &str, upload_id: &str) -> Result<(), MetaError>;

    /// Blobs queued for collection at or before `queued_before`, at most `limit`.
    async fn gc_pending(&self, queued_before: UnixMillis, limit: usize) -> Result<Vec<BlobId>, MetaError>;
    /// Hands out up to `limit` blobs queued at or before `queued_before`
    /// that no claim holds at `now`, and claims them until `claim_until`, in
    /// one atomic step: collectors running at once (several gateways) are
    /// never handed the same blob while its claim lasts. A claim that runs
    /// out (its collector died before [`MetaStore::gc_forget`]) lets the blob
    /// be handed out again. [`MetaStore::gc_pending`] ignores claims.
    async fn gc_claim(
        &self,
        queued_before: UnixMillis,
        limit: usize,
        now: UnixMillis,
        claim_until: UnixMillis,
    ) -> Result<Vec<BlobId>, MetaError>;
    /// Forgets queued blobs once the blob store has deleted them.
    async fn gc_forget(&self, blobs: &[BlobId]) -> Result<(), MetaError>;
    /// Which of `blobs` the store still knows (referenced or queued). Blobs not
    /// in the answer are orphans of a crash and may be deleted.
    async fn blobs_known(&self, blobs: &[BlobId]) -> Result<HashSet<BlobId>, MetaError>;
    /// The blobs that objects, versions and upload parts refer to, in blob
    /// id order from `start`, at most `limit` (the scrubber's walk: page on
    /// with `Excluded(last)`; `Included(b)` with a limit of 1 asks whether
    /// `b` is still referred to). Blobs queued for collection are not listed.
    async fn blob_refs(&self, start: Bound<&BlobId>, limit: usize) -> Result<Vec<BlobRef>, MetaError>;

    /// Takes the lease `name` for `holder` until `until` (Unix millis) if it
    /// is free at `now`: never taken, released, run out, or `holder`'s own
    /// (then it is renewed). Returns whether `holder` holds it now. Across
    /// every handle of one database at most one holder has a lease in force:
    /// a background job that every gateway runs (the orphan sweep) takes one
    /// first, and a holder that died lets it run out. Holders' clocks must
    /// agree to well within the lease's length.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<bool, MetaError>;
    /// Gives the lease up if `holder` holds it (else nothing happens).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), MetaError>;
    /// A background job's state that every gateway sees (where the
    /// scrubber's pass has got to, when it last ended): a small document,
    /// read and written whole by the job's lease holder. `None`: never set.
    async fn get_job_state(&self, name: &str) -> Result<Option<String>, MetaError>;
    /// Sets a job's state (`None` removes it); `updated` becomes the
    /// writer's clock's now.
    async fn set_job_state(&self, name: &str, value: Option<&str>) -> Result<(), MetaError>;
    /// Every job state whose name starts with `prefix`: (name, value,
    /// updated), in bytewise name order; a range seek on the names (each
    /// server's report of its master keys is `keyring:<server>`).
    async fn job_states(&self, prefix: &str) -> Result<Vec<(String, String, UnixMillis)>, MetaError>;

    /// Sets (`Some`) or removes (`None`) a named bucket configuration document
    /// (e.g. `cors`), stored as the text it was given.
    async fn set_bucket_config(&self, bucket: &str, name: &str, value: Option<String>) -> Result<(), MetaError> {
        self.set_bucket_config_as(bucket, None, name, value).await
    }
    /// [`MetaStore::set_bucket_config`], refused with `NoSuchBucket` when
    /// `stamp` is given and the bucket is no longer that one.
    async fn set_bucket_config_as(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        name: &str,
        value: Option<String>,
    ) -> Result<(), MetaError> {
        self.set_bucket_config_if(bucket, stamp, name, None, value).await
    }
    /// [`MetaStore::set_bucket_config_as`], and with `if_current` only if the
    /// stored value is still `if_current`'s (`Some(None)`: none is set);
    /// else `PreconditionFailed` and nothing written. An edit of a document
    /// it read (the console's public switch on the bucket policy) must not
    /// undo a change that committed in between.
    async fn set_bucket_config_if(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        name: &str,
        if_current: Option<Option<&str>>,
        value: Option<String>,
    ) -> Result<(), MetaError>;
    /// A named bucket configuration, if set. `NoSuchBucket` if the bucket is missing.
    async fn get_bucket_config(&self, bucket: &str, name: &str) -> Result<Option<String>, MetaError>;

    /// Sets (`Some`) or removes (`None`) a named setting of a project as a
    /// whole (e.g. its Block Public Access switches), stored as the text it
    /// was given. Stored whether or not the project exists, as a project
    /// quota is; deleted with the project.
    async fn set_project_config(&self, project: &str, name: &str, value: Option<String>) -> Result<(), MetaError>;
    /// A named setting of a project, if set.
    async fn get_project_config(&self, project: &str, name: &str) -> Result<Option<String>, MetaError>;

    /// What the bucket holds now (kept in the same transaction as every
    /// object and part write). `NoSuchBucket` if it is missing.
    async fn bucket_totals(&self, bucket: &str) -> Result<StoredTotals, MetaError>;
    /// The sum of [`MetaStore::bucket_totals`] over the project's buckets.
    async fn project_totals(&self, project: &str) -> Result<StoredTotals, MetaError>;
    /// Sets a quota; a quota with both limits `None` removes it. Setting a
    /// bucket quota on a missing bucket is `NoSuchBucket`; a project quota is
    /// stored whether or not the project exists (the identity layer checks
    /// that). A bucket's quota goes with the bucket when it is deleted, a
    /// project's with the project. Limits above `i64::MAX` are stored as
    /// `i64::MAX`.
    async fn set_quota(&self, scope: &QuotaScope, quota: Quota) -> Result<(), MetaError>;
    /// The quota of a project or bucket (unlimited when none is set).
    /// `NoSuchBucket` for a missing bucket.
    async fn get_quota(&self, scope: &QuotaScope) -> Result<Quota, MetaError>;

    /// Adds traffic to hourly usage records (creating them as needed). An
    /// `hour` that is not a multiple of 3600 counts in the hour it falls in.
    async fn add_usage(&self, deltas: &[UsageDelta]) -> Result<(), MetaError>;
    /// Integrates every bucket's stored bytes from the time it was last
    /// metered (or created) up to `now` into its hourly records, split at
    /// hour boundaries, and records the current totals in the record of the
    /// hour `now` falls in. Atomic, so several gateways metering at once never
    /// count a second twice; a bucket already metered up to `now` or later is
    /// left alone. Hours in which a bucket stored nothing get no record.
    async fn meter_storage(&self, now: UnixMillis) -> Result<(), MetaError>;
    /// Hourly usage records matching `query`, ordered by (hour, bucket).
    async fn usage(&self, query: &UsageQuery) -> Result<Vec<UsageRecord>, MetaError>;

    /// Whether the store can answer queries now (for readiness probes).
    async fn ping(&self) -> Result<(), MetaError>;
}

/// Who may act: projects, their users and access keys. Implemented by the
/// same stores as [`MetaStore`] (a deployment shares one database), checked
/// by the same [`conformance`] suite.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// `AlreadyExists` if the name is taken: by a project, or by one that
    /// was deleted (a name is never reused: bucket policies and objects of
    /// other projects may still name it).
    async fn create_project(&self, project: ProjectRecord) -> Result<(), MetaError>;
    async fn get_project(&self, name: &str) -> Result<Option<ProjectRecord>, MetaError>;
    /// Every project, ordered by name.
    async fn list_projects(&self) -> Result<Vec<ProjectRecord>, MetaError>;
    /// Deletes a project with its users, keys and quota. `NotEmpty` while it
    /// owns buckets, `NotFound` if it is missing. Usage records stay.
    async fn delete_project(&self, name: &str) -> Result<(), MetaError>;

    /// `NotFound` if the project is missing, `AlreadyExists` if the user exists.
    async fn create_user(&self, user: UserRecord) -> Result<(), MetaError>;
    async fn get_user(&self, project: &str, name: &str) -> Result<Option<UserRecord>, MetaError>;
    /// The project's users ordered by name.
    async fn list_users(&self, project: &str) -> Result<Vec<UserRecord>, MetaError>;
    /// Replaces the user's policies (inline and attached); `NotFound` if
    /// missing. With `if_unchanged_from`, only if the stored policies are
    /// still that record's (else `PreconditionFailed`, nothing written): an
    /// edit read, changed and saved must not undo one that committed in
    /// between (a detached policy coming back).
    async fn set_user_policies(
        &self,
        user: &UserRecord,
        if_unchanged_from: Option<&UserRecord>,
    ) -> Result<(), MetaError>;
    /// Deletes the user and its keys; `NotFound` if missing.
    async fn delete_user(&self, project: &str, name: &str) -> Result<(), MetaError>;
    /// Renames the user and/or moves it to another path (`None`: unchanged),
    /// keeping everything else. A new name is carried to the user's access
    /// keys in the same transaction. `NotFound` if the user is missing,
    /// `AlreadyExists` if `new_name` is another user's (names compare
    /// exactly here; the identity layer also refuses case variants).
    async fn rename_user(
        &self,
        project: &str,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), MetaError>;
    /// Sets (`Some`, a PHC string made by the identity layer) or removes
    /// (`None`) the user's console password hash, keeping everything else.
    /// `NotFound` if the user is missing.
    async fn set_user_password(&self, project: &str, name: &str, hash: Option<&str>) -> Result<(), MetaError>;

    /// Stores a new key; `AlreadyExists` if the id is taken, `NotFound` if its
    /// user is missing (operator keys, project [`OPERATOR_PROJECT`], need no user).
    async fn create_access_key(&self, key: AccessKeyRecord) -> Result<(), MetaError>;
    async fn get_access_key(&self, access_key: &str) -> Result<Option<AccessKeyRecord>, MetaError>;
    /// The keys of a project, or of one of its users, ordered by (user, created, id).
    async fn list_access_keys(&self, project: &str, user: Option<&str>) -> Result<Vec<AccessKeyRecord>, MetaError>;
    /// `NotFound` if the key is missing.
    async fn set_access_key_status(&self, access_key: &str, status: KeyStatus) -> Result<(), MetaError>;
    /// Replaces the sealed secret (re-sealing under a new master key or
    /// format). `NotFound` if the key is missing.
    async fn set_access_key_secret(&self, access_key: &str, sealed_secret: &str) -> Result<(), MetaError>;
    /// Replaces the sealed secret only if it is still `expected_sealed`, in
    /// one statement: `Ok(true)` when replaced, `Ok(false)` when the stored
    /// value differs (changed meanwhile) or the key is gone. Re-sealing
    /// under a new master key uses it, so it never undoes a concurrent
    /// change of the key.
    async fn set_access_key_secret_if(
        &self,
        access_key: &str,
        expected_sealed: &str,
        new_sealed: &str,
    ) -> Result<bool, MetaError>;
    /// Records a use; never moves `last_used` backwards. A key deleted
    /// meanwhile is ignored (`Ok`).
    async fn touch_access_key(&self, access_key: &str, when: UnixMillis) -> Result<(), MetaError>;
    /// `Ok(false)` when there was no such key.
    async fn delete_access_key(&self, access_key: &str) -> Result<bool, MetaError>;

    /// Records one failed console sign-in at `at` under each of `scopes`
    /// (opaque keys chosen by the caller, e.g. one for the client address and
    /// one for the address and account), and forgets every failure recorded
    /// before `forget_before`, in one transaction. Every gateway of the
    /// deployment counts into the same records.
    async fn record_signin_failure(
        &self,
        scopes: &[String],
        at: UnixMillis,
        forget_before: UnixMillis,
    ) -> Result<(), MetaError>;
    /// The failures recorded under `scope` at or after `since`: how many and
    /// when the oldest of them was. An indexed lookup, cheap enough to run
    /// before every sign-in.
    async fn signin_failures(&self, scope: &str, since: UnixMillis) -> Result<SigninFailures, MetaError>;

    /// The console session generation of `principal` (an opaque key chosen
    /// by the console): 0 until [`IdentityStore::end_sessions`] is called.
    async fn session_generation(&self, principal: &str) -> Result<u64, MetaError>;
    /// Ends every console session of `principal` issued so far by adding
    /// one to its generation, atomically; returns the new generation.
    async fn end_sessions(&self, principal: &str) -> Result<u64, MetaError>;
}

/// Both traits on one store, as deployments use them (one database). Every
/// type implementing both is a `Store`; the [`conformance`] suite takes one.
pub trait Store: MetaStore + IdentityStore {}

impl<T: MetaStore + IdentityStore> Store for T {}
