//! The suite every [`BlobStore`] implementation runs, through
//! [`crate::blob_conformance_tests!`] with an async factory returning
//! `(Arc<dyn BlobStore>, guard)`, or `Option<(Arc<dyn BlobStore>, guard)>`
//! for a store that needs a server the machine may lack (`None`: the case
//! returns at once; the factory says why it skips).

use crate::*;
use futures::TryStreamExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What a conformance factory returns: a store and a guard that keeps its
/// resources alive, or (`Option`) maybe none.
pub trait Fixture {
    type Guard;
    fn into_parts(self) -> Option<(Arc<dyn BlobStore>, Self::Guard)>;
}

impl<G> Fixture for (Arc<dyn BlobStore>, G) {
    type Guard = G;
    fn into_parts(self) -> Option<(Arc<dyn BlobStore>, G)> {
        Some(self)
    }
}

impl<G> Fixture for Option<(Arc<dyn BlobStore>, G)> {
    type Guard = G;
    fn into_parts(self) -> Option<(Arc<dyn BlobStore>, G)> {
        self
    }
}

/// Generates one `#[tokio::test]` per conformance case.
#[macro_export]
macro_rules! blob_conformance_tests {
    ($make:path) => {
        $crate::blob_conformance_tests!(@cases $make,
            write_read_roundtrip, ranged_reads, abandoned_writer_leaves_nothing,
            delete_is_idempotent, list_and_clean_temp, missing_blob_is_not_found,
            concurrent_writers, paged_listing_lists_each_blob_once,
            paged_listing_survives_deletes, cursors_are_positions);
    };
    (@cases $make:path, $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $crate::conformance::Fixture::into_parts($make().await) else {
                    return;
                };
                $crate::conformance::$case(store).await;
            }
        )*
    };
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

async fn put(s: &dyn BlobStore, data: &[u8], piece: usize) -> BlobId {
    let mut w = s.create().await.unwrap();
    for c in data.chunks(piece.max(1)) {
        w.write(Bytes::copy_from_slice(c)).await.unwrap();
    }
    w.commit().await.unwrap()
}

/// Every page of a listing with pages of `limit`, checking each page's size.
async fn list_pages(s: &dyn BlobStore, before: SystemTime, limit: usize) -> Vec<Vec<BlobId>> {
    let mut pages = Vec::new();
    let mut from: Option<ListCursor> = None;
    loop {
        let page = s.list(before, from.as_ref(), limit).await.unwrap();
        assert!(page.ids.len() <= limit.max(1), "a page of {} ids for a limit of {limit}", page.ids.len());
        pages.push(page.ids);
        assert!(pages.len() < 100_000, "the listing does not end");
        match page.next {
            Some(c) => from = Some(c),
            None => return pages,
        }
    }
}

/// The whole listing, sorted.
async fn list_all(s: &dyn BlobStore, before: SystemTime) -> Vec<BlobId> {
    let mut all: Vec<BlobId> = list_pages(s, before, 3).await.concat();
    all.sort();
    all
}

async fn get(s: &dyn BlobStore, id: &BlobId, off: u64, len: u64) -> Vec<u8> {
    let chunks: Vec<Bytes> = s.read(id, off, len).await.unwrap().try_collect().await.unwrap();
    chunks.concat()
}

pub async fn write_read_roundtrip(s: Arc<dyn BlobStore>) {
    for size in [0usize, 1, 4096, (1 << 20) + 7, 3 << 20] {
        let data = pattern(size);
        let id = put(&*s, &data, 65536).await;
        assert_eq!(get(&*s, &id, 0, size as u64).await, data, "size {size}");
    }
}

pub async fn ranged_reads(s: Arc<dyn BlobStore>) {
    let data = pattern(1 << 20);
    let id = put(&*s, &data, 1000).await;
    assert_eq!(get(&*s, &id, 10, 20).await, data[10..30]);
    assert_eq!(get(&*s, &id, 300_000, 500_000).await, data[300_000..800_000]);
    assert_eq!(get(&*s, &id, 5, 0).await, Vec::<u8>::new());
    // Reading past the end is an error, not a short read.
    let r: Result<Vec<Bytes>, _> = s.read(&id, (1 << 20) - 1, 2).await.unwrap().try_collect().await;
    assert!(r.is_err());
}

pub async fn abandoned_writer_leaves_nothing(s: Arc<dyn BlobStore>) {
    let mut w = s.create().await.unwrap();
    w.write(Bytes::from(pattern(3 << 20))).await.unwrap();
    drop(w);
    let far_future = SystemTime::now() + Duration::from_secs(3600);
    assert!(list_all(&*s, far_future).await.is_empty());
    assert_eq!(s.clean_temp(far_future).await.unwrap(), 0, "temp data removed on drop");
}

pub async fn delete_is_idempotent(s: Arc<dyn BlobStore>) {
    let id = put(&*s, b"x", 1).await;
    s.delete(&id).await.unwrap();
    s.delete(&id).await.unwrap();
    assert!(matches!(s.read(&id, 0, 1).await, Err(BlobError::NotFound(_))));
}

pub async fn list_and_clean_temp(s: Arc<dyn BlobStore>) {
    let a = put(&*s, b"a", 1).await;
    let b = put(&*s, b"b", 1).await;
    let later = SystemTime::now() + Duration::from_secs(3600);
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(list_all(&*s, later).await, want);
    assert!(list_all(&*s, SystemTime::UNIX_EPOCH).await.is_empty(), "cut-off respected");
    let mut w = s.create().await.unwrap();
    w.write(Bytes::from_static(b"pending")).await.unwrap();
    // An in-flight writer is younger than a past cut-off: left alone.
    assert_eq!(s.clean_temp(SystemTime::UNIX_EPOCH).await.unwrap(), 0);
    // Simulate a crash: the writer's temp data is forgotten, then cleaned.
    std::mem::forget(w);
    assert_eq!(s.clean_temp(later).await.unwrap(), 1);
}

pub async fn missing_blob_is_not_found(s: Arc<dyn BlobStore>) {
    let id = BlobId::random();
    assert!(matches!(s.read(&id, 0, 0).await, Err(BlobError::NotFound(_))));
    s.delete(&id).await.unwrap();
}

pub async fn concurrent_writers(s: Arc<dyn BlobStore>) {
    let mut tasks = Vec::new();
    for i in 0..8usize {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let data = pattern(100_000 + i);
            let id = put(&*s, &data, 7000).await;
            (id, data)
        }));
    }
    for t in tasks {
        let (id, data) = t.await.unwrap();
        assert_eq!(get(&*s, &id, 0, data.len() as u64).await, data);
    }
}

/// Ids seen more than once, and the sorted set of all ids seen.
fn tally(pages: &[Vec<BlobId>]) -> (Vec<BlobId>, Vec<BlobId>) {
    let mut all: Vec<BlobId> = pages.concat();
    all.sort();
    let mut dups: Vec<BlobId> = all.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0].clone()).collect();
    dups.dedup();
    all.dedup();
    (dups, all)
}

pub async fn paged_listing_lists_each_blob_once(s: Arc<dyn BlobStore>) {
    let mut want = Vec::new();
    for i in 0..23usize {
        want.push(put(&*s, &pattern(i), 64).await);
    }
    want.sort();
    let later = SystemTime::now() + Duration::from_secs(3600);
    for limit in [1usize, 5, 7, 23, 1000] {
        let pages = list_pages(&*s, later, limit).await;
        let (dups, all) = tally(&pages);
        assert!(dups.is_empty(), "limit {limit}: listed twice: {dups:?}");
        assert_eq!(all, want, "limit {limit}: every blob listed");
        if limit < 23 {
            assert!(pages.len() > 1, "limit {limit}: more blobs than one page");
        }
    }
    // A limit of 0 counts as 1.
    let (dups, all) = tally(&list_pages(&*s, later, 0).await);
    assert!(dups.is_empty());
    assert_eq!(all, want);
    // The cut-off holds on every page.
    assert!(list_pages(&*s, SystemTime::UNIX_EPOCH, 4).await.iter().all(|p| p.is_empty()));
}

pub async fn paged_listing_survives_deletes(s: Arc<dyn BlobStore>) {
    let mut ids = Vec::new();
    for i in 0..20usize {
        ids.push(put(&*s, &pattern(i + 1), 1000).await);
    }
    let later = SystemTime::now() + Duration::from_secs(3600);
    let first = s.list(later, None, 6).await.unwrap();
    assert!(first.ids.len() <= 6);
    let mut pages = vec![first.ids.clone()];
    // Between pages: delete what the first page listed (as the orphan scan
    // does) and five blobs not listed yet.
    for id in &first.ids {
        s.delete(id).await.unwrap();
    }
    let unlisted: Vec<BlobId> = ids.iter().filter(|id| !first.ids.contains(id)).take(5).cloned().collect();
    for id in &unlisted {
        s.delete(id).await.unwrap();
    }
    let mut from = first.next;
    while let Some(c) = from {
        let page = s.list(later, Some(&c), 6).await.unwrap();
        pages.push(page.ids);
        from = page.next;
        assert!(pages.len() < 10_000, "the listing does not end");
    }
    let (dups, all) = tally(&pages);
    assert!(dups.is_empty(), "listed twice: {dups:?}");
    for id in &ids {
        if !unlisted.contains(id) {
            assert!(all.contains(id), "a surviving blob was not listed");
        }
    }
    for id in &unlisted {
        assert!(!all.contains(id), "a blob deleted before its page was listed");
    }
}

pub async fn cursors_are_positions(s: Arc<dyn BlobStore>) {
    for i in 0..10usize {
        put(&*s, &pattern(i), 64).await;
    }
    let later = SystemTime::now() + Duration::from_secs(3600);
    let first = s.list(later, None, 4).await.unwrap();
    let cursor = first.next.expect("more than one page");
    // Listing twice from the same cursor gives the same page.
    let a = s.list(later, Some(&cursor), 4).await.unwrap();
    let b = s.list(later, Some(&cursor.clone()), 4).await.unwrap();
    assert_eq!(a.ids, b.ids);
    assert!(!a.ids.iter().any(|id| first.ids.contains(id)), "the second page repeats the first");
}
