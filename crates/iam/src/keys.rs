//! Access keys: creation (the secret is returned once), listing without
//! secrets, status, deletion, and resolution of a request's key.

use crate::names;
use crate::principal::{Principal, UserPrincipal};
use crate::resolved::Found;
use crate::seal::MasterKey;
use crate::{Iam, IamError, MAX_KEYS_PER_USER};
use coffer_meta::{AccessKeyRecord, KeyStatus, MetaError, OPERATOR_PROJECT};
use coffer_types::UnixMillis;
use std::sync::Arc;

/// A key to create.
#[derive(Clone, Debug, Default)]
pub struct NewKey {
    pub project: String,
    /// Default: the project's root user.
    pub user: Option<String>,
    /// Default: the deployment's first region.
    pub region: Option<String>,
    pub expires: Option<UnixMillis>,
}

/// A created key: the only time its secret is seen.
#[derive(Clone)]
pub struct CreatedKey {
    pub record: AccessKeyRecord,
    pub secret: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey").field("record", &self.record).field("secret", &"<redacted>").finish()
    }
}

/// Why a request's access key is refused.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("The AWS Access Key Id you provided does not exist in our records.")]
    Unknown,
    #[error("The AWS Access Key Id you provided is inactive.")]
    Inactive,
    #[error("The AWS Access Key Id you provided has expired.")]
    Expired,
    /// The key belongs to another region than the endpoint's.
    #[error("The AWS Access Key Id you provided does not exist in this region.")]
    WrongRegion,
    #[error("identity lookup failed: {0}")]
    Failed(#[from] IamError),
}

/// A request's key, resolved.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub secret: String,
    pub principal: Principal,
    /// When the key was last used, as stored (for [`Iam::record_use`]).
    pub last_used: Option<UnixMillis>,
}

/// Last-used times are written at most this often per key.
const TOUCH_EVERY_MS: UnixMillis = 60_000;

impl Iam {
    /// Creates a key for a project user in a region.
    pub async fn create_key(&self, req: &NewKey) -> Result<CreatedKey, IamError> {
        self.project(&req.project).await?;
        let user = req.user.clone().unwrap_or_else(|| names::ROOT_USER.to_owned());
        // The stored spelling of the name (it is found in any case).
        let user = self.user(&req.project, &user).await?.name;
        let region = match &req.region {
            Some(r) if !self.regions.contains(r) => return Err(IamError::UnknownRegion(r.clone())),
            Some(r) => r.clone(),
            None => self.regions.first().cloned().unwrap_or_default(),
        };
        if self.store.list_access_keys(&req.project, Some(&user)).await?.len() >= MAX_KEYS_PER_USER {
            return Err(IamError::TooManyKeys(MAX_KEYS_PER_USER));
        }
        let secret = names::new_secret();
        loop {
            let access_key = names::new_access_key();
            let record = AccessKeyRecord {
                sealed_secret: self.keyring().seal(&access_key, &secret)?,
                access_key,
                project: req.project.clone(),
                user: user.clone(),
                region: region.clone(),
                status: KeyStatus::Active,
                created: coffer_types::now_millis(),
                expires: req.expires,
                last_used: None,
            };
            match self.store.create_access_key(record.clone()).await {
                // 18 random characters collide about never; try again if they do.
                Err(MetaError::AlreadyExists) => continue,
                Err(MetaError::NotFound) => return Err(IamError::NoSuchUser(user)),
                r => r?,
            }
            return Ok(CreatedKey { record, secret });
        }
    }

    /// The key's record (never its secret).
    pub async fn key(&self, access_key: &str) -> Result<AccessKeyRecord, IamError> {
        self.store.get_access_key(access_key).await?.ok_or_else(|| IamError::NoSuchKey(access_key.into()))
    }

    /// Keys of a project, or of one of its users.
    pub async fn list_keys(&self, project: &str, user: Option<&str>) -> Result<Vec<AccessKeyRecord>, IamError> {
        self.project(project).await?;
        let user = match user {
            Some(u) => Some(self.user(project, u).await?.name),
            None => None,
        };
        Ok(self.store.list_access_keys(project, user.as_deref()).await?)
    }

    /// Activates or deactivates a key; effective from the next request.
    pub async fn set_key_status(&self, access_key: &str, status: KeyStatus) -> Result<(), IamError> {
        let r = self.store.set_access_key_status(access_key, status).await;
        self.identities_changed();
        match r {
            Err(MetaError::NotFound) => Err(IamError::NoSuchKey(access_key.into())),
            r => Ok(r?),
        }
    }

    /// Deletes a key; effective from the next request.
    pub async fn delete_key(&self, access_key: &str) -> Result<(), IamError> {
        let deleted = self.store.delete_access_key(access_key).await;
        self.identities_changed();
        if deleted? {
            self.touched.lock().unwrap_or_else(|p| p.into_inner()).remove(access_key);
            Ok(())
        } else {
            Err(IamError::NoSuchKey(access_key.into()))
        }
    }

    /// Stores (or replaces) an operator key, sealed.
    pub async fn put_operator_key(&self, access_key: &str, secret: &str) -> Result<(), IamError> {
        let sealed = self.keyring().seal(access_key, secret)?;
        if self.store.get_access_key(access_key).await?.is_some() {
            let r = self.store.set_access_key_secret(access_key, &sealed).await;
            self.identities_changed();
            return Ok(r?);
        }
        let record = AccessKeyRecord {
            access_key: access_key.to_owned(),
            sealed_secret: sealed.clone(),
            project: OPERATOR_PROJECT.to_owned(),
            user: "operator".into(),
            region: String::new(),
            status: KeyStatus::Active,
            created: coffer_types::now_millis(),
            expires: None,
            last_used: None,
        };
        match self.store.create_access_key(record).await {
            // Another gateway starting at the same time made it first.
            Err(MetaError::AlreadyExists) => {
                let r = self.store.set_access_key_secret(access_key, &sealed).await;
                self.identities_changed();
                Ok(r?)
            }
            other => Ok(other?),
        }
    }

    /// The secret of an operator key, if that key exists and is the operator's.
    pub async fn operator_secret(&self, access_key: &str) -> Result<Option<String>, IamError> {
        match self.store.get_access_key(access_key).await? {
            Some(k) if k.project == OPERATOR_PROJECT => Ok(Some(self.keyring().open(access_key, &k.sealed_secret)?)),
            _ => Ok(None),
        }
    }

    /// Seals every secret still stored in the clear (rows migrated from the
    /// first schema). Returns how many were sealed. Each write is a
    /// compare-and-set: a key changed meanwhile (by another gateway, or a
    /// rotation's re-sealing) is left as that change made it.
    pub async fn reseal_plain_keys(&self) -> Result<usize, IamError> {
        let mut n = 0;
        let keys = self.keyring();
        for k in self.store.list_access_keys(OPERATOR_PROJECT, None).await? {
            if MasterKey::is_plain(&k.sealed_secret) {
                let secret = keys.open(&k.access_key, &k.sealed_secret)?;
                let sealed = keys.seal(&k.access_key, &secret)?;
                let r = self.store.set_access_key_secret_if(&k.access_key, &k.sealed_secret, &sealed).await;
                self.identities_changed();
                if r? {
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// The secret and principal of a request's access key, for a request
    /// through `region`'s endpoint (`None`: a global API, IAM or admin) at
    /// `now`. Reads the store unless this process resolved the key within
    /// [`crate::RESOLVE_TTL`]; the status, expiry and region are checked
    /// every time.
    pub async fn resolve(
        &self,
        access_key: &str,
        region: Option<&str>,
        now: UnixMillis,
    ) -> Result<Resolved, ResolveError> {
        let found = match self.resolved.get(access_key) {
            Some(f) => f,
            None => self.resolve_from_store(access_key).await?,
        };
        let key = &found.key;
        if key.status == KeyStatus::Inactive {
            return Err(ResolveError::Inactive);
        }
        if key.expires.is_some_and(|e| e <= now) {
            return Err(ResolveError::Expired);
        }
        if region.is_some_and(|r| !key.region.is_empty() && key.region != r) {
            return Err(ResolveError::WrongRegion);
        }
        Ok(Resolved { secret: found.secret.clone(), principal: found.principal.clone(), last_used: key.last_used })
    }

    async fn resolve_from_store(&self, access_key: &str) -> Result<Arc<Found>, ResolveError> {
        let generation = self.resolved.generation();
        let read_at = std::time::Instant::now();
        let key = self.store.get_access_key(access_key).await.map_err(IamError::from)?.ok_or(ResolveError::Unknown)?;
        let secret = self.keyring().open(access_key, &key.sealed_secret).map_err(IamError::from)?;
        let principal = if key.project == OPERATOR_PROJECT {
            Principal::Operator { access_key: key.access_key.clone() }
        } else {
            // The key outlives nothing: a missing user means it is being deleted
            // (or was renamed between the two reads; the next request finds it).
            let user = self
                .store
                .get_user(&key.project, &key.user)
                .await
                .map_err(IamError::from)?
                .ok_or(ResolveError::Unknown)?;
            Principal::User(UserPrincipal {
                policies: if user.root { Vec::new() } else { Iam::policies_of(&user) },
                project: key.project.clone(),
                user: key.user.clone(),
                path: user.path,
                root: user.root,
                access_key: key.access_key.clone(),
            })
        };
        let found = Arc::new(Found { key, secret, principal });
        self.resolved.put(generation, read_at, found.clone());
        Ok(found)
    }

    /// Forgets every key this process resolved: an identity changed.
    pub(crate) fn identities_changed(&self) {
        self.resolved.changed();
    }

    /// Records a use of a key whose signature checked out (so a bare key id
    /// cannot move it): at most once a minute per key, off the request path.
    pub fn record_use(&self, resolved: &Resolved, now: UnixMillis) {
        let Some(ak) = resolved.principal.access_key() else { return };
        if resolved.last_used.is_some_and(|t| now - t < TOUCH_EVERY_MS) {
            return;
        }
        {
            let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            if touched.get(ak).is_some_and(|t| now - *t < TOUCH_EVERY_MS) {
                return;
            }
            touched.insert(ak.to_owned(), now);
        }
        let store = self.store.clone();
        let ak = ak.to_owned();
        tokio::spawn(async move {
            if let Err(e) = store.touch_access_key(&ak, now).await {
                tracing::warn!(access_key = %ak, error = %e, "recording key use failed");
            }
        });
    }
}
