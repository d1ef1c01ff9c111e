//! The idle timer every request body gets, on every listener, before any
//! handler (or authentication) sees it.
//!
//! [`IdleBody`] wraps the body hyper hands us. Whenever a handler waits for
//! the next piece and the client sends nothing for the listener's idle time,
//! the body fails with an [`std::io::Error`] of kind
//! [`TimedOut`](std::io::ErrorKind::TimedOut). That error type is the whole
//! contract with the handlers: the S3 API answers it with `RequestTimeout`,
//! the IAM and admin APIs with their own `RequestTimeout`, the console with
//! 408; the engine stores nothing from a body that failed. The handler then
//! answers without having read the body, so hyper closes the connection.
//!
//! The clock only runs while a handler is waiting for the client: time the
//! server spends between two reads (a metadata lookup, a blob write, the
//! wait for a `100-continue`) is never charged to the client.
//!
//! Size caps are each API's own (they differ per route and must answer in
//! the API's error format): the IAM and admin APIs refuse bodies over
//! `coffer_admin::MAX_BODY`, the console its forms over their limits, both
//! from `Content-Length` before reading a byte.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A boxed error of any body.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body that fails once its client pauses longer than `idle`.
pub(crate) struct IdleBody<B> {
    inner: Pin<Box<B>>,
    idle: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// A read is pending: the clock is running since it started.
    waiting: bool,
    done: bool,
}

impl<B> IdleBody<B> {
    pub(crate) fn new(inner: B, idle: Duration) -> Self {
        IdleBody {
            inner: Box::pin(inner),
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            waiting: false,
            done: false,
        }
    }
}

/// The error of a body whose client went silent.
pub(crate) fn timed_out(idle: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("the request body sent nothing for {} s", idle.as_secs_f64()),
    )
}

impl<B> Body for IdleBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if !self.waiting {
            // A new wait for the client starts now.
            let deadline = tokio::time::Instant::now() + self.idle;
            self.sleep.as_mut().reset(deadline);
            self.waiting = true;
        }
        match self.inner.as_mut().poll_frame(cx) {
            Poll::Ready(item) => {
                self.waiting = false;
                match item {
                    Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
                    Some(Err(e)) => {
                        self.done = true;
                        Poll::Ready(Some(Err(e.into())))
                    }
                    None => {
                        self.done = true;
                        Poll::Ready(None)
                    }
                }
            }
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    Poll::Ready(Some(Err(Box::new(timed_out(self.idle)))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.done {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    /// A body that yields one piece, then nothing ever.
    struct Stalls(bool);

    impl Body for Stalls {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.0 {
                Poll::Pending
            } else {
                self.0 = true;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"piece")))))
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_times_out_after_the_idle_time() {
        let mut b = IdleBody::new(Stalls(false), Duration::from_secs(5));
        let first = b.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&first[..], b"piece");
        let started = tokio::time::Instant::now();
        let e = b.frame().await.unwrap().unwrap_err();
        assert_eq!(e.downcast_ref::<std::io::Error>().map(|e| e.kind()), Some(std::io::ErrorKind::TimedOut));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert!(b.frame().await.is_none(), "the body ends after its error");
    }

    /// A body that is not ready on its first poll (asking to be polled
    /// again), then yields its piece.
    struct PendingOnce(bool);

    impl Body for PendingOnce {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.0 {
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"late")))));
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn time_the_server_spends_before_reading_is_not_charged() {
        let mut b = IdleBody::new(PendingOnce(false), Duration::from_secs(1));
        // The handler is busy for longer than the idle time before it reads.
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(&b.frame().await.unwrap().unwrap().into_data().unwrap()[..], b"late");
    }
}
