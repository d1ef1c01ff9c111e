//! Re-sealing every stored secret under the master key that seals now: the
//! middle step of a master-key rotation (`coffer master-key rotate`).
//!
//! A pass walks every project's access keys and the operator's. A secret
//! not yet under the ring's first key is opened with the ring, sealed under
//! the first key and written back with a compare-and-set
//! ([`coffer_meta::IdentityStore::set_access_key_secret_if`]): a key
//! changed or deleted meanwhile (through any gateway) is never overwritten
//! with the value read before. Servers keep answering throughout: every one
//! of them opens both the old and the new values while both keys are in
//! their rings.

use crate::seal::{KeyId, Keyring};
use crate::{Iam, IamError};
use coffer_meta::{AccessKeyRecord, OPERATOR_PROJECT};

/// What one re-sealing pass did. Names keys by id only, never a secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// The key every secret is now sealed under.
    pub sealed_under: Option<KeyId>,
    /// Secrets re-sealed by this pass.
    pub resealed: usize,
    /// Secrets found already sealed under the current key.
    pub already_current: usize,
    /// Keys deleted meanwhile, or changed twice under the pass (whoever
    /// changed them sealed under the ring in use then; the next pass looks
    /// again).
    pub skipped: usize,
    /// Access key ids whose secret no key of the ring opens.
    pub failed: Vec<String>,
}

impl ResealReport {
    /// Every key seen: resealed, current, skipped or failed.
    pub fn seen(&self) -> usize {
        self.resealed + self.already_current + self.skipped + self.failed.len()
    }
}

/// What became of one key.
enum Outcome {
    Resealed,
    Current,
    Skipped,
    Failed,
}

impl Iam {
    /// One re-sealing pass over every access key (every project's, and the
    /// operator's) with the ring in use when the pass starts: each secret
    /// not under its first key is re-sealed under it. A secret no key of
    /// the ring opens is left as it is and named in
    /// [`ResealReport::failed`]. Errors only when the store fails.
    pub async fn reseal_all(&self) -> Result<ResealReport, IamError> {
        let keys = self.keyring();
        let mut report = ResealReport { sealed_under: Some(keys.current().id()), ..Default::default() };
        let mut projects: Vec<String> = self.store.list_projects().await?.into_iter().map(|p| p.name).collect();
        projects.push(OPERATOR_PROJECT.to_owned());
        for project in projects {
            for key in self.store.list_access_keys(&project, None).await? {
                match self.reseal_one(&keys, key).await? {
                    (Outcome::Resealed, _) => report.resealed += 1,
                    (Outcome::Current, _) => report.already_current += 1,
                    (Outcome::Skipped, _) => report.skipped += 1,
                    (Outcome::Failed, id) => report.failed.push(id),
                }
            }
        }
        if report.resealed > 0 {
            // The secrets are the same; the kept records hold the old values.
            self.identities_changed();
        }
        Ok(report)
    }

    /// Re-seals one key's secret: a lost compare-and-set is read again and
    /// tried once more.
    async fn reseal_one(&self, keys: &Keyring, mut key: AccessKeyRecord) -> Result<(Outcome, String), IamError> {
        for attempt in 0..2 {
            if keys.is_current(&key.sealed_secret) {
                return Ok((Outcome::Current, key.access_key));
            }
            let Ok(secret) = keys.open(&key.access_key, &key.sealed_secret) else {
                return Ok((Outcome::Failed, key.access_key));
            };
            let sealed = keys.seal(&key.access_key, &secret)?;
            if self.store.set_access_key_secret_if(&key.access_key, &key.sealed_secret, &sealed).await? {
                return Ok((Outcome::Resealed, key.access_key));
            }
            if attempt == 0 {
                match self.store.get_access_key(&key.access_key).await? {
                    Some(again) => key = again,
                    None => break,
                }
            }
        }
        Ok((Outcome::Skipped, key.access_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::MasterKey;
    use crate::NewKey;
    use coffer_meta::IdentityStore;
    use std::sync::Arc;

    const OLD: [u8; 32] = [1u8; 32];
    const NEW: [u8; 32] = [2u8; 32];

    fn ring(keys: &[[u8; 32]]) -> Keyring {
        Keyring::new(keys.iter().map(MasterKey::from_bytes).collect()).unwrap()
    }

    async fn setup() -> (Iam, Arc<coffer_meta_sqlite::SqliteMetaStore>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("m.db")).unwrap());
        let iam = Iam::new(store.clone(), MasterKey::from_bytes(&OLD), vec!["r1".into()])
            .with_resolve_ttl(std::time::Duration::ZERO);
        (iam, store, dir)
    }

    async fn new_key(iam: &Iam, project: &str) -> crate::CreatedKey {
        iam.create_key(&NewKey { project: project.into(), ..Default::default() }).await.unwrap()
    }

    async fn secret_of(iam: &Iam, access_key: &str) -> String {
        iam.resolve(access_key, None, coffer_types::now_millis()).await.unwrap().secret
    }

    #[tokio::test]
    async fn every_secret_moves_to_the_new_key_and_keeps_working() {
        let (iam, store, _d) = setup().await;
        iam.create_project("a").await.unwrap();
        iam.create_project("b").await.unwrap();
        let (ka, kb) = (new_key(&iam, "a").await, new_key(&iam, "b").await);
        iam.put_operator_key("OPKEY", "opsecret").await.unwrap();
        let ops = store.get_access_key("OPKEY").await.unwrap().unwrap();
        // A value from before key ids, and one from the first schema.
        store.set_access_key_secret(&kb.record.access_key, "plain:legacy-b").await.unwrap();
        let other = iam.clone();
        iam.set_keyring(ring(&[NEW, OLD]));
        assert_eq!(other.keyring_ids(), ring(&[NEW, OLD]).ids(), "clones share the ring");
        // Values sealed under the old key still open, new ones are sealed under the new.
        assert_eq!(secret_of(&iam, &ka.record.access_key).await, ka.secret);
        let kc = new_key(&iam, "a").await;
        assert!(iam.keyring().is_current(&kc.record.sealed_secret));

        let report = iam.reseal_all().await.unwrap();
        assert_eq!(report.sealed_under, Some(MasterKey::from_bytes(&NEW).id()));
        assert_eq!((report.resealed, report.already_current, report.skipped), (3, 1, 0), "{report:?}");
        assert!(report.failed.is_empty());
        let again = iam.reseal_all().await.unwrap();
        assert_eq!((again.resealed, again.already_current, again.seen()), (0, 4, 4), "{again:?}");

        // The new key alone opens everything; the old alone nothing.
        iam.set_keyring(ring(&[NEW]));
        assert_eq!(secret_of(&iam, &ka.record.access_key).await, ka.secret);
        assert_eq!(secret_of(&iam, &kb.record.access_key).await, "legacy-b");
        assert_eq!(secret_of(&iam, &kc.record.access_key).await, kc.secret);
        assert_eq!(iam.operator_secret("OPKEY").await.unwrap().as_deref(), Some("opsecret"));
        let resealed = store.get_access_key("OPKEY").await.unwrap().unwrap();
        assert_ne!(resealed.sealed_secret, ops.sealed_secret);
        assert_eq!(resealed, coffer_meta::AccessKeyRecord { sealed_secret: resealed.sealed_secret.clone(), ..ops });
        iam.set_keyring(ring(&[OLD]));
        assert!(iam.resolve(&ka.record.access_key, None, coffer_types::now_millis()).await.is_err());
    }

    #[tokio::test]
    async fn secrets_no_key_opens_are_named_and_left_alone() {
        let (iam, store, _d) = setup().await;
        iam.create_project("a").await.unwrap();
        let good = new_key(&iam, "a").await;
        let lost = new_key(&iam, "a").await;
        let foreign = MasterKey::from_bytes(&[9u8; 32]).seal(&lost.record.access_key, "x").unwrap();
        store.set_access_key_secret(&lost.record.access_key, &foreign).await.unwrap();
        iam.set_keyring(ring(&[NEW, OLD]));
        let report = iam.reseal_all().await.unwrap();
        assert_eq!(report.failed, vec![lost.record.access_key.clone()]);
        assert_eq!(report.resealed, 1);
        assert!(!format!("{report:?}").contains(&good.secret), "no secret in the report");
        let kept = store.get_access_key(&lost.record.access_key).await.unwrap().unwrap();
        assert_eq!(kept.sealed_secret, foreign, "left as it was");
    }

    /// A store that changes a key's secret (as another gateway would)
    /// between the pass's read and its write.
    #[tokio::test]
    async fn a_secret_changed_under_the_pass_is_never_overwritten() {
        let (iam, store, _d) = setup().await;
        iam.create_project("a").await.unwrap();
        let k = new_key(&iam, "a").await;
        let ak = k.record.access_key.clone();
        let before = store.get_access_key(&ak).await.unwrap().unwrap().sealed_secret;
        let ring_now = ring(&[NEW, OLD]);
        // Another writer replaces the secret (sealed under the new key) after
        // the pass listed the key: the pass's compare-and-set loses.
        let changed = ring_now.seal(&ak, "rotated-elsewhere").unwrap();
        store.set_access_key_secret(&ak, &changed).await.unwrap();
        iam.set_keyring(ring_now);
        let stale = AccessKeyRecord { sealed_secret: before.clone(), ..k.record.clone() };
        let (outcome, _) = iam.reseal_one(&iam.keyring(), stale.clone()).await.unwrap();
        assert!(matches!(outcome, Outcome::Current), "re-read: already current");
        assert_eq!(store.get_access_key(&ak).await.unwrap().unwrap().sealed_secret, changed);
        // Changed to a value under the old key: re-read, re-sealed from it.
        let changed_old = MasterKey::from_bytes(&OLD).seal(&ak, "second").unwrap();
        store.set_access_key_secret(&ak, &changed_old).await.unwrap();
        let (outcome, _) = iam.reseal_one(&iam.keyring(), stale.clone()).await.unwrap();
        assert!(matches!(outcome, Outcome::Resealed));
        assert_eq!(secret_of(&iam, &ak).await, "second");
        // Deleted meanwhile: skipped, nothing written back.
        iam.delete_key(&ak).await.unwrap();
        let (outcome, _) = iam.reseal_one(&iam.keyring(), stale).await.unwrap();
        assert!(matches!(outcome, Outcome::Skipped));
        assert!(store.get_access_key(&ak).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn tokens_follow_the_ring() {
        let (iam, _store, _d) = setup().await;
        let old_token = iam.seal_token("console-session", "{}").unwrap();
        iam.set_keyring(ring(&[NEW, OLD]));
        assert_eq!(iam.open_token("console-session", &old_token).unwrap(), "{}");
        let new_token = iam.seal_token("console-session", "{}").unwrap();
        assert!(iam.keyring().is_current(&new_token));
        assert!(iam.open_token("other", &new_token).is_err(), "still bound to its purpose");
        iam.set_keyring(ring(&[NEW]));
        assert!(iam.open_token("console-session", &old_token).is_err(), "sessions under a dropped key end");
        assert_eq!(iam.open_token("console-session", &new_token).unwrap(), "{}");
    }
}
