//! Conformance cases for CompleteMultipartUpload racing a re-uploaded part.
//!
//! The engine reads an upload's parts, then asks the store to complete it
//! with the blobs it read. A part re-uploaded in between queues the old blob
//! for collection; a completion that still named it would make an object
//! whose data the collector later deletes. The store must check, inside the
//! completing transaction, that every blob is still a current part.

use super::{blobs, bucket, queued};
use crate::*;
use coffer_types::BlobId;
use std::sync::Arc;

fn part(n: u32, blob: &BlobId) -> PartRecord {
    PartRecord {
        part_number: n,
        size: 10,
        etag: format!("p{n}"),
        last_modified: 7,
        blob: blob.clone(),
        crc64: None,
        checksum: None,
    }
}

fn upload(id: &str) -> UploadRecord {
    UploadRecord { upload_id: id.into(), key: "k".into(), initiated: 5, meta: ObjectMeta::default() }
}

fn object(blobs: &[&BlobId]) -> ObjectRecord {
    ObjectRecord {
        version_id: None,
        key: "k".into(),
        size: 10 * blobs.len() as u64,
        etag: "mp-k".into(),
        last_modified: 1000,
        meta: ObjectMeta::default(),
        data: ObjectData::Segments(
            blobs.iter().map(|b| Segment { blob: (*b).clone(), size: 10, crc64: None }).collect(),
        ),
    }
}

/// A completion naming a blob that a re-upload replaced is refused, and
/// nothing changes; naming the current blobs then succeeds.
pub async fn complete_refuses_replaced_part_blob(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    s.create_upload("b", upload("u")).await.unwrap();
    let b = blobs(3);
    s.put_part("b", "u", part(1, &b[0])).await.unwrap();
    s.put_part("b", "u", part(2, &b[1])).await.unwrap();
    // The engine has read parts 1 and 2; part 2 is re-uploaded meanwhile.
    let stale = object(&[&b[0], &b[1]]);
    s.put_part("b", "u", part(2, &b[2])).await.unwrap();
    assert_eq!(queued(&*s).await, vec![b[1].clone()]);

    let r = s.complete_upload("b", "u", stale, WriteCondition::None).await.map(drop);
    assert!(matches!(&r, Err(MetaError::StalePart(blob)) if *blob == b[1]), "{r:?}");
    assert_eq!(s.get_object("b", "k").await.unwrap(), None, "nothing committed");
    assert!(s.get_upload("b", "u").await.unwrap().is_some(), "the upload is still there");
    assert_eq!(s.list_parts("b", "u", 0, 10).await.unwrap().len(), 2);

    // A blob that was never a part of this upload is refused the same way.
    let foreign = BlobId::random();
    let r = s.complete_upload("b", "u", object(&[&b[0], &foreign]), WriteCondition::None).await.map(drop);
    assert!(matches!(&r, Err(MetaError::StalePart(blob)) if *blob == foreign), "{r:?}");

    let fresh = object(&[&b[0], &b[2]]);
    s.complete_upload("b", "u", fresh.clone(), WriteCondition::None).await.unwrap();
    assert_eq!(s.get_object("b", "k").await.unwrap(), Some(fresh));
    assert_eq!(queued(&*s).await, vec![b[1].clone()], "only the replaced blob is queued");
}

/// Completions race re-uploads of the same part: whatever interleaving
/// happens, a committed object never names a blob queued for collection.
pub async fn complete_races_put_part(s: Arc<dyn MetaStore>) {
    s.create_bucket(bucket("b")).await.unwrap();
    for round in 0..20 {
        let id = format!("u{round}");
        s.create_upload("b", UploadRecord { upload_id: id.clone(), ..upload("") }).await.unwrap();
        let first = BlobId::random();
        s.put_part("b", &id, part(1, &first)).await.unwrap();
        let reuploads: Vec<BlobId> = (0..4).map(|_| BlobId::random()).collect();
        let uploader = {
            let (s, id, blobs) = (s.clone(), id.clone(), reuploads.clone());
            tokio::spawn(async move {
                for blob in blobs {
                    // Fails with NoSuchUpload once the completion won.
                    if s.put_part("b", &id, part(1, &blob)).await.is_err() {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            })
        };
        // Each completion names the part as the engine last read it.
        let mut done = false;
        for _ in 0..50 {
            let current = s.list_parts("b", &id, 0, 10).await.unwrap();
            let Some(p) = current.first() else { break };
            match s.complete_upload("b", &id, object(&[&p.blob]), WriteCondition::None).await.map(drop) {
                Ok(()) => {
                    done = true;
                    break;
                }
                Err(MetaError::StalePart(_)) => tokio::task::yield_now().await,
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        uploader.await.unwrap();
        assert!(done, "round {round}: a completion with the current part must succeed");
        let obj = s.get_object("b", "k").await.unwrap().unwrap();
        let pending = queued(&*s).await;
        for blob in obj.data.blobs() {
            assert!(!pending.contains(blob), "round {round}: the object names a blob queued for collection");
        }
        s.gc_forget(&pending).await.unwrap();
    }
}
