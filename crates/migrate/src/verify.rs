//! The checks run after the copy, inside its transaction (a mismatch rolls
//! everything back): each table's row count, per bucket, project and key
//! owner the counts and sums below, and the blobs' checksums, computed by
//! the same SQL on both sides.

use crate::source::Source;
use crate::{target, MigrateError};
use std::fmt;
use tokio_postgres::Transaction;

/// Per bucket: its stored totals, its objects (count, bytes, inline bytes),
/// their segments (count, bytes), uploads, parts (count, bytes), configs;
/// its versioning and object lock, its other versions (count, delete
/// markers, bytes, inline bytes, sum of `seq`), their segments (count,
/// bytes), and the sum of its objects' `seq`. Flags are compared as 0/1
/// (SQLite's integers, PostgreSQL's booleans).
const BUCKETS: &str = "SELECT b.name, b.bytes, b.objects,
    (SELECT count(*) FROM objects o WHERE o.bucket_id = b.id),
    (SELECT CAST(coalesce(sum(o.size), 0) AS BIGINT) FROM objects o WHERE o.bucket_id = b.id),
    (SELECT CAST(coalesce(sum(length(o.inline_data)), 0) AS BIGINT) FROM objects o WHERE o.bucket_id = b.id),
    (SELECT count(*) FROM segments s JOIN objects o ON s.object_id = o.id WHERE o.bucket_id = b.id),
    (SELECT CAST(coalesce(sum(s.size), 0) AS BIGINT) FROM segments s JOIN objects o ON s.object_id = o.id
        WHERE o.bucket_id = b.id),
    (SELECT count(*) FROM uploads u WHERE u.bucket_id = b.id),
    (SELECT count(*) FROM parts p JOIN uploads u ON p.upload_row = u.id WHERE u.bucket_id = b.id),
    (SELECT CAST(coalesce(sum(p.size), 0) AS BIGINT) FROM parts p JOIN uploads u ON p.upload_row = u.id
        WHERE u.bucket_id = b.id),
    (SELECT count(*) FROM bucket_configs c WHERE c.bucket_id = b.id),
    CAST(b.versioning AS BIGINT), CAST(CASE WHEN b.object_lock THEN 1 ELSE 0 END AS BIGINT),
    (SELECT count(*) FROM object_versions v WHERE v.bucket_id = b.id),
    (SELECT count(*) FROM object_versions v WHERE v.bucket_id = b.id AND v.delete_marker),
    (SELECT CAST(coalesce(sum(v.size), 0) AS BIGINT) FROM object_versions v WHERE v.bucket_id = b.id),
    (SELECT CAST(coalesce(sum(length(v.inline_data)), 0) AS BIGINT) FROM object_versions v WHERE v.bucket_id = b.id),
    (SELECT CAST(coalesce(sum(v.seq), 0) AS BIGINT) FROM object_versions v WHERE v.bucket_id = b.id),
    (SELECT count(*) FROM version_segments s JOIN object_versions v ON s.version_row = v.id WHERE v.bucket_id = b.id),
    (SELECT CAST(coalesce(sum(s.size), 0) AS BIGINT) FROM version_segments s JOIN object_versions v
        ON s.version_row = v.id WHERE v.bucket_id = b.id),
    (SELECT CAST(coalesce(sum(o.seq), 0) AS BIGINT) FROM objects o WHERE o.bucket_id = b.id)
FROM buckets b";

/// Per project: users, root users, users with a console password.
const USERS: &str = "SELECT project, count(*), CAST(sum(CASE WHEN root THEN 1 ELSE 0 END) AS BIGINT),
    count(password_hash) FROM users GROUP BY project";

/// Per project (`''`: the operator's): keys, active keys, keys used, keys expiring.
const KEYS: &str = "SELECT project, count(*), CAST(sum(CASE WHEN status = 'Active' THEN 1 ELSE 0 END) AS BIGINT),
    count(last_used), count(expires) FROM access_keys GROUP BY project";

/// Per project: usage records, buckets with records, first and last hour.
const USAGE: &str =
    "SELECT project, count(*), count(DISTINCT bucket), min(hour), max(hour) FROM usage_hourly GROUP BY project";

/// Per table that refers to blobs: the CRC-64/NVMEs known, and their sum
/// modulo 2^31 - 1 (each term below 2^31 in size: the sum cannot overflow
/// either side's 64-bit integers; `%` keeps the dividend's sign on both).
const CHECKSUMS: &str = "SELECT 'segments', count(crc64), CAST(coalesce(sum(crc64 % 2147483647), 0) AS BIGINT)
    FROM segments
  UNION ALL
    SELECT 'version_segments', count(crc64), CAST(coalesce(sum(crc64 % 2147483647), 0) AS BIGINT)
    FROM version_segments
  UNION ALL
    SELECT 'parts', count(crc64), CAST(coalesce(sum(crc64 % 2147483647), 0) AS BIGINT) FROM parts";

const CHECKS: &[(&str, &str)] =
    &[("buckets", BUCKETS), ("users", USERS), ("keys", KEYS), ("usage", USAGE), ("checksums", CHECKSUMS)];

/// What was copied and checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Per table: rows in SQLite, rows in PostgreSQL.
    pub tables: Vec<(&'static str, u64, u64)>,
    /// Per bucket: name, objects, object bytes, uploads in progress (equal on both sides).
    pub buckets: Vec<(String, i64, i64, i64)>,
}

/// Compares both sides; `Err(MigrateError::Verify)` names the first difference.
pub async fn verify(source: &Source, tx: &Transaction<'_>) -> Result<Report, MigrateError> {
    let mut report = Report::default();
    let mut problems = Vec::new();
    for t in crate::tables::TABLES {
        let (s, p) = (source.count(t)?, target::count(tx, t).await?);
        if s != p {
            problems.push(format!("{}: {s} rows in SQLite, {p} in PostgreSQL", t.name));
        }
        report.tables.push((t.name, s, p));
    }
    for (what, sql) in CHECKS {
        let mut s = source.aggregate(sql)?;
        let mut p = target::aggregate(tx, sql).await?;
        // Sorted here: the two databases need not agree on an order.
        s.sort();
        p.sort();
        if s != p {
            let first = s.iter().zip(&p).find(|(a, b)| a != b);
            problems.push(match first {
                Some((a, b)) => format!("{what}: SQLite has {a:?}, PostgreSQL {b:?}"),
                None => format!("{what}: {} groups in SQLite, {} in PostgreSQL", s.len(), p.len()),
            });
        }
        if *what == "buckets" {
            report.buckets = s.iter().map(|(name, n)| (name.clone(), n[2], n[3], n[7])).collect();
        }
    }
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(MigrateError::Verify(problems.join("; ")))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<18} {:>12} {:>12}", "table", "sqlite", "postgres")?;
        for (name, s, p) in &self.tables {
            writeln!(f, "{name:<18} {s:>12} {p:>12}")?;
        }
        if !self.buckets.is_empty() {
            writeln!(f)?;
            writeln!(f, "{:<32} {:>12} {:>16} {:>8}", "bucket (equal on both sides)", "objects", "bytes", "uploads")?;
            for (name, objects, bytes, uploads) in &self.buckets {
                writeln!(f, "{name:<32} {objects:>12} {bytes:>16} {uploads:>8}")?;
            }
        }
        Ok(())
    }
}
