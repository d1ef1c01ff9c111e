//! Hourly usage: traffic counters added by gateways, and storage metering,
//! which integrates each bucket's stored bytes over time into byte-hours.
//!
//! Metering is safe with several gateways at once: each bucket is claimed by
//! one conditional statement (`UPDATE … SET metered_until = now WHERE
//! metered_until < now RETURNING` the old mark), so the stretch between the
//! old mark and `now` is counted by exactly one of them, in the same
//! transaction as its byte-hours. A gateway whose `now` is behind the mark
//! counts nothing.

use crate::ops::{to_i64, to_u64};
use crate::retry::Try;
use crate::stmt::Db;
use coffer_meta::*;
use coffer_types::UnixMillis;
use tokio_postgres::types::Type;

const HOUR_MS: i64 = 3_600_000;

/// The start (Unix seconds) of the hour `ms` falls in.
fn hour_of(ms: UnixMillis) -> i64 {
    ms.div_euclid(HOUR_MS) * 3600
}

pub async fn add_usage(c: &impl Db, deltas: &[UsageDelta]) -> Try<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    // One statement for the whole batch, columns as arrays. Rows for the
    // same (project, bucket, hour) are summed first: ON CONFLICT may touch
    // a row only once per statement. Sums are taken as `numeric` and stop
    // at the largest `bigint` (i64::MAX), as SQLite's do: a record stays
    // readable however much is added.
    let col = |f: fn(&UsageDelta) -> i64| deltas.iter().map(f).collect::<Vec<i64>>();
    let projects: Vec<&str> = deltas.iter().map(|d| d.project.as_str()).collect();
    let buckets: Vec<&str> = deltas.iter().map(|d| d.bucket.as_str()).collect();
    let hours = col(|d| d.hour.div_euclid(3600) * 3600);
    let get = col(|d| to_i64(d.requests.get));
    let put = col(|d| to_i64(d.requests.put));
    let list = col(|d| to_i64(d.requests.list));
    let delete = col(|d| to_i64(d.requests.delete));
    let other = col(|d| to_i64(d.requests.other));
    let bytes_in = col(|d| to_i64(d.bytes_in));
    let bytes_out = col(|d| to_i64(d.bytes_out));
    c.execute_typed(
        "INSERT INTO usage_hourly (project, bucket, hour, req_get, req_put, req_list, req_delete, req_other, bytes_in, bytes_out)
         SELECT p, b, h, least(sum(g), 9223372036854775807)::int8, least(sum(pu), 9223372036854775807)::int8, least(sum(l), 9223372036854775807)::int8,
                least(sum(d), 9223372036854775807)::int8, least(sum(o), 9223372036854775807)::int8, least(sum(bi), 9223372036854775807)::int8, least(sum(bo), 9223372036854775807)::int8
         FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[],
                     $9::int8[], $10::int8[]) AS t(p, b, h, g, pu, l, d, o, bi, bo)
         GROUP BY p, b, h
         ON CONFLICT (project, bucket, hour) DO UPDATE SET
             req_get = least(usage_hourly.req_get::numeric + excluded.req_get, 9223372036854775807)::int8,
             req_put = least(usage_hourly.req_put::numeric + excluded.req_put, 9223372036854775807)::int8,
             req_list = least(usage_hourly.req_list::numeric + excluded.req_list, 9223372036854775807)::int8,
             req_delete = least(usage_hourly.req_delete::numeric + excluded.req_delete, 9223372036854775807)::int8,
             req_other = least(usage_hourly.req_other::numeric + excluded.req_other, 9223372036854775807)::int8,
             bytes_in = least(usage_hourly.bytes_in::numeric + excluded.bytes_in, 9223372036854775807)::int8,
             bytes_out = least(usage_hourly.bytes_out::numeric + excluded.bytes_out, 9223372036854775807)::int8",
        &[
            (&projects, Type::TEXT_ARRAY),
            (&buckets, Type::TEXT_ARRAY),
            (&hours, Type::INT8_ARRAY),
            (&get, Type::INT8_ARRAY),
            (&put, Type::INT8_ARRAY),
            (&list, Type::INT8_ARRAY),
            (&delete, Type::INT8_ARRAY),
            (&other, Type::INT8_ARRAY),
            (&bytes_in, Type::INT8_ARRAY),
            (&bytes_out, Type::INT8_ARRAY),
        ],
    )
    .await?;
    Ok(())
}

/// The stretches `[from, now)` split at hour boundaries: (hour start in Unix
/// seconds, milliseconds of the stretch in that hour).
fn hour_stretches(from: UnixMillis, now: UnixMillis) -> impl Iterator<Item = (i64, i64)> {
    let mut t = from;
    std::iter::from_fn(move || {
        if t >= now {
            return None;
        }
        let end = (t.div_euclid(HOUR_MS) * HOUR_MS + HOUR_MS).min(now);
        let item = (hour_of(t), end - t);
        t = end;
        Some(item)
    })
}

pub async fn meter_storage(c: &impl Db, now: UnixMillis) -> Try<()> {
    // Claim every bucket not yet metered up to `now`, moving its mark, and
    // learn where its stretch starts: a racing gateway's claim waits on the
    // row lock, then finds the mark at `now` and skips the bucket.
    let claimed = c
        .query_typed(
            "UPDATE buckets b SET metered_until = $1
             FROM (SELECT id, coalesce(metered_until, created) AS since FROM buckets
                   WHERE coalesce(metered_until, created) < $1 ORDER BY id FOR NO KEY UPDATE) old
             WHERE b.id = old.id
             RETURNING b.name, b.project, old.since,
                 b.bytes + coalesce((SELECT sum(t.bytes) FROM bucket_totals t WHERE t.bucket_id = b.id), 0)::int8,
                 b.objects + coalesce((SELECT sum(t.objects) FROM bucket_totals t WHERE t.bucket_id = b.id), 0)::int8",
            &[(&now, Type::INT8)],
        )
        .await?;
    let hour = hour_of(now);
    for r in claimed {
        let (name, project): (String, String) = (r.get(0), r.get(1));
        let (from, bytes, objects): (i64, i64, i64) = (r.get(2), r.get(3), r.get(4));
        if bytes > 0 {
            for (h, ms) in hour_stretches(from, now) {
                let byte_hours = bytes as f64 * ms as f64 / HOUR_MS as f64;
                c.execute_typed(
                    "INSERT INTO usage_hourly (project, bucket, hour, byte_hours) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (project, bucket, hour) DO UPDATE SET byte_hours = usage_hourly.byte_hours + excluded.byte_hours",
                    &[(&project, Type::TEXT), (&name, Type::TEXT), (&h, Type::INT8), (&byte_hours, Type::FLOAT8)],
                )
                .await?;
            }
        }
        if bytes != 0 || objects != 0 {
            c.execute_typed(
                "INSERT INTO usage_hourly (project, bucket, hour, bytes, objects) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (project, bucket, hour) DO UPDATE SET bytes = excluded.bytes, objects = excluded.objects",
                &[
                    (&project, Type::TEXT),
                    (&name, Type::TEXT),
                    (&hour, Type::INT8),
                    (&bytes, Type::INT8),
                    (&objects, Type::INT8),
                ],
            )
            .await?;
        } else {
            // An empty bucket gets no record of its own, but one made by
            // traffic this hour must not keep stale totals.
            c.execute_typed(
                "UPDATE usage_hourly SET bytes = 0, objects = 0 WHERE project = $1 AND bucket = $2 AND hour = $3",
                &[(&project, Type::TEXT), (&name, Type::TEXT), (&hour, Type::INT8)],
            )
            .await?;
        }
    }
    Ok(())
}

pub async fn usage(c: &impl Db, q: &UsageQuery) -> Try<Vec<UsageRecord>> {
    let rows = c
        .query_typed(
            "SELECT project, bucket, hour, byte_hours, bytes, objects, req_get, req_put, req_list, req_delete, req_other,
                    bytes_in, bytes_out
             FROM usage_hourly WHERE project = $1 AND ($2::text IS NULL OR bucket = $2) AND hour >= $3 AND hour < $4
             ORDER BY hour, bucket",
            &[(&q.project, Type::TEXT), (&q.bucket, Type::TEXT), (&q.from, Type::INT8), (&q.to, Type::INT8)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| UsageRecord {
            project: r.get(0),
            bucket: r.get(1),
            hour: r.get(2),
            byte_hours: r.get(3),
            bytes: to_u64(r.get(4)),
            objects: to_u64(r.get(5)),
            requests: RequestCounts {
                get: to_u64(r.get(6)),
                put: to_u64(r.get(7)),
                list: to_u64(r.get(8)),
                delete: to_u64(r.get(9)),
                other: to_u64(r.get(10)),
            },
            bytes_in: to_u64(r.get(11)),
            bytes_out: to_u64(r.get(12)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_split_at_hours() {
        let h = 10 * HOUR_MS;
        let v: Vec<_> = hour_stretches(h + HOUR_MS / 2, h + 2 * HOUR_MS + HOUR_MS / 4).collect();
        assert_eq!(v, [(36_000, HOUR_MS / 2), (39_600, HOUR_MS), (43_200, HOUR_MS / 4)]);
        assert_eq!(hour_stretches(h + 5, h + 5).count(), 0);
        assert_eq!(hour_stretches(h - 1, h + 1).collect::<Vec<_>>(), [(32_400, 1), (36_000, 1)]);
    }
}
