//! Who may do what in Coffer.
//!
//! - **Projects** (tenants) own buckets, users, keys, quotas and usage. Each
//!   has a root user, created with it, with full access to the project.
//! - **Users** carry IAM policy documents (inline, or attached presets).
//! - **Access keys** belong to a user of a project and work in one region.
//!   Their secrets are sealed under the master key ([`seal`]); a secret is
//!   handed out once, at creation. The master keys form a [`seal::Keyring`]
//!   that can be swapped while serving ([`Iam::set_keyring`]); rotation
//!   re-seals every stored secret under the new first key
//!   ([`Iam::reseal_all`], `reseal.rs`).
//! - **Resolution** ([`Iam::resolve`]) turns the access key of a request into
//!   its secret and [`Principal`]. A process keeps what it resolved for at
//!   most [`RESOLVE_TTL`] ([`resolved`]), and forgets all of it when an
//!   identity changes through it: a key deleted or deactivated here fails at
//!   its next request, one changed through another gateway within the TTL.
//! - **Console passwords** ([`Iam::set_password`], [`Iam::check_password`])
//!   are stored as Argon2id hashes on the user record, never in clear, and
//!   hashed on a few threads of their own, a bounded number at a time.
//! - **Authorization** ([`authz::decide`]) combines the principal's identity
//!   policies, the bucket policy and the canned ACL, explicit deny first.
//!
//! Architecture invariant: no HTTP, no SQL. State lives behind
//! [`coffer_meta::IdentityStore`]; the front-ends (S3 API, IAM API, admin API,
//! console) all go through [`Iam`].

pub mod authz;
mod error;
mod hasher;
mod keys;
pub mod names;
mod passwords;
mod principal;
mod projects;
mod reseal;
mod resolved;
pub mod seal;
mod users;

pub use error::IamError;
pub use hasher::{PasswordStats, SIGNIN_WAIT, THREADS as PASSWORD_THREADS};
pub use keys::{CreatedKey, NewKey, ResolveError, Resolved};
pub use passwords::{SigninError, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
pub use principal::{user_arn, Principal, UserPrincipal};
pub use reseal::ResealReport;
pub use resolved::RESOLVE_TTL;
pub use users::Permissions;

use coffer_meta::IdentityStore;
use seal::Keyring;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// At most this many access keys per user.
pub const MAX_KEYS_PER_USER: usize = 100;

/// The identity use cases, shared by every front-end.
#[derive(Clone)]
pub struct Iam {
    store: Arc<dyn IdentityStore>,
    /// The master keys: the first seals, all open. Shared by every clone
    /// and replaced whole by [`Iam::set_keyring`].
    keyring: Arc<RwLock<Arc<Keyring>>>,
    /// The regions this deployment serves; the first is the default.
    regions: Arc<Vec<String>>,
    /// When each key's last use was last written (writes are throttled).
    touched: Arc<Mutex<HashMap<String, coffer_types::UnixMillis>>>,
    /// Where passwords are hashed and verified, a bounded few at a time.
    hasher: Arc<hasher::Hasher>,
    /// How long a sign-in waits for a password slot.
    signin_wait: std::time::Duration,
    /// Keys resolved lately ([`resolved`]).
    resolved: Arc<resolved::ResolveCache>,
}

impl Iam {
    /// The identity service over `store`, sealing with `keys` (a
    /// [`seal::MasterKey`] or a whole [`Keyring`]), serving `regions`
    /// (non-empty; the first is where keys go by default).
    pub fn new(store: Arc<dyn IdentityStore>, keys: impl Into<Keyring>, regions: Vec<String>) -> Self {
        Iam {
            store,
            keyring: Arc::new(RwLock::new(Arc::new(keys.into()))),
            regions: Arc::new(regions),
            touched: Default::default(),
            hasher: Arc::new(hasher::Hasher::new(hasher::THREADS)),
            signin_wait: hasher::SIGNIN_WAIT,
            resolved: Arc::new(resolved::ResolveCache::new(RESOLVE_TTL)),
        }
    }

    /// The same service keeping resolved keys for `ttl` instead of
    /// [`RESOLVE_TTL`] (zero: read the store on every request). Clones made
    /// before keep the old cache.
    pub fn with_resolve_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.resolved = Arc::new(resolved::ResolveCache::new(ttl));
        self
    }

    /// The same service with `threads` password threads (at least one) and
    /// sign-ins waiting at most `signin_wait` for one of them, instead of
    /// [`PASSWORD_THREADS`] and [`SIGNIN_WAIT`]. Clones made before keep
    /// the old worker.
    pub fn with_password_limits(mut self, threads: usize, signin_wait: std::time::Duration) -> Self {
        self.hasher = Arc::new(hasher::Hasher::new(threads));
        self.signin_wait = signin_wait;
        self
    }

    /// What the password worker has done (shared by this service's clones).
    pub fn password_stats(&self) -> PasswordStats {
        self.hasher.stats()
    }

    /// The regions served, default first.
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// The master keys in use now (a snapshot: a later
    /// [`Iam::set_keyring`] does not change it).
    pub fn keyring(&self) -> Arc<Keyring> {
        self.keyring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the master keys, for this service and every clone: from
    /// now on values are sealed under `keys`' first key and opened under
    /// any of them. Resolved keys are kept (their secrets did not change).
    pub fn set_keyring(&self, keys: Keyring) {
        *self.keyring.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
    }

    /// The ids of the master keys in use, the one that seals first.
    pub fn keyring_ids(&self) -> Vec<seal::KeyId> {
        self.keyring().ids()
    }

    /// The store (for front-ends that list records).
    pub fn store(&self) -> &Arc<dyn IdentityStore> {
        &self.store
    }
}

#[cfg(test)]
mod tests;
