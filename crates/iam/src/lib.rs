//! Who may do what in Coffer.
//!
//! - **Projects** (tenants) own buckets, users, keys, quotas and usage. Each
//!   has a root user, created with it, with full access to the project.
//! - **Users** carry IAM policy documents (inline, or attached presets).
//! - **Access keys** belong to a user of a project and work in one region.
//!   Their secrets are sealed under the master key ([`seal`]); a secret is
//!   handed out once, at creation.
//! - **Resolution** ([`Iam::resolve`]) turns the access key of a request into
//!   its secret and [`Principal`], reading the store every time: a deleted or
//!   deactivated key fails at its next request.
//! - **Console passwords** ([`Iam::set_password`], [`Iam::check_password`])
//!   are stored as Argon2id hashes on the user record, never in clear.
//! - **Authorization** ([`authz::decide`]) combines the principal's identity
//!   policies, the bucket policy and the canned ACL, explicit deny first.
//!
//! Architecture invariant: no HTTP, no SQL. State lives behind
//! [`coffer_meta::IdentityStore`]; the front-ends (S3 API, IAM API, admin API,
//! console) all go through [`Iam`].

pub mod authz;
mod error;
mod keys;
pub mod names;
mod passwords;
mod principal;
mod projects;
pub mod seal;
mod users;

pub use error::IamError;
pub use keys::{CreatedKey, NewKey, ResolveError, Resolved};
pub use passwords::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
pub use principal::{user_arn, Principal, UserPrincipal};
pub use users::Permissions;

use coffer_meta::IdentityStore;
use seal::MasterKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// At most this many access keys per user.
pub const MAX_KEYS_PER_USER: usize = 100;

/// The identity use cases, shared by every front-end.
#[derive(Clone)]
pub struct Iam {
    store: Arc<dyn IdentityStore>,
    master: Arc<MasterKey>,
    /// The regions this deployment serves; the first is the default.
    regions: Arc<Vec<String>>,
    /// When each key's last use was last written (writes are throttled).
    touched: Arc<Mutex<HashMap<String, coffer_types::UnixMillis>>>,
}

impl Iam {
    /// The identity service over `store`, sealing with `master`, serving
    /// `regions` (non-empty; the first is where keys go by default).
    pub fn new(store: Arc<dyn IdentityStore>, master: MasterKey, regions: Vec<String>) -> Self {
        Iam { store, master: Arc::new(master), regions: Arc::new(regions), touched: Default::default() }
    }

    /// The regions served, default first.
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// The store (for front-ends that list records).
    pub fn store(&self) -> &Arc<dyn IdentityStore> {
        &self.store
    }
}

#[cfg(test)]
mod tests;
