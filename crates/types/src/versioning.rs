//! Versioning and object lock values: a bucket's versioning state, version
//! ids, and the retention and legal hold that lock one version.

use crate::UnixMillis;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A bucket's versioning state. A bucket starts `Unversioned`; once
/// versioning has been enabled it is `Enabled` or `Suspended`, never
/// `Unversioned` again (as in S3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Versioning {
    #[default]
    Unversioned,
    Enabled,
    Suspended,
}

impl Versioning {
    /// As stored (a small integer column).
    pub fn code(self) -> i64 {
        match self {
            Versioning::Unversioned => 0,
            Versioning::Enabled => 1,
            Versioning::Suspended => 2,
        }
    }

    /// From the stored code; `None` for a code no release writes.
    pub fn from_code(c: i64) -> Option<Self> {
        match c {
            0 => Some(Versioning::Unversioned),
            1 => Some(Versioning::Enabled),
            2 => Some(Versioning::Suspended),
            _ => None,
        }
    }

    /// The `Status` of S3's `VersioningConfiguration` (none while unversioned).
    pub fn status(self) -> Option<&'static str> {
        match self {
            Versioning::Unversioned => None,
            Versioning::Enabled => Some("Enabled"),
            Versioning::Suspended => Some("Suspended"),
        }
    }

    /// Whether versions are kept (enabled or suspended): version ids other
    /// than `null` can exist.
    pub fn is_versioned(self) -> bool {
        self != Versioning::Unversioned
    }
}

/// The text S3 uses for the null version's id.
pub const NULL_VERSION: &str = "null";

/// A fresh version id: opaque to clients, unique, and ordered by the time
/// it was made (12 hex digits of Unix milliseconds, then 80 random bits as
/// 20 hex digits), so ids made later sort later. The order of versions of a
/// key is the store's commit order, not this text.
pub fn new_version_id() -> String {
    let mut r = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut r);
    let ms = u64::try_from(crate::now_millis()).unwrap_or(0) & 0xffff_ffff_ffff;
    format!("{ms:012x}{}", hex::encode(r))
}

/// Whether `s` has the shape of an id [`new_version_id`] makes (or is
/// `null`): anything else names no version and is refused before a lookup.
pub fn is_version_id(s: &str) -> bool {
    s == NULL_VERSION || (s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// An object lock retention mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockMode {
    /// Deletable before its date only with `x-amz-bypass-governance-retention`
    /// by someone allowed `s3:BypassGovernanceRetention`.
    #[serde(rename = "GOVERNANCE")]
    Governance,
    /// Deletable by no one before its date; the date can only move later.
    #[serde(rename = "COMPLIANCE")]
    Compliance,
}

impl LockMode {
    /// S3's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }

    /// Parses S3's spelling (exact, as S3 does).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GOVERNANCE" => Some(LockMode::Governance),
            "COMPLIANCE" => Some(LockMode::Compliance),
            _ => None,
        }
    }
}

/// A version's retention: locked in `mode` until `until` (Unix millis).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: LockMode,
    pub until: UnixMillis,
}

/// A bucket's default retention: what a new version gets when its write
/// names none (`Days` or `Years` from the write's time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultRetention {
    pub mode: LockMode,
    pub period: RetentionPeriod,
}

/// How long a default retention lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionPeriod {
    Days(u32),
    Years(u32),
}

/// The longest default retention accepted (S3's limit is 100 years).
pub const MAX_RETENTION_YEARS: u32 = 100;

impl DefaultRetention {
    /// The retention a version written at `now` gets.
    pub fn retention_at(&self, now: UnixMillis) -> Retention {
        const DAY: i64 = 86_400_000;
        let days = match self.period {
            RetentionPeriod::Days(d) => i64::from(d),
            RetentionPeriod::Years(y) => i64::from(y) * 365,
        };
        Retention { mode: self.mode, until: now.saturating_add(days.saturating_mul(DAY)) }
    }

    /// As stored in the bucket's `objectLock` configuration: `MODE:days:N` or `MODE:years:N`.
    pub fn to_stored(&self) -> String {
        let (unit, n) = match self.period {
            RetentionPeriod::Days(d) => ("days", d),
            RetentionPeriod::Years(y) => ("years", y),
        };
        format!("{}:{unit}:{n}", self.mode.as_str())
    }

    /// Parses [`DefaultRetention::to_stored`]'s text.
    pub fn from_stored(s: &str) -> Option<Self> {
        let mut it = s.split(':');
        let mode = LockMode::parse(it.next()?)?;
        let unit = it.next()?;
        let n: u32 = it.next()?.parse().ok()?;
        let period = match unit {
            "days" => RetentionPeriod::Days(n),
            "years" => RetentionPeriod::Years(n),
            _ => return None,
        };
        Some(DefaultRetention { mode, period })
    }
}

/// Why a change to a locked version is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LockViolation {
    #[error("the version is under a legal hold")]
    LegalHold,
    #[error("the version is under retention until its retain-until date")]
    Retained,
}

/// The lock on one version, as stored with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VersionLock {
    pub retention: Option<Retention>,
    pub legal_hold: bool,
}

impl VersionLock {
    /// Whether the version may be deleted (or overwritten in place) at
    /// `now`: not under a legal hold, and not under a retention in force
    /// unless it is GOVERNANCE and `bypass_governance` was asked for by
    /// someone allowed to.
    pub fn may_delete(&self, now: UnixMillis, bypass_governance: bool) -> Result<(), LockViolation> {
        if self.legal_hold {
            return Err(LockViolation::LegalHold);
        }
        match self.retention {
            Some(r) if r.until > now && !(r.mode == LockMode::Governance && bypass_governance) => {
                Err(LockViolation::Retained)
            }
            _ => Ok(()),
        }
    }

    /// Whether the retention may be replaced by `new` at `now`. A retention
    /// in force in COMPLIANCE can only be kept or moved later in COMPLIANCE;
    /// in GOVERNANCE, shortening it, removing it or changing its mode (to
    /// COMPLIANCE too, as S3 and RGW refuse) needs the bypass.
    pub fn may_set_retention(
        &self,
        new: Option<Retention>,
        now: UnixMillis,
        bypass_governance: bool,
    ) -> Result<(), LockViolation> {
        let Some(old) = self.retention.filter(|r| r.until > now) else { return Ok(()) };
        let keeps_or_extends = new.is_some_and(|n| n.mode == old.mode && n.until >= old.until);
        match old.mode {
            LockMode::Compliance if keeps_or_extends => Ok(()),
            LockMode::Compliance => Err(LockViolation::Retained),
            LockMode::Governance if keeps_or_extends || bypass_governance => Ok(()),
            LockMode::Governance => Err(LockViolation::Retained),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_are_ordered_and_recognised() {
        let a = new_version_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_version_id();
        assert!(a < b, "{a} {b}");
        assert!(is_version_id(&a) && is_version_id("null"));
        assert!(!is_version_id("3HL4kqtJlcpXroDTDmJ") && !is_version_id("") && !is_version_id(&a.to_uppercase()));
        for v in [Versioning::Unversioned, Versioning::Enabled, Versioning::Suspended] {
            assert_eq!(Versioning::from_code(v.code()), Some(v));
        }
        assert_eq!(Versioning::from_code(7), None);
    }

    #[test]
    fn default_retention() {
        let d = DefaultRetention { mode: LockMode::Compliance, period: RetentionPeriod::Days(2) };
        assert_eq!(DefaultRetention::from_stored(&d.to_stored()), Some(d));
        assert_eq!(d.retention_at(1000).until, 1000 + 2 * 86_400_000);
        let y = DefaultRetention { mode: LockMode::Governance, period: RetentionPeriod::Years(1) };
        assert_eq!(DefaultRetention::from_stored("GOVERNANCE:years:1"), Some(y));
        assert_eq!(DefaultRetention::from_stored("GOVERNANCE:weeks:1"), None);
    }

    #[test]
    fn lock_rules() {
        let gov = |until| Some(Retention { mode: LockMode::Governance, until });
        let comp = |until| Some(Retention { mode: LockMode::Compliance, until });
        let l = VersionLock { retention: comp(100), legal_hold: false };
        assert_eq!(l.may_delete(50, true), Err(LockViolation::Retained));
        assert!(l.may_delete(100, false).is_ok(), "a date reached frees the version");
        assert!(l.may_set_retention(comp(200), 50, false).is_ok());
        assert!(l.may_set_retention(comp(99), 50, true).is_err(), "never shortened in COMPLIANCE");
        assert!(l.may_set_retention(gov(200), 50, true).is_err(), "never weakened in COMPLIANCE");
        assert!(l.may_set_retention(None, 50, true).is_err());
        assert!(l.may_set_retention(None, 150, false).is_ok(), "an expired retention can go");
        let g = VersionLock { retention: gov(100), legal_hold: false };
        assert_eq!(g.may_delete(50, false), Err(LockViolation::Retained));
        assert!(g.may_delete(50, true).is_ok());
        assert!(g.may_set_retention(gov(50), 10, false).is_err());
        assert!(g.may_set_retention(gov(50), 10, true).is_ok());
        assert!(
            g.may_set_retention(comp(100), 10, false).is_err(),
            "GOVERNANCE becomes COMPLIANCE only with the bypass"
        );
        assert!(g.may_set_retention(comp(100), 10, true).is_ok());
        let h = VersionLock { retention: None, legal_hold: true };
        assert_eq!(h.may_delete(0, true), Err(LockViolation::LegalHold));
    }
}
