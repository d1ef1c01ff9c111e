//! Reading a small request body (an IAM or admin call, a console form, a
//! part list) in full, up to a limit, for every listener: refused from its
//! `Content-Length` before a byte is read, or as soon as the bytes received
//! pass the limit.
//!
//! The server wraps every body in an idle timer and a minimum rate; when the
//! client goes silent the body fails with an [`std::io::Error`] of kind
//! `TimedOut`, which [`is_idle_timeout`] tells apart from a broken
//! connection so the answer can say so (408 or `RequestTimeout`).

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;

/// Any body's error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More than the limit was declared or sent.
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    /// The client sent nothing (or too little) for the server's idle time.
    #[error("the request body timed out")]
    TimedOut,
    /// The transport failed while the body was being read.
    #[error("the request body could not be read: {0}")]
    Failed(String),
}

/// Whether a body error is the server's idle timer (an [`std::io::Error`] of kind `TimedOut`).
pub fn is_idle_timeout(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
}

/// The whole body, at most `limit` bytes.
pub async fn read_limited<B>(body: B, headers: &http::HeaderMap, limit: usize) -> Result<Bytes, BodyError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = std::pin::pin!(body);
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            let e: BoxError = e.into();
            if is_idle_timeout(&*e) {
                BodyError::TimedOut
            } else {
                BodyError::Failed(e.to_string())
            }
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(BodyError::TooLarge(limit));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    fn failing(kind: std::io::ErrorKind) -> impl http_body::Body<Data = Bytes, Error = std::io::Error> {
        StreamBody::new(futures::stream::iter([Err::<http_body::Frame<Bytes>, _>(std::io::Error::new(kind, "x"))]))
    }

    #[tokio::test]
    async fn bodies_past_the_limit_are_refused() {
        let h = http::HeaderMap::new();
        assert_eq!(&read_limited(Full::new(Bytes::from_static(b"abcd")), &h, 4).await.unwrap()[..], b"abcd");
        let over = read_limited(Full::new(Bytes::from_static(b"abcde")), &h, 4).await;
        assert!(matches!(over, Err(BodyError::TooLarge(4))));
        let mut declared = http::HeaderMap::new();
        declared.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("5"));
        assert!(matches!(read_limited(Full::new(Bytes::new()), &declared, 4).await, Err(BodyError::TooLarge(4))));
    }

    #[tokio::test]
    async fn a_timed_out_body_is_told_apart_from_a_broken_one() {
        let h = http::HeaderMap::new();
        let timed_out = read_limited(failing(std::io::ErrorKind::TimedOut), &h, 4).await;
        assert!(matches!(timed_out, Err(BodyError::TimedOut)));
        let broken = read_limited(failing(std::io::ErrorKind::ConnectionReset), &h, 4).await;
        assert!(matches!(broken, Err(BodyError::Failed(_))));
        let io: BoxError = Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"));
        assert!(is_idle_timeout(&*io));
        let other: BoxError = "not io".into();
        assert!(!is_idle_timeout(&*other));
    }
}
