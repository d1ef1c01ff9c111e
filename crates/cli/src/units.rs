//! Parsing and printing of sizes, limits and times as the operator types and reads them.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

/// A quota limit: `None` is "no limit" (typed `none` or `unlimited`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(pub Option<u64>);

/// The units of [`parse_size`]: a bare letter or `Ki`/`KiB` is a power of
/// 1024, `KB` a power of 1000 (as `du`, `dd` and `truncate` read them).
const UNITS: [(char, u32); 6] = [('k', 1), ('m', 2), ('g', 3), ('t', 4), ('p', 5), ('e', 6)];

/// A byte count: `1024`, `10G`, `500M`, `1.5T`, `2GiB`, `3GB`, `4KB`.
///
/// `K`, `M`, `G`, `T`, `P`, `E` (with or without `i`/`iB`) are powers of
/// 1024; `KB`, `MB`, ... are powers of 1000; a trailing `B` alone means
/// bytes. Case does not matter. A fraction is rounded down to a whole byte.
pub fn parse_size(input: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid size '{input}': expected bytes with an optional unit, e.g. 1024, 500M, 10G, 1T \
             (K, M, G, T, P, E and KiB, MiB, ... are powers of 1024; KB, MB, ... powers of 1000)"
        )
    };
    let s = input.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(bad());
    }
    let unit = unit.trim_start().to_ascii_lowercase();
    let multiplier: u128 = if unit.is_empty() || unit == "b" {
        1
    } else {
        let mut chars = unit.chars();
        let letter = chars.next().ok_or_else(bad)?;
        let power = UNITS.iter().find(|(c, _)| *c == letter).map(|(_, p)| *p).ok_or_else(bad)?;
        match chars.as_str() {
            "" | "i" | "ib" => 1024u128.pow(power),
            "b" => 1000u128.pow(power),
            _ => return Err(bad()),
        }
    };
    let int: u128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
    let mut value = int.checked_mul(multiplier).ok_or_else(bad)?;
    if !frac.is_empty() {
        if frac.len() > 18 {
            return Err(bad());
        }
        let digits: u128 = frac.parse().map_err(|_| bad())?;
        value += digits * multiplier / 10u128.pow(frac.len() as u32);
    }
    u64::try_from(value).map_err(|_| format!("invalid size '{input}': larger than {} bytes", u64::MAX))
}

/// Whether the operator means "no limit".
fn is_unlimited(s: &str) -> bool {
    let s = s.trim();
    s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("unlimited")
}

/// `--max-bytes`: a size ([`parse_size`]) or `none`.
pub fn parse_limit_bytes(s: &str) -> Result<Limit, String> {
    if is_unlimited(s) {
        return Ok(Limit(None));
    }
    parse_size(s).map(|n| Limit(Some(n)))
}

/// `--max-objects`: a count or `none`.
pub fn parse_limit_count(s: &str) -> Result<Limit, String> {
    if is_unlimited(s) {
        return Ok(Limit(None));
    }
    s.trim()
        .parse::<u64>()
        .map(|n| Limit(Some(n)))
        .map_err(|_| format!("invalid count '{s}': expected a number or 'none'"))
}

/// A point in time for the API: RFC 3339 (`2024-05-01T12:00:00Z`,
/// `2024-05-01T14:00:00+02:00`) or a date (`2024-05-01`, midnight UTC at its
/// start). Given back as RFC 3339 in UTC.
pub fn parse_time(s: &str) -> Result<String, String> {
    let s = s.trim();
    let when = if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        t.to_offset(time::UtcOffset::UTC)
    } else if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        d.with_time(Time::MIDNIGHT).assume_utc()
    } else {
        return Err(format!("invalid time '{s}': expected RFC 3339 (2024-05-01T12:00:00Z) or a date (2024-05-01)"));
    };
    when.format(&Rfc3339).map_err(|e| format!("invalid time '{s}': {e}"))
}

/// A byte count for people: `512 B`, `1.5 KiB`, `10 GiB` (powers of 1024, one decimal unless exact).
pub fn human_bytes(n: u64) -> String {
    const NAMES: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut unit = 0;
    while unit + 1 < NAMES.len() && n >= 1u64 << (10 * (unit + 1)) {
        unit += 1;
    }
    if unit == 0 {
        return format!("{n} B");
    }
    let scale = 1u64 << (10 * unit);
    if n.is_multiple_of(scale) {
        return format!("{} {}", n / scale, NAMES[unit]);
    }
    let text = format!("{:.1}", n as f64 / scale as f64);
    if text == "1024.0" && unit + 1 < NAMES.len() {
        return format!("1.0 {}", NAMES[unit + 1]);
    }
    format!("{text} {}", NAMES[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let ok = [
            ("0", 0),
            ("1024", 1024),
            (" 1024 ", 1024),
            ("1024B", 1024),
            ("1k", 1024),
            ("1K", 1024),
            ("1KiB", 1024),
            ("1Ki", 1024),
            ("1KB", 1000),
            ("500M", 500 << 20),
            ("10G", 10 << 30),
            ("10 G", 10 << 30),
            ("10gib", 10 << 30),
            ("3GB", 3_000_000_000),
            ("1T", 1 << 40),
            ("1.5T", 3 << 39),
            ("0.5k", 512),
            (".5k", 512),
            ("1.0001k", 1024),
            ("2P", 2 << 50),
            ("15E", 15 << 60),
            ("18446744073709551615", u64::MAX),
        ];
        for (input, want) in ok {
            assert_eq!(parse_size(input), Ok(want), "{input}");
        }
        for bad in
            ["", "G", "1X", "1GG", "1GiBB", "-1", "1..5G", "1.5.G", "16E", "18446744073709551616", "1 0G", "none"]
        {
            assert!(parse_size(bad).is_err(), "{bad} should be refused");
        }
        assert!(parse_size("1X").unwrap_err().contains("invalid size '1X'"));
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit_bytes("none"), Ok(Limit(None)));
        assert_eq!(parse_limit_bytes("Unlimited"), Ok(Limit(None)));
        assert_eq!(parse_limit_bytes("10G"), Ok(Limit(Some(10 << 30))));
        assert!(parse_limit_bytes("lots").is_err());
        assert_eq!(parse_limit_count("NONE"), Ok(Limit(None)));
        assert_eq!(parse_limit_count("1000"), Ok(Limit(Some(1000))));
        assert!(parse_limit_count("10k").is_err());
        assert!(parse_limit_count("-1").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("2024-05-01").as_deref(), Ok("2024-05-01T00:00:00Z"));
        assert_eq!(parse_time("2024-05-01T12:30:00Z").as_deref(), Ok("2024-05-01T12:30:00Z"));
        assert_eq!(parse_time("2024-05-01T14:30:00+02:00").as_deref(), Ok("2024-05-01T12:30:00Z"));
        assert_eq!(parse_time("2024-05-01T12:30:00.5Z").as_deref(), Ok("2024-05-01T12:30:00.5Z"));
        for bad in ["", "yesterday", "2024-13-01", "2024-05-01 12:00", "1714560000"] {
            assert!(parse_time(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn human() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1 KiB"),
            (1536, "1.5 KiB"),
            (10 << 30, "10 GiB"),
            ((1 << 20) - 1, "1.0 MiB"),
            (1_000_000_000, "953.7 MiB"),
            (3 << 39, "1.5 TiB"),
            (u64::MAX, "16.0 EiB"),
        ];
        for (n, want) in cases {
            assert_eq!(human_bytes(n), want, "{n}");
        }
    }
}
