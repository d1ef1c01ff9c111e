//! Times on the wire: RFC 3339 in the admin API, ISO 8601 (whole seconds)
//! in IAM documents, and the dates the admin API accepts.

use coffer_types::UnixMillis;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

/// The time of `ms` (clamped to the representable range).
fn at(ms: UnixMillis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2024-05-01T12:00:00Z`, or `2024-05-01T12:00:00.120Z` when not whole
/// seconds: RFC 3339 in UTC, with exactly three fraction digits if any.
pub(crate) fn rfc3339(ms: UnixMillis) -> String {
    let t = at(ms);
    let whole = iso_seconds(ms);
    match t.millisecond() {
        0 => whole,
        m => format!("{}.{m:03}Z", whole.trim_end_matches('Z')),
    }
}

/// `2024-05-01T12:00:00Z`: ISO 8601 in UTC, whole seconds, as IAM writes dates.
pub(crate) fn iso_seconds(ms: UnixMillis) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at(ms).format(&f).unwrap_or_default()
}

/// Milliseconds of an RFC 3339 time or of a `YYYY-MM-DD` date (its midnight, UTC).
pub(crate) fn parse(s: &str) -> Option<UnixMillis> {
    let s = s.trim();
    let t = match OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) => t,
        Err(_) => {
            let f = time::macros::format_description!("[year]-[month]-[day]");
            Date::parse(s, &f).ok()?.midnight().assume_offset(UtcOffset::UTC)
        }
    };
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Milliseconds of an [`OffsetDateTime`].
pub(crate) fn millis(t: OffsetDateTime) -> UnixMillis {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(1_700_000_000_120), "2023-11-14T22:13:20.120Z");
        assert_eq!(rfc3339(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso_seconds(1_700_000_000_123), "2023-11-14T22:13:20Z");
        assert_eq!(parse("2023-11-14T22:13:20.123Z"), Some(1_700_000_000_123));
        assert_eq!(parse("2023-11-15T00:13:20+02:00"), Some(1_700_000_000_000));
        assert_eq!(parse("1970-01-02"), Some(86_400_000));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("2023-13-01"), None);
    }
}
