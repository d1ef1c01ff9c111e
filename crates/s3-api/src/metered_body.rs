//! Bytes out are the bytes a response body actually yielded, not its
//! `Content-Length`: a reader that closes after the headers (or is cut off
//! by the server's write timer) is billed for what it got. The request is
//! counted, with its bytes in and the bytes sent, when the body is dropped:
//! finished, failed or abandoned (one meter update per request).

use crate::meter::{Meter, RequestClass};
use crate::respond::ResBody;
use bytes::Bytes;
use coffer_engine::BoxError;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A response body that counts the bytes it yields and hands the count to
/// `on_end` once dropped (finished, failed or abandoned): the usage meter's
/// and the request observer's (`observe.rs`) view of what was sent.
pub(crate) struct CountedBody<F: FnOnce(u64) + Send + Unpin + 'static> {
    inner: ResBody,
    sent: u64,
    on_end: Option<F>,
}

/// `inner`, whose yielded bytes go to `on_end` when it is dropped.
pub(crate) fn counted<F: FnOnce(u64) + Send + Unpin + 'static>(inner: ResBody, on_end: F) -> ResBody {
    ResBody::new(CountedBody { inner, sent: 0, on_end: Some(on_end) })
}

/// `inner`, counted as one request of `class` on `bucket` once dropped.
pub(crate) fn metered(
    inner: ResBody,
    meter: Arc<Meter>,
    (project, bucket): (&str, &str),
    class: RequestClass,
    bytes_in: u64,
) -> ResBody {
    let (project, bucket) = (project.to_owned(), bucket.to_owned());
    counted(inner, move |sent| meter.record(&project, &bucket, class, bytes_in, sent))
}

impl<F: FnOnce(u64) + Send + Unpin + 'static> Body for CountedBody<F> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        // Nothing here is pinned structurally: the inner body is boxed.
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.sent = this.sent.saturating_add(data.len() as u64);
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

impl<F: FnOnce(u64) + Send + Unpin + 'static> Drop for CountedBody<F> {
    fn drop(&mut self) {
        if let Some(f) = self.on_end.take() {
            f(self.sent);
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

    /// (GET requests, bytes in, bytes out) drained from `m`.
    fn drained(m: &Meter) -> (u64, u64, u64) {
        m.drain().iter().fold((0, 0, 0), |(r, i, o), d| (r + d.requests.get, i + d.bytes_in, o + d.bytes_out))
    }

    fn wrap(pieces: &'static [&'static [u8]], meter: &Arc<Meter>) -> ResBody {
        metered(body(pieces), meter.clone(), ("p", "b"), RequestClass::Get, 5)
    }

    #[tokio::test]
    async fn counts_what_was_yielded_when_dropped() {
        let meter = Arc::new(Meter::default());
        let whole = wrap(&[b"abc", b"defg"], &meter);
        assert_eq!(&whole.collect().await.unwrap().to_bytes()[..], b"abcdefg");
        assert_eq!(drained(&meter), (1, 5, 7));

        // A reader that goes away after the first piece is billed for it only.
        let mut partial = wrap(&[b"abc", b"defg"], &meter);
        partial.frame().await.unwrap().unwrap();
        assert_eq!(drained(&meter), (0, 0, 0), "counted when dropped");
        drop(partial);
        assert_eq!(drained(&meter), (1, 5, 3));

        drop(wrap(&[b"never read"], &meter));
        assert_eq!(drained(&meter), (1, 5, 0), "the request, and nothing sent");
    }
}
