//! Usage: stored bytes, objects, requests and traffic per bucket over the
//! last 7 days (hourly) or 30 days (daily), as server-rendered SVG charts.
//!
//! Who sees what: a project's root user sees the project total and every
//! bucket of the project; an IAM user sees the buckets its policies let it
//! list (`s3:ListBucket`, bucket policy included) and no project total; the
//! operator sees its own buckets here and every project under `/projects`.

use crate::authz::{allowed_on_bucket, visible};
use crate::chart::{self, Chart, Series, YAxis, BYTES, COUNT};
use crate::session::Viewer;
use crate::usage_data::{Hours, Period, Window};
use crate::web::{self, human_bytes, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_engine::BucketInfo;
use coffer_iam::Principal;
use coffer_meta::{UsageQuery, OPERATOR_PROJECT};
use http::{Response, StatusCode};
use http_body_util::Full;
use std::collections::BTreeMap;

/// What the page says when nothing was recorded.
pub(crate) const EMPTY: &str =
    "No usage recorded yet: usage appears after the first metering interval following activity.";

/// One heading with its charts: the project total or a bucket.
pub(crate) struct Section {
    pub heading: String,
    /// The element id (`total`, `bucket-NAME`).
    pub id: String,
    /// Why there are no charts.
    pub note: Option<String>,
    /// The period's totals, one line.
    pub totals: String,
    /// Rendered `<svg>` elements (escaped when built).
    pub charts: Vec<String>,
}

/// The usage shown for one project.
pub(crate) struct UsageView {
    pub sections: Vec<Section>,
    /// Whether anything was recorded in the period (else: the empty state).
    pub recorded: bool,
    pub week: bool,
    /// The page the period links point to (`/usage`, `/projects/p`).
    pub base: String,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    chrome: Chrome,
    usage: UsageView,
    /// Why nothing is shown.
    denied: Option<String>,
    operator: bool,
    empty: &'static str,
}

/// The `?days=` of the request; anything but 7 or 30 is a 400.
pub(crate) fn period(cx: &Cx) -> Result<Period, PageError> {
    Period::parse(cx.query.get("days")).ok_or_else(|| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "Unknown period",
            "Usage is shown for the last 7 or 30 days. Use the links on the usage page to choose one.",
        )
    })
}

fn charts(h: &Hours, w: &Window) -> Vec<String> {
    let per = if w.step == crate::usage_data::DAY { "per day" } else { "per hour" };
    let (bytes, objects) = h.stored(w);
    let [get, put, list, delete, other] = h.requests(w);
    let (bytes_in, bytes_out) = h.traffic(w);
    let one = |name: &str, points| vec![Series { name: name.into(), points }];
    let requests = [("GET", get), ("PUT", put), ("LIST", list), ("DELETE", delete), ("Other", other)];
    let requests = requests.into_iter().map(|(name, points)| Series { name: name.into(), points }).collect();
    let traffic = vec![
        Series { name: "In (uploads)".into(), points: bytes_in },
        Series { name: "Out (downloads)".into(), points: bytes_out },
    ];
    let specs: [(String, YAxis, Vec<Series>); 4] = [
        ("Stored bytes".into(), BYTES, one("Stored", bytes)),
        ("Objects".into(), COUNT, one("Objects", objects)),
        (format!("Requests {per}"), COUNT, requests),
        (format!("Traffic {per}"), BYTES, traffic),
    ];
    specs
        .iter()
        .map(|(title, y, series)| chart::render(&Chart { title, from: w.from, to: w.to, step: w.step, y: *y, series }))
        .collect()
}

fn totals_line(h: &Hours) -> String {
    let t = h.totals();
    format!(
        "In this period: {}-hours stored · {} requests · {} in · {} out",
        human_bytes(t.byte_hours.max(0.0).round() as u64),
        chart::fmt_count(t.requests as f64),
        human_bytes(t.bytes_in),
        human_bytes(t.bytes_out)
    )
}

/// The usage of `project` in the window: its total first (`with_total`),
/// then each of `buckets` (which must belong to it).
pub(crate) async fn view(
    inner: &Inner,
    project: &str,
    buckets: &[BucketInfo],
    with_total: bool,
    period: Period,
    base: String,
) -> Result<UsageView, PageError> {
    let w = period.window(coffer_types::now_millis().div_euclid(1000));
    let q = UsageQuery { project: project.to_owned(), bucket: None, from: w.from, to: w.to };
    let records = inner.engine.usage(&q).await.map_err(PageError::internal)?;
    let mut total = Hours::new(&w);
    let mut per_bucket: BTreeMap<&str, Hours> = buckets.iter().map(|b| (b.name.as_str(), Hours::new(&w))).collect();
    for r in &records {
        total.add(r);
        if let Some(h) = per_bucket.get_mut(r.bucket.as_str()) {
            h.add(r);
        }
    }
    let mut sections = Vec::new();
    let mut recorded = false;
    if with_total {
        recorded |= total.recorded;
        sections.push(Section {
            heading: "Project total".into(),
            id: "total".into(),
            note: None,
            totals: totals_line(&total),
            charts: charts(&total, &w),
        });
    }
    for b in buckets {
        let Some(h) = per_bucket.get(b.name.as_str()) else { continue };
        recorded |= h.recorded;
        let note = (!h.recorded).then(|| "No usage recorded for this bucket in this period.".to_owned());
        sections.push(Section {
            heading: b.name.clone(),
            id: format!("bucket-{}", b.name),
            charts: if h.recorded { charts(h, &w) } else { Vec::new() },
            totals: if h.recorded { totals_line(h) } else { String::new() },
            note,
        });
    }
    Ok(UsageView { sections, recorded, week: period == Period::Week, base })
}

/// `GET /usage?days=7|30`.
pub(crate) async fn page(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    let period = period(cx)?;
    let operator = matches!(v.principal, Principal::Operator { .. });
    let root = match &v.principal {
        Principal::User(u) => u.root,
        _ => operator,
    };
    let project = v.principal.project().unwrap_or(OPERATOR_PROJECT);
    let secure = inner.cfg.secure_cookies;
    let mut buckets = Vec::new();
    for b in inner.engine.all_buckets(Some(project)).await.map_err(PageError::internal)? {
        if !visible(v, &b) || b.project != project {
            continue;
        }
        let may_list = root
            || allowed_on_bucket(&inner.engine, v, cx, secure, "s3:ListBucket", &b)
                .await
                .map_err(PageError::internal)?;
        if may_list {
            buckets.push(b);
        }
    }
    let denied = (!root && buckets.is_empty()).then(|| {
        "Your policy lets you list none of this project's buckets (s3:ListBucket), so there is no usage to show. \
         Ask the project's root user for access."
            .to_owned()
    });
    let usage = view(inner, project, &buckets, root, period, "/usage".into()).await?;
    let t = UsagePage { chrome: web::chrome(inner, cx, v, "Usage"), usage, denied, operator, empty: EMPTY };
    Ok(web::page(StatusCode::OK, &t, &cx.nonce))
}
