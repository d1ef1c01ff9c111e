//! Operator pages: every project with what it stores, its quota and its
//! last 30 days of requests and traffic; creating a project; setting a
//! project's quota; one project's buckets and usage charts.
//!
//! Only the operator reaches these (the routes are guarded by [`operator`]);
//! anyone else gets the same "Page not found" as for an unknown address.

use crate::session::Viewer;
use crate::usage::{self, UsageView};
use crate::usage_data::Period;
use crate::web::{self, chrome, human_bytes, human_time, Chrome, PageError};
use crate::{chart, Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_engine::EngineError;
use coffer_iam::{IamError, Principal};
use coffer_meta::{Quota, QuotaScope, UsageQuery};
use http::{Response, StatusCode};
use http_body_util::Full;

/// The byte units of the quota form.
const UNITS: [(&str, u128); 6] =
    [("B", 1), ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40), ("PiB", 1 << 50)];

/// Whether the viewer is the operator (who alone sees these pages).
pub(crate) fn operator(v: &Viewer) -> bool {
    matches!(v.principal, Principal::Operator { .. })
}

struct UnitOption {
    name: &'static str,
    selected: bool,
}

/// The quota form of one project, as shown or as submitted.
struct QuotaForm {
    bytes: String,
    units: Vec<UnitOption>,
    objects: String,
    bytes_error: Option<String>,
    objects_error: Option<String>,
}

impl QuotaForm {
    fn new(bytes: String, unit: &str, objects: String) -> QuotaForm {
        let units = UNITS.iter().map(|&(name, _)| UnitOption { name, selected: name == unit }).collect();
        QuotaForm { bytes, units, objects, bytes_error: None, objects_error: None }
    }

    /// The form showing `q`: bytes in the largest unit that divides them.
    fn of(q: &Quota) -> QuotaForm {
        let (bytes, unit) = match q.max_bytes {
            None => (String::new(), "GiB"),
            Some(n) => {
                let n = u128::from(n);
                let (name, size) =
                    UNITS.iter().rev().find(|&&(_, size)| n >= size && n % size == 0).copied().unwrap_or(("B", 1));
                ((n / size).to_string(), name)
            }
        };
        QuotaForm::new(bytes, unit, q.max_objects.map(|n| n.to_string()).unwrap_or_default())
    }

    fn has_error(&self) -> bool {
        self.bytes_error.is_some() || self.objects_error.is_some()
    }
}

/// A byte limit typed as a decimal number (`10`, `1.5`) of `unit`; empty is
/// unlimited. A fraction of a byte is dropped.
fn parse_bytes(value: &str, unit: &str) -> Result<Option<u64>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || "Enter a number such as 10 or 1.5 (or leave it empty for no limit).".to_owned();
    let size =
        UNITS.iter().find(|&&(name, _)| name == unit).map(|&(_, s)| s).ok_or_else(|| "Choose a unit.".to_owned())?;
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || int.len() > 20 || frac.len() > 18 {
        return Err(bad());
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
    let frac_value: u128 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
    let total = int
        .checked_mul(size)
        .and_then(|t| t.checked_add(frac_value * size / 10u128.pow(frac.len() as u32)))
        .ok_or_else(bad)?;
    u64::try_from(total).map(Some).map_err(|_| format!("That is more than {} bytes.", u64::MAX))
}

/// An object limit: a whole number, or empty for unlimited.
fn parse_objects(value: &str) -> Result<Option<u64>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<u64>() {
        Ok(n) if value.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => Err("Enter a whole number of objects (or leave it empty for no limit).".into()),
    }
}

/// `10.0 GiB, 1000 objects`, or `unlimited`.
fn quota_text(q: &Quota) -> String {
    match (q.max_bytes, q.max_objects) {
        (None, None) => "unlimited".into(),
        (b, o) => {
            let b = b.map_or("unlimited bytes".into(), human_bytes);
            let o = o.map_or("unlimited objects".into(), |n| format!("{n} objects"));
            format!("{b}, {o}")
        }
    }
}

struct Row {
    name: String,
    created: String,
    stored: String,
    objects: u64,
    quota: String,
    requests: String,
    bytes_in: String,
    bytes_out: String,
    form: QuotaForm,
    /// The quota form is shown unfolded (after an error).
    open: bool,
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    chrome: Chrome,
    csrf: String,
    rows: Vec<Row>,
    notice: Option<String>,
    create_name: String,
    create_error: Option<String>,
}

struct BucketRow {
    name: String,
    region: String,
    size: String,
    objects: u64,
    quota: String,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    chrome: Chrome,
    name: String,
    created: String,
    stored: String,
    objects: u64,
    quota: String,
    buckets: Vec<BucketRow>,
    usage: UsageView,
    empty: &'static str,
}

fn only_operator(v: &Viewer) -> Result<(), PageError> {
    if operator(v) {
        Ok(())
    } else {
        Err(PageError::not_found())
    }
}

fn iam_err(e: IamError) -> PageError {
    PageError::internal(e)
}

/// A failed quota form: the project it was for and the form as submitted.
type Failed = Option<(String, QuotaForm)>;

async fn render_list(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    status: StatusCode,
    notice: Option<String>,
    create: (&str, Option<String>),
    mut failed: Failed,
) -> Result<Response<Full<Bytes>>, PageError> {
    let engine = &inner.engine;
    let w = Period::Month.window(coffer_types::now_millis().div_euclid(1000));
    let mut rows = Vec::new();
    for p in inner.iam.list_projects().await.map_err(iam_err)? {
        let totals = engine.project_totals(&p.name).await.map_err(PageError::internal)?;
        let quota = engine.quota(&QuotaScope::Project(p.name.clone())).await.map_err(PageError::internal)?;
        let q = UsageQuery { project: p.name.clone(), bucket: None, from: w.from, to: w.to };
        let (mut requests, mut bytes_in, mut bytes_out) = (0u64, 0u64, 0u64);
        for r in engine.usage(&q).await.map_err(PageError::internal)? {
            let c = r.requests;
            requests = requests.saturating_add(c.get + c.put + c.list + c.delete + c.other);
            bytes_in = bytes_in.saturating_add(r.bytes_in);
            bytes_out = bytes_out.saturating_add(r.bytes_out);
        }
        let (form, open) = match failed.take_if(|(name, _)| *name == p.name) {
            Some((_, form)) => (form, true),
            None => (QuotaForm::of(&quota), false),
        };
        rows.push(Row {
            created: human_time(p.created),
            stored: human_bytes(totals.bytes),
            objects: totals.objects,
            quota: quota_text(&quota),
            requests: chart::fmt_count(requests as f64),
            bytes_in: human_bytes(bytes_in),
            bytes_out: human_bytes(bytes_out),
            form,
            open,
            name: p.name,
        });
    }
    let t = ProjectsPage {
        chrome: chrome(inner, cx, v, "Projects"),
        csrf: v.session.csrf.clone(),
        rows,
        notice,
        create_name: create.0.to_owned(),
        create_error: create.1,
    };
    Ok(web::page(status, &t, &cx.nonce))
}

/// `GET /projects` (`?created=` / `?quota=` after a change).
pub(crate) async fn list(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    only_operator(v)?;
    // Only a valid project name is echoed back.
    let echo = |k: &str| cx.query.get(k).filter(|n| coffer_iam::names::check_project(n).is_ok()).map(str::to_owned);
    let notice = match (echo("created"), echo("quota")) {
        (Some(p), _) => Some(format!(
            "Project {p} created. Its root user has no console password yet: set one with \
             `coffer user password set --project {p} root`."
        )),
        (None, Some(p)) => Some(format!("Quota of project {p} saved.")),
        (None, None) => None,
    };
    render_list(inner, cx, v, StatusCode::OK, notice, ("", None), None).await
}

/// `POST /projects`: create the project `name` (with its root user).
pub(crate) async fn create(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    only_operator(v)?;
    let name = cx.form.text("name");
    let fail = |status, msg: String| render_list(inner, cx, v, status, None, (name, Some(msg)), None);
    match inner.iam.create_project(name).await {
        Ok(p) => {
            tracing::info!(project = %p.name, "console created project");
            Ok(web::redirect(&format!("/projects?created={}", p.name), None, &cx.nonce))
        }
        Err(IamError::InvalidName(_)) => {
            let msg =
                "Not a valid project name: use 1–63 characters of a–z, 0–9 and hyphens, not starting with a hyphen.";
            fail(StatusCode::BAD_REQUEST, msg.into()).await
        }
        Err(IamError::ProjectExists(_)) => {
            fail(StatusCode::CONFLICT, format!("A project named {name} already exists. Choose another name.")).await
        }
        Err(e) => Err(iam_err(e)),
    }
}

/// The project named in the path; 404 if there is none.
async fn find(inner: &Inner, name: &str) -> Result<coffer_meta::ProjectRecord, PageError> {
    let missing = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            "No such project",
            format!("There is no project named {name:?}. It may have been deleted; see the list of projects."),
        )
    };
    if coffer_iam::names::check_project(name).is_err() {
        return Err(missing());
    }
    match inner.iam.project(name).await {
        Ok(p) => Ok(p),
        Err(IamError::NoSuchProject(_)) => Err(missing()),
        Err(e) => Err(iam_err(e)),
    }
}

/// `POST /projects/{p}/quota` with `max_bytes`, `unit`, `max_objects`
/// (empty: unlimited).
pub(crate) async fn set_quota(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    only_operator(v)?;
    let p = find(inner, name).await?;
    let (bytes, unit, objects) = (cx.form.text("max_bytes"), cx.form.text("unit"), cx.form.text("max_objects"));
    let mut form = QuotaForm::new(bytes.to_owned(), unit, objects.to_owned());
    let max_bytes = parse_bytes(bytes, unit).map_err(|e| form.bytes_error = Some(e)).ok().flatten();
    let max_objects = parse_objects(objects).map_err(|e| form.objects_error = Some(e)).ok().flatten();
    if form.has_error() {
        return render_list(inner, cx, v, StatusCode::BAD_REQUEST, None, ("", None), Some((p.name, form))).await;
    }
    let quota = Quota { max_bytes, max_objects };
    inner.engine.set_quota(&QuotaScope::Project(p.name.clone()), quota).await.map_err(PageError::internal)?;
    tracing::info!(project = %p.name, ?quota, "console set project quota");
    Ok(web::redirect(&format!("/projects?quota={}", p.name), None, &cx.nonce))
}

/// `GET /projects/{p}?days=7|30`: the project's buckets and usage.
pub(crate) async fn detail(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    only_operator(v)?;
    let period = usage::period(cx)?;
    let p = find(inner, name).await?;
    let engine = &inner.engine;
    let mut buckets = Vec::new();
    let mut rows = Vec::new();
    for b in inner.engine.all_buckets(Some(&p.name)).await.map_err(PageError::internal)? {
        let (totals, quota) =
            match (engine.bucket_totals(&b.name).await, engine.quota(&QuotaScope::Bucket(b.name.clone())).await) {
                (Ok(t), Ok(q)) => (t, q),
                // Deleted between the reads.
                (Err(EngineError::NoSuchBucket), _) | (_, Err(EngineError::NoSuchBucket)) => continue,
                (Err(e), _) | (_, Err(e)) => return Err(PageError::internal(e)),
            };
        rows.push(BucketRow {
            name: b.name.clone(),
            region: b.region.clone(),
            size: human_bytes(totals.bytes),
            objects: totals.objects,
            quota: quota_text(&quota),
        });
        buckets.push(b);
    }
    let totals = engine.project_totals(&p.name).await.map_err(PageError::internal)?;
    let quota = engine.quota(&QuotaScope::Project(p.name.clone())).await.map_err(PageError::internal)?;
    let usage = usage::view(inner, &p.name, &buckets, true, period, format!("/projects/{}", p.name)).await?;
    let t = ProjectPage {
        chrome: chrome(inner, cx, v, &format!("Project {}", p.name)),
        created: human_time(p.created),
        stored: human_bytes(totals.bytes),
        objects: totals.objects,
        quota: quota_text(&quota),
        buckets: rows,
        usage,
        empty: usage::EMPTY,
        name: p.name,
    };
    Ok(web::page(StatusCode::OK, &t, &cx.nonce))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_limits() {
        assert_eq!(parse_bytes("", "GiB"), Ok(None));
        assert_eq!(parse_bytes(" 10 ", "GiB"), Ok(Some(10 << 30)));
        assert_eq!(parse_bytes("1.5", "KiB"), Ok(Some(1536)));
        assert_eq!(parse_bytes(".5", "B"), Ok(Some(0)), "fractions of a byte are dropped");
        assert_eq!(parse_bytes("0", "B"), Ok(Some(0)));
        for bad in ["-1", "1e9", "1,5", "1.2.3", ".", "ten", "16385", "99999999999999999999999"] {
            assert!(parse_bytes(bad, "PiB").is_err(), "{bad}");
        }
        assert!(parse_bytes("1", "XB").is_err());
        assert_eq!(parse_objects(""), Ok(None));
        assert_eq!(parse_objects("1000"), Ok(Some(1000)));
        for bad in ["-1", "+1", "1.5", "many", "99999999999999999999"] {
            assert!(parse_objects(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forms_show_quotas_in_the_largest_whole_unit() {
        let f = QuotaForm::of(&Quota { max_bytes: Some(10 << 30), max_objects: Some(5) });
        assert_eq!((f.bytes.as_str(), f.objects.as_str()), ("10", "5"));
        assert!(f.units.iter().any(|u| u.selected && u.name == "GiB"));
        let f = QuotaForm::of(&Quota { max_bytes: Some(1500), max_objects: None });
        assert_eq!((f.bytes.as_str(), f.objects.as_str()), ("1500", ""));
        assert!(f.units.iter().any(|u| u.selected && u.name == "B"));
        assert_eq!(QuotaForm::of(&Quota { max_bytes: Some(0), max_objects: None }).bytes, "0");
        assert_eq!(quota_text(&Quota::default()), "unlimited");
        assert_eq!(quota_text(&Quota { max_bytes: Some(1536), max_objects: None }), "1.5 KiB, unlimited objects");
    }
}
