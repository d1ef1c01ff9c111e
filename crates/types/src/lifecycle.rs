//! Lifecycle rules: which objects a rule applies to and when it expires
//! them. Stored as JSON in a bucket's `lifecycle` configuration (fields
//! may only be added, with serde defaults); the XML of the S3 API is
//! `coffer-s3-proto::lifecycle`'s.

use crate::{TagSet, UnixMillis};
use serde::{Deserialize, Serialize};

/// The most rules one configuration holds (S3's limit).
pub const MAX_RULES: usize = 1000;

/// A bucket's lifecycle configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConfig {
    pub rules: Vec<LifecycleRule>,
}

/// One rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    pub id: String,
    pub enabled: bool,
    #[serde(default)]
    pub filter: RuleFilter,
    /// The rule named its prefix the old way (`<Prefix>` beside `<Status>`,
    /// no `<Filter>`): it is answered the same way, as S3 does.
    #[serde(default)]
    pub legacy_prefix: bool,
    /// Expires current versions (a delete marker on top when versioned).
    #[serde(default)]
    pub expiration: Option<Expiration>,
    /// Removes noncurrent versions this many days after they became noncurrent.
    #[serde(default)]
    pub noncurrent_days: Option<u32>,
    /// Keeps this many newest noncurrent versions whatever their age.
    #[serde(default)]
    pub newer_noncurrent_versions: Option<u32>,
    /// Aborts multipart uploads this many days after they began.
    #[serde(default)]
    pub abort_upload_days: Option<u32>,
}

/// Which objects a rule applies to: all of these hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFilter {
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub size_greater_than: Option<u64>,
    #[serde(default)]
    pub size_less_than: Option<u64>,
}

/// When current versions expire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiration {
    #[serde(default)]
    pub days: Option<u32>,
    /// Unix millis (midnight UTC).
    #[serde(default)]
    pub date: Option<UnixMillis>,
    /// Removes a delete marker that is the only version left of its key.
    #[serde(default)]
    pub expired_object_delete_marker: bool,
}

impl RuleFilter {
    /// Whether an object of `key` and `size` matches, without its tags.
    pub fn matches_key_and_size(&self, key: &str, size: u64) -> bool {
        key.starts_with(&self.prefix)
            && self.size_greater_than.is_none_or(|g| size > g)
            && self.size_less_than.is_none_or(|l| size < l)
    }

    /// Whether `tags` hold every tag of the filter.
    pub fn matches_tags(&self, tags: &TagSet) -> bool {
        self.tags.iter().all(|(k, v)| tags.iter().any(|(tk, tv)| tk == k && tv == v))
    }
}

/// The time `days` "days" after `from`, rounded up to the next day
/// boundary, as S3 rounds to the next midnight UTC. `day_ms` is a day's
/// length (a test deployment shortens it).
pub fn after_days(from: UnixMillis, days: u32, day_ms: i64) -> UnixMillis {
    let day_ms = day_ms.max(1);
    let t = from.saturating_add(i64::from(days).saturating_mul(day_ms));
    t.saturating_add(day_ms - 1) / day_ms * day_ms
}

impl LifecycleRule {
    /// When a current version matching this rule expires (`None`: never).
    pub fn expires_at(&self, last_modified: UnixMillis, day_ms: i64) -> Option<UnixMillis> {
        let e = self.expiration.as_ref().filter(|_| self.enabled)?;
        match (e.days, e.date) {
            (Some(d), _) => Some(after_days(last_modified, d, day_ms)),
            (None, Some(date)) => Some(date),
            (None, None) => None,
        }
    }
}

impl LifecycleConfig {
    /// The earliest expiry of a current version and the rule that sets it:
    /// S3's `x-amz-expiration` (`expiry-date`, `rule-id`).
    pub fn expiry_of(
        &self,
        key: &str,
        size: u64,
        tags: &TagSet,
        last_modified: UnixMillis,
        day_ms: i64,
    ) -> Option<(UnixMillis, &str)> {
        self.rules
            .iter()
            .filter(|r| r.filter.matches_key_and_size(key, size) && r.filter.matches_tags(tags))
            .filter_map(|r| r.expires_at(last_modified, day_ms).map(|t| (t, r.id.as_str())))
            .min_by_key(|(t, _)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_up_to_a_day_boundary() {
        let day = 86_400_000;
        assert_eq!(after_days(0, 1, day), day);
        assert_eq!(after_days(1, 1, day), 2 * day);
        assert_eq!(after_days(10_500, 2, 10_000), 40_000);
    }

    #[test]
    fn filters_and_expiry() {
        let rule = |id: &str, prefix: &str, days: u32| LifecycleRule {
            id: id.into(),
            enabled: true,
            filter: RuleFilter { prefix: prefix.into(), ..Default::default() },
            expiration: Some(Expiration { days: Some(days), ..Default::default() }),
            ..Default::default()
        };
        let mut tagged = rule("tagged", "", 1);
        tagged.filter.tags = vec![("class".into(), "tmp".into())];
        let cfg = LifecycleConfig { rules: vec![rule("logs", "logs/", 3), tagged, rule("all", "", 10)] };
        let none = TagSet::default();
        let tmp = TagSet::from_pairs([("class".to_string(), "tmp".to_string())], 10).unwrap();
        assert_eq!(cfg.expiry_of("logs/a", 1, &none, 0, 10), Some((30, "logs")));
        assert_eq!(cfg.expiry_of("x", 1, &tmp, 0, 10), Some((10, "tagged")));
        assert_eq!(cfg.expiry_of("x", 1, &none, 0, 10), Some((100, "all")));
        let sized = RuleFilter { size_greater_than: Some(5), size_less_than: Some(9), ..Default::default() };
        assert!(sized.matches_key_and_size("k", 6) && !sized.matches_key_and_size("k", 5));
        assert!(!sized.matches_key_and_size("k", 9));
    }
}
