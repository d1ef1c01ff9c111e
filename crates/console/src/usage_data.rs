//! Hourly usage records as chart series.
//!
//! The store keeps one record per bucket and hour: traffic counters added as
//! requests are served, the byte-hours metering integrates, and the stored
//! bytes and objects at the last metering in that hour. Here they become
//! points per slot of a [`Window`]: hourly for 7 days, daily for 30.
//!
//! - Requests and traffic: the sum over the slot.
//! - Stored bytes and objects: the figure at the last metering in the slot
//!   (the end of the hour or day). An hour without a record stored nothing
//!   (metering writes one for every hour a bucket holds bytes), except the
//!   current hour before its first metering: it has no point yet, so lines
//!   end at the last measurement instead of dropping to zero. Metering runs
//!   over all buckets at once, so in any hour either every bucket has been
//!   measured or none has.

use coffer_meta::{RequestCounts, UsageRecord};

pub(crate) const HOUR: i64 = 3600;
/// A series' points: (slot start, value).
pub(crate) type Points = Vec<(i64, f64)>;
pub(crate) const DAY: i64 = 86_400;

/// The period a usage page shows (`?days=7|30`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Period {
    /// 7 days, hourly points.
    Week,
    /// 30 days, daily points.
    Month,
}

impl Period {
    /// `None`/`7` is the week, `30` the month; anything else is `None`.
    pub fn parse(days: Option<&str>) -> Option<Period> {
        match days.map(str::trim) {
            None | Some("" | "7") => Some(Period::Week),
            Some("30") => Some(Period::Month),
            Some(_) => None,
        }
    }

    pub fn days(self) -> i64 {
        match self {
            Period::Week => 7,
            Period::Month => 30,
        }
    }

    /// The slots shown at `now` (Unix seconds): the last one holds `now`.
    pub fn window(self, now: i64) -> Window {
        let step = match self {
            Period::Week => HOUR,
            Period::Month => DAY,
        };
        let to = now.div_euclid(step) * step + step;
        Window { from: to - self.days() * DAY, to, step, now }
    }
}

/// Slots `from`, `from + step`, ... before `to` (Unix seconds, UTC-aligned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: i64,
    pub to: i64,
    pub step: i64,
    /// When the window was taken.
    pub now: i64,
}

impl Window {
    fn hours(&self) -> usize {
        usize::try_from((self.to - self.from) / HOUR).unwrap_or(0)
    }
}

/// What was stored at the last metering of an hour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stored {
    pub bytes: u64,
    pub objects: u64,
}

/// One bucket's (or a sum of buckets') usage per hour of a window.
#[derive(Clone, Debug)]
pub(crate) struct Hours {
    from: i64,
    /// `None`: not measured (the current hour before its metering, or later).
    stored: Vec<Option<Stored>>,
    requests: Vec<RequestCounts>,
    bytes_in: Vec<u64>,
    bytes_out: Vec<u64>,
    /// Whether any record fell in the window.
    pub recorded: bool,
    pub byte_hours: f64,
}

/// The window's totals, for the line above a section's charts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Totals {
    pub byte_hours: f64,
    pub requests: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Hours {
    /// No usage in `w` (every past hour stored nothing).
    pub fn new(w: &Window) -> Hours {
        let n = w.hours();
        let current = w.now.div_euclid(HOUR) * HOUR;
        let stored =
            (0..n).map(|i| (w.from + i as i64 * HOUR < current).then_some(Stored::default())).collect::<Vec<_>>();
        Hours {
            from: w.from,
            stored,
            requests: vec![RequestCounts::default(); n],
            bytes_in: vec![0; n],
            bytes_out: vec![0; n],
            recorded: false,
            byte_hours: 0.0,
        }
    }

    /// Adds one hourly record (ignored outside the window).
    pub fn add(&mut self, r: &UsageRecord) {
        let Some(i) = usize::try_from((r.hour - self.from).div_euclid(HOUR)).ok().filter(|&i| i < self.stored.len())
        else {
            return;
        };
        self.recorded = true;
        self.requests[i].add(&r.requests);
        self.bytes_in[i] = self.bytes_in[i].saturating_add(r.bytes_in);
        self.bytes_out[i] = self.bytes_out[i].saturating_add(r.bytes_out);
        self.byte_hours += r.byte_hours;
        // A record made by traffic alone says nothing about storage until
        // metering has run in its hour.
        let metered = r.bytes > 0 || r.objects > 0 || r.byte_hours > 0.0;
        if metered || self.stored[i].is_some() {
            let s = self.stored[i].get_or_insert_with(Stored::default);
            s.bytes = s.bytes.saturating_add(r.bytes);
            s.objects = s.objects.saturating_add(r.objects);
        }
    }

    pub fn totals(&self) -> Totals {
        let mut r = RequestCounts::default();
        self.requests.iter().for_each(|h| r.add(h));
        Totals {
            byte_hours: self.byte_hours,
            requests: r.get + r.put + r.list + r.delete + r.other,
            bytes_in: self.bytes_in.iter().fold(0u64, |a, b| a.saturating_add(*b)),
            bytes_out: self.bytes_out.iter().fold(0u64, |a, b| a.saturating_add(*b)),
        }
    }

    /// The hours of each slot of `w`: (slot start, index range).
    fn slots(&self, w: &Window) -> impl Iterator<Item = (i64, std::ops::Range<usize>)> + '_ {
        let per = usize::try_from(w.step / HOUR).unwrap_or(1).max(1);
        let n = self.stored.len();
        (0..n.div_ceil(per)).map(move |s| (self.from + (s * per) as i64 * HOUR, s * per..((s + 1) * per).min(n)))
    }

    /// Stored bytes and objects at the end of each measured slot.
    pub fn stored(&self, w: &Window) -> (Points, Points) {
        let (mut bytes, mut objects) = (Vec::new(), Vec::new());
        for (t, hours) in self.slots(w) {
            if let Some(s) = self.stored[hours].iter().rev().find_map(|s| *s) {
                bytes.push((t, s.bytes as f64));
                objects.push((t, s.objects as f64));
            }
        }
        (bytes, objects)
    }

    /// Requests per slot, by class: GET, PUT, LIST, DELETE, other.
    pub fn requests(&self, w: &Window) -> [Points; 5] {
        let mut out: [Points; 5] = Default::default();
        for (t, hours) in self.slots(w) {
            let mut r = RequestCounts::default();
            self.requests[hours].iter().for_each(|h| r.add(h));
            for (series, v) in out.iter_mut().zip([r.get, r.put, r.list, r.delete, r.other]) {
                series.push((t, v as f64));
            }
        }
        out
    }

    /// Bytes received and sent per slot.
    pub fn traffic(&self, w: &Window) -> (Points, Points) {
        let sum = |v: &[u64]| v.iter().fold(0u64, |a, b| a.saturating_add(*b)) as f64;
        self.slots(w).map(|(t, h)| ((t, sum(&self.bytes_in[h.clone()])), (t, sum(&self.bytes_out[h])))).unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600; // 2026-01-01 00:00 UTC

    fn rec(bucket: &str, hour: i64) -> UsageRecord {
        UsageRecord { project: "p".into(), bucket: bucket.into(), hour, ..Default::default() }
    }

    #[test]
    fn periods_and_windows() {
        assert_eq!(Period::parse(None), Some(Period::Week));
        assert_eq!(Period::parse(Some("30")), Some(Period::Month));
        assert_eq!(Period::parse(Some("31")), None);
        let now = T0 + 10 * DAY + 5 * HOUR + 120;
        let w = Period::Week.window(now);
        assert_eq!((w.to, w.to - w.from, w.step), (T0 + 10 * DAY + 6 * HOUR, 7 * DAY, HOUR));
        let m = Period::Month.window(now);
        assert_eq!((m.to, m.to - m.from, m.step), (T0 + 11 * DAY, 30 * DAY, DAY));
    }

    #[test]
    fn hourly_points_sum_traffic_and_keep_the_last_metering() {
        let now = T0 + 7 * DAY - 30 * 60; // half an hour into the last hour
        let w = Period::Week.window(now);
        let mut h = Hours::new(&w);
        assert!(!h.recorded);
        let mut r = rec("b", w.from + 2 * HOUR);
        r.bytes = 1000;
        r.objects = 2;
        r.byte_hours = 500.0;
        r.requests.put = 2;
        r.bytes_in = 1000;
        h.add(&r);
        let mut r = rec("b", w.from + 3 * HOUR);
        r.requests.get = 5;
        r.bytes_out = 4000;
        h.add(&r);
        // Traffic in the current hour, before its metering.
        let mut r = rec("b", now.div_euclid(HOUR) * HOUR);
        r.requests.get = 1;
        h.add(&r);
        h.add(&rec("b", w.to)); // outside: ignored
        assert!(h.recorded);
        let (bytes, objects) = h.stored(&w);
        assert_eq!(bytes.len(), 167, "the current hour is not measured yet");
        assert_eq!(bytes[2], (w.from + 2 * HOUR, 1000.0));
        assert_eq!(objects[2], (w.from + 2 * HOUR, 2.0));
        assert_eq!(bytes[3].1, 0.0, "a traffic-only past hour stored nothing");
        let req = h.requests(&w);
        assert_eq!(req[0].len(), 168);
        assert_eq!((req[0][3].1, req[1][2].1, req[0][167].1), (5.0, 2.0, 1.0));
        let (inb, outb) = h.traffic(&w);
        assert_eq!((inb[2].1, outb[3].1), (1000.0, 4000.0));
        assert_eq!(h.totals(), Totals { byte_hours: 500.0, requests: 8, bytes_in: 1000, bytes_out: 4000 });
    }

    #[test]
    fn daily_points_take_the_days_last_metering_and_sums() {
        let now = T0 + 30 * DAY - 12 * HOUR; // noon of the last day
        let w = Period::Month.window(now);
        assert_eq!(w.from, T0);
        let mut h = Hours::new(&w);
        // Day 0: 10 bytes until 20:00, then 30; requests at 01:00 and 20:00.
        for hour in 0..24 {
            let mut r = rec("b", T0 + hour * HOUR);
            r.bytes = if hour < 20 { 10 } else { 30 };
            r.objects = 1;
            r.byte_hours = r.bytes as f64;
            r.requests.get = match hour {
                1 => 1,
                20 => 2,
                _ => 0,
            };
            h.add(&r);
        }
        // Day 1: 7 bytes during 01:00 only (deleted before 02:00).
        let mut r = rec("b", T0 + DAY + HOUR);
        r.bytes = 7;
        r.byte_hours = 3.5;
        r.requests.get = 4;
        h.add(&r);
        let (bytes, objects) = h.stored(&w);
        assert_eq!(bytes.len(), 30);
        assert_eq!((bytes[0], objects[0]), ((T0, 30.0), (T0, 1.0)), "the figure at the end of the day");
        assert_eq!(bytes[1], (T0 + DAY, 0.0));
        let req = h.requests(&w);
        assert_eq!((req[0][0].1, req[0][1].1, req[0].len()), (3.0, 4.0, 30));
        // The last day so far: its last measured hour.
        let mut r = rec("b", now.div_euclid(HOUR) * HOUR - HOUR);
        r.bytes = 99;
        r.byte_hours = 99.0;
        h.add(&r);
        assert_eq!(h.stored(&w).0[29], (T0 + 29 * DAY, 99.0));
    }

    #[test]
    fn several_buckets_add_up() {
        let now = T0 + 7 * DAY - 1;
        let w = Period::Week.window(now);
        let mut total = Hours::new(&w);
        for (bucket, bytes, objects, list) in [("a", 5, 0, 1), ("b", 7, 3, 2)] {
            let mut r = rec(bucket, w.from);
            r.bytes = bytes;
            r.objects = objects;
            r.requests.list = list;
            total.add(&r);
        }
        let (bytes, objects) = total.stored(&w);
        assert_eq!((bytes[0].1, objects[0].1), (12.0, 3.0));
        assert_eq!(total.requests(&w)[2][0].1, 3.0);
    }
}
