//! Reading a small request body (a form, a part list) in full, up to a
//! limit: refused from its `Content-Length` before a byte is read, or as soon
//! as the bytes received pass the limit. The server's idle timer ends a body
//! whose client goes silent with an [`std::io::Error`] of kind `TimedOut`,
//! told apart here so the answer can say so (408).

use crate::BoxError;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// More than the limit was declared or sent.
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    /// The client sent nothing for the server's idle time.
    #[error("the request body timed out")]
    TimedOut,
    /// The transport failed while the body was being read.
    #[error("the request body could not be read: {0}")]
    Failed(String),
}

/// Whether a body error is the server's idle timer.
pub(crate) fn is_timeout(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
}

/// The whole body, at most `limit` bytes.
pub(crate) async fn read<B>(body: B, headers: &http::HeaderMap, limit: usize) -> Result<Bytes, BodyError>
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
            if is_timeout(&*e) {
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

    #[tokio::test]
    async fn limits_and_timeouts() {
        let h = http::HeaderMap::new();
        assert_eq!(&read(Full::new(Bytes::from_static(b"abcd")), &h, 4).await.unwrap()[..], b"abcd");
        assert!(matches!(read(Full::new(Bytes::from_static(b"abcde")), &h, 4).await, Err(BodyError::TooLarge(4))));
        let mut declared = http::HeaderMap::new();
        declared.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("5"));
        assert!(matches!(read(Full::new(Bytes::new()), &declared, 4).await, Err(BodyError::TooLarge(4))));
        let failing = |kind: std::io::ErrorKind| {
            StreamBody::new(futures::stream::iter([Err::<http_body::Frame<Bytes>, _>(std::io::Error::new(kind, "x"))]))
        };
        assert!(matches!(read(failing(std::io::ErrorKind::TimedOut), &h, 4).await, Err(BodyError::TimedOut)));
        assert!(matches!(read(failing(std::io::ErrorKind::BrokenPipe), &h, 4).await, Err(BodyError::Failed(_))));
    }
}
