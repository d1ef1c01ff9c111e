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
//! Pausing just under the idle time before every byte must not work either
//! (a 64 KiB pre-authentication body would take weeks): the time charged to
//! the client over the whole body may not exceed the idle time plus one
//! second per [`MIN_RATE`] bytes received ([`Pace`]). A body that falls
//! further behind fails the same way, with `TimedOut`, so every body arrives
//! within a bounded time for its size.
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

use crate::pace::{Pace, MIN_RATE};

/// A request body that fails once its client pauses longer than `idle`, or
/// falls behind [`MIN_RATE`].
pub(crate) struct IdleBody<B> {
    inner: Pin<Box<B>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// The clock runs while a read is pending.
    pace: Pace,
    done: bool,
}

impl<B> IdleBody<B> {
    pub(crate) fn new(inner: B, idle: Duration) -> Self {
        IdleBody {
            inner: Box::pin(inner),
            sleep: Box::pin(tokio::time::sleep(idle)),
            pace: Pace::new(idle),
            done: false,
        }
    }
}

/// The error of a body whose client went silent or fell behind.
pub(crate) fn timed_out(idle: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("the request body sent nothing for {} s, or less than {MIN_RATE} bytes a second", idle.as_secs_f64()),
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
        if !self.pace.is_waiting() {
            // A new wait for the client starts now.
            let deadline = self.pace.start_wait();
            self.sleep.as_mut().reset(deadline);
        }
        match self.inner.as_mut().poll_frame(cx) {
            Poll::Ready(item) => {
                let received = match &item {
                    Some(Ok(frame)) => frame.data_ref().map_or(0, |d| d.len() as u64),
                    _ => 0,
                };
                self.pace.progressed(received);
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
                    Poll::Ready(Some(Err(Box::new(timed_out(self.pace.idle())))))
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

    /// A body that yields one byte each time it is polled after `gap`.
    struct Trickle {
        gap: Duration,
        sleep: Pin<Box<tokio::time::Sleep>>,
    }

    impl Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            match self.sleep.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    let next = tokio::time::Instant::now() + self.gap;
                    self.sleep.as_mut().reset(next);
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_just_inside_the_idle_time_is_cut_off_too() {
        let idle = Duration::from_secs(5);
        let gap = Duration::from_millis(4900);
        let mut b = IdleBody::new(Trickle { gap, sleep: Box::pin(tokio::time::sleep(gap)) }, idle);
        let started = tokio::time::Instant::now();
        let mut bytes = 0;
        let e = loop {
            match b.frame().await.unwrap() {
                Ok(_) => bytes += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(e.downcast_ref::<std::io::Error>().map(|e| e.kind()), Some(std::io::ErrorKind::TimedOut));
        // One byte every 4.9 s is far below 1 KiB/s: the allowance (idle
        // time plus a millisecond per byte) is spent after the first gap.
        assert!(bytes <= 2, "{bytes} bytes accepted");
        assert!(started.elapsed() <= idle + gap, "{:?}", started.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_body_above_the_minimum_rate_is_read_whole() {
        // 1 byte every 0.5 ms (2 KB/s) for 20,000 bytes: 10 s, twice the idle time.
        let gap = Duration::from_micros(500);
        let mut b = IdleBody::new(Trickle { gap, sleep: Box::pin(tokio::time::sleep(gap)) }, Duration::from_secs(5));
        for _ in 0..20_000 {
            b.frame().await.unwrap().unwrap();
        }
    }
}
