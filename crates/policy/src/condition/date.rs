//! Dates for the `Date*` operators: ISO 8601 (`2026-01-01`, `2026-01-01T12:00:00Z`, with optional
//! fractional seconds and a `Z` or `±HH:MM` offset; no offset means UTC) or epoch seconds (`1767225600`).
//! Both become milliseconds since the Unix epoch.

/// Parses a date or epoch-seconds value into milliseconds since the epoch.
pub(crate) fn parse(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok()?.checked_mul(1000);
    }
    parse_iso(s.as_bytes())
}

/// A cursor over the bytes of an ISO 8601 date.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// Exactly `n` digits as a number.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let chunk = self.bytes.get(self.pos..self.pos + n)?;
        if !chunk.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(chunk.iter().fold(0, |acc, b| acc * 10 + i64::from(b - b'0')))
    }

    /// Consumes `b` if it is next.
    fn eat(&mut self, b: u8) -> bool {
        let found = self.bytes.get(self.pos) == Some(&b);
        if found {
            self.pos += 1;
        }
        found
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
}

fn parse_iso(bytes: &[u8]) -> Option<i64> {
    let mut c = Cursor { bytes, pos: 0 };
    let year = c.digits(4)?;
    let month = if c.eat(b'-') { c.digits(2)? } else { return None };
    let day = if c.eat(b'-') { c.digits(2)? } else { return None };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut millis = days_from_civil(year, month, day) * 86_400_000;
    if c.peek().is_none() {
        return Some(millis);
    }
    if !c.eat(b'T') {
        return None;
    }
    let hour = c.digits(2)?;
    let minute = if c.eat(b':') { c.digits(2)? } else { return None };
    let second = if c.eat(b':') { c.digits(2)? } else { 0 };
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    millis += ((hour * 60 + minute) * 60 + second) * 1000;
    if c.eat(b'.') {
        let start = c.pos;
        let mut fraction = 0;
        while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
            if c.pos - start < 3 {
                fraction = fraction * 10 + i64::from(d - b'0');
            }
            c.pos += 1;
        }
        let len = c.pos - start;
        if len == 0 {
            return None;
        }
        millis += fraction * 10_i64.pow(3_u32.saturating_sub(len as u32));
    }
    let offset_minutes = match c.peek() {
        None => 0,
        Some(b'Z') | Some(b'z') => {
            c.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let h = c.digits(2)?;
            c.eat(b':');
            let m = c.digits(2)?;
            if h > 23 || m > 59 {
                return None;
            }
            if sign == b'+' {
                h * 60 + m
            } else {
                -(h * 60 + m)
            }
        }
        Some(_) => return None,
    };
    if c.peek().is_some() {
        return None;
    }
    Some(millis - offset_minutes * 60_000)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Count years from March, so that the leap day ends the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("1767225600", Some(1_767_225_600_000)),
            ("-86400", Some(-86_400_000)),
            ("1970-01-01", Some(0)),
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2026-01-01T00:00:00Z", Some(1_767_225_600_000)),
            ("2026-01-01", Some(1_767_225_600_000)),
            ("2000-02-29T12:34:56Z", Some(951_827_696_000)),
            ("2000-02-29T12:34:56.789Z", Some(951_827_696_789)),
            ("2000-02-29T12:34:56.7Z", Some(951_827_696_700)),
            ("2000-02-29T12:34:56.123456Z", Some(951_827_696_123)),
            ("2000-02-29T12:34Z", Some(951_827_640_000)),
            ("2026-01-01T02:00:00+02:00", Some(1_767_225_600_000)),
            ("2025-12-31T22:00:00-0200", Some(1_767_225_600_000)),
            ("2026-01-01T00:00:00", Some(1_767_225_600_000)),
            ("1969-12-31T23:59:59Z", Some(-1000)),
            ("2100-03-01", Some(4_107_542_400_000)),
            ("", None),
            ("-", None),
            ("2026", Some(2_026_000)),
            ("2026-01", None),
            ("2026-13-01", None),
            ("2026-02-29", None),
            ("1900-02-29", None),
            ("2026-01-00", None),
            ("2026-01-01T24:00:00Z", None),
            ("2026-01-01T00:60:00Z", None),
            ("2026-01-01T00:00:00.Z", None),
            ("2026-01-01T00:00:00Zjunk", None),
            ("2026-01-01 00:00:00Z", None),
            ("1.5", None),
            ("tomorrow", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), *want, "{text:?}");
        }
    }
}
