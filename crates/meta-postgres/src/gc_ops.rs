//! The SQL of the blob garbage queue ([`coffer_meta::MetaStore::gc_claim`]
//! and its kin) and of [`blobs_known`], which the orphan sweep asks before
//! deleting a blob no row names.

use crate::ops::blob_id;
use crate::retry::Try;
use crate::stmt::Db;
use coffer_types::{BlobId, UnixMillis};
use std::collections::HashSet;
use tokio_postgres::types::Type;

fn blob_list(rows: Vec<tokio_postgres::Row>) -> Try<Vec<BlobId>> {
    Ok(rows.iter().map(|r| blob_id(r.get(0))).collect::<Result<_, _>>()?)
}

pub async fn gc_pending(c: &impl Db, before: UnixMillis, limit: usize) -> Try<Vec<BlobId>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c
        .query_typed(
            "SELECT blob_id FROM gc_queue WHERE queued <= $1 ORDER BY queued, blob_id LIMIT $2",
            &[(&before, Type::INT8), (&limit, Type::INT8)],
        )
        .await?;
    blob_list(rows)
}

/// Hands out queued blobs no live claim holds, claiming them until
/// `claim_until`: rows are taken `FOR UPDATE SKIP LOCKED`, so two
/// collectors never get the same blob.
pub async fn gc_claim(
    c: &impl Db,
    before: UnixMillis,
    limit: usize,
    now: UnixMillis,
    claim_until: UnixMillis,
) -> Try<Vec<BlobId>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c
        .query_typed(
            "WITH picked AS (
                 SELECT blob_id FROM gc_queue
                 WHERE queued <= $1 AND (claimed_until IS NULL OR claimed_until <= $3)
                 ORDER BY queued, blob_id LIMIT $2 FOR UPDATE SKIP LOCKED)
             UPDATE gc_queue g SET claimed_until = $4 FROM picked WHERE g.blob_id = picked.blob_id
             RETURNING g.blob_id",
            &[(&before, Type::INT8), (&limit, Type::INT8), (&now, Type::INT8), (&claim_until, Type::INT8)],
        )
        .await?;
    blob_list(rows)
}

pub async fn gc_forget(c: &impl Db, blobs: &[BlobId]) -> Try<()> {
    let ids: Vec<&str> = blobs.iter().map(BlobId::as_str).collect();
    c.execute_typed("DELETE FROM gc_queue WHERE blob_id = ANY($1)", &[(&ids, Type::TEXT_ARRAY)]).await?;
    Ok(())
}

pub async fn blobs_known(c: &impl Db, blobs: &[BlobId]) -> Try<HashSet<BlobId>> {
    let ids: Vec<&str> = blobs.iter().map(BlobId::as_str).collect();
    let rows = c
        .query_typed(
            "SELECT b FROM unnest($1::text[]) AS t(b)
             WHERE EXISTS (SELECT 1 FROM segments WHERE blob_id = t.b)
                OR EXISTS (SELECT 1 FROM version_segments WHERE blob_id = t.b)
                OR EXISTS (SELECT 1 FROM parts WHERE blob_id = t.b)
                OR EXISTS (SELECT 1 FROM gc_queue WHERE blob_id = t.b)",
            &[(&ids, Type::TEXT_ARRAY)],
        )
        .await?;
    Ok(blob_list(rows)?.into_iter().collect())
}
