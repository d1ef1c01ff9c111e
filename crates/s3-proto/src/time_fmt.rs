//! Time formats of the S3 wire: ISO 8601 in XML, RFC 1123 in headers,
//! and the compact `x-amz-date` form.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `2006-02-03T16:45:09.000Z`, used in XML listings.
pub fn iso8601_millis(unix_millis: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(unix_millis as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let ms = t.millisecond();
    let t = t.replace_millisecond(0).unwrap_or(t);
    let s = t.format(&Rfc3339).unwrap_or_default();
    // Rfc3339 renders `...:09Z`; S3 writes milliseconds.
    format!("{}.{:03}Z", s.trim_end_matches('Z'), ms)
}

/// `Fri, 03 Feb 2006 16:45:09 GMT`, used in `Last-Modified`.
pub fn http_date(unix_millis: i64) -> String {
    let secs = (unix_millis.max(0) / 1000) as u64;
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// `20130524T000000Z`: the `x-amz-date` / SigV4 form (UTC).
pub fn amz_date(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    t.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_default()
}

/// `2013-05-24T00:00:00Z` (UTC, whole seconds), for `ServerTime` in errors.
pub fn iso8601_seconds(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_default()
}

/// Parses an HTTP date (RFC 1123 and the other two forms) to Unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(s.trim()).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(iso8601_millis(1_136_306_709_123), "2006-01-03T16:45:09.123Z");
        assert_eq!(http_date(1_136_306_709_123), "Tue, 03 Jan 2006 16:45:09 GMT");
        assert_eq!(parse_http_date("Tue, 03 Jan 2006 16:45:09 GMT"), Some(1_136_306_709));
        assert_eq!(parse_http_date("garbage"), None);
        let t = OffsetDateTime::from_unix_timestamp(1_369_353_600).unwrap();
        assert_eq!(amz_date(t), "20130524T000000Z");
        assert_eq!(iso8601_seconds(t), "2013-05-24T00:00:00Z");
    }
}
