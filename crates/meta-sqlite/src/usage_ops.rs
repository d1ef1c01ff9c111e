//! Hourly usage: traffic counters added by gateways, and storage metering,
//! which integrates each bucket's stored bytes over time into byte-hours.

use crate::ops::{to_i64, to_u64, R};
use crate::sql_err;
use coffer_meta::*;
use coffer_types::UnixMillis;
use rusqlite::{params, Connection, Row};

const HOUR_MS: i64 = 3_600_000;

/// The start (Unix seconds) of the hour `ms` falls in.
fn hour_of(ms: UnixMillis) -> i64 {
    ms.div_euclid(HOUR_MS) * 3600
}

pub fn add_usage(c: &Connection, deltas: &[UsageDelta]) -> R<()> {
    let mut st = c
        .prepare_cached(
            "INSERT INTO usage_hourly (project, bucket, hour, req_get, req_put, req_list, req_delete, req_other, bytes_in, bytes_out)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (project, bucket, hour) DO UPDATE SET
                 req_get = req_get + excluded.req_get, req_put = req_put + excluded.req_put,
                 req_list = req_list + excluded.req_list, req_delete = req_delete + excluded.req_delete,
                 req_other = req_other + excluded.req_other,
                 bytes_in = CASE WHEN bytes_in > 9223372036854775807 - excluded.bytes_in
                     THEN 9223372036854775807 ELSE bytes_in + excluded.bytes_in END,
                 bytes_out = CASE WHEN bytes_out > 9223372036854775807 - excluded.bytes_out
                     THEN 9223372036854775807 ELSE bytes_out + excluded.bytes_out END",
        )
        .map_err(sql_err)?;
    for d in deltas {
        let r = &d.requests;
        st.execute(params![
            d.project,
            d.bucket,
            d.hour.div_euclid(3600) * 3600,
            to_i64(r.get),
            to_i64(r.put),
            to_i64(r.list),
            to_i64(r.delete),
            to_i64(r.other),
            to_i64(d.bytes_in),
            to_i64(d.bytes_out),
        ])
        .map_err(sql_err)?;
    }
    Ok(())
}

/// A bucket as metering sees it.
struct Metered {
    id: i64,
    name: String,
    project: String,
    from: UnixMillis,
    bytes: i64,
    objects: i64,
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

pub fn meter_storage(c: &Connection, now: UnixMillis) -> R<()> {
    let buckets: Vec<Metered> = {
        let mut st = c
            .prepare_cached(
                "SELECT id, name, project, coalesce(metered_until, created), bytes, objects FROM buckets
                 WHERE coalesce(metered_until, created) < ?1",
            )
            .map_err(sql_err)?;
        let rows = st
            .query_map([now], |r| {
                Ok(Metered {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    project: r.get(2)?,
                    from: r.get(3)?,
                    bytes: r.get(4)?,
                    objects: r.get(5)?,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<Result<_, _>>().map_err(sql_err)?
    };
    let mut add_hours = c
        .prepare_cached(
            "INSERT INTO usage_hourly (project, bucket, hour, byte_hours) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (project, bucket, hour) DO UPDATE SET byte_hours = byte_hours + excluded.byte_hours",
        )
        .map_err(sql_err)?;
    let mut set_totals = c
        .prepare_cached(
            "INSERT INTO usage_hourly (project, bucket, hour, bytes, objects) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (project, bucket, hour) DO UPDATE SET bytes = excluded.bytes, objects = excluded.objects",
        )
        .map_err(sql_err)?;
    let mut clear_totals = c
        .prepare_cached(
            "UPDATE usage_hourly SET bytes = 0, objects = 0 WHERE project = ?1 AND bucket = ?2 AND hour = ?3",
        )
        .map_err(sql_err)?;
    let mut done = c.prepare_cached("UPDATE buckets SET metered_until = ?2 WHERE id = ?1").map_err(sql_err)?;
    for b in buckets {
        if b.bytes > 0 {
            for (hour, ms) in hour_stretches(b.from, now) {
                let byte_hours = b.bytes as f64 * ms as f64 / HOUR_MS as f64;
                add_hours.execute(params![b.project, b.name, hour, byte_hours]).map_err(sql_err)?;
            }
        }
        let hour = hour_of(now);
        if b.bytes != 0 || b.objects != 0 {
            set_totals.execute(params![b.project, b.name, hour, b.bytes, b.objects]).map_err(sql_err)?;
        } else {
            // An empty bucket gets no record of its own, but one made by
            // traffic this hour must not keep stale totals.
            clear_totals.execute(params![b.project, b.name, hour]).map_err(sql_err)?;
        }
        done.execute(params![b.id, now]).map_err(sql_err)?;
    }
    Ok(())
}

fn usage_row(r: &Row) -> rusqlite::Result<UsageRecord> {
    Ok(UsageRecord {
        project: r.get(0)?,
        bucket: r.get(1)?,
        hour: r.get(2)?,
        byte_hours: r.get(3)?,
        bytes: to_u64(r.get(4)?),
        objects: to_u64(r.get(5)?),
        requests: RequestCounts {
            get: to_u64(r.get(6)?),
            put: to_u64(r.get(7)?),
            list: to_u64(r.get(8)?),
            delete: to_u64(r.get(9)?),
            other: to_u64(r.get(10)?),
        },
        bytes_in: to_u64(r.get(11)?),
        bytes_out: to_u64(r.get(12)?),
    })
}

pub fn usage(c: &Connection, q: &UsageQuery) -> R<Vec<UsageRecord>> {
    let mut st = c
        .prepare_cached(
            "SELECT project, bucket, hour, byte_hours, bytes, objects, req_get, req_put, req_list, req_delete, req_other,
                    bytes_in, bytes_out
             FROM usage_hourly WHERE project = ?1 AND (?2 IS NULL OR bucket = ?2) AND hour >= ?3 AND hour < ?4
             ORDER BY hour, bucket",
        )
        .map_err(sql_err)?;
    let rows = st.query_map(params![q.project, q.bucket, q.from, q.to], usage_row).map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_split_at_hours() {
        let h = 10 * HOUR_MS;
        let v: Vec<_> = hour_stretches(h + HOUR_MS / 2, h + 2 * HOUR_MS + HOUR_MS / 4).collect();
        assert_eq!(v, [(36_000, HOUR_MS / 2), (39_600, HOUR_MS), (43_200, HOUR_MS / 4)]);
        assert_eq!(hour_stretches(h, h + HOUR_MS).collect::<Vec<_>>(), [(36_000, HOUR_MS)]);
        assert_eq!(hour_stretches(h + 5, h + 5).count(), 0);
        assert_eq!(hour_stretches(h + 5, h).count(), 0);
        assert_eq!(hour_stretches(h - 1, h + 1).collect::<Vec<_>>(), [(32_400, 1), (36_000, 1)]);
    }
}
