//! Static assets, embedded in the binary (no build step).

use bytes::Bytes;
use http::header::CACHE_CONTROL;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

const CSS: &str = include_str!("../static/console.css");
const JS: &str = include_str!("../static/console.js");

/// Answers `GET /static/{name}`.
pub(crate) fn serve(name: &str, nonce: &str) -> Response<Full<Bytes>> {
    let (ct, text) = match name {
        "console.css" => ("text/css; charset=utf-8", CSS),
        "console.js" => ("text/javascript; charset=utf-8", JS),
        _ => {
            return crate::web::error_page(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such file among the console's assets.",
                None,
                nonce,
            )
        }
    };
    let mut r = crate::web::body(StatusCode::OK, ct, Bytes::from_static(text.as_bytes()), nonce);
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}
