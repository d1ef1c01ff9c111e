//! Each running server's report of the master keys it holds, in the
//! metadata every server and tool sees (`job_state` `keyring:<server>`),
//! and reading the reports back: how `coffer master-key rotate` knows that
//! every running server took the new keyring before it re-seals, and still
//! holds it before it drops the old key.
//!
//! A server writes `{"ids":[…]}` (its keys' ids, the sealing one first)
//! when it has loaded its keys, within a second of taking another keyring,
//! and every [`HEARTBEAT`]; it removes its report at a graceful shutdown. A
//! report written within [`LIVE_WITHIN`] is a running server's; an older one
//! (a server that crashed) is ignored, and forgotten by the next server to
//! start once a day old. The times are the servers' clocks, compared with
//! the reader's: hosts' clocks must agree to well within [`LIVE_WITHIN`]
//! (as for the leases of background jobs).

use anyhow::Context as _;
use coffer_iam::seal::KeyId;
use coffer_meta::Store;
use coffer_types::{now_millis, UnixMillis};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The names of the reports start with this.
pub const PREFIX: &str = "keyring:";
/// How often a server writes its report when nothing changed.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// A report this recent is a running server's.
pub const LIVE_WITHIN: Duration = Duration::from_secs(30);
/// How often a server looks whether its keyring changed.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Reports older than this are forgotten when a server starts.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(serde::Serialize, serde::Deserialize)]
struct Report {
    ids: Vec<String>,
}

/// This process's report name: `keyring:<host>/<pid>/<random>`, unique
/// among processes (the host and pid say where it runs).
pub fn own_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{PREFIX}{host}/{}/{:08x}", std::process::id(), rand::random::<u32>())
}

/// Writes this server's first report (a failure fails the start: a server
/// that cannot say which keys it holds would be invisible to a rotation),
/// forgets reports a day old, and returns the task that keeps the report
/// current until `stop` turns true (or its sender goes), then removes it.
pub async fn start(
    meta: Arc<dyn Store>,
    iam: coffer_iam::Iam,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    start_with(meta, iam, own_name(), (LOOK_EVERY, HEARTBEAT), stop).await
}

/// [`start`] under `name`, looking at the keyring every `every.0` and
/// writing at least every `every.1`.
pub async fn start_with(
    meta: Arc<dyn Store>,
    iam: coffer_iam::Iam,
    name: String,
    every: (Duration, Duration),
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let ids = iam.keyring_ids();
    write(meta.as_ref(), &name, &ids).await.context("reporting the master keys in use to the metadata")?;
    tracing::debug!(report = %name, "reporting the master keys in use");
    forget_old(meta.as_ref(), now_millis()).await;
    Ok(tokio::spawn(keep(meta, iam, name, ids, every, stop)))
}

async fn write(meta: &dyn Store, name: &str, ids: &[KeyId]) -> Result<(), coffer_meta::MetaError> {
    let report = Report { ids: ids.iter().map(KeyId::to_string).collect() };
    let text = serde_json::to_string(&report).expect("a list of strings serializes");
    meta.set_job_state(name, Some(&text)).await
}

async fn forget_old(meta: &dyn Store, now: UnixMillis) {
    let before = now - FORGET_AFTER.as_millis() as UnixMillis;
    let Ok(all) = meta.job_states(PREFIX).await else { return };
    for (name, _, _) in all.into_iter().filter(|r| r.2 < before) {
        let _ = meta.set_job_state(&name, None).await;
    }
}

async fn keep(
    meta: Arc<dyn Store>,
    iam: coffer_iam::Iam,
    name: String,
    mut reported: Vec<KeyId>,
    (look_every, heartbeat): (Duration, Duration),
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(look_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut at, mut failing) = (Instant::now(), false);
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            _ = tick.tick() => {
                let ids = iam.keyring_ids();
                if ids == reported && at.elapsed() < heartbeat {
                    continue;
                }
                match write(meta.as_ref(), &name, &ids).await {
                    Ok(()) => {
                        if failing {
                            tracing::info!(report = %name, "the master keys in use are reported again");
                        }
                        (reported, at, failing) = (ids, Instant::now(), false);
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!(report = %name, error = %e, "cannot report the master keys in use (a master-key rotation waits for this server meanwhile)");
                        }
                        failing = true;
                    }
                }
            }
        }
    }
    if let Err(e) = meta.set_job_state(&name, None).await {
        tracing::warn!(report = %name, error = %e, "cannot remove this server's report of its master keys (it is ignored after 30 s)");
    }
}

/// A running server's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Live {
    pub name: String,
    /// Its keys' ids, the sealing one first; `None`: not a report this
    /// version reads.
    pub ids: Option<Vec<KeyId>>,
    /// How long ago it was written, in milliseconds.
    pub age_ms: i64,
}

impl Live {
    /// Whether the server seals under `key`.
    pub fn seals_under(&self, key: KeyId) -> bool {
        self.ids.as_ref().and_then(|ids| ids.first()) == Some(&key)
    }

    /// One line for people: the name, the keys, the age.
    pub fn describe(&self) -> String {
        let keys = match &self.ids {
            Some(ids) => crate::master_key::ids_text(ids),
            None => "unreadable report".to_owned(),
        };
        let name = self.name.strip_prefix(PREFIX).unwrap_or(&self.name);
        format!("{name} (keys {keys}, reported {:.1} s ago)", self.age_ms as f64 / 1000.0)
    }
}

/// The reports of running servers (written within [`LIVE_WITHIN`]), by name.
pub async fn live(meta: &dyn Store) -> anyhow::Result<Vec<Live>> {
    live_at(meta, now_millis()).await
}

async fn live_at(meta: &dyn Store, now: UnixMillis) -> anyhow::Result<Vec<Live>> {
    let all = meta.job_states(PREFIX).await.context("reading the servers' reports of their master keys")?;
    let since = now - LIVE_WITHIN.as_millis() as UnixMillis;
    Ok(all
        .into_iter()
        .filter(|(_, _, updated)| *updated >= since)
        .map(|(name, value, updated)| {
            let ids = serde_json::from_str::<Report>(&value)
                .ok()
                .and_then(|r| r.ids.iter().map(|i| KeyId::parse(i)).collect::<Option<Vec<_>>>());
            Live { name, ids, age_ms: (now - updated).max(0) }
        })
        .collect())
}

/// Waits, for at most `max_wait`, until every running server seals under
/// `key`. `Ok(servers)`: they all do (none running counts); `Err(lagging)`:
/// those that still do not when the time is up.
pub async fn wait_until_all_seal_under(
    meta: &dyn Store,
    key: KeyId,
    max_wait: Duration,
) -> anyhow::Result<Result<Vec<Live>, Vec<Live>>> {
    let deadline = Instant::now() + max_wait;
    loop {
        let servers = live(meta).await?;
        let lagging: Vec<Live> = servers.iter().filter(|s| !s.seals_under(key)).cloned().collect();
        if lagging.is_empty() {
            return Ok(Ok(servers));
        }
        if Instant::now() >= deadline {
            return Ok(Err(lagging));
        }
        tokio::time::sleep(Duration::from_millis(250).min(deadline - Instant::now())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_iam::seal::{Keyring, MasterKey};

    fn ring(keys: &[u8]) -> Keyring {
        Keyring::new(keys.iter().map(|b| MasterKey::from_bytes(&[*b; 32])).collect()).unwrap()
    }

    fn id(b: u8) -> KeyId {
        MasterKey::from_bytes(&[b; 32]).id()
    }

    #[tokio::test]
    async fn a_server_reports_its_keys_while_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("m.db")).unwrap());
        let iam = coffer_iam::Iam::new(store.clone(), MasterKey::from_bytes(&[1; 32]), vec!["r".into()]);
        // A crashed server's report, long ago, and a stale one.
        store.set_job_state("keyring:old", Some(r#"{"ids":["00000000"]}"#)).await.unwrap();
        assert_eq!(live(store.as_ref()).await.unwrap().len(), 1, "just written: live");
        let (stop, rx) = tokio::sync::watch::channel(false);
        let every = (Duration::from_millis(20), Duration::from_millis(200));
        let task = start_with(store.clone(), iam.clone(), "keyring:me".into(), every, rx).await.unwrap();
        let me = |servers: Vec<Live>| servers.into_iter().find(|s| s.name == "keyring:me").unwrap();
        let first = me(live(store.as_ref()).await.unwrap());
        assert_eq!(first.ids, Some(vec![id(1)]), "reported at once");
        assert!(first.seals_under(id(1)) && !first.seals_under(id(2)));
        assert!(first.describe().starts_with("me (keys "), "{}", first.describe());

        iam.set_keyring(ring(&[2, 1]));
        let got = wait_until_all_seal_under(store.as_ref(), id(2), Duration::from_secs(5)).await.unwrap();
        // The other report is live and never seals under 2: it lags.
        let lagging = got.unwrap_err();
        assert_eq!(lagging.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["keyring:old"]);
        assert_eq!(me(live(store.as_ref()).await.unwrap()).ids, Some(vec![id(2), id(1)]), "a change is reported");
        store.set_job_state("keyring:old", None).await.unwrap();
        let all = wait_until_all_seal_under(store.as_ref(), id(2), Duration::ZERO).await.unwrap().unwrap();
        assert_eq!(all.len(), 1);

        // The heartbeat moves `updated` on with nothing changed.
        let before = store.job_states(PREFIX).await.unwrap()[0].2;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(store.job_states(PREFIX).await.unwrap()[0].2 > before, "heartbeat");

        // An unreadable report lags; a stopped server's report is gone.
        store.set_job_state("keyring:odd", Some("{}")).await.unwrap();
        let lagging = wait_until_all_seal_under(store.as_ref(), id(2), Duration::ZERO).await.unwrap().unwrap_err();
        assert_eq!(lagging[0].ids, None);
        assert!(lagging[0].describe().contains("unreadable"));
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
        let names: Vec<String> = live(store.as_ref()).await.unwrap().into_iter().map(|l| l.name).collect();
        assert_eq!(names, ["keyring:odd"], "removed at shutdown");
    }

    #[tokio::test]
    async fn old_reports_are_not_live_and_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(coffer_meta_sqlite::SqliteMetaStore::open(dir.path().join("m.db")).unwrap());
        store.set_job_state("keyring:a", Some(r#"{"ids":[]}"#)).await.unwrap();
        store.set_job_state("scrub", Some("x")).await.unwrap();
        let now = now_millis();
        assert_eq!(live_at(store.as_ref(), now + 29_000).await.unwrap().len(), 1);
        assert!(live_at(store.as_ref(), now + 31_000).await.unwrap().is_empty(), "a crashed server's");
        forget_old(store.as_ref(), now + 23 * 3600 * 1000).await;
        assert_eq!(store.job_states("").await.unwrap().len(), 2, "kept for a day");
        forget_old(store.as_ref(), now + 25 * 3600 * 1000).await;
        let names: Vec<String> = store.job_states("").await.unwrap().into_iter().map(|r| r.0).collect();
        assert_eq!(names, ["scrub"], "only reports are forgotten");

        let iam = coffer_iam::Iam::new(store.clone(), MasterKey::from_bytes(&[1; 32]), vec!["r".into()]);
        let (_stop, rx) = tokio::sync::watch::channel(false);
        let _task = start(store.clone(), iam, rx).await.unwrap();
        let mine = live(store.as_ref()).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert!(mine[0].name.starts_with(PREFIX) && mine[0].name.contains(&format!("/{}/", std::process::id())));
    }
}
