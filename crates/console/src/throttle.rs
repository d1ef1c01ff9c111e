//! Sign-in throttling, kept in the metadata store so that every gateway of
//! the deployment counts into the same records
//! ([`coffer_meta::IdentityStore::record_signin_failure`]).
//!
//! Two scopes count each failed sign-in:
//! - the client address and the account: after [`MAX_FAILURES`] within
//!   [`WINDOW`], that pair is refused (429);
//! - the client address alone (an IPv6 client by its /64): after
//!   [`MAX_ADDRESS_FAILURES`] within [`WINDOW`], every sign-in from it is
//!   refused, so trying many account names does not get around the first.
//!
//! Refusal lasts until enough failures leave the window, whether the
//! password is right or not. It is decided before any password is hashed;
//! refused attempts are not failures (they do not extend the refusal). A
//! successful sign-in clears nothing. Failures older than the window are
//! forgotten whenever a new one is recorded. While a pair's password is
//! being checked, another attempt for the pair on the same gateway is
//! refused ([`InFlight`]), so simultaneous guesses cannot overtake the count.

use coffer_meta::{IdentityStore, MetaError};
use coffer_types::UnixMillis;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::Duration;

/// Failed sign-ins allowed per (client address, account) within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// Failed sign-ins allowed per client address (any account) within [`WINDOW`].
pub const MAX_ADDRESS_FAILURES: usize = 30;
/// The window over which failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Why and for how long sign-in is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    /// Time left until the oldest counting failure leaves the window.
    pub wait: Duration,
    /// The address as a whole is refused (not only this account).
    pub whole_address: bool,
}

/// The address scope: the IPv4 address, or an IPv6 address's /64 (one
/// client usually holds a whole /64).
fn address_scope(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The (address, account) scope: the account name (case ignored) is hashed,
/// so the store keeps no attacker-chosen text and every key is short.
fn pair_scope(ip: IpAddr, account: &str) -> String {
    let addr = address_scope(ip);
    let d = Sha256::new()
        .chain_update(addr.as_bytes())
        .chain_update([0u8])
        .chain_update(account.to_lowercase().as_bytes())
        .finalize();
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("pair:{hex}")
}

fn window_ms() -> UnixMillis {
    WINDOW.as_millis() as UnixMillis
}

/// `Some` when sign-in for `account` from `ip` is refused at `now`.
pub(crate) async fn refused(
    store: &dyn IdentityStore,
    ip: IpAddr,
    account: &str,
    now: UnixMillis,
) -> Result<Option<Refused>, MetaError> {
    let since = now - window_ms() + 1;
    let checks = [(address_scope(ip), MAX_ADDRESS_FAILURES, true), (pair_scope(ip, account), MAX_FAILURES, false)];
    for (scope, max, whole_address) in checks {
        let f = store.signin_failures(&scope, since).await?;
        if f.count >= max as u64 {
            let oldest = f.oldest.unwrap_or(now);
            let left = (oldest + window_ms() - now).clamp(0, window_ms());
            return Ok(Some(Refused { wait: Duration::from_millis(left as u64), whole_address }));
        }
    }
    Ok(None)
}

/// Records a failed sign-in for `account` from `ip` at `now`.
pub(crate) async fn failed(
    store: &dyn IdentityStore,
    ip: IpAddr,
    account: &str,
    now: UnixMillis,
) -> Result<(), MetaError> {
    let scopes = [address_scope(ip), pair_scope(ip, account)];
    store.record_signin_failure(&scopes, now, now - window_ms()).await
}

/// The (address, account) pairs whose password this gateway is checking.
/// A second attempt for a pair while its first is being checked is refused
/// (429, as the throttle refuses), so a burst of simultaneous guesses cannot
/// all pass the check before the first failure is recorded: for each pair,
/// one password check at a time per gateway, each one seeing the failures
/// recorded before it.
#[derive(Default)]
pub(crate) struct InFlight(std::sync::Mutex<std::collections::HashSet<String>>);

/// A pair's place in [`InFlight`], given up when dropped.
pub(crate) struct InFlightGuard<'a> {
    set: &'a InFlight,
    key: String,
}

impl InFlight {
    /// Takes the pair's place, or `None` if its password is being checked.
    pub(crate) fn enter(&self, ip: IpAddr, account: &str) -> Option<InFlightGuard<'_>> {
        let key = pair_scope(ip, account);
        let fresh = self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone());
        // (The lock is released: a guard's drop takes it.)
        fresh.then(|| InFlightGuard { set: self, key })
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.set.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(address_scope(v4), "ip:10.0.0.1");
        assert_eq!(address_scope(mapped), "ip:10.0.0.1", "an IPv4-mapped address is the IPv4 one");
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_scope(a), "ip6:2001:db8:1:2::/64");
        assert_eq!(address_scope(a), address_scope(b), "one /64 is one client");
        assert_ne!(address_scope(a), address_scope(c));
        // Account names ignore case, and are not kept in clear.
        assert_eq!(pair_scope(v4, "user:acme/Alice"), pair_scope(v4, "user:ACME/alice"));
        assert_ne!(pair_scope(v4, "user:acme/alice"), pair_scope(v4, "user:acme/bob"));
        assert_ne!(pair_scope(v4, "user:acme/alice"), pair_scope("10.0.0.2".parse().unwrap(), "user:acme/alice"));
        assert!(!pair_scope(v4, "user:acme/alice").contains("alice"));
        assert_eq!(pair_scope(v4, &"x".repeat(100_000)).len(), "pair:".len() + 32);
    }

    #[test]
    fn one_password_check_per_pair_at_a_time() {
        let set = InFlight::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let first = set.enter(ip, "user:acme/alice").expect("free");
        assert!(set.enter(ip, "user:ACME/alice").is_none(), "the same pair waits");
        let other = set.enter(ip, "user:acme/bob");
        assert!(other.is_some(), "another account is not held up");
        drop(first);
        assert!(set.enter(ip, "user:acme/alice").is_some(), "free again once the first is done");
    }
}
