//! Delimiter listings ([`crate::listing`]): the store's entries against a
//! model over tricky keys (nested folders, prefixes holding the delimiter,
//! multi-byte UTF-8 next to byte boundaries, markers inside common
//! prefixes, delimiters of several bytes), paging through 1,000 folders,
//! and what a listing costs in rows read.
//!
//! The cases at scale fill buckets through a [`ListingHarness`] (a direct
//! insert of many rows, test-only) and read the store's count of rows its
//! listings read; [`crate::listing_scale_tests!`] runs them.

use super::*;
use async_trait::async_trait;

/// What the cases at scale need beyond the traits.
#[async_trait]
pub trait ListingHarness: Send + Sync {
    /// Inserts one-byte objects under `keys` into `bucket` in one
    /// transaction, bypassing the per-object write path (totals are not
    /// kept): tens of thousands of keys in a second.
    async fn bulk_insert(&self, bucket: &str, keys: &[String]);
    /// (range reads, rows read) by this store's listings so far.
    fn list_reads(&self) -> (u64, u64);
    /// The index entries the database says it has read from the objects'
    /// `(bucket_id, key)` index so far, when it keeps such statistics
    /// (PostgreSQL's `pg_stat_user_indexes.idx_tup_read`); `None` otherwise.
    async fn index_rows_read(&self) -> Option<u64>;
}

/// Generates one `#[tokio::test]` per listing case at scale. `$make` is an
/// async factory returning `Option<(Arc<dyn Store>, Arc<dyn ListingHarness>, guard)>`.
#[macro_export]
macro_rules! listing_scale_tests {
    ($make:path) => {
        $crate::listing_scale_tests!(@cases $make, delimiter_paging_through_1000_folders, delimiter_listing_cost);
    };
    (@cases $make:path, $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, harness, _guard)) = $make().await else { return };
                $crate::conformance::$case(store, harness).await;
            }
        )*
    };
}

/// The model: every entry (`true`: common prefix) under `prefix`, in byte
/// order, then those past `start`.
fn model(keys: &[&str], prefix: &str, delim: Option<&str>, start: &ListStart) -> Vec<(bool, String)> {
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut out: Vec<(bool, String)> = Vec::new();
    for k in sorted.into_iter().filter(|k| k.starts_with(prefix)) {
        let rest = &k[prefix.len()..];
        match delim.filter(|d| !d.is_empty()).and_then(|d| rest.find(d).map(|i| &k[..prefix.len() + i + d.len()])) {
            Some(cp) => {
                if out.last().map(|e| e.1.as_str()) != Some(cp) {
                    out.push((true, cp.to_owned()));
                }
            }
            None => out.push((false, k.to_owned())),
        }
    }
    out.retain(|(_, e)| match start {
        ListStart::Unbounded => true,
        ListStart::After(s) => e.as_bytes() > s.as_slice(),
        ListStart::AtOrAfter(s) => e.as_bytes() >= s.as_slice(),
    });
    out
}

fn entries(listed: Vec<ListEntry>) -> Vec<(bool, String)> {
    listed
        .into_iter()
        .map(|e| match e {
            ListEntry::CommonPrefix(p) => (true, p),
            ListEntry::Object(o) => (false, o.key),
        })
        .collect()
}

fn q(prefix: &str, delim: Option<&str>, start: ListStart, limit: usize) -> ListQuery {
    ListQuery { prefix: prefix.into(), delimiter: delim.map(Into::into), start, limit }
}

/// Keys chosen to sit next to every boundary a loose index scan crosses.
const KEYS: &[&str] = &[
    "a",
    "a/",
    "a//x",
    "a/b",
    "a/b/c",
    "a/b/d/e",
    "a/c",
    "a0",
    "ab/x",
    "b/1",
    "b/2/3",
    "photos-",
    "photos--2024--x",
    "photos--2024--y",
    "photos--x",
    "photos---z",
    // 0x7f: the successor of "z\x7f/" ends in 0x30, of "z\x7f" in 0x80 (not UTF-8).
    "z\u{7f}/1",
    "z\u{7f}0",
    "z\u{80}/q",
    // Multi-byte characters whose last bytes are 0xbf (the successor carries
    // into a byte that is not UTF-8), and the highest code points.
    "k\u{7ff}/x",
    "k\u{7ff}/y",
    "k\u{800}",
    "\u{ffff}x/1",
    "\u{ffff}x",
    "\u{ffff}y/2",
    "\u{10ffff}/a",
    "\u{10ffff}/b/c",
    "\u{10ffff}\u{10ffff}",
    "é/1",
    "é/2",
    "éa",
    "éé/x",
    "xéy/1",
    "xéy/2",
    "xéz",
];

pub async fn delimiter_listings(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    s.create_bucket(bucket("other")).await.unwrap();
    for k in KEYS {
        s.put_object("b", inline(k, b"x"), WriteCondition::None).await.unwrap();
    }
    s.put_object("other", inline("a/zz/1", b"x"), WriteCondition::None).await.unwrap();
    let prefixes = [
        "",
        "a",
        "a/",
        "a/b/",
        "photos-",
        "photos--",
        "z\u{7f}",
        "k\u{7ff}",
        "\u{ffff}",
        "\u{10ffff}",
        "é",
        "x",
        "nope",
    ];
    let delims = [None, Some(""), Some("/"), Some("--"), Some("é"), Some("\u{10ffff}"), Some("/b/")];
    for prefix in prefixes {
        for delim in delims {
            let all = model(KEYS, prefix, delim, &ListStart::Unbounded);
            // Every start: each entry (a marker at a common prefix or at a
            // key), a key inside each common prefix, and bounds that are
            // not UTF-8.
            let mut starts = vec![ListStart::Unbounded];
            // Keys under the prefix (markers inside common prefixes among
            // them), and one below and one above it.
            for k in KEYS.iter().filter(|k| k.starts_with(prefix)).chain([&"a", &"\u{10ffff}\u{10ffff}"]) {
                starts.push(ListStart::After(k.as_bytes().to_vec()));
            }
            for (_, e) in &all {
                starts.push(ListStart::After(e.as_bytes().to_vec()));
                starts.push(ListStart::AtOrAfter(e.as_bytes().to_vec()));
            }
            starts.push(ListStart::AtOrAfter(vec![b'a', b'/', 0xff]));
            starts.push(ListStart::After(vec![0xf4, 0x8f, 0xbf, 0xc0]));
            for start in starts {
                let want = model(KEYS, prefix, delim, &start);
                for limit in [1, 1000] {
                    let got = entries(s.list_objects("b", &q(prefix, delim, start.clone(), limit)).await.unwrap());
                    let n = want.len().min(limit);
                    assert_eq!(got, want[..n], "prefix {prefix:?} delimiter {delim:?} start {start:?} limit {limit}");
                }
            }
            // Paging with the last entry as marker (S3's NextMarker and
            // continuation token) returns every entry exactly once.
            for limit in [1, 3] {
                let mut got = Vec::new();
                let mut start = ListStart::Unbounded;
                loop {
                    let page = entries(s.list_objects("b", &q(prefix, delim, start, limit)).await.unwrap());
                    assert!(page.len() <= limit);
                    let Some((_, last)) = page.last().cloned() else { break };
                    got.extend(page);
                    start = ListStart::After(last.into_bytes());
                }
                assert_eq!(got, all, "paged by {limit}: prefix {prefix:?} delimiter {delim:?}");
            }
        }
    }
    // Spot checks of the model's meaning.
    let top = entries(s.list_objects("b", &q("", Some("/"), ListStart::Unbounded, 1000)).await.unwrap());
    assert!(top.contains(&(true, "a/".into())) && top.contains(&(false, "a".into())));
    assert!(!top.iter().any(|e| e.1.starts_with("a/") && e.1 != "a/"), "one entry for the folder: {top:?}");
    let inside = |m: &str| ListStart::After(m.as_bytes().to_vec());
    let after_marker = entries(s.list_objects("b", &q("", Some("/"), inside("a/b/c"), 1)).await.unwrap());
    assert_eq!(after_marker, [(false, "a0".to_string())], "a marker inside a/ skips a/");
    let nested = entries(s.list_objects("b", &q("a/", Some("/"), ListStart::Unbounded, 1000)).await.unwrap());
    assert_eq!(
        nested,
        [
            (false, "a/".into()),
            (true, "a//".into()),
            (false, "a/b".into()),
            (true, "a/b/".into()),
            (false, "a/c".into())
        ]
    );
    let long = entries(s.list_objects("b", &q("photos-", Some("--"), ListStart::Unbounded, 1000)).await.unwrap());
    assert_eq!(
        long,
        [
            (false, "photos-".into()),
            (true, "photos---".into()),
            (true, "photos--2024--".into()),
            (false, "photos--x".into())
        ]
    );
    let long = entries(s.list_objects("b", &q("photos--", Some("--"), ListStart::Unbounded, 1000)).await.unwrap());
    assert_eq!(long, [(false, "photos---z".into()), (true, "photos--2024--".into()), (false, "photos--x".into())]);
    let multi = entries(s.list_objects("b", &q("x", Some("é"), ListStart::Unbounded, 1000)).await.unwrap());
    assert_eq!(multi, [(true, "xé".into())]);
    assert!(matches!(
        s.list_objects("nope", &q("", Some("/"), ListStart::Unbounded, 5)).await,
        Err(MetaError::NoSuchBucket)
    ));
    assert!(s.list_objects("b", &q("", Some("/"), ListStart::Unbounded, 0)).await.unwrap().is_empty());
}

/// Buckets by project and by page: the operator's view and one project's.
pub async fn bucket_pages(s: Arc<dyn MetaStore>) {
    for (name, project) in [("b3", "p"), ("a1", "q"), ("b1", "p"), ("c0", ""), ("b2", "p"), ("ba", "q"), ("b10", "p")] {
        s.create_bucket(bucket_in(name, project)).await.unwrap();
    }
    let names = |q: BucketQuery| {
        let s = s.clone();
        async move { s.list_buckets(&q).await.unwrap().into_iter().map(|b| b.name).collect::<Vec<_>>() }
    };
    let all = |limit| BucketQuery { limit, ..Default::default() };
    assert_eq!(names(all(100)).await, ["a1", "b1", "b10", "b2", "b3", "ba", "c0"]);
    assert_eq!(names(all(2)).await, ["a1", "b1"]);
    assert_eq!(names(BucketQuery { after: Some("b10".into()), ..all(3) }).await, ["b2", "b3", "ba"]);
    assert_eq!(names(BucketQuery::project("p", 100)).await, ["b1", "b10", "b2", "b3"]);
    assert_eq!(names(BucketQuery::project("", 100)).await, ["c0"]);
    assert_eq!(names(BucketQuery::project("none", 100)).await, Vec::<String>::new());
    let p =
        |after: Option<&str>, limit| BucketQuery { after: after.map(Into::into), ..BucketQuery::project("p", limit) };
    assert_eq!(names(p(Some("b1"), 2)).await, ["b10", "b2"]);
    assert_eq!(names(p(Some("b3"), 2)).await, Vec::<String>::new());
    assert_eq!(names(p(Some("a"), 1)).await, ["b1"]);
    // Paging a project's buckets returns each once.
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let page = names(p(after.as_deref(), 1)).await;
        let Some(last) = page.last().cloned() else { break };
        got.extend(page);
        after = Some(last);
    }
    assert_eq!(got, ["b1", "b10", "b2", "b3"]);
    // A name prefix, alone or with a project and a start.
    assert_eq!(names(BucketQuery { prefix: "b1".into(), ..all(100) }).await, ["b1", "b10"]);
    assert_eq!(names(BucketQuery { prefix: "b".into(), ..BucketQuery::project("q", 100) }).await, ["ba"]);
    assert_eq!(names(BucketQuery { prefix: "b".into(), after: Some("b2".into()), ..all(100) }).await, ["b3", "ba"]);
    assert_eq!(names(BucketQuery { prefix: "b".into(), after: Some("a".into()), ..all(1) }).await, ["b1"]);
    assert_eq!(names(BucketQuery { prefix: "é".into(), ..all(100) }).await, Vec::<String>::new());
    assert_eq!(names(all(0)).await, Vec::<String>::new());
}

/// 1,000 folders of 50 keys each, with objects between them, paged by 7
/// and by 100 with the last entry as marker: each folder once, in order.
pub async fn delimiter_paging_through_1000_folders(s: Arc<dyn Store>, h: Arc<dyn ListingHarness>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let mut keys = Vec::new();
    for f in 0..1000 {
        for k in 0..50 {
            keys.push(format!("root/f{f:04}/k{k:02}"));
        }
        if f % 10 == 0 {
            keys.push(format!("root/f{f:04}.txt"));
        }
    }
    keys.push("root/zz".into());
    keys.push("other/x".into());
    h.bulk_insert("b", &keys).await;
    let mut want: Vec<(bool, String)> = Vec::new();
    for f in 0..1000 {
        // '.' (0x2e) sorts before '/' (0x2f).
        if f % 10 == 0 {
            want.push((false, format!("root/f{f:04}.txt")));
        }
        want.push((true, format!("root/f{f:04}/")));
    }
    want.push((false, "root/zz".into()));
    for limit in [7, 100] {
        let mut got = Vec::new();
        let mut start = ListStart::Unbounded;
        let mut pages = 0;
        loop {
            let page = entries(s.list_objects("b", &q("root/", Some("/"), start, limit)).await.unwrap());
            let Some((_, last)) = page.last().cloned() else { break };
            assert!(page.len() <= limit);
            got.extend(page);
            start = ListStart::After(last.into_bytes());
            pages += 1;
        }
        assert_eq!(got.len(), want.len(), "limit {limit}");
        assert_eq!(got, want, "limit {limit}");
        assert_eq!(pages, want.len().div_ceil(limit));
    }
    // A marker inside a folder resumes after that folder.
    let start = ListStart::After(b"root/f0500/k17".to_vec());
    let page = entries(s.list_objects("b", &q("root/", Some("/"), start, 2)).await.unwrap());
    assert_eq!(page, [(true, "root/f0501/".to_string()), (true, "root/f0502/".to_string())]);
}

/// A delimiter page of 1,000 folders with 100 keys each reads about 1,000
/// rows (one per folder), not the 100,000 keys below them; a page of one
/// folder's keys reads its page; a listing whose only folder holds
/// everything reads one row.
pub async fn delimiter_listing_cost(s: Arc<dyn Store>, h: Arc<dyn ListingHarness>) {
    s.create_bucket(bucket("b")).await.unwrap();
    let mut keys = Vec::with_capacity(100_000);
    for f in 0..1000 {
        for k in 0..100 {
            keys.push(format!("d{f:04}/k{k:03}"));
        }
    }
    h.bulk_insert("b", &keys).await;
    let measure = |query: ListQuery| {
        let (s, h) = (s.clone(), h.clone());
        async move {
            let (q0, r0) = h.list_reads();
            let i0 = h.index_rows_read().await;
            let listed = s.list_objects("b", &query).await.unwrap();
            let (q1, r1) = h.list_reads();
            let index = match (i0, h.index_rows_read().await) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            };
            (listed, q1 - q0, r1 - r0, index)
        }
    };
    // S3's page: 1,000 entries and one more to learn it is the last.
    let (listed, queries, rows, index) = measure(q("", Some("/"), ListStart::Unbounded, 1001)).await;
    assert_eq!(listed.len(), 1000);
    assert!(listed.iter().all(|e| matches!(e, ListEntry::CommonPrefix(_))));
    assert!(rows <= 1100, "a page of 1,000 folders read {rows} rows in {queries} queries");
    assert!(queries <= 1100, "{queries} queries");
    eprintln!(
        "a delimiter page of 1,000 folders x 100 keys: {queries} range reads, {rows} rows, index entries {index:?}"
    );
    if let Some(index) = index {
        // The server's own count of index entries read (each seek that
        // ends a range may look at one entry beyond it). At least one per
        // folder, or the statistics were not flushed.
        assert!((1000..=2200).contains(&index), "PostgreSQL read {index} index entries for a page of 1,000 folders");
    }
    // Half a page from a marker inside a folder.
    let start = ListStart::After(b"d0499/k050".to_vec());
    let (listed, _, rows, _) = measure(q("", Some("/"), start, 500)).await;
    assert_eq!(listed.first().map(ListEntry::key), Some("d0500/"));
    assert_eq!(listed.len(), 500);
    assert!(rows <= 550, "{rows} rows");
    // One folder's keys: its page, one read.
    let (listed, queries, rows, _) = measure(q("d0007/", Some("/"), ListStart::Unbounded, 1000)).await;
    assert_eq!(listed.len(), 100);
    assert!(rows <= 2 * 100 + 1 && queries <= 10, "{rows} rows in {queries} queries");
    let (listed, queries, rows, _) = measure(q("", None, ListStart::Unbounded, 1000)).await;
    assert_eq!((listed.len(), queries, rows), (1000, 1, 1000));
    // A hundred folders of a prefix: a hundred rows.
    let (listed, _, rows, _) = measure(q("d05", Some("/"), ListStart::Unbounded, 1000)).await;
    assert_eq!(listed.len(), 100);
    assert!(rows <= 101, "{rows} rows for 100 folders");
    // Everything under one common prefix: one row.
    let (listed, _, rows, _) = measure(q("", Some("d"), ListStart::Unbounded, 1000)).await;
    assert_eq!(entries(listed), [(true, "d".to_string())]);
    assert!(rows <= 1, "{rows} rows for one prefix over 100,000 keys");
}
