//! Buckets: the list (with region, size and object count), create, and
//! delete (empty buckets only, after a confirmation page).

use crate::authz::{allowed_on_bucket, allowed_unbound, visible};
use crate::session::Viewer;
use crate::web::{self, chrome, human_bytes, human_time, Chrome, PageError};
use crate::{Cx, Inner};
use askama::Template;
use bytes::Bytes;
use coffer_engine::{BucketInfo, EngineError, NewBucket};
use coffer_meta::OPERATOR_PROJECT;
use coffer_types::BucketName;
use http::{Response, StatusCode};
use http_body_util::Full;

struct Row {
    name: String,
    project: String,
    region: String,
    size: String,
    objects: u64,
    created: String,
}

#[derive(Template)]
#[template(path = "buckets.html")]
struct BucketsPage {
    chrome: Chrome,
    csrf: String,
    region: String,
    rows: Vec<Row>,
    show_project: bool,
    /// Why the list is not shown.
    denied: Option<String>,
    notice: Option<String>,
    form_name: String,
    form_error: Option<String>,
}

#[derive(Template)]
#[template(path = "bucket_delete.html")]
struct DeletePage {
    chrome: Chrome,
    csrf: String,
    name: String,
    region: String,
    objects: u64,
    size: String,
    error: Option<String>,
}

fn engine_err(e: EngineError) -> PageError {
    PageError::internal(e)
}

/// The project new buckets of the viewer belong to.
fn acting_project(v: &Viewer) -> &str {
    v.principal.project().unwrap_or(OPERATOR_PROJECT)
}

async fn render_list(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    status: StatusCode,
    notice: Option<String>,
    form_name: &str,
    form_error: Option<String>,
) -> Result<Response<Full<Bytes>>, PageError> {
    let secure = inner.cfg.secure_cookies;
    let mut rows = Vec::new();
    let denied = if allowed_unbound(v, cx, secure, "s3:ListAllMyBuckets", "*") {
        // The operator sees every bucket, a project user its project's (read
        // by the store's (project, name) index).
        let buckets = inner.engine.all_buckets(v.principal.project()).await.map_err(engine_err)?;
        for b in buckets.into_iter().filter(|b| visible(v, b)) {
            let totals = inner.engine.bucket_totals(&b.name).await;
            let totals = match totals {
                Ok(t) => t,
                // Deleted between the two reads.
                Err(coffer_engine::EngineError::NoSuchBucket) => continue,
                Err(e) => return Err(PageError::internal(e)),
            };
            rows.push(Row {
                project: if b.project.is_empty() { "(operator)".into() } else { b.project.clone() },
                region: b.region,
                size: human_bytes(totals.bytes),
                objects: totals.objects,
                created: human_time(b.created),
                name: b.name,
            });
        }
        None
    } else {
        Some(
            "Your policy does not allow listing buckets (s3:ListAllMyBuckets). Ask the project's root user for access."
                .into(),
        )
    };
    let t = BucketsPage {
        chrome: chrome(inner, cx, v, "Buckets"),
        csrf: v.session.csrf.clone(),
        region: v.session.region.clone(),
        rows,
        show_project: v.principal.project().is_none(),
        denied,
        notice,
        form_name: form_name.to_owned(),
        form_error,
    };
    Ok(web::page(status, &t, &cx.nonce))
}

/// `GET /buckets` (`?created=` / `?deleted=` after a change).
pub(crate) async fn list(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    // Only a valid bucket name is echoed back.
    let echo = |k: &str| cx.query.get(k).filter(|n| BucketName::parse(n).is_ok()).map(str::to_owned);
    let notice = echo("created")
        .map(|n| format!("Bucket {n} created."))
        .or_else(|| echo("deleted").map(|n| format!("Bucket {n} deleted.")));
    render_list(inner, cx, v, StatusCode::OK, notice, "", None).await
}

/// `POST /buckets`: create `name` in the session's region.
pub(crate) async fn create(inner: &Inner, cx: &Cx, v: &Viewer) -> Result<Response<Full<Bytes>>, PageError> {
    let raw = cx.form.text("name");
    let fail = |status: StatusCode, msg: String| render_list(inner, cx, v, status, None, raw, Some(msg));
    let name = match BucketName::parse(raw) {
        Ok(n) => n,
        Err(e) => return fail(StatusCode::BAD_REQUEST, format!("Not a valid bucket name: it {}.", e.0)).await,
    };
    let arn = format!("arn:aws:s3:::{}", name.as_str());
    if !allowed_unbound(v, cx, inner.cfg.secure_cookies, "s3:CreateBucket", &arn) {
        let msg = "Your policy does not allow creating buckets (s3:CreateBucket).".to_owned();
        return fail(StatusCode::FORBIDDEN, msg).await;
    }
    let new = NewBucket {
        name: name.as_str(),
        location: None,
        region: &v.session.region,
        project: acting_project(v),
        ownership: None,
        object_lock: false,
    };
    match inner.engine.create_bucket(new).await {
        Ok(()) => {
            tracing::info!(bucket = %name.as_str(), project = acting_project(v), region = %v.session.region, "console created bucket");
            Ok(web::redirect(&format!("/buckets?created={}", name.as_str()), None, &cx.nonce))
        }
        Err(EngineError::BucketAlreadyExists) => {
            let mine = matches!(inner.engine.head_bucket(name.as_str()).await, Ok(b) if visible(v, &b));
            let msg = if mine {
                "You already have a bucket with this name."
            } else {
                "This name is taken (bucket names are shared by every project). Choose another."
            };
            fail(StatusCode::CONFLICT, msg.into()).await
        }
        Err(EngineError::QuotaExceeded(_)) => {
            fail(StatusCode::FORBIDDEN, "Your project's quota does not allow another bucket.".into()).await
        }
        Err(e) => Err(engine_err(e)),
    }
}

/// The bucket named in the path, if the viewer may see it.
pub(crate) async fn find(inner: &Inner, v: &Viewer, name: &str) -> Result<BucketInfo, PageError> {
    let missing = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            "No such bucket",
            format!("There is no bucket named {name:?} in your project. It may have been deleted."),
        )
    };
    if BucketName::parse(name).is_err() {
        return Err(missing());
    }
    match inner.engine.head_bucket(name).await {
        Ok(b) if visible(v, &b) => Ok(b),
        Ok(_) | Err(EngineError::NoSuchBucket) => Err(missing()),
        Err(e) => Err(engine_err(e)),
    }
}

async fn render_delete(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    b: &BucketInfo,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response<Full<Bytes>>, PageError> {
    let totals = inner.engine.bucket_totals(&b.name).await.unwrap_or_default();
    let t = DeletePage {
        chrome: chrome(inner, cx, v, "Delete bucket"),
        csrf: v.session.csrf.clone(),
        name: b.name.clone(),
        region: b.region.clone(),
        objects: totals.objects,
        size: human_bytes(totals.bytes),
        error,
    };
    Ok(web::page(status, &t, &cx.nonce))
}

/// `GET /buckets/{name}/delete`: the confirmation.
pub(crate) async fn confirm_delete(
    inner: &Inner,
    cx: &Cx,
    v: &Viewer,
    name: &str,
) -> Result<Response<Full<Bytes>>, PageError> {
    let b = find(inner, v, name).await?;
    render_delete(inner, cx, v, &b, StatusCode::OK, None).await
}

/// `POST /buckets/{name}/delete` with `confirm={name}`.
pub(crate) async fn delete(inner: &Inner, cx: &Cx, v: &Viewer, name: &str) -> Result<Response<Full<Bytes>>, PageError> {
    let b = find(inner, v, name).await?;
    if cx.form.get("confirm") != Some(b.name.as_str()) {
        let msg = "The deletion was not confirmed. Use the button below to delete the bucket.";
        return render_delete(inner, cx, v, &b, StatusCode::BAD_REQUEST, Some(msg.into())).await;
    }
    if !allowed_on_bucket(&inner.engine, v, cx, inner.cfg.secure_cookies, "s3:DeleteBucket", &b)
        .await
        .map_err(engine_err)?
    {
        let msg = "Your policy does not allow deleting this bucket (s3:DeleteBucket).";
        return render_delete(inner, cx, v, &b, StatusCode::FORBIDDEN, Some(msg.into())).await;
    }
    match inner.engine.delete_bucket(&b.name).await {
        Ok(()) => {
            tracing::info!(bucket = %b.name, project = %b.project, "console deleted bucket");
            Ok(web::redirect(&format!("/buckets?deleted={}", b.name), None, &cx.nonce))
        }
        Err(EngineError::BucketNotEmpty) => {
            let msg = "The bucket is not empty, so it was not deleted. Delete its objects, their older versions and \
                       delete markers, and unfinished uploads first.";
            render_delete(inner, cx, v, &b, StatusCode::CONFLICT, Some(msg.into())).await
        }
        Err(EngineError::NoSuchBucket) => Err(PageError::new(
            StatusCode::NOT_FOUND,
            "No such bucket",
            format!("The bucket {:?} no longer exists.", b.name),
        )),
        Err(e) => Err(engine_err(e)),
    }
}
