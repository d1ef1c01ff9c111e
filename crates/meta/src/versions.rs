//! Versions: what the store keeps of a versioned bucket's keys, how a
//! request names a version, and the plan of a version listing
//! ([`VersionScan`]) that every store follows.
//!
//! The model, the same in every store: the `objects` rows are each key's
//! *current* version (the newest, when it is not a delete marker), so
//! object listings read what they always read. Every other version (older
//! ones, and delete markers) is kept beside them, each owning its blobs.
//! Versions of a key are ordered by a sequence number the store gives
//! each one in its commit order (`seq`); a current version's is the
//! highest of its key. A key has at most one null version (id `None`).

use crate::listing::{common_prefix_len, prefix_end};
use coffer_types::UnixMillis;

/// Which version of a key a request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionSel {
    /// The newest version, which may be a delete marker.
    Latest,
    /// The version with this id; `None` is the null version.
    Id(Option<String>),
}

impl VersionSel {
    /// From a request's `versionId` (absent: the latest; `null`: the null version).
    pub fn from_query(v: Option<&str>) -> Self {
        match v {
            None => VersionSel::Latest,
            Some(coffer_types::NULL_VERSION) => VersionSel::Id(None),
            Some(id) => VersionSel::Id(Some(id.to_owned())),
        }
    }
}

/// One version as read: the object (for a delete marker, its key, id and
/// time; no data), and where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRecord {
    pub object: crate::ObjectRecord,
    pub delete_marker: bool,
    /// Whether it is its key's newest version.
    pub latest: bool,
}

/// What a delete removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteTarget {
    /// The key as a whole: in an unversioned bucket its object; with
    /// versioning enabled a new delete marker with id `marker` on top (the
    /// current version becomes an older one); suspended, a null delete
    /// marker replacing the null version.
    Current { marker: String },
    /// One version (`None`: the null version), removed for good.
    Version(Option<String>),
}

/// Whether a delete may remove a locked version: at what time it runs and
/// whether GOVERNANCE retention is bypassed (the caller checked that the
/// requester asked for it and may).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockCheck {
    pub now: UnixMillis,
    pub bypass_governance: bool,
}

/// What a delete did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Whether anything was there to delete (an object, a version or, with
    /// versioning, always: a marker is made).
    pub found: bool,
    /// The version removed or the marker made (`Some(None)`: the null
    /// version); `None` in an unversioned bucket.
    pub version_id: Option<Option<String>>,
    /// Whether the version removed or made is a delete marker.
    pub delete_marker: bool,
}

/// A change to a bucket's versioning and object lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersioningChange {
    /// Versioning enabled or suspended (`InvalidBucketState` to suspend with
    /// object lock on; `Unversioned` is refused the same way: a bucket never
    /// goes back).
    Set(coffer_types::Versioning),
    /// Object lock on (versioning must be enabled; it stays on for good).
    EnableObjectLock,
}

/// A version listing query: the versions of the keys under `prefix` (and
/// with a `delimiter` the common prefixes), in key order and newest first
/// within a key, after `key_marker` (and within it after the version
/// `version_marker`), at most `limit` entries.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VersionListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: String,
    /// A version of `key_marker` (`Some(None)`: its null version); when it
    /// no longer exists the listing resumes at `key_marker` itself.
    pub version_marker: Option<Option<String>>,
    pub limit: usize,
}

/// One version in a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionSummary {
    pub key: String,
    pub version_id: Option<String>,
    pub delete_marker: bool,
    pub latest: bool,
    pub size: u64,
    pub etag: String,
    pub last_modified: UnixMillis,
}

/// One entry of a version listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionEntry {
    Version(VersionSummary),
    CommonPrefix(String),
}

/// A version row as a store reads it for a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRow {
    pub key: String,
    pub seq: i64,
    pub version_id: Option<String>,
    pub delete_marker: bool,
    pub size: u64,
    pub etag: String,
    pub last_modified: UnixMillis,
}

/// One range read of a version listing: rows ordered by key, then `seq`
/// descending, starting at `key` (only rows with `seq < below` of it when
/// `below` is given, all of them when `inclusive`, none otherwise), below
/// the key `upper`, at most `limit`. A store reads its current rows and its
/// other versions with this bound each, merges them in that order and
/// keeps the first `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRead {
    pub key: Vec<u8>,
    pub below: Option<i64>,
    pub inclusive: bool,
    pub upper: Option<Vec<u8>>,
    pub limit: usize,
}

impl VersionRead {
    /// Whether a row at (`key`, `seq`) is past the start (the store's SQL
    /// says the same; merging uses this to check).
    pub fn admits(&self, key: &[u8], seq: i64) -> bool {
        let above = match key.cmp(&self.key) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => self.below.map_or(self.inclusive, |b| seq < b),
            std::cmp::Ordering::Less => false,
        };
        above && self.upper.as_deref().is_none_or(|u| key < u)
    }
}

/// Merges the rows of two range reads (each in the read's order) and keeps
/// the first `limit`.
pub fn merge_rows(a: Vec<VersionRow>, b: Vec<VersionRow>, limit: usize) -> Vec<VersionRow> {
    let mut out = Vec::with_capacity(limit.min(a.len() + b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while out.len() < limit {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => {
                (x.key.as_bytes(), std::cmp::Reverse(x.seq)) <= (y.key.as_bytes(), std::cmp::Reverse(y.seq))
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
    out
}

/// The state of one version listing: ask [`VersionScan::next_read`] what to
/// read, [`VersionScan::feed`] it the rows, until there is nothing more;
/// then [`VersionScan::finish`]. Keys under a common prefix are skipped by
/// a seek past the prefix, so the rows read grow with the entries
/// returned.
#[derive(Debug)]
pub struct VersionScan {
    prefix: Vec<u8>,
    delimiter: Option<Vec<u8>>,
    read: VersionRead,
    limit: usize,
    /// The key of the last version seen: the next row of the same key is
    /// not its key's latest.
    last_key: Option<Vec<u8>>,
    done: bool,
    out: Vec<VersionEntry>,
}

impl VersionScan {
    /// A scan for `q`, whose version marker the store resolved to the
    /// version's `seq` (`marker_seq`). A version marker that names no
    /// version (deleted since the page that returned it: clients empty a
    /// bucket page by page that way) resumes at the marker's key, all of its
    /// versions left included: a listing may repeat a version, never skip one.
    pub fn new(q: &VersionListQuery, marker_seq: Option<i64>) -> Self {
        let prefix = q.prefix.as_bytes().to_vec();
        let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty()).map(|d| d.as_bytes().to_vec());
        let marker = q.key_marker.as_bytes();
        let mut last_key = None;
        let mut done = q.limit == 0;
        let mut read =
            VersionRead { key: prefix.clone(), below: None, inclusive: true, upper: prefix_end(&prefix), limit: 0 };
        if !marker.is_empty() && marker >= prefix.as_slice() {
            read.key = marker.to_vec();
            read.inclusive = q.version_marker.is_some() && marker_seq.is_none();
            if let Some(seq) = marker_seq {
                read.below = Some(seq);
                last_key = Some(marker.to_vec());
            }
            // A marker at or inside a common prefix: that prefix was listed.
            if let Some(n) = delimiter.as_ref().and_then(|d| common_prefix_len(marker, &prefix, d)) {
                match prefix_end(&marker[..n]) {
                    Some(end) => (read.key, read.below, read.inclusive, last_key) = (end, None, true, None),
                    None => done = true,
                }
            }
        }
        VersionScan { prefix, delimiter, read, limit: q.limit, last_key, done, out: Vec::new() }
    }

    /// The next range to read, or `None` when the listing is complete.
    pub fn next_read(&mut self) -> Option<VersionRead> {
        let left = self.limit.saturating_sub(self.out.len());
        if self.done || left == 0 {
            return None;
        }
        // With a delimiter a read may end at the first key of a folder: ask
        // for one more row than entries left, not more.
        self.read.limit = left + 1;
        Some(self.read.clone())
    }

    /// Takes the rows of the last [`VersionScan::next_read`], in its order.
    pub fn feed(&mut self, rows: Vec<VersionRow>) {
        let exhausted = rows.len() < self.read.limit;
        for row in rows {
            if self.out.len() == self.limit {
                self.done = true;
                return;
            }
            let key = row.key.as_bytes();
            if let Some(n) = self.delimiter.as_ref().and_then(|d| common_prefix_len(key, &self.prefix, d)) {
                self.out.push(VersionEntry::CommonPrefix(row.key[..n].to_owned()));
                match prefix_end(&key[..n]) {
                    Some(end) => {
                        (self.read.key, self.read.below, self.read.inclusive) = (end, None, true);
                        self.last_key = None;
                        return;
                    }
                    None => {
                        self.done = true;
                        return;
                    }
                }
            }
            let latest = self.last_key.as_deref() != Some(key);
            (self.read.key, self.read.below, self.read.inclusive) = (key.to_vec(), Some(row.seq), false);
            self.last_key = Some(key.to_vec());
            self.out.push(VersionEntry::Version(VersionSummary {
                key: row.key,
                version_id: row.version_id,
                delete_marker: row.delete_marker,
                latest,
                size: row.size,
                etag: row.etag,
                last_modified: row.last_modified,
            }));
        }
        if exhausted {
            self.done = true;
        }
    }

    /// The entries listed, in order, at most the query's limit.
    pub fn finish(self) -> Vec<VersionEntry> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, seq: i64) -> VersionRow {
        VersionRow {
            key: key.into(),
            seq,
            version_id: Some(format!("{key}{seq}")),
            delete_marker: false,
            size: 0,
            etag: String::new(),
            last_modified: 0,
        }
    }

    /// Runs a scan against rows held in memory, as a store would.
    fn run(all: &[VersionRow], q: &VersionListQuery, marker_seq: Option<i64>) -> (Vec<String>, usize) {
        let mut s = VersionScan::new(q, marker_seq);
        let mut reads = 0;
        while let Some(r) = s.next_read() {
            reads += 1;
            let rows: Vec<_> =
                all.iter().filter(|x| r.admits(x.key.as_bytes(), x.seq)).take(r.limit).cloned().collect();
            s.feed(rows);
        }
        let names = s
            .finish()
            .into_iter()
            .map(|e| match e {
                VersionEntry::Version(v) => format!("{}{}", v.version_id.unwrap(), if v.latest { "*" } else { "" }),
                VersionEntry::CommonPrefix(p) => p,
            })
            .collect();
        (names, reads)
    }

    #[test]
    fn versions_newest_first_with_latest_marked_and_folders_rolled_up() {
        let all = vec![row("a", 3), row("a", 1), row("b/x", 5), row("b/y", 2), row("c", 9), row("c", 4)];
        let q = |delim: Option<&str>, km: &str, limit| VersionListQuery {
            delimiter: delim.map(str::to_owned),
            key_marker: km.into(),
            limit,
            ..Default::default()
        };
        assert_eq!(run(&all, &q(None, "", 100), None).0, ["a3*", "a1", "b/x5*", "b/y2*", "c9*", "c4"]);
        assert_eq!(run(&all, &q(Some("/"), "", 100), None).0, ["a3*", "a1", "b/", "c9*", "c4"]);
        // Within a key after a version: the rest of it is not latest.
        assert_eq!(run(&all, &q(None, "a", 100), Some(3)).0, ["a1", "b/x5*", "b/y2*", "c9*", "c4"]);
        assert_eq!(run(&all, &q(None, "a", 100), None).0, ["b/x5*", "b/y2*", "c9*", "c4"]);
        // A marker inside a listed folder skips it.
        assert_eq!(run(&all, &q(Some("/"), "b/x", 100), Some(5)).0, ["c9*", "c4"]);
        assert_eq!(run(&all, &q(None, "", 2), None).0, ["a3*", "a1"]);
    }

    #[test]
    fn a_folder_of_many_versions_costs_one_read() {
        let mut all: Vec<_> = (0..1000).map(|i| row("f/k", 1000 - i)).collect();
        all.push(row("g", 1));
        let q = VersionListQuery { delimiter: Some("/".into()), limit: 10, ..Default::default() };
        let (names, reads) = run(&all, &q, None);
        assert_eq!(names, ["f/", "g1*"]);
        assert!(reads <= 3, "{reads} reads");
    }

    #[test]
    fn merge_keeps_key_then_newest_order() {
        let m = merge_rows(vec![row("a", 5), row("c", 1)], vec![row("a", 4), row("b", 2)], 3);
        let got: Vec<_> = m.iter().map(|r| (r.key.as_str(), r.seq)).collect();
        assert_eq!(got, [("a", 5), ("a", 4), ("b", 2)]);
    }
}
