//! Conformance cases for hourly usage: traffic records and storage metering.

use super::{bucket, bucket_in, sized};
use crate::*;
use coffer_types::UnixMillis;
use std::sync::Arc;

fn delta(project: &str, bucket: &str, hour: i64, requests: RequestCounts, bytes_in: u64, bytes_out: u64) -> UsageDelta {
    UsageDelta { project: project.into(), bucket: bucket.into(), hour, requests, bytes_in, bytes_out }
}

fn query(project: &str, bucket: Option<&str>, from: i64, to: i64) -> UsageQuery {
    UsageQuery { project: project.into(), bucket: bucket.map(Into::into), from, to }
}

pub async fn usage_records(s: Arc<dyn MetaStore>) {
    let r = |get, put, list, delete, other| RequestCounts { get, put, list, delete, other };
    s.add_usage(&[]).await.unwrap();
    s.add_usage(&[
        delta("p", "b2", 7200, r(1, 0, 0, 0, 0), 0, 10),
        delta("p", "b1", 7200, r(0, 2, 0, 0, 0), 5, 0),
        delta("p", "b1", 3600, r(0, 0, 1, 0, 0), 0, 0),
        delta("other", "b1", 3600, r(5, 0, 0, 0, 0), 0, 0),
    ])
    .await
    .unwrap();
    // Sums into existing records; an hour inside 7200..10800 counts in 7200.
    s.add_usage(&[delta("p", "b1", 7200 + 5, r(0, 3, 0, 1, 2), 1, 0)]).await.unwrap();

    let all = s.usage(&query("p", None, 0, i64::MAX)).await.unwrap();
    let keys: Vec<_> = all.iter().map(|u| (u.hour, u.bucket.as_str())).collect();
    assert_eq!(keys, [(3600, "b1"), (7200, "b1"), (7200, "b2")], "ordered by (hour, bucket)");
    let want = UsageRecord {
        project: "p".into(),
        bucket: "b1".into(),
        hour: 7200,
        requests: r(0, 5, 0, 1, 2),
        bytes_in: 6,
        ..Default::default()
    };
    assert_eq!(all[1], want);
    assert_eq!((all[2].requests.get, all[2].bytes_out), (1, 10));
    assert_eq!(all[0].requests.list, 1);

    let only_b1 = s.usage(&query("p", Some("b1"), 0, i64::MAX)).await.unwrap();
    assert_eq!(only_b1.iter().map(|u| u.hour).collect::<Vec<_>>(), [3600, 7200]);
    assert_eq!(s.usage(&query("p", None, 7200, 10800)).await.unwrap().len(), 2, "from is inclusive");
    assert_eq!(s.usage(&query("p", None, 0, 7200)).await.unwrap().len(), 1, "to is exclusive");
    assert!(s.usage(&query("p", None, 10800, 20000)).await.unwrap().is_empty());
    let other = s.usage(&query("other", None, 0, i64::MAX)).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].requests.get, 5);
    assert!(s.usage(&query("p", Some("b3"), 0, i64::MAX)).await.unwrap().is_empty());
}

/// Byte counts that would pass the largest stored value stop there: the
/// hour stays readable (a sum past `i64::MAX` must not corrupt the record).
pub async fn usage_saturates(s: Arc<dyn MetaStore>) {
    let none = RequestCounts::default();
    for _ in 0..2 {
        s.add_usage(&[delta("p", "b", 3600, none, u64::MAX, u64::MAX / 2 + 1)]).await.unwrap();
    }
    let all = s.usage(&query("p", None, 0, i64::MAX)).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].bytes_in, all[0].bytes_out), (i64::MAX as u64, i64::MAX as u64));
}

const HOUR: UnixMillis = 3_600_000;

pub async fn meter_storage_splits_hours(s: Arc<dyn MetaStore>) {
    // Hour H starts at Unix second 1000 * 3600.
    let h: UnixMillis = 1000 * HOUR;
    let hs = |n: i64| 1000 * 3600 + n * 3600;
    let mut m = bucket_in("m", "p");
    m.created = h + HOUR / 2;
    s.create_bucket(m).await.unwrap();
    s.put_object("m", sized("a", 1200), WriteCondition::None).await.unwrap();
    s.put_object("m", sized("b", 2400), WriteCondition::None).await.unwrap();
    let mut empty = bucket_in("empty", "p");
    empty.created = h;
    s.create_bucket(empty).await.unwrap();
    let mut ops = bucket("ops");
    ops.created = h;
    s.create_bucket(ops).await.unwrap();
    s.put_object("ops", sized("x", 10), WriteCondition::None).await.unwrap();

    let rows = |project: &'static str| {
        let s = s.clone();
        async move {
            let v = s.usage(&query(project, None, 0, i64::MAX)).await.unwrap();
            v.into_iter().map(|u| (u.bucket, u.hour, u.byte_hours, u.bytes, u.objects)).collect::<Vec<_>>()
        }
    };
    let m_row = |n, byte_hours, bytes, objects| ("m".to_string(), hs(n), byte_hours, bytes, objects);

    // Created at H+0.5h with 3600 bytes, metered at H+2.25h.
    s.meter_storage(h + 2 * HOUR + HOUR / 4).await.unwrap();
    let first = vec![m_row(0, 1800.0, 0, 0), m_row(1, 3600.0, 0, 0), m_row(2, 900.0, 3600, 2)];
    assert_eq!(rows("p").await, first, "an empty bucket gets no records");
    let op = rows(OPERATOR_PROJECT).await;
    assert_eq!(op.len(), 3, "operator buckets are metered too");
    assert_eq!(op[1], ("ops".to_string(), hs(1), 10.0, 0, 0));
    assert_eq!(op[2], ("ops".to_string(), hs(2), 2.5, 10, 1));

    // The same `now` again, or an earlier one: nothing more.
    s.meter_storage(h + 2 * HOUR + HOUR / 4).await.unwrap();
    s.meter_storage(h + HOUR).await.unwrap();
    assert_eq!(rows("p").await, first);

    // Later: continues from where it stopped, with the bytes stored now.
    assert!(s.delete_object("m", "a").await.unwrap());
    s.meter_storage(h + 3 * HOUR + HOUR / 4).await.unwrap();
    let second =
        vec![m_row(0, 1800.0, 0, 0), m_row(1, 3600.0, 0, 0), m_row(2, 2700.0, 3600, 2), m_row(3, 600.0, 2400, 1)];
    assert_eq!(rows("p").await, second);

    // Traffic and metering share records.
    s.add_usage(&[delta("p", "m", hs(3), RequestCounts { get: 4, ..Default::default() }, 0, 0)]).await.unwrap();
    let r = s.usage(&query("p", Some("m"), hs(3), hs(4))).await.unwrap();
    assert_eq!((r[0].requests.get, r[0].byte_hours, r[0].bytes), (4, 600.0, 2400));
}
