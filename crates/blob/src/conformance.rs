//! The suite every [`BlobStore`] implementation runs, through
//! [`crate::blob_conformance_tests!`] with an async factory returning
//! `(Arc<dyn BlobStore>, guard)`.

use crate::*;
use futures::TryStreamExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Generates one `#[tokio::test]` per conformance case.
#[macro_export]
macro_rules! blob_conformance_tests {
    ($make:path) => {
        $crate::blob_conformance_tests!(@cases $make,
            write_read_roundtrip, ranged_reads, abandoned_writer_leaves_nothing,
            delete_is_idempotent, list_and_clean_temp, missing_blob_is_not_found,
            concurrent_writers);
    };
    (@cases $make:path, $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make().await;
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
    assert!(s.list(far_future).await.unwrap().is_empty());
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
    let mut listed = s.list(later).await.unwrap();
    listed.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(listed, want);
    assert!(s.list(SystemTime::UNIX_EPOCH).await.unwrap().is_empty(), "cut-off respected");
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
