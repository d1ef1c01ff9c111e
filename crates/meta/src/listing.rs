//! Object listings with a delimiter, as a plan of index range reads that
//! every store follows ([`ListScan`]).
//!
//! A listing is the ordered sequence of *entries* under a prefix: each key
//! that has no delimiter after the prefix is an object entry, and the keys
//! `prefix + X + delimiter + rest` are rolled up into one common-prefix
//! entry `prefix + X + delimiter`. Entries compare by their bytes (a common
//! prefix sorts before every key under it and, against every other key, as
//! those keys do), so a start bound applies to entries: `After(m)` lists the
//! entries above `m` (a marker inside a common prefix, or the common prefix
//! itself, skips that prefix: it was listed before), `AtOrAfter(s)` those
//! at or above `s`.
//!
//! The scan is a loose index scan: when a key under a common prefix is
//! read, the next read seeks to the first key above every key with that
//! prefix (the prefix's byte successor, [`prefix_end`]), so the keys under a
//! folder are never read one by one. Runs of plain objects between common
//! prefixes are read by one range read each, in batches that start at one
//! row after a common prefix and double while they hold only objects; so
//! the rows a listing reads stay within a small multiple of the entries it
//! returns (plus one row per common prefix), whatever lies under each
//! folder.

use crate::{ListQuery, ListStart, ObjectSummary};
use std::sync::atomic::{AtomicU64, Ordering};

/// One entry of a listing: an object, or a common prefix standing for every
/// key under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListEntry {
    Object(ObjectSummary),
    CommonPrefix(String),
}

impl ListEntry {
    /// The object's key or the common prefix: the entry's place in the order.
    pub fn key(&self) -> &str {
        match self {
            ListEntry::Object(o) => &o.key,
            ListEntry::CommonPrefix(p) => p,
        }
    }

    /// The object, if this entry is one.
    pub fn into_object(self) -> Option<ObjectSummary> {
        match self {
            ListEntry::Object(o) => Some(o),
            ListEntry::CommonPrefix(_) => None,
        }
    }
}

/// The smallest byte string greater than every string starting with `prefix`,
/// or `None` when there is none (empty or all-0xFF prefix). UTF-8 text never
/// contains 0xFF, so for a prefix of a key this is the prefix with its last
/// byte incremented.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut v = prefix.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

/// [`prefix_end`] for text: the smallest string greater than every string
/// starting with `prefix`, or `None` (empty, or only `char::MAX`). UTF-8's
/// byte order is its code points' order, so this is the prefix with its last
/// character replaced by the next one (surrogates skipped) and trailing
/// `char::MAX` dropped: a bound a store compares bytewise (SQLite's TEXT,
/// PostgreSQL's `COLLATE "C"`).
pub fn text_prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The common prefix (`prefix + X + delimiter`) `key` falls under, if any:
/// its length in bytes.
pub fn common_prefix_len(key: &[u8], prefix: &[u8], delimiter: &[u8]) -> Option<usize> {
    let rest = key.strip_prefix(prefix)?;
    find(rest, delimiter).map(|i| prefix.len() + i + delimiter.len())
}

/// One range read of a listing: keys of the bucket from `lower` (inclusive
/// or not) and below `upper` (`None`: no bound), in key order, at most `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeRead {
    pub lower: Vec<u8>,
    pub inclusive: bool,
    pub upper: Option<Vec<u8>>,
    pub limit: usize,
}

/// The state of one listing: ask [`ListScan::next_read`] what to read, give
/// the rows to [`ListScan::feed`], until there is nothing more to read;
/// then [`ListScan::finish`]. A store runs the reads on one snapshot (one
/// read transaction).
#[derive(Debug)]
pub struct ListScan {
    prefix: Vec<u8>,
    delimiter: Option<Vec<u8>>,
    lower: Vec<u8>,
    inclusive: bool,
    upper: Option<Vec<u8>>,
    limit: usize,
    batch: usize,
    asked: usize,
    done: bool,
    out: Vec<ListEntry>,
}

impl ListScan {
    pub fn new(q: &ListQuery) -> Self {
        let prefix = q.prefix.as_bytes().to_vec();
        let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty()).map(|d| d.as_bytes().to_vec());
        // The lower bound is the larger of the prefix (inclusive) and the start.
        let (mut lower, mut inclusive) = match &q.start {
            ListStart::After(s) if s.as_slice() >= prefix.as_slice() => (s.clone(), false),
            ListStart::AtOrAfter(s) if s.as_slice() > prefix.as_slice() => (s.clone(), true),
            _ => (prefix.clone(), true),
        };
        let mut done = q.limit == 0;
        // A start inside a common prefix (above the prefix itself, or at it
        // for `After`) skips every key under it.
        if let Some(d) = &delimiter {
            if let Some(n) = common_prefix_len(&lower, &prefix, d) {
                if !inclusive || lower.len() > n {
                    match prefix_end(&lower[..n]) {
                        Some(end) => (lower, inclusive) = (end, true),
                        None => done = true,
                    }
                }
            }
        }
        // Without a delimiter every row is an entry: one read does it.
        let batch = if delimiter.is_some() { 1 } else { q.limit };
        ListScan {
            upper: prefix_end(&prefix),
            prefix,
            delimiter,
            lower,
            inclusive,
            limit: q.limit,
            batch,
            asked: 0,
            done,
            out: Vec::new(),
        }
    }

    /// The next range to read, or `None` when the listing is complete.
    pub fn next_read(&mut self) -> Option<RangeRead> {
        let left = self.limit.saturating_sub(self.out.len());
        if self.done || left == 0 {
            return None;
        }
        self.asked = self.batch.clamp(1, left);
        Some(RangeRead {
            lower: self.lower.clone(),
            inclusive: self.inclusive,
            upper: self.upper.clone(),
            limit: self.asked,
        })
    }

    /// Takes the rows the last [`ListScan::next_read`] returned, in key order.
    pub fn feed(&mut self, rows: Vec<ObjectSummary>) {
        let exhausted = rows.len() < self.asked;
        let Some(delim) = self.delimiter.clone() else {
            self.out.extend(rows.into_iter().map(ListEntry::Object));
            self.done = true;
            return;
        };
        // Rows below `skip` lie under the common prefix just listed.
        let mut skip: Option<Vec<u8>> = None;
        let mut last: Option<Vec<u8>> = None;
        let mut last_skipped = false;
        for row in rows {
            let key = row.key.as_bytes();
            if skip.as_deref().is_some_and(|s| key < s) {
                last_skipped = true;
                continue;
            }
            if self.out.len() == self.limit {
                self.done = true;
                return;
            }
            last_skipped = false;
            match common_prefix_len(key, &self.prefix, &delim) {
                Some(n) => {
                    let end = prefix_end(&key[..n]);
                    self.out.push(ListEntry::CommonPrefix(row.key[..n].to_owned()));
                    match end {
                        Some(e) => skip = Some(e),
                        None => {
                            self.done = true;
                            return;
                        }
                    }
                    // This row is under the prefix: resume past it.
                    last_skipped = true;
                }
                None => {
                    last = Some(row.key.as_bytes().to_vec());
                    self.out.push(ListEntry::Object(row));
                }
            }
        }
        if exhausted {
            self.done = true;
            return;
        }
        if last_skipped {
            // The batch ended under a common prefix: seek past it, and probe
            // one row (the next entry may be another folder).
            (self.lower, self.inclusive) = (skip.unwrap_or_default(), true);
            self.batch = 1;
        } else {
            (self.lower, self.inclusive) = (last.unwrap_or_default(), false);
            self.batch = self.batch.saturating_mul(2);
        }
    }

    /// Takes the rows of a store that walked the rest of the listing in one
    /// query (PostgreSQL's recursive walk): from the first
    /// [`ListScan::next_read`]'s bounds, in key order, one row per entry
    /// (the first key under each common prefix, then a seek past it), up to
    /// that read's entries left or to the end of the range. The listing is
    /// then complete.
    pub fn feed_walk(&mut self, rows: Vec<ObjectSummary>) {
        self.feed(rows);
        self.done = true;
    }

    /// The entries listed, in order, at most the query's limit.
    pub fn finish(self) -> Vec<ListEntry> {
        self.out
    }
}

/// Counts of the range reads a store made for listings (test and
/// diagnostic hook: the cost tests read it).
#[derive(Debug, Default)]
pub struct ListReads {
    queries: AtomicU64,
    rows: AtomicU64,
}

impl ListReads {
    /// Records one range read that returned `rows` rows.
    pub fn record(&self, rows: usize) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
    }

    /// (range reads, rows read) so far.
    pub fn get(&self) -> (u64, u64) {
        (self.queries.load(Ordering::Relaxed), self.rows.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(prefix_end(&[b'a', 0xff]), Some(b"b".to_vec()));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn text_prefix_ends() {
        assert_eq!(text_prefix_end("keyring:").as_deref(), Some("keyring;"));
        assert_eq!(text_prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(text_prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"), "surrogates skipped");
        assert_eq!(text_prefix_end("\u{10FFFF}"), None);
        assert_eq!(text_prefix_end(""), None);
        // Every string with the prefix sorts below the end, bytewise.
        for (prefix, inside) in [("é", "é\u{10FFFF}z"), ("a\u{7F}", "a\u{7F}\u{80}")] {
            let end = text_prefix_end(prefix).unwrap();
            assert!(inside.as_bytes() < end.as_bytes() && prefix.as_bytes() < end.as_bytes());
        }
    }

    #[test]
    fn common_prefixes() {
        let cp = |k: &str, p: &str, d: &str| common_prefix_len(k.as_bytes(), p.as_bytes(), d.as_bytes());
        assert_eq!(cp("a/b/c", "", "/"), Some(2));
        assert_eq!(cp("a/b/c", "a/", "/"), Some(4));
        assert_eq!(cp("a/b", "a/", "/"), None);
        assert_eq!(cp("photos--2024--x", "", "--"), Some(8));
        assert_eq!(cp("b/x", "a", "/"), None);
        assert_eq!(cp("abc", "", ""), None);
    }

    fn rows(keys: &[&str]) -> Vec<ObjectSummary> {
        keys.iter()
            .map(|k| ObjectSummary { key: (*k).into(), size: 0, etag: String::new(), last_modified: 0 })
            .collect()
    }

    #[test]
    fn start_inside_a_common_prefix_skips_it() {
        let q = |start| ListQuery { prefix: "p/".into(), delimiter: Some("/".into()), start, limit: 10 };
        let read = |q: ListQuery| {
            let mut s = ListScan::new(&q);
            let r = s.next_read().unwrap();
            (r.lower, r.inclusive)
        };
        assert_eq!(read(q(ListStart::After(b"p/a/".to_vec()))), (b"p/a0".to_vec(), true));
        assert_eq!(read(q(ListStart::After(b"p/a/x".to_vec()))), (b"p/a0".to_vec(), true));
        assert_eq!(read(q(ListStart::After(b"p/a".to_vec()))), (b"p/a".to_vec(), false));
        assert_eq!(read(q(ListStart::AtOrAfter(b"p/a/".to_vec()))), (b"p/a/".to_vec(), true));
        assert_eq!(read(q(ListStart::AtOrAfter(b"p/a/x".to_vec()))), (b"p/a0".to_vec(), true));
        assert_eq!(read(q(ListStart::After(b"o".to_vec()))), (b"p/".to_vec(), true));
    }

    #[test]
    fn a_walk_completes_the_listing() {
        let q =
            ListQuery { prefix: String::new(), delimiter: Some("/".into()), start: ListStart::Unbounded, limit: 10 };
        let mut s = ListScan::new(&q);
        s.next_read().unwrap();
        // One row per entry, fewer than asked for by the page: the end.
        s.feed_walk(rows(&["a", "b/1", "c"]));
        assert!(s.next_read().is_none());
        let keys: Vec<_> = s.finish().iter().map(|e| e.key().to_owned()).collect();
        assert_eq!(keys, ["a", "b/", "c"]);
    }

    #[test]
    fn batches_restart_at_one_after_a_common_prefix() {
        let q =
            ListQuery { prefix: String::new(), delimiter: Some("/".into()), start: ListStart::Unbounded, limit: 100 };
        let mut s = ListScan::new(&q);
        assert_eq!(s.next_read().unwrap().limit, 1);
        s.feed(rows(&["a"]));
        assert_eq!(s.next_read().unwrap().limit, 2);
        s.feed(rows(&["b", "c"]));
        let r = s.next_read().unwrap();
        assert_eq!((r.limit, r.lower.as_slice(), r.inclusive), (4, b"c".as_slice(), false));
        s.feed(rows(&["d", "e/1", "e/2", "e/3"]));
        let r = s.next_read().unwrap();
        assert_eq!((r.limit, r.lower.as_slice(), r.inclusive), (1, b"e0".as_slice(), true));
        s.feed(rows(&["f/1"]));
        s.next_read().unwrap();
        s.feed(rows(&[]));
        assert!(s.next_read().is_none());
        let keys: Vec<_> = s.finish().iter().map(|e| e.key().to_owned()).collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e/", "f/"]);
    }
}
