//! Bytes out are the bytes a response body actually yielded, not its
//! `Content-Length`: a reader that closes after the headers (or is cut off
//! by the server's write timer) is billed for what it got. The count is
//! added to the bucket's traffic when the body is dropped: finished,
//! failed or abandoned.

use crate::meter::Meter;
use crate::respond::ResBody;
use bytes::Bytes;
use coffer_engine::BoxError;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A response body that meters what it yields.
pub(crate) struct MeteredBody {
    inner: ResBody,
    sent: u64,
    meter: Arc<Meter>,
    project: String,
    bucket: String,
}

impl MeteredBody {
    pub(crate) fn wrap(inner: ResBody, meter: Arc<Meter>, project: &str, bucket: &str) -> ResBody {
        ResBody::new(MeteredBody { inner, sent: 0, meter, project: project.to_owned(), bucket: bucket.to_owned() })
    }
}

impl Body for MeteredBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.sent = self.sent.saturating_add(data.len() as u64);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        if self.sent > 0 {
            self.meter.add_bytes(&self.project, &self.bucket, 0, self.sent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    fn body(pieces: &'static [&'static [u8]]) -> ResBody {
        let frames = pieces.iter().map(|p| Ok::<_, BoxError>(Frame::data(Bytes::from_static(p))));
        ResBody::new(http_body_util::StreamBody::new(futures::stream::iter(frames)))
    }

    fn bytes_out(m: &Meter) -> u64 {
        m.drain().iter().map(|d| d.bytes_out).sum()
    }

    #[tokio::test]
    async fn counts_what_was_yielded_when_dropped() {
        let meter = Arc::new(Meter::default());
        let whole = MeteredBody::wrap(body(&[b"abc", b"defg"]), meter.clone(), "p", "b");
        assert_eq!(&whole.collect().await.unwrap().to_bytes()[..], b"abcdefg");
        assert_eq!(bytes_out(&meter), 7);

        // A reader that goes away after the first piece is billed for it only.
        let mut partial = MeteredBody::wrap(body(&[b"abc", b"defg"]), meter.clone(), "p", "b");
        partial.frame().await.unwrap().unwrap();
        drop(partial);
        assert_eq!(bytes_out(&meter), 3);

        drop(MeteredBody::wrap(body(&[b"never read"]), meter.clone(), "p", "b"));
        assert!(meter.drain().is_empty(), "nothing sent, nothing counted");
    }
}
