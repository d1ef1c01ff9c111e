//! Reading a control request's body in full, up to a limit: refused from its
//! `Content-Length` before a byte is read, or as soon as the bytes received
//! pass the limit. A body whose client goes silent fails with the server's
//! idle timer (an [`std::io::Error`] of kind `TimedOut`).

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

/// Any body's error.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// More than the limit was declared or sent.
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    /// The client sent nothing for the server's idle time.
    #[error("the request body timed out: {0}")]
    TimedOut(String),
    /// The transport failed while the body was being read.
    #[error("the request body could not be read: {0}")]
    Failed(String),
}

/// The whole body, refused past `limit` bytes (by `Content-Length` before
/// reading, else once the bytes received pass it).
pub(crate) async fn read<B>(body: B, headers: &http::HeaderMap, limit: usize) -> Result<Bytes, BodyError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Box::pin(body);
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            let e: BoxError = e.into();
            match e.downcast_ref::<std::io::Error>() {
                Some(io) if io.kind() == std::io::ErrorKind::TimedOut => BodyError::TimedOut(io.to_string()),
                _ => BodyError::Failed(e.to_string()),
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
    use http_body_util::Full;

    #[tokio::test]
    async fn bodies_past_the_limit_are_refused() {
        let h = http::HeaderMap::new();
        let ok = read(Full::new(Bytes::from_static(b"abcd")), &h, 4).await.unwrap();
        assert_eq!(&ok[..], b"abcd");
        assert!(matches!(read(Full::new(Bytes::from_static(b"abcde")), &h, 4).await, Err(BodyError::TooLarge(4))));
        let mut declared = http::HeaderMap::new();
        declared.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("100"));
        assert!(matches!(read(Full::new(Bytes::new()), &declared, 4).await, Err(BodyError::TooLarge(4))));
    }

    #[tokio::test]
    async fn a_timed_out_body_is_told_apart_from_a_broken_one() {
        let h = http::HeaderMap::new();
        let failing = |kind: std::io::ErrorKind| {
            http_body_util::StreamBody::new(futures::stream::iter([Err::<http_body::Frame<Bytes>, _>(
                std::io::Error::new(kind, "x"),
            )]))
        };
        let timed_out = read(failing(std::io::ErrorKind::TimedOut), &h, 4).await;
        assert!(matches!(timed_out, Err(BodyError::TimedOut(_))));
        let broken = read(failing(std::io::ErrorKind::ConnectionReset), &h, 4).await;
        assert!(matches!(broken, Err(BodyError::Failed(_))));
    }
}
